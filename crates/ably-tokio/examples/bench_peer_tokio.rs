//! The ably-tokio client of `cargo xtask bench client`, run as its own
//! process: the arguments and output of
//! `crates/ably-blocking/examples/bench_peer.rs`, the logic of
//! `ably_async::bench_peer` (shared with ably-async-std), on a
//! current-thread tokio runtime: one client needs no worker pool, and
//! idle workers of the multi-threaded runtime spin looking for work,
//! which shows up as CPU per message at a fixed rate.

use ably_async::bench_peer::{DriverPlacement, Fallible, run};
use ably_tokio::Tokio;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Fallible<()> {
    run::<Tokio>(std::env::args().skip(1).collect(), DriverPlacement::Spawned).await
}

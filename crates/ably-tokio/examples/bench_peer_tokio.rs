//! The ably-tokio client of `cargo xtask bench client`, run as its own
//! process: the arguments and output of
//! `crates/ably-blocking/examples/bench_peer.rs`, the logic of
//! `ably_async::bench_peer` (shared with ably-async-std), on the default
//! `#[tokio::main]` runtime (multi-threaded).

use ably_async::bench_peer::{Fallible, run};
use ably_tokio::Tokio;

#[tokio::main]
async fn main() -> Fallible<()> {
    run::<Tokio>(std::env::args().skip(1).collect()).await
}

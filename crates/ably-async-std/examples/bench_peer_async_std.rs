//! The ably-async-std client of `cargo xtask bench client`, run as its
//! own process: the arguments and output of
//! `crates/ably-blocking/examples/bench_peer.rs`, the logic of
//! `ably_async::bench_peer` (shared with ably-tokio), under
//! `async_std::task::block_on`.

use ably_async::bench_peer::{DriverPlacement, Fallible, run};
use ably_async_std::AsyncStd;

fn main() -> Fallible<()> {
    async_std::task::block_on(run::<AsyncStd>(
        std::env::args().skip(1).collect(),
        DriverPlacement::InTask,
    ))
}

//! An Ably-compatible realtime service for laptops and tests.
//!
//! Two layers:
//! - [`hub`]: the whole protocol as a sans-IO state machine: apps, keys,
//!   tokens, connections, channels, presence, serials and recent history,
//!   driven by inputs and polled for outputs on a clock passed in;
//! - [`server`]: a thin tokio shell that serves the hub over HTTP and
//!   WebSocket on one port (HTTPS and WSS with a [`tls::TlsIdentity`]),
//!   started by the `ably-local` binary or in-process by
//!   [`server::Server::start`].
//!
//! Start one in a test and point any Ably SDK at it:
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let server = ably_local::server::Server::start(ably_local::server::Config::default()).await?;
//! println!("ws://{}/ with key {}", server.addr(), server.keys()[0]);
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! See `docs/ably-local.md` for what is implemented.

#![forbid(unsafe_code)]

pub mod hub;
mod rest;
pub mod server;
mod sse;
pub mod store;
pub mod tls;
mod ws;

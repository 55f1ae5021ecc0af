//! The network pieces that `ably-blocking`, `ably-tokio` and
//! `ably-async-std` share, so that each adapter holds only its runtime's
//! plumbing:
//!
//! - [`ws`]: WebSocket messages (tungstenite's type, which all three
//!   adapters use) to and from the core's frames and transport events, and
//!   the host and port to dial for a `ws://` or `wss://` URL;
//! - [`http`]: the core's HTTP requests carried out with ureq (rustls);
//! - [`clock`]: the [`Now`](ably_proto::client::Now) the core is fed, and
//!   seeds and nonces from the operating system;
//! - [`tls`]: the rustls crypto provider, installed once, and the roots a
//!   client trusts (webpki plus its extra roots) for its WebSockets and
//!   its HTTP agents;
//! - [`sse`]: the reader of an SSE or HTTP stream subscription (ureq, on
//!   a thread of its own), handing decoded events to the adapter's queue.
//!
//! Protocol decisions are the core's (`ably_proto::client`) and the
//! driver bookkeeping is `ably_proto::adapter`; this crate decides nothing.

#![forbid(unsafe_code)]

#[doc(hidden)]
pub mod bench_peer;
pub mod clock;
pub mod http;
pub mod sse;
pub mod tls;
pub mod ws;

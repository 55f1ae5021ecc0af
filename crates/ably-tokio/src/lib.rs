//! An Ably realtime and REST client for tokio.
//!
//! ```no_run
//! # async fn hello() -> Result<(), ably_tokio::Error> {
//! use ably_tokio::{ClientOptions, Realtime};
//! let client = Realtime::new(ClientOptions::new("appId.keyId:secret"))?;
//! let channel = client.channels().get("greetings");
//! let mut messages = channel.subscribe().await?; // attaches; a Stream of messages
//! channel.publish("hello", "world").await?; // returns once the service ACKs
//! println!("{:?}", messages.recv().await.map(|m| m.data));
//! # Ok(()) }
//! ```
//!
//! For a local service, point the options at it:
//! `ClientOptions::new(key).endpoint("127.0.0.1").port(8080).tls(false)`.
//! `cargo run -p ably-tokio --example hello_tokio` runs the lines above against
//! an embedded `ably-local` (or against Ably with `ABLY_KEY` set).
//!
//! # The API
//!
//! The same as `ably-blocking`'s (`docs/adapters.md` has the table), with
//! `async fn` where that crate blocks and a [`Subscription`] implementing
//! `futures::Stream` (with `recv()`, `next()`, `recv_timeout()`,
//! `try_recv()`) where that crate has an iterator. `Realtime::new` and
//! `Rest::new` are not `async`: they check the options and spawn the
//! client's driver task on the current tokio runtime (an error 40000
//! outside one; `with_runtime` takes a [`Tokio`] made from any `Handle`).
//! The runtime needs its I/O and time drivers (`enable_all`, as
//! `#[tokio::main]` has). Futures returned by the API are `Send`.
//!
//! [`sse::subscribe`] consumes Ably's SSE and HTTP streaming API where
//! WebSocket is blocked, as `ably_blocking::sse` does, with the stream a
//! `futures::Stream`; its reader is a thread of its own, not a task.
//!
//! # The driver task
//!
//! All of it lives in `ably-async`, written once for every async runtime:
//! each client has one task that owns the sans-IO core, the WebSocket and
//! one timer, and waits on the three at once (the command channel from
//! the API handles, the socket, the timer for the core's next deadline),
//! so an idle client costs nothing until one of them wakes it. Socket
//! opening and the authCallback run in tasks of their own, HTTP requests
//! (ureq) on the blocking pool. See `ably_async`'s docs for the loop.
//!
//! This crate is the [`Runtime`](ably_async::Runtime) for tokio:
//! `tokio::spawn`, `spawn_blocking`, `tokio::time::sleep_until`, and
//! WebSockets by tokio-tungstenite over `tokio::net::TcpStream` (TLS by
//! rustls with the webpki roots and the options' extra roots).

#![forbid(unsafe_code)]

mod runtime;
pub mod sse;

pub use runtime::Tokio;

/// A realtime client (RTC) on tokio.
pub type Realtime = ably_async::Realtime<Tokio>;
/// The connection of a [`Realtime`] client (RTN).
pub type Connection = ably_async::Connection<Tokio>;
/// The channels of a [`Realtime`] client (RTS).
pub type Channels = ably_async::Channels<Tokio>;
/// A realtime channel (RTL).
pub type Channel = ably_async::Channel<Tokio>;
/// The presence of a realtime [`Channel`] (RTP).
pub type Presence = ably_async::Presence<Tokio>;
/// Token auth (RSA) of a [`Realtime`] or [`Rest`] client.
pub type Auth = ably_async::Auth<Tokio>;
/// A REST client (RSC) on tokio.
pub type Rest = ably_async::Rest<Tokio>;
/// The channels of a [`Rest`] client (RSN).
pub type RestChannels = ably_async::RestChannels<Tokio>;
/// A REST channel (RSL).
pub type RestChannel = ably_async::RestChannel<Tokio>;
/// The presence of a [`RestChannel`] (RSP).
pub type RestPresence = ably_async::RestPresence<Tokio>;
/// One page of a paginated result (TG).
pub type Page<T> = ably_async::Page<T, Tokio>;

pub use ably_async::{
    AuthCallback, AuthFn, AuthResponse, ChannelMode, ChannelModes, ChannelOptions, ChannelState,
    ChannelStateChange, CipherParams, ClientOptions, ConnectionState, ConnectionStateChange, Data,
    Direction, Error, ErrorInfo, Format, HistoryParams, HttpPaginatedResponse, Message, PageItem,
    PresenceAction, PresenceMessage, PresenceParams, PresenceQuery, Result, Stats, StatsParams,
    StatsUnit, Subscription, TokenDetails, TokenParams, TokenRequest,
};

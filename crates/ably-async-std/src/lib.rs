//! An Ably realtime and REST client for async-std, that also runs under
//! smol (or any executor).
//!
//! ```no_run
//! # async fn hello() -> Result<(), ably_async_std::Error> {
//! use ably_async_std::{ClientOptions, Realtime};
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
//! `cargo run -p ably-async-std --example hello_async_std` runs the lines above
//! against an embedded `ably-local` (or against Ably with `ABLY_KEY` set).
//!
//! # The API
//!
//! The same as `ably-blocking`'s (`docs/adapters.md` has the table), with
//! `async fn` where that crate blocks and a [`Subscription`] implementing
//! `futures::Stream` (with `recv()`, `next()`, `recv_timeout()`,
//! `try_recv()`) where that crate has an iterator. `Realtime::new` and
//! `Rest::new` are not `async`: they check the options and spawn the
//! client's driver task. Futures returned by the API are `Send`.
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
//! This crate is the [`Runtime`](ably_async::Runtime) for async-std:
//! `async_std::task::spawn` and `spawn_blocking`, async-io's `Timer`,
//! and WebSockets by async-tungstenite over `async_std::net::TcpStream`
//! (TLS by futures-rustls with the webpki roots and the options' extra
//! roots).
//!
//! # smol and other executors
//!
//! The driver tasks run on async-std's global executor, whose threads
//! start by themselves, and timers and sockets are async-io's, whose
//! reactor does too. So the API's futures can be awaited from
//! `async_std::task::block_on`, `smol::block_on`, or any other executor;
//! the tests run every scenario under the first two.

#![forbid(unsafe_code)]

mod runtime;
pub mod sse;

pub use runtime::AsyncStd;

/// A realtime client (RTC) on async-std.
pub type Realtime = ably_async::Realtime<AsyncStd>;
/// The connection of a [`Realtime`] client (RTN).
pub type Connection = ably_async::Connection<AsyncStd>;
/// The channels of a [`Realtime`] client (RTS).
pub type Channels = ably_async::Channels<AsyncStd>;
/// A realtime channel (RTL).
pub type Channel = ably_async::Channel<AsyncStd>;
/// The presence of a realtime [`Channel`] (RTP).
pub type Presence = ably_async::Presence<AsyncStd>;
/// Token auth (RSA) of a [`Realtime`] or [`Rest`] client.
pub type Auth = ably_async::Auth<AsyncStd>;
/// A REST client (RSC) on async-std.
pub type Rest = ably_async::Rest<AsyncStd>;
/// The channels of a [`Rest`] client (RSN).
pub type RestChannels = ably_async::RestChannels<AsyncStd>;
/// A REST channel (RSL).
pub type RestChannel = ably_async::RestChannel<AsyncStd>;
/// The presence of a [`RestChannel`] (RSP).
pub type RestPresence = ably_async::RestPresence<AsyncStd>;
/// One page of a paginated result (TG).
pub type Page<T> = ably_async::Page<T, AsyncStd>;

pub use ably_async::{
    AuthCallback, AuthFn, AuthResponse, ChannelMode, ChannelModes, ChannelOptions, ChannelState,
    ChannelStateChange, CipherParams, ClientOptions, ConnectionState, ConnectionStateChange, Data,
    Direction, Error, ErrorInfo, Format, HistoryParams, HttpPaginatedResponse, Message, PageItem,
    PresenceAction, PresenceMessage, PresenceParams, PresenceQuery, Result, Stats, StatsParams,
    StatsUnit, Subscription, TokenDetails, TokenParams, TokenRequest,
};

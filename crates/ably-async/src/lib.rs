//! The runtime-independent half of the async Ably clients: the API and
//! the driver task, written once against the small [`Runtime`] trait.
//!
//! Applications use `ably-tokio` or `ably-async-std`, which implement
//! [`Runtime`] and name these types for their runtime
//! (`ably_tokio::Realtime` is `ably_async::Realtime<ably_tokio::Tokio>`).
//! The API is `ably-blocking`'s with `async fn` where that crate blocks
//! and [`Subscription`] a [`Stream`](futures_util::Stream) where that
//! crate has an iterator; `docs/adapters.md` lists it. [`sse`] is the
//! consumer of Ably's SSE and HTTP streaming API, for where WebSocket is
//! blocked (`ably_blocking::sse` with `async fn` and a `Stream`).
//!
//! # Layers
//!
//! - `ably_proto::adapter` (no I/O): the options, each operation as a
//!   command plus the reading of its completion, and the `Dispatcher`
//!   that keeps operation ids, waiting callers, subscribers and the
//!   snapshot around the sans-IO client core.
//! - `ably-net` (I/O without a runtime): tungstenite messages to and from
//!   frames, the ureq HTTP executor, the rustls configuration, the clock,
//!   and the SSE reader thread behind [`sse`].
//! - This crate: the driver task and the handles, generic over
//!   [`Runtime`] (spawn a task, run a closure on the blocking pool, sleep
//!   until an instant, open a WebSocket).
//! - `ably-tokio`, `ably-async-std`: a [`Runtime`] each, and type names.
//!
//! # The driver task
//!
//! Each client has one **driver task**, spawned by `Realtime::new` (or
//! `Rest::new`) on the current runtime. It owns the `Dispatcher` (and
//! through it the client core), the WebSocket and one timer. API handles
//! talk to it over an unbounded `futures-channel` channel: a command with
//! a one-shot reply, a new subscriber with a one-shot acknowledgement, or
//! a query. Events go the other way into each subscription's bounded
//! channel; the driver never waits for one (a full subscription ends
//! with 80020, see [`Subscription`]). Work that may wait runs in **helper tasks** that post their
//! result back to the same channel: opening a socket (TCP, TLS and the
//! WebSocket handshake, by the runtime), each call of the authCallback,
//! and each HTTP request (ureq, on the runtime's blocking pool). So the
//! driver never waits on anything but its own three sources.
//!
//! ## How it waits
//!
//! One `poll_fn` polls the three sources together (a select): the command
//! channel, the socket's read half, and the timer armed for the core's
//! next deadline (re-armed only when the deadline changes). Whatever is
//! ready wakes it; it takes up to 64 ready messages from each source,
//! feeds them to the dispatcher one at a time, carries out the I/O each
//! one causes (frames are fed to the socket, helpers spawned), feeds
//! `Input::Timeout` once the deadline has passed, and flushes the socket
//! once for the whole batch. An idle client sleeps until one of the three
//! wakes it: there is no polling interval. The socket is polled with a
//! waker of its own (`read_wake.rs`) and only after it fired, not on every
//! wake of the task: on async-io (async-std, smol) each poll that finds
//! nothing costs system calls.
//!
//! When the last handle is dropped, the driver closes the connection
//! politely (a CLOSE, nobody waits for CLOSED), closes the socket in a
//! task of its own and ends.
//!
//! # HTTP
//!
//! REST calls, token requests and authUrl fetches are built by the core
//! as plain values and executed with `ably_net::http` (ureq, rustls) on
//! the runtime's blocking pool, the same HTTP stack as `ably-blocking`:
//! see `docs/adapters.md` for why.

#![forbid(unsafe_code)]

#[cfg(any(test, feature = "bench"))]
#[doc(hidden)]
pub mod bench_peer;
mod driver;
mod handle;
mod options;
mod read_wake;
mod realtime;
mod rest;
mod runtime;
pub mod sse;
mod subscription;
#[cfg(feature = "testkit")]
#[doc(hidden)]
pub mod testkit;

pub use ably_proto::adapter::{Error, PageItem};
pub use handle::Auth;
pub use options::{AuthCallback, AuthFn, ClientOptions};
pub use realtime::{Channel, Channels, Connection, Presence, Realtime};
pub use rest::{Rest, RestChannel, RestChannels, RestPresence};
pub use runtime::{BoxFuture, BoxSocket, Runtime, WebSocket, connect_in_steps, unblock, until};
pub use subscription::{Page, Subscription};

/// `Result<T, Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub use ably_proto::auth::{TokenDetails, TokenParams, TokenRequest};
pub use ably_proto::client::{
    AuthResponse, ChannelState, ChannelStateChange, ConnectionState, ConnectionStateChange,
    PresenceQuery,
};
pub use ably_proto::codec::Format;
pub use ably_proto::rest::{
    Direction, HistoryParams, HttpPaginatedResponse, PresenceParams, Stats, StatsParams, StatsUnit,
};
pub use ably_proto::{
    ChannelMode, ChannelModes, ChannelOptions, CipherParams, Data, ErrorInfo, Message,
    PresenceAction, PresenceMessage,
};

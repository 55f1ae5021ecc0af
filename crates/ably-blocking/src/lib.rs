//! An Ably realtime and REST client for plain threads: no async runtime.
//!
//! ```no_run
//! use ably_blocking::{ClientOptions, Realtime};
//! let client = Realtime::new(ClientOptions::new("appId.keyId:secret"))?;
//! let channel = client.channels().get("greetings");
//! let messages = channel.subscribe()?; // attaches; an iterator of messages
//! channel.publish("hello", "world")?; // returns once the service ACKs
//! println!("{:?}", messages.recv().map(|m| m.data));
//! # Ok::<(), ably_blocking::Error>(())
//! ```
//!
//! For a local service, point the options at it:
//! `ClientOptions::new(key).endpoint("127.0.0.1").port(8080).tls(false)`.
//! `cargo run -p ably-blocking --example hello_blocking` runs the lines
//! above against an embedded `ably-local` (or against Ably with
//! `ABLY_KEY` set). `cargo run -p ably-cli -- demo` (the `ably demo`
//! command, which runs on this crate) tours pub/sub, encryption,
//! presence, history and connection resume.
//!
//! # The API
//!
//! The shape is the one shared by this crate and the async adapters (which
//! return futures and `Stream`s where this crate blocks and returns
//! iterators); it follows the Ably SDKs (ably-js, ably-go) in Rust idiom:
//!
//! | object | what it offers |
//! |---|---|
//! | [`ClientOptions`] | `new(key)`, `with_token`, `with_auth_callback`; builder methods `endpoint`, `port`, `tls`, `client_id`, `format`, `auth_callback`, `auth_url`, `echo_messages`, `auto_connect`, `recover`, ...; `core_mut()` for the rest |
//! | [`Realtime`] | `new(options)`, `connection()`, `channels()`, `auth()`, `time()`, `stats()`, `request()`, `close()` |
//! | [`Connection`] | `state()`, `id()`, `key()`, `error_reason()`, `on_state_change()`, `wait_for(state, timeout)`, `connect()`, `close()`, `ping()`, `create_recovery_key()` |
//! | [`Channels`] / [`Channel`] | `get(name)`, `get_with_options`, `release`; `attach()`, `detach()`, `state()`, `on_state_change()`, `subscribe()`, `subscribe_name(name)`, `publish(name, data)`, `publish_messages(vec)`, `history(params)`, `set_options(options)`, `presence()` |
//! | [`Presence`] | `enter`/`update`/`leave(data)`, `enter_client`/`update_client`/`leave_client(id, data)`, `get(query)`, `subscribe()`, `history(params)` |
//! | [`Auth`] | `authorize()`, `request_token()`, `create_token_request()`, `client_id()` |
//! | [`Rest`] | `new(options)`, `time()`, `stats()`, `request()`, `auth()`, `channels().get(name)` with `publish`, `history`, `presence().get/history` |
//! | [`Subscription`] | `recv()`, `recv_timeout()`, `try_recv()`, and `Iterator`; dropping it unsubscribes |
//! | [`Page`] | `items`, `has_next()`, `next()`, `first()` |
//! | [`Error`] | one type carrying Ably's `ErrorInfo`: `code()`, `status_code()`, `message()` |
//! | [`sse`] | `subscribe(&options, channels, SseOptions)` -> [`SseStream`](sse::SseStream): messages and presence events over SSE or HTTP streaming where WebSocket is blocked, resumed by event id after drops |
//!
//! Operations that the service acknowledges (attach, publish, presence,
//! ping, REST calls) block until the answer and return a `Result`.
//! When such a call returns, the state changes and messages that led to
//! its result have already been sent to the subscribers. Queries of state
//! (`state()`, `id()`) return at once. Handles are
//! cheap `Clone`s of one client; the client closes its connection and
//! stops its thread when the last handle is dropped.
//!
//! # Threads
//!
//! Each client has one **driver thread** that owns the sans-IO
//! [`ably_proto::client::Client`], the WebSocket (tungstenite; TLS by
//! rustls with the webpki roots), a map from operation id to the caller
//! waiting for it, and the subscriber lists. API handles talk to it over a
//! `std::sync::mpsc` channel: a command with a one-shot reply channel, or
//! a new subscriber. Work that may block runs on short-lived **helper
//! threads** that post their result back to the same channel: opening a
//! socket (TCP connect and the WebSocket/TLS handshake), each HTTP request,
//! and each call of the authCallback. So the driver never waits on the
//! network other than for the socket it reads, nor on user code.
//!
//! # The driving loop
//!
//! The driver runs the loop documented in `ably_proto::adapter`, around
//! a [`Dispatcher`](ably_proto::adapter::Dispatcher) that does all the
//! bookkeeping the three adapters share (operation ids and waiting
//! callers, payload encoding, subscriber lists, the snapshot):
//!
//! 1. Drain the command channel: commands, subscribers and queries go to
//!    the dispatcher; helper results go in as socket, token or HTTP inputs.
//! 2. Drain [`Dispatcher::next_io`](ably_proto::adapter::Dispatcher::next_io):
//!    by then the events of the step have reached subscribers and waiting
//!    callers; carry out each I/O: open (on a helper thread), write or
//!    close the socket, start a helper thread for HTTP or the authCallback.
//! 3. Wait for the next thing to happen: read the socket with its read
//!    timeout set to the core's next deadline, capped at
//!    [`POLL_INTERVAL`]; with no socket, block on the command channel
//!    until the deadline. Feed the frame in, or `Input::Timeout` once the
//!    deadline has passed, and go to 1.
//!
//! ## Waking up
//!
//! While the driver blocks on the socket it cannot see the command
//! channel, so socket reads time out every [`POLL_INTERVAL`] (5 ms) and
//! the loop checks for commands: a command waits at most that long, and an
//! idle connected client wakes 200 times a second, which costs little.
//! The alternatives were worse for a blocking crate: std has no way to wait
//! on a socket and a channel together (that needs `poll(2)` through mio or
//! unsafe code), and a separate reader thread cannot share a rustls stream
//! with the writer. With no socket open the driver blocks on the channel
//! itself and wakes at once.
//!
//! # HTTP
//!
//! REST calls, token requests and authUrl fetches are built by the core
//! (`ably_proto::rest`) as plain [`HttpRequest`](ably_proto::client::HttpRequest)
//! values; the driver executes each with `ably_net::http` (a shared
//! `ureq::Agent`: rustls, webpki roots, timeouts from the options, any
//! status returned as a response) on a helper thread and hands the response back; the core
//! decodes it, follows fallback hosts and renews tokens. [`Rest`] uses the
//! same driver with a core that never connects.

#![forbid(unsafe_code)]

mod driver;
mod error;
mod handle;
mod options;
mod realtime;
mod rest;
pub mod sse;
mod subscription;

pub use ably_proto::adapter::PageItem;
pub use driver::POLL_INTERVAL;
pub use error::{Error, Result};
pub use handle::Auth;
pub use options::{AuthCallback, AuthFn, ClientOptions};
pub use realtime::{Channel, Channels, Connection, Presence, Realtime};
pub use rest::{Rest, RestChannel, RestChannels, RestPresence};
pub use subscription::{Page, Subscription};

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

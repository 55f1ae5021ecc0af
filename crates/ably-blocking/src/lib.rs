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
//! | [`Channels`] / [`Channel`] | `get(name)`, `get_with_options`, `release`; `attach()`, `detach()`, `state()`, `on_state_change()`, `subscribe()`, `subscribe_name(name)`, `publish(name, data)`, `publish_async(name, data)` (a [`PublishHandle`] to `wait()` on later), `publish_messages(vec)`, `history(params)`, `set_options(options)`, `presence()` |
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
//! rustls with the webpki roots and the options' `tls_root_certificates`),
//! a map from operation id to the caller waiting for it, and the
//! subscriber lists. API handles talk to it over a `std::sync::mpsc`
//! channel: a command with a one-shot reply queue, or a new subscriber
//! with its queue (a mutex and condition variable that wake the API
//! thread only after the driver has let go of the lock, so that a reader
//! woken at once does not block on it). Work that may block runs on
//! short-lived **helper threads** that post their result back to the
//! same channel: opening a
//! socket (TCP connect and the WebSocket/TLS handshake), each HTTP request,
//! and each call of the authCallback. So the driver waits on nothing but
//! its poller (see "Waking up"): never on a connect, an HTTP answer or
//! user code.
//!
//! # The driving loop
//!
//! The driver runs the loop documented in `ably_proto::adapter`, around
//! a [`Dispatcher`](ably_proto::adapter::Dispatcher) that does all the
//! bookkeeping the three adapters share (operation ids and waiting
//! callers, payload encoding, subscriber lists, the snapshot):
//!
//! 1. Sleep until something happens (see "Waking up"): a message in the
//!    command channel, the socket readable (or writable, while writes
//!    wait for it), or the next deadline.
//! 2. Take what is there, each input followed by its I/O (step 3): every
//!    queued message (up to 64 per turn; commands, subscribers and
//!    queries go to the dispatcher, helper results go in as socket, token
//!    or HTTP inputs), then frames until a read of the socket would block
//!    (up to 64), then `Input::Timeout` if the core's deadline has passed.
//! 3. Drain [`Dispatcher::next_io`](ably_proto::adapter::Dispatcher::next_io):
//!    by then the events of the input have reached subscribers and
//!    waiting callers; carry out each I/O: open (on a helper thread),
//!    queue a frame on the socket, close the socket, start a helper
//!    thread for HTTP or the authCallback.
//! 4. Flush the socket once, and go to 1: the frames of every command
//!    taken in the turn (say, many publishes from many threads) go out
//!    together, in as few writes as the socket allows.
//!
//! ## Waking up
//!
//! The driver sleeps in one [`mio::Poll`] (epoll, kqueue or IOCP) that
//! watches the socket and the command channel together, with the next
//! deadline as its timeout, so it wakes at once for either and otherwise
//! not at all: an idle connected client sleeps until the service's
//! heartbeat or the core's next timer. The command channel is a
//! `std::sync::mpsc` channel whose sender also wakes the poller (a
//! `mio::Waker`) on every send, from handles and helper threads alike;
//! the wrapper leaves no way to send without it, and an atomic flag spares
//! the system call while a wake-up is already on its way.
//!
//! A handle does not always need the driver thread: the state the loop
//! works on (core, socket, mailbox) sits behind a lock that the driver
//! thread holds only for a turn, not while it sleeps. A handle that finds
//! it free takes the turn itself on the calling thread: it drains the
//! mailbox (so that order is kept), hands its command to the dispatcher,
//! writes the frames out, and wakes the driver only if the turn left it
//! something (more to read or take, writes waiting for the socket, a
//! deadline earlier than the one it sleeps until, the end of the client).
//! A publish thus costs no thread hand-off; the driver wakes for the ACK.
//! Messages can be received the same way with
//! [`Channel::subscribe_with`]: its callback runs on the driver thread, so
//! a message costs one wake-up instead of two (the driver's and the
//! receiving thread's).
//!
//! The helper thread opens the socket blocking, with timeouts; the
//! driver then uses it non-blocking. The poller reports only changes, so
//! the driver reads until a read would block before it sleeps again, and
//! also reads when rustls holds data that a write took off the socket
//! (rustls reads while its writes would block). Frames queue in
//! tungstenite's buffer; when the socket cannot take them all, the driver
//! watches it for writability until it has. Meanwhile it takes no new
//! commands (their callers wait, as on a blocking write) but still reads,
//! so ACKs and heartbeats get through; if the socket takes nothing for the
//! realtime request timeout, the connection is lost (80003, RTN15) and
//! resumed. Closing a socket writes its close frame blocking, for at most
//! 2 s. mio rather than the `polling` crate because registering a socket
//! with `polling` takes unsafe code and mio's API is safe.
//!
//! # HTTP
//!
//! REST calls, token requests and authUrl fetches are built by the core
//! (`ably_proto::rest`) as plain [`HttpRequest`](ably_proto::client::HttpRequest)
//! values; the driver executes each with `ably_net::http` (a shared
//! `ureq::Agent`: rustls, the same roots as the WebSocket, timeouts from the options, any
//! status returned as a response) on a helper thread and hands the response back; the core
//! decodes it, follows fallback hosts and renews tokens. [`Rest`] uses the
//! same driver with a core that never connects.

#![forbid(unsafe_code)]

mod driver;
mod error;
mod handle;
mod mailbox;
mod options;
mod queue;
mod realtime;
mod rest;
pub mod sse;
mod subscription;

pub use ably_proto::adapter::PageItem;
pub use error::{Error, Result};
pub use handle::Auth;
pub use options::{AuthCallback, AuthFn, ClientOptions};
pub use realtime::{Channel, Channels, Connection, Presence, PublishHandle, Realtime};
pub use rest::{Rest, RestChannel, RestChannels, RestPresence};
pub use subscription::{Listener, Page, Subscription};

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

//! The I/O-free half of every runtime adapter.
//!
//! `ably-blocking`, `ably-tokio` and `ably-async-std` each run one driver
//! (a thread or a task) per client. Everything those drivers have in
//! common that needs no socket, clock or runtime lives here, so that each
//! adapter is only the plumbing of its runtime:
//!
//! - [`Dispatcher`] wraps the [`Client`](crate::client::Client): it gives
//!   operations their ids and remembers who waits for them, encodes
//!   published payloads with the channel's cipher, keeps the subscriber
//!   lists, routes events to them (completions last), keeps the
//!   [`Snapshot`] that API handles read without a round trip, and hands
//!   the driver only the I/O to do ([`Io`]).
//! - [`Call`] pairs each API operation's [`Command`](crate::client::Command)
//!   with the reading of its [`Completion`](crate::client::Completion), so
//!   the three APIs are the same calls with or without `.await`.
//! - [`wait_outcome`] decides when waiting for a connection state is over.
//! - [`Error`] is the error type of the APIs.
//!
//! # The driver loop with a dispatcher
//!
//! 1. Wait for the first of: a message from an API handle (a command with
//!    its [`Reply`], a [`Subscriber`], a query), a socket event, a helper's
//!    answer (socket opened, token, HTTP response), or the deadline of
//!    [`Dispatcher::poll_timeout`].
//! 2. Feed it in: [`Dispatcher::command`], [`Dispatcher::subscribe`],
//!    [`Dispatcher::opened`], [`Dispatcher::transport`],
//!    [`Dispatcher::handle`] (tokens, HTTP answers, `Input::Timeout`).
//! 3. Drain [`Dispatcher::next_io`] and carry out each [`Io`]; events have
//!    already reached the subscribers and the waiting callers.
//! 4. Go to 1.

mod call;
mod dispatcher;
mod error;
mod options;
mod snapshot;
mod subscribers;

pub use call::{Call, Finish, PageItem, create_token_request};
pub use dispatcher::{Dispatcher, Io, Reply};
pub use error::Error;
pub use options::{DEFAULT_SUBSCRIPTION_CAPACITY, Options};
pub use snapshot::{SharedSnapshot, Snapshot, wait_outcome};
pub use subscribers::{Sink, Subscriber};

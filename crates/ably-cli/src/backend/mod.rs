//! The backend: the small interface every command is written against,
//! implemented once per runtime adapter.
//!
//! A command never names an adapter crate. It asks the [`Backend`] chosen
//! by `--runtime` for a [`Client`], and uses that: connect, publish,
//! subscribe, history, presence, tokens. The blocking adapter implements
//! it directly (`blocking.rs`); the async adapters share one
//! implementation (`bridge.rs`) that runs each call's future to
//! completion on the runtime (`tokio_backend.rs`, `async_std_backend.rs`).

mod async_std_backend;
mod blocking;
mod bridge;
mod tokio_backend;

use std::time::Duration;

use ably_proto::auth::{TokenDetails, TokenParams};
use ably_proto::client::{ClientOptions, ConnectionState, ConnectionStateChange};
use ably_proto::rest::HistoryParams;
use ably_proto::{ChannelOptions, Data, ErrorInfo, Message, PresenceMessage};

use crate::args::Runtime;

/// A result whose error is Ably's `ErrorInfo`.
pub type Result<T> = std::result::Result<T, ErrorInfo>;

/// Makes clients of one runtime adapter.
pub trait Backend: Send + Sync {
    /// A realtime client with these options, trusting `tls_roots` (DER)
    /// besides the webpki roots; it starts connecting unless
    /// `options.auto_connect` is false. Fails at once on invalid options.
    fn client(&self, options: ClientOptions, tls_roots: &[Vec<u8>]) -> Result<Box<dyn Client>>;
}

/// What a command can do with one realtime client (one connection).
/// Calls block until the service has answered.
pub trait Client: Send + Sync {
    /// Every connection state change from now on (RTN4).
    fn connection_changes(&self) -> Box<dyn Events<ConnectionStateChange>>;
    /// The connection as it is now.
    fn connection(&self) -> ConnectionInfo;
    /// Connects, or reconnects now (RTN11); does not wait.
    fn connect(&self) -> Result<()>;
    /// A round trip to the service (RTN13).
    fn ping(&self) -> Result<Duration>;
    /// The service's clock, ms since the epoch (RTC6a).
    fn time(&self) -> Result<i64>;
    /// Sets a channel's options: params such as `rewind`, and the cipher
    /// (RTS3b, RTL16).
    fn set_channel_options(&self, channel: &str, options: ChannelOptions) -> Result<()>;
    /// Every message on the channel from now on; returns once attached
    /// (RTL7).
    fn subscribe(&self, channel: &str) -> Result<Box<dyn Events<Message>>>;
    /// Publishes messages in one ProtocolMessage and waits for the ACK;
    /// returns their serials (RTL6).
    fn publish(&self, channel: &str, messages: Vec<Message>) -> Result<Vec<Option<String>>>;
    /// One page of history (RTL10).
    fn history(&self, channel: &str, params: HistoryParams) -> Result<Vec<Message>>;
    /// Enters this client into the channel's presence set (RTP8).
    fn presence_enter(&self, channel: &str, data: Data) -> Result<()>;
    /// Leaves the presence set (RTP10).
    fn presence_leave(&self, channel: &str, data: Data) -> Result<()>;
    /// The members, after the presence SYNC (RTP11).
    fn presence_get(&self, channel: &str) -> Result<Vec<PresenceMessage>>;
    /// Every presence event from now on; returns once attached (RTP6).
    fn presence_subscribe(&self, channel: &str) -> Result<Box<dyn Events<PresenceMessage>>>;
    /// Obtains a token with these params (RSA8).
    fn request_token(&self, params: TokenParams) -> Result<TokenDetails>;
    /// Closes the connection and waits until it is closed (RTN12).
    fn close(&self) -> Result<()>;
}

/// A subscription: events in the order the client saw them.
pub trait Events<T>: Send {
    /// The next event, waiting at most `timeout`.
    fn next_within(&mut self, timeout: Duration) -> Next<T>;
    /// The next event if one is waiting now.
    fn try_next(&mut self) -> Option<T>;
}

/// What waiting for an event gave.
#[derive(Debug)]
pub enum Next<T> {
    /// An event.
    Item(T),
    /// Nothing within the time given.
    Timeout,
    /// No more events, and why: 80017 when the client has shut down,
    /// 80020 when the subscription fell behind its reader.
    Ended(ErrorInfo),
}

/// The connection of a client as it is now (RTN4d, RTN8, RTN9).
#[derive(Clone, Debug)]
pub struct ConnectionInfo {
    /// The state.
    pub state: ConnectionState,
    /// The connection id, once connected.
    pub id: Option<String>,
    /// The connection key, once connected.
    pub key: Option<String>,
    /// The clientId as known now.
    pub client_id: Option<String>,
}

/// The backend of a runtime.
pub fn select(runtime: Runtime) -> Result<Box<dyn Backend>> {
    match runtime {
        Runtime::Blocking => Ok(Box::new(blocking::Blocking)),
        Runtime::Tokio => tokio_backend::backend(),
        Runtime::AsyncStd => async_std_backend::backend(),
    }
}

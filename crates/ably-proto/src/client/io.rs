//! The contract between the core and its driver: what goes in, what comes out.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::ErrorInfo;
use crate::auth::{TokenDetails, TokenParams, TokenRequest};

/// The id the application gives an operation. Every operation completes
/// exactly once, with [`Event::Completed`]. Ids must be unique while the
/// operation is outstanding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpId(pub u64);

/// The generation of a transport. Each transport the core opens gets a new
/// one; events of older generations are stale and ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Generation(pub u64);

/// The id of a request the core asks the driver to carry out (a token from
/// the authCallback, an HTTP request).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// An input to [`Client::handle`](super::Client::handle).
///
/// Every received frame is moved in as an `Input`, so it is kept small:
/// commands box their rare large payloads (a REST operation, auth
/// options, an annotation or a message to edit).
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// An application command.
    Command(OpId, Command),
    /// Something happened on a transport.
    Transport(Generation, TransportEvent),
    /// The answer to [`Output::FetchToken`].
    Token(RequestId, Result<AuthResponse, ErrorInfo>),
    /// The answer to [`Output::Http`]: a response, or a network error.
    Http(RequestId, Result<HttpResponse, ErrorInfo>),
    /// The deadline from [`Client::poll_timeout`](super::Client::poll_timeout)
    /// has passed. A spurious timeout is harmless.
    Timeout,
    /// The operating system says the network went away or came back (RTN20).
    NetworkChanged {
        /// Whether the network is available now.
        online: bool,
    },
}

/// Application commands. Rare large payloads are boxed so that
/// [`Input`] stays small.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Connect, or reconnect now (RTN11).
    Connect,
    /// Close the connection (RTN12).
    Close,
    /// Measure the round trip to the service (RTN13).
    Ping,
    /// `Auth#authorize`: obtain a new token and use it; given params
    /// replace the stored ones, `None` keeps them (RSA10e, RSA10g). A
    /// realtime client uses it on its connection, or connects with it
    /// (RTC8), and completes with [`Completion::Authorized`] once the
    /// service accepts it. A REST client
    /// ([`rest_client`](super::ClientOptions::rest_client)) stores it
    /// for its requests and completes with it at once, without opening a
    /// transport (RSA10a, RSA16c, RSA7); a refused token request fails
    /// with its own error, e.g. 40100 from the service (RSA10l).
    Authorize(Option<TokenParams>),
    /// `Auth#authorize(tokenParams, authOptions)` (RSA10b): as
    /// [`Command::Authorize`], with `options`, when given, stored in place
    /// of the client's means of auth for this and later tokens (RSA10g,
    /// RSA10h), keeping the client's key when they have none (RSA10i). A
    /// token in the options is used as it is, with no request (RSA10e);
    /// `query_time` asks for the service time before signing (RSA10k). On
    /// a REST client, options with a key and `use_token_auth:
    /// Some(false)` switch it to basic auth: the token is forgotten
    /// (RSA16d) and the command completes with [`Completion::Done`]; a
    /// realtime client refuses that with 40000. An invalid key fails with
    /// 40101 and changes nothing.
    AuthorizeWith {
        /// Token params for this and later tokens; `None` keeps the stored.
        params: Option<TokenParams>,
        /// Auth options for this and later tokens; `None` keeps the stored.
        options: Option<Box<super::AuthOptions>>,
    },
    /// Publish payload-encoded messages on a channel; completes on ACK or
    /// NACK, or fails when the connection is suspended, closed or failed
    /// (RTN7, RTL6c).
    Publish {
        /// The channel name.
        channel: String,
        /// The messages, already encoded (RSL4).
        messages: Vec<crate::Message>,
    },
    /// Attach a channel, creating it if needed (RTL4, RTS3a).
    Attach {
        /// The channel name.
        channel: String,
    },
    /// Detach a channel (RTL5).
    Detach {
        /// The channel name.
        channel: String,
    },
    /// Set a channel's options, creating it if needed (RTL16, RTS3b).
    SetChannelOptions {
        /// The channel name.
        channel: String,
        /// The options.
        options: crate::ChannelOptions,
    },
    /// `Channels#get`: create the channel if it does not exist (RTS3a).
    /// With options, set them on a new channel (RTS3b) or replace those of
    /// an existing one (RTS3c); options that would make `setOptions`
    /// reattach (new params or modes while attaching or attached) fail with
    /// 40000 and change nothing (RTS3c1). Completes at once.
    GetChannel {
        /// The channel name.
        channel: String,
        /// The options, if given.
        options: Option<crate::ChannelOptions>,
    },
    /// Detach and forget a channel (RTS4).
    ReleaseChannel {
        /// The channel name.
        channel: String,
    },
    /// Enter, update or leave presence (RTP8, RTP9, RTP10, RTP14, RTP15).
    Presence {
        /// The channel name.
        channel: String,
        /// What to do.
        request: super::presence::PresenceRequest,
    },
    /// The presence members (RTP11).
    PresenceGet {
        /// The channel name.
        channel: String,
        /// Filters and whether to wait for the sync.
        query: super::presence::PresenceQuery,
    },
    /// Publish (`Create`) or delete (`Delete`) an annotation of a message
    /// (RTAN1, RTAN2): sends an ANNOTATION frame with `action` and
    /// `message_serial` set on the annotation (RSAN1c1, RSAN1c2, RTAN1c).
    /// Fails with 40003 without a type or serial (RSAN1a3), and as a publish
    /// does in the connection and channel states of RTL6c (RTAN1b);
    /// completes on ACK or NACK (RTAN1d).
    Annotate {
        /// The channel name.
        channel: String,
        /// The serial of the annotated message (RSAN1a).
        message_serial: String,
        /// Create or delete.
        action: crate::AnnotationAction,
        /// The annotation, data already encoded (RSAN1c3).
        annotation: Box<crate::Annotation>,
    },
    /// `updateMessage`, `deleteMessage` or `appendMessage` (RTL32): sends a
    /// MESSAGE frame with this one message, `action` set (RTL32b1) and
    /// `version` set to `operation` if given (RTL32b2), and `params` in
    /// the frame (RTL32e). Fails with 40003 without a serial (RTL32a);
    /// completes like a publish, with [`Completion::Published`] whose first
    /// serial is the version serial (RTL32d).
    EditMessage {
        /// The channel name.
        channel: String,
        /// `Update`, `Delete` or `Append`.
        action: crate::MessageAction,
        /// The message, with its serial; payload already encoded.
        message: Box<crate::Message>,
        /// The MessageOperation: clientId, description, metadata.
        operation: Option<Box<crate::MessageVersion>>,
        /// Publish params, already stringified (RTC1f).
        params: std::collections::BTreeMap<String, String>,
    },
    /// A REST operation through the realtime client (RTC5 stats, RTC6
    /// time, RTC9 request, RTL10 history, RTL28 getMessage, RTL31
    /// getMessageVersions, RTP12 presence history, and the rest of
    /// [`RestOp`](crate::rest::RestOp)). Emits [`Output::Http`] with the
    /// client's credentials, tries the connection's fallback host first
    /// (RTN17e) and other hosts after qualifying failures (RSC15), renews a
    /// rejected token once (RSA4b), and completes with [`Completion::Rest`].
    /// It never changes the connection state. `untilAttach` history needs
    /// the channel attached (RTL10b).
    Rest(Box<crate::rest::RestOp>),
    /// `Auth#requestToken` (RSA8): obtains a token with these params (or
    /// the stored ones) by the configured means, without using it or
    /// changing the connection; completes with [`Completion::Rest`] holding
    /// [`RestResult::Token`](crate::rest::RestResult::Token). A failing
    /// authCallback or authUrl is 40170 (RSA4e).
    RequestToken(Option<TokenParams>),
    /// `Auth#requestToken(tokenParams, authOptions)` (RSA8e): as
    /// [`Command::RequestToken`], with `options`, when given, used for
    /// this token only in place of the client's means of auth (the
    /// client's key stays when they have none, RSA10i) and its
    /// queryTime (RSA9d); nothing is stored.
    RequestTokenWith {
        /// Token params for this token; `None` uses the stored ones.
        params: Option<TokenParams>,
        /// Auth options for this token; `None` uses the client's.
        options: Option<Box<super::AuthOptions>>,
    },
}

/// What happened on a transport.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransportEvent {
    /// The WebSocket is open.
    Opened,
    /// A data frame arrived (text for JSON, binary for MessagePack).
    Frame(Bytes),
    /// Transport-level activity without data, e.g. a WebSocket ping (RTN23b).
    Activity,
    /// The transport closed or failed; `error` says why when known. A
    /// WebSocket upgrade refused with an HTTP status is reported with that
    /// status as the error's `status_code` (a 401 means bad credentials:
    /// the connection fails instead of retrying, RTN14a).
    Closed(Option<ErrorInfo>),
}

/// What an authCallback gave (RSA8d).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthResponse {
    /// A token string.
    Token(String),
    /// Token details.
    Details(TokenDetails),
    /// A TokenRequest for the core to exchange.
    Request(TokenRequest),
}

/// An HTTP request for the driver to make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The absolute URL with its query.
    pub url: String,
    /// Headers to send.
    pub headers: Vec<(String, String)>,
    /// The body, if any.
    pub body: Option<Vec<u8>>,
}

/// An HTTP response as the driver received it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Headers, names in any case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header with this name, case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A frame to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The encoded ProtocolMessage.
    pub bytes: Bytes,
    /// Text frame (JSON) or binary frame (MessagePack).
    pub text: bool,
}

/// An output from [`Client::poll`](super::Client::poll). One or more per
/// received frame go through the queue, so every variant is small.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// Open a WebSocket to `url`; report its events with `generation`.
    OpenTransport {
        /// The transport's generation.
        generation: Generation,
        /// The full `ws://` or `wss://` URL with its query.
        url: String,
    },
    /// Send a frame on the transport of `generation`.
    Send {
        /// The transport's generation.
        generation: Generation,
        /// The frame.
        frame: Frame,
    },
    /// Close the transport of `generation`; no further events are needed.
    CloseTransport {
        /// The transport's generation.
        generation: Generation,
    },
    /// Call the authCallback with these params and answer with
    /// [`Input::Token`] (RSA8d).
    FetchToken {
        /// Answer with this id.
        request: RequestId,
        /// The token params to pass.
        params: crate::auth::TokenParams,
    },
    /// Make an HTTP request and answer with [`Input::Http`].
    Http {
        /// Answer with this id.
        request: RequestId,
        /// The request.
        http: HttpRequest,
    },
    /// Something for the application.
    Event(Event),
}

/// Events for the application.
///
/// One is made for every received message, so it is kept small: the
/// message is boxed and the channel name is shared with the core's own
/// channel (an [`Arc<str>`], cloned by reference count).
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// The connection changed state, or an UPDATE (RTN4).
    Connection(ConnectionStateChange),
    /// An operation finished.
    Completed(OpId, Result<Completion, ErrorInfo>),
    /// Something worth logging that needs no action, e.g. RSA4a1.
    Log(LogRecord),
    /// A channel changed state, or an UPDATE (RTL2).
    Channel(super::channel::ChannelStateChange),
    /// A message arrived on an attached channel, payload decoded (RTL7).
    Message {
        /// The channel's name.
        channel: Arc<str>,
        /// The message.
        message: Box<crate::Message>,
    },
    /// A presence event on an attached channel (RTP2d1, RTP6).
    Presence {
        /// The channel's name.
        channel: Arc<str>,
        /// The event.
        message: Box<crate::PresenceMessage>,
    },
    /// An annotation arrived on an attached channel, payload decoded (RTAN4b).
    Annotation {
        /// The channel's name.
        channel: Arc<str>,
        /// The annotation.
        annotation: Box<crate::Annotation>,
    },
}

/// How much a log record matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Something failed.
    Error,
    /// Something may fail later.
    Warn,
    /// Worth knowing.
    Info,
}

/// A log record from the core.
#[derive(Clone, Debug, PartialEq)]
pub struct LogRecord {
    /// How much it matters.
    pub level: LogLevel,
    /// What happened.
    pub message: String,
    /// The error, with its code and help link, if there is one.
    pub error: Option<ErrorInfo>,
}

/// The result of a finished operation.
#[derive(Clone, Debug, PartialEq)]
pub enum Completion {
    /// Done, nothing to report.
    Done,
    /// A ping's round-trip time (RTN13a).
    Ping(Duration),
    /// The token now in use (RSA10f); boxed to keep [`Event`] small.
    Authorized(Box<TokenDetails>),
    /// Presence members (RTP11).
    Members(Vec<crate::PresenceMessage>),
    /// A publish was acknowledged: the serials from the ACK's `res`, one per
    /// published message; `None` for a message the service conflated or
    /// when the ACK carried no serials (RTL6j, PBR2a, TR4s).
    Published(Vec<Option<String>>),
    /// The result of [`Command::Rest`], [`Command::RequestToken`] or
    /// [`Command::RequestTokenWith`];
    /// message and presence payloads decoded with the channel's cipher.
    Rest(Box<crate::rest::RestResult>),
}

/// Connection states (RTN27).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConnectionState {
    /// Created, not yet connecting (RTN27a).
    Initialized,
    /// Obtaining a token, opening a transport or awaiting CONNECTED (RTN27b).
    Connecting,
    /// Connected (RTN27e).
    Connected,
    /// Not connected; will retry and resume (RTN27c).
    Disconnected,
    /// Not connected for longer than connectionStateTtl; will retry (RTN27d).
    Suspended,
    /// Closing at the application's request (RTN27f).
    Closing,
    /// Closed at the application's request (RTN27g).
    Closed,
    /// Failed; stays so until `connect` (RTN27h).
    Failed,
}

impl fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            ConnectionState::Initialized => "initialized",
            ConnectionState::Connecting => "connecting",
            ConnectionState::Connected => "connected",
            ConnectionState::Disconnected => "disconnected",
            ConnectionState::Suspended => "suspended",
            ConnectionState::Closing => "closing",
            ConnectionState::Closed => "closed",
            ConnectionState::Failed => "failed",
        };
        f.write_str(s)
    }
}

/// A connection state change or UPDATE (RTN4e, TA).
#[derive(Clone, Debug, PartialEq)]
pub struct ConnectionStateChange {
    /// The state before.
    pub previous: ConnectionState,
    /// The state now; equal to `previous` for an UPDATE (RTN24).
    pub current: ConnectionState,
    /// Whether this is an UPDATE rather than a state change (RTN4h).
    pub update: bool,
    /// Why, when there is an error (RTN4f).
    pub reason: Option<ErrorInfo>,
    /// When the next connection attempt happens, for disconnected and
    /// suspended (RTN14d).
    pub retry_in: Option<Duration>,
}

/// Why the core wants to be woken at a deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TimerKind {
    /// A connection attempt has not reached CONNECTED (RTN14c).
    ConnectTimeout,
    /// Time for the next connection attempt (RTN14d, RTN14e).
    Retry,
    /// Disconnected for connectionStateTtl: suspend (RTN14e).
    Suspend,
    /// No activity from the service (RTN23a).
    Idle,
    /// CLOSED did not arrive (RTN12b).
    CloseTimeout,
    /// A ping got no answer (RTN13c).
    Ping,
    /// A token request got no answer (RSA4c).
    Auth,
    /// An authorize() AUTH got no answer (RTC8a3).
    Reauth,
    /// A channel's attach or detach timeout or retry (RTL4f, RTL5f, RTL13b).
    Channel,
    /// A REST request or its token got no answer in time.
    Rest,
}

#[cfg(all(test, target_pointer_width = "64"))]
mod tests {
    use super::*;
    use std::mem::size_of;

    /// Values that pass per received message stay small: a larger one
    /// is copied with `memcpy` at every move (docs/benchmarks.md).
    #[test]
    fn per_message_values_stay_small() {
        assert!(size_of::<Input>() <= 152, "Input: {}", size_of::<Input>());
        assert!(
            size_of::<Output>() <= 128,
            "Output: {}",
            size_of::<Output>()
        );
        assert!(size_of::<Event>() <= 128, "Event: {}", size_of::<Event>());
        assert!(
            size_of::<crate::Message>() <= 320,
            "Message: {}",
            size_of::<crate::Message>()
        );
    }
}

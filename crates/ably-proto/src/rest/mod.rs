//! The REST API as plain values: requests to build, responses to read,
//! pages to follow and hosts to fall back to. No I/O happens here: an
//! adapter executes the HTTP requests, and the realtime [`Client`] proxies
//! the same operations with [`Command::Rest`](crate::client::Command::Rest).
//!
//! # The flow of one operation
//!
//! 1. **Describe** it with a [`RestOp`] (time, stats, publish, history,
//!    presence, getMessage, getMessageVersions, update/delete/append of a
//!    message, annotations, channel status, batch publish, batch presence,
//!    token revocation, a TokenRequest exchange, or a generic `request()`),
//!    and [`RestOp::prepare`] it into a [`RestRequest`]: method, path,
//!    query params, body encoded in the client's format, the
//!    `X-Ably-Version`, and what the answer holds ([`Expect`]).
//!    Library-generated ids for idempotent publishing are drawn here from
//!    the caller's RNG (RSL1k1); invalid arguments, oversized publishes
//!    (RSL1i) and basic auth over plain HTTP (RSC18) fail here, before
//!    anything is sent. [`token_request`] signs a TokenRequest (RSA9).
//! 2. **Choose hosts** with [`rest_hosts`]: the primary host first, then
//!    the fallback hosts in random order (RSC15a), or first the fallback
//!    host of the realtime connection (RTN17e) or a fallback that recently
//!    worked (RSC15f).
//! 3. **Drive a [`RestCall`]**: [`RestCall::http`] gives the
//!    [`HttpRequest`](crate::client::HttpRequest) for the current host with
//!    the credentials ([`RestAuth`]: basic with the key, or the token as a
//!    bearer, RSA3b) and the standard headers (RSC7, RSC8c, RSA7e2); the
//!    answer goes to [`RestCall::on_response`], which says
//!    [`CallStep::Retry`] on the next host for network errors, timeouts and
//!    5xx (RSC15l), [`CallStep::TokenError`] once for a rejected token
//!    (renew and resend, RSA4b), or [`CallStep::Done`].
//! 4. **Obtain tokens** when needed with a [`TokenFetch`]: the
//!    authCallback, the authUrl or a TokenRequest signed with the key,
//!    exchanged at `/keys/{keyName}/requestToken` (RSA8; failures per RSA4e).
//! 5. **Read** the response with [`RestRequest::decode`]: the body by its
//!    content type (RSC8d), errors from `{"error": ErrorInfo}` or the
//!    `X-Ably-Errorcode` header, items of a page with the `Link` headers
//!    turned into the [`RestRequest`]s of the next and first pages
//!    ([`PaginatedResult`], [`HttpPaginatedResponse`]); those are sent from
//!    step 2 like any other request. Batch answers become [`BatchResult`]s
//!    (BAR2); a channel's status reads into [`ChannelDetails`] (CHD2).
//! 6. Message and presence payloads come back as the service sent them;
//!    [`decode_payloads`] and [`decode_presence_payloads`] undo their
//!    encoding with the channel's cipher (RSL6). The realtime client does
//!    this itself.
//!
//! ```
//! use ably_proto::client::{ClientOptions, HttpResponse};
//! use ably_proto::rest::{rest_hosts, CallStep, RestAuth, RestCall, RestOp, RestResult};
//! use ably_proto::rand_core::SeedableRng;
//!
//! let opts = ClientOptions::with_key("appId.keyId:secret");
//! let mut rng = rand_chacha::ChaCha20Rng::from_seed([0; 32]);
//! let request = RestOp::Time.prepare(&opts, &mut rng).unwrap();
//! let mut call = RestCall::new(request, rest_hosts(&opts, None, &mut rng));
//! let http = call.http(&opts, RestAuth::None);
//! assert_eq!(http.url, "https://main.realtime.ably.net/time");
//!
//! // The driver executes it; the primary answers 503, so a fallback is next.
//! let unavailable = HttpResponse { status: 503, ..HttpResponse::default() };
//! let step = call.on_response(Ok(unavailable), std::time::Duration::ZERO, &opts);
//! assert_eq!(step, CallStep::Retry);
//! assert!(call.http(&opts, RestAuth::None).url.contains(".fallback.ably-realtime.com/"));
//!
//! // The body is read by its content type (RSC8d), whatever was asked for.
//! let json = vec![("Content-Type".to_owned(), "application/json".to_owned())];
//! let ok = HttpResponse { status: 200, headers: json, body: b"[1700000000000]".to_vec() };
//! let CallStep::Done(Ok(response)) = call.on_response(Ok(ok), std::time::Duration::ZERO, &opts)
//! else { unreachable!() };
//! assert_eq!(call.request().decode(&response), Ok(RestResult::Time(1_700_000_000_000)));
//! ```
//!
//! [`Client`]: crate::client::Client

mod batch;
mod channel_details;
mod fallback;
mod paginate;
mod request;
mod response;
mod token;

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64_URL;
use rand_core::RngCore;
use serde::Serialize;

use crate::auth::{ApiKey, TokenDetails, TokenRequest};
use crate::client::{ClientOptions, HttpResponse};
use crate::codec;
use crate::codec::Format;
use crate::crypto::CipherParams;
use crate::error::codes;
use crate::{
    Annotation, AnnotationAction, ErrorInfo, Message, MessageAction, MessageVersion,
    PresenceMessage,
};

pub use batch::{
    BatchPresenceResult, BatchPublishResult, BatchPublishSpec, BatchResult, TokenRevocationResult,
    TokenRevocationTarget,
};
pub use channel_details::{ChannelDetails, ChannelMetrics, ChannelOccupancy, ChannelStatus};
pub use fallback::{CallStep, RestCall, qualifies_for_fallback, rest_hosts};
pub use paginate::{HttpPaginatedResponse, PaginatedResult, follow, links};
pub use request::{
    Direction, Expect, HistoryParams, Method, PROTOCOL_VERSION, PresenceParams, RestAuth,
    RestRequest, StatsParams, StatsUnit, base_url,
};
pub use response::{
    body_format, decode_items, decode_json, decode_json_items, decode_one, error_code_header,
    error_from_response, msgpack_to_json,
};
pub use token::{TokenFetch, TokenStep, token_request};

use request::segment;

/// A REST operation (RSC, RSL, RSP), to [`prepare`](RestOp::prepare) into
/// a [`RestRequest`] or to give the realtime client.
// An operation is moved once, into `prepare`; boxing the message variants
// would cost an allocation per operation for no gain.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum RestOp {
    /// `GET /time`, unauthenticated (RSC16, RTC6).
    Time,
    /// `GET /stats` (RSC6, RTC5).
    Stats(StatsParams),
    /// `POST /channels/{name}/messages`: one message as an object, several
    /// as an array (RSL1). Payloads already encoded (RSL4); more than
    /// `max_message_size` in all (TO3l8) fails with 40009 (RSL1i). With
    /// `idempotent_rest_publishing` and no ids given, ids are
    /// `<url-safe base64 of 9 random bytes>:<index>` (RSL1k1).
    Publish {
        /// The channel name.
        channel: String,
        /// The messages.
        messages: Vec<Message>,
        /// Query params (RSL1l).
        params: BTreeMap<String, String>,
    },
    /// `GET /channels/{name}/messages` (RSL2, RTL10).
    History {
        /// The channel name.
        channel: String,
        /// start, end, direction, limit, untilAttach.
        params: HistoryParams,
    },
    /// `GET /channels/{name}/presence` (RSP3).
    PresenceGet {
        /// The channel name.
        channel: String,
        /// limit, clientId, connectionId.
        params: PresenceParams,
    },
    /// `GET /channels/{name}/presence/history` (RSP4, RTP12).
    PresenceHistory {
        /// The channel name.
        channel: String,
        /// start, end, direction, limit.
        params: HistoryParams,
    },
    /// `GET /channels/{name}/messages/{serial}` (RSL11, RTL28).
    GetMessage {
        /// The channel name.
        channel: String,
        /// The message serial; must not be empty (RSL11a).
        serial: String,
    },
    /// `GET /channels/{name}/messages/{serial}/versions` (RSL14, RTL31).
    GetMessageVersions {
        /// The channel name.
        channel: String,
        /// The message serial; must not be empty (RSL14a).
        serial: String,
        /// Query params (RSL14a).
        params: BTreeMap<String, String>,
    },
    /// `GET /channels/{name}`: ChannelDetails as JSON (RSL8), read with
    /// [`ChannelDetails::from_json`].
    ChannelStatus {
        /// The channel name.
        channel: String,
    },
    /// `POST /keys/{keyName}/requestToken` with a signed TokenRequest (RSA8).
    ExchangeToken(TokenRequest),
    /// `PATCH /channels/{name}/messages/{serial}`: `updateMessage`,
    /// `deleteMessage` or `appendMessage` (RSL15). The body is the message
    /// with `action` set (RSL15b1) and `version` set to `operation` if
    /// given (RSL15b7); payload already encoded (RSL15d). Fails with 40003
    /// without a serial (RSL15a). The answer is an [`UpdateDeleteResult`].
    EditMessage {
        /// The channel name.
        channel: String,
        /// `Update`, `Delete` or `Append` (RSL15b1).
        action: MessageAction,
        /// The message, with its serial.
        message: Message,
        /// The MessageOperation: clientId, description, metadata.
        operation: Option<MessageVersion>,
        /// Query params (RSL15f).
        params: BTreeMap<String, String>,
    },
    /// `POST /channels/{name}/messages/{serial}/annotations`: publish
    /// (`Create`, RSAN1) or delete (`Delete`, RSAN2) an annotation, sent as
    /// an array of one with `action` and `messageSerial` set (RSAN1c1,
    /// RSAN1c2); data already encoded (RSAN1c3). With
    /// `idempotent_rest_publishing` and no id, the id is
    /// `<url-safe base64 of 9 random bytes>:0` (RSAN1c4). Fails with 40003
    /// without a type (RSAN1a3) or a serial.
    Annotate {
        /// The channel name.
        channel: String,
        /// The serial of the annotated message (RSAN1a).
        message_serial: String,
        /// Create or delete.
        action: AnnotationAction,
        /// The annotation.
        annotation: Annotation,
    },
    /// `GET /channels/{name}/messages/{serial}/annotations` (RSAN3).
    GetAnnotations {
        /// The channel name.
        channel: String,
        /// The serial of the annotated message.
        message_serial: String,
        /// Query params (RSAN3b).
        params: BTreeMap<String, String>,
    },
    /// `POST /messages`: each spec's messages to each of its channels
    /// (RSC22c), the specs sent as an array. With
    /// `idempotent_rest_publishing`, messages of a spec that has no ids
    /// get ids as for [`RestOp::Publish`], a base per spec (RSC22d). Fails
    /// with 40003 when there is no spec, or a spec has no channels or no
    /// messages. The answer has one [`BatchResult`] per spec.
    BatchPublish(Vec<BatchPublishSpec>),
    /// `GET /presence?channels=a,b`: the members of several channels
    /// (RSC24). Fails with 40003 without channels.
    BatchPresence(Vec<String>),
    /// `POST /keys/{keyName}/revokeTokens` (RSA17g): the targets as
    /// `type:value` (RSA17b), `issuedBefore` (RSA17e) and
    /// `allowReauthMargin` (RSA17f) if given. Needs the key: 40162 for a
    /// client using token auth (RSA17d).
    RevokeTokens {
        /// Whose tokens.
        targets: Vec<TokenRevocationTarget>,
        /// Revoke tokens issued before this time, ms since the epoch.
        issued_before: Option<i64>,
        /// Let the service delay the revocation by its reauth margin.
        allow_reauth_margin: Option<bool>,
    },
    /// Any request (RSC19, RTC9): the answer is an
    /// [`HttpPaginatedResponse`] whatever its status.
    Request {
        /// GET, POST, PUT, PATCH or DELETE, any case (RSC19f).
        method: String,
        /// The path, e.g. `/channels/x/messages`, sent as given.
        path: String,
        /// The `X-Ably-Version` to send (RSC19f1).
        version: u32,
        /// Query params.
        params: Vec<(String, String)>,
        /// A JSON body, encoded in the client's format (RSC19c).
        body: Option<serde_json::Value>,
        /// Extra headers.
        headers: Vec<(String, String)>,
    },
    /// A prepared request as it is, e.g. the `next` or `first` page of a
    /// [`PaginatedResult`] (TG4, TG5, HP2).
    Send(RestRequest),
}

/// The result of a REST operation.
#[derive(Clone, Debug, PartialEq)]
pub enum RestResult {
    /// Milliseconds since the epoch (RSC16).
    Time(i64),
    /// Stats (RSC6a).
    Stats(PaginatedResult<Stats>),
    /// Messages: history (RSL2a) or versions (RSL14c); each with its
    /// `version` and annotations summary filled in (TM2s, TM2u).
    Messages(PaginatedResult<Message>),
    /// One message (RSL11c), filled in as for `Messages`.
    Message(Message),
    /// Presence members (RSP3a) or events (RSP4a).
    Presence(PaginatedResult<PresenceMessage>),
    /// The serials of published messages, one per message, `None` where
    /// the service gave none (RSL1n).
    Published(Vec<Option<String>>),
    /// A token (RSA8).
    Token(TokenDetails),
    /// A JSON value, e.g. ChannelDetails (RSL8a).
    Json(serde_json::Value),
    /// The answer of `request()` (RSC19d).
    Http(HttpPaginatedResponse),
    /// The result of `updateMessage`, `deleteMessage` or `appendMessage`
    /// (RSL15e).
    UpdateDelete(UpdateDeleteResult),
    /// Annotations of a message (RSAN3c).
    Annotations(PaginatedResult<Annotation>),
    /// One BatchResult per BatchPublishSpec (RSC22b).
    BatchPublish(Vec<BatchResult<BatchPublishResult>>),
    /// The members of each channel asked for (RSC24).
    BatchPresence(BatchResult<BatchPresenceResult>),
    /// The revocation of each target (RSA17c).
    TokenRevocation(BatchResult<TokenRevocationResult>),
    /// Done, with nothing to report (an annotation published, RSAN1).
    Done,
}

/// The result of an update, delete or append of a message (UDR2).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateDeleteResult {
    /// The serial of the new version; `None` when the message was
    /// superseded before the change was published (UDR2a).
    pub version_serial: Option<String>,
}

/// Application statistics for one interval (RSC6a). The service's layout
/// of the numbers has changed over time, so they are kept as JSON.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    /// The interval, e.g. `2024-01-01:00:00`.
    pub interval_id: Option<String>,
    /// `minute`, `hour`, `day` or `month`.
    pub unit: Option<String>,
    /// The whole record as the service sent it.
    pub value: serde_json::Value,
}

impl Stats {
    /// A stats record from its JSON.
    pub fn from_value(value: serde_json::Value) -> Stats {
        let text = |k: &str| value.get(k).and_then(|v| v.as_str()).map(str::to_owned);
        Stats {
            interval_id: text("intervalId"),
            unit: text("unit"),
            value,
        }
    }
}

/// The query param of a request id (RSC7c).
pub const REQUEST_ID: &str = "request_id";

/// Basic auth (the API key) over a connection without TLS (RSC18).
const BASIC_AUTH_OVER_NON_TLS: u32 = 40103;

/// Credentials that do not fit the request, e.g. a token for another
/// clientId (RSA15a).
const INCOMPATIBLE_CREDENTIALS: u32 = 40102;

/// Whether a host is this machine: `localhost`, `127.0.0.0/8` or `::1`.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `{channel path}/messages/{serial}/annotations` (RSAN1c6, RSAN3b).
fn annotations_path(channel_path: &str, serial: &str) -> String {
    format!("{channel_path}/messages/{}/annotations", segment(serial))
}

fn invalid(message: impl Into<String>) -> ErrorInfo {
    ErrorInfo::new(40003, 400, message)
}

fn encode_err(e: codec::CodecError) -> ErrorInfo {
    ErrorInfo::new(codes::INVALID_DATA_OR_ENCODING, 400, e.to_string())
}

/// A body in the client's format, for values that are only ever sent.
fn encode_body<T: Serialize>(value: &T, format: Format) -> Result<Vec<u8>, ErrorInfo> {
    let result = match format {
        Format::Json => serde_json::to_vec(value).map_err(|e| e.to_string()),
        Format::MsgPack => rmp_serde::to_vec_named(value).map_err(|e| e.to_string()),
    };
    result.map_err(|e| ErrorInfo::new(codes::INVALID_DATA_OR_ENCODING, 400, e))
}

/// `<url-safe base64 of 9 random bytes>`, the base of library-generated
/// ids for idempotent publishing (RSL1k1, RSAN1c4) and a request id
/// (RSC7c).
pub(crate) fn id_base(rng: &mut dyn RngCore) -> String {
    let mut bytes = [0u8; 9];
    rng.fill_bytes(&mut bytes);
    BASE64_URL.encode(bytes)
}

/// Gives messages ids `<base>:<index>` when none has one (RSL1k1, RSL1k3).
fn assign_ids(messages: &mut [Message], rng: &mut dyn RngCore) {
    if messages.is_empty() || messages.iter().any(|m| m.id.is_some()) {
        return;
    }
    let base = id_base(rng);
    for (i, m) in messages.iter_mut().enumerate() {
        m.id = Some(format!("{base}:{i}"));
    }
}

/// Fills in what the service leaves out of a message it returns: a
/// `version` from the message's serial and timestamp (TM2s, TM2s1,
/// TM2s2), and an empty annotations summary (TM2u, TM8a).
fn fill_in(message: &mut Message) {
    let version = message.version.get_or_insert_with(Box::default);
    if version.serial.is_none() {
        version.serial.clone_from(&message.serial);
    }
    if version.timestamp.is_none() {
        version.timestamp = message.timestamp;
    }
    let annotations = message
        .annotations
        .get_or_insert_with(|| serde_json::json!({}));
    if let Some(map) = annotations.as_object_mut() {
        map.entry("summary")
            .or_insert_with(|| serde_json::json!({}));
    }
}

/// Annotations travel in REST answers (RSAN3).
impl codec::Wire for Annotation {}

impl RestOp {
    /// The request of this operation for a client with these options. Fails
    /// for invalid arguments (an empty serial, RSL11a, is 40003; an unknown
    /// method is 40000; `untilAttach` outside the realtime client, 40000),
    /// with 40103 for an authenticated request that would send the key
    /// with basic auth over plain HTTP to a host other than loopback
    /// (RSC18), and with 40102 when the configured token is for another
    /// clientId than the configured one (RSA15a). With `add_request_ids`
    /// the request gets a new `request_id` param (RSC7c).
    pub fn prepare(
        self,
        opts: &ClientOptions,
        rng: &mut dyn RngCore,
    ) -> Result<RestRequest, ErrorInfo> {
        let format = opts.format;
        let channel_path = |name: &str| format!("/channels/{}", segment(name));
        let mut request = self.build(opts, rng, format, channel_path)?;
        // RSC7c: a fresh request id per request; the same on every host.
        if opts.add_request_ids {
            request.params.retain(|(k, _)| k != REQUEST_ID);
            request.params.push((REQUEST_ID.to_owned(), id_base(rng)));
        }
        // RSC18: the key is never sent in the clear; token auth and
        // unauthenticated requests (time, RSC16) may use plain HTTP. A
        // loopback service (a local ably-local) is exempt: the key never
        // leaves the machine.
        if request.authenticated
            && !opts.tls
            && !opts.uses_token_auth()
            && !is_loopback(&opts.primary_host())
        {
            return Err(ErrorInfo::new(
                BASIC_AUTH_OVER_NON_TLS,
                401,
                "basic auth (the API key) is not sent over a non-TLS connection; use TLS or token auth (RSC18)",
            ));
        }
        // RSA15a, RSA7: a configured token for another clientId.
        if let (true, Some(mine), Some(theirs)) = (
            request.authenticated,
            opts.client_id.as_deref(),
            opts.token_details
                .as_ref()
                .and_then(|t| t.client_id.as_deref()),
        ) {
            if theirs != "*" && theirs != mine {
                return Err(ErrorInfo::new(
                    INCOMPATIBLE_CREDENTIALS,
                    401,
                    format!(
                        "the token is for clientId '{theirs}', but this client is '{mine}' (RSA15a)"
                    ),
                ));
            }
        }
        Ok(request)
    }

    fn build(
        self,
        opts: &ClientOptions,
        rng: &mut dyn RngCore,
        format: crate::codec::Format,
        channel_path: impl Fn(&str) -> String,
    ) -> Result<RestRequest, ErrorInfo> {
        use request::Method::{Get, Post};
        Ok(match self {
            RestOp::Time => {
                let mut r = RestRequest::new(Get, "/time", format, Expect::Time);
                r.authenticated = false;
                r
            }
            RestOp::Stats(params) => {
                let mut r = RestRequest::new(Get, "/stats", format, Expect::Stats);
                r.params = params.query()?;
                r
            }
            RestOp::Publish {
                channel,
                mut messages,
                params,
            } => {
                let count = messages.len();
                let size: usize = messages.iter().map(Message::size).sum();
                if size > opts.max_message_size {
                    return Err(ErrorInfo::new(
                        codes::MESSAGE_TOO_LARGE,
                        400,
                        format!(
                            "the messages are {size} bytes, over maxMessageSize {} (RSL1i)",
                            opts.max_message_size
                        ),
                    ));
                }
                if opts.idempotent_rest_publishing {
                    assign_ids(&mut messages, rng);
                }
                let body = if count == 1 {
                    codec::encode(&messages[0], format)
                } else {
                    codec::encode(&messages, format)
                }
                .map_err(encode_err)?;
                let mut r = RestRequest::new(
                    Post,
                    format!("{}/messages", channel_path(&channel)),
                    format,
                    Expect::Published { count },
                );
                r.params = params.into_iter().collect();
                r.body = Some(body);
                r
            }
            RestOp::History { channel, params } => {
                let mut r = RestRequest::new(
                    Get,
                    format!("{}/messages", channel_path(&channel)),
                    format,
                    Expect::Messages { channel },
                );
                r.params = params.query()?;
                r
            }
            RestOp::PresenceGet { channel, params } => {
                let mut r = RestRequest::new(
                    Get,
                    format!("{}/presence", channel_path(&channel)),
                    format,
                    Expect::Presence { channel },
                );
                r.params = params.query();
                r
            }
            RestOp::PresenceHistory { channel, params } => {
                let mut r = RestRequest::new(
                    Get,
                    format!("{}/presence/history", channel_path(&channel)),
                    format,
                    Expect::Presence { channel },
                );
                r.params = params.query()?;
                r
            }
            RestOp::GetMessage { channel, serial } => {
                if serial.is_empty() {
                    return Err(invalid("getMessage needs a message serial (RSL11a)"));
                }
                RestRequest::new(
                    Get,
                    format!("{}/messages/{}", channel_path(&channel), segment(&serial)),
                    format,
                    Expect::Message { channel },
                )
            }
            RestOp::GetMessageVersions {
                channel,
                serial,
                params,
            } => {
                if serial.is_empty() {
                    return Err(invalid(
                        "getMessageVersions needs a message serial (RSL14a)",
                    ));
                }
                let mut r = RestRequest::new(
                    Get,
                    format!(
                        "{}/messages/{}/versions",
                        channel_path(&channel),
                        segment(&serial)
                    ),
                    format,
                    Expect::Messages { channel },
                );
                r.params = params.into_iter().collect();
                r
            }
            RestOp::ChannelStatus { channel } => {
                RestRequest::new(Get, channel_path(&channel), format, Expect::Json)
            }
            RestOp::ExchangeToken(request) => {
                let mut r = RestRequest::new(
                    Post,
                    format!("/keys/{}/requestToken", segment(&request.key_name)),
                    format,
                    Expect::Token,
                );
                r.body = Some(codec::encode(&request, format).map_err(encode_err)?);
                r.authenticated = false; // the request is signed
                r
            }
            RestOp::EditMessage {
                channel,
                action,
                mut message,
                operation,
                params,
            } => {
                let Some(serial) = message.serial.clone().filter(|s| !s.is_empty()) else {
                    return Err(invalid("the message to change needs its serial (RSL15a)"));
                };
                message.action = Some(action);
                if operation.is_some() {
                    message.version = operation.map(Box::new);
                }
                let mut r = RestRequest::new(
                    request::Method::Patch,
                    format!("{}/messages/{}", channel_path(&channel), segment(&serial)),
                    format,
                    Expect::UpdateDelete,
                );
                r.params = params.into_iter().collect();
                r.body = Some(codec::encode(&message, format).map_err(encode_err)?);
                r
            }
            RestOp::Annotate {
                channel,
                message_serial,
                action,
                mut annotation,
            } => {
                if annotation
                    .annotation_type
                    .as_deref()
                    .unwrap_or("")
                    .is_empty()
                {
                    return Err(invalid("an annotation needs a type (RSAN1a3)"));
                }
                if message_serial.is_empty() {
                    return Err(invalid("an annotation needs the message serial (RSAN1a)"));
                }
                annotation.action = Some(action);
                annotation.message_serial = Some(message_serial.clone());
                if opts.idempotent_rest_publishing && annotation.id.is_none() {
                    annotation.id = Some(format!("{}:0", id_base(rng)));
                }
                let mut r = RestRequest::new(
                    Post,
                    annotations_path(&channel_path(&channel), &message_serial),
                    format,
                    Expect::Done,
                );
                r.body = Some(encode_body(&[annotation], format)?);
                r
            }
            RestOp::GetAnnotations {
                channel,
                message_serial,
                params,
            } => {
                if message_serial.is_empty() {
                    return Err(invalid("annotations belong to a message serial (RSAN3a)"));
                }
                let mut r = RestRequest::new(
                    Get,
                    annotations_path(&channel_path(&channel), &message_serial),
                    format,
                    Expect::Annotations { channel },
                );
                r.params = params.into_iter().collect();
                r
            }
            RestOp::BatchPublish(mut specs) => {
                if specs.is_empty() {
                    return Err(invalid("batchPublish needs a BatchPublishSpec (RSC22c)"));
                }
                for spec in &mut specs {
                    if spec.channels.is_empty() || spec.messages.is_empty() {
                        return Err(invalid(
                            "each BatchPublishSpec needs channels and messages (BSP2)",
                        ));
                    }
                    if opts.idempotent_rest_publishing {
                        assign_ids(&mut spec.messages, rng); // RSC22d
                    }
                }
                let channels = specs.iter().map(|s| s.channels.len()).collect();
                let mut r =
                    RestRequest::new(Post, "/messages", format, Expect::BatchPublish { channels });
                r.body = Some(encode_body(&specs, format)?);
                r
            }
            RestOp::BatchPresence(channels) => {
                if channels.is_empty() {
                    return Err(invalid("batchPresence needs channel names (RSC24)"));
                }
                let mut r = RestRequest::new(Get, "/presence", format, Expect::BatchPresence);
                r.params = vec![("channels".into(), channels.join(","))];
                r
            }
            RestOp::RevokeTokens {
                targets,
                issued_before,
                allow_reauth_margin,
            } => {
                if opts.uses_token_auth() {
                    return Err(ErrorInfo::new(
                        40162,
                        401,
                        "revokeTokens needs basic auth with the key, not token auth (RSA17d)",
                    ));
                }
                let key = match opts.key.as_deref() {
                    Some(k) => ApiKey::parse(k)?,
                    None => return Err(ErrorInfo::new(40101, 401, "revokeTokens needs a key")),
                };
                let body = batch::RevokeBody {
                    targets: targets
                        .iter()
                        .map(TokenRevocationTarget::specifier)
                        .collect(),
                    issued_before,
                    allow_reauth_margin,
                };
                let mut r = RestRequest::new(
                    Post,
                    format!("/keys/{}/revokeTokens", segment(key.name())),
                    format,
                    Expect::TokenRevocation,
                );
                r.body = Some(encode_body(&body, format)?);
                r
            }
            RestOp::Request {
                method,
                path,
                version,
                params,
                body,
                headers,
            } => {
                let method = request::Method::parse(&method).ok_or_else(|| {
                    ErrorInfo::new(
                        codes::BAD_REQUEST,
                        400,
                        format!("unsupported HTTP method '{method}' (RSC19f)"),
                    )
                })?;
                let path = if path.starts_with('/') {
                    path
                } else {
                    format!("/{path}")
                };
                let mut r = RestRequest::new(method, path, format, Expect::Http);
                r.version = version;
                r.params = params;
                r.headers = headers;
                r.body = body
                    .map(|b| codec::encode(&b, format))
                    .transpose()
                    .map_err(encode_err)?;
                r
            }
            RestOp::Send(request) => request,
        })
    }
}

impl RestRequest {
    /// Reads the final response of this request (see [`CallStep::Done`]).
    /// A status other than 2xx is the error it carries, except for
    /// `request()`, whose answer describes any status (RSC19d, HP4-HP7).
    pub fn decode(&self, response: &HttpResponse) -> Result<RestResult, ErrorInfo> {
        let fmt = self.format;
        if self.expect == Expect::Http {
            return self.decode_http(response);
        }
        if !(200..300).contains(&response.status) {
            return Err(error_from_response(response, fmt));
        }
        Ok(match &self.expect {
            Expect::Time => {
                let value = decode_json(response, fmt)?;
                let first = match &value {
                    serde_json::Value::Array(items) => items.first(),
                    serde_json::Value::Object(map) => map.get("time"),
                    other => Some(other),
                };
                let ms = first.and_then(|v| {
                    v.as_i64()
                        .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                });
                RestResult::Time(ms.ok_or_else(|| {
                    ErrorInfo::new(
                        codes::INTERNAL,
                        500,
                        format!("the time response holds no time: {value}"),
                    )
                })?)
            }
            Expect::Stats => RestResult::Stats(PaginatedResult::new(
                decode_json_items(response, fmt)?
                    .into_iter()
                    .map(Stats::from_value)
                    .collect(),
                self,
                response,
            )),
            Expect::Messages { .. } => {
                let mut items: Vec<Message> = decode_items(response, fmt)?;
                items.iter_mut().for_each(fill_in);
                RestResult::Messages(PaginatedResult::new(items, self, response))
            }
            Expect::Presence { .. } => RestResult::Presence(PaginatedResult::new(
                decode_items(response, fmt)?,
                self,
                response,
            )),
            Expect::Message { .. } => {
                let mut message = decode_items::<Message>(response, fmt)?
                    .into_iter()
                    .next()
                    .ok_or_else(|| ErrorInfo::new(40400, 404, "no message in the response"))?;
                fill_in(&mut message);
                RestResult::Message(message)
            }
            Expect::Published { count } => {
                let value = decode_json(response, fmt)?;
                let serials = value
                    .get("serials")
                    .and_then(|s| s.as_array())
                    .map(|s| s.iter().map(|v| v.as_str().map(str::to_owned)).collect())
                    .unwrap_or_else(|| vec![None; *count]);
                RestResult::Published(serials)
            }
            Expect::Token => {
                RestResult::Token(decode_one::<TokenDetails>(response, fmt)?.ok_or_else(|| {
                    ErrorInfo::new(codes::INTERNAL, 500, "no token in the response")
                })?)
            }
            Expect::Json => RestResult::Json(decode_json(response, fmt)?),
            Expect::Http => return self.decode_http(response),
            Expect::UpdateDelete => {
                let value = decode_json(response, fmt)?;
                RestResult::UpdateDelete(UpdateDeleteResult {
                    version_serial: value
                        .get("versionSerial")
                        .and_then(|v| v.as_str())
                        .map(str::to_owned),
                })
            }
            Expect::Annotations { .. } => {
                let mut items = decode_items::<Annotation>(response, fmt)?;
                for a in &mut items {
                    // RSL6b: an undecodable payload is kept as it came.
                    let _ = crate::encoding::decode_payload(&mut a.data, &mut a.encoding, None);
                }
                RestResult::Annotations(PaginatedResult::new(items, self, response))
            }
            Expect::BatchPublish { channels } => {
                RestResult::BatchPublish(batch::publish_results(response, fmt, channels)?)
            }
            Expect::BatchPresence => {
                RestResult::BatchPresence(batch::presence_results(response, fmt)?)
            }
            Expect::TokenRevocation => {
                RestResult::TokenRevocation(batch::revocation_results(response, fmt)?)
            }
            Expect::Done => RestResult::Done,
        })
    }

    /// The answer of `request()`: any status (RSC19d, HP3-HP8).
    fn decode_http(&self, response: &HttpResponse) -> Result<RestResult, ErrorInfo> {
        let fmt = self.format;
        let items = decode_json_items(response, fmt);
        let success = (200..300).contains(&response.status);
        let body_error = (!success).then(|| error_from_response(response, fmt));
        let error_message = response
            .header("x-ably-errormessage")
            .map(str::to_owned)
            .or_else(|| body_error.as_ref().map(|e| e.message.clone()));
        let error_code =
            error_code_header(response).or_else(|| body_error.as_ref().map(|e| e.code));
        let items = match items {
            Ok(items) => items,
            Err(e) if success => return Err(e),
            Err(_) => Vec::new(),
        };
        Ok(RestResult::Http(HttpPaginatedResponse {
            status_code: response.status,
            error_code,
            error_message,
            headers: response.headers.clone(),
            page: PaginatedResult::new(items, self, response),
        }))
    }
}

/// Decodes the payloads of messages from REST (RSL6) with the channel's
/// cipher, if any; a message that fails keeps the rest of its encoding
/// (RSL6b) and its error is returned.
pub fn decode_payloads(messages: &mut [Message], cipher: Option<&CipherParams>) -> Vec<ErrorInfo> {
    messages
        .iter_mut()
        .filter_map(|m| m.decode(cipher).err())
        .collect()
}

/// Decodes the payloads of presence messages from REST (RSP5), as
/// [`decode_payloads`] does.
pub fn decode_presence_payloads(
    messages: &mut [PresenceMessage],
    cipher: Option<&CipherParams>,
) -> Vec<ErrorInfo> {
    messages
        .iter_mut()
        .filter_map(|m| m.decode(cipher).err())
        .collect()
}

#[cfg(test)]
mod tests;

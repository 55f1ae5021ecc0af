//! Requests as plain values: method, path, query, headers, body, and what
//! the answer holds; and the HTTP request they become for one host.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::ErrorInfo;
use crate::client::{ClientOptions, HttpRequest};
use crate::codec::Format;
use crate::error::codes;

use crate::client::url::encode_component;

/// The protocol version sent in `X-Ably-Version` (CSV2, RSC7e).
pub const PROTOCOL_VERSION: u32 = 6;

/// An HTTP method (RSC19f).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
}

impl Method {
    /// The method name, upper case.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    /// The method of a name, in any case; `None` for methods not supported.
    pub fn parse(name: &str) -> Option<Method> {
        [
            Method::Get,
            Method::Post,
            Method::Put,
            Method::Patch,
            Method::Delete,
        ]
        .into_iter()
        .find(|m| m.as_str().eq_ignore_ascii_case(name))
    }
}

/// The credentials of one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestAuth<'a> {
    /// None, for requests that need none (`/time`, RSC16) or carry their
    /// own proof (a signed TokenRequest).
    None,
    /// Basic auth with the API key `appId.keyId:secret` (RSA1, RSA11).
    Basic(&'a str),
    /// A token, sent base64-encoded as a bearer token (RSA3b).
    Bearer(&'a str),
}

/// What the body of a successful answer holds, and so how
/// [`RestRequest::decode`] reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    /// `[ms]`: the service time (RSC16).
    Time,
    /// A page of [`Stats`](super::Stats) (RSC6).
    Stats,
    /// A page of messages of a channel (RSL2, RSL14).
    Messages {
        /// The channel, whose cipher decodes the payloads.
        channel: String,
    },
    /// One message of a channel (RSL11).
    Message {
        /// The channel, whose cipher decodes the payload.
        channel: String,
    },
    /// A page of presence messages of a channel (RSP3, RSP4).
    Presence {
        /// The channel, whose cipher decodes the payloads.
        channel: String,
    },
    /// The result of a publish: the serials of `count` messages (RSL1n).
    Published {
        /// How many messages were published.
        count: usize,
    },
    /// Token details (RSA8).
    Token,
    /// Any JSON value, e.g. ChannelDetails (RSL8).
    Json,
    /// An [`HttpPaginatedResponse`](super::HttpPaginatedResponse) of any
    /// status (RSC19d).
    Http,
    /// An [`UpdateDeleteResult`](super::UpdateDeleteResult) (RSL15e).
    UpdateDelete,
    /// A page of annotations of a message of a channel (RSAN3c).
    Annotations {
        /// The channel.
        channel: String,
    },
    /// One BatchResult per BatchPublishSpec (RSC22); the number of
    /// channels of each spec, to group answers that list results only.
    BatchPublish {
        /// Channels per spec.
        channels: Vec<usize>,
    },
    /// A BatchResult of channels' members (RSC24).
    BatchPresence,
    /// A BatchResult of token revocations (RSA17c).
    TokenRevocation,
    /// Nothing to read.
    Done,
}

impl Expect {
    /// The channel whose messages the answer holds, if any.
    pub fn channel(&self) -> Option<&str> {
        match self {
            Expect::Messages { channel }
            | Expect::Message { channel }
            | Expect::Presence { channel } => Some(channel),
            _ => None,
        }
    }
}

/// A REST request as a plain value: everything but the host and the
/// credentials, which [`RestRequest::to_http`] adds for one attempt, and
/// the kind of answer, which [`RestRequest::decode`] reads.
#[derive(Clone, Debug, PartialEq)]
pub struct RestRequest {
    /// The method.
    pub method: Method,
    /// The path, its components already percent-encoded, e.g.
    /// `/channels/chat%3A1/messages`.
    pub path: String,
    /// Query params, not encoded, in order.
    pub params: Vec<(String, String)>,
    /// Extra headers; they replace standard headers of the same name
    /// (RSC19f), except `Authorization` when the request carries the
    /// client's credentials (RSC19b).
    pub headers: Vec<(String, String)>,
    /// The body, already encoded in `format`.
    pub body: Option<Vec<u8>>,
    /// The format of the body and the one asked for in `Accept` (RSC8).
    pub format: Format,
    /// The `X-Ably-Version` value: [`PROTOCOL_VERSION`], or the version
    /// given to `request()` (RSC19f1).
    pub version: u32,
    /// Whether the request carries credentials; `/time` does not (RSC16).
    pub authenticated: bool,
    /// What the answer holds.
    pub expect: Expect,
}

impl RestRequest {
    /// A request with no params, headers or body, authenticated, in the
    /// client's format.
    pub fn new(method: Method, path: impl Into<String>, format: Format, expect: Expect) -> Self {
        RestRequest {
            method,
            path: path.into(),
            params: Vec::new(),
            headers: Vec::new(),
            body: None,
            format,
            version: PROTOCOL_VERSION,
            authenticated: true,
            expect,
        }
    }

    /// The value of a query param, if set.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The path with its encoded query, e.g. `/stats?limit=10`.
    pub fn path_and_query(&self) -> String {
        if self.params.is_empty() {
            return self.path.clone();
        }
        let query: Vec<String> = self
            .params
            .iter()
            .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
            .collect();
        format!("{}?{}", self.path, query.join("&"))
    }

    /// The HTTP request of one attempt on `host`: scheme and port from the
    /// options (TO3d), `X-Ably-Version` (RSC7e), `Ably-Agent` (RSC7d),
    /// `Accept` and `Content-Type` of the format (RSC8c), `Authorization`
    /// (RSA1, RSA3b) and, with basic auth and a configured clientId,
    /// `X-Ably-ClientId` (RSA7e2; a token carries its own clientId), then
    /// the request's own headers (never in place of the credentials, RSC19b).
    pub fn to_http(&self, opts: &ClientOptions, host: &str, auth: RestAuth<'_>) -> HttpRequest {
        let mut headers: Vec<(String, String)> = vec![
            ("X-Ably-Version".into(), self.version.to_string()),
            ("Ably-Agent".into(), opts.agent.clone()),
            ("Accept".into(), self.format.content_type().into()),
        ];
        if self.body.is_some() {
            headers.push(("Content-Type".into(), self.format.content_type().into()));
        }
        match auth {
            RestAuth::None => {}
            RestAuth::Basic(key) => {
                headers.push((
                    "Authorization".into(),
                    format!("Basic {}", BASE64.encode(key)),
                ));
                if let Some(client_id) = opts.client_id.as_deref().filter(|c| *c != "*") {
                    headers.push(("X-Ably-ClientId".into(), BASE64.encode(client_id)));
                }
            }
            RestAuth::Bearer(token) => headers.push((
                "Authorization".into(),
                format!("Bearer {}", BASE64.encode(token)),
            )),
        }
        for (name, value) in &self.headers {
            // RSC19b: the configured credentials are used unconditionally.
            if auth != RestAuth::None && name.eq_ignore_ascii_case("authorization") {
                continue;
            }
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            headers.push((name.clone(), value.clone()));
        }
        HttpRequest {
            method: self.method.as_str(),
            url: format!("{}{}", base_url(opts, host), self.path_and_query()),
            headers,
            body: self.body.clone(),
        }
    }
}

/// `scheme://host[:port]` for a host, the port left out when it is the
/// scheme's default.
pub fn base_url(opts: &ClientOptions, host: &str) -> String {
    let scheme = if opts.tls { "https" } else { "http" };
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    let port = opts.effective_port();
    if port == if opts.tls { 443 } else { 80 } {
        format!("{scheme}://{host}")
    } else {
        format!("{scheme}://{host}:{port}")
    }
}

/// The percent-encoded path segment of a channel name or serial.
pub(crate) fn segment(name: &str) -> String {
    encode_component(name)
}

/// The direction of a history or stats query (RSL2b2, RSC6b2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Newest first; the service's default.
    Backwards,
    /// Oldest first.
    Forwards,
}

impl Direction {
    /// The query value.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Backwards => "backwards",
            Direction::Forwards => "forwards",
        }
    }
}

/// Params of channel history (RSL2b, RTL10a, RTL10b) and presence history
/// (RSP4b, RTP12a). Unset params are left to the service (limit 100,
/// backwards).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HistoryParams {
    /// Earliest time, ms since the epoch (RSL2b1).
    pub start: Option<i64>,
    /// Latest time, ms since the epoch (RSL2b1).
    pub end: Option<i64>,
    /// The order (RSL2b2).
    pub direction: Option<Direction>,
    /// At most this many items, up to 1000 (RSL2b3).
    pub limit: Option<u32>,
    /// Only messages before the channel attached (RTL10b): the realtime
    /// client replaces this with `from_serial` set to the attachSerial, and
    /// fails if the channel is not attached. A plain request with it set
    /// is refused.
    pub until_attach: bool,
    /// The `fromSerial` bound (RTL10b).
    pub from_serial: Option<String>,
}

impl HistoryParams {
    pub(crate) fn query(&self) -> Result<Vec<(String, String)>, ErrorInfo> {
        if self.until_attach {
            return Err(ErrorInfo::new(
                codes::BAD_REQUEST,
                400,
                "untilAttach is for a realtime channel, which sets fromSerial (RTL10b)",
            ));
        }
        let mut q = time_range(self.start, self.end)?;
        if let Some(d) = self.direction {
            q.push(("direction".into(), d.as_str().into()));
        }
        if let Some(limit) = self.limit {
            q.push(("limit".into(), limit.to_string()));
        }
        if let Some(serial) = &self.from_serial {
            q.push(("fromSerial".into(), serial.clone()));
        }
        Ok(q)
    }
}

/// The period stats are aggregated by (RSC6b4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatsUnit {
    /// By minute; the service's default.
    Minute,
    /// By hour.
    Hour,
    /// By day.
    Day,
    /// By month.
    Month,
}

impl StatsUnit {
    /// The query value.
    pub fn as_str(self) -> &'static str {
        match self {
            StatsUnit::Minute => "minute",
            StatsUnit::Hour => "hour",
            StatsUnit::Day => "day",
            StatsUnit::Month => "month",
        }
    }
}

/// Params of `stats()` (RSC6b).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatsParams {
    /// Earliest interval, ms since the epoch (RSC6b1).
    pub start: Option<i64>,
    /// Latest interval, ms since the epoch (RSC6b1).
    pub end: Option<i64>,
    /// The order (RSC6b2).
    pub direction: Option<Direction>,
    /// At most this many items, up to 1000 (RSC6b3).
    pub limit: Option<u32>,
    /// The aggregation period (RSC6b4).
    pub unit: Option<StatsUnit>,
}

impl StatsParams {
    pub(crate) fn query(&self) -> Result<Vec<(String, String)>, ErrorInfo> {
        let mut q = time_range(self.start, self.end)?;
        if let Some(d) = self.direction {
            q.push(("direction".into(), d.as_str().into()));
        }
        if let Some(limit) = self.limit {
            q.push(("limit".into(), limit.to_string()));
        }
        if let Some(unit) = self.unit {
            q.push(("unit".into(), unit.as_str().into()));
        }
        Ok(q)
    }
}

/// Params of REST presence `get()` (RSP3a).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PresenceParams {
    /// At most this many members, up to 1000 (RSP3a1).
    pub limit: Option<u32>,
    /// Only members with this clientId (RSP3a2).
    pub client_id: Option<String>,
    /// Only members of this connection (RSP3a3).
    pub connection_id: Option<String>,
}

impl PresenceParams {
    pub(crate) fn query(&self) -> Vec<(String, String)> {
        let mut q = Vec::new();
        if let Some(limit) = self.limit {
            q.push(("limit".into(), limit.to_string()));
        }
        if let Some(c) = &self.client_id {
            q.push(("clientId".into(), c.clone()));
        }
        if let Some(c) = &self.connection_id {
            q.push(("connectionId".into(), c.clone()));
        }
        q
    }
}

/// `start` and `end` as query params; `start` after `end` is refused
/// (RSL2b1, RSC6b1).
fn time_range(start: Option<i64>, end: Option<i64>) -> Result<Vec<(String, String)>, ErrorInfo> {
    if let (Some(s), Some(e)) = (start, end) {
        if s > e {
            return Err(ErrorInfo::new(
                codes::BAD_REQUEST,
                400,
                format!("start ({s}) must not be after end ({e})"),
            ));
        }
    }
    let mut q = Vec::new();
    if let Some(s) = start {
        q.push(("start".into(), s.to_string()));
    }
    if let Some(e) = end {
        q.push(("end".into(), e.to_string()));
    }
    Ok(q)
}

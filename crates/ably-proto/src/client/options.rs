//! ClientOptions (TO3) as the core needs them.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::ErrorInfo;
use crate::auth::{ApiKey, TokenDetails, TokenParams};
use crate::codec::Format;
use crate::error::codes;

/// Where a token comes from when the core needs one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum TokenSource {
    /// No means to obtain a token other than the configured key.
    #[default]
    None,
    /// The application's authCallback, run by the driver (RSA8d).
    Callback,
    /// An authUrl, fetched by the driver with the request the core builds (RSA8c).
    Url(AuthUrl),
}

/// An authUrl and what to send to it (RSA8c).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthUrl {
    /// The URL.
    pub url: String,
    /// `GET` (default) or `POST`.
    pub method_post: bool,
    /// Extra headers (authHeaders).
    pub headers: BTreeMap<String, String>,
    /// Extra params (authParams).
    pub params: BTreeMap<String, String>,
}

/// Options of a realtime client (TO3, RTC1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientOptions {
    /// An API key `appId.keyId:secret` (TO3j1).
    pub key: Option<String>,
    /// A token string to use (TO3j2).
    pub token: Option<String>,
    /// Token details to use (TO3j3).
    pub token_details: Option<TokenDetails>,
    /// How to obtain new tokens (TO3j5, TO3j6).
    pub token_source: TokenSource,
    /// Force token auth even with a key (TO3j4).
    pub use_token_auth: bool,
    /// The clientId of this client (TO3a).
    pub client_id: Option<String>,
    /// Token params used when the core obtains a token (TO3j11).
    pub default_token_params: TokenParams,
    /// `main` (default), another routing policy name, `nonprod:[id]` for
    /// a non-production one, or a host name (`localhost`, `127.0.0.1`,
    /// `realtime.example.com`) (REC1).
    pub endpoint: String,
    /// The port; defaults to 443 with TLS and 80 without.
    pub port: Option<u16>,
    /// Whether to use TLS (TO3d).
    pub tls: bool,
    /// Fallback hosts; `None` means the defaults of the endpoint (REC2).
    pub fallback_hosts: Option<Vec<String>>,
    /// Wire format; MessagePack by default (RTN2a).
    pub format: Format,
    /// Whether the service echoes this connection's messages back (RTC1a).
    pub echo_messages: bool,
    /// Connect as soon as the client is created (RTC1b).
    pub auto_connect: bool,
    /// Queue messages while not connected (TO3g).
    pub queue_messages: bool,
    /// A recovery key from `create_recovery_key` (RTC1c).
    pub recover: Option<String>,
    /// Extra connection params; these win over the defaults (RTC1f).
    pub transport_params: BTreeMap<String, String>,
    /// Whether the driver reports WebSocket pings as activity; if so the
    /// client asks for `heartbeats=false` (RTN23b).
    pub transport_reports_pings: bool,
    /// Retry delay when disconnected (TO3l1), default 15 s.
    pub disconnected_retry_timeout: Duration,
    /// Retry delay when suspended (TO3l2), default 30 s.
    pub suspended_retry_timeout: Duration,
    /// Retry delay for suspended channels (TO3l7), default 15 s.
    pub channel_retry_timeout: Duration,
    /// Timeout of realtime requests (TO3l11), default 10 s.
    pub realtime_request_timeout: Duration,
    /// Timeout for opening an HTTP connection (TO3l3), default 4 s; for
    /// the driver's HTTP client.
    pub http_open_timeout: Duration,
    /// Timeout of HTTP requests (TO3l4), default 10 s.
    pub http_request_timeout: Duration,
    /// How long to keep connection state when disconnected; the service's
    /// value from CONNECTED replaces it (default 120 s).
    pub connection_state_ttl: Duration,
    /// Maximum message size until the service says otherwise (TO3l8), 65536.
    pub max_message_size: usize,
    /// The agent string (RSC7d), e.g. `ably-rust/0.1.0 rust/1.95`.
    pub agent: String,
    /// Give REST-published messages library-generated ids (TO3n, RSL1k1),
    /// default true.
    pub idempotent_rest_publishing: bool,
    /// At most this many fallback hosts per REST request (TO3l5), default 3.
    pub http_max_retry_count: usize,
    /// No new fallback host after this long (TO3l6), default 15 s.
    pub http_max_retry_duration: Duration,
    /// How long a fallback host that worked stays the first REST host
    /// (TO3l10, RSC15f), default 10 minutes.
    pub fallback_retry_timeout: Duration,
    /// Ask the service for its time before signing a TokenRequest with the
    /// key, and sign with the offset from then on (TO3j10, RSA9d, RSA10k);
    /// default false.
    pub query_time: bool,
    /// Give every REST request a random `request_id` query param, kept
    /// across fallback hosts (TO3p, RSC7c); default false.
    pub add_request_ids: bool,
    /// The URL checked before a fallback host is tried (REC3b, RTN17j);
    /// `None` means the default of REC3a.
    pub connectivity_check_url: Option<String>,
    /// The client is a REST client: it never connects, and `authorize()`
    /// obtains and stores a token without opening a transport (RSA10)
    /// instead of (re)connecting with it (RTC8). `auto_connect` is then
    /// ignored. Default false.
    pub rest_client: bool,
}

impl Default for ClientOptions {
    fn default() -> ClientOptions {
        ClientOptions {
            key: None,
            token: None,
            token_details: None,
            token_source: TokenSource::None,
            use_token_auth: false,
            client_id: None,
            default_token_params: TokenParams::default(),
            endpoint: "main".to_owned(),
            port: None,
            tls: true,
            fallback_hosts: None,
            format: Format::MsgPack,
            echo_messages: true,
            auto_connect: true,
            queue_messages: true,
            recover: None,
            transport_params: BTreeMap::new(),
            transport_reports_pings: false,
            disconnected_retry_timeout: Duration::from_secs(15),
            suspended_retry_timeout: Duration::from_secs(30),
            channel_retry_timeout: Duration::from_secs(15),
            realtime_request_timeout: Duration::from_secs(10),
            http_open_timeout: Duration::from_secs(4),
            http_request_timeout: Duration::from_secs(10),
            connection_state_ttl: Duration::from_secs(120),
            max_message_size: 65536,
            agent: concat!("ably-rust/", env!("CARGO_PKG_VERSION")).to_owned(),
            idempotent_rest_publishing: true,
            http_max_retry_count: 3,
            http_max_retry_duration: Duration::from_secs(15),
            fallback_retry_timeout: Duration::from_secs(600),
            query_time: false,
            add_request_ids: false,
            connectivity_check_url: None,
            rest_client: false,
        }
    }
}

impl ClientOptions {
    /// Options for an API key.
    pub fn with_key(key: impl Into<String>) -> ClientOptions {
        ClientOptions {
            key: Some(key.into()),
            ..ClientOptions::default()
        }
    }

    /// Options for a token string.
    pub fn with_token(token: impl Into<String>) -> ClientOptions {
        ClientOptions {
            token: Some(token.into()),
            ..ClientOptions::default()
        }
    }

    /// Checks the options, returning the parsed key if any (RSA14, RSA7c).
    pub(crate) fn validate(&self) -> Result<Option<ApiKey>, ErrorInfo> {
        let key = self.key.as_deref().map(ApiKey::parse).transpose()?;
        if self.client_id.as_deref() == Some("*") {
            return Err(ErrorInfo::new(
                codes::BAD_REQUEST,
                400,
                "clientId can not be the wildcard \"*\" (RSA7c)",
            ));
        }
        if matches!(endpoint_kind(&self.endpoint), Endpoint::NonProd("")) {
            return Err(ErrorInfo::new(
                codes::BAD_REQUEST,
                400,
                "the endpoint `nonprod:` needs a routing policy id, e.g. `nonprod:sandbox` (REC1b3)",
            ));
        }
        let has_token = self.token.is_some() || self.token_details.is_some();
        if key.is_none() && !has_token && self.token_source == TokenSource::None {
            return Err(ErrorInfo::new(
                codes::NO_AUTH_METHOD,
                401,
                "no means of authentication: give a key, a token, an authCallback or an authUrl",
            ));
        }
        if key.is_none()
            && self.token_source == TokenSource::None
            && self.use_token_auth
            && !has_token
        {
            return Err(ErrorInfo::new(
                codes::NO_AUTH_METHOD,
                401,
                "useTokenAuth needs a key, an authCallback or an authUrl to obtain tokens (RSA14)",
            ));
        }
        Ok(key)
    }

    /// Whether token auth is used (RSA4).
    pub fn uses_token_auth(&self) -> bool {
        self.use_token_auth
            || self.token.is_some()
            || self.token_details.is_some()
            || self.token_source != TokenSource::None
            || self.key.is_none()
    }

    /// The primary realtime host (REC1): the endpoint itself when it is a
    /// host name (REC1b2), `[id].realtime.ably-nonprod.net` for
    /// `nonprod:[id]` (REC1b3), else `[id].realtime.ably.net` (REC1b4).
    pub fn primary_host(&self) -> String {
        match endpoint_kind(&self.endpoint) {
            Endpoint::Host(host) => host.to_owned(),
            Endpoint::NonProd(id) => format!("{id}.realtime.ably-nonprod.net"),
            Endpoint::Production(id) => format!("{id}.realtime.ably.net"),
        }
    }

    /// The fallback hosts (REC2): the configured ones, or the defaults of a
    /// routing policy (REC2c3, REC2c4); none for an explicit host name
    /// (REC2c2).
    pub fn fallback_hosts(&self) -> Vec<String> {
        let (id, domain) = match (&self.fallback_hosts, endpoint_kind(&self.endpoint)) {
            (Some(hosts), _) => return hosts.clone(),
            (None, Endpoint::Host(_)) => return Vec::new(),
            (None, Endpoint::NonProd(id)) => (id, "ably-realtime-nonprod.com"),
            (None, Endpoint::Production(id)) => (id, "ably-realtime.com"),
        };
        ["a", "b", "c", "d", "e"]
            .iter()
            .map(|l| format!("{id}.{l}.fallback.{domain}"))
            .collect()
    }

    /// The connectivity check URL (REC3): the configured one (REC3b) or
    /// the default (REC3a).
    pub fn connectivity_check_url(&self) -> &str {
        self.connectivity_check_url
            .as_deref()
            .unwrap_or(DEFAULT_CONNECTIVITY_CHECK_URL)
    }

    /// The port to use.
    pub fn effective_port(&self) -> u16 {
        self.port.unwrap_or(if self.tls { 443 } else { 80 })
    }
}

/// The connectivity check URL of REC3a.
pub const DEFAULT_CONNECTIVITY_CHECK_URL: &str =
    "https://internet-up.ably-realtime.com/is-the-internet-up.txt";

/// What an endpoint value names (REC1b).
enum Endpoint<'a> {
    /// A host name or address (REC1b2).
    Host(&'a str),
    /// A non-production routing policy id, from `nonprod:[id]` (REC1b3).
    NonProd(&'a str),
    /// A production routing policy id (REC1b4).
    Production(&'a str),
}

fn endpoint_kind(endpoint: &str) -> Endpoint<'_> {
    if endpoint.contains('.') || endpoint.contains("::") || endpoint == "localhost" {
        Endpoint::Host(endpoint)
    } else if let Some(id) = endpoint.strip_prefix("nonprod:") {
        Endpoint::NonProd(id)
    } else if endpoint.contains(':') {
        // An IPv6 address written without `::`.
        Endpoint::Host(endpoint)
    } else {
        Endpoint::Production(endpoint)
    }
}

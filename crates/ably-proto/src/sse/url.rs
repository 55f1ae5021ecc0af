//! The URL of a stream: `GET /sse` or `GET /event-stream` with Ably's
//! params (`v`, `channels`, `key` or `accessToken`, `lastEvent` or
//! `rewind`, `heartbeats`).

use std::time::Duration;

use crate::ErrorInfo;
use crate::client::ClientOptions;
use crate::client::url::encode_component;
use crate::error::codes;
use crate::rest::base_url;

/// The version of the streaming API this client speaks (`v`).
pub const STREAM_VERSION: &str = "1.2";

/// Which rendering of the stream to ask for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StreamFormat {
    /// `GET /sse`: Server-Sent Events.
    #[default]
    Sse,
    /// `GET /event-stream`: one JSON envelope per line.
    JsonLines,
}

impl StreamFormat {
    /// The path of the endpoint.
    pub fn path(self) -> &'static str {
        match self {
            StreamFormat::Sse => "/sse",
            StreamFormat::JsonLines => "/event-stream",
        }
    }

    /// The `Accept` header to send: `/event-stream` answers SSE to
    /// `text/event-stream`, so the JSON lines ask for JSON.
    pub fn accept(self) -> &'static str {
        match self {
            StreamFormat::Sse => "text/event-stream",
            StreamFormat::JsonLines => "application/json",
        }
    }
}

/// The credentials of a stream.
#[derive(Clone, PartialEq, Eq)]
pub enum StreamAuth {
    /// An API key `appId.keyId:secret` (`key`).
    Key(String),
    /// A token string (`accessToken`).
    Token(String),
}

impl std::fmt::Debug for StreamAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StreamAuth::Key(k) => {
                let name = k.split_once(':').map_or("?", |(n, _)| n);
                write!(f, "Key({name}:***)")
            }
            StreamAuth::Token(_) => f.write_str("Token(***)"),
        }
    }
}

/// What to replay when a stream starts with no event id (`rewind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rewind {
    /// The last `n` messages of each channel (the service caps it at 100).
    Count(u32),
    /// The messages of the last period (`30s`, `2m`; whole seconds when
    /// the duration is, else milliseconds).
    Period(Duration),
}

impl Rewind {
    /// The param value.
    pub fn param(self) -> String {
        match self {
            Rewind::Count(n) => n.to_string(),
            Rewind::Period(d) if d.subsec_millis() == 0 => format!("{}s", d.as_secs()),
            Rewind::Period(d) => format!("{}ms", d.as_millis()),
        }
    }
}

/// The params of one request for a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamParams {
    /// SSE or JSON lines.
    pub format: StreamFormat,
    /// The channels (at least one).
    pub channels: Vec<String>,
    /// The credentials.
    pub auth: StreamAuth,
    /// Resume right after this event id (`lastEvent`); `rewind` is not
    /// sent with it.
    pub last_event: Option<String>,
    /// Replay on a first start (`rewind`).
    pub rewind: Option<Rewind>,
    /// `heartbeats=true`: `heartbeat` events instead of keepalive comments.
    pub heartbeats: bool,
}

/// Checks a stream's channel list: at least one, none empty, none with a
/// comma (the list separator): 40010 otherwise.
pub fn check_channels(channels: &[String]) -> Result<(), ErrorInfo> {
    if channels.is_empty() {
        return Err(ErrorInfo::new(
            codes::INVALID_CHANNEL_NAME,
            400,
            "a stream needs at least one channel",
        ));
    }
    for c in channels {
        if c.is_empty() || c.contains(',') {
            return Err(ErrorInfo::new(
                codes::INVALID_CHANNEL_NAME,
                400,
                format!("channel name '{c}' can not be streamed (empty, or has a comma)"),
            ));
        }
    }
    Ok(())
}

/// The URL of a stream request on `host`, with scheme and port from the
/// options (TO3d).
pub fn stream_url(opts: &ClientOptions, host: &str, params: &StreamParams) -> String {
    let mut query = vec![("v", STREAM_VERSION.to_owned())];
    let channels: Vec<String> = params
        .channels
        .iter()
        .map(|c| encode_component(c))
        .collect();
    let mut url = format!("{}{}?", base_url(opts, host), params.format.path());
    match &params.auth {
        StreamAuth::Key(key) => query.push(("key", encode_component(key))),
        StreamAuth::Token(token) => query.push(("accessToken", encode_component(token))),
    }
    match (&params.last_event, params.rewind) {
        (Some(id), _) => query.push(("lastEvent", encode_component(id))),
        (None, Some(rewind)) => query.push(("rewind", encode_component(&rewind.param()))),
        (None, None) => {}
    }
    if params.heartbeats {
        query.push(("heartbeats", "true".to_owned()));
    }
    url.push_str("channels=");
    url.push_str(&channels.join(","));
    for (name, value) in query {
        url.push('&');
        url.push_str(name);
        url.push('=');
        url.push_str(&value);
    }
    url
}

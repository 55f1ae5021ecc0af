//! [`SseSession`]: one subscription to a stream across reconnections, as
//! a plain state machine. The adapter makes the requests it asks for,
//! feeds it the response and the bytes, and asks it what to do when the
//! stream ends.
//!
//! It keeps the id of the last message or presence event it decoded and
//! asks for the next stream with `lastEvent` set to it, so the service
//! replays exactly what was missed on every channel: nothing lost, nothing
//! twice. After a drop it reconnects at once if the stream had been up for
//! at least the retry delay, then backs off (RTB1: the retry delay times
//! min((n + 2) / 3, 2) times a jitter in [0.8, 1]); the service's
//! `retry:` field replaces the delay. It stops on errors that another try
//! would not fix ([`is_fatal`]: refusals and `error` events with a 4xxxx
//! code, such as 40142 token expired, 40101 bad credentials, 40160 not
//! permitted, and 40009 for a line or event over the limits), and when it
//! has failed to reconnect for `give_up_after` (80002).

use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::event::{Ciphers, Decoded, Received, decode_event};
use super::lines::{LineItem, LinesParser};
use super::parser::{DEFAULT_MAX_EVENT, DEFAULT_MAX_LINE, SseItem, SseParser};
use super::url::{Rewind, StreamAuth, StreamFormat, StreamParams, check_channels, stream_url};
use crate::ErrorInfo;
use crate::client::{
    ClientOptions, HttpRequest, HttpResponse, Instant, backoff_coefficient, jitter_coefficient,
};
use crate::codec::Format;
use crate::rest::error_from_response;

/// The default base delay between reconnection attempts.
pub const DEFAULT_RETRY_DELAY: Duration = Duration::from_secs(2);
/// How long to keep trying to reconnect by default: the service keeps
/// history for two minutes, so a longer gap could lose messages.
pub const DEFAULT_GIVE_UP_AFTER: Duration = Duration::from_secs(120);
/// The default longest silence on an open stream (the service sends a
/// keepalive every 15 s) before it is taken as dropped.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(25);

/// What a subscription asks for and how it behaves.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionConfig {
    /// The channels.
    pub channels: Vec<String>,
    /// SSE (default) or JSON lines.
    pub format: StreamFormat,
    /// Start right after this event id (from an earlier subscription).
    pub last_event: Option<String>,
    /// What to replay when starting with no event id.
    pub rewind: Option<Rewind>,
    /// Ask for `heartbeat` events instead of keepalive comments.
    pub heartbeats: bool,
    /// The channels' ciphers.
    pub ciphers: Ciphers,
    /// The base delay between reconnection attempts.
    pub retry_delay: Duration,
    /// Stop after failing to reconnect for this long (`None`: never).
    pub give_up_after: Option<Duration>,
    /// The longest silence on an open stream; the adapter closes it then.
    pub idle_timeout: Duration,
    /// The longest line, in bytes.
    pub max_line: usize,
    /// The largest event data, in bytes (SSE).
    pub max_event: usize,
}

impl SessionConfig {
    /// The defaults for these channels.
    pub fn new(channels: impl IntoIterator<Item = impl Into<String>>) -> SessionConfig {
        SessionConfig {
            channels: channels.into_iter().map(Into::into).collect(),
            format: StreamFormat::Sse,
            last_event: None,
            rewind: None,
            heartbeats: false,
            ciphers: Ciphers::default(),
            retry_delay: DEFAULT_RETRY_DELAY,
            give_up_after: Some(DEFAULT_GIVE_UP_AFTER),
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_line: DEFAULT_MAX_LINE,
            max_event: DEFAULT_MAX_EVENT,
        }
    }
}

/// What to do after a stream ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Next {
    /// Wait this long, then make [`SseSession::request`] again.
    Reconnect(Duration),
    /// Stop: the subscription is over, for this reason.
    Stop(ErrorInfo),
}

#[derive(Clone, Debug)]
enum Parser {
    Sse(SseParser, Vec<SseItem>),
    Lines(LinesParser, Vec<LineItem>),
}

/// One subscription across reconnections; see the module docs.
#[derive(Clone, Debug)]
pub struct SseSession {
    opts: ClientOptions,
    auth: StreamAuth,
    config: SessionConfig,
    parser: Parser,
    last_event: Option<String>,
    server_retry: Option<Duration>,
    opened_at: Option<Instant>,
    retries: u32,
    failing_since: Option<Instant>,
    /// Why the open stream is ending (an `error` event, bad bytes).
    ending: Option<ErrorInfo>,
    /// For the jitter of retry delays (RTB1b).
    rng: ChaCha20Rng,
}

/// Whether another attempt can not fix this: a 4xxxx code (bad request,
/// credentials, token expired, not permitted, over a limit), unless the
/// status is 408 or 429. Network errors (80000), the service's 5xx, and
/// streams that end or can not be parsed (80003, 80013) are retried.
pub fn is_fatal(e: &ErrorInfo) -> bool {
    (40000..50000).contains(&e.code) && !matches!(e.status_code, Some(408 | 429))
}

impl SseSession {
    /// A session for these options (host, port, TLS, agent), credentials
    /// and config; refuses a bad channel list (40010). `seed` seeds the
    /// RNG of the retry jitter.
    pub fn new(
        opts: &ClientOptions,
        auth: StreamAuth,
        config: SessionConfig,
        seed: [u8; 32],
    ) -> Result<SseSession, ErrorInfo> {
        check_channels(&config.channels)?;
        let parser = match config.format {
            StreamFormat::Sse => Parser::Sse(
                SseParser::with_limits(config.max_line, config.max_event),
                Vec::new(),
            ),
            StreamFormat::JsonLines => Parser::Lines(
                LinesParser::with_separator("\n", config.max_line),
                Vec::new(),
            ),
        };
        Ok(SseSession {
            opts: opts.clone(),
            auth,
            last_event: config.last_event.clone(),
            config,
            parser,
            server_retry: None,
            opened_at: None,
            retries: 0,
            failing_since: None,
            ending: None,
            rng: ChaCha20Rng::from_seed(seed),
        })
    }

    /// The config.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The id of the last message or presence event decoded (or the one
    /// the session started from): where the next stream resumes.
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_event.as_deref()
    }

    /// New credentials for the next request (a renewed token).
    pub fn set_auth(&mut self, auth: StreamAuth) {
        self.auth = auth;
    }

    /// The params of the next request.
    pub fn params(&self) -> StreamParams {
        StreamParams {
            format: self.config.format,
            channels: self.config.channels.clone(),
            auth: self.auth.clone(),
            last_event: self.last_event.clone(),
            rewind: self.config.rewind,
            heartbeats: self.config.heartbeats,
        }
    }

    /// The next request: `GET` of the stream URL on the primary host, with
    /// `Accept` and `Ably-Agent` (RSC7d).
    pub fn request(&self) -> HttpRequest {
        let url = stream_url(&self.opts, &self.opts.primary_host(), &self.params());
        HttpRequest {
            method: "GET",
            url,
            headers: vec![
                ("Accept".into(), self.config.format.accept().into()),
                ("Ably-Agent".into(), self.opts.agent.clone()),
            ],
            body: None,
        }
    }

    /// The response to [`SseSession::request`]: a 2xx status opens the
    /// stream (its body is not needed); any other is the error its body
    /// (or status) carries, to pass to [`SseSession::on_closed`].
    pub fn on_response(&mut self, response: &HttpResponse, now: Instant) -> Result<(), ErrorInfo> {
        self.ending = None;
        match &mut self.parser {
            Parser::Sse(p, items) => {
                p.reset();
                items.clear();
            }
            Parser::Lines(p, items) => {
                p.reset();
                items.clear();
            }
        }
        if (200..300).contains(&response.status) {
            self.opened_at = Some(now);
            Ok(())
        } else {
            Err(error_from_response(response, Format::Json))
        }
    }

    /// Bytes of the open stream: the messages and presence events they
    /// complete are appended to `out`. An error means the stream must be
    /// closed (an `error` event, or bytes that can not be parsed); pass
    /// it to [`SseSession::on_closed`].
    pub fn on_bytes(&mut self, bytes: &[u8], out: &mut Vec<Received>) -> Result<(), ErrorInfo> {
        if let Some(e) = &self.ending {
            return Err(e.clone());
        }
        let mut raws = Vec::new();
        let fed = match &mut self.parser {
            Parser::Sse(p, items) => {
                let fed = p.feed(bytes, items);
                for item in items.drain(..) {
                    match item {
                        SseItem::Event(e) => raws.push(e.into()),
                        SseItem::Retry(ms) => self.server_retry = Some(Duration::from_millis(ms)),
                        SseItem::Comment(_) => {}
                    }
                }
                fed
            }
            Parser::Lines(p, items) => {
                let fed = p.feed(bytes, items);
                for item in items.drain(..) {
                    if let LineItem::Event(e) = item {
                        raws.push(e);
                    }
                }
                fed
            }
        };
        for raw in raws {
            match decode_event(raw, &self.config.ciphers) {
                Ok(Decoded::Received(r)) => {
                    if let Some(id) = &r.id {
                        self.last_event = Some(id.clone());
                    }
                    out.push(*r);
                }
                Ok(Decoded::Error(e)) | Err(e) => {
                    self.ending = Some(e.clone());
                    return Err(e);
                }
                Ok(Decoded::Heartbeat | Decoded::Other(_)) => {}
            }
        }
        fed.inspect_err(|e| self.ending = Some(e.clone()))
    }

    /// The stream ended or could not be opened: `reason` is the network
    /// error or refusal (`None`: the service ended the body, or the
    /// adapter hit the idle timeout and says so). Says whether and when
    /// to try again.
    pub fn on_closed(&mut self, reason: Option<ErrorInfo>, now: Instant) -> Next {
        let reason = reason
            .or_else(|| self.ending.take())
            .unwrap_or_else(|| ErrorInfo::new(80003, 400, "the stream ended"));
        self.ending = None;
        if is_fatal(&reason) {
            return Next::Stop(reason);
        }
        let base = self.server_retry.unwrap_or(self.config.retry_delay);
        let lasted = self.opened_at.take().map(|t| now.saturating_since(t));
        if lasted.is_some_and(|d| d >= base) {
            self.retries = 0;
            self.failing_since = None;
        }
        let since = *self.failing_since.get_or_insert(now);
        let limit = self.config.give_up_after;
        if let Some(limit) = limit.filter(|l| now.saturating_since(since) >= *l) {
            return Next::Stop(
                ErrorInfo::new(
                    80002,
                    400,
                    format!(
                        "could not reconnect the stream for {} s; messages may have been missed",
                        limit.as_secs()
                    ),
                )
                .with_cause(reason),
            );
        }
        let delay = if self.retries == 0 {
            Duration::ZERO
        } else {
            base.mul_f64(backoff_coefficient(self.retries) * jitter_coefficient(&mut self.rng))
        };
        self.retries = self.retries.saturating_add(1);
        Next::Reconnect(delay)
    }
}

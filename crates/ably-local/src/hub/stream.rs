//! Ably's SSE and raw HTTP streaming API (v1.2): a one-way stream of the
//! messages and presence events of some channels, with resume by event id.
//!
//! The hub knows a stream as a [`TransportId`] that receives
//! [`Output::Stream`] items: [`StreamItem::Opened`] (or
//! [`StreamItem::Refused`], a plain HTTP error), then events, keepalives,
//! and finally an [`Output::Close`]. The driver renders them as SSE or as
//! newline-delimited JSON; the hub does not care which.

use std::sync::Arc;

use ably_proto::error::codes;
use ably_proto::{ErrorInfo, Message};
use serde_json::Value;

use super::channel::{Rewind, parse_rewind, validate_name};
use super::history::{ChannelKey, EventBody, Serial, Since, StoredEvent};
use super::params::{parse_authorization, query_pairs};
use super::{Hub, Output, Timer, TransportId};

/// The request that opens a stream (`GET /sse`, `GET /event-stream`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamRequest {
    /// The raw query string (without `?`).
    pub query: String,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The `Last-Event-ID` header (SSE reconnection), if any.
    pub last_event_id: Option<String>,
}

/// What kind of event a stream carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamEventKind {
    /// A message.
    Message,
    /// A presence event.
    Presence,
    /// An error; the stream ends after it.
    Error,
    /// A heartbeat (only with `heartbeats=true`).
    Heartbeat,
}

impl StreamEventKind {
    /// The event name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamEventKind::Message => "message",
            StreamEventKind::Presence => "presence",
            StreamEventKind::Error => "error",
            StreamEventKind::Heartbeat => "heartbeat",
        }
    }
}

/// One event of a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamEvent {
    /// Its kind.
    pub event: StreamEventKind,
    /// The id to resume after (`lastEvent`), for messages and presence.
    pub id: Option<String>,
    /// The payload: the message with its `channel` (enveloped), or only
    /// its data (`enveloped=false`), or an ErrorInfo.
    pub data: Value,
}

/// What the hub tells a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamItem {
    /// The stream is accepted: answer 200 and start streaming.
    Opened,
    /// The stream is refused: answer this error as plain HTTP. (A Close
    /// follows.)
    Refused(ErrorInfo),
    /// An event.
    Event(StreamEvent),
    /// A keepalive (`:keepalive` comment in SSE, an empty line otherwise).
    Keepalive,
}

/// A stream as the hub keeps it.
#[derive(Debug)]
pub(crate) struct Stream {
    pub app: String,
    channels: Vec<String>,
    enveloped: bool,
    heartbeats: bool,
    expires: Option<i64>,
}

/// The params of a stream request.
struct StreamParams {
    channels: Vec<String>,
    key: Option<String>,
    token: Option<String>,
    last_event: Option<String>,
    rewind: Option<Rewind>,
    enveloped: bool,
    heartbeats: bool,
}

fn bad(why: String) -> ErrorInfo {
    ErrorInfo::new(40000, 400, why)
}

fn flag(name: &str, value: &str) -> Result<bool, ErrorInfo> {
    match value {
        "true" | "1" | "" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(bad(format!("invalid value '{value}' for '{name}'"))),
    }
}

fn parse_params(request: &StreamRequest) -> Result<StreamParams, ErrorInfo> {
    let mut p = StreamParams {
        channels: Vec::new(),
        key: None,
        token: None,
        last_event: request.last_event_id.clone().filter(|s| !s.is_empty()),
        rewind: None,
        enveloped: true,
        heartbeats: false,
    };
    let mut version = None;
    for (name, value) in query_pairs(&request.query) {
        match name.as_str() {
            "channels" | "channel" => p.channels.extend(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned),
            ),
            "v" => version = Some(value),
            "key" => p.key = Some(value).filter(|v| !v.is_empty()),
            "accessToken" | "access_token" => p.token = Some(value).filter(|v| !v.is_empty()),
            "lastEvent" => p.last_event = Some(value).filter(|v| !v.is_empty()),
            "rewind" => {
                p.rewind = Some(
                    parse_rewind(&value)
                        .ok_or_else(|| bad(format!("invalid value '{value}' for 'rewind'")))?,
                );
            }
            "enveloped" => p.enveloped = flag(&name, &value)?,
            "heartbeats" => p.heartbeats = flag(&name, &value)?,
            // separator is the driver's; agent and unknown params are ignored.
            _ => {}
        }
    }
    match version.as_deref() {
        None => {
            return Err(bad(
                "the 'v' param (protocol version, e.g. 1.2) is required".into(),
            ));
        }
        Some("1" | "1.0" | "1.1" | "1.2" | "2" | "3" | "4" | "5" | "6") => {}
        Some(v) => {
            return Err(ErrorInfo::new(
                40017,
                400,
                format!("unsupported protocol version '{v}'; use v=1.2"),
            ));
        }
    }
    if p.channels.is_empty() {
        return Err(bad(
            "no channels: give 'channels' (comma-separated) or 'channel'".into(),
        ));
    }
    for c in &p.channels {
        validate_name(c)?;
    }
    p.channels.dedup();
    if let Some(header) = request.authorization.as_deref() {
        let (key, token) = parse_authorization(header)?;
        p.key = p.key.or(key);
        p.token = p.token.or(token);
    }
    Ok(p)
}

/// A message or presence position in a log: `epoch@seq:index`.
fn parse_event_id(text: &str) -> Option<(Serial, usize)> {
    let (serial, index) = text.rsplit_once(':')?;
    Some((Serial::parse(serial)?, index.parse().ok()?))
}

fn message_value(channel: &str, m: &Message, enveloped: bool) -> Value {
    if !enveloped {
        return match serde_json::to_value(m) {
            Ok(Value::Object(mut o)) => o.remove("data").unwrap_or(Value::Null),
            _ => Value::Null,
        };
    }
    let mut v = serde_json::to_value(m).unwrap_or(Value::Null);
    if let Value::Object(o) = &mut v {
        o.retain(|_, v| !v.is_null());
        o.insert("channel".into(), Value::String(channel.to_owned()));
    }
    v
}

impl Hub {
    /// A stream asks to open: check params and credentials, subscribe,
    /// replay what `lastEvent` or `rewind` asks for.
    pub(super) fn on_open_stream(&mut self, t: TransportId, request: StreamRequest) {
        if self.streams.contains_key(&t) || self.transports.contains_key(&t) {
            return;
        }
        let refuse = |hub: &mut Hub, e: ErrorInfo| {
            hub.outputs.push_back(Output::Stream {
                transport: t,
                item: StreamItem::Refused(e),
            });
            hub.outputs.push_back(Output::Close { transport: t });
        };
        let params = match parse_params(&request) {
            Ok(p) => p,
            Err(e) => return refuse(self, e),
        };
        let grant = match (&params.token, &params.key) {
            (Some(token), _) => self.auth.authenticate_token(token, self.now.wall_ms),
            (None, Some(key)) => self.auth.authenticate_key(key),
            (None, None) => Err(ErrorInfo::new(
                codes::NO_AUTH_METHOD,
                401,
                "no credentials: give key, accessToken or an Authorization header",
            )),
        };
        let grant = match grant {
            Ok(g) => g,
            Err(e) => return refuse(self, e),
        };
        for c in &params.channels {
            if !grant.capability.allows(c, "subscribe") {
                return refuse(self, super::auth::denied("subscribe", c));
            }
        }
        let stream = Stream {
            app: grant.app.clone(),
            channels: params.channels.clone(),
            enveloped: params.enveloped,
            heartbeats: params.heartbeats,
            expires: grant.expires,
        };
        self.streams.insert(t, stream);
        self.outputs.push_back(Output::Stream {
            transport: t,
            item: StreamItem::Opened,
        });
        let now = self.now;
        let resume = params.last_event.as_deref().and_then(parse_event_id);
        for channel in &params.channels {
            let key = ChannelKey {
                app: grant.app.clone(),
                channel: channel.clone(),
            };
            self.channels
                .entry(key.clone())
                .or_default()
                .streams
                .insert(t);
            let head = self.broker.head(now, &key);
            let replay: Vec<(Arc<StoredEvent>, Option<usize>)> = match resume {
                Some((serial, index)) if serial.epoch == head.epoch => {
                    let before = Serial {
                        seq: serial.seq.saturating_sub(1),
                        ..serial
                    };
                    match self.broker.since(now, &key, &before.to_string()) {
                        Since::Events(events) => events
                            .into_iter()
                            .map(|e| {
                                let skip = (e.serial.seq == serial.seq).then_some(index + 1);
                                (e, skip)
                            })
                            .filter(|(e, _)| e.serial.seq >= serial.seq)
                            .collect(),
                        Since::Lost => Vec::new(),
                    }
                }
                _ => match params.rewind {
                    Some(Rewind::Count(n)) => {
                        let events = self.broker.recent_messages(now, &key, n, None);
                        let total: usize = events.iter().map(|e| e.body.len()).sum();
                        let mut skip_first = total.saturating_sub(n);
                        events
                            .into_iter()
                            .map(|e| {
                                let skip = (skip_first > 0).then_some(skip_first);
                                skip_first = 0;
                                (e, skip)
                            })
                            .collect()
                    }
                    Some(Rewind::Millis(ms)) => self
                        .broker
                        .recent_messages(now, &key, usize::MAX, Some(now.wall_ms - ms))
                        .into_iter()
                        .map(|e| (e, None))
                        .collect(),
                    None => Vec::new(),
                },
            };
            for (event, skip) in replay {
                self.deliver_to_streams(&[t], channel, &event, skip);
            }
        }
        let due = now.mono_ms + self.config.heartbeat_interval_ms;
        self.timers.insert((due, Timer::StreamKeepalive(t)));
        if let Some(expires) = grant.expires {
            let due = self.mono_at(expires);
            self.timers.insert((due, Timer::StreamExpiry(t)));
        }
    }

    /// Queues an event's messages (from index `skip` on) for streams.
    pub(super) fn deliver_to_streams(
        &mut self,
        streams: &[TransportId],
        channel: &str,
        event: &StoredEvent,
        skip: Option<usize>,
    ) {
        let skip = skip.unwrap_or(0);
        for t in streams {
            let Some(s) = self.streams.get(t) else {
                continue;
            };
            let enveloped = s.enveloped;
            let items: Vec<StreamEvent> = match &event.body {
                EventBody::Messages(m) => m
                    .iter()
                    .enumerate()
                    .skip(skip)
                    .map(|(i, m)| StreamEvent {
                        event: StreamEventKind::Message,
                        id: Some(format!("{}:{i:03}", event.serial)),
                        data: message_value(channel, m, enveloped),
                    })
                    .collect(),
                EventBody::Presence(p) => p
                    .iter()
                    .enumerate()
                    .skip(skip)
                    .map(|(i, p)| {
                        let mut data = serde_json::to_value(p).unwrap_or(Value::Null);
                        if let Value::Object(o) = &mut data {
                            o.retain(|_, v| !v.is_null());
                            if enveloped {
                                o.insert("channel".into(), Value::String(channel.to_owned()));
                            } else {
                                data = o.remove("data").unwrap_or(Value::Null);
                            }
                        }
                        StreamEvent {
                            event: StreamEventKind::Presence,
                            id: Some(format!("{}:{i:03}", event.serial)),
                            data,
                        }
                    })
                    .collect(),
            };
            for e in items {
                self.outputs.push_back(Output::Stream {
                    transport: *t,
                    item: StreamItem::Event(e),
                });
            }
        }
    }

    /// Forgets a stream (its connection closed, or the hub ended it).
    pub(super) fn remove_stream(&mut self, t: TransportId) -> bool {
        let Some(stream) = self.streams.remove(&t) else {
            return false;
        };
        for channel in stream.channels {
            let key = ChannelKey {
                app: stream.app.clone(),
                channel,
            };
            if let Some(ch) = self.channels.get_mut(&key) {
                ch.streams.remove(&t);
            }
        }
        true
    }

    /// Ends a stream with an error event.
    pub(super) fn end_stream(&mut self, t: TransportId, error: Option<ErrorInfo>) {
        if !self.remove_stream(t) {
            return;
        }
        if let Some(e) = error {
            self.outputs.push_back(Output::Stream {
                transport: t,
                item: StreamItem::Event(StreamEvent {
                    event: StreamEventKind::Error,
                    id: None,
                    data: serde_json::to_value(&e).unwrap_or(Value::Null),
                }),
            });
        }
        self.outputs.push_back(Output::Close { transport: t });
    }

    pub(super) fn stream_keepalive(&mut self, t: TransportId) {
        let Some(s) = self.streams.get(&t) else {
            return;
        };
        let item = if s.heartbeats {
            StreamItem::Event(StreamEvent {
                event: StreamEventKind::Heartbeat,
                id: None,
                data: Value::String(String::new()),
            })
        } else {
            StreamItem::Keepalive
        };
        self.outputs
            .push_back(Output::Stream { transport: t, item });
        let due = self.now.mono_ms + self.config.heartbeat_interval_ms;
        self.timers.insert((due, Timer::StreamKeepalive(t)));
    }

    pub(super) fn stream_token_check(&mut self, t: TransportId) {
        let expired = self
            .streams
            .get(&t)
            .is_some_and(|s| s.expires.is_some_and(|x| x <= self.now.wall_ms));
        if expired {
            self.end_stream(
                t,
                Some(ErrorInfo::new(codes::TOKEN_EXPIRED, 401, "token expired")),
            );
        }
    }

    /// How many streams are open.
    pub fn stream_count(&self) -> usize {
        self.streams.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_checked() {
        let req = |q: &str| StreamRequest {
            query: q.into(),
            ..StreamRequest::default()
        };
        assert_eq!(
            parse_params(&req("channels=a")).err().map(|e| e.code),
            Some(40000)
        );
        assert_eq!(
            parse_params(&req("v=9&channels=a")).err().map(|e| e.code),
            Some(40017)
        );
        assert_eq!(
            parse_params(&req("v=1.2")).err().map(|e| e.code),
            Some(40000)
        );
        assert!(parse_params(&req("v=1.2&channels=a&rewind=x")).is_err());
        assert!(parse_params(&req("v=1.2&channels=a&enveloped=maybe")).is_err());
        let p = parse_params(&req(
            "v=1.2&channels=a,b&channel=c&enveloped=false&heartbeats=true&key=x.y:z&lastEvent=1@2:003",
        ))
        .expect("params");
        assert_eq!(p.channels, ["a", "b", "c"]);
        assert!(!p.enveloped && p.heartbeats);
        assert_eq!(p.key.as_deref(), Some("x.y:z"));
        assert_eq!(
            p.last_event.as_deref().and_then(parse_event_id),
            Some((Serial { epoch: 1, seq: 2 }, 3))
        );
    }
}

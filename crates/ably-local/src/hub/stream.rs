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
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use serde_json::Value;

use super::channel::{Rewind, parse_rewind, validate_name};
use super::history::{ChannelKey, EventBody, Serial, StoredEvent};
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

/// Where a stream is on one channel: everything up to and including
/// message `index` of the event `serial` has been delivered (`None`: the
/// whole event, and `serial.seq` 0 means nothing yet).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pos {
    serial: Serial,
    index: Option<usize>,
}

/// A resume point given as `lastEvent` or `Last-Event-ID`.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Resume {
    /// A plain message serial `epoch@seq:index` (the ids of single-channel
    /// streams): the position on the channel whose log it belongs to.
    Plain(Serial, usize),
    /// The id of a multi-channel stream: when, and the position on each of
    /// its channels.
    Multi {
        time: i64,
        positions: Vec<(String, Pos)>,
    },
}

/// The wire form of a multi-channel id, msgpack (arrays) under base64url:
/// `[time, [[channel, epoch, seq, index-or-nil], ...]]`.
type MultiId<'a> = (i64, Vec<(&'a str, u64, u64, Option<u64>)>);
type MultiIdOwned = (i64, Vec<(String, u64, u64, Option<u64>)>);

/// The id of an event on a multi-channel stream: the position on every
/// channel, so a resume replays each one from its own position.
fn encode_multi_id(time: i64, channels: &[String], positions: &[Pos]) -> String {
    let id: MultiId<'_> = (
        time,
        channels
            .iter()
            .zip(positions)
            .map(|(c, p)| {
                (
                    c.as_str(),
                    p.serial.epoch,
                    p.serial.seq,
                    p.index.map(|i| i as u64),
                )
            })
            .collect(),
    );
    B64URL.encode(rmp_serde::to_vec(&id).unwrap_or_default())
}

fn parse_resume(text: &str) -> Option<Resume> {
    if let Some((serial, index)) = parse_event_id(text) {
        return Some(Resume::Plain(serial, index));
    }
    let bytes = B64URL.decode(text.trim_end_matches('=')).ok()?;
    let (time, entries): MultiIdOwned = rmp_serde::from_slice(&bytes).ok()?;
    let positions = entries
        .into_iter()
        .map(|(channel, epoch, seq, index)| {
            let index = match index {
                Some(i) => Some(usize::try_from(i).ok()?),
                None => None,
            };
            Some((
                channel,
                Pos {
                    serial: Serial { epoch, seq },
                    index,
                },
            ))
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Resume::Multi { time, positions })
}

/// What a stream replays on one channel: events, each with the index of
/// its first message to send (`None`: all of it).
type Replay = Vec<(Arc<StoredEvent>, Option<usize>)>;

/// What comes after a position among a log's kept events: the rest of the
/// event it points into, then every later event. Exact by serial, so
/// nothing delivered before is sent again, whatever the timestamps.
fn after(kept: &[Arc<StoredEvent>], pos: Pos) -> Replay {
    kept.iter()
        .filter_map(|e| {
            if e.serial.seq > pos.serial.seq {
                Some((e.clone(), None))
            } else if e.serial.seq == pos.serial.seq {
                // An index at the very top leaves nothing after it.
                pos.index
                    .and_then(|i| i.checked_add(1))
                    .map(|i| (e.clone(), Some(i)))
            } else {
                None
            }
        })
        .collect()
}

/// The position just before the first thing a replay sends.
fn before(replay: &Replay) -> Option<Pos> {
    let (e, skip) = replay.first()?;
    Some(match skip {
        Some(k) if *k > 0 => Pos {
            serial: e.serial,
            index: Some(k - 1),
        },
        _ => Pos {
            serial: Serial {
                seq: e.serial.seq.saturating_sub(1),
                ..e.serial
            },
            index: None,
        },
    })
}

/// A stream as the hub keeps it.
#[derive(Debug)]
pub(crate) struct Stream {
    pub app: String,
    channels: Vec<String>,
    /// Where the stream is on each of `channels`.
    positions: Vec<Pos>,
    enveloped: bool,
    heartbeats: bool,
    expires: Option<i64>,
}

/// A channel of a stream request: its name, and the `rewind` of a
/// `[?rewind=..]name` qualifier.
#[derive(Clone, Debug, PartialEq, Eq)]
struct StreamChannel {
    name: String,
    rewind: Option<Rewind>,
}

/// Reads one entry of `channels`: a name, or `[?params]name` with channel
/// params (as an ATTACH carries them): `rewind` is applied, others are
/// ignored.
fn parse_channel(text: &str) -> Result<StreamChannel, ErrorInfo> {
    validate_name(text)?;
    let Some((params, name)) = text
        .strip_prefix("[?")
        .and_then(|rest| rest.split_once(']'))
    else {
        return Ok(StreamChannel {
            name: text.to_owned(),
            rewind: None,
        });
    };
    validate_name(name)?;
    let mut rewind = None;
    for (key, value) in query_pairs(params) {
        if key == "rewind" {
            rewind = Some(parse_rewind(&value).ok_or_else(|| {
                ErrorInfo::new(
                    40003,
                    400,
                    format!("invalid rewind '{value}' in channel '{text}'"),
                )
            })?);
        }
    }
    Ok(StreamChannel {
        name: name.to_owned(),
        rewind,
    })
}

/// The params of a stream request.
struct StreamParams {
    channels: Vec<StreamChannel>,
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
    let mut names = Vec::new();
    for (name, value) in query_pairs(&request.query) {
        match name.as_str() {
            "channels" | "channel" => names.extend(
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
                p.rewind = Some(parse_rewind(&value).ok_or_else(|| {
                    ErrorInfo::new(40003, 400, format!("invalid value '{value}' for 'rewind'"))
                })?);
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
    if names.is_empty() {
        return Err(bad(
            "no channels: give 'channels' (comma-separated) or 'channel'".into(),
        ));
    }
    // A channel named twice is subscribed once, with its first params.
    let mut seen = std::collections::HashSet::new();
    for text in &names {
        let c = parse_channel(text)?;
        if seen.insert(c.name.clone()) {
            p.channels.push(c);
        }
    }
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
            if !grant.capability.allows(&c.name, "subscribe") {
                return refuse(self, super::auth::denied("subscribe", &c.name));
            }
        }
        let now = self.now;
        let resume = params.last_event.as_deref().and_then(parse_resume);
        let keys: Vec<ChannelKey> = params
            .channels
            .iter()
            .map(|c| ChannelKey {
                app: grant.app.clone(),
                channel: c.name.clone(),
            })
            .collect();
        // What the id says about each channel: the stream's position there,
        // usable while it is in the log's current incarnation (not from
        // the future); and what each log keeps.
        let mut heads = Vec::with_capacity(keys.len());
        let mut known: Vec<Option<Pos>> = Vec::with_capacity(keys.len());
        let mut kept = Vec::with_capacity(keys.len());
        for key in &keys {
            let head = self.broker.head(now, key);
            let pos = match &resume {
                Some(Resume::Plain(serial, index)) => Some(Pos {
                    serial: *serial,
                    index: Some(*index),
                }),
                Some(Resume::Multi { positions, .. }) => positions
                    .iter()
                    .find(|(c, _)| *c == key.channel)
                    .map(|(_, p)| *p),
                None => None,
            };
            known.push(pos.filter(|p| p.serial.epoch == head.epoch && p.serial.seq <= head.seq));
            heads.push(Pos {
                serial: head,
                index: None,
            });
            kept.push(match resume {
                Some(_) => self.broker.retained(now, key),
                None => Vec::new(),
            });
        }
        // The id's time: a multi-channel id carries it; a plain one has
        // its message's, while that is kept.
        let time = match &resume {
            Some(Resume::Multi { time, .. }) => Some(*time),
            Some(Resume::Plain(serial, _)) => kept
                .iter()
                .flatten()
                .find(|e| e.serial == *serial)
                .map(|e| e.timestamp),
            None => None,
        };
        let mut replays = Vec::with_capacity(keys.len());
        let mut positions = Vec::with_capacity(keys.len());
        for (i, key) in keys.iter().enumerate() {
            let replay: Replay = match (known[i], time) {
                // Exact: what came after the position, messages and
                // presence alike (events dropped from history meanwhile
                // are gone, but nothing is sent twice).
                (Some(pos), _) => after(&kept[i], pos),
                // Nothing of this log was delivered to the earlier stream
                // (not in it, or the log was reset since): its events from
                // the id's time on.
                (None, Some(time)) => kept[i]
                    .iter()
                    .filter(|e| e.timestamp >= time)
                    .map(|e| (e.clone(), None))
                    .collect(),
                (None, None) => {
                    let rewind = params.channels[i].rewind.or(params.rewind);
                    self.rewind(now, key, rewind)
                }
            };
            positions.push(before(&replay).unwrap_or(heads[i]));
            replays.push(replay);
        }
        let stream = Stream {
            app: grant.app.clone(),
            channels: keys.iter().map(|k| k.channel.clone()).collect(),
            positions,
            enveloped: params.enveloped,
            heartbeats: params.heartbeats,
            expires: grant.expires,
        };
        self.streams.insert(t, stream);
        self.outputs.push_back(Output::Stream {
            transport: t,
            item: StreamItem::Opened,
        });
        for (key, replay) in keys.into_iter().zip(replays) {
            self.channels
                .entry(key.clone())
                .or_default()
                .streams
                .insert(t);
            for (event, skip) in replay {
                self.deliver_to_streams(&[t], &key.channel, &event, skip);
            }
        }
        let due = now.mono_ms + self.config.heartbeat_interval_ms;
        self.timers.insert((due, Timer::StreamKeepalive(t)));
        if let Some(expires) = grant.expires {
            let due = self.mono_at(expires);
            self.timers.insert((due, Timer::StreamExpiry(t)));
        }
    }

    /// What `rewind` replays on a channel.
    fn rewind(&mut self, now: super::Now, key: &ChannelKey, rewind: Option<Rewind>) -> Replay {
        match rewind {
            Some(Rewind::Count(n)) => {
                let events = self.broker.recent_messages(now, key, n, None);
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
                .recent_messages(now, key, usize::MAX, Some(now.wall_ms - ms))
                .into_iter()
                .map(|e| (e, None))
                .collect(),
            None => Vec::new(),
        }
    }

    /// Queues an event's messages (from index `skip` on) for streams, past
    /// what each stream already has on that channel; each event's id is
    /// the stream's position after it.
    pub(super) fn deliver_to_streams(
        &mut self,
        streams: &[TransportId],
        channel: &str,
        event: &StoredEvent,
        skip: Option<usize>,
    ) {
        let skip = skip.unwrap_or(0);
        let len = event.body.len();
        for t in streams {
            let Some(s) = self.streams.get_mut(t) else {
                continue;
            };
            let Some(c) = s.channels.iter().position(|c| c == channel) else {
                continue;
            };
            let pos = s.positions[c];
            let from =
                if pos.serial.epoch != event.serial.epoch || pos.serial.seq < event.serial.seq {
                    0
                } else if pos.serial.seq == event.serial.seq {
                    pos.index.map_or(len, |i| i + 1)
                } else {
                    len
                };
            let multi = s.channels.len() > 1;
            for i in from.max(skip)..len {
                s.positions[c] = Pos {
                    serial: event.serial,
                    index: (i + 1 < len).then_some(i),
                };
                let id = if multi {
                    encode_multi_id(event.timestamp, &s.channels, &s.positions)
                } else {
                    format!("{}:{i:03}", event.serial)
                };
                let (kind, data) = match &event.body {
                    EventBody::Messages(m) => (
                        StreamEventKind::Message,
                        message_value(channel, &m[i], s.enveloped),
                    ),
                    EventBody::Presence(p) => {
                        let mut data = serde_json::to_value(&p[i]).unwrap_or(Value::Null);
                        if let Value::Object(o) = &mut data {
                            o.retain(|_, v| !v.is_null());
                            if s.enveloped {
                                o.insert("channel".into(), Value::String(channel.to_owned()));
                            } else {
                                data = o.remove("data").unwrap_or(Value::Null);
                            }
                        }
                        (StreamEventKind::Presence, data)
                    }
                };
                self.outputs.push_back(Output::Stream {
                    transport: *t,
                    item: StreamItem::Event(StreamEvent {
                        event: kind,
                        id: Some(id),
                        data,
                    }),
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
        assert_eq!(
            parse_params(&req("v=1.2&channels=a&rewind=x"))
                .err()
                .map(|e| e.code),
            Some(40003)
        );
        assert!(parse_params(&req("v=1.2&channels=a&enveloped=maybe")).is_err());
        let p = parse_params(&req(
            "v=1.2&channels=a,b&channel=c,a&enveloped=false&heartbeats=true&key=x.y:z&lastEvent=1@2:003",
        ))
        .expect("params");
        let names: Vec<&str> = p.channels.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert!(!p.enveloped && p.heartbeats);
        assert_eq!(p.key.as_deref(), Some("x.y:z"));
        assert_eq!(
            p.last_event.as_deref().and_then(parse_event_id),
            Some((Serial { epoch: 1, seq: 2 }, 3))
        );
    }

    #[test]
    fn multi_channel_ids_round_trip_and_stay_short() {
        let channels = vec!["chat:room-1".to_owned(), "news".to_owned()];
        let positions = vec![
            Pos {
                serial: Serial {
                    epoch: 0xFFFF_FFFF_FFFF,
                    seq: 123_456,
                },
                index: Some(2),
            },
            Pos {
                serial: Serial { epoch: 7, seq: 0 },
                index: None,
            },
        ];
        let id = encode_multi_id(1_700_000_000_000, &channels, &positions);
        assert!(id.len() < 80, "{} chars: {id}", id.len());
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(
            parse_resume(&id),
            Some(Resume::Multi {
                time: 1_700_000_000_000,
                positions: channels.into_iter().zip(positions).collect(),
            })
        );
        assert_eq!(
            parse_resume("1f@0000000002:001"),
            Some(Resume::Plain(Serial { epoch: 31, seq: 2 }, 1))
        );
        assert_eq!(parse_resume("not an id"), None);
        assert_eq!(parse_resume("AAAA"), None);
    }

    #[test]
    fn channel_params_in_names() {
        let c = |text: &str| parse_channel(text);
        assert_eq!(
            c("[?rewind=1]chat"),
            Ok(StreamChannel {
                name: "chat".into(),
                rewind: Some(Rewind::Count(1)),
            })
        );
        assert_eq!(
            c("[?rewind=30s&other=x]ns:chat").map(|c| (c.name, c.rewind)),
            Ok(("ns:chat".into(), Some(Rewind::Millis(30_000))))
        );
        assert_eq!(
            c("[?delta=vcdiff]chat").map(|c| (c.name, c.rewind)),
            Ok(("chat".into(), None))
        );
        // Other qualifiers name another channel, as they do on ATTACH.
        assert_eq!(
            c("[meta]log").map(|c| (c.name, c.rewind)),
            Ok(("[meta]log".into(), None))
        );
        assert_eq!(c("[?rewind=x]chat").map_err(|e| e.code), Err(40003));
        for bad in ["[?rewind=1]", "[?rewind=1", "[?rewind=1]:x"] {
            assert_eq!(c(bad).map_err(|e| e.code), Err(40010), "{bad}");
        }
        let req = |q: &str| StreamRequest {
            query: q.into(),
            ..StreamRequest::default()
        };
        let p = parse_params(&req("v=1.2&channels=[?rewind=2]a,a,b")).expect("params");
        assert_eq!(
            p.channels,
            [
                StreamChannel {
                    name: "a".into(),
                    rewind: Some(Rewind::Count(2)),
                },
                StreamChannel {
                    name: "b".into(),
                    rewind: None,
                },
            ]
        );
    }
}

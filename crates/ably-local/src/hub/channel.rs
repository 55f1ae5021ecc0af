//! Channels: attach and detach (RTL4, RTL5), publish (RTL6) and fan-out.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use ably_proto::error::codes;
use ably_proto::{Action, ErrorInfo, Flags, Message, ProtocolMessage, PublishResult};
use bytes::Bytes;

use super::frame::EventFrame;
use super::history::{ChannelKey, EventBody, Serial, Since, StoredEvent};
use super::presence::PresenceSet;
use super::{Hub, Output, TransportId, auth, text};

/// Longest channel name accepted, in bytes.
pub const MAX_CHANNEL_NAME: usize = 2048;
/// Most messages a `rewind` replays.
pub const MAX_REWIND: usize = 100;
/// The modes granted when an ATTACH asks for none.
pub const DEFAULT_MODES: Flags =
    Flags(Flags::PRESENCE.0 | Flags::PUBLISH.0 | Flags::SUBSCRIBE.0 | Flags::PRESENCE_SUBSCRIBE.0);

/// What the hub keeps per channel besides its log: who is attached, who is
/// present, and the message ids seen recently (for idempotent publishing).
#[derive(Debug, Default)]
pub(crate) struct Channel {
    pub subscribers: BTreeSet<String>,
    /// SSE and event-stream subscribers.
    pub streams: BTreeSet<TransportId>,
    pub presence: PresenceSet,
    recent_ids: BTreeMap<String, Option<String>>,
    id_order: VecDeque<(i64, String)>,
}

impl Channel {
    /// Forgets message ids older than `cutoff` (ms since the epoch), keeping
    /// at most `cap`.
    pub fn prune_ids(&mut self, cutoff: i64, cap: usize) {
        while let Some((ts, _)) = self.id_order.front() {
            if *ts >= cutoff && self.id_order.len() <= cap {
                break;
            }
            if let Some((_, id)) = self.id_order.pop_front() {
                self.recent_ids.remove(&id);
            }
        }
    }

    /// Whether the hub may forget the channel.
    pub fn is_idle(&self) -> bool {
        self.subscribers.is_empty()
            && self.streams.is_empty()
            && self.presence.is_empty()
            && self.recent_ids.is_empty()
    }
}

/// Checks a channel name: not empty, no newline, not starting with `:`,
/// a `[qualifier]` prefix closed and followed by a name.
pub(crate) fn validate_name(name: &str) -> Result<(), ErrorInfo> {
    let invalid = |why: &str| {
        ErrorInfo::new(
            codes::INVALID_CHANNEL_NAME,
            400,
            format!("invalid channel name: {why}"),
        )
    };
    if name.is_empty() {
        return Err(invalid("empty"));
    }
    if name.len() > MAX_CHANNEL_NAME {
        return Err(invalid("longer than 2048 bytes"));
    }
    if name.contains('\n') || name.contains('\r') {
        return Err(invalid("contains a newline"));
    }
    if name.starts_with(':') {
        return Err(invalid("starts with ':'"));
    }
    if let Some(rest) = name.strip_prefix('[') {
        match rest.split_once(']') {
            Some((_, tail)) if !tail.is_empty() && !tail.starts_with(':') => {}
            _ => return Err(invalid("bad [qualifier] prefix")),
        }
    }
    Ok(())
}

/// What a `rewind` param asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rewind {
    Count(usize),
    Millis(i64),
}

/// Parses `rewind`: a count (`10`) or a duration (`30s`, `2m`, `500ms`).
pub(crate) fn parse_rewind(text: &str) -> Option<Rewind> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (num, unit) = text.split_at(split);
    let n: i64 = num.parse().ok()?;
    match unit {
        "" => Some(Rewind::Count((n as usize).min(MAX_REWIND))),
        "ms" => Some(Rewind::Millis(n)),
        "s" => Some(Rewind::Millis(n.saturating_mul(1000))),
        "m" => Some(Rewind::Millis(n.saturating_mul(60_000))),
        "h" => Some(Rewind::Millis(n.saturating_mul(3_600_000))),
        _ => None,
    }
}

/// Whether an attachment with these modes, for a connection with this echo
/// setting, receives an event.
fn wants(modes: Flags, echo: bool, conn_id: &str, event: &StoredEvent) -> bool {
    match event.body {
        EventBody::Messages(_) => {
            modes.contains(Flags::SUBSCRIBE) && (echo || event.origin != conn_id)
        }
        EventBody::Presence(_) => modes.contains(Flags::PRESENCE_SUBSCRIBE),
    }
}

impl Hub {
    /// ATTACH (RTL4): check the name and capability, grant modes, resume
    /// from a channelSerial or rewind, answer ATTACHED, replay, then SYNC.
    pub(super) fn on_attach(&mut self, conn_id: &str, t: TransportId, pm: ProtocolMessage) {
        let Some(name) = pm.channel.clone() else {
            return self.send_error(
                t,
                None,
                ErrorInfo::new(40000, 400, "ATTACH without a channel"),
            );
        };
        if let Err(e) = validate_name(&name) {
            return self.send_error(t, Some(&name), e);
        }
        let Some(conn) = self.connections.get(conn_id) else {
            return;
        };
        let ops = conn.grant.capability.operations_for(&name);
        if ops.is_empty() {
            return self.send_error(t, Some(&name), auth::denied("attach", &name));
        }
        let allowed = auth::modes_allowed(&ops);
        let may_publish = conn.grant.capability.allows(&name, "publish");
        let requested = match pm.flags.modes().flags() {
            m if m.is_empty() => DEFAULT_MODES,
            m => m,
        };
        let granted = requested & allowed;
        if granted.is_empty() {
            return self.send_error(
                t,
                Some(&name),
                auth::denied("attach with the requested modes", &name),
            );
        }
        let rewind = match pm.params.as_ref().and_then(|p| p.get("rewind")) {
            None => None,
            Some(text) => match parse_rewind(text) {
                Some(r) => Some(r),
                None => {
                    return self.send_error(
                        t,
                        Some(&name),
                        ErrorInfo::new(40003, 400, format!("invalid rewind '{text}'")),
                    );
                }
            },
        };
        let echo = conn.echo;
        let continuous = conn.attachments.get(&name).is_some_and(|a| !a.paused);
        let key = ChannelKey {
            app: conn.app.clone(),
            channel: name.clone(),
        };
        let now = self.now;
        let head = self.broker.head(now, &key);
        let serial = pm.channel_serial.as_deref().filter(|s| !s.is_empty());

        // Continuity: (RESUMED, events to replay, error, serial in ATTACHED).
        let mut take_first: Option<usize> = None;
        let (resumed, replay, error, attach_serial): (bool, Vec<Arc<StoredEvent>>, _, String) =
            if continuous {
                (true, Vec::new(), None, head.to_string())
            } else if let Some(s) = serial {
                match self.broker.since(now, &key, s) {
                    Since::Events(events) => (true, events, None, s.to_owned()),
                    Since::Lost => (
                        false,
                        Vec::new(),
                        Some(ErrorInfo::new(
                            90003,
                            400,
                            "channel continuity lost: the channelSerial is older than the history kept, or unknown; attached at the latest message",
                        )),
                        head.to_string(),
                    ),
                }
            } else if let Some(r) = rewind {
                let events = match r {
                    Rewind::Count(n) => {
                        let events = self.broker.recent_messages(now, &key, n, None);
                        let total: usize = events.iter().map(|e| e.body.len()).sum();
                        if total > n {
                            take_first = events.first().map(|e| e.body.len() - (total - n));
                        }
                        events
                    }
                    Rewind::Millis(ms) => {
                        self.broker
                            .recent_messages(now, &key, usize::MAX, Some(now.wall_ms - ms))
                    }
                };
                let start = events.first().map_or(head, |e| Serial {
                    seq: e.serial.seq - 1,
                    ..e.serial
                });
                (false, events, None, start.to_string())
            } else {
                (false, Vec::new(), None, head.to_string())
            };

        if let Some(conn) = self.connections.get_mut(conn_id) {
            conn.attachments.insert(
                name.clone(),
                super::connection::Attachment {
                    modes: granted,
                    paused: false,
                    publish: may_publish,
                },
            );
        }
        let ch = self.channels.entry(key.clone()).or_default();
        ch.subscribers.insert(conn_id.to_owned());
        let has_presence = !ch.presence.is_empty() && granted.contains(Flags::PRESENCE_SUBSCRIBE);

        let mut flags = granted;
        if resumed {
            flags |= Flags::RESUMED;
        }
        if has_presence {
            flags |= Flags::HAS_PRESENCE;
        }
        let replay: Vec<_> = replay
            .into_iter()
            .filter(|e| wants(granted, echo, conn_id, e))
            .collect();
        if rewind.is_some() && !replay.is_empty() {
            flags |= Flags::HAS_BACKLOG;
        }
        let mut attached = ProtocolMessage::for_channel(Action::Attached, name.clone());
        attached.flags = flags;
        attached.channel_serial = Some(attach_serial);
        attached.params = pm.params.clone();
        attached.error = error;
        self.send(t, &attached);
        for (i, event) in replay.iter().enumerate() {
            let skip = match take_first {
                Some(n) if i == 0 => event.body.len().saturating_sub(n),
                _ => 0,
            };
            self.send(t, &EventFrame::new(&name, event, skip));
        }
        if has_presence {
            self.send_sync(t, &key);
        }
    }

    /// DETACH (RTL5): the connection's members leave, DETACHED.
    pub(super) fn on_detach(&mut self, conn_id: &str, t: TransportId, pm: ProtocolMessage) {
        let Some(name) = pm.channel.clone() else {
            return self.send_error(
                t,
                None,
                ErrorInfo::new(40000, 400, "DETACH without a channel"),
            );
        };
        let Some(conn) = self.connections.get_mut(conn_id) else {
            return;
        };
        conn.attachments.remove(&name);
        let key = ChannelKey {
            app: conn.app.clone(),
            channel: name.clone(),
        };
        if let Some(ch) = self.channels.get_mut(&key) {
            ch.subscribers.remove(conn_id);
        }
        self.leave_members(conn_id, Some(&key));
        self.send(t, &ProtocolMessage::for_channel(Action::Detached, name));
    }

    /// Removes all of a connection's attachments.
    pub(super) fn detach_all(&mut self, conn_id: &str) {
        let Some(conn) = self.connections.get_mut(conn_id) else {
            return;
        };
        let app = conn.app.clone();
        let names: Vec<String> = std::mem::take(&mut conn.attachments).into_keys().collect();
        for channel in names {
            let key = ChannelKey {
                app: app.clone(),
                channel,
            };
            if let Some(ch) = self.channels.get_mut(&key) {
                ch.subscribers.remove(conn_id);
            }
        }
    }

    /// MESSAGE from a client (RTL6): checks, stamps, publishes, ACK or NACK.
    pub(super) fn on_message(&mut self, conn_id: &str, t: TransportId, pm: ProtocolMessage) {
        if self.is_duplicate(conn_id, t, pm.msg_serial) {
            return;
        }
        let serial = pm.msg_serial;
        let Some(channel) = pm.channel.clone() else {
            return self.nack(
                conn_id,
                t,
                serial,
                ErrorInfo::new(40000, 400, "MESSAGE without a channel"),
            );
        };
        if let Err(e) = validate_name(&channel) {
            return self.nack(conn_id, t, serial, e);
        }
        let Some(conn) = self.connections.get(conn_id) else {
            return;
        };
        if !conn.may_publish(&channel) {
            return self.nack(conn_id, t, serial, auth::denied("publish", &channel));
        }
        if pm.messages.is_empty() {
            return self.nack(
                conn_id,
                t,
                serial,
                ErrorInfo::new(40000, 400, "MESSAGE with no messages"),
            );
        }
        let size: usize = pm.messages.iter().map(Message::size).sum();
        let max_size = self.max_message_size(&conn.app);
        if size > max_size {
            return self.nack(
                conn_id,
                t,
                serial,
                ErrorInfo::new(
                    codes::MESSAGE_TOO_LARGE,
                    400,
                    format!("message of {size} bytes exceeds maxMessageSize {max_size}"),
                ),
            );
        }
        // clientIds (RSA7, RTL6g), checked before anything is stamped.
        let identity = &conn.identity;
        let bad = pm.messages.iter().find_map(|m| {
            match (m.client_id.as_deref(), identity.client_id.as_deref()) {
                (Some(c), _) if c == "*" || c.is_empty() => Some("invalid clientId"),
                (Some(c), Some(own)) if c != own && !identity.any_client => {
                    Some("clientId differs from the connection's")
                }
                (Some(_), None) if !identity.any_client => {
                    Some("the connection's credentials do not allow a clientId")
                }
                _ => None,
            }
        });
        if let Some(why) = bad {
            return self.nack(
                conn_id,
                t,
                serial,
                ErrorInfo::new(codes::INVALID_CLIENT_ID, 400, why),
            );
        }
        let own_client_id = identity.client_id.clone();
        let key = ChannelKey {
            app: conn.app.clone(),
            channel,
        };
        let msg_serial = serial.unwrap_or(0);
        let now = self.now.wall_ms;
        let mut supplied = Vec::with_capacity(pm.messages.len());
        let messages = pm
            .messages
            .into_iter()
            .enumerate()
            .map(|(i, mut m)| {
                if m.client_id.is_none() {
                    m.client_id = own_client_id.clone();
                }
                supplied.push(m.id.is_some());
                if m.id.is_none() {
                    m.id = Some(text::message_id(conn_id, msg_serial, i));
                }
                m.connection_id = Some(conn_id.to_owned());
                m.connection_key = None;
                m.timestamp.get_or_insert(now);
                m
            })
            .collect();
        let serials = self.publish_messages(&key, conn_id, messages, &supplied);
        self.ack(conn_id, t, serial, Some(PublishResult { serials }));
    }

    /// Publishes stamped messages, delivers them, and returns each
    /// message's serial. Ids the client supplied (`supplied[i]`) are
    /// idempotent (RSL1k, RTL6): one seen recently is not published again
    /// and gets the serial it got then. Ids the hub made are unique and
    /// not remembered.
    pub(super) fn publish_messages(
        &mut self,
        key: &ChannelKey,
        origin: &str,
        messages: Vec<Message>,
        supplied: &[bool],
    ) -> Vec<Option<String>> {
        if !self.channels.contains_key(key) {
            self.channels.insert(key.clone(), Channel::default());
        }
        let supplied = |i: usize| supplied.get(i).copied().unwrap_or(true);
        let mut serials: Vec<Option<String>> = vec![None; messages.len()];
        let mut fresh = Vec::with_capacity(messages.len());
        let mut fresh_index = Vec::with_capacity(messages.len());
        if let Some(ch) = self.channels.get(key) {
            for (i, m) in messages.into_iter().enumerate() {
                let seen = supplied(i)
                    .then(|| ch.recent_ids.get(m.id.as_deref().unwrap_or_default()))
                    .flatten();
                match seen {
                    Some(s) => serials[i] = s.clone(),
                    None => {
                        fresh_index.push(i);
                        fresh.push(m);
                    }
                }
            }
        }
        if !fresh.is_empty() {
            let event = self
                .broker
                .publish(self.now, key, origin, EventBody::Messages(fresh));
            let remember = fresh_index.iter().any(|i| supplied(*i));
            let mut ch = if remember {
                self.channels.get_mut(key)
            } else {
                None
            };
            if let EventBody::Messages(published) = &event.body {
                for (m, &i) in published.iter().zip(&fresh_index) {
                    serials[i] = m.serial.clone();
                    if let Some(ch) = ch.as_mut().filter(|_| supplied(i)) {
                        let id = m.id.clone().unwrap_or_default();
                        ch.recent_ids.insert(id.clone(), m.serial.clone());
                        ch.id_order.push_back((event.timestamp, id));
                    }
                }
            }
        }
        self.fan_out();
        serials
    }

    /// Delivers every event the broker has ready to the attached
    /// connections, encoding each frame once per format.
    pub(super) fn fan_out(&mut self) {
        while let Some((key, event)) = self.broker.poll_delivery() {
            let Some(ch) = self.channels.get(&key) else {
                continue;
            };
            let streams: Vec<TransportId> = ch.streams.iter().copied().collect();
            let mut targets = Vec::new();
            for conn_id in &ch.subscribers {
                let Some(conn) = self.connections.get(conn_id) else {
                    continue;
                };
                let Some(t) = conn.transport() else {
                    continue;
                };
                let Some(a) = conn.attachments.get(&key.channel) else {
                    continue;
                };
                if a.paused || !wants(a.modes, conn.echo, conn_id, &event) {
                    continue;
                }
                if let Some(tr) = self.transports.get(&t) {
                    targets.push((t, tr.format));
                }
            }
            if !streams.is_empty() {
                self.deliver_to_streams(&streams, &key.channel, &event, None);
            }
            if targets.is_empty() {
                continue;
            }
            let frame = EventFrame::new(&key.channel, &event, 0);
            let mut cache: [Option<Bytes>; 2] = [None, None];
            for (t, format) in targets {
                let slot = usize::from(format.is_binary());
                let data = match &cache[slot] {
                    Some(d) => d.clone(),
                    None => match frame.encode(format) {
                        Some(d) => {
                            cache[slot] = Some(d.clone());
                            d
                        }
                        None => continue,
                    },
                };
                self.outputs.push_back(Output::Send {
                    transport: t,
                    data,
                    binary: format.is_binary(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names() {
        for ok in ["a", "ns:a", "[meta]x", "[?rewind=1]chat", "a b", "ümlaut"] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", ":a", "a\nb", "[meta", "[meta]", "[x]:a"] {
            assert_eq!(
                validate_name(bad).expect_err("an error").code,
                40010,
                "{bad:?}"
            );
        }
        assert!(validate_name(&"x".repeat(MAX_CHANNEL_NAME + 1)).is_err());
    }

    #[test]
    fn rewind_params() {
        assert_eq!(parse_rewind("5"), Some(Rewind::Count(5)));
        assert_eq!(parse_rewind("1000"), Some(Rewind::Count(MAX_REWIND)));
        assert_eq!(parse_rewind("30s"), Some(Rewind::Millis(30_000)));
        assert_eq!(parse_rewind("2m"), Some(Rewind::Millis(120_000)));
        assert_eq!(parse_rewind("250ms"), Some(Rewind::Millis(250)));
        assert_eq!(parse_rewind("x"), None);
        assert_eq!(parse_rewind("5y"), None);
    }
}

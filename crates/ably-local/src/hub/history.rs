//! Channel logs: serials, recent history and fan-out order, behind the
//! [`Broker`] trait.
//!
//! The hub hands every published event to its broker, which gives it a
//! channel serial, keeps it for a while, and hands it back through
//! [`Broker::poll_delivery`] for the hub to deliver to its local
//! subscribers. [`LocalBroker`] does all of this in memory. A broker backed
//! by a shared log (Redis streams, NATS JetStream) would also return the
//! events other hubs published, so that several hubs serve one app; the hub
//! itself would not change.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::Arc;

use ably_proto::{Message, PresenceMessage};

use super::Now;
use super::limits::AppLimits;

/// A channel of an app.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChannelKey {
    /// The app id.
    pub app: String,
    /// The channel name.
    pub channel: String,
}

/// A position in a channel's log: the log's epoch (a new one each time a
/// channel's log is created) and a sequence number. `seq` N means "after
/// the N-th event"; 0 is the start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Serial {
    /// Identifies one incarnation of a channel's log.
    pub epoch: u64,
    /// Events up to and including this one.
    pub seq: u64,
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

impl Serial {
    /// The text form: the epoch in hex, `@`, the seq in at least 10
    /// digits.
    pub fn text(&self) -> String {
        let mut out = String::with_capacity(28);
        super::text::push_hex(&mut out, self.epoch);
        out.push('@');
        super::text::push_decimal(&mut out, self.seq, 10);
        out
    }

    /// Parses the text form (`epoch-hex@seq`).
    pub fn parse(text: &str) -> Option<Serial> {
        let (epoch, seq) = text.split_once('@')?;
        Some(Serial {
            epoch: u64::from_str_radix(epoch, 16).ok()?,
            seq: seq.parse().ok()?,
        })
    }
}

/// What an event carries.
#[derive(Clone, Debug, PartialEq)]
pub enum EventBody {
    /// Published messages, stamped (id, serial, connectionId, clientId,
    /// timestamp).
    Messages(Vec<Message>),
    /// Presence changes, as broadcast.
    Presence(Vec<PresenceMessage>),
}

impl EventBody {
    /// How many messages it holds.
    pub fn len(&self) -> usize {
        match self {
            EventBody::Messages(m) => m.len(),
            EventBody::Presence(p) => p.len(),
        }
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An event in a channel's log.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    /// Its channel serial.
    pub serial: Serial,
    /// When it was published (ms since the epoch).
    pub timestamp: i64,
    /// The connectionId of the publisher (empty for the service itself).
    pub origin: String,
    /// The messages.
    pub body: EventBody,
}

/// The answer to "what happened since this serial".
#[derive(Clone, Debug, PartialEq)]
pub enum Since {
    /// Every event after the serial, oldest first (maybe none).
    Events(Vec<Arc<StoredEvent>>),
    /// The serial is from another incarnation of the log, from the future,
    /// or older than what is kept: continuity is lost.
    Lost,
}

/// Fan-out order and history of channels.
pub trait Broker: Send {
    /// Appends an event: gives it the next serial, stamps each message's
    /// `serial`, keeps it, and queues it for delivery.
    fn publish(
        &mut self,
        now: Now,
        channel: &ChannelKey,
        origin: &str,
        body: EventBody,
    ) -> Arc<StoredEvent>;
    /// The next event to deliver to local subscribers, in publish order per
    /// channel.
    fn poll_delivery(&mut self) -> Option<(ChannelKey, Arc<StoredEvent>)>;
    /// The serial of the latest event (the position a new attachment
    /// starts from).
    fn head(&mut self, now: Now, channel: &ChannelKey) -> Serial;
    /// The events after a serial given as text.
    fn since(&mut self, now: Now, channel: &ChannelKey, serial: &str) -> Since;
    /// Recent message events (not presence), oldest first: at most `limit`
    /// messages, none older than `not_before` (ms since the epoch).
    fn recent_messages(
        &mut self,
        now: Now,
        channel: &ChannelKey,
        limit: usize,
        not_before: Option<i64>,
    ) -> Vec<Arc<StoredEvent>>;
    /// Every event kept (messages and presence), oldest first.
    fn retained(&mut self, now: Now, channel: &ChannelKey) -> Vec<Arc<StoredEvent>>;
    /// Drops what is older than the retention and logs with nothing left.
    fn expire(&mut self, now: Now);
    /// A page of history (RSL2).
    fn history(&mut self, now: Now, channel: &ChannelKey, query: &HistoryQuery) -> HistoryPage;
    /// Sets the namespaces of an app whose channels keep history longer.
    fn set_persisted(&mut self, app: &str, namespaces: Vec<String>);
    /// Sets an app's limits; the broker applies the history ones
    /// (`history_max_age_ms`, `history_max_messages`) to the app's channels
    /// outside persisted namespaces.
    fn set_limits(&mut self, app: &str, limits: &AppLimits);
    /// Forgets every channel of an app.
    fn remove_app(&mut self, app: &str);
    /// Remembers an app and its keys, for a broker that keeps them across
    /// restarts (the in-memory one does nothing).
    fn save_app(&mut self, _app: &SavedApp) {}
    /// The apps remembered by [`Broker::save_app`] (before this process
    /// started), which the hub recreates when it is built.
    fn saved_apps(&mut self) -> Vec<SavedApp> {
        Vec::new()
    }
}

/// An app as a broker may keep it across restarts.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SavedApp {
    /// The app id.
    pub id: String,
    /// Its keys: (`appId.keyId:secret`, capability as canonical JSON).
    pub keys: Vec<(String, String)>,
    /// Its limits (absent in files written before limits existed).
    #[serde(default)]
    pub limits: AppLimits,
}

/// Where a log of a [`LocalBroker`] stands, for a broker that stores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogState {
    /// The log's epoch.
    pub epoch: u64,
    /// The serial of its latest event.
    pub head: u64,
    /// Events up to this seq have been dropped.
    pub kept_after: u64,
}

/// Retention of a [`LocalBroker`]: what every channel keeps, and what the
/// channels of a persisted namespace keep.
#[derive(Clone, Copy, Debug)]
pub struct Retention {
    /// Events older than this are dropped (ms). Ably keeps 2 minutes.
    pub max_age_ms: i64,
    /// At most this many messages per channel are kept.
    pub max_messages: usize,
    /// At most this many bytes of messages (as [`Message::size`] counts)
    /// per channel are kept.
    pub max_bytes: usize,
    /// Age limit for channels in a persisted namespace (ms): 72 hours.
    pub persisted_max_age_ms: i64,
    /// Message cap for channels in a persisted namespace.
    pub persisted_max_messages: usize,
    /// Byte cap for channels in a persisted namespace.
    pub persisted_max_bytes: usize,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            max_age_ms: 120_000,
            max_messages: 1000,
            max_bytes: 8 << 20,
            persisted_max_age_ms: 72 * 3600 * 1000,
            persisted_max_messages: 10_000,
            persisted_max_bytes: 64 << 20,
        }
    }
}

/// What one log keeps: (max age in ms, max messages, max bytes).
type LogLimits = (i64, usize, usize);

impl Retention {
    /// The limits of a channel: those of persisted namespaces, or the
    /// ordinary ones with the app's history limits over them.
    fn limits(&self, persisted: bool, app: Option<&AppLimits>) -> LogLimits {
        if persisted {
            (
                self.persisted_max_age_ms,
                self.persisted_max_messages,
                self.persisted_max_bytes,
            )
        } else {
            (
                app.and_then(|a| a.history_max_age_ms)
                    .unwrap_or(self.max_age_ms),
                app.and_then(|a| a.history_max_messages)
                    .unwrap_or(self.max_messages),
                self.max_bytes,
            )
        }
    }
}

/// The namespace of a channel name: the part before the first `:`, after
/// any `[qualifier]` prefix; `None` without a `:`.
pub fn namespace_of(channel: &str) -> Option<&str> {
    let name = match channel.strip_prefix('[') {
        Some(rest) => rest.split_once(']').map_or(channel, |(_, n)| n),
        None => channel,
    };
    name.split_once(':').map(|(ns, _)| ns)
}

/// Which events a history query reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HistoryKind {
    /// Messages (`/messages`).
    Messages,
    /// Presence events (`/presence/history`).
    Presence,
}

/// A history query (RSL2): a time window, a direction, a page size, an
/// upper bound by serial (`from_serial`, for untilAttach) and the cursor of
/// the page before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryQuery {
    /// Messages or presence.
    pub kind: HistoryKind,
    /// Not before this time (ms since the epoch, inclusive).
    pub start: Option<i64>,
    /// Not after this time (inclusive).
    pub end: Option<i64>,
    /// Newest first (the default).
    pub backwards: bool,
    /// Items per page.
    pub limit: usize,
    /// Nothing published after this channel serial (`epoch@seq`).
    pub until: Option<String>,
    /// Continue after this item (a position from [`HistoryPage::next`]).
    pub cursor: Option<String>,
}

/// One page of history.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HistoryPage {
    /// Messages, in the query's order (for [`HistoryKind::Messages`]).
    pub messages: Vec<Message>,
    /// Presence events, in the query's order.
    pub presence: Vec<PresenceMessage>,
    /// The cursor of the next page, if there may be one.
    pub next: Option<String>,
}

#[derive(Debug)]
struct Log {
    epoch: u64,
    head: u64,
    /// Events after this seq were all kept (older ones were dropped).
    kept_after: u64,
    events: VecDeque<Arc<StoredEvent>>,
    messages: usize,
    bytes: usize,
    last_used: i64,
    limits: LogLimits,
}

fn body_bytes(body: &EventBody) -> usize {
    match body {
        EventBody::Messages(m) => m.iter().map(Message::size).sum(),
        EventBody::Presence(p) => p.iter().map(|p| p.data.size()).sum(),
    }
}

/// An in-memory [`Broker`] for one process.
#[derive(Debug)]
pub struct LocalBroker {
    retention: Retention,
    next_epoch: u64,
    logs: BTreeMap<ChannelKey, Log>,
    delivery: VecDeque<(ChannelKey, Arc<StoredEvent>)>,
    persisted: BTreeMap<String, Vec<String>>,
    app_limits: BTreeMap<String, AppLimits>,
}

impl LocalBroker {
    /// A broker; `seed` makes the epochs of its logs differ between runs.
    pub fn new(retention: Retention, seed: u64) -> LocalBroker {
        LocalBroker {
            retention,
            next_epoch: seed | 1,
            logs: BTreeMap::new(),
            delivery: VecDeque::new(),
            persisted: BTreeMap::new(),
            app_limits: BTreeMap::new(),
        }
    }

    /// What a channel's log keeps.
    fn limits_of(&self, channel: &ChannelKey) -> LogLimits {
        let persisted = namespace_of(&channel.channel).is_some_and(|ns| {
            self.persisted
                .get(&channel.app)
                .is_some_and(|list| list.iter().any(|p| p == ns))
        });
        self.retention
            .limits(persisted, self.app_limits.get(&channel.app))
    }

    /// Recomputes the limits of an app's logs after its settings changed.
    fn relimit(&mut self, app: &str) {
        let keys: Vec<ChannelKey> = self.logs.keys().filter(|k| k.app == app).cloned().collect();
        for key in keys {
            let limits = self.limits_of(&key);
            if let Some(log) = self.logs.get_mut(&key) {
                log.limits = limits;
            }
        }
    }

    fn log(&mut self, now: Now, channel: &ChannelKey) -> &mut Log {
        if !self.logs.contains_key(channel) {
            // Epochs are 48 bits so that the text stays short.
            let epoch = self.next_epoch & 0xFFFF_FFFF_FFFF;
            self.next_epoch = self
                .next_epoch
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let log = Log {
                epoch,
                head: 0,
                kept_after: 0,
                events: VecDeque::new(),
                messages: 0,
                bytes: 0,
                last_used: now.wall_ms,
                limits: self.limits_of(channel),
            };
            self.logs.insert(channel.clone(), log);
        }
        let Some(log) = self.logs.get_mut(channel) else {
            unreachable!("inserted above")
        };
        log.last_used = log.last_used.max(now.wall_ms);
        log
    }

    /// Where each log stands, in channel order.
    pub fn log_states(&self) -> impl Iterator<Item = (&ChannelKey, LogState)> {
        self.logs.iter().map(|(k, l)| {
            (
                k,
                LogState {
                    epoch: l.epoch,
                    head: l.head,
                    kept_after: l.kept_after,
                },
            )
        })
    }

    /// Where one log stands.
    pub fn log_state(&self, channel: &ChannelKey) -> Option<LogState> {
        self.logs.get(channel).map(|l| LogState {
            epoch: l.epoch,
            head: l.head,
            kept_after: l.kept_after,
        })
    }

    /// Recreates a log from a store: its epoch, head and events (oldest
    /// first, from that epoch), then trims it by the retention at `now`.
    /// Nothing is queued for delivery.
    pub fn restore(
        &mut self,
        now: Now,
        channel: &ChannelKey,
        epoch: u64,
        head: u64,
        events: Vec<StoredEvent>,
    ) {
        let log = self.log(now, channel);
        log.epoch = epoch;
        log.head = head;
        log.kept_after = events
            .first()
            .map_or(head, |e| e.serial.seq.saturating_sub(1));
        log.events.clear();
        log.messages = 0;
        log.bytes = 0;
        for e in events {
            if let EventBody::Messages(m) = &e.body {
                log.messages += m.len();
            }
            log.bytes += body_bytes(&e.body);
            log.last_used = log.last_used.max(e.timestamp);
            log.events.push_back(Arc::new(e));
        }
        Self::trim(log, now);
    }

    fn trim(log: &mut Log, now: Now) {
        let (max_age, max_messages, max_bytes) = log.limits;
        let cutoff = now.wall_ms.saturating_sub(max_age);
        while let Some(front) = log.events.front() {
            let too_old = front.timestamp < cutoff;
            let too_many = log.messages > max_messages || log.bytes > max_bytes;
            if !(too_old || too_many) {
                break;
            }
            if let Some(e) = log.events.pop_front() {
                if let EventBody::Messages(m) = &e.body {
                    log.messages -= m.len();
                }
                log.bytes -= body_bytes(&e.body).min(log.bytes);
                log.kept_after = e.serial.seq;
            }
        }
    }
}

impl Broker for LocalBroker {
    fn publish(
        &mut self,
        now: Now,
        channel: &ChannelKey,
        origin: &str,
        mut body: EventBody,
    ) -> Arc<StoredEvent> {
        let log = self.log(now, channel);
        log.head += 1;
        let serial = Serial {
            epoch: log.epoch,
            seq: log.head,
        };
        if let EventBody::Messages(messages) = &mut body {
            let text = serial.text();
            for (i, m) in messages.iter_mut().enumerate() {
                m.serial = Some(super::text::indexed_serial(&text, i));
            }
            log.messages += messages.len();
        }
        log.bytes += body_bytes(&body);
        let event = Arc::new(StoredEvent {
            serial,
            timestamp: now.wall_ms,
            origin: origin.to_owned(),
            body,
        });
        log.events.push_back(event.clone());
        Self::trim(log, now);
        self.delivery.push_back((channel.clone(), event.clone()));
        event
    }

    fn poll_delivery(&mut self) -> Option<(ChannelKey, Arc<StoredEvent>)> {
        self.delivery.pop_front()
    }

    fn head(&mut self, now: Now, channel: &ChannelKey) -> Serial {
        let log = self.log(now, channel);
        Serial {
            epoch: log.epoch,
            seq: log.head,
        }
    }

    fn since(&mut self, now: Now, channel: &ChannelKey, serial: &str) -> Since {
        let Some(serial) = Serial::parse(serial) else {
            return Since::Lost;
        };
        let log = self.log(now, channel);
        Self::trim(log, now);
        if serial.epoch != log.epoch || serial.seq > log.head || serial.seq < log.kept_after {
            return Since::Lost;
        }
        Since::Events(
            log.events
                .iter()
                .filter(|e| e.serial.seq > serial.seq)
                .cloned()
                .collect(),
        )
    }

    fn recent_messages(
        &mut self,
        now: Now,
        channel: &ChannelKey,
        limit: usize,
        not_before: Option<i64>,
    ) -> Vec<Arc<StoredEvent>> {
        let log = self.log(now, channel);
        Self::trim(log, now);
        let mut out = Vec::new();
        let mut count = 0;
        for e in log.events.iter().rev() {
            if count >= limit || not_before.is_some_and(|t| e.timestamp < t) {
                break;
            }
            if let EventBody::Messages(m) = &e.body {
                count += m.len();
                out.push(e.clone());
            }
        }
        out.reverse();
        out
    }

    fn retained(&mut self, now: Now, channel: &ChannelKey) -> Vec<Arc<StoredEvent>> {
        let log = self.log(now, channel);
        Self::trim(log, now);
        log.events.iter().cloned().collect()
    }

    fn expire(&mut self, now: Now) {
        for log in self.logs.values_mut() {
            Self::trim(log, now);
        }
        // A log with nothing kept and unused for its retention period is
        // forgotten; serials from it then read as lost.
        self.logs.retain(|_, log| {
            !log.events.is_empty() || now.wall_ms.saturating_sub(log.last_used) < log.limits.0
        });
    }

    fn history(&mut self, now: Now, channel: &ChannelKey, query: &HistoryQuery) -> HistoryPage {
        let log = self.log(now, channel);
        Self::trim(log, now);
        let until = query
            .until
            .as_deref()
            .and_then(Serial::parse)
            .filter(|s| s.epoch == log.epoch)
            .map(|s| s.seq);
        let cursor = query.cursor.as_deref().and_then(Position::parse);
        let in_window = |e: &StoredEvent| {
            query.start.is_none_or(|t| e.timestamp >= t)
                && query.end.is_none_or(|t| e.timestamp <= t)
                && until.is_none_or(|u| e.serial.seq <= u)
        };
        let beyond = |p: &Position| match &cursor {
            None => true,
            Some(c) if query.backwards => p < c,
            Some(c) => p > c,
        };
        let limit = query.limit.max(1);
        let mut page = HistoryPage::default();
        let mut count = 0;
        let mut more = false;
        let events: Box<dyn Iterator<Item = &Arc<StoredEvent>>> = if query.backwards {
            Box::new(log.events.iter().rev())
        } else {
            Box::new(log.events.iter())
        };
        'events: for e in events {
            if !in_window(e) {
                continue;
            }
            let n = match (&e.body, query.kind) {
                (EventBody::Messages(m), HistoryKind::Messages) => m.len(),
                (EventBody::Presence(p), HistoryKind::Presence) => p.len(),
                _ => continue,
            };
            let indexes: Box<dyn Iterator<Item = usize>> = if query.backwards {
                Box::new((0..n).rev())
            } else {
                Box::new(0..n)
            };
            for i in indexes {
                let pos = Position {
                    epoch: e.serial.epoch,
                    seq: e.serial.seq,
                    index: i,
                };
                if !beyond(&pos) {
                    continue;
                }
                if count == limit {
                    more = true;
                    break 'events;
                }
                count += 1;
                match &e.body {
                    EventBody::Messages(m) => page.messages.push(m[i].clone()),
                    EventBody::Presence(p) => page.presence.push(p[i].clone()),
                }
                page.next = Some(pos.to_string());
            }
        }
        if !more {
            page.next = None;
        }
        page
    }

    fn set_persisted(&mut self, app: &str, namespaces: Vec<String>) {
        self.persisted.insert(app.to_owned(), namespaces);
        self.relimit(app);
    }

    fn set_limits(&mut self, app: &str, limits: &AppLimits) {
        self.app_limits.insert(app.to_owned(), *limits);
        self.relimit(app);
    }

    fn remove_app(&mut self, app: &str) {
        self.persisted.remove(app);
        self.app_limits.remove(app);
        self.logs.retain(|k, _| k.app != app);
        self.delivery.retain(|(k, _)| k.app != app);
    }
}

/// The position of one message in a log, as a history cursor:
/// `epoch@seq:index`, the message's serial.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Position {
    epoch: u64,
    seq: u64,
    index: usize,
}

impl Position {
    fn parse(text: &str) -> Option<Position> {
        let (serial, index) = text.rsplit_once(':')?;
        let serial = Serial::parse(serial)?;
        Some(Position {
            epoch: serial.epoch,
            seq: serial.seq,
            index: index.parse().ok()?,
        })
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let serial = Serial {
            epoch: self.epoch,
            seq: self.seq,
        };
        f.write_str(&super::text::indexed_serial(&serial.text(), self.index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now(ms: i64) -> Now {
        Now {
            mono_ms: ms as u64,
            wall_ms: ms,
        }
    }

    fn key() -> ChannelKey {
        ChannelKey {
            app: "a".into(),
            channel: "c".into(),
        }
    }

    fn msgs(n: usize) -> EventBody {
        EventBody::Messages((0..n).map(|i| Message::new("m", format!("{i}"))).collect())
    }

    #[test]
    fn serials_order_and_replay() {
        let mut b = LocalBroker::new(Retention::default(), 1);
        let start = b.head(now(0), &key());
        let e1 = b.publish(now(1), &key(), "c1", msgs(2));
        let e2 = b.publish(now(2), &key(), "c1", msgs(1));
        assert!(e1.serial < e2.serial);
        assert_eq!(Serial::parse(&e1.serial.to_string()), Some(e1.serial));
        let EventBody::Messages(m) = &e1.body else {
            panic!("messages")
        };
        assert_eq!(m[1].serial, Some(format!("{}:001", e1.serial)));
        assert_eq!(
            b.since(now(3), &key(), &start.to_string()),
            Since::Events(vec![e1.clone(), e2.clone()])
        );
        assert_eq!(
            b.since(now(3), &key(), &e1.serial.to_string()),
            Since::Events(vec![e2.clone()])
        );
        assert_eq!(
            b.since(now(3), &key(), &e2.serial.to_string()),
            Since::Events(vec![])
        );
        assert_eq!(b.since(now(3), &key(), "bogus"), Since::Lost);
        let future = Serial {
            seq: 9,
            ..e2.serial
        };
        assert_eq!(b.since(now(3), &key(), &future.to_string()), Since::Lost);
        assert_eq!(b.poll_delivery().map(|(_, e)| e), Some(e1));
        assert_eq!(b.poll_delivery().map(|(_, e)| e), Some(e2));
        assert_eq!(b.poll_delivery(), None);
    }

    #[test]
    fn retention_by_age_and_count() {
        let retention = Retention {
            max_age_ms: 100,
            max_messages: 3,
            ..Retention::default()
        };
        let mut b = LocalBroker::new(retention, 1);
        let start = b.head(now(0), &key());
        for t in 0..5 {
            b.publish(now(t), &key(), "c", msgs(1));
        }
        // Count cap: 3 kept, so the start serial lost continuity.
        assert_eq!(b.since(now(5), &key(), &start.to_string()), Since::Lost);
        assert_eq!(b.recent_messages(now(5), &key(), 10, None).len(), 3);
        assert_eq!(b.recent_messages(now(5), &key(), 2, None).len(), 2);
        assert_eq!(b.recent_messages(now(5), &key(), 10, Some(4)).len(), 1);
        // Age: all gone after 100 ms, and the idle log is forgotten.
        b.expire(now(300));
        assert!(b.recent_messages(now(300), &key(), 10, None).is_empty());
        b.expire(now(1000));
        assert!(b.logs.is_empty() || b.logs.values().all(|l| l.events.is_empty()));
    }

    #[test]
    fn app_limits_override_the_history_kept_outside_persisted_namespaces() {
        let mut b = LocalBroker::new(Retention::default(), 1);
        b.set_persisted("a", vec!["p".into()]);
        let long = ChannelKey {
            app: "a".into(),
            channel: "p:x".into(),
        };
        b.publish(now(0), &key(), "c", msgs(3));
        b.set_limits(
            "a",
            &AppLimits {
                history_max_messages: Some(2),
                history_max_age_ms: Some(50),
                ..AppLimits::default()
            },
        );
        b.publish(now(1), &key(), "c", msgs(1));
        b.publish(now(1), &long, "c", msgs(5));
        assert_eq!(b.recent_messages(now(2), &key(), 10, None).len(), 1);
        assert_eq!(b.recent_messages(now(2), &long, 10, None).len(), 1);
        b.expire(now(100));
        assert!(b.recent_messages(now(100), &key(), 10, None).is_empty());
        assert_eq!(b.recent_messages(now(100), &long, 10, None).len(), 1);
        let other = ChannelKey {
            app: "b".into(),
            channel: "c".into(),
        };
        b.publish(now(100), &other, "c", msgs(3));
        b.publish(now(100), &other, "c", msgs(3));
        assert_eq!(b.recent_messages(now(100), &other, 10, None).len(), 2);
    }
}

//! History that survives a restart: [`PersistentBroker`], a [`Broker`]
//! that wraps the in-memory [`LocalBroker`] and writes through to an
//! embedded `redb` file.
//!
//! The hub stays sans-IO: it only sees the `Broker` trait. What is written:
//! every published event (messages and presence), each channel's epoch and
//! head serial (so serials keep increasing after a restart and history
//! cursors and `from_serial` stay valid), the persisted namespaces of each
//! app, and the apps with their keys. On start everything is loaded and
//! trimmed by the same retention as in memory; events the in-memory logs
//! drop (age, count and byte caps) are deleted from the file on the next
//! housekeeping pass ([`Broker::expire`]).
//!
//! Store errors are reported on stderr and do not stop the service: the
//! in-memory state stays authoritative while the process runs.

// redb's error type is large; errors are rare and off the hot path.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use ably_proto::{Message, PresenceMessage};
use redb::{Database, Durability, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::hub::{
    AppLimits, Broker, ChannelKey, EventBody, HistoryPage, HistoryQuery, LocalBroker, LogState,
    Now, Retention, SavedApp, Since, StoredEvent,
};

/// The file name inside the data directory.
pub const FILE_NAME: &str = "ably-local.redb";

const APPS: TableDefinition<&str, &[u8]> = TableDefinition::new("apps");
const PERSISTED: TableDefinition<&str, &[u8]> = TableDefinition::new("persisted");
const LOGS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("logs");
const EVENTS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("events");

#[derive(Serialize, Deserialize)]
struct LogRecord {
    epoch: u64,
    head: u64,
}

#[derive(Serialize, Deserialize)]
struct EventRecord {
    epoch: u64,
    timestamp: i64,
    origin: String,
    messages: Option<Vec<Message>>,
    presence: Option<Vec<PresenceMessage>>,
}

/// `app \0 channel \0`: the prefix of a channel's rows.
fn channel_prefix(key: &ChannelKey) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.app.len() + key.channel.len() + 2);
    out.extend_from_slice(key.app.as_bytes());
    out.push(0);
    out.extend_from_slice(key.channel.as_bytes());
    out.push(0);
    out
}

fn event_key(key: &ChannelKey, seq: u64) -> Vec<u8> {
    let mut out = channel_prefix(key);
    out.extend_from_slice(&seq.to_be_bytes());
    out
}

fn parse_prefix(bytes: &[u8]) -> Option<ChannelKey> {
    let bytes = bytes.strip_suffix(&[0])?;
    let at = bytes.iter().position(|b| *b == 0)?;
    Some(ChannelKey {
        app: String::from_utf8(bytes[..at].to_vec()).ok()?,
        channel: String::from_utf8(bytes[at + 1..].to_vec()).ok()?,
    })
}

fn report(what: &str, e: impl std::fmt::Display) {
    eprintln!("ably-local: data store: {what}: {e}");
}

/// A [`LocalBroker`] whose history, serials and apps are kept in a redb
/// file.
pub struct PersistentBroker {
    inner: LocalBroker,
    db: Database,
    /// What the file holds per channel: (epoch, kept_after).
    stored: BTreeMap<ChannelKey, (u64, u64)>,
    saved_apps: Vec<SavedApp>,
    /// Commits since the last durable one.
    dirty: bool,
}

impl std::fmt::Debug for PersistentBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersistentBroker")
            .field("channels", &self.stored.len())
            .finish()
    }
}

impl PersistentBroker {
    /// Opens (or creates) `dir/ably-local.redb` and loads it, trimming by
    /// `retention` at `now`.
    pub fn open(
        dir: &Path,
        retention: Retention,
        seed: u64,
        now: Now,
    ) -> Result<PersistentBroker, redb::Error> {
        std::fs::create_dir_all(dir).map_err(redb::Error::Io)?;
        let db = Database::create(dir.join(FILE_NAME))?;
        let tx = db.begin_write()?;
        tx.open_table(APPS)?;
        tx.open_table(PERSISTED)?;
        tx.open_table(LOGS)?;
        tx.open_table(EVENTS)?;
        tx.commit()?;

        let mut inner = LocalBroker::new(retention, seed);
        let mut saved_apps = Vec::new();
        let mut logs: BTreeMap<ChannelKey, (LogRecord, Vec<StoredEvent>)> = BTreeMap::new();
        {
            let rx = db.begin_read()?;
            for row in rx.open_table(APPS)?.iter()? {
                let (_, v) = row?;
                match serde_json::from_slice::<SavedApp>(v.value()) {
                    Ok(app) => {
                        // The app's history limits apply before its logs
                        // are loaded and trimmed.
                        inner.set_limits(&app.id, &app.limits);
                        saved_apps.push(app);
                    }
                    Err(e) => report("an app", e),
                }
            }
            for row in rx.open_table(PERSISTED)?.iter()? {
                let (k, v) = row?;
                match serde_json::from_slice::<Vec<String>>(v.value()) {
                    Ok(list) => inner.set_persisted(k.value(), list),
                    Err(e) => report("namespaces", e),
                }
            }
            for row in rx.open_table(LOGS)?.iter()? {
                let (k, v) = row?;
                let (Some(key), Ok(rec)) = (
                    parse_prefix(k.value()),
                    serde_json::from_slice::<LogRecord>(v.value()),
                ) else {
                    report("a channel log", "unreadable");
                    continue;
                };
                logs.insert(key, (rec, Vec::new()));
            }
            for row in rx.open_table(EVENTS)?.iter()? {
                let (k, v) = row?;
                let k = k.value();
                let Some((prefix, seq)) = k.split_at_checked(k.len().saturating_sub(8)) else {
                    continue;
                };
                let Some(key) = parse_prefix(prefix) else {
                    continue;
                };
                let seq = u64::from_be_bytes(seq.try_into().unwrap_or_default());
                let rec: EventRecord = match rmp_serde::from_slice(v.value()) {
                    Ok(r) => r,
                    Err(e) => {
                        report("an event", e);
                        continue;
                    }
                };
                let Some((log, events)) = logs.get_mut(&key) else {
                    continue;
                };
                if rec.epoch != log.epoch {
                    continue;
                }
                let body = match (rec.messages, rec.presence) {
                    (Some(m), _) => EventBody::Messages(m),
                    (None, Some(p)) => EventBody::Presence(p),
                    (None, None) => continue,
                };
                events.push(StoredEvent {
                    serial: crate::hub::Serial {
                        epoch: rec.epoch,
                        seq,
                    },
                    timestamp: rec.timestamp,
                    origin: rec.origin,
                    body,
                });
            }
        }
        let mut stored = BTreeMap::new();
        for (key, (rec, events)) in logs {
            inner.restore(now, &key, rec.epoch, rec.head, events);
            stored.insert(key, (rec.epoch, 0));
        }
        let mut broker = PersistentBroker {
            inner,
            db,
            stored,
            saved_apps,
            dirty: true,
        };
        broker.sync(true);
        Ok(broker)
    }

    fn write(
        &self,
        durability: Durability,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<(), redb::Error>,
    ) {
        let run = || -> Result<(), redb::Error> {
            let mut tx = self.db.begin_write()?;
            tx.set_durability(durability);
            f(&tx)?;
            tx.commit()?;
            Ok(())
        };
        if let Err(e) = run() {
            report("write", e);
        }
    }

    /// Deletes from the file what the in-memory logs no longer hold.
    fn sync(&mut self, durable: bool) {
        let current: BTreeMap<ChannelKey, LogState> = self
            .inner
            .log_states()
            .map(|(k, s)| (k.clone(), s))
            .collect();
        let mut trims = Vec::new();
        let mut gone = Vec::new();
        for (key, (epoch, kept_after)) in &self.stored {
            match current.get(key) {
                Some(s) if s.epoch == *epoch => {
                    if s.kept_after > *kept_after {
                        trims.push((key.clone(), s.kept_after));
                    }
                }
                _ => gone.push(key.clone()),
            }
        }
        if trims.is_empty() && gone.is_empty() && !(durable && self.dirty) {
            return;
        }
        if durable {
            self.dirty = false;
        }
        let durability = if durable {
            Durability::Immediate
        } else {
            Durability::None
        };
        self.write(durability, |tx| {
            let mut events = tx.open_table(EVENTS)?;
            let mut logs = tx.open_table(LOGS)?;
            for (key, kept_after) in &trims {
                let (from, to) = (event_key(key, 0), event_key(key, *kept_after));
                events.retain_in(from.as_slice()..=to.as_slice(), |_, _| false)?;
            }
            for key in &gone {
                let (from, to) = (event_key(key, 0), event_key(key, u64::MAX));
                events.retain_in(from.as_slice()..=to.as_slice(), |_, _| false)?;
                logs.remove(channel_prefix(key).as_slice())?;
            }
            Ok(())
        });
        for (key, kept_after) in trims {
            if let Some(s) = self.stored.get_mut(&key) {
                s.1 = kept_after;
            }
        }
        for key in gone {
            self.stored.remove(&key);
        }
    }
}

impl Drop for PersistentBroker {
    fn drop(&mut self) {
        // Makes the non-durable commits since the last sync durable.
        if self.dirty {
            self.write(Durability::Immediate, |_| Ok(()));
        }
    }
}

impl Broker for PersistentBroker {
    fn publish(
        &mut self,
        now: Now,
        channel: &ChannelKey,
        origin: &str,
        body: EventBody,
    ) -> Arc<StoredEvent> {
        let event = self.inner.publish(now, channel, origin, body);
        let (messages, presence) = match &event.body {
            EventBody::Messages(m) => (Some(m.clone()), None),
            EventBody::Presence(p) => (None, Some(p.clone())),
        };
        let record = EventRecord {
            epoch: event.serial.epoch,
            timestamp: event.timestamp,
            origin: event.origin.clone(),
            messages,
            presence,
        };
        let log = LogRecord {
            epoch: event.serial.epoch,
            head: event.serial.seq,
        };
        match (rmp_serde::to_vec_named(&record), serde_json::to_vec(&log)) {
            (Ok(record), Ok(log)) => {
                let kept_after = self.inner.log_state(channel).map_or(0, |s| s.kept_after);
                let stored = self
                    .stored
                    .entry(channel.clone())
                    .or_insert((event.serial.epoch, kept_after));
                if stored.0 != event.serial.epoch {
                    *stored = (event.serial.epoch, kept_after);
                }
                self.dirty = true;
                self.write(Durability::None, |tx| {
                    tx.open_table(EVENTS)?.insert(
                        event_key(channel, event.serial.seq).as_slice(),
                        record.as_slice(),
                    )?;
                    tx.open_table(LOGS)?
                        .insert(channel_prefix(channel).as_slice(), log.as_slice())?;
                    Ok(())
                });
            }
            (Err(e), _) => report("encode an event", e),
            (_, Err(e)) => report("encode a log", e),
        }
        event
    }

    fn poll_delivery(&mut self) -> Option<(ChannelKey, Arc<StoredEvent>)> {
        self.inner.poll_delivery()
    }

    fn head(&mut self, now: Now, channel: &ChannelKey) -> crate::hub::Serial {
        self.inner.head(now, channel)
    }

    fn since(&mut self, now: Now, channel: &ChannelKey, serial: &str) -> Since {
        self.inner.since(now, channel, serial)
    }

    fn recent_messages(
        &mut self,
        now: Now,
        channel: &ChannelKey,
        limit: usize,
        not_before: Option<i64>,
    ) -> Vec<Arc<StoredEvent>> {
        self.inner.recent_messages(now, channel, limit, not_before)
    }

    fn retained(&mut self, now: Now, channel: &ChannelKey) -> Vec<Arc<StoredEvent>> {
        self.inner.retained(now, channel)
    }

    fn expire(&mut self, now: Now) {
        self.inner.expire(now);
        self.sync(true);
    }

    fn history(&mut self, now: Now, channel: &ChannelKey, query: &HistoryQuery) -> HistoryPage {
        self.inner.history(now, channel, query)
    }

    fn set_persisted(&mut self, app: &str, namespaces: Vec<String>) {
        match serde_json::to_vec(&namespaces) {
            Ok(v) => self.write(Durability::Immediate, |tx| {
                tx.open_table(PERSISTED)?.insert(app, v.as_slice())?;
                Ok(())
            }),
            Err(e) => report("encode namespaces", e),
        }
        self.inner.set_persisted(app, namespaces);
    }

    fn set_limits(&mut self, app: &str, limits: &AppLimits) {
        // Kept with the app (`save_app`), which the hub calls next.
        self.inner.set_limits(app, limits);
    }

    fn remove_app(&mut self, app: &str) {
        self.inner.remove_app(app);
        self.write(Durability::Immediate, |tx| {
            tx.open_table(APPS)?.remove(app)?;
            tx.open_table(PERSISTED)?.remove(app)?;
            Ok(())
        });
        self.sync(true);
    }

    fn save_app(&mut self, app: &SavedApp) {
        match serde_json::to_vec(app) {
            Ok(v) => self.write(Durability::Immediate, |tx| {
                tx.open_table(APPS)?.insert(app.id.as_str(), v.as_slice())?;
                Ok(())
            }),
            Err(e) => report("encode an app", e),
        }
    }

    fn saved_apps(&mut self) -> Vec<SavedApp> {
        std::mem::take(&mut self.saved_apps)
    }
}

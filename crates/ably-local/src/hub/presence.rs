//! Presence sets (RTP) and the presence operations of connections.

use std::collections::BTreeMap;

use ably_proto::error::codes;
use ably_proto::{Action, ErrorInfo, Flags, PresenceAction, PresenceMessage, ProtocolMessage};

use super::history::{ChannelKey, EventBody};
use super::{Hub, TransportId, auth};

/// The members present on one channel, keyed by connectionId and clientId
/// (TP3h), each as its latest ENTER or UPDATE.
#[derive(Clone, Debug, Default)]
pub(crate) struct PresenceSet {
    members: BTreeMap<(String, String), PresenceMessage>,
}

fn member_key(pm: &PresenceMessage) -> (String, String) {
    (
        pm.connection_id.clone().unwrap_or_default(),
        pm.client_id.clone().unwrap_or_default(),
    )
}

impl PresenceSet {
    /// Whether nobody is present.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// How many members there are.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the member a message is about is present.
    pub fn contains(&self, pm: &PresenceMessage) -> bool {
        self.members.contains_key(&member_key(pm))
    }

    /// Every member as a PRESENT message, in key order.
    pub fn present(&self) -> Vec<PresenceMessage> {
        self.members
            .values()
            .map(|m| PresenceMessage {
                action: PresenceAction::Present,
                ..m.clone()
            })
            .collect()
    }

    /// Applies a stamped ENTER, UPDATE or LEAVE and returns what to
    /// broadcast: ENTER of a member already present is an UPDATE, UPDATE of
    /// an absent one an ENTER, LEAVE of an absent one nothing.
    pub fn apply(&mut self, pm: PresenceMessage) -> Option<PresenceMessage> {
        let key = member_key(&pm);
        match pm.action {
            PresenceAction::Leave => self.members.remove(&key).map(|_| pm),
            _ => {
                let action = if self.members.contains_key(&key) {
                    PresenceAction::Update
                } else {
                    PresenceAction::Enter
                };
                self.members.insert(key, pm.clone());
                Some(PresenceMessage { action, ..pm })
            }
        }
    }

    /// Removes every member of a connection and returns them.
    pub fn remove_connection(&mut self, connection_id: &str) -> Vec<PresenceMessage> {
        let keys: Vec<_> = self
            .members
            .keys()
            .filter(|(c, _)| c == connection_id)
            .cloned()
            .collect();
        keys.into_iter()
            .filter_map(|k| self.members.remove(&k))
            .collect()
    }
}

impl Hub {
    /// PRESENCE from a client: ENTER, UPDATE, LEAVE of its own clientId or,
    /// for a wildcard or key identity, of any (enterClient).
    pub(super) fn on_presence(&mut self, conn_id: &str, t: TransportId, pm: ProtocolMessage) {
        if self.is_duplicate(conn_id, t, pm.msg_serial) {
            return;
        }
        let serial = pm.msg_serial;
        let Some(channel) = pm.channel.clone() else {
            return self.nack(
                conn_id,
                t,
                serial,
                ErrorInfo::new(40000, 400, "PRESENCE without a channel"),
            );
        };
        let Some(conn) = self.connections.get(conn_id) else {
            return;
        };
        if !conn.grant.capability.allows(&channel, "presence") {
            return self.nack(conn_id, t, serial, auth::denied("presence", &channel));
        }
        let attached = conn
            .attachments
            .get(&channel)
            .is_some_and(|a| !a.paused && a.modes.contains(Flags::PRESENCE));
        if !attached {
            return self.nack(
                conn_id,
                t,
                serial,
                ErrorInfo::new(
                    91001,
                    400,
                    format!("channel '{channel}' is not attached with the presence mode"),
                ),
            );
        }
        let identity = conn.identity.clone();
        let app = conn.app.clone();
        let max_size = self.max_message_size(&app);
        let max_members = self.max_presence_members(&app);
        let msg_serial = serial.unwrap_or(0);
        let mut stamped = Vec::with_capacity(pm.presence.len());
        for (i, mut p) in pm.presence.into_iter().enumerate() {
            let err = match (&p.client_id, &identity.client_id) {
                (Some(c), _) if c == "*" || c.is_empty() => Some("invalid clientId"),
                (Some(c), Some(own)) if c != own && !identity.any_client => {
                    Some("clientId differs from the connection's")
                }
                (Some(_), None) if !identity.any_client => {
                    Some("the connection's credentials do not allow a clientId")
                }
                (None, None) => {
                    return self.nack(
                        conn_id,
                        t,
                        serial,
                        ErrorInfo::new(91000, 400, "cannot enter presence without a clientId"),
                    );
                }
                _ => None,
            };
            if let Some(why) = err {
                return self.nack(
                    conn_id,
                    t,
                    serial,
                    ErrorInfo::new(codes::INVALID_CLIENT_ID, 400, why),
                );
            }
            if !matches!(
                p.action,
                PresenceAction::Enter
                    | PresenceAction::Update
                    | PresenceAction::Leave
                    | PresenceAction::Present
            ) {
                return self.nack(
                    conn_id,
                    t,
                    serial,
                    ErrorInfo::new(
                        40000,
                        400,
                        format!("invalid presence action {:?}", p.action),
                    ),
                );
            }
            if p.data.size() > max_size {
                return self.nack(
                    conn_id,
                    t,
                    serial,
                    ErrorInfo::new(codes::MESSAGE_TOO_LARGE, 400, "presence data too large"),
                );
            }
            if p.action == PresenceAction::Present {
                p.action = PresenceAction::Update;
            }
            if p.client_id.is_none() {
                p.client_id = identity.client_id.clone();
            }
            p.id = Some(format!("{conn_id}:{msg_serial}:{i}"));
            p.connection_id = Some(conn_id.to_owned());
            p.timestamp = Some(self.now.wall_ms);
            stamped.push(p);
        }
        let key = ChannelKey { app, channel };
        let ch = self.channels.entry(key.clone()).or_default();
        if ch.presence.len() + stamped.len() > max_members {
            // Only members not yet present count (an UPDATE of a present
            // member or a LEAVE never exceeds the limit).
            let joining = stamped
                .iter()
                .filter(|p| p.action != PresenceAction::Leave && !ch.presence.contains(p))
                .count();
            if ch.presence.len() + joining > max_members {
                return self.nack(
                    conn_id,
                    t,
                    serial,
                    ErrorInfo::new(
                        91003,
                        400,
                        format!(
                            "unable to enter presence channel: maximum members ({max_members}) reached"
                        ),
                    ),
                );
            }
        }
        let broadcast: Vec<_> = stamped
            .into_iter()
            .filter_map(|p| ch.presence.apply(p))
            .collect();
        // Deliver first, then ACK: a client sees its own presence event
        // before its enter() completes.
        if !broadcast.is_empty() {
            self.broker
                .publish(self.now, &key, conn_id, EventBody::Presence(broadcast));
            self.fan_out();
        }
        self.ack(conn_id, t, serial, None);
    }

    /// Removes a connection's members, from one channel or all, and
    /// broadcasts their LEAVE. The LEAVEs have ids that do not start with
    /// the connectionId, so clients order them by timestamp (RTP2b1).
    pub(super) fn leave_members(&mut self, conn_id: &str, only: Option<&ChannelKey>) {
        let keys: Vec<ChannelKey> = match only {
            Some(k) => vec![k.clone()],
            None => self.channels.keys().cloned().collect(),
        };
        for key in keys {
            let Some(ch) = self.channels.get_mut(&key) else {
                continue;
            };
            let gone = ch.presence.remove_connection(conn_id);
            if gone.is_empty() {
                continue;
            }
            let tag = self.rng.id(8);
            let leaves: Vec<PresenceMessage> = gone
                .into_iter()
                .enumerate()
                .map(|(i, m)| PresenceMessage {
                    id: Some(format!("{tag}:0:{i}")),
                    action: PresenceAction::Leave,
                    timestamp: Some(self.now.wall_ms),
                    ..m
                })
                .collect();
            self.broker
                .publish(self.now, &key, "", EventBody::Presence(leaves));
        }
        self.fan_out();
    }

    /// Sends the presence set as SYNC pages (RTP18): channelSerial
    /// `<syncId>:<cursor>`, the last page with an empty cursor.
    pub(super) fn send_sync(&mut self, t: TransportId, key: &ChannelKey) {
        let Some(ch) = self.channels.get(key) else {
            return;
        };
        let members = ch.presence.present();
        let sync_id = self.rng.id(8);
        let size = self.config.sync_page_size.max(1);
        let pages = members.len().div_ceil(size).max(1);
        let mut members = members.into_iter();
        for page in 0..pages {
            let chunk: Vec<_> = members.by_ref().take(size).collect();
            let cursor = if page + 1 < pages {
                format!("{}", (page + 1) * size)
            } else {
                String::new()
            };
            let mut pm = ProtocolMessage::for_channel(Action::Sync, key.channel.clone());
            pm.channel_serial = Some(format!("{sync_id}:{cursor}"));
            pm.presence = chunk;
            self.send(t, &pm);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pm(action: PresenceAction, conn: &str, client: &str) -> PresenceMessage {
        PresenceMessage {
            connection_id: Some(conn.into()),
            ..PresenceMessage::new(action, Some(client.into()), "d")
        }
    }

    #[test]
    fn enter_update_leave_are_normalised() {
        let mut set = PresenceSet::default();
        let b = set
            .apply(pm(PresenceAction::Update, "c1", "a"))
            .expect("broadcast");
        assert_eq!(b.action, PresenceAction::Enter);
        let b = set
            .apply(pm(PresenceAction::Enter, "c1", "a"))
            .expect("broadcast");
        assert_eq!(b.action, PresenceAction::Update);
        set.apply(pm(PresenceAction::Enter, "c2", "a"));
        assert_eq!(set.len(), 2);
        assert!(set.apply(pm(PresenceAction::Leave, "c3", "a")).is_none());
        assert_eq!(set.remove_connection("c1").len(), 1);
        assert_eq!(set.present()[0].action, PresenceAction::Present);
        assert!(set.apply(pm(PresenceAction::Leave, "c2", "a")).is_some());
        assert!(set.is_empty());
    }
}

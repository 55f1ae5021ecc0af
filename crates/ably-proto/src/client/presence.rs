//! Presence on a channel (RTP): the member map with its newness rules, SYNC,
//! the connection's own members for automatic re-entry, queued presence
//! actions, and `get`.
//!
//! How a SYNC works here: an ATTACHED with HAS_PRESENCE starts a sync
//! (RTP1); every member present when it starts is "residual". Each SYNC
//! page (and each PRESENCE during the sync) updates members and takes them
//! off the residual set. LEAVEs during the sync are kept as ABSENT
//! (RTP2h2a). When a page's cursor is empty (RTP18b), the residual members
//! leave with synthesized LEAVE events (RTP19) and ABSENT entries go. An
//! ATTACHED without HAS_PRESENCE means an empty set at once (RTP19a).

use std::collections::{BTreeMap, BTreeSet};

use crate::error::codes;
use crate::{Action, Data, ErrorInfo, Flags, PresenceAction, PresenceMessage, ProtocolMessage};

use super::Client;
use super::channel::ChannelState;
use super::io::{Completion, ConnectionState, Event, OpId};
use super::publish::Outgoing;

/// A presence action to send.
#[derive(Clone, Debug, PartialEq)]
pub struct PresenceRequest {
    /// ENTER, UPDATE or LEAVE.
    pub action: PresenceAction,
    /// For enterClient/updateClient/leaveClient (RTP15); `None` for the
    /// connection's own clientId (RTP8c).
    pub client_id: Option<String>,
    /// The data (RTP8e).
    pub data: Data,
    /// Opaque metadata.
    pub extras: Option<serde_json::Value>,
}

/// Options of `presence.get()` (RTP11c).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresenceQuery {
    /// Wait for the SYNC to finish (RTP11c1), default true.
    pub wait_for_sync: bool,
    /// Only this clientId (RTP11c2).
    pub client_id: Option<String>,
    /// Only this connectionId (RTP11c3).
    pub connection_id: Option<String>,
}

impl Default for PresenceQuery {
    fn default() -> PresenceQuery {
        PresenceQuery {
            wait_for_sync: true,
            client_id: None,
            connection_id: None,
        }
    }
}

/// One channel's presence state.
#[derive(Clone, Debug, Default)]
pub(crate) struct Presence {
    /// memberKey -> member, and the SYNC in progress (RTP2, RTP18).
    members: PresenceMap,
    /// clientId -> this connection's own member (RTP17, RTP17h).
    local: LocalPresenceMap,
    sync_sequence: Option<String>,
    /// The first sync finished (RTP13).
    pub(crate) sync_complete: bool,
    /// Actions waiting for the channel to attach (RTP16b).
    queued: Vec<(PresenceMessage, OpId)>,
    /// `get()`s waiting for the sync (RTP11c1).
    gets: Vec<(OpId, PresenceQuery)>,
}

impl Presence {
    /// The present members (not ABSENT).
    fn present(&self) -> impl Iterator<Item = &PresenceMessage> {
        self.members.values()
    }

    /// Members matching a query.
    fn query(&self, q: &PresenceQuery) -> Vec<PresenceMessage> {
        self.present()
            .filter(|m| q.client_id.is_none() || m.client_id == q.client_id)
            .filter(|m| q.connection_id.is_none() || m.connection_id == q.connection_id)
            .cloned()
            .collect()
    }
}

/// RTP2b1: a message not published by its connection (a synthesized LEAVE)
/// has an id that does not start with its connectionId.
fn is_synthesized(m: &PresenceMessage) -> bool {
    match (&m.id, &m.connection_id) {
        (Some(id), Some(conn)) => !id.starts_with(conn.as_str()),
        _ => true,
    }
}

/// `connId:msgSerial:index` -> (msgSerial, index).
fn serial_and_index(m: &PresenceMessage) -> Option<(u64, u64)> {
    let id = m.id.as_deref()?;
    let mut parts = id.rsplitn(3, ':');
    let index = parts.next()?.parse().ok()?;
    let serial = parts.next()?.parse().ok()?;
    Some((serial, index))
}

/// Whether `incoming` is newer than `existing` (RTP2b).
fn is_newer(incoming: &PresenceMessage, existing: &PresenceMessage) -> bool {
    // Serials order the messages of one connection only; the RTP17 map,
    // keyed by clientId, may compare members of two connections (RTP17h).
    let same_connection = incoming.connection_id == existing.connection_id;
    if same_connection && !is_synthesized(incoming) && !is_synthesized(existing) {
        if let (Some(a), Some(b)) = (serial_and_index(incoming), serial_and_index(existing)) {
            return a > b; // RTP2b2
        }
    }
    // RTP2b1, RTP2b1a: by timestamp; equal means the incoming one wins.
    incoming.timestamp.unwrap_or(0) >= existing.timestamp.unwrap_or(0)
}

/// The members present on a channel (RTP2): memberKey (TP3h) -> the
/// latest message of the member, stored with action PRESENT, or ABSENT
/// for a LEAVE during a SYNC (RTP2h2a). It also tracks a SYNC in progress
/// (RTP18) and its residual members (RTP19).
#[derive(Clone, Debug, Default)]
pub struct PresenceMap {
    members: BTreeMap<String, PresenceMessage>,
    syncing: bool,
    residual: BTreeSet<String>,
}

impl PresenceMap {
    /// An empty map, no SYNC in progress.
    pub fn new() -> PresenceMap {
        PresenceMap::default()
    }

    /// Applies an ENTER, UPDATE or PRESENT (RTP2d): stores it with action
    /// PRESENT (RTP2d2) and returns it with its original action for
    /// subscribers (RTP2d1); `None` if the map holds a newer message for
    /// the member (RTP2a, RTP2b, RTP2c). A member seen during a SYNC is no
    /// longer residual even when the message is stale (RTP19).
    pub fn put(&mut self, msg: PresenceMessage) -> Option<PresenceMessage> {
        let key = msg.member_key();
        self.residual.remove(&key);
        if let Some(existing) = self.members.get(&key) {
            if !is_newer(&msg, existing) {
                return None; // RTP2a
            }
        }
        let mut stored = msg.clone();
        stored.action = PresenceAction::Present; // RTP2d2
        self.members.insert(key, stored);
        Some(msg)
    }

    /// Applies a LEAVE (RTP2h): outside a SYNC the member goes and the
    /// LEAVE is returned for subscribers (RTP2h1); during a SYNC the member
    /// is kept as ABSENT and nothing is returned (RTP2h2a). `None` too when
    /// the member is unknown or the map holds a newer message (RTP2a).
    pub fn remove(&mut self, msg: PresenceMessage) -> Option<PresenceMessage> {
        let key = msg.member_key();
        self.residual.remove(&key);
        let existing = self.members.get(&key)?; // RTP2h: only a known member leaves
        if !is_newer(&msg, existing) {
            return None; // RTP2a
        }
        if self.syncing {
            let mut stored = msg;
            stored.action = PresenceAction::Absent; // RTP2h2a
            self.members.insert(key, stored);
            None
        } else {
            self.members.remove(&key); // RTP2h1b
            Some(msg) // RTP2h1a
        }
    }

    /// The stored message of a member, PRESENT or ABSENT, by memberKey.
    pub fn get(&self, member_key: &str) -> Option<&PresenceMessage> {
        self.members.get(member_key)
    }

    /// The present members (not ABSENT ones).
    pub fn values(&self) -> impl Iterator<Item = &PresenceMessage> {
        self.members
            .values()
            .filter(|m| m.action == PresenceAction::Present)
    }

    /// Forgets every member and any SYNC in progress (RTP5a).
    pub fn clear(&mut self) {
        self.members.clear();
        self.syncing = false;
        self.residual.clear();
    }

    /// A SYNC starts (RTP18a): every member now in the map is residual
    /// until seen; a SYNC already in progress is discarded.
    pub fn start_sync(&mut self) {
        self.syncing = true;
        self.residual = self.members.keys().cloned().collect();
    }

    /// The SYNC ends (RTP18b): residual members go and are returned as
    /// synthesized LEAVEs with no id and timestamp `now_ms` (RTP19);
    /// ABSENT members go without an event (RTP2h2b). Without a SYNC in
    /// progress nothing changes.
    pub fn end_sync(&mut self, now_ms: i64) -> Vec<PresenceMessage> {
        if !self.syncing {
            return Vec::new(); // RTP18
        }
        self.syncing = false;
        let mut leaves = Vec::new();
        for key in std::mem::take(&mut self.residual) {
            if let Some(member) = self.members.remove(&key) {
                if member.action == PresenceAction::Present {
                    leaves.push(synthesized_leave(member, now_ms));
                }
            }
        }
        self.members
            .retain(|_, m| m.action != PresenceAction::Absent);
        leaves
    }

    /// Whether a SYNC is in progress (RTP18).
    pub fn is_sync_in_progress(&self) -> bool {
        self.syncing
    }
}

/// The members this connection entered (RTP17), for automatic re-entry
/// (RTP17i): keyed by clientId only (RTP17h), with the newness rules of
/// [`PresenceMap`]. The core applies only messages of the current
/// connection (RTP17b).
#[derive(Clone, Debug, Default)]
pub struct LocalPresenceMap {
    members: BTreeMap<String, PresenceMessage>,
}

impl LocalPresenceMap {
    /// An empty map.
    pub fn new() -> LocalPresenceMap {
        LocalPresenceMap::default()
    }

    /// Applies an ENTER, UPDATE or PRESENT, stored with action PRESENT
    /// (RTP17b, RTP2d2), unless the map holds a newer message (RTP2a).
    pub fn put(&mut self, msg: PresenceMessage) {
        let key = msg.client_id.clone().unwrap_or_default();
        if let Some(existing) = self.members.get(&key) {
            if !is_newer(&msg, existing) {
                return;
            }
        }
        let mut stored = msg;
        stored.action = PresenceAction::Present;
        self.members.insert(key, stored);
    }

    /// Applies a LEAVE; a synthesized LEAVE (RTP2b1) is ignored and
    /// returns false (RTP17b).
    pub fn remove(&mut self, msg: &PresenceMessage) -> bool {
        if is_synthesized(msg) {
            return false;
        }
        let key = msg.client_id.clone().unwrap_or_default();
        if let Some(existing) = self.members.get(&key) {
            if is_newer(msg, existing) {
                self.members.remove(&key);
            }
        }
        true
    }

    /// The member with this clientId.
    pub fn get(&self, client_id: &str) -> Option<&PresenceMessage> {
        self.members.get(client_id)
    }

    /// Every member.
    pub fn values(&self) -> impl Iterator<Item = &PresenceMessage> {
        self.members.values()
    }

    /// Forgets every member (RTP5a).
    pub fn clear(&mut self) {
        self.members.clear();
    }
}

impl Client {
    /// The presence members of a channel as known now, without waiting.
    pub fn presence_members(&self, channel: &str) -> Vec<PresenceMessage> {
        self.channels
            .get(channel)
            .map(|c| c.presence.present().cloned().collect())
            .unwrap_or_default()
    }

    /// Whether the first presence SYNC of a channel finished (RTP13).
    pub fn presence_sync_complete(&self, channel: &str) -> bool {
        self.channels
            .get(channel)
            .is_some_and(|c| c.presence.sync_complete)
    }

    // ---- sending (RTP8, RTP9, RTP10, RTP14, RTP15, RTP16) ----------------

    pub(crate) fn on_command_presence(&mut self, op: OpId, name: &str, req: PresenceRequest) {
        let own = self.auth.client_id().map(str::to_owned);
        // RTP15f: an identified client acts only as itself.
        if let (Some(mine), Some(theirs)) = (&self.opts.client_id, &req.client_id) {
            if mine != theirs {
                let err = ErrorInfo::new(
                    codes::INVALID_CLIENT_ID,
                    400,
                    format!("this client is '{mine}' and can not act for '{theirs}' (RTP15f)"),
                );
                self.complete(op, Err(err));
                return;
            }
        }
        // RTP8j: entering as yourself needs a clientId that is not '*'.
        if req.client_id.is_none()
            && self.state == ConnectionState::Connected
            && matches!(own.as_deref(), None | Some("*"))
        {
            let err = ErrorInfo::new(
                91000,
                400,
                "can not enter presence without a clientId (RTP8j)",
            );
            self.complete(op, Err(err));
            return;
        }
        let mut msg = PresenceMessage::new(req.action, req.client_id, req.data);
        msg.extras = req.extras;
        let cipher = self.chan(name).options.cipher.clone();
        if let Err(err) = msg.encode(cipher.as_ref(), &mut self.rng) {
            self.complete(op, Err(err));
            return;
        }
        self.send_presence(op, name, msg);
    }

    /// Sends, queues at the channel, or refuses a presence message (RTP16).
    fn send_presence(&mut self, op: OpId, name: &str, msg: PresenceMessage) {
        let queue = self.opts.queue_messages;
        match self.chan(name).state {
            ChannelState::Attached => {
                let mut frame = ProtocolMessage::for_channel(Action::Presence, name);
                frame.presence = vec![msg];
                self.submit(Outgoing { frame, op }); // RTP16a
            }
            ChannelState::Initialized | ChannelState::Attaching if queue => {
                self.chan(name).presence.queued.push((msg, op)); // RTP16b
                if self.chan(name).state == ChannelState::Initialized {
                    self.channel_step(name, super::channel::ChanEvent::Attach(Vec::new())); // RTP8d
                    if self.chan(name).state == ChannelState::Initialized {
                        // RTL4b: the connection refused the implicit attach
                        // (closing, closed, suspended, failed), so nothing
                        // will send what was queued.
                        let err = self.state_error(self.state);
                        self.fail_queued_presence(name, &err);
                    }
                }
            }
            state => {
                let err = ErrorInfo::new(
                    91001,
                    400,
                    format!("can not act on presence while the channel is {state} (RTP16c)"),
                );
                self.complete(op, Err(err));
            }
        }
    }

    // ---- get (RTP11) ---------------------------------------------------------

    pub(crate) fn on_command_presence_get(&mut self, op: OpId, name: &str, q: PresenceQuery) {
        let state = self.chan(name).state;
        match state {
            ChannelState::Suspended if q.wait_for_sync => {
                let err = ErrorInfo::new(
                    91005,
                    400,
                    "presence state is out of sync: the channel is suspended (RTP11d)",
                );
                self.complete(op, Err(err));
            }
            ChannelState::Failed => {
                let err = ErrorInfo::new(
                    90001,
                    400,
                    "can not get presence of a failed channel (RTL33c)",
                );
                self.complete(op, Err(err));
            }
            _ => {
                if matches!(
                    state,
                    ChannelState::Initialized | ChannelState::Detached | ChannelState::Detaching
                ) {
                    self.channel_step(name, super::channel::ChanEvent::Attach(Vec::new())); // RTL33b
                }
                let state = self.chan(name).state;
                if matches!(state, ChannelState::Initialized | ChannelState::Detached) {
                    // RTL33b1, RTL4b: the connection refused the implicit attach.
                    let err = self.state_error(self.state);
                    self.complete(op, Err(err));
                    return;
                }
                let p = &self.chan(name).presence;
                let ready = if q.wait_for_sync {
                    p.sync_complete
                        && !p.members.is_sync_in_progress()
                        && state == ChannelState::Attached
                } else {
                    // RTL33a, RTL33b: no sync to wait for, only the attach.
                    matches!(state, ChannelState::Attached | ChannelState::Suspended)
                };
                if ready {
                    let members = self.chan(name).presence.query(&q);
                    self.complete(op, Ok(Completion::Members(members)));
                } else {
                    self.chan(name).presence.gets.push((op, q));
                }
            }
        }
    }

    fn answer_gets(&mut self, name: &str) {
        let gets = std::mem::take(&mut self.chan(name).presence.gets);
        for (op, q) in gets {
            let members = self.chan(name).presence.query(&q);
            self.complete(op, Ok(Completion::Members(members)));
        }
    }

    /// RTL33b: `get()`s without waitForSync waited for the attach only.
    fn answer_gets_without_sync(&mut self, name: &str) {
        let gets = std::mem::take(&mut self.chan(name).presence.gets);
        let (now, later): (Vec<_>, Vec<_>) = gets.into_iter().partition(|(_, q)| !q.wait_for_sync);
        self.chan(name).presence.gets = later;
        for (op, q) in now {
            let members = self.chan(name).presence.query(&q);
            self.complete(op, Ok(Completion::Members(members)));
        }
    }

    pub(crate) fn fail_gets(&mut self, name: &str, err: ErrorInfo) {
        let gets = std::mem::take(&mut self.chan(name).presence.gets);
        for (op, _) in gets {
            self.complete(op, Err(err.clone()));
        }
    }

    // ---- receiving (RTP2, RTP17, RTP18, RTP19) --------------------------------

    /// A PRESENCE or SYNC frame for an existing channel.
    pub(crate) fn presence_frame(&mut self, name: &str, mut pm: Box<ProtocolMessage>) {
        if self.chan(name).state != ChannelState::Attached {
            return; // RTL17
        }
        pm.fill_inherited_fields();
        let cipher = self.chan(name).options.cipher.clone();
        let mut ends_sync = false;
        if pm.action == Action::Sync {
            // RTP18a: `<sequence>:<cursor>`; RTP18c: no serial, one page.
            let (sequence, cursor) = match pm.channel_serial.as_deref() {
                Some(serial) => match serial.split_once(':') {
                    Some((seq, cursor)) => (Some(seq.to_owned()), cursor.to_owned()),
                    None => (Some(serial.to_owned()), String::new()),
                },
                None => (None, String::new()),
            };
            let p = &mut self.chan(name).presence;
            if !p.members.is_sync_in_progress() || p.sync_sequence != sequence {
                self.start_sync(name);
                self.chan(name).presence.sync_sequence = sequence;
            }
            ends_sync = cursor.is_empty(); // RTP18b
        }
        for mut msg in std::mem::take(&mut pm.presence) {
            if let Err(err) = msg.decode(cipher.as_ref()) {
                self.log_error("presence payload could not be decoded", err); // RSL6b
            }
            self.apply_presence(name, msg);
        }
        if ends_sync {
            self.end_sync(name);
        }
    }

    fn start_sync(&mut self, name: &str) {
        self.chan(name).presence.members.start_sync();
    }

    /// RTP19: residual members leave; ABSENT entries go (RTP2h2b).
    fn end_sync(&mut self, name: &str) {
        let now_ms = self.now.wall_ms;
        let p = &mut self.chan(name).presence;
        p.sync_complete = true;
        p.sync_sequence = None;
        let leaves = p.members.end_sync(now_ms);
        let channel = self.shared_name(name);
        for leave in leaves {
            self.emit(Event::Presence {
                channel: channel.clone(),
                message: Box::new(leave),
            });
        }
        self.answer_gets(name);
    }

    /// Applies one member update to both maps and emits it if it changed
    /// the set (RTP2a, RTP2d, RTP2h, RTP17b).
    fn apply_presence(&mut self, name: &str, msg: PresenceMessage) {
        let own_connection = self.connection_id.clone();
        let p = &mut self.chan(name).presence;
        // RTP17b: this connection's own members, keyed by clientId.
        if own_connection.is_some() && msg.connection_id == own_connection {
            match msg.action {
                PresenceAction::Enter | PresenceAction::Present | PresenceAction::Update => {
                    p.local.put(msg.clone());
                }
                PresenceAction::Leave => {
                    p.local.remove(&msg); // ignores a synthesized LEAVE
                }
                _ => {}
            }
        }
        // RTP2d1, RTP2h1a: what changed the set goes to subscribers with
        // its original action.
        let emitted = match msg.action {
            PresenceAction::Enter | PresenceAction::Update | PresenceAction::Present => {
                p.members.put(msg)
            }
            PresenceAction::Leave => p.members.remove(msg),
            _ => None,
        };
        if let Some(message) = emitted {
            self.emit(Event::Presence {
                channel: self.shared_name(name),
                message: Box::new(message),
            });
        }
    }

    // ---- channel state effects (RTP1, RTP5, RTP17i) ----------------------------

    pub(crate) fn presence_on_channel_state(
        &mut self,
        name: &str,
        previous: ChannelState,
        next: ChannelState,
        flags: Flags,
    ) {
        match next {
            ChannelState::Attached => {
                if flags.contains(Flags::HAS_PRESENCE) {
                    self.start_sync(name); // RTP1
                    self.chan(name).presence.sync_sequence = None;
                    self.answer_gets_without_sync(name);
                } else {
                    // RTP19a: nobody is present: an empty SYNC.
                    let now_ms = self.now.wall_ms;
                    let p = &mut self.chan(name).presence;
                    p.members.start_sync();
                    let leaves = p.members.end_sync(now_ms);
                    p.sync_sequence = None;
                    p.sync_complete = true;
                    let channel = self.shared_name(name);
                    for leave in leaves {
                        self.emit(Event::Presence {
                            channel: channel.clone(),
                            message: Box::new(leave),
                        });
                    }
                    self.answer_gets(name);
                }
                // RTP5b: send what waited for the attach.
                let queued = std::mem::take(&mut self.chan(name).presence.queued);
                for (msg, op) in queued {
                    self.send_presence(op, name, msg);
                }
                // RTP17i: re-enter unless this is an attached channel resuming.
                if !(previous == ChannelState::Attached && flags.contains(Flags::RESUMED)) {
                    self.reenter(name);
                }
            }
            ChannelState::Detached | ChannelState::Failed => {
                // RTP5a: fail queued actions, forget both maps, no events.
                let err = self.chan(name).error_reason.clone().unwrap_or_else(|| {
                    ErrorInfo::new(91001, 400, format!("channel {name} is {next}"))
                });
                self.fail_queued_presence(name, &err);
                let p = &mut self.chan(name).presence;
                p.members.clear();
                p.local.clear();
                p.sync_complete = false;
                self.fail_gets(name, err);
            }
            ChannelState::Suspended => {
                // RTP5f: fail queued actions, keep the map.
                let err = self.chan(name).error_reason.clone().unwrap_or_else(|| {
                    ErrorInfo::new(91001, 400, format!("channel {name} is suspended"))
                });
                self.fail_queued_presence(name, &err);
                let err = ErrorInfo::new(
                    91005,
                    400,
                    "presence state is out of sync: the channel is suspended (RTP11d)",
                );
                self.fail_gets(name, err);
            }
            _ => {}
        }
    }

    pub(crate) fn fail_queued_presence(&mut self, name: &str, err: &ErrorInfo) {
        let queued = std::mem::take(&mut self.chan(name).presence.queued);
        for (_, op) in queued {
            self.complete(op, Err(err.clone())); // RTL11
        }
    }

    /// RTP17g: ENTER again for every own member.
    fn reenter(&mut self, name: &str) {
        let members: Vec<PresenceMessage> =
            self.chan(name).presence.local.values().cloned().collect();
        let cipher = self.chan(name).options.cipher.clone();
        for member in members {
            let mut msg = PresenceMessage::new(
                PresenceAction::Enter,
                member.client_id.clone(),
                member.data.clone(),
            );
            msg.extras = member.extras.clone();
            if member.connection_id.is_some() && member.connection_id == self.connection_id {
                msg.id = member.id.clone(); // RTP17g1
            }
            if msg.encode(cipher.as_ref(), &mut self.rng).is_err() {
                continue;
            }
            let op = self.internal_op(super::InternalOp::Reenter {
                channel: name.to_owned(),
                client_id: member.client_id.clone().unwrap_or_default(),
            });
            let mut frame = ProtocolMessage::for_channel(Action::Presence, name);
            frame.presence = vec![msg];
            self.submit(Outgoing { frame, op });
        }
    }

    /// RTP17e: a failed re-entry is an UPDATE with 91004.
    pub(crate) fn reenter_failed(&mut self, name: &str, client_id: &str, cause: ErrorInfo) {
        if !self.channels.contains_key(name) {
            return;
        }
        let err = ErrorInfo::new(
            91004,
            400,
            format!("could not automatically re-enter presence as '{client_id}' (RTP17e)"),
        )
        .with_cause(cause);
        self.log_error("automatic presence re-entry failed", err.clone());
        self.chan(name).error_reason = Some(err.clone());
        let current = self.chan(name).state;
        self.emit(Event::Channel(super::channel::ChannelStateChange {
            channel: name.to_owned(),
            previous: current,
            current,
            update: true,
            reason: Some(err),
            resumed: true,
            has_backlog: false,
        }));
    }
}

/// A LEAVE made by the client for a member that went away (RTP19, RTP19a):
/// the member's attributes, action LEAVE, no id, the current time.
fn synthesized_leave(mut member: PresenceMessage, now_ms: i64) -> PresenceMessage {
    member.action = PresenceAction::Leave;
    member.id = None;
    member.timestamp = Some(now_ms);
    member
}

//! Connections (RTN): opening, resuming, closing, re-authenticating; the
//! connection state machine as one transition table.
//!
//! An Ably connection (a connectionId) outlives its transports: when a
//! WebSocket drops, the connection stays for connectionStateTtl so that a
//! new transport can resume it with `resume=<connectionKey>`.

use std::collections::{BTreeMap, VecDeque};

use ably_proto::error::codes;
use ably_proto::{Action, ConnectionDetails, ErrorInfo, Flags, ProtocolMessage};

use super::auth::{self, Grant, Identity};
use super::params::ConnectParams;
use super::{ConnectRequest, Hub, Timer, Transport, TransportId};

/// A channel a connection is attached to.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Attachment {
    /// The granted modes (flag bits).
    pub modes: Flags,
    /// Set when the transport dropped: nothing is delivered until the
    /// client attaches again (with its channelSerial, to get what it
    /// missed exactly once).
    pub paused: bool,
    /// Whether the capability allows publishing on the channel (checked
    /// once per attach and grant, not per message).
    pub publish: bool,
}

/// The states of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ConnState {
    /// On a live transport.
    Active(TransportId),
    /// The transport is gone; resumable until connectionStateTtl passes.
    Dropped,
    /// Gone for good.
    Closed,
}

/// What happens to a connection.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ConnEvent {
    /// The transport closed without CLOSE.
    TransportLost,
    /// The client sent DISCONNECT.
    Disconnect,
    /// The client sent CLOSE.
    Close,
    /// A new transport resumed or recovered the connection.
    Resume(TransportId),
    /// The token expired (40142): the client renews and resumes.
    TokenExpired,
    /// Credentials were refused in-band: the client may resume with others.
    Reject(ErrorInfo),
    /// A fatal error (flood): the connection ends.
    Fail(ErrorInfo),
    /// The service is shutting down.
    Shutdown,
    /// remainPresentFor passed since the drop.
    PresenceGraceOver,
    /// connectionStateTtl passed since the drop.
    StateTtlOver,
}

/// What the hub does on a transition, in order.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ConnAction {
    SendConnected(TransportId),
    SendClosed(TransportId),
    SendDisconnected(TransportId, ErrorInfo),
    SendError(TransportId, ErrorInfo),
    CloseTransport(TransportId),
    PauseAttachments,
    StartStateTtl,
    StartPresenceGrace,
    LeavePresence,
    DetachAll,
    Forget,
}

/// The connection state machine: (state, event) -> (state, actions).
/// `None` means the event does not apply in that state and is ignored.
pub(crate) fn transition(
    state: ConnState,
    event: &ConnEvent,
) -> Option<(ConnState, Vec<ConnAction>)> {
    use ConnAction as A;
    use ConnEvent as E;
    use ConnState as S;
    let dropped = |t: Option<TransportId>, first: Vec<ConnAction>| {
        let mut actions = first;
        if let Some(t) = t {
            actions.push(A::CloseTransport(t));
        }
        actions.extend([A::PauseAttachments, A::StartStateTtl, A::StartPresenceGrace]);
        (S::Dropped, actions)
    };
    let gone = |first: Vec<ConnAction>| {
        let mut actions = first;
        actions.extend([A::LeavePresence, A::DetachAll, A::Forget]);
        (S::Closed, actions)
    };
    Some(match (state, event) {
        (S::Active(_), E::TransportLost) => dropped(None, vec![]),
        (S::Active(t), E::Disconnect) => dropped(Some(t), vec![]),
        (S::Active(t), E::TokenExpired) => dropped(
            Some(t),
            vec![A::SendDisconnected(
                t,
                ErrorInfo::new(codes::TOKEN_EXPIRED, 401, "token expired"),
            )],
        ),
        (S::Active(t), E::Reject(e)) => dropped(Some(t), vec![A::SendError(t, e.clone())]),
        (S::Active(t), E::Fail(e)) => gone(vec![A::SendError(t, e.clone()), A::CloseTransport(t)]),
        (S::Active(t), E::Close) => gone(vec![A::SendClosed(t), A::CloseTransport(t)]),
        (S::Active(old), E::Resume(new)) => (
            S::Active(*new),
            vec![
                A::CloseTransport(old),
                A::PauseAttachments,
                A::SendConnected(*new),
            ],
        ),
        (S::Dropped, E::Resume(new)) => (S::Active(*new), vec![A::SendConnected(*new)]),
        (S::Active(t), E::Shutdown) => (
            S::Dropped,
            vec![
                A::SendDisconnected(
                    t,
                    ErrorInfo::new(
                        80003,
                        503,
                        "the service is shutting down; reconnect elsewhere",
                    ),
                ),
                A::CloseTransport(t),
            ],
        ),
        (S::Dropped, E::PresenceGraceOver) => (S::Dropped, vec![A::LeavePresence]),
        (S::Dropped, E::StateTtlOver) => gone(vec![]),
        _ => return None,
    })
}

/// One Ably connection.
#[derive(Debug)]
pub(crate) struct Connection {
    pub id: String,
    pub key: String,
    pub app: String,
    pub state: ConnState,
    pub grant: Grant,
    pub identity: Identity,
    pub echo: bool,
    pub remain_present_for: u64,
    /// The msgSerial expected next; lower ones are repeats.
    pub next_msg_serial: u64,
    /// The ACK or NACK sent for recent msgSerials, to answer repeats.
    pub recent_acks: VecDeque<(u64, super::Answer)>,
    pub attachments: BTreeMap<String, Attachment>,
    /// When the transport dropped (monotonic ms).
    pub dropped_at: Option<u64>,
}

impl Connection {
    /// Takes new credentials (a resume, or AUTH), updating what they allow
    /// on each attached channel.
    pub fn set_grant(&mut self, grant: Grant) {
        for (name, a) in self.attachments.iter_mut() {
            a.publish = grant.capability.allows(name, "publish");
        }
        self.grant = grant;
    }

    /// Whether the credentials allow publishing on a channel.
    pub fn may_publish(&self, channel: &str) -> bool {
        match self.attachments.get(channel) {
            Some(a) => a.publish,
            None => self.grant.capability.allows(channel, "publish"),
        }
    }

    /// The live transport, if any.
    pub fn transport(&self) -> Option<TransportId> {
        match self.state {
            ConnState::Active(t) => Some(t),
            _ => None,
        }
    }
}

impl Hub {
    /// A transport opened: authenticate, then resume, recover or create a
    /// connection and answer CONNECTED; or answer ERROR and close.
    pub(super) fn on_open(&mut self, t: TransportId, request: ConnectRequest) {
        let format = ConnectParams::format_of(&request.query);
        let interval = self.config.heartbeat_interval_ms;
        self.transports.insert(
            t,
            Transport::new(format, interval, self.now.mono_ms, &self.config),
        );
        let params = match ConnectParams::parse(&request.query, request.authorization.as_deref()) {
            Ok(p) => p,
            Err(e) => return self.refuse(t, e),
        };
        let grant = match (&params.token, &params.key) {
            (Some(token), _) => self.auth.authenticate_token(token, self.now.wall_ms),
            (None, Some(key)) => self.auth.authenticate_key(key),
            (None, None) => Err(ErrorInfo::new(
                codes::NO_AUTH_METHOD,
                401,
                "no credentials: give key, access_token or an Authorization header",
            )),
        };
        let grant = match grant {
            Ok(g) => g,
            Err(e) => return self.refuse(t, e),
        };
        let identity = match auth::identity(&grant, params.client_id.as_deref()) {
            Ok(i) => i,
            Err(e) => return self.refuse(t, e),
        };
        let interval = params
            .heartbeat_interval
            .map_or(self.config.heartbeat_interval_ms, |ms| {
                ms.clamp(100, 600_000)
            });
        if let Some(tr) = self.transports.get_mut(&t) {
            tr.protocol_heartbeats = params.protocol_heartbeats;
            tr.heartbeat_interval = interval;
        }
        let remain = params
            .remain_present_for
            .map_or(self.config.remain_present_for_ms, |ms| ms.min(600_000));

        let mut error = None;
        if let Some(previous) = params.resume.as_deref().or(params.recover.as_deref()) {
            match self.keys.get(previous).cloned() {
                Some(id) => {
                    let compatible = self.connections.get(&id).is_some_and(|c| {
                        c.app == grant.app && c.identity.client_id == identity.client_id
                    });
                    if compatible {
                        if let Some(conn) = self.connections.get_mut(&id) {
                            conn.set_grant(grant);
                            conn.identity = identity;
                            conn.echo = params.echo;
                            conn.remain_present_for = remain;
                            conn.dropped_at = None;
                        }
                        if let Some(tr) = self.transports.get_mut(&t) {
                            tr.connection = Some(id.clone());
                        }
                        self.apply(&id, ConnEvent::Resume(t));
                        self.start_transport_timers(t, &id);
                        return;
                    }
                    error = Some(ErrorInfo::new(
                        80011,
                        400,
                        "connection not resumed: the credentials differ from the connection's",
                    ));
                }
                None => {
                    error = Some(ErrorInfo::new(
                        80008,
                        400,
                        "unable to resume or recover the connection: its state has expired or the key is unknown",
                    ));
                }
            }
        }

        let id = self.rng.id(10);
        let key = format!("{}!{}", self.rng.id(16), id);
        let conn = Connection {
            id: id.clone(),
            key: key.clone(),
            app: grant.app.clone(),
            state: ConnState::Active(t),
            grant,
            identity,
            echo: params.echo,
            remain_present_for: remain,
            next_msg_serial: 0,
            recent_acks: VecDeque::new(),
            attachments: BTreeMap::new(),
            dropped_at: None,
        };
        self.connections.insert(id.clone(), conn);
        self.keys.insert(key, id.clone());
        if let Some(tr) = self.transports.get_mut(&t) {
            tr.connection = Some(id.clone());
        }
        self.send_connected(t, &id, error);
        self.start_transport_timers(t, &id);
    }

    fn start_transport_timers(&mut self, t: TransportId, conn_id: &str) {
        if let Some(tr) = self.transports.get_mut(&t) {
            tr.heartbeat_due = self.now.mono_ms + tr.heartbeat_interval;
            let due = tr.heartbeat_due;
            self.timers.insert((due, Timer::Heartbeat(t)));
        }
        if let Some(expires) = self.connections.get(conn_id).and_then(|c| c.grant.expires) {
            let due = self.mono_at(expires);
            self.timers
                .insert((due, Timer::TokenExpiry(conn_id.to_owned())));
        }
    }

    /// The monotonic time of a wall-clock time.
    pub(super) fn mono_at(&self, wall_ms: i64) -> u64 {
        let delta = wall_ms.saturating_sub(self.now.wall_ms).max(0) as u64;
        self.now.mono_ms.saturating_add(delta)
    }

    /// Answers ERROR and closes the transport (bad credentials or params).
    pub(super) fn refuse(&mut self, t: TransportId, e: ErrorInfo) {
        self.send_error(t, None, e);
        self.close_transport(t);
    }

    fn send_connected(&mut self, t: TransportId, conn_id: &str, error: Option<ErrorInfo>) {
        let Some(conn) = self.connections.get(conn_id) else {
            return;
        };
        let idle = self
            .transports
            .get(&t)
            .map_or(self.config.heartbeat_interval_ms, |tr| {
                tr.heartbeat_interval
            });
        let mut pm = ProtocolMessage::new(Action::Connected);
        pm.connection_id = Some(conn.id.clone());
        pm.error = error;
        pm.connection_details = Some(ConnectionDetails {
            client_id: conn.identity.reported.clone(),
            connection_key: Some(conn.key.clone()),
            max_message_size: Some(self.max_message_size(&conn.app) as u64),
            max_frame_size: Some(self.config.max_frame_size as u64),
            max_inbound_rate: Some(u64::from(self.config.max_inbound_rate)),
            connection_state_ttl: Some(self.config.connection_state_ttl_ms),
            server_id: Some(self.config.server_id.clone()),
            max_idle_interval: Some(idle),
            ..ConnectionDetails::default()
        });
        self.send(t, &pm);
    }

    /// Feeds an event to a connection's state machine and carries out the
    /// actions of the transition.
    pub(super) fn apply(&mut self, conn_id: &str, event: ConnEvent) {
        let Some(conn) = self.connections.get(conn_id) else {
            return;
        };
        let Some((next, actions)) = transition(conn.state, &event) else {
            return;
        };
        if let Some(conn) = self.connections.get_mut(conn_id) {
            conn.state = next;
        }
        for action in actions {
            match action {
                ConnAction::SendConnected(t) => self.send_connected(t, conn_id, None),
                ConnAction::SendClosed(t) => self.send(t, &ProtocolMessage::new(Action::Closed)),
                ConnAction::SendDisconnected(t, e) => {
                    let mut pm = ProtocolMessage::new(Action::Disconnected);
                    pm.error = Some(e);
                    self.send(t, &pm);
                }
                ConnAction::SendError(t, e) => self.send_error(t, None, e),
                ConnAction::CloseTransport(t) => self.close_transport(t),
                ConnAction::PauseAttachments => {
                    if let Some(conn) = self.connections.get_mut(conn_id) {
                        conn.attachments.values_mut().for_each(|a| a.paused = true);
                    }
                }
                ConnAction::StartStateTtl => {
                    let now = self.now.mono_ms;
                    if let Some(conn) = self.connections.get_mut(conn_id) {
                        conn.dropped_at = Some(now);
                    }
                    let due = now + self.config.connection_state_ttl_ms;
                    self.timers
                        .insert((due, Timer::StateTtl(conn_id.to_owned())));
                }
                ConnAction::StartPresenceGrace => {
                    let remain = self
                        .connections
                        .get(conn_id)
                        .map_or(0, |c| c.remain_present_for);
                    let due = self.now.mono_ms + remain;
                    self.timers
                        .insert((due, Timer::PresenceGrace(conn_id.to_owned())));
                }
                ConnAction::LeavePresence => self.leave_members(conn_id, None),
                ConnAction::DetachAll => self.detach_all(conn_id),
                ConnAction::Forget => {
                    if let Some(conn) = self.connections.remove(conn_id) {
                        self.keys.remove(&conn.key);
                    }
                }
            }
        }
    }

    /// AUTH from the client (RTN22, RTC8): a new token for the same
    /// connection; CONNECTED on success, ERROR otherwise.
    pub(super) fn on_auth(&mut self, conn_id: &str, t: TransportId, pm: ProtocolMessage) {
        let token = pm.auth.map(|a| a.access_token).unwrap_or_default();
        let grant = match self.auth.authenticate_token(&token, self.now.wall_ms) {
            Ok(g) => g,
            Err(e) => return self.apply(conn_id, ConnEvent::Reject(e)),
        };
        let Some(conn) = self.connections.get(conn_id) else {
            return;
        };
        if grant.app != conn.app {
            let e = ErrorInfo::new(40102, 401, "the new token is for another app");
            return self.apply(conn_id, ConnEvent::Reject(e));
        }
        let identity = match auth::identity(&grant, conn.identity.client_id.as_deref()) {
            Ok(i) if i.client_id == conn.identity.client_id => i,
            Ok(_) | Err(_) => {
                let e = ErrorInfo::new(
                    codes::INVALID_CLIENT_ID,
                    400,
                    "the new token's clientId differs from the connection's",
                );
                return self.apply(conn_id, ConnEvent::Reject(e));
            }
        };
        let expires = grant.expires;
        if let Some(conn) = self.connections.get_mut(conn_id) {
            conn.set_grant(grant);
            conn.identity = identity;
        }
        if let Some(expires) = expires {
            let due = self.mono_at(expires);
            self.timers
                .insert((due, Timer::TokenExpiry(conn_id.to_owned())));
        }
        self.send_connected(t, conn_id, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_covers_the_lifecycle() {
        let t1 = TransportId(1);
        let t2 = TransportId(2);
        let (s, a) = transition(ConnState::Active(t1), &ConnEvent::TransportLost).expect("lost");
        assert_eq!(s, ConnState::Dropped);
        assert!(
            a.contains(&ConnAction::StartStateTtl) && a.contains(&ConnAction::PauseAttachments)
        );
        let (s, a) = transition(s, &ConnEvent::Resume(t2)).expect("resume");
        assert_eq!(
            (s, a),
            (ConnState::Active(t2), vec![ConnAction::SendConnected(t2)])
        );
        let (s, a) = transition(s, &ConnEvent::Close).expect("close");
        assert_eq!(s, ConnState::Closed);
        assert_eq!(a.first(), Some(&ConnAction::SendClosed(t2)));
        assert!(a.contains(&ConnAction::Forget));
        // Late timers and events after the end are ignored.
        assert!(transition(ConnState::Closed, &ConnEvent::StateTtlOver).is_none());
        assert!(transition(ConnState::Active(t1), &ConnEvent::PresenceGraceOver).is_none());
        assert!(transition(ConnState::Dropped, &ConnEvent::Close).is_none());
    }
}

//! Helpers shared by the presence operation tests: a scripted service in
//! the shape the specs use, presence commands and member builders.

#![allow(dead_code)]

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use ably_proto::client::{
    ClientOptions, Command, Completion, ConnectionState, OpId, PresenceQuery, PresenceRequest,
};
use ably_proto::{
    Action, ConnectionDetails, Data, ErrorInfo, Flags, PresenceAction, PresenceMessage,
    ProtocolMessage,
};

use crate::harness::*;

/// One second of fake time, the usual limit for reaching a state.
pub const SEC: Duration = Duration::from_secs(1);

/// The spec's `NOW()` for messages the scripted service makes.
pub const NOW_MS: i64 = START_WALL_MS;

/// Options with a key and this clientId, as most specs use.
pub fn options_as(client_id: Option<&str>) -> ClientOptions {
    let mut opts = key_options();
    opts.client_id = client_id.map(str::to_owned);
    opts
}

/// A CONNECTED frame with this connectionId and the usual details.
pub fn connected_as(connection_id: &str) -> ProtocolMessage {
    connected(connection_id, &format!("{connection_id}-key"))
}

/// A harness whose `n`th connection attempt gets CONNECTED with
/// connectionId `conn-n`; the counter is shared with the caller.
pub fn numbered_connections(opts: ClientOptions) -> (Harness, Rc<Cell<usize>>) {
    let count = Rc::new(Cell::new(0));
    let mut h = Harness::new(opts);
    let c = count.clone();
    h.on_attempt = Some(Box::new(move |n, _| {
        c.set(n);
        Attempt::Success(connected_as(&format!("conn-{n}")))
    }));
    (h, count)
}

/// A harness whose every attempt gets CONNECTED with this connectionId.
pub fn connection_as(opts: ClientOptions, connection_id: &str) -> Harness {
    let mut h = Harness::new(opts);
    let id = connection_id.to_owned();
    h.on_attempt = Some(Box::new(move |_, _| Attempt::Success(connected_as(&id))));
    h
}

/// `client.connect()` and wait for CONNECTED.
pub fn connect(h: &mut Harness) {
    h.connect();
    h.await_state(ConnectionState::Connected, SEC);
}

/// The service's answer to ATTACH: ATTACHED with these flags.
pub fn attached_reply(pm: &ProtocolMessage, flags: Flags) -> Reply {
    Reply::Send(attached_with(
        pm.channel.as_deref().unwrap_or_default(),
        flags,
        None,
    ))
}

/// A service that answers ATTACH with ATTACHED (with `flags`) and ACKs
/// every PRESENCE.
pub fn acking_service(flags: Flags) -> MessageHandler {
    Box::new(move |pm| match pm.action {
        Action::Attach => vec![attached_reply(pm, flags)],
        Action::Presence => vec![Reply::Send(ack(pm.msg_serial.unwrap_or(0), 1))],
        _ => vec![],
    })
}

/// A service that answers ATTACH with ATTACHED (with `flags`) and nothing
/// else.
pub fn attach_only(flags: Flags) -> MessageHandler {
    Box::new(move |pm| match pm.action {
        Action::Attach => vec![attached_reply(pm, flags)],
        _ => vec![],
    })
}

/// The service's echo of a PRESENCE frame from the client on connection
/// `connection_id`: each message back with that connectionId, an id
/// `<connectionId>:<msgSerial>:<index>`, `NOW()` and the clientId given
/// or `default_client`.
pub fn echo(pm: &ProtocolMessage, connection_id: &str, default_client: &str) -> Vec<Reply> {
    let channel = pm.channel.clone().unwrap_or_default();
    let serial = pm.msg_serial.unwrap_or(0);
    pm.presence
        .iter()
        .enumerate()
        .map(|(idx, p)| {
            let msg = PresenceMessage {
                id: Some(format!("{connection_id}:{serial}:{idx}")),
                action: p.action,
                client_id: Some(
                    p.client_id
                        .clone()
                        .unwrap_or_else(|| default_client.to_owned()),
                ),
                connection_id: Some(connection_id.to_owned()),
                encoding: p.encoding.clone(),
                data: p.data.clone(),
                extras: None,
                timestamp: Some(NOW_MS),
            };
            let mut frame = presence_frame(&channel, vec![msg]);
            frame.connection_id = Some(connection_id.to_owned());
            Reply::Send(frame)
        })
        .collect()
}

/// A presence message from the service.
pub fn member(
    action: PresenceAction,
    client: &str,
    conn: &str,
    id: &str,
    timestamp: i64,
    data: Data,
) -> PresenceMessage {
    PresenceMessage {
        id: Some(id.into()),
        action,
        client_id: Some(client.into()),
        connection_id: Some(conn.into()),
        encoding: None,
        data,
        extras: None,
        timestamp: Some(timestamp),
    }
}

/// A PRESENT member without data, as the SYNC frames of the specs carry.
pub fn present(client: &str, conn: &str, id: &str, timestamp: i64) -> PresenceMessage {
    member(
        PresenceAction::Present,
        client,
        conn,
        id,
        timestamp,
        Data::None,
    )
}

/// `enter`/`update`/`leave` (`client_id` `None`) or the `*Client` variant.
pub fn presence_op(
    h: &mut Harness,
    channel: &str,
    action: PresenceAction,
    client_id: Option<&str>,
    data: Data,
) -> OpId {
    h.command(Command::Presence {
        channel: channel.into(),
        request: PresenceRequest {
            action,
            client_id: client_id.map(str::to_owned),
            data,
            extras: None,
        },
    })
}

/// `presence.enter(data)`.
pub fn enter(h: &mut Harness, channel: &str, data: Data) -> OpId {
    presence_op(h, channel, PresenceAction::Enter, None, data)
}

/// `presence.enterClient(clientId, data)`.
pub fn enter_client(h: &mut Harness, channel: &str, client_id: &str, data: Data) -> OpId {
    presence_op(h, channel, PresenceAction::Enter, Some(client_id), data)
}

/// Asserts an operation succeeded.
pub fn assert_done(h: &Harness, op: OpId) {
    assert_eq!(h.completion(op), Some(Ok(Completion::Done)), "{op:?}");
}

/// The error an operation failed with; panics if it did not fail.
pub fn failed(h: &Harness, op: OpId) -> ErrorInfo {
    match h.completion(op) {
        Some(Err(e)) => e,
        other => panic!("expected {op:?} to fail, got {other:?}"),
    }
}

/// `presence.get(params)`.
pub fn get(h: &mut Harness, channel: &str, query: PresenceQuery) -> OpId {
    h.command(Command::PresenceGet {
        channel: channel.into(),
        query,
    })
}

/// `get(waitForSync: false)`.
pub fn no_wait() -> PresenceQuery {
    PresenceQuery {
        wait_for_sync: false,
        ..PresenceQuery::default()
    }
}

/// The members a `get` returned; panics unless it succeeded.
pub fn members(h: &Harness, op: OpId) -> Vec<PresenceMessage> {
    match h.completion(op) {
        Some(Ok(Completion::Members(m))) => m,
        other => panic!("expected members from {op:?}, got {other:?}"),
    }
}

/// The sorted clientIds of some members.
pub fn client_ids(members: &[PresenceMessage]) -> Vec<String> {
    let mut ids: Vec<String> = members
        .iter()
        .map(|m| m.client_id.clone().unwrap_or_default())
        .collect();
    ids.sort();
    ids
}

/// PRESENCE frames the client sent (the spec's `captured_presence`).
pub fn sent_presence(h: &Harness) -> Vec<ProtocolMessage> {
    h.sent_with(Action::Presence)
}

/// Presence events on a channel with this action (a subscriber filtering
/// by action, RTP6b).
pub fn events_with(h: &Harness, channel: &str, action: PresenceAction) -> Vec<PresenceMessage> {
    h.presence_events(channel)
        .into_iter()
        .filter(|m| m.action == action)
        .cloned()
        .collect()
}

/// A string payload.
pub fn text(s: &str) -> Data {
    Data::String(s.into())
}

/// CONNECTED details with a connectionStateTtl, for reaching SUSPENDED.
pub fn details_with_ttl(key: &str, ttl_ms: u64) -> ConnectionDetails {
    ConnectionDetails {
        connection_key: Some(key.into()),
        max_idle_interval: Some(15_000),
        connection_state_ttl: Some(ttl_ms),
        ..ConnectionDetails::default()
    }
}

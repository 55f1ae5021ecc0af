//! A first pass over channels and presence in the core.

use std::time::Duration;

use ably_proto::client::{
    ChannelState, Command, Completion, ConnectionState, PresenceQuery, PresenceRequest,
};
use ably_proto::{Data, Flags, Message, PresenceAction, PresenceMessage};

use crate::harness::*;

fn member(client: &str, conn: &str, id: &str, action: PresenceAction) -> PresenceMessage {
    PresenceMessage {
        id: Some(id.into()),
        action,
        client_id: Some(client.into()),
        connection_id: Some(conn.into()),
        encoding: None,
        data: Data::None,
        extras: None,
        timestamp: Some(START_WALL_MS),
    }
}

#[test]
fn attach_receive_publish_detach() {
    let mut h = Harness::connecting_ok(key_options());
    h.on_message = Some(cooperative_service());
    h.connect();
    h.await_state(ConnectionState::Connected, Duration::from_secs(1));
    let op = h.attach("chat");
    assert_eq!(h.completion(op), Some(Ok(Completion::Done)));
    assert_eq!(h.channel_state("chat"), ChannelState::Attached);
    h.send_to_client(message_frame("chat", vec![Message::new("greeting", "hi")]));
    assert_eq!(h.messages("chat").len(), 1);
    let publish = h.command(Command::Publish {
        channel: "chat".into(),
        messages: vec![Message::new("a", "b")],
    });
    assert_eq!(
        h.completion(publish),
        Some(Ok(Completion::Published(vec![None])))
    );
    let op = h.detach("chat");
    assert_eq!(h.completion(op), Some(Ok(Completion::Done)));
    assert_eq!(
        h.channel_states("chat"),
        vec![
            ChannelState::Attaching,
            ChannelState::Attached,
            ChannelState::Detaching,
            ChannelState::Detached
        ]
    );
}

#[test]
fn presence_sync_get_and_residual_leave() {
    let mut opts = key_options();
    opts.client_id = Some("me".into());
    let mut h = Harness::connecting_ok(opts);
    h.on_message = Some(Box::new(|pm| match pm.action {
        ably_proto::Action::Attach => vec![Reply::Send(attached_with(
            "room",
            Flags::HAS_PRESENCE,
            Some("s1"),
        ))],
        ably_proto::Action::Presence => vec![Reply::Send(ack(pm.msg_serial.unwrap_or(0), 1))],
        _ => vec![],
    }));
    h.connect();
    h.await_state(ConnectionState::Connected, Duration::from_secs(1));
    let get = h.command(Command::PresenceGet {
        channel: "room".into(),
        query: PresenceQuery::default(),
    });
    assert_eq!(h.completion(get), None, "waits for the sync");
    h.send_to_client(sync_frame(
        "room",
        Some("seq1:cursor1"),
        vec![member("a", "c1", "c1:0:0", PresenceAction::Present)],
    ));
    h.send_to_client(sync_frame(
        "room",
        Some("seq1:"),
        vec![member("b", "c2", "c2:0:0", PresenceAction::Present)],
    ));
    match h.completion(get) {
        Some(Ok(Completion::Members(m))) => assert_eq!(m.len(), 2),
        other => panic!("{other:?}"),
    }
    // A new sync without b: b leaves with a synthesized LEAVE.
    h.send_to_client(sync_frame(
        "room",
        Some("seq2:"),
        vec![member("a", "c1", "c1:0:0", PresenceAction::Present)],
    ));
    let leaves: Vec<_> = h
        .presence_events("room")
        .into_iter()
        .filter(|p| p.action == PresenceAction::Leave)
        .collect();
    assert_eq!(leaves.len(), 1);
    assert_eq!(leaves[0].client_id.as_deref(), Some("b"));
    let enter = h.command(Command::Presence {
        channel: "room".into(),
        request: PresenceRequest {
            action: PresenceAction::Enter,
            client_id: None,
            data: Data::from("hello"),
            extras: None,
        },
    });
    assert_eq!(h.completion(enter), Some(Ok(Completion::Done)));
}

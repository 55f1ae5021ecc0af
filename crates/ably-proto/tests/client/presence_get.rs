//! `presence.get` (RTP11), `presence.history` (RTP12) and presence
//! subscriptions (RTP6, RTP7), ported from
//! `uts/realtime/unit/presence/realtime_presence_get.md`,
//! `realtime_presence_history.md` and `realtime_presence_subscribe.md`.
//!
//! Listeners live in the adapters: the core delivers every presence event
//! of an attached channel as `Event::Presence`, and a subscriber filtering
//! by action is `events_with`; an implicit attach on subscribe is the
//! adapter sending `Command::Attach`.

use std::time::Duration;

use ably_proto::client::{ChannelState, ConnectionState, PresenceQuery};
use ably_proto::{Action, Data, Flags, PresenceAction, PresenceMessage};

use PresenceAction::{Enter, Leave, Present, Update};

use crate::harness::*;
use crate::presence_ops_util::*;

/// A connected harness with a key and no clientId on `conn-1`.
fn anonymous(handler: MessageHandler) -> Harness {
    let mut h = connection_as(options_as(None), "conn-1");
    h.on_message = Some(handler);
    connect(&mut h);
    h
}

/// A service that answers ATTACH with ATTACHED (HAS_PRESENCE) followed by
/// a SYNC frame with these members.
fn attach_then_sync(channel_serial: &'static str, sync: Vec<PresenceMessage>) -> MessageHandler {
    Box::new(move |pm| match pm.action {
        Action::Attach => {
            let channel = pm.channel.as_deref().unwrap_or_default();
            vec![
                attached_reply(pm, Flags::HAS_PRESENCE),
                Reply::Send(sync_frame(channel, Some(channel_serial), sync.clone())),
            ]
        }
        _ => vec![],
    })
}

// ---- get (RTP11) -------------------------------------------------------------------

/// realtime/unit/RTP11a/get-returns-members-single-sync-0
#[test]
fn rtp11a_get_returns_members_single_sync_0() {
    let ch = "test-RTP11a-single";
    let mut h = anonymous(attach_only(Flags::HAS_PRESENCE));
    attach_ok(&mut h, ch);
    let get = get(&mut h, ch, PresenceQuery::default());
    assert_eq!(h.completion(get), None, "waits for the sync");

    let mut alice = present("alice", "c1", "c1:0:0", 100);
    alice.data = text("a");
    let mut bob = present("bob", "c2", "c2:0:0", 100);
    bob.data = text("b");
    h.send_to_client(sync_frame(ch, Some("seq1:"), vec![alice, bob]));
    let members = members(&h, get);
    assert_eq!(members.len(), 2);
    assert_eq!(client_ids(&members), ["alice", "bob"]);
}

/// realtime/unit/RTP11a/get-waits-for-multi-sync-1
#[test]
fn rtp11a_get_waits_for_multi_sync_1() {
    let ch = "test-RTP11c1-multi";
    let mut h = anonymous(attach_only(Flags::HAS_PRESENCE));
    attach_ok(&mut h, ch);
    let get = get(&mut h, ch, PresenceQuery::default());
    assert_eq!(h.completion(get), None);

    h.send_to_client(sync_frame(
        ch,
        Some("seq1:cursor1"),
        vec![present("alice", "c1", "c1:0:0", 100)],
    ));
    assert_eq!(h.completion(get), None, "the sync is not complete");
    h.send_to_client(sync_frame(
        ch,
        Some("seq1:"),
        vec![present("bob", "c2", "c2:0:0", 100)],
    ));
    let members = members(&h, get);
    assert_eq!(members.len(), 2);
    assert_eq!(client_ids(&members), ["alice", "bob"]);
}

/// realtime/unit/RTP11c1/get-no-wait-returns-immediately-0
#[test]
fn rtp11c1_get_no_wait_returns_immediately_0() {
    let ch = "test-RTP11c1-nowait";
    let mut h = anonymous(attach_then_sync(
        "seq1:cursor1",
        vec![present("alice", "c1", "c1:0:0", 100)],
    ));
    attach_ok(&mut h, ch);
    let get = get(&mut h, ch, no_wait());
    let members = members(&h, get);
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].client_id.as_deref(), Some("alice"));
}

/// realtime/unit/RTP11c2/get-filtered-by-clientid-0
#[test]
fn rtp11c2_get_filtered_by_clientid_0() {
    let ch = "test-RTP11c2";
    let mut h = anonymous(attach_then_sync(
        "seq1:",
        vec![
            present("alice", "c1", "c1:0:0", 100),
            present("bob", "c2", "c2:0:0", 100),
            present("alice", "c3", "c3:0:0", 100),
        ],
    ));
    attach_ok(&mut h, ch);
    let query = PresenceQuery {
        client_id: Some("alice".into()),
        ..PresenceQuery::default()
    };
    let get = get(&mut h, ch, query);
    let members = members(&h, get);
    assert_eq!(members.len(), 2);
    assert!(
        members
            .iter()
            .all(|m| m.client_id.as_deref() == Some("alice"))
    );
}

/// realtime/unit/RTP11c3/get-filtered-by-connectionid-0
#[test]
fn rtp11c3_get_filtered_by_connectionid_0() {
    let ch = "test-RTP11c3";
    let mut h = anonymous(attach_then_sync(
        "seq1:",
        vec![
            present("alice", "c1", "c1:0:0", 100),
            present("bob", "c2", "c2:0:0", 100),
            present("carol", "c1", "c1:0:1", 100),
        ],
    ));
    attach_ok(&mut h, ch);
    let query = PresenceQuery {
        connection_id: Some("c1".into()),
        ..PresenceQuery::default()
    };
    let get = get(&mut h, ch, query);
    let members = members(&h, get);
    assert_eq!(members.len(), 2);
    assert!(
        members
            .iter()
            .all(|m| m.connection_id.as_deref() == Some("c1"))
    );
}

/// realtime/unit/RTP11b/get-implicitly-attaches-0
#[test]
fn rtp11b_get_implicitly_attaches_0() {
    let ch = "test-RTP11b";
    let mut h = anonymous(attach_only(Flags::NONE));
    assert_eq!(h.channel_state(ch), ChannelState::Initialized);
    let get_op = get(&mut h, ch, no_wait());
    let _members = members(&h, get_op);
    assert_eq!(h.channel_state(ch), ChannelState::Attached);
    assert_eq!(h.sent_with(Action::Attach).len(), 1);

    // The get waits for the implicit attach to complete (RTL33b), even
    // without waitForSync.
    let ch = "test-RTP11b-slow";
    h.on_message = Some(Box::new(|_| vec![]));
    let get_op = get(&mut h, ch, no_wait());
    assert_eq!(h.channel_state(ch), ChannelState::Attaching);
    assert_eq!(h.completion(get_op), None, "waits for the attach");
    h.send_to_client(attached(ch));
    assert_eq!(members(&h, get_op), Vec::<PresenceMessage>::new());
    assert_eq!(h.channel_state(ch), ChannelState::Attached);
}

/// A connected, attached harness whose channel has `alice` from a
/// complete SYNC and is then SUSPENDED with the connection (RTL3c).
fn suspended_with_alice(ch: &'static str) -> Harness {
    let mut opts = options_as(None);
    opts.disconnected_retry_timeout = Duration::from_millis(500);
    let mut h = Harness::new(opts);
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::Success(connected_with(
            "conn-1",
            "conn-1-key",
            details_with_ttl("conn-1-key", 5_000),
        ))
    }));
    h.on_message = Some(attach_then_sync(
        "seq1:",
        vec![present("alice", "c1", "c1:0:0", 100)],
    ));
    connect(&mut h);
    attach_ok(&mut h, ch);
    assert_eq!(h.client.presence_members(ch).len(), 1);

    // Every reconnection attempt is refused until the channel suspends.
    h.on_attempt = Some(Box::new(|_, _| Attempt::Refused));
    h.simulate_disconnect();
    let ok = h.run_until(Duration::from_secs(60), |h| {
        h.channel_state(ch) == ChannelState::Suspended
    });
    assert!(ok, "channel suspended; connection {:?}", h.states());
    assert_eq!(h.client.state(), ConnectionState::Suspended);
    h
}

/// realtime/unit/RTP11d/get-suspended-errors-default-0
#[test]
fn rtp11d_get_suspended_errors_default_0() {
    let ch = "test-RTP11d";
    let mut h = suspended_with_alice(ch);
    let get = get(&mut h, ch, PresenceQuery::default());
    assert_eq!(failed(&h, get).code, 91005);
}

/// realtime/unit/RTP11d/get-suspended-no-wait-returns-1
#[test]
fn rtp11d_get_suspended_no_wait_returns_1() {
    let ch = "test-RTP11d-nowait";
    let mut h = suspended_with_alice(ch);
    let get = get(&mut h, ch, no_wait());
    let members = members(&h, get);
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].client_id.as_deref(), Some("alice"));
}

// ---- subscribe (RTP6) --------------------------------------------------------------

/// realtime/unit/RTP6a/subscribe-all-presence-events-0
#[test]
fn rtp6a_subscribe_all_presence_events_0() {
    let ch = "test-RTP6a";
    // The spec's ATTACHED has HAS_PRESENCE but no SYNC follows; a LEAVE
    // during a SYNC is kept as ABSENT and not emitted (RTP2h2a), so the
    // service here completes the announced SYNC, with nobody, at once.
    let mut h = anonymous(attach_then_sync("seq1:", vec![]));
    // subscribe(listener) attaches implicitly: the adapter's attach (RTP6d).
    h.attach(ch);
    assert_eq!(h.channel_state(ch), ChannelState::Attached);

    h.send_to_client(presence_frame(
        ch,
        vec![member(Enter, "alice", "c1", "c1:0:0", 1000, Data::None)],
    ));
    h.send_to_client(presence_frame(
        ch,
        vec![member(
            Update,
            "alice",
            "c1",
            "c1:1:0",
            2000,
            text("updated"),
        )],
    ));
    h.send_to_client(presence_frame(
        ch,
        vec![member(Leave, "alice", "c1", "c1:2:0", 3000, Data::None)],
    ));

    let received = h.presence_events(ch);
    assert_eq!(received.len(), 3);
    assert_eq!(received[0].action, Enter);
    assert_eq!(received[0].client_id.as_deref(), Some("alice"));
    assert_eq!(received[1].action, Update);
    assert_eq!(received[1].data, text("updated"));
    assert_eq!(received[2].action, Leave);
}

/// ENTER, UPDATE and LEAVE of alice in one PRESENCE frame.
fn enter_update_leave(ch: &str) -> ably_proto::ProtocolMessage {
    presence_frame(
        ch,
        vec![
            member(Enter, "alice", "c1", "c1:0:0", 1000, Data::None),
            member(Update, "alice", "c1", "c1:1:0", 2000, Data::None),
            member(Leave, "alice", "c1", "c1:2:0", 3000, Data::None),
        ],
    )
}

/// realtime/unit/RTP6b/subscribe-filtered-by-action-0
#[test]
fn rtp6b_subscribe_filtered_by_action_0() {
    let ch = "test-RTP6b";
    let mut h = anonymous(attach_only(Flags::NONE));
    attach_ok(&mut h, ch);
    h.send_to_client(enter_update_leave(ch));

    let enters = events_with(&h, ch, Enter);
    assert_eq!(enters.len(), 1);
    assert_eq!(enters[0].action, Enter);
    let leaves = events_with(&h, ch, Leave);
    assert_eq!(leaves.len(), 1);
    assert_eq!(leaves[0].action, Leave);
}

/// realtime/unit/RTP6b/subscribe-filtered-multiple-actions-1
#[test]
fn rtp6b_subscribe_filtered_multiple_actions_1() {
    let ch = "test-RTP6b-multi";
    let mut h = anonymous(attach_only(Flags::NONE));
    attach_ok(&mut h, ch);
    h.send_to_client(enter_update_leave(ch));

    let enter_leave: Vec<_> = h
        .presence_events(ch)
        .into_iter()
        .filter(|m| matches!(m.action, Enter | Leave))
        .collect();
    assert_eq!(enter_leave.len(), 2);
    assert_eq!(enter_leave[0].action, Enter);
    assert_eq!(enter_leave[1].action, Leave);
}

/// realtime/unit/RTP6d/subscribe-implicitly-attaches-0
#[test]
fn rtp6d_subscribe_implicitly_attaches_0() {
    let ch = "test-RTP6d";
    let mut h = anonymous(attach_only(Flags::NONE));
    assert_eq!(h.channel_state(ch), ChannelState::Initialized);
    // subscribe() with attachOnSubscribe: the adapter's implicit attach.
    h.attach(ch);
    let ok = h.run_until(SEC, |h| h.channel_state(ch) == ChannelState::Attached);
    assert!(ok);
    assert_eq!(h.sent_with(Action::Attach).len(), 1);
    assert_eq!(h.channel_state(ch), ChannelState::Attached);
}

/// realtime/unit/RTP6/presence-events-update-map-0
#[test]
fn rtp6_presence_events_update_map_0() {
    let ch = "test-RTP6-map";
    let mut h = anonymous(attach_only(Flags::NONE));
    attach_ok(&mut h, ch);
    h.send_to_client(presence_frame(
        ch,
        vec![member(Enter, "alice", "c1", "c1:0:0", 1000, text("hello"))],
    ));
    let get = get(&mut h, ch, no_wait());
    let members = members(&h, get);
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].client_id.as_deref(), Some("alice"));
    assert_eq!(members[0].data, text("hello"));
    assert_eq!(members[0].action, Present); // RTP2d2
}

/// realtime/unit/RTP6/multiple-presence-in-single-message-1
#[test]
fn rtp6_multiple_presence_in_single_message_1() {
    let ch = "test-RTP6-batch";
    let mut h = anonymous(attach_only(Flags::NONE));
    attach_ok(&mut h, ch);
    h.send_to_client(presence_frame(
        ch,
        vec![
            member(Enter, "alice", "c1", "c1:0:0", 1000, Data::None),
            member(Enter, "bob", "c2", "c2:0:0", 1000, Data::None),
            member(Enter, "carol", "c3", "c3:0:0", 1000, Data::None),
        ],
    ));
    let received = h.presence_events(ch);
    assert_eq!(received.len(), 3);
    assert_eq!(received[0].client_id.as_deref(), Some("alice"));
    assert_eq!(received[1].client_id.as_deref(), Some("bob"));
    assert_eq!(received[2].client_id.as_deref(), Some("carol"));
}

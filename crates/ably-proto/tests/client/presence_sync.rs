//! Presence SYNC on the presence map (RTP18, RTP19) and the effects of
//! channel states on presence (RTP1, RTP5, RTP13, RTL11), ported from
//! `uts/realtime/unit/presence/presence_sync.md` and
//! `realtime_presence_channel_state.md`.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use ably_proto::client::{
    ChannelState, Command, Completion, ConnectionState, PresenceMap, PresenceQuery, PresenceRequest,
};
use ably_proto::{
    Action, Data, ErrorInfo, Flags, PresenceAction, PresenceMessage, ProtocolMessage,
};

use PresenceAction::{Absent, Enter, Leave, Present, Update};

use crate::harness::*;
use crate::presence_map::{member, member_data};

// ---- SYNC on the map (RTP18, RTP19) ------------------------------------------------

/// realtime/unit/RTP18a/startsync-sets-flag-0
#[test]
fn rtp18a_startsync_sets_flag_0() {
    let mut map = PresenceMap::new();
    assert!(!map.is_sync_in_progress());
    map.start_sync();
    assert!(map.is_sync_in_progress());
}

/// realtime/unit/RTP18b/endsync-clears-flag-0
#[test]
fn rtp18b_endsync_clears_flag_0() {
    let mut map = PresenceMap::new();
    map.start_sync();
    assert!(map.is_sync_in_progress());
    map.end_sync(START_WALL_MS);
    assert!(!map.is_sync_in_progress());
}

/// realtime/unit/RTP19/stale-members-leave-after-sync-0
#[test]
fn rtp19_stale_members_leave_after_sync_0() {
    let mut map = PresenceMap::new();
    map.put(member(Enter, "alice", "c1", "c1:0:0", 100));
    map.put(member(Enter, "bob", "c2", "c2:0:0", 100));
    assert_eq!(map.values().count(), 2);
    map.start_sync();
    map.put(member(Present, "alice", "c1", "c1:1:0", 200));
    let leave_events = map.end_sync(START_WALL_MS);
    assert_eq!(leave_events.len(), 1);
    assert_eq!(leave_events[0].client_id.as_deref(), Some("bob"));
    assert_eq!(leave_events[0].action, Leave);
    assert_eq!(map.values().count(), 1);
    assert!(map.get("c1:alice").is_some());
    assert!(map.get("c2:bob").is_none());
}

/// realtime/unit/RTP19/synth-leave-null-id-timestamp-1
#[test]
fn rtp19_synth_leave_null_id_timestamp_1() {
    let mut map = PresenceMap::new();
    map.put(member_data(Enter, "bob", "c2", "c2:0:0", 100, "bob-data"));
    // The map is sans-IO: "now" is the wall clock the core passes in.
    let now = START_WALL_MS + 1234;
    map.start_sync();
    let leave_events = map.end_sync(now);
    assert_eq!(leave_events.len(), 1);
    let leave = &leave_events[0];
    assert_eq!(leave.action, Leave);
    assert_eq!(leave.client_id.as_deref(), Some("bob"));
    assert_eq!(leave.connection_id.as_deref(), Some("c2"));
    assert_eq!(leave.data, Data::from("bob-data"));
    assert_eq!(leave.id, None);
    assert_eq!(leave.timestamp, Some(now));
}

/// realtime/unit/RTP19/updated-members-survive-sync-2
#[test]
fn rtp19_updated_members_survive_sync_2() {
    let mut map = PresenceMap::new();
    map.put(member(Enter, "alice", "c1", "c1:0:0", 100));
    map.put(member(Enter, "bob", "c2", "c2:0:0", 100));
    map.put(member(Enter, "carol", "c3", "c3:0:0", 100));
    map.start_sync();
    map.put(member(Present, "alice", "c1", "c1:1:0", 200));
    map.put(member_data(Update, "bob", "c2", "c2:1:0", 200, "new-data"));
    let leave_events = map.end_sync(START_WALL_MS);
    assert_eq!(leave_events.len(), 1);
    assert_eq!(leave_events[0].client_id.as_deref(), Some("carol"));
    assert_eq!(map.values().count(), 2);
    assert!(map.get("c1:alice").is_some());
    assert_eq!(map.get("c2:bob").expect("bob").data, Data::from("new-data"));
}

/// realtime/unit/RTP18a/new-sync-discards-previous-1
#[test]
fn rtp18a_new_sync_discards_previous_1() {
    let mut map = PresenceMap::new();
    map.put(member(Enter, "alice", "c1", "c1:0:0", 100));
    map.put(member(Enter, "bob", "c2", "c2:0:0", 100));
    map.start_sync();
    map.put(member(Present, "alice", "c1", "c1:1:0", 200));
    map.start_sync(); // a new sequence
    map.put(member(Present, "alice", "c1", "c1:2:0", 300));
    map.put(member(Present, "bob", "c2", "c2:1:0", 300));
    let leave_events = map.end_sync(START_WALL_MS);
    assert!(leave_events.is_empty());
    assert_eq!(map.values().count(), 2);
    assert!(map.get("c1:alice").is_some());
    assert!(map.get("c2:bob").is_some());
}

/// realtime/unit/RTP18c/single-message-sync-0
#[test]
fn rtp18c_single_message_sync_0() {
    let mut map = PresenceMap::new();
    map.put(member(Enter, "alice", "c1", "c1:0:0", 100));
    map.put(member(Enter, "bob", "c2", "c2:0:0", 100));
    map.start_sync();
    map.put(member(Present, "alice", "c1", "c1:1:0", 200));
    let leave_events = map.end_sync(START_WALL_MS);
    assert_eq!(leave_events.len(), 1);
    assert_eq!(leave_events[0].client_id.as_deref(), Some("bob"));
    assert_eq!(leave_events[0].action, Leave);
    assert_eq!(map.values().count(), 1);
    assert!(map.get("c1:alice").is_some());
    assert!(!map.is_sync_in_progress());
}

/// realtime/unit/RTP19a/no-has-presence-clears-members-0
#[test]
fn rtp19a_no_has_presence_clears_members_0() {
    let mut map = PresenceMap::new();
    map.put(member_data(Enter, "alice", "c1", "c1:0:0", 100, "a"));
    map.put(member_data(Enter, "bob", "c2", "c2:0:0", 100, "b"));
    map.put(member_data(Enter, "carol", "c3", "c3:0:0", 100, "c"));
    map.start_sync();
    let leave_events = map.end_sync(START_WALL_MS);
    assert_eq!(leave_events.len(), 3);
    for (client, d) in [("alice", "a"), ("bob", "b"), ("carol", "c")] {
        let leave = leave_events
            .iter()
            .find(|e| e.client_id.as_deref() == Some(client))
            .unwrap_or_else(|| panic!("LEAVE for {client}"));
        assert_eq!(leave.action, Leave);
        assert_eq!(leave.data, Data::from(d));
        assert_eq!(leave.id, None);
    }
    assert_eq!(map.values().count(), 0);
}

/// realtime/unit/RTP2h2a/leave-during-sync-absent-cleanup-0
#[test]
fn rtp2h2a_leave_during_sync_absent_cleanup_0() {
    let mut map = PresenceMap::new();
    map.put(member(Enter, "alice", "c1", "c1:0:0", 100));
    map.put(member(Enter, "bob", "c2", "c2:0:0", 100));
    map.start_sync();
    map.put(member(Present, "alice", "c1", "c1:1:0", 200));
    let leave_result = map.remove(member(Leave, "bob", "c2", "c2:1:0", 200));
    assert!(leave_result.is_none());
    assert_eq!(map.get("c2:bob").expect("bob kept").action, Absent);
    let leave_events = map.end_sync(START_WALL_MS);
    assert!(leave_events.is_empty(), "ABSENT members go without a LEAVE");
    assert!(map.get("c2:bob").is_none());
    assert_eq!(map.values().count(), 1);
    assert!(map.get("c1:alice").is_some());
}

/// realtime/unit/RTP19/empty-map-sync-no-leaves-3
#[test]
fn rtp19_empty_map_sync_no_leaves_3() {
    let mut map = PresenceMap::new();
    map.start_sync();
    map.put(member(Present, "alice", "c1", "c1:0:0", 100));
    let leave_events = map.end_sync(START_WALL_MS);
    assert!(leave_events.is_empty());
    assert_eq!(map.values().count(), 1);
    assert!(map.get("c1:alice").is_some());
}

/// realtime/unit/RTP18/endsync-without-startsync-noop-0
#[test]
fn rtp18_endsync_without_startsync_noop_0() {
    let mut map = PresenceMap::new();
    map.put(member(Enter, "alice", "c1", "c1:0:0", 100));
    let leave_events = map.end_sync(START_WALL_MS);
    assert!(leave_events.is_empty());
    assert_eq!(map.values().count(), 1);
    assert!(map.get("c1:alice").is_some());
    assert!(!map.is_sync_in_progress());
}

/// realtime/unit/RTP19/stale-sync-removes-from-residuals-4
#[test]
fn rtp19_stale_sync_removes_from_residuals_4() {
    let mut map = PresenceMap::new();
    map.put(member_data(Enter, "alice", "c1", "c1:5:0", 500, "original"));
    map.start_sync();
    let result = map.put(member_data(Present, "alice", "c1", "c1:3:0", 300, "stale"));
    let leave_events = map.end_sync(START_WALL_MS);
    assert!(result.is_none(), "the stale message is rejected");
    assert!(leave_events.is_empty(), "but alice was seen");
    assert_eq!(map.values().count(), 1);
    assert_eq!(
        map.get("c1:alice").expect("alice").data,
        Data::from("original")
    );
}

/// realtime/unit/RTP19/presence-echoes-then-sync-preserves-5
#[test]
fn rtp19_presence_echoes_then_sync_preserves_5() {
    let mut map = PresenceMap::new();
    for i in 0..3 {
        map.put(member_data(
            Enter,
            &format!("user-{i}"),
            "c1",
            &format!("c1:{i}:0"),
            100,
            &format!("data-{i}"),
        ));
    }
    assert_eq!(map.values().count(), 3);
    map.start_sync();
    for i in 0..3 {
        map.put(member_data(
            Present,
            &format!("user-{i}"),
            "c1",
            &format!("c1:{i}:0"),
            100,
            &format!("data-{i}"),
        ));
    }
    let leave_events = map.end_sync(START_WALL_MS);
    assert!(leave_events.is_empty());
    assert_eq!(map.values().count(), 3);
    for i in 0..3 {
        let m = map.get(&format!("c1:user-{i}")).expect("member");
        assert_eq!(m.data, Data::from(format!("data-{i}")));
    }
}

/// realtime/unit/RTP19/new-member-during-sync-survives-6
#[test]
fn rtp19_new_member_during_sync_survives_6() {
    let mut map = PresenceMap::new();
    map.put(member(Enter, "alice", "c1", "c1:0:0", 100));
    map.start_sync();
    map.put(member(Present, "alice", "c1", "c1:1:0", 200));
    map.put(member(Enter, "bob", "c2", "c2:0:0", 200));
    let leave_events = map.end_sync(START_WALL_MS);
    assert!(leave_events.is_empty());
    assert_eq!(map.values().count(), 2);
    assert!(map.get("c1:alice").is_some());
    assert!(map.get("c2:bob").is_some());
}

// ---- channel states and presence (RTP1, RTP5, RTP13, RTL11) --------------------------

const LIMIT: Duration = Duration::from_secs(5);

fn present(client: &str, conn: &str, id: &str) -> PresenceMessage {
    member(Present, client, conn, id, 100)
}

/// A connected harness whose service answers with `service`.
fn connected_harness(client_id: Option<&str>, service: MessageHandler) -> Harness {
    let mut opts = key_options();
    opts.client_id = client_id.map(str::to_owned);
    let mut h = Harness::connecting_ok(opts);
    h.on_message = Some(service);
    h.connect();
    h.await_state(ConnectionState::Connected, LIMIT);
    h
}

/// A service answering ATTACH with ATTACHED(HAS_PRESENCE) and a one-page
/// SYNC of `members`, and DETACH with DETACHED.
fn presence_service(channel: &'static str, members: Vec<PresenceMessage>) -> MessageHandler {
    Box::new(move |pm| match pm.action {
        Action::Attach => vec![
            Reply::Send(attached_with(channel, Flags::HAS_PRESENCE, None)),
            Reply::Send(sync_frame(channel, Some("seq1:"), members.clone())),
        ],
        Action::Detach => vec![Reply::Send(detached(channel, None))],
        _ => vec![],
    })
}

/// `presence.get()` with default options; `None` if it has not completed.
fn get(h: &mut Harness, channel: &str, wait_for_sync: bool) -> Option<Vec<PresenceMessage>> {
    let op = h.command(Command::PresenceGet {
        channel: channel.into(),
        query: PresenceQuery {
            wait_for_sync,
            ..PresenceQuery::default()
        },
    });
    match h.completion(op) {
        Some(Ok(Completion::Members(m))) => Some(m),
        None => None,
        other => panic!("get: {other:?}"),
    }
}

fn presence_cmd(h: &mut Harness, channel: &str, action: PresenceAction, data: &str) -> OpIdOf {
    h.command(Command::Presence {
        channel: channel.into(),
        request: PresenceRequest {
            action,
            client_id: None,
            data: Data::from(data),
            extras: None,
        },
    })
}

type OpIdOf = ably_proto::client::OpId;

fn channel_error(channel: &str, code: u32) -> ProtocolMessage {
    let mut pm = ProtocolMessage::for_channel(Action::Error, channel);
    pm.error = Some(ErrorInfo::new(code, 400, "Channel failed"));
    pm
}

fn leaves_since(h: &Harness, channel: &str, from: usize) -> Vec<PresenceMessage> {
    h.presence_events(channel)
        .into_iter()
        .skip(from)
        .filter(|p| p.action == Leave)
        .cloned()
        .collect()
}

/// realtime/unit/RTP1/has-presence-triggers-sync-0
#[test]
fn rtp1_has_presence_triggers_sync_0() {
    let ch = "test-RTP1";
    let mut h = connected_harness(
        None,
        presence_service(ch, vec![present("alice", "c1", "c1:0:0")]),
    );
    let op = h.attach(ch);
    assert_eq!(h.completion(op), Some(Ok(Completion::Done)));
    let members = get(&mut h, ch, true).expect("sync complete");
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].client_id.as_deref(), Some("alice"));
    assert!(h.client.presence_sync_complete(ch));
}

/// realtime/unit/RTP1/no-has-presence-empty-1
#[test]
fn rtp1_no_has_presence_empty_1() {
    let ch = "test-RTP1-empty";
    let mut h = connected_harness(None, cooperative_service());
    let op = h.attach(ch);
    assert_eq!(h.completion(op), Some(Ok(Completion::Done)));
    let members = get(&mut h, ch, true).expect("in sync at once");
    assert!(members.is_empty());
    assert!(h.client.presence_sync_complete(ch));
}

/// realtime/unit/RTP1/no-has-presence-clears-existing-2
#[test]
fn rtp1_no_has_presence_clears_existing_2() {
    let ch = "test-RTP19a";
    let connections = Rc::new(Cell::new(0usize));
    let mut h = Harness::new(key_options());
    let count = connections.clone();
    h.on_attempt = Some(Box::new(move |n, _| {
        count.set(n);
        Attempt::Success(connected(&format!("conn-{n}"), &format!("key-{n}")))
    }));
    let count = connections.clone();
    h.on_message = Some(Box::new(move |pm| match pm.action {
        Action::Attach if count.get() == 1 => vec![
            Reply::Send(attached_with(ch, Flags::HAS_PRESENCE, None)),
            Reply::Send(sync_frame(
                ch,
                Some("seq1:"),
                vec![
                    present("alice", "c1", "c1:0:0"),
                    present("bob", "c2", "c2:0:0"),
                ],
            )),
        ],
        Action::Attach => vec![Reply::Send(attached(ch))],
        _ => vec![],
    }));
    h.connect();
    h.await_state(ConnectionState::Connected, LIMIT);
    let op = h.attach(ch);
    assert_eq!(h.completion(op), Some(Ok(Completion::Done)));
    assert_eq!(get(&mut h, ch, true).expect("synced").len(), 2);
    let mark = h.presence_events(ch).len();

    h.simulate_disconnect();
    assert!(h.states().contains(&ConnectionState::Disconnected));
    h.await_state(ConnectionState::Connected, Duration::from_secs(30));
    assert_eq!(connections.get(), 2);
    assert!(
        h.run_until(LIMIT, |h| h.channel_state(ch) == ChannelState::Attached
            && h.sent_with(Action::Attach).len() == 2)
    );

    let members_after = get(&mut h, ch, true).expect("in sync");
    assert!(members_after.is_empty());
    let leaves = leaves_since(&h, ch, mark);
    assert_eq!(leaves.len(), 2);
    assert!(
        leaves
            .iter()
            .any(|e| e.client_id.as_deref() == Some("alice"))
    );
    assert!(leaves.iter().any(|e| e.client_id.as_deref() == Some("bob")));
    assert!(leaves.iter().all(|e| e.id.is_none()));
}

/// realtime/unit/RTP5a/detached-clears-presence-maps-0
#[test]
fn rtp5a_detached_clears_presence_maps_0() {
    let ch = "test-RTP5a-detached";
    let mut h = connected_harness(
        None,
        presence_service(ch, vec![present("alice", "c1", "c1:0:0")]),
    );
    let op = h.attach(ch);
    assert_eq!(h.completion(op), Some(Ok(Completion::Done)));
    assert_eq!(get(&mut h, ch, true).expect("synced").len(), 1);
    let mark = h.presence_events(ch).len();

    let op = h.detach(ch);
    assert_eq!(h.completion(op), Some(Ok(Completion::Done)));
    assert_eq!(h.channel_state(ch), ChannelState::Detached);

    assert!(leaves_since(&h, ch, mark).is_empty(), "no LEAVE on clear");
    // The map as it is, without waiting or attaching.
    assert!(h.client.presence_members(ch).is_empty());
}

/// realtime/unit/RTP5a/failed-clears-presence-maps-1
#[test]
fn rtp5a_failed_clears_presence_maps_1() {
    let ch = "test-RTP5a-failed";
    let mut h = connected_harness(
        None,
        presence_service(ch, vec![present("alice", "c1", "c1:0:0")]),
    );
    let op = h.attach(ch);
    assert_eq!(h.completion(op), Some(Ok(Completion::Done)));
    assert_eq!(get(&mut h, ch, true).expect("synced").len(), 1);
    let mark = h.presence_events(ch).len();

    h.send_to_client(channel_error(ch, 90001));
    assert_eq!(h.channel_state(ch), ChannelState::Failed);

    assert!(leaves_since(&h, ch, mark).is_empty(), "no LEAVE on clear");
    assert!(h.client.presence_members(ch).is_empty());
}

/// realtime/unit/RTP5b/attached-sends-queued-presence-0
#[test]
fn rtp5b_attached_sends_queued_presence_0() {
    let ch = "test-RTP5b";
    let mut h = connected_harness(
        Some("my-client"),
        Box::new(|pm| match pm.action {
            Action::Presence => vec![Reply::Send(ack(pm.msg_serial.unwrap_or(0), 1))],
            _ => vec![], // ATTACH: answered by the test
        }),
    );
    h.attach(ch);
    assert_eq!(h.channel_state(ch), ChannelState::Attaching);
    let enter = presence_cmd(&mut h, ch, Enter, "queued");
    assert!(h.sent_with(Action::Presence).is_empty());

    h.send_to_client(attached(ch));
    assert_eq!(h.completion(enter), Some(Ok(Completion::Done)));
    let captured = h.sent_with(Action::Presence);
    assert_eq!(captured.len(), 1);
    assert_eq!(captured[0].presence[0].action, Enter);
    assert_eq!(captured[0].presence[0].data, Data::from("queued"));
}

/// realtime/unit/RTP5f/suspended-maintains-presence-map-0
#[test]
fn rtp5f_suspended_maintains_presence_map_0() {
    let ch = "test-RTP5f";
    let mut h = Harness::new(key_options());
    // The first connection succeeds; reconnections are refused until the
    // connection state TTL passes and the connection is SUSPENDED.
    h.on_attempt = Some(Box::new(|n, _| {
        if n == 1 {
            Attempt::Success(connected("connection-id", "connection-key"))
        } else {
            Attempt::Refused
        }
    }));
    h.on_message = Some(presence_service(
        ch,
        vec![
            present("alice", "c1", "c1:0:0"),
            present("bob", "c2", "c2:0:0"),
        ],
    ));
    h.connect();
    h.await_state(ConnectionState::Connected, LIMIT);
    let op = h.attach(ch);
    assert_eq!(h.completion(op), Some(Ok(Completion::Done)));
    assert_eq!(get(&mut h, ch, true).expect("synced").len(), 2);

    h.simulate_disconnect();
    assert!(
        h.run_until(Duration::from_secs(300), |h| h.channel_state(ch)
            == ChannelState::Suspended)
    );

    let members = get(&mut h, ch, false).expect("no waiting");
    assert_eq!(members.len(), 2);
    assert_eq!(h.client.presence_members(ch).len(), 2);
}

/// realtime/unit/RTP13/sync-complete-attribute-0
#[test]
fn rtp13_sync_complete_attribute_0() {
    let ch = "test-RTP13";
    let mut h = connected_harness(
        None,
        Box::new(move |pm| match pm.action {
            Action::Attach => vec![
                Reply::Send(attached_with(ch, Flags::HAS_PRESENCE, None)),
                Reply::Send(sync_frame(
                    ch,
                    Some("seq1:cursor1"),
                    vec![present("alice", "c1", "c1:0:0")],
                )),
            ],
            _ => vec![],
        }),
    );
    let op = h.attach(ch);
    assert_eq!(h.completion(op), Some(Ok(Completion::Done)));
    assert!(!h.client.presence_sync_complete(ch));

    h.send_to_client(sync_frame(
        ch,
        Some("seq1:"),
        vec![present("bob", "c2", "c2:0:0")],
    ));
    assert!(h.client.presence_sync_complete(ch));
}

/// realtime/unit/RTL11/queued-presence-fail-detached-0
#[test]
fn rtl11_queued_presence_fail_detached_0() {
    let ch = "test-RTL11-detached";
    let mut h = connected_harness(Some("my-client"), cooperative_service());
    let op = h.attach(ch);
    assert_eq!(h.completion(op), Some(Ok(Completion::Done)));
    let op = h.detach(ch);
    assert_eq!(h.completion(op), Some(Ok(Completion::Done)));
    assert_eq!(h.channel_state(ch), ChannelState::Detached);

    let enter = presence_cmd(&mut h, ch, Enter, "queued-enter");
    let err = match h.completion(enter) {
        Some(Err(e)) => e,
        other => panic!("enter on a detached channel: {other:?}"),
    };
    assert!(err.code > 0);
    assert!(h.sent_with(Action::Presence).is_empty());
}

/// realtime/unit/RTL11/queued-presence-fail-suspended-1
#[test]
fn rtl11_queued_presence_fail_suspended_1() {
    let ch = "test-RTL11-suspended";
    let mut h = connected_harness(Some("my-client"), Box::new(|_| vec![])); // ATTACH unanswered
    h.attach(ch);
    assert_eq!(h.channel_state(ch), ChannelState::Attaching);
    let enter = presence_cmd(&mut h, ch, Enter, "queued-enter");
    let update = presence_cmd(&mut h, ch, Update, "queued-update");
    assert!(h.sent_with(Action::Presence).is_empty());
    assert_eq!(h.completion(enter), None);

    h.simulate_disconnect();
    assert!(
        h.run_until(Duration::from_secs(300), |h| h.channel_state(ch)
            == ChannelState::Suspended)
    );

    assert!(h.sent_with(Action::Presence).is_empty());
    assert!(matches!(h.completion(enter), Some(Err(_))));
    assert!(matches!(h.completion(update), Some(Err(_))));
}

/// realtime/unit/RTL11/queued-presence-fail-failed-2
#[test]
fn rtl11_queued_presence_fail_failed_2() {
    let ch = "test-RTL11-failed";
    let mut h = connected_harness(Some("my-client"), Box::new(|_| vec![])); // ATTACH unanswered
    h.attach(ch);
    assert_eq!(h.channel_state(ch), ChannelState::Attaching);
    let enter = presence_cmd(&mut h, ch, Enter, "queued-enter");
    assert!(h.sent_with(Action::Presence).is_empty());

    h.send_to_client(channel_error(ch, 90001));
    assert_eq!(h.channel_state(ch), ChannelState::Failed);

    assert!(h.sent_with(Action::Presence).is_empty());
    assert!(matches!(h.completion(enter), Some(Err(_))));
}

/// realtime/unit/RTL11a/ack-nack-unaffected-by-state-0
#[test]
fn rtl11a_ack_nack_unaffected_by_state_0() {
    let ch = "test-RTL11a";
    let mut h = connected_harness(
        Some("my-client"),
        Box::new(move |pm| match pm.action {
            Action::Attach => vec![Reply::Send(attached(ch))],
            Action::Detach => vec![Reply::Send(detached(ch, None))],
            _ => vec![], // PRESENCE: the ACK is held
        }),
    );
    let op = h.attach(ch);
    assert_eq!(h.completion(op), Some(Ok(Completion::Done)));
    let enter = presence_cmd(&mut h, ch, Enter, "awaiting-ack");
    let captured = h.sent_with(Action::Presence);
    assert_eq!(captured.len(), 1);

    h.detach(ch);
    assert_eq!(h.channel_state(ch), ChannelState::Detached);
    assert_eq!(h.completion(enter), None, "still awaiting its ACK");

    h.send_to_client(ack(captured[0].msg_serial.expect("msgSerial"), 1));
    assert_eq!(h.completion(enter), Some(Ok(Completion::Done)));
}

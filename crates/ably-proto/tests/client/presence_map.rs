//! The presence map (RTP2) and the connection's own presence map (RTP17),
//! ported from `uts/realtime/unit/presence/presence_map.md` and
//! `local_presence_map.md`. Both maps are the types the core keeps per
//! channel (`ably_proto::client::{PresenceMap, LocalPresenceMap}`), driven
//! directly as the specs do.

use ably_proto::client::{LocalPresenceMap, PresenceMap};
use ably_proto::{Data, PresenceAction, PresenceMessage};

use PresenceAction::{Absent, Enter, Leave, Present, Update};

/// A presence message with id, connectionId, clientId and timestamp.
pub(crate) fn member(
    action: PresenceAction,
    client: &str,
    conn: &str,
    id: &str,
    timestamp: i64,
) -> PresenceMessage {
    PresenceMessage {
        id: Some(id.into()),
        action,
        client_id: Some(client.into()),
        connection_id: Some(conn.into()),
        encoding: None,
        data: Data::None,
        extras: None,
        timestamp: Some(timestamp),
    }
}

/// [`member`] with string data.
pub(crate) fn member_data(
    action: PresenceAction,
    client: &str,
    conn: &str,
    id: &str,
    timestamp: i64,
    data: &str,
) -> PresenceMessage {
    PresenceMessage {
        data: Data::from(data),
        ..member(action, client, conn, id, timestamp)
    }
}

fn data(m: Option<&PresenceMessage>) -> Data {
    m.expect("member stored").data.clone()
}

// ---- PresenceMap (RTP2) -------------------------------------------------------

/// realtime/unit/RTP2/basic-put-and-get-0
#[test]
fn rtp2_basic_put_and_get_0() {
    let mut map = PresenceMap::new();
    let result = map.put(member(Enter, "client-1", "conn-1", "conn-1:0:0", 1000));
    assert!(result.is_some());
    let stored = map.get("conn-1:client-1").expect("stored");
    assert_eq!(stored.client_id.as_deref(), Some("client-1"));
    assert_eq!(stored.connection_id.as_deref(), Some("conn-1"));
}

/// realtime/unit/RTP2d2/enter-stored-as-present-0
#[test]
fn rtp2d2_enter_stored_as_present_0() {
    let mut map = PresenceMap::new();
    map.put(member_data(
        Enter,
        "client-1",
        "conn-1",
        "conn-1:0:0",
        1000,
        "entered",
    ));
    let stored = map.get("conn-1:client-1").expect("stored");
    assert_eq!(stored.action, Present);
    assert_eq!(stored.data, Data::from("entered"));
}

/// realtime/unit/RTP2d2/update-stored-as-present-1
#[test]
fn rtp2d2_update_stored_as_present_1() {
    let mut map = PresenceMap::new();
    map.put(member_data(
        Enter,
        "client-1",
        "conn-1",
        "conn-1:0:0",
        1000,
        "initial",
    ));
    map.put(member_data(
        Update,
        "client-1",
        "conn-1",
        "conn-1:1:0",
        2000,
        "updated",
    ));
    let stored = map.get("conn-1:client-1").expect("stored");
    assert_eq!(stored.action, Present);
    assert_eq!(stored.data, Data::from("updated"));
}

/// realtime/unit/RTP2d2/present-stored-as-present-2
#[test]
fn rtp2d2_present_stored_as_present_2() {
    let mut map = PresenceMap::new();
    map.put(member(Present, "client-1", "conn-1", "conn-1:0:0", 1000));
    let stored = map.get("conn-1:client-1").expect("stored");
    assert_eq!(stored.action, Present);
}

/// realtime/unit/RTP2d1/put-returns-original-action-0
#[test]
fn rtp2d1_put_returns_original_action_0() {
    let mut map = PresenceMap::new();
    let emitted_enter = map.put(member(Enter, "client-1", "conn-1", "conn-1:0:0", 1000));
    let emitted_update = map.put(member_data(
        Update,
        "client-1",
        "conn-1",
        "conn-1:1:0",
        2000,
        "updated",
    ));
    assert_eq!(emitted_enter.expect("emitted").action, Enter);
    assert_eq!(emitted_update.expect("emitted").action, Update);
}

/// realtime/unit/RTP2h1/leave-outside-sync-removes-0
#[test]
fn rtp2h1_leave_outside_sync_removes_0() {
    let mut map = PresenceMap::new();
    map.put(member(Enter, "client-1", "conn-1", "conn-1:0:0", 1000));
    let emitted = map.remove(member(Leave, "client-1", "conn-1", "conn-1:1:0", 2000));
    assert_eq!(emitted.expect("LEAVE emitted").action, Leave); // RTP2h1a
    assert!(map.get("conn-1:client-1").is_none()); // RTP2h1b
    assert_eq!(map.values().count(), 0);
}

/// realtime/unit/RTP2h1/leave-nonexistent-returns-null-1
#[test]
fn rtp2h1_leave_nonexistent_returns_null_1() {
    let mut map = PresenceMap::new();
    let emitted = map.remove(member(Leave, "unknown", "conn-x", "conn-x:0:0", 1000));
    assert!(emitted.is_none());
}

/// realtime/unit/RTP2h2a/leave-during-sync-stores-absent-0
#[test]
fn rtp2h2a_leave_during_sync_stores_absent_0() {
    let mut map = PresenceMap::new();
    map.put(member(Enter, "client-1", "conn-1", "conn-1:0:0", 1000));
    map.start_sync();
    let emitted = map.remove(member(Leave, "client-1", "conn-1", "conn-1:1:0", 2000));
    assert!(emitted.is_none(), "no LEAVE emitted during a sync");
    let stored = map.get("conn-1:client-1").expect("kept");
    assert_eq!(stored.action, Absent);
}

/// realtime/unit/RTP2h2b/absent-deleted-on-endsync-0
#[test]
fn rtp2h2b_absent_deleted_on_endsync_0() {
    let mut map = PresenceMap::new();
    map.put(member(Enter, "alice", "c1", "c1:0:0", 100));
    map.put(member(Enter, "bob", "c2", "c2:0:0", 100));
    map.start_sync();
    map.put(member(Present, "alice", "c1", "c1:1:0", 200));
    map.remove(member(Leave, "bob", "c2", "c2:1:0", 200));
    map.end_sync(300);
    assert!(map.get("c2:bob").is_none());
    assert_eq!(map.get("c1:alice").expect("alice").action, Present);
    assert_eq!(map.values().count(), 1);
}

/// realtime/unit/RTP2b2/newness-by-msgserial-index-0
#[test]
fn rtp2b2_newness_by_msgserial_index_0() {
    let mut map = PresenceMap::new();
    map.put(member_data(
        Enter,
        "client-1",
        "conn-1",
        "conn-1:5:0",
        1000,
        "first",
    ));
    let stale = map.put(member_data(
        Update,
        "client-1",
        "conn-1",
        "conn-1:3:0",
        2000,
        "stale",
    ));
    assert!(stale.is_none()); // RTP2a
    assert_eq!(data(map.get("conn-1:client-1")), Data::from("first"));
    let newer = map.put(member_data(
        Update,
        "client-1",
        "conn-1",
        "conn-1:7:0",
        500,
        "newer",
    ));
    assert!(
        newer.is_some(),
        "newer by serial despite the older timestamp"
    );
    assert_eq!(data(map.get("conn-1:client-1")), Data::from("newer"));
}

/// realtime/unit/RTP2b2/newness-by-index-same-serial-1
#[test]
fn rtp2b2_newness_by_index_same_serial_1() {
    let mut map = PresenceMap::new();
    map.put(member_data(
        Enter,
        "client-1",
        "conn-1",
        "conn-1:5:2",
        1000,
        "index-2",
    ));
    let stale = map.put(member_data(
        Update,
        "client-1",
        "conn-1",
        "conn-1:5:1",
        2000,
        "index-1",
    ));
    let newer = map.put(member_data(
        Update,
        "client-1",
        "conn-1",
        "conn-1:5:5",
        500,
        "index-5",
    ));
    assert!(stale.is_none());
    assert!(newer.is_some());
    assert_eq!(data(map.get("conn-1:client-1")), Data::from("index-5"));
}

/// realtime/unit/RTP2b1/newness-by-timestamp-0
#[test]
fn rtp2b1_newness_by_timestamp_0() {
    let mut map = PresenceMap::new();
    map.put(member_data(
        Enter,
        "client-1",
        "conn-1",
        "conn-1:0:0",
        1000,
        "entered",
    ));
    let synth_leave = map.remove(member(
        Leave,
        "client-1",
        "conn-1",
        "synthesized-leave-id",
        2000,
    ));
    assert_eq!(synth_leave.expect("newer by timestamp").action, Leave);
    assert!(map.get("conn-1:client-1").is_none());
}

/// realtime/unit/RTP2b1/older-synth-leave-rejected-1
#[test]
fn rtp2b1_older_synth_leave_rejected_1() {
    let mut map = PresenceMap::new();
    map.put(member_data(
        Enter,
        "client-1",
        "conn-1",
        "conn-1:0:0",
        5000,
        "entered",
    ));
    let result = map.remove(member(
        Leave,
        "client-1",
        "conn-1",
        "synthesized-leave-id",
        3000,
    ));
    assert!(result.is_none());
    assert_eq!(data(map.get("conn-1:client-1")), Data::from("entered"));
}

/// realtime/unit/RTP2b1a/equal-timestamps-incoming-wins-0
#[test]
fn rtp2b1a_equal_timestamps_incoming_wins_0() {
    let mut map = PresenceMap::new();
    map.put(member_data(
        Enter,
        "client-1",
        "conn-1",
        "synthesized-id-1",
        1000,
        "first",
    ));
    let result = map.put(member_data(
        Update,
        "client-1",
        "conn-1",
        "synthesized-id-2",
        1000,
        "second",
    ));
    assert!(result.is_some());
    assert_eq!(data(map.get("conn-1:client-1")), Data::from("second"));
}

/// realtime/unit/RTP2c/sync-uses-same-newness-0
#[test]
fn rtp2c_sync_uses_same_newness_0() {
    let mut map = PresenceMap::new();
    map.start_sync();
    map.put(member_data(
        Present,
        "client-1",
        "conn-1",
        "conn-1:5:0",
        1000,
        "sync-first",
    ));
    let stale = map.put(member_data(
        Present,
        "client-1",
        "conn-1",
        "conn-1:3:0",
        2000,
        "sync-stale",
    ));
    let newer = map.put(member_data(
        Present,
        "client-1",
        "conn-1",
        "conn-1:8:0",
        500,
        "sync-newer",
    ));
    assert!(stale.is_none());
    assert!(newer.is_some());
    assert_eq!(data(map.get("conn-1:client-1")), Data::from("sync-newer"));
}

/// realtime/unit/RTP2/multiple-members-coexist-1
#[test]
fn rtp2_multiple_members_coexist_1() {
    let mut map = PresenceMap::new();
    map.put(member(Enter, "alice", "c1", "c1:0:0", 100));
    map.put(member(Enter, "bob", "c2", "c2:0:0", 100));
    map.put(member(Enter, "alice", "c3", "c3:0:0", 100));
    assert_eq!(map.values().count(), 3);
    assert!(map.get("c1:alice").is_some());
    assert!(map.get("c2:bob").is_some());
    assert!(map.get("c3:alice").is_some());
}

/// realtime/unit/RTP2/values-excludes-absent-2
#[test]
fn rtp2_values_excludes_absent_2() {
    let mut map = PresenceMap::new();
    map.put(member(Enter, "alice", "c1", "c1:0:0", 100));
    map.put(member(Enter, "bob", "c2", "c2:0:0", 100));
    map.start_sync();
    map.remove(member(Leave, "bob", "c2", "c2:1:0", 200));
    assert_eq!(map.get("c2:bob").expect("bob kept").action, Absent);
    let members: Vec<_> = map.values().collect();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].client_id.as_deref(), Some("alice"));
}

/// realtime/unit/RTP2/clear-resets-state-3
#[test]
fn rtp2_clear_resets_state_3() {
    let mut map = PresenceMap::new();
    map.put(member(Enter, "alice", "c1", "c1:0:0", 100));
    map.start_sync();
    map.clear();
    assert_eq!(map.values().count(), 0);
    assert!(map.get("c1:alice").is_none());
    assert!(!map.is_sync_in_progress());
}

// ---- LocalPresenceMap (RTP17) ----------------------------------------------------

/// realtime/unit/RTP17h/keyed-by-clientid-0
#[test]
fn rtp17h_keyed_by_clientid_0() {
    let mut map = LocalPresenceMap::new();
    map.put(member_data(
        Enter,
        "user-1",
        "conn-A",
        "conn-A:0:0",
        1000,
        "first",
    ));
    map.put(member_data(
        Enter,
        "user-1",
        "conn-B",
        "conn-B:0:0",
        2000,
        "second",
    ));
    assert_eq!(map.values().count(), 1);
    let stored = map.get("user-1").expect("stored");
    assert_eq!(stored.data, Data::from("second"));
    assert_eq!(stored.connection_id.as_deref(), Some("conn-B"));
}

/// realtime/unit/RTP17b/enter-adds-to-map-0
#[test]
fn rtp17b_enter_adds_to_map_0() {
    let mut map = LocalPresenceMap::new();
    map.put(member_data(
        Enter,
        "client-1",
        "conn-1",
        "conn-1:0:0",
        1000,
        "hello",
    ));
    let stored = map.get("client-1").expect("stored");
    assert_eq!(stored.action, Present); // RTP2d2
    assert_eq!(stored.data, Data::from("hello"));
    assert_eq!(map.values().count(), 1);
}

/// realtime/unit/RTP17b/update-adds-to-map-1
#[test]
fn rtp17b_update_adds_to_map_1() {
    let mut map = LocalPresenceMap::new();
    map.put(member_data(
        Update,
        "client-1",
        "conn-1",
        "conn-1:0:0",
        1000,
        "from-update",
    ));
    let stored = map.get("client-1").expect("stored");
    assert_eq!(stored.action, Present);
    assert_eq!(stored.data, Data::from("from-update"));
    assert_eq!(map.values().count(), 1);
}

/// realtime/unit/RTP17b/enter-overwrites-enter-2
#[test]
fn rtp17b_enter_overwrites_enter_2() {
    let mut map = LocalPresenceMap::new();
    map.put(member_data(
        Enter,
        "client-1",
        "conn-1",
        "conn-1:0:0",
        1000,
        "first",
    ));
    map.put(member_data(
        Enter,
        "client-1",
        "conn-1",
        "conn-1:1:0",
        2000,
        "second",
    ));
    assert_eq!(map.values().count(), 1);
    let stored = map.get("client-1").expect("stored");
    assert_eq!(stored.action, Present);
    assert_eq!(stored.data, Data::from("second"));
}

/// realtime/unit/RTP17b/update-overwrites-enter-3
#[test]
fn rtp17b_update_overwrites_enter_3() {
    let mut map = LocalPresenceMap::new();
    map.put(member_data(
        Enter,
        "client-1",
        "conn-1",
        "conn-1:0:0",
        1000,
        "initial",
    ));
    map.put(member_data(
        Update,
        "client-1",
        "conn-1",
        "conn-1:1:0",
        2000,
        "updated",
    ));
    assert_eq!(map.values().count(), 1);
    let stored = map.get("client-1").expect("stored");
    assert_eq!(stored.action, Present);
    assert_eq!(stored.data, Data::from("updated"));
}

/// realtime/unit/RTP17b/present-adds-to-map-4
#[test]
fn rtp17b_present_adds_to_map_4() {
    let mut map = LocalPresenceMap::new();
    map.put(member_data(
        Present,
        "client-1",
        "conn-1",
        "conn-1:0:0",
        1000,
        "present",
    ));
    let stored = map.get("client-1").expect("stored");
    assert_eq!(stored.action, Present);
    assert_eq!(stored.data, Data::from("present"));
}

/// realtime/unit/RTP17b/non-synthesized-leave-removes-5
#[test]
fn rtp17b_non_synthesized_leave_removes_5() {
    let mut map = LocalPresenceMap::new();
    map.put(member(Enter, "client-1", "conn-1", "conn-1:0:0", 1000));
    assert!(map.get("client-1").is_some());
    let result = map.remove(&member(Leave, "client-1", "conn-1", "conn-1:1:0", 2000));
    assert!(result);
    assert!(map.get("client-1").is_none());
    assert_eq!(map.values().count(), 0);
}

/// realtime/unit/RTP17b/synthesized-leave-ignored-6
#[test]
fn rtp17b_synthesized_leave_ignored_6() {
    let mut map = LocalPresenceMap::new();
    map.put(member_data(
        Enter,
        "client-1",
        "conn-1",
        "conn-1:0:0",
        1000,
        "entered",
    ));
    let result = map.remove(&member(
        Leave,
        "client-1",
        "conn-1",
        "synthesized-leave-id",
        2000,
    ));
    assert!(!result, "a synthesized LEAVE is ignored");
    assert_eq!(data(map.get("client-1")), Data::from("entered"));
    assert_eq!(map.values().count(), 1);
}

/// realtime/unit/RTP17/multiple-clientids-coexist-0
#[test]
fn rtp17_multiple_clientids_coexist_0() {
    let mut map = LocalPresenceMap::new();
    map.put(member_data(
        Enter,
        "alice",
        "conn-1",
        "conn-1:0:0",
        100,
        "alice-data",
    ));
    map.put(member_data(
        Enter,
        "bob",
        "conn-1",
        "conn-1:0:1",
        100,
        "bob-data",
    ));
    map.put(member_data(
        Enter,
        "carol",
        "conn-1",
        "conn-1:0:2",
        100,
        "carol-data",
    ));
    assert_eq!(map.values().count(), 3);
    assert_eq!(data(map.get("alice")), Data::from("alice-data"));
    assert_eq!(data(map.get("bob")), Data::from("bob-data"));
    assert_eq!(data(map.get("carol")), Data::from("carol-data"));
}

/// realtime/unit/RTP17/remove-one-of-multiple-1
#[test]
fn rtp17_remove_one_of_multiple_1() {
    let mut map = LocalPresenceMap::new();
    map.put(member(Enter, "alice", "conn-1", "conn-1:0:0", 100));
    map.put(member(Enter, "bob", "conn-1", "conn-1:0:1", 100));
    map.remove(&member(Leave, "alice", "conn-1", "conn-1:1:0", 200));
    assert!(map.get("alice").is_none());
    assert!(map.get("bob").is_some());
    assert_eq!(map.values().count(), 1);
}

/// realtime/unit/RTP17/clear-resets-state-2
#[test]
fn rtp17_clear_resets_state_2() {
    let mut map = LocalPresenceMap::new();
    map.put(member(Enter, "alice", "conn-1", "conn-1:0:0", 100));
    map.put(member(Enter, "bob", "conn-1", "conn-1:0:1", 100));
    assert_eq!(map.values().count(), 2);
    map.clear();
    assert_eq!(map.values().count(), 0);
    assert!(map.get("alice").is_none());
    assert!(map.get("bob").is_none());
}

/// realtime/unit/RTP17/get-null-unknown-clientid-3
#[test]
fn rtp17_get_null_unknown_clientid_3() {
    let map = LocalPresenceMap::new();
    assert!(map.get("nonexistent").is_none());
}

/// realtime/unit/RTP17/remove-unknown-noop-4
#[test]
fn rtp17_remove_unknown_noop_4() {
    let mut map = LocalPresenceMap::new();
    map.put(member(Enter, "alice", "conn-1", "conn-1:0:0", 100));
    map.remove(&member(Leave, "nonexistent", "conn-1", "conn-1:1:0", 200));
    assert!(map.get("alice").is_some());
    assert_eq!(map.values().count(), 1);
}

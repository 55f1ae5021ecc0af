//! Entering, updating and leaving presence (RTP8, RTP9, RTP10, RTP14,
//! RTP15, RTP16, RTP4) and automatic re-entry (RTP17), ported from
//! `uts/realtime/unit/presence/realtime_presence_enter.md` and
//! `realtime_presence_reentry.md`.
//!
//! The specs' wildcard clientId `"*"` is refused by `ClientOptions`
//! (RSA7c), so, as the specs allow, the `*Client` tests use a client with
//! a key and no clientId, which may act for any clientId (RTP15a).

use std::time::Duration;

use ably_proto::client::{ChannelState, Client, ConnectionState, Instant, Now};
use ably_proto::{
    Action, ConnectionDetails, Data, ErrorInfo, Flags, PresenceAction, ProtocolMessage,
};

use PresenceAction::{Enter, Leave, Update};

use crate::harness::*;
use crate::presence_ops_util::*;

/// A service that answers ATTACH with ATTACHED and every PRESENCE with an
/// ACK and the echo of its messages on `connection_id`.
fn echoing_service(
    flags: Flags,
    connection_id: &'static str,
    client: &'static str,
) -> MessageHandler {
    Box::new(move |pm| match pm.action {
        Action::Attach => vec![attached_reply(pm, flags)],
        Action::Presence => {
            let mut replies = vec![Reply::Send(ack(pm.msg_serial.unwrap_or(0), 1))];
            replies.extend(echo(pm, connection_id, client));
            replies
        }
        _ => vec![],
    })
}

/// A connected harness as `my-client` on `conn-1` with an ACKing service.
fn my_client() -> Harness {
    let mut h = connection_as(options_as(Some("my-client")), "conn-1");
    h.on_message = Some(acking_service(Flags::NONE));
    connect(&mut h);
    h
}

/// A connected harness with a key and no clientId, on `conn-1`, with an
/// ACKing service: the specs' wildcard client.
fn any_client() -> Harness {
    let mut h = connection_as(options_as(None), "conn-1");
    h.on_message = Some(acking_service(Flags::NONE));
    connect(&mut h);
    h
}

// ---- enter (RTP8) ----------------------------------------------------------------

/// realtime/unit/RTP8a/enter-sends-presence-enter-0
#[test]
fn rtp8a_enter_sends_presence_enter_0() {
    let mut h = my_client();
    attach_ok(&mut h, "test-RTP8a");
    let op = enter(&mut h, "test-RTP8a", Data::None);
    assert_done(&h, op);
    let captured = sent_presence(&h);
    assert_eq!(captured.len(), 1);
    assert_eq!(captured[0].action, Action::Presence);
    assert_eq!(captured[0].channel.as_deref(), Some("test-RTP8a"));
    assert_eq!(captured[0].presence.len(), 1);
    assert_eq!(captured[0].presence[0].action, Enter);
    // RTP8c: the connection's clientId is implicit.
    assert_eq!(captured[0].presence[0].client_id, None);
}

/// realtime/unit/RTP8e/enter-with-data-0
#[test]
fn rtp8e_enter_with_data_0() {
    let mut h = my_client();
    attach_ok(&mut h, "test-RTP8e");
    let op = enter(&mut h, "test-RTP8e", text("hello world"));
    assert_done(&h, op);
    let captured = sent_presence(&h);
    assert_eq!(captured.len(), 1);
    assert_eq!(captured[0].presence[0].action, Enter);
    assert_eq!(captured[0].presence[0].data, text("hello world"));
}

/// realtime/unit/RTP8d/enter-implicitly-attaches-0
#[test]
fn rtp8d_enter_implicitly_attaches_0() {
    let mut h = my_client();
    assert_eq!(h.channel_state("test-RTP8d"), ChannelState::Initialized);
    let op = enter(&mut h, "test-RTP8d", Data::None);
    assert_done(&h, op);
    assert_eq!(h.channel_state("test-RTP8d"), ChannelState::Attached);
    assert_eq!(h.sent_with(Action::Attach).len(), 1);
    assert_eq!(sent_presence(&h).len(), 1);
}

/// realtime/unit/RTP8g/enter-detached-failed-errors-0
#[test]
fn rtp8g_enter_detached_failed_errors_0() {
    let mut h = connection_as(options_as(Some("my-client")), "conn-1");
    h.on_message = Some(Box::new(|pm| match pm.action {
        Action::Attach => vec![Reply::Send(channel_error(pm, 90001, "Channel failed"))],
        _ => vec![],
    }));
    connect(&mut h);
    let attach = h.attach("test-RTP8g");
    assert!(failed(&h, attach).code > 0);
    assert_eq!(h.channel_state("test-RTP8g"), ChannelState::Failed);

    let op = enter(&mut h, "test-RTP8g", Data::None);
    let _error = failed(&h, op);
    assert!(sent_presence(&h).is_empty(), "nothing is sent");
}

/// An ERROR frame for the channel of `pm`.
fn channel_error(pm: &ProtocolMessage, code: u32, message: &str) -> ProtocolMessage {
    let mut error = ProtocolMessage::new(Action::Error);
    error.channel = pm.channel.clone();
    error.error = Some(ErrorInfo::new(code, 400, message));
    error
}

/// realtime/unit/RTP8j/enter-null-clientid-errors-0
#[test]
fn rtp8j_enter_null_clientid_errors_0() {
    let mut h = connection_as(options_as(None), "conn-1");
    h.on_message = Some(attach_only(Flags::NONE));
    connect(&mut h);
    attach_ok(&mut h, "test-RTP8j");
    let op = enter(&mut h, "test-RTP8j", Data::None);
    let _error = failed(&h, op);
    assert!(sent_presence(&h).is_empty());
}

/// realtime/unit/RTP8j/enter-wildcard-clientid-errors-1
#[test]
fn rtp8j_enter_wildcard_clientid_errors_1() {
    // As the spec allows: `clientId: "*"` is refused by the options (RSA7c).
    let now = Now::new(Instant::from_millis(0), START_WALL_MS);
    let refused = Client::new(options_as(Some("*")), [7; 32], now);
    assert!(refused.is_err(), "clientId '*' is refused at construction");

    // And a connection the service identifies with the wildcard (a
    // wildcard token) can not enter as itself.
    let mut h = Harness::new(options_as(None));
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::Success(connected_with(
            "conn-1",
            "conn-1-key",
            ConnectionDetails {
                client_id: Some("*".into()),
                connection_state_ttl: Some(120_000),
                max_idle_interval: Some(15_000),
                ..ConnectionDetails::default()
            },
        ))
    }));
    h.on_message = Some(attach_only(Flags::NONE));
    connect(&mut h);
    assert_eq!(h.client.client_id(), Some("*"));
    attach_ok(&mut h, "test-RTP8j-wild");
    let op = enter(&mut h, "test-RTP8j-wild", Data::None);
    let _error = failed(&h, op);
    assert!(sent_presence(&h).is_empty());
}

/// realtime/unit/RTP8h/nack-presence-permission-denied-0
#[test]
fn rtp8h_nack_presence_permission_denied_0() {
    let mut h = connection_as(options_as(Some("my-client")), "conn-1");
    h.on_message = Some(Box::new(|pm| match pm.action {
        Action::Attach => vec![attached_reply(pm, Flags::NONE)],
        Action::Presence => vec![Reply::Send(nack(
            pm.msg_serial.unwrap_or(0),
            1,
            ErrorInfo::new(40160, 401, "Presence permission denied"),
        ))],
        _ => vec![],
    }));
    connect(&mut h);
    attach_ok(&mut h, "test-RTP8h");
    let op = enter(&mut h, "test-RTP8h", Data::None);
    assert_eq!(failed(&h, op).code, 40160);
}

// ---- update and leave (RTP9, RTP10) ----------------------------------------------

/// realtime/unit/RTP9a/update-sends-presence-update-0
#[test]
fn rtp9a_update_sends_presence_update_0() {
    let mut h = my_client();
    attach_ok(&mut h, "test-RTP9a");
    let op = presence_op(&mut h, "test-RTP9a", Update, None, text("new-status"));
    assert_done(&h, op);
    let captured = sent_presence(&h);
    assert_eq!(captured.len(), 1);
    assert_eq!(captured[0].presence[0].action, Update);
    assert_eq!(captured[0].presence[0].data, text("new-status"));
    assert_eq!(captured[0].presence[0].client_id, None); // RTP9d
}

/// realtime/unit/RTP10a/leave-sends-presence-leave-0
#[test]
fn rtp10a_leave_sends_presence_leave_0() {
    let mut h = my_client();
    attach_ok(&mut h, "test-RTP10a");
    let op = presence_op(&mut h, "test-RTP10a", Leave, None, Data::None);
    assert_done(&h, op);
    let captured = sent_presence(&h);
    assert_eq!(captured.len(), 1);
    assert_eq!(captured[0].presence[0].action, Leave);
    assert_eq!(captured[0].presence[0].client_id, None); // RTP10c
}

/// realtime/unit/RTP10a/leave-with-data-1
#[test]
fn rtp10a_leave_with_data_1() {
    let mut h = my_client();
    attach_ok(&mut h, "test-RTP10a-data");
    let op = presence_op(&mut h, "test-RTP10a-data", Leave, None, text("goodbye"));
    assert_done(&h, op);
    let captured = sent_presence(&h);
    assert_eq!(captured[0].presence[0].action, Leave);
    assert_eq!(captured[0].presence[0].data, text("goodbye"));
}

// ---- on behalf of other clients (RTP14, RTP15) -----------------------------------

/// realtime/unit/RTP14a/enterclient-on-behalf-0
#[test]
fn rtp14a_enterclient_on_behalf_0() {
    let mut h = any_client();
    attach_ok(&mut h, "test-RTP14a");
    let alice = enter_client(&mut h, "test-RTP14a", "user-alice", text("alice-data"));
    assert_done(&h, alice);
    let bob = enter_client(&mut h, "test-RTP14a", "user-bob", text("bob-data"));
    assert_done(&h, bob);
    let captured = sent_presence(&h);
    assert_eq!(captured.len(), 2);
    let p = &captured[0].presence[0];
    assert_eq!(p.action, Enter);
    assert_eq!(p.client_id.as_deref(), Some("user-alice"));
    assert_eq!(p.data, text("alice-data"));
    let p = &captured[1].presence[0];
    assert_eq!(p.action, Enter);
    assert_eq!(p.client_id.as_deref(), Some("user-bob"));
    assert_eq!(p.data, text("bob-data"));
}

/// realtime/unit/RTP15a/updateclient-leaveclient-0
#[test]
fn rtp15a_updateclient_leaveclient_0() {
    let mut h = any_client();
    let ch = "test-RTP15a";
    attach_ok(&mut h, ch);
    let steps = [(Enter, "entered"), (Update, "updated"), (Leave, "leaving")];
    for (action, data) in steps {
        let op = presence_op(&mut h, ch, action, Some("user-1"), text(data));
        assert_done(&h, op);
    }
    let captured = sent_presence(&h);
    assert_eq!(captured.len(), 3);
    for (frame, (action, data)) in captured.iter().zip(steps) {
        assert_eq!(frame.presence[0].action, action);
        assert_eq!(frame.presence[0].client_id.as_deref(), Some("user-1"));
        assert_eq!(frame.presence[0].data, text(data));
    }
}

/// realtime/unit/RTP15e/enterclient-implicitly-attaches-0
#[test]
fn rtp15e_enterclient_implicitly_attaches_0() {
    let mut h = any_client();
    assert_eq!(h.channel_state("test-RTP15e"), ChannelState::Initialized);
    let op = enter_client(&mut h, "test-RTP15e", "user-1", Data::None);
    assert_done(&h, op);
    assert_eq!(h.channel_state("test-RTP15e"), ChannelState::Attached);
}

/// realtime/unit/RTP15f/enterclient-mismatched-clientid-0
#[test]
fn rtp15f_enterclient_mismatched_clientid_0() {
    let mut h = my_client();
    attach_ok(&mut h, "test-RTP15f");
    let op = enter_client(&mut h, "test-RTP15f", "other-client", Data::None);
    let _error = failed(&h, op);
    assert!(sent_presence(&h).is_empty(), "refused before sending");
    // The connection and channel remain available.
    assert_eq!(h.client.state(), ConnectionState::Connected);
    assert_eq!(h.channel_state("test-RTP15f"), ChannelState::Attached);
    let again = enter(&mut h, "test-RTP15f", Data::None);
    assert_done(&h, again);
}

/// realtime/unit/RTP15c/enterclient-no-side-effects-0
#[test]
fn rtp15c_enterclient_no_side_effects_0() {
    // The spec's `"*"` can neither be configured (RSA7c) nor enter as itself
    // (RTP8j): a client with no configured clientId, whose connection the
    // service identifies as `main-client`, does both.
    let mut h = Harness::new(options_as(None));
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::Success(connected_with(
            "conn-1",
            "conn-1-key",
            ConnectionDetails {
                client_id: Some("main-client".into()),
                connection_state_ttl: Some(120_000),
                max_idle_interval: Some(15_000),
                ..ConnectionDetails::default()
            },
        ))
    }));
    h.on_message = Some(acking_service(Flags::NONE));
    connect(&mut h);
    let ch = "test-RTP15c";
    attach_ok(&mut h, ch);
    let op = enter(&mut h, ch, text("main-client"));
    assert_done(&h, op);
    let op = enter_client(&mut h, ch, "other-user", text("other-data"));
    assert_done(&h, op);
    let op = presence_op(&mut h, ch, Leave, Some("other-user"), Data::None);
    assert_done(&h, op);

    let captured = sent_presence(&h);
    assert_eq!(captured.len(), 3);
    let p = &captured[0].presence[0];
    assert_eq!(p.action, Enter);
    assert_eq!(p.data, text("main-client"));
    assert_eq!(p.client_id, None, "uses the connection's clientId");
    let p = &captured[1].presence[0];
    assert_eq!(p.action, Enter);
    assert_eq!(p.client_id.as_deref(), Some("other-user"));
    let p = &captured[2].presence[0];
    assert_eq!(p.action, Leave);
    assert_eq!(p.client_id.as_deref(), Some("other-user"));
}

// ---- connection and channel states (RTP16) ---------------------------------------

/// realtime/unit/RTP16a/presence-sent-when-attached-0
#[test]
fn rtp16a_presence_sent_when_attached_0() {
    let mut h = connection_as(options_as(Some("my-client")), "conn-1");
    h.on_message = Some(attach_only(Flags::NONE));
    connect(&mut h);
    attach_ok(&mut h, "test-RTP16a");
    let op = enter(&mut h, "test-RTP16a", Data::None);
    // Sent at once, before any ACK.
    assert_eq!(sent_presence(&h).len(), 1);
    assert_eq!(h.completion(op), None);
    h.send_to_client(ack(0, 1));
    assert_done(&h, op);
}

/// realtime/unit/RTP16b/presence-queued-when-attaching-0
#[test]
fn rtp16b_presence_queued_when_attaching_0() {
    let mut h = connection_as(options_as(Some("my-client")), "conn-1");
    h.on_message = Some(Box::new(|pm| match pm.action {
        // ATTACH is not answered: the test does it.
        Action::Presence => vec![Reply::Send(ack(pm.msg_serial.unwrap_or(0), 1))],
        _ => vec![],
    }));
    connect(&mut h);
    let attach = h.attach("test-RTP16b");
    assert_eq!(h.channel_state("test-RTP16b"), ChannelState::Attaching);

    let op = enter(&mut h, "test-RTP16b", Data::None);
    assert!(sent_presence(&h).is_empty(), "queued while attaching");
    assert_eq!(h.completion(op), None);

    h.send_to_client(attached("test-RTP16b"));
    assert_done(&h, attach);
    assert_done(&h, op);
    let captured = sent_presence(&h);
    assert_eq!(captured.len(), 1);
    assert_eq!(captured[0].presence[0].action, Enter);
}

/// realtime/unit/RTP16c/presence-errors-other-states-0
#[test]
fn rtp16c_presence_errors_other_states_0() {
    let mut h = connection_as(options_as(Some("my-client")), "conn-1");
    h.on_message = Some(Box::new(|pm| match pm.action {
        Action::Attach => vec![Reply::Send(detached(
            pm.channel.as_deref().unwrap_or_default(),
            Some(ErrorInfo::new(90001, 400, "Detached")),
        ))],
        _ => vec![],
    }));
    connect(&mut h);
    let ch = "test-RTP16c";
    let attach = h.attach(ch);
    let _attach_error = failed(&h, attach);
    // A DETACHED answering an ATTACH leaves the channel SUSPENDED (RTL13b),
    // not DETACHED as the spec has it; presence fails there too.
    assert_eq!(h.channel_state(ch), ChannelState::Suspended);
    let op = enter(&mut h, ch, Data::None);
    let _error = failed(&h, op);

    // And in DETACHED, which the spec means.
    let detach = h.detach(ch);
    assert_done(&h, detach);
    assert_eq!(h.channel_state(ch), ChannelState::Detached);
    let op = enter(&mut h, ch, Data::None);
    let _error = failed(&h, op);
    assert!(sent_presence(&h).is_empty());
}

// ---- many members (RTP4) -----------------------------------------------------------

/// realtime/unit/RTP4/bulk-enterclient-same-connection-0
#[test]
fn rtp4_bulk_enterclient_same_connection_0() {
    const MEMBERS: usize = 50;
    let ch = "test-RTP4-same";
    let mut h = connection_as(options_as(None), "conn-1");
    h.on_message = Some(echoing_service(Flags::HAS_PRESENCE, "conn-1", "unused"));
    connect(&mut h);
    attach_ok(&mut h, ch);

    for i in 0..MEMBERS {
        let op = enter_client(&mut h, ch, &format!("user-{i}"), text(&format!("data-{i}")));
        assert_done(&h, op);
    }
    let sync: Vec<_> = (0..MEMBERS)
        .map(|i| {
            member(
                PresenceAction::Present,
                &format!("user-{i}"),
                "conn-1",
                &format!("conn-1:{i}:0"),
                NOW_MS,
                text(&format!("data-{i}")),
            )
        })
        .collect();
    h.send_to_client(sync_frame(ch, Some("seq1:"), sync));
    let get = get(&mut h, ch, Default::default());
    let members = members(&h, get);

    assert_eq!(sent_presence(&h).len(), MEMBERS);
    // A subscriber for ENTER only (RTP6b).
    assert_eq!(events_with(&h, ch, Enter).len(), MEMBERS);
    assert_eq!(members.len(), MEMBERS);
    for i in 0..MEMBERS {
        let m = members
            .iter()
            .find(|m| m.client_id.as_deref() == Some(format!("user-{i}").as_str()))
            .unwrap_or_else(|| panic!("user-{i} is present"));
        assert_eq!(m.data, text(&format!("data-{i}")));
    }
}

/// realtime/unit/RTP4/bulk-enterclient-diff-connections-1
#[test]
fn rtp4_bulk_enterclient_diff_connections_1() {
    const MEMBERS: usize = 50;
    let ch = "test-RTP4-diff";
    let mut a = connection_as(options_as(None), "conn-A");
    a.on_message = Some(acking_service(Flags::HAS_PRESENCE));
    connect(&mut a);
    attach_ok(&mut a, ch);

    let mut b = connection_as(options_as(None), "conn-B");
    b.on_message = Some(attach_only(Flags::HAS_PRESENCE));
    connect(&mut b);
    attach_ok(&mut b, ch);

    for i in 0..MEMBERS {
        let op = enter_client(&mut a, ch, &format!("user-{i}"), text(&format!("data-{i}")));
        assert_done(&a, op);
    }
    let entered = |action, i: usize| {
        member(
            action,
            &format!("user-{i}"),
            "conn-A",
            &format!("conn-A:{i}:0"),
            NOW_MS,
            text(&format!("data-{i}")),
        )
    };
    for i in 0..MEMBERS {
        b.send_to_client(presence_frame(ch, vec![entered(Enter, i)]));
    }
    let sync = (0..MEMBERS)
        .map(|i| entered(PresenceAction::Present, i))
        .collect();
    b.send_to_client(sync_frame(ch, Some("seq1:"), sync));
    let get = get(&mut b, ch, Default::default());
    let members = members(&b, get);

    assert_eq!(sent_presence(&a).len(), MEMBERS);
    assert_eq!(events_with(&b, ch, Enter).len(), MEMBERS);
    assert_eq!(members.len(), MEMBERS);
    for i in 0..MEMBERS {
        let m = members
            .iter()
            .find(|m| m.client_id.as_deref() == Some(format!("user-{i}").as_str()))
            .unwrap_or_else(|| panic!("user-{i} is present"));
        assert_eq!(m.data, text(&format!("data-{i}")));
        assert_eq!(m.connection_id.as_deref(), Some("conn-A"));
    }
}

// ---- automatic re-entry (RTP17) ----------------------------------------------------

/// A service on numbered connections that ACKs and echoes PRESENCE on the
/// current connection, `conn-<n>`.
fn numbered_echoing_service(
    count: std::rc::Rc<std::cell::Cell<usize>>,
    default_client: &'static str,
) -> MessageHandler {
    Box::new(move |pm| match pm.action {
        Action::Attach => vec![attached_reply(pm, Flags::NONE)],
        Action::Presence => {
            let conn = format!("conn-{}", count.get());
            let mut replies = vec![Reply::Send(ack(pm.msg_serial.unwrap_or(0), 1))];
            replies.extend(echo(pm, &conn, default_client));
            replies
        }
        _ => vec![],
    })
}

/// PRESENCE frames sent on transports from the `n`th on (0-based).
fn presence_sent_from(h: &Harness, n: usize) -> Vec<ProtocolMessage> {
    h.transports[n..]
        .iter()
        .flat_map(|t| t.sent.iter())
        .filter(|pm| pm.action == Action::Presence)
        .cloned()
        .collect()
}

/// Drops the transport and waits for the reconnection and reattach.
fn disconnect_and_reattach(h: &mut Harness, channel: &str) {
    h.simulate_disconnect();
    assert!(
        h.states().contains(&ConnectionState::Disconnected),
        "{:?}",
        h.states()
    );
    h.await_state(ConnectionState::Connected, Duration::from_secs(30));
    let ok = h.run_until(SEC, |h| h.channel_state(channel) == ChannelState::Attached);
    assert!(ok, "channel reattached");
}

/// realtime/unit/RTP17i/auto-reentry-on-attached-0
#[test]
fn rtp17i_auto_reentry_on_attached_0() {
    let ch = "test-RTP17i";
    let (mut h, count) = numbered_connections(options_as(Some("my-client")));
    h.on_message = Some(numbered_echoing_service(count.clone(), "my-client"));
    connect(&mut h);
    attach_ok(&mut h, ch);
    let op = enter(&mut h, ch, text("hello"));
    assert_done(&h, op);
    assert_eq!(sent_presence(&h).len(), 1);

    disconnect_and_reattach(&mut h, ch);
    assert_eq!(count.get(), 2);
    let captured = presence_sent_from(&h, 1);
    assert!(!captured.is_empty());
    assert!(
        captured.iter().any(|pm| pm.presence[0].action == Enter),
        "re-entered: {captured:?}"
    );
}

/// realtime/unit/RTP17g/reentry-publishes-enter-with-data-0
#[test]
fn rtp17g_reentry_publishes_enter_with_data_0() {
    // The spec's `admin` would be refused enterClient for others by the
    // client-side check of RTP15f; a client with no clientId may (RTP15a).
    let ch = "test-RTP17g";
    let (mut h, count) = numbered_connections(options_as(None));
    h.on_message = Some(numbered_echoing_service(count.clone(), "admin"));
    connect(&mut h);
    attach_ok(&mut h, ch);
    let op = enter_client(&mut h, ch, "alice", text("alice-data"));
    assert_done(&h, op);
    let op = enter_client(&mut h, ch, "bob", text("bob-data"));
    assert_done(&h, op);
    assert_eq!(sent_presence(&h).len(), 2);

    disconnect_and_reattach(&mut h, ch);
    let items: Vec<_> = presence_sent_from(&h, 1)
        .into_iter()
        .flat_map(|pm| pm.presence)
        .collect();
    assert!(items.len() >= 2, "{items:?}");
    let alice = items
        .iter()
        .find(|p| p.client_id.as_deref() == Some("alice"))
        .expect("alice re-entered");
    assert_eq!(alice.action, Enter);
    assert_eq!(alice.data, text("alice-data"));
    let bob = items
        .iter()
        .find(|p| p.client_id.as_deref() == Some("bob"))
        .expect("bob re-entered");
    assert_eq!(bob.action, Enter);
    assert_eq!(bob.data, text("bob-data"));
}

/// realtime/unit/RTP17g1/reentry-omits-id-new-connid-0
#[test]
fn rtp17g1_reentry_omits_id_new_connid_0() {
    let ch = "test-RTP17g1";
    let (mut h, count) = numbered_connections(options_as(Some("my-client")));
    h.on_message = Some(numbered_echoing_service(count.clone(), "my-client"));
    connect(&mut h);
    attach_ok(&mut h, ch);
    let op = enter(&mut h, ch, text("hello"));
    assert_done(&h, op);
    assert_eq!(count.get(), 1);

    disconnect_and_reattach(&mut h, ch);
    assert_eq!(count.get(), 2);
    assert_eq!(h.client.connection_id(), Some("conn-2"));
    let captured = presence_sent_from(&h, 1);
    let reentry = captured.first().expect("a re-entry");
    let p = &reentry.presence[0];
    assert_eq!(p.action, Enter);
    assert_eq!(p.id, None, "RTP17g1: no id on a new connection");
    assert_eq!(p.data, text("hello"));
}

/// realtime/unit/RTP17i/no-reentry-with-resumed-flag-1
#[test]
fn rtp17i_no_reentry_with_resumed_flag_1() {
    let ch = "test-RTP17i-resumed";
    let mut h = connection_as(options_as(Some("my-client")), "conn-1");
    h.on_message = Some(echoing_service(Flags::NONE, "conn-1", "my-client"));
    connect(&mut h);
    attach_ok(&mut h, ch);
    let op = enter(&mut h, ch, text("hello"));
    assert_done(&h, op);
    let before = sent_presence(&h).len();

    h.send_to_client(attached_with(ch, Flags::RESUMED, None));
    assert_eq!(sent_presence(&h).len(), before, "no re-entry when RESUMED");
}

/// realtime/unit/RTP17e/failed-reentry-emits-update-error-0
#[test]
fn rtp17e_failed_reentry_emits_update_error_0() {
    let ch = "test-RTP17e";
    let (mut h, count) = numbered_connections(options_as(Some("my-client")));
    let c = count.clone();
    h.on_message = Some(Box::new(move |pm| match pm.action {
        Action::Attach => vec![attached_reply(pm, Flags::NONE)],
        Action::Presence if c.get() == 1 => {
            let mut replies = vec![Reply::Send(ack(pm.msg_serial.unwrap_or(0), 1))];
            replies.extend(echo(pm, "conn-1", "my-client"));
            replies
        }
        Action::Presence => vec![Reply::Send(nack(
            pm.msg_serial.unwrap_or(0),
            1,
            ErrorInfo::new(40160, 401, "Presence denied"),
        ))],
        _ => vec![],
    }));
    connect(&mut h);
    attach_ok(&mut h, ch);
    let op = enter(&mut h, ch, text("hello"));
    assert_done(&h, op);
    let listened_from = h.channel_changes(ch).len();

    disconnect_and_reattach(&mut h, ch);
    let updates: Vec<_> = h.channel_changes(ch)[listened_from..]
        .iter()
        .filter(|c| c.update && c.reason.as_ref().is_some_and(|r| r.code == 91004))
        .map(|c| (*c).clone())
        .collect();
    assert!(!updates.is_empty(), "{:?}", h.channel_changes(ch));
    let update = &updates[0];
    assert!(update.resumed);
    let reason = update.reason.as_ref().expect("a reason");
    assert_eq!(reason.code, 91004);
    assert!(reason.message.contains("my-client"), "{}", reason.message);
    let cause = reason.cause.as_ref().expect("a cause");
    assert_eq!(cause.code, 40160);
}

/// realtime/unit/RTP17a/server-publishes-without-subscribe-0
#[test]
fn rtp17a_server_publishes_without_subscribe_0() {
    let ch = "test-RTP17a";
    let mut h = connection_as(options_as(Some("my-client")), "conn-1");
    h.on_message = Some(Box::new(|pm| match pm.action {
        // Presence mode granted, presence_subscribe not.
        Action::Attach => vec![attached_reply(pm, Flags::PRESENCE)],
        Action::Presence => vec![
            Reply::Send(ack(pm.msg_serial.unwrap_or(0), 1)),
            Reply::Send(presence_frame(
                pm.channel.as_deref().unwrap_or_default(),
                vec![member(
                    Enter,
                    "my-client",
                    "conn-1",
                    "conn-1:0:0",
                    1000,
                    Data::None,
                )],
            )),
        ],
        _ => vec![],
    }));
    connect(&mut h);
    attach_ok(&mut h, ch);
    let op = enter(&mut h, ch, Data::None);
    assert_done(&h, op);

    let get = get(&mut h, ch, no_wait());
    let members = members(&h, get);
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].client_id.as_deref(), Some("my-client"));
}

//! `detach()` (RTL5), server-initiated DETACHED (RTL13) and the effects of
//! connection states on channels (RTL3). Ported from
//! `uts/realtime/unit/channels/channel_detach.md`,
//! `channel_server_initiated_detach.md` and `channel_connection_state.md`.

use std::time::Duration;

use ably_proto::client::{ChannelState, ClientOptions, ConnectionState};
use ably_proto::{Action, Flags};

use crate::chan_lifecycle_util::*;
use crate::harness::*;

use ChannelState as C;

/// Attaches a channel on a connected harness with a cooperative service.
fn attach_ok(h: &mut Harness, name: &str) {
    let op = h.attach(name);
    assert_done(h, op);
    assert_eq!(h.channel_state(name), C::Attached);
}

// ---- RTL5: detach -----------------------------------------------------------------

/// realtime/unit/RTL5a/detach-initialized-noop-0
#[test]
fn rtl5a_detach_initialized_noop_0() {
    let name = "test-RTL5a";
    let mut h = Harness::connecting_ok(key_options());
    get_channel(&mut h, name);
    assert_eq!(h.channel_state(name), C::Initialized);

    let op = h.detach(name);
    assert_done(&h, op);
    assert_eq!(h.channel_state(name), C::Initialized);
    assert!(h.channel_changes(name).is_empty());
}

/// realtime/unit/RTL5a/detach-already-detached-noop-1
#[test]
fn rtl5a_detach_already_detached_noop_1() {
    let name = "test-RTL5a-detached";
    let mut h = connected_with_service(key_options(), answering());
    attach_ok(&mut h, name);
    let op = h.detach(name);
    assert_done(&h, op);
    assert_eq!(h.channel_state(name), C::Detached);
    assert_eq!(sent_for(&h, Action::Detach, name).len(), 1);

    let mark = h.channel_changes(name).len();
    let op = h.detach(name);
    assert_done(&h, op);
    assert_eq!(h.channel_state(name), C::Detached);
    assert_eq!(sent_for(&h, Action::Detach, name).len(), 1, "no new DETACH");
    assert!(changes_after(&h, name, mark).is_empty());
}

/// realtime/unit/RTL5i/detach-while-detaching-0
#[test]
fn rtl5i_detach_while_detaching_0() {
    let name = "test-RTL5i";
    let mut h = connected_with_service(key_options(), attach_only());
    attach_ok(&mut h, name);

    let op1 = h.detach(name);
    assert_eq!(h.channel_state(name), C::Detaching);
    let op2 = h.detach(name);
    assert_eq!(h.completion(op1), None);
    assert_eq!(h.completion(op2), None);

    h.send_to_client(detached(name, None));
    assert_done(&h, op1);
    assert_done(&h, op2);
    assert_eq!(h.channel_state(name), C::Detached);
    assert_eq!(sent_for(&h, Action::Detach, name).len(), 1);
}

/// realtime/unit/RTL5i/detach-while-attaching-1
#[test]
fn rtl5i_detach_while_attaching_1() {
    let name = "test-RTL5i-attaching";
    let handler = service(|_, _| silent(), |_, ch| reply_detached(ch));
    let mut h = connected_with_service(key_options(), handler);
    let attach = h.attach(name);
    assert_eq!(h.channel_state(name), C::Attaching);
    let detach = h.detach(name);
    assert!(
        sent_for(&h, Action::Detach, name).is_empty(),
        "the detach waits for the attach"
    );

    h.send_to_client(attached(name));
    // Either outcome of the superseded attach is allowed; it completes once.
    assert!(h.completion(attach).is_some());
    assert_done(&h, detach);
    assert_eq!(h.channel_state(name), C::Detached);
    let actions: Vec<Action> = h.sent().into_iter().map(|pm| pm.action).collect();
    assert_eq!(actions, [Action::Attach, Action::Detach]);
}

/// realtime/unit/RTL5b/detach-failed-errors-0
#[test]
fn rtl5b_detach_failed_errors_0() {
    let name = "test-RTL5b";
    let handler = service(
        |_, ch| vec![Reply::Send(channel_error(ch, 40160, 401, "Not permitted"))],
        |_, _| silent(),
    );
    let mut h = connected_with_service(key_options(), handler);
    let op = h.attach(name);
    failed(&h, op);
    assert_eq!(h.channel_state(name), C::Failed);

    let op = h.detach(name);
    let err = failed(&h, op);
    assert_ne!(err.code, 0);
    assert_eq!(h.channel_state(name), C::Failed);
    assert!(sent_for(&h, Action::Detach, name).is_empty());
}

/// realtime/unit/RTL5j/detach-suspended-to-detached-0
#[test]
fn rtl5j_detach_suspended_to_detached_0() {
    let name = "test-RTL5j";
    let mut h = connected_with_service(opts_ms(100, 15_000), ignoring());
    let attach = h.attach(name);
    h.advance_ms(150);
    failed(&h, attach);
    assert_eq!(h.channel_state(name), C::Suspended);

    let op = h.detach(name);
    assert_done(&h, op);
    assert_eq!(h.channel_state(name), C::Detached);
    assert!(sent_for(&h, Action::Detach, name).is_empty());
}

/// realtime/unit/RTL5l/detach-not-connected-immediate-0
#[test]
fn rtl5l_detach_not_connected_immediate_0() {
    let name = "test-RTL5l";
    let mut h = Harness::new(key_options());
    h.on_message = Some(ignoring());
    get_channel(&mut h, name);
    h.connect();
    assert_eq!(h.client.state(), ConnectionState::Connecting);

    let _attach = h.attach(name);
    assert_eq!(h.channel_state(name), C::Attaching);

    let op = h.detach(name);
    assert_done(&h, op);
    assert_eq!(h.channel_state(name), C::Detached);
    assert!(h.sent_with(Action::Detach).is_empty());
}

/// realtime/unit/RTL5l/detach-attached-when-disconnected-1
#[test]
fn rtl5l_detach_attached_when_disconnected_1() {
    let name = "test-channel";
    let mut h = connected_with_service(key_options(), answering());
    attach_ok(&mut h, name);

    // Reconnection attempts fail, so the connection stays DISCONNECTED.
    h.on_attempt = Some(Box::new(|_, _| Attempt::Refused));
    h.simulate_disconnect();
    assert_eq!(h.client.state(), ConnectionState::Disconnected);
    let sent_before = h.sent().len();

    let op = h.detach(name);
    assert_done(&h, op);
    assert_eq!(h.channel_state(name), C::Detached);
    let detaches = h.sent()[sent_before..]
        .iter()
        .filter(|pm| pm.action == Action::Detach)
        .count();
    assert_eq!(detaches, 0);
}

/// realtime/unit/RTL5d/normal-detach-flow-0
#[test]
fn rtl5d_normal_detach_flow_0() {
    let name = "test-RTL5d";
    let mut h = connected_with_service(key_options(), answering());
    attach_ok(&mut h, name);
    let mark = h.channel_changes(name).len();

    let op = h.detach(name);
    assert_done(&h, op);

    let changes = changes_after(&h, name, mark);
    assert_eq!(changes[0].current, C::Detaching);
    assert_eq!(h.channel_state(name), C::Detached);
    let frames = sent_for(&h, Action::Detach, name);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].action, Action::Detach);
    assert_eq!(frames[0].channel.as_deref(), Some(name));
}

/// realtime/unit/RTL5f/timeout-returns-previous-state-0
#[test]
fn rtl5f_timeout_returns_previous_state_0() {
    let name = "test-RTL5f";
    let mut h = connected_with_service(opts_ms(100, 15_000), attach_only());
    attach_ok(&mut h, name);

    let op = h.detach(name);
    assert_eq!(h.channel_state(name), C::Detaching);
    h.advance_ms(150);
    let err = failed(&h, op);
    assert_ne!(err.code, 0);
    assert_eq!(h.channel_state(name), C::Attached);
}

/// realtime/unit/RTL5k/attached-while-detaching-0
#[test]
fn rtl5k_attached_while_detaching_0() {
    let name = "test-RTL5k";
    let handler = service(
        |_, ch| reply_attached(ch),
        |n, ch| {
            if n == 1 {
                reply_attached(ch) // ATTACHED instead of DETACHED
            } else {
                reply_detached(ch)
            }
        },
    );
    let mut h = connected_with_service(key_options(), handler);
    attach_ok(&mut h, name);

    let op = h.detach(name);
    assert_done(&h, op);
    assert_eq!(h.channel_state(name), C::Detached);
    assert_eq!(sent_for(&h, Action::Detach, name).len(), 2);
}

/// realtime/unit/RTL5k/attached-while-detached-1
#[test]
fn rtl5k_attached_while_detached_1() {
    let name = "test-RTL5k-detached";
    let mut h = connected_with_service(key_options(), answering());
    attach_ok(&mut h, name);
    let op = h.detach(name);
    assert_done(&h, op);
    assert_eq!(h.channel_state(name), C::Detached);
    assert_eq!(sent_for(&h, Action::Detach, name).len(), 1);

    h.send_to_client(attached(name));

    assert_eq!(sent_for(&h, Action::Detach, name).len(), 2);
    assert_eq!(h.channel_state(name), C::Detached);
}

/// realtime/unit/RTL5/detach-state-change-events-0
#[test]
fn rtl5_detach_state_change_events_0() {
    let name = "test-RTL5-events";
    let mut h = connected_with_service(key_options(), answering());
    attach_ok(&mut h, name);
    let mark = h.channel_changes(name).len();

    let op = h.detach(name);
    assert_done(&h, op);

    let changes = changes_after(&h, name, mark);
    assert!(changes.len() >= 2);
    assert_eq!(changes[0].current, C::Detaching);
    assert_eq!(changes[0].previous, C::Attached);
    assert!(!changes[0].update);
    assert_eq!(changes[1].current, C::Detached);
    assert_eq!(changes[1].previous, C::Detaching);
    assert!(!changes[1].update);
}

// ---- RTL13: server-initiated DETACHED ---------------------------------------------

/// realtime/unit/RTL13a/attached-reattach-triggered-0
#[test]
fn rtl13a_attached_reattach_triggered_0() {
    let name = "test-RTL13a-attached";
    let mut h = connected_with_service(key_options(), answering());
    attach_ok(&mut h, name);
    assert_eq!(sent_for(&h, Action::Attach, name).len(), 1);
    let mark = h.channel_changes(name).len();

    h.send_to_client(detached_error(name, 90198, 500, "Server detached channel"));
    await_channel(&mut h, name, C::Attached, WAIT);

    assert_eq!(sent_for(&h, Action::Attach, name).len(), 2);
    let changes = changes_after(&h, name, mark);
    assert!(changes.len() >= 2);
    assert_eq!(changes[0].current, C::Attaching);
    assert_eq!(changes[0].previous, C::Attached);
    assert_eq!(changes[0].reason.as_ref().map(|r| r.code), Some(90198));
    assert_eq!(changes[1].current, C::Attached);
}

/// realtime/unit/RTL13a/suspended-reattach-triggered-1
#[test]
fn rtl13a_suspended_reattach_triggered_1() {
    let name = "test-RTL13a-suspended";
    let handler = service(
        |n, ch| if n == 2 { silent() } else { reply_attached(ch) },
        |_, _| silent(),
    );
    let mut h = connected_with_service(opts_ms(100, 60_000), handler);
    attach_ok(&mut h, name);

    h.send_to_client(detached_error(name, 90198, 500, "Detach 1"));
    assert_eq!(h.channel_state(name), C::Attaching);
    h.advance_ms(150);
    assert_eq!(h.channel_state(name), C::Suspended);

    h.send_to_client(detached_error(name, 90199, 500, "Detach 2"));
    await_channel(&mut h, name, C::Attached, WAIT);
    assert_eq!(sent_for(&h, Action::Attach, name).len(), 3);
}

/// realtime/unit/RTL13b/failed-reattach-suspended-retry-0
#[test]
fn rtl13b_failed_reattach_suspended_retry_0() {
    let name = "test-RTL13b";
    let handler = service(
        |n, ch| if n == 2 { silent() } else { reply_attached(ch) },
        |_, _| silent(),
    );
    let mut h = connected_with_service(opts_ms(100, 200), handler);
    attach_ok(&mut h, name);
    let mark = h.channel_changes(name).len();

    h.send_to_client(detached_error(name, 90198, 500, "Server detached"));
    assert_eq!(h.channel_state(name), C::Attaching);
    assert_eq!(sent_for(&h, Action::Attach, name).len(), 2);

    h.advance_ms(150);
    assert_eq!(h.channel_state(name), C::Suspended);
    h.advance_ms(250);
    assert_eq!(h.channel_state(name), C::Attached);
    assert_eq!(sent_for(&h, Action::Attach, name).len(), 3);

    let states = states_after(&h, name, mark);
    assert!(
        contains_in_order(
            &states,
            &[C::Attaching, C::Suspended, C::Attaching, C::Attached]
        ),
        "{states:?}"
    );
}

/// realtime/unit/RTL13b/attaching-detached-to-suspended-1
#[test]
fn rtl13b_attaching_detached_to_suspended_1() {
    let name = "test-RTL13b-attaching";
    let handler = service(
        |n, ch| if n == 1 { silent() } else { reply_attached(ch) },
        |_, _| silent(),
    );
    let mut h = connected_with_service(opts_ms(500, 200), handler);
    let _attach = h.attach(name);
    assert_eq!(h.channel_state(name), C::Attaching);
    let mark = h.channel_changes(name).len();

    h.send_to_client(detached_error(name, 90198, 500, "Server detached"));
    assert_eq!(h.channel_state(name), C::Suspended);
    assert_eq!(
        sent_for(&h, Action::Attach, name).len(),
        1,
        "no reattach yet"
    );

    h.advance_ms(250);
    assert_eq!(h.channel_state(name), C::Attached);
    assert_eq!(sent_for(&h, Action::Attach, name).len(), 2);

    let changes = changes_after(&h, name, mark);
    assert_eq!(changes[0].current, C::Suspended);
    assert_eq!(changes[0].previous, C::Attaching);
    assert_eq!(changes[0].reason.as_ref().map(|r| r.code), Some(90198));
}

/// realtime/unit/RTL13b/repeated-failure-cycle-2
#[test]
fn rtl13b_repeated_failure_cycle_2() {
    let name = "test-RTL13b-repeat";
    let handler = service(
        |n, ch| {
            if n == 1 || n >= 4 {
                reply_attached(ch)
            } else {
                silent()
            }
        },
        |_, _| silent(),
    );
    let mut h = connected_with_service(opts_ms(100, 200), handler);
    attach_ok(&mut h, name);
    let mark = h.channel_changes(name).len();

    h.send_to_client(detached_error(name, 90198, 500, "Detach"));
    // Cycle 1: ATTACHING (reattach), timeout, SUSPENDED, retry.
    assert_eq!(h.channel_state(name), C::Attaching);
    await_channel(&mut h, name, C::Suspended, Duration::from_millis(150));
    await_channel(&mut h, name, C::Attaching, Duration::from_millis(250));
    assert_eq!(sent_for(&h, Action::Attach, name).len(), 3);
    // Cycle 2: ATTACHING (retry), timeout, SUSPENDED, retry that succeeds.
    await_channel(&mut h, name, C::Suspended, Duration::from_millis(150));
    await_channel(&mut h, name, C::Attached, Duration::from_millis(300));
    assert_eq!(sent_for(&h, Action::Attach, name).len(), 4);

    let states = states_after(&h, name, mark);
    assert!(
        contains_in_order(
            &states,
            &[
                C::Attaching,
                C::Suspended,
                C::Attaching,
                C::Suspended,
                C::Attaching,
                C::Attached
            ]
        ),
        "{states:?}"
    );
}

/// realtime/unit/RTL13c/retry-cancelled-disconnected-0
#[test]
fn rtl13c_retry_cancelled_disconnected_0() {
    let name = "test-RTL13c";
    let handler = service(
        |n, ch| if n == 1 { reply_attached(ch) } else { silent() },
        |_, _| silent(),
    );
    let mut h = connected_with_service(opts_ms(100, 200), handler);
    attach_ok(&mut h, name);

    h.send_to_client(detached_error(name, 90198, 500, "Detach"));
    assert_eq!(h.channel_state(name), C::Attaching);
    h.advance_ms(150);
    assert_eq!(h.channel_state(name), C::Suspended);

    // The connection drops before channelRetryTimeout; reconnection attempts
    // fail, so it stays not CONNECTED for the rest of the test.
    h.on_attempt = Some(Box::new(|_, _| Attempt::Refused));
    h.simulate_disconnect();
    assert_ne!(h.client.state(), ConnectionState::Connected);
    let attaches = sent_for(&h, Action::Attach, name).len();

    h.advance_ms(500);
    assert_ne!(h.client.state(), ConnectionState::Connected);
    assert_eq!(sent_for(&h, Action::Attach, name).len(), attaches);
    assert_eq!(h.channel_state(name), C::Suspended);
}

/// realtime/unit/RTL13a/detaching-not-server-initiated-2
#[test]
fn rtl13a_detaching_not_server_initiated_2() {
    let name = "test-RTL13-detaching";
    let mut h = connected_with_service(key_options(), answering());
    attach_ok(&mut h, name);

    let op = h.detach(name);
    assert_done(&h, op);
    assert_eq!(h.channel_state(name), C::Detached);
    assert_eq!(sent_for(&h, Action::Attach, name).len(), 1);
}

// ---- RTL3: connection state side effects ------------------------------------------

/// Drops the transport with reconnection attempts refused, leaving the
/// connection DISCONNECTED.
fn disconnect_and_stay_down(h: &mut Harness) {
    h.on_attempt = Some(Box::new(|_, _| Attempt::Refused));
    h.simulate_disconnect();
    assert_eq!(h.client.state(), ConnectionState::Disconnected);
}

/// realtime/unit/RTL3e/disconnected-attached-noop-0
#[test]
fn rtl3e_disconnected_attached_noop_0() {
    let name = "test-RTL3e-attached";
    let mut h = connected_with_service(key_options(), answering());
    attach_ok(&mut h, name);
    let mark = h.channel_changes(name).len();

    disconnect_and_stay_down(&mut h);

    assert_eq!(h.channel_state(name), C::Attached);
    assert!(changes_after(&h, name, mark).is_empty());
}

/// realtime/unit/RTL3e/disconnected-attaching-noop-1
#[test]
fn rtl3e_disconnected_attaching_noop_1() {
    let name = "test-RTL3e-attaching";
    let mut h = connected_with_service(key_options(), ignoring());
    let _attach = h.attach(name);
    assert_eq!(h.channel_state(name), C::Attaching);
    let mark = h.channel_changes(name).len();

    disconnect_and_stay_down(&mut h);

    assert_eq!(h.channel_state(name), C::Attaching);
    assert!(changes_after(&h, name, mark).is_empty());
}

/// The service's fatal connection ERROR of the RTL3a tests.
fn account_disabled(h: &mut Harness) {
    h.send_to_client_and_close(connection_error(40198, 403, "Account disabled"));
    h.await_state(ConnectionState::Failed, WAIT);
}

/// realtime/unit/RTL3a/failed-attached-to-failed-0
#[test]
fn rtl3a_failed_attached_to_failed_0() {
    let name = "test-RTL3a-attached";
    let mut h = connected_with_service(key_options(), answering());
    attach_ok(&mut h, name);
    let mark = h.channel_changes(name).len();

    account_disabled(&mut h);

    assert_eq!(h.channel_state(name), C::Failed);
    let reason = reason(&h, name);
    assert_eq!(reason.map(|r| r.code), Some(40198));
    let changes = changes_after(&h, name, mark);
    let change = changes
        .iter()
        .find(|c| c.current == C::Failed)
        .expect("a FAILED change");
    assert_eq!(change.previous, C::Attached);
    assert_eq!(change.reason.as_ref().map(|r| r.code), Some(40198));
}

/// realtime/unit/RTL3a/failed-attaching-to-failed-1
#[test]
fn rtl3a_failed_attaching_to_failed_1() {
    let name = "test-RTL3a-attaching";
    let mut h = connected_with_service(key_options(), ignoring());
    let attach = h.attach(name);
    assert_eq!(h.channel_state(name), C::Attaching);
    let mark = h.channel_changes(name).len();

    account_disabled(&mut h);
    failed(&h, attach);

    assert_eq!(h.channel_state(name), C::Failed);
    assert!(reason(&h, name).is_some());
    let changes = changes_after(&h, name, mark);
    let change = changes
        .iter()
        .find(|c| c.current == C::Failed)
        .expect("a FAILED change");
    assert_eq!(change.previous, C::Attaching);
}

/// realtime/unit/RTL3a/other-states-unaffected-2
#[test]
fn rtl3a_other_states_unaffected_2() {
    let (init, det) = ("test-RTL3a-init", "test-RTL3a-detached");
    let mut h = connected_with_service(key_options(), answering());
    get_channel(&mut h, init);
    assert_eq!(h.channel_state(init), C::Initialized);
    attach_ok(&mut h, det);
    let op = h.detach(det);
    assert_done(&h, op);
    assert_eq!(h.channel_state(det), C::Detached);
    let (init_mark, det_mark) = (h.channel_changes(init).len(), h.channel_changes(det).len());

    account_disabled(&mut h);

    assert_eq!(h.channel_state(init), C::Initialized);
    assert_eq!(h.channel_state(det), C::Detached);
    assert!(changes_after(&h, init, init_mark).is_empty());
    assert!(changes_after(&h, det, det_mark).is_empty());
}

/// realtime/unit/RTL3b/closed-attached-to-detached-0
#[test]
fn rtl3b_closed_attached_to_detached_0() {
    let name = "test-RTL3b";
    let mut h = connected_with_service(key_options(), answering());
    attach_ok(&mut h, name);
    let mark = h.channel_changes(name).len();

    h.close();
    h.await_state(ConnectionState::Closed, WAIT);

    assert_eq!(h.channel_state(name), C::Detached);
    let changes = changes_after(&h, name, mark);
    let change = changes
        .iter()
        .find(|c| c.current == C::Detached)
        .expect("a DETACHED change");
    assert_eq!(change.previous, C::Attached);
}

/// realtime/unit/RTL3b/closed-attaching-to-detached-1
#[test]
fn rtl3b_closed_attaching_to_detached_1() {
    let name = "test-RTL3b-attaching";
    let mut h = connected_with_service(key_options(), ignoring());
    let attach = h.attach(name);
    assert_eq!(h.channel_state(name), C::Attaching);
    let mark = h.channel_changes(name).len();

    h.close();
    h.await_state(ConnectionState::Closed, WAIT);
    failed(&h, attach);

    assert_eq!(h.channel_state(name), C::Detached);
    let changes = changes_after(&h, name, mark);
    let change = changes
        .iter()
        .find(|c| c.current == C::Detached)
        .expect("a DETACHED change");
    assert_eq!(change.previous, C::Attaching);
}

/// Options of the RTL3c and RTL3d suspension tests.
fn suspension_options() -> ClientOptions {
    ClientOptions {
        disconnected_retry_timeout: Duration::from_millis(1000),
        suspended_retry_timeout: Duration::from_millis(2000),
        ..key_options()
    }
}

/// Drops the transport with every reconnection refused and advances time
/// in 5 s steps until the connection is SUSPENDED.
fn suspend_connection(h: &mut Harness) {
    h.on_attempt = Some(Box::new(|_, _| Attempt::Refused));
    h.simulate_disconnect();
    for _ in 0..30 {
        h.advance_ms(5000);
        if h.client.state() == ConnectionState::Suspended {
            break;
        }
    }
    assert_eq!(h.client.state(), ConnectionState::Suspended);
}

/// realtime/unit/RTL3c/suspended-attached-to-suspended-0
#[test]
fn rtl3c_suspended_attached_to_suspended_0() {
    let name = "test-RTL3c";
    let mut h = connected_with_service(suspension_options(), answering());
    attach_ok(&mut h, name);
    let mark = h.channel_changes(name).len();

    suspend_connection(&mut h);

    assert_eq!(h.channel_state(name), C::Suspended);
    let changes = changes_after(&h, name, mark);
    let change = changes
        .iter()
        .find(|c| c.current == C::Suspended)
        .expect("a SUSPENDED change");
    assert_eq!(change.previous, C::Attached);
}

/// realtime/unit/RTL3c/suspended-attaching-to-suspended-1
#[test]
fn rtl3c_suspended_attaching_to_suspended_1() {
    let name = "test-RTL3c-attaching";
    // A long realtimeRequestTimeout keeps the attach pending (no RTL4f)
    // until the connection is suspended.
    let opts = ClientOptions {
        realtime_request_timeout: Duration::from_secs(600),
        ..suspension_options()
    };
    let mut h = connected_with_service(opts, ignoring());
    let _attach = h.attach(name);
    assert_eq!(h.channel_state(name), C::Attaching);
    let mark = h.channel_changes(name).len();

    suspend_connection(&mut h);

    assert_eq!(h.channel_state(name), C::Suspended);
    let changes = changes_after(&h, name, mark);
    let change = changes
        .iter()
        .find(|c| c.current == C::Suspended)
        .expect("a SUSPENDED change");
    assert_eq!(change.previous, C::Attaching);
}

/// realtime/unit/RTL3d/reattach-attached-with-serial-0
#[test]
fn rtl3d_reattach_attached_with_serial_0() {
    let name = "test-RTL3d-attached";
    let handler = service(
        |_, ch| {
            vec![Reply::Send(attached_with(
                ch,
                Flags::NONE,
                Some("serial-001"),
            ))]
        },
        |_, _| silent(),
    );
    let opts = ClientOptions {
        disconnected_retry_timeout: Duration::from_millis(100),
        ..key_options()
    };
    let mut h = connected_with_service(opts, handler);
    attach_ok(&mut h, name);
    assert_eq!(sent_for(&h, Action::Attach, name).len(), 1);
    let mark = h.channel_changes(name).len();

    h.simulate_disconnect();
    h.await_state(ConnectionState::Connected, WAIT);
    await_channel(&mut h, name, C::Attached, WAIT);

    let frames = sent_for(&h, Action::Attach, name);
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[1].channel_serial.as_deref(), Some("serial-001"));
    let states = states_after(&h, name, mark);
    assert!(
        contains_in_order(&states, &[C::Attaching, C::Attached]),
        "{states:?}"
    );
}

/// realtime/unit/RTL3d/reattach-suspended-channels-1
#[test]
fn rtl3d_reattach_suspended_channels_1() {
    let name = "test-RTL3d-suspended";
    let mut h = connected_with_service(suspension_options(), answering());
    attach_ok(&mut h, name);
    assert_eq!(sent_for(&h, Action::Attach, name).len(), 1);

    suspend_connection(&mut h);
    assert_eq!(h.channel_state(name), C::Suspended);
    let mark = h.channel_changes(name).len();

    h.on_attempt = Some(Box::new(|n, _| {
        Attempt::Success(connected("connection-id", &format!("connection-key-{n}")))
    }));
    for _ in 0..10 {
        h.advance_ms(2500);
        if h.client.state() == ConnectionState::Connected {
            break;
        }
    }
    assert_eq!(h.client.state(), ConnectionState::Connected);
    await_channel(&mut h, name, C::Attached, WAIT);

    assert!(sent_for(&h, Action::Attach, name).len() >= 2);
    let states = states_after(&h, name, mark);
    assert!(
        contains_in_order(&states, &[C::Attaching, C::Attached]),
        "{states:?}"
    );
}

/// realtime/unit/RTL3d/init-detached-not-reattached-2
#[test]
fn rtl3d_init_detached_not_reattached_2() {
    let (init, det) = ("test-RTL3d-init", "test-RTL3d-detached");
    let opts = ClientOptions {
        disconnected_retry_timeout: Duration::from_millis(100),
        ..key_options()
    };
    let mut h = connected_with_service(opts, answering());
    get_channel(&mut h, init);
    attach_ok(&mut h, det);
    let op = h.detach(det);
    assert_done(&h, op);
    assert_eq!(h.channel_state(det), C::Detached);
    let attaches_before = h.sent_with(Action::Attach).len();
    let (init_mark, det_mark) = (h.channel_changes(init).len(), h.channel_changes(det).len());

    h.simulate_disconnect();
    h.await_state(ConnectionState::Connected, WAIT);
    assert_eq!(h.transports.len(), 2, "reconnected on a new transport");

    assert_eq!(h.channel_state(init), C::Initialized);
    assert_eq!(h.channel_state(det), C::Detached);
    assert!(changes_after(&h, init, init_mark).is_empty());
    assert!(changes_after(&h, det, det_mark).is_empty());
    let new: Vec<_> = h.sent_with(Action::Attach)[attaches_before..]
        .iter()
        .filter_map(|pm| pm.channel.clone())
        .collect();
    assert!(!new.iter().any(|c| c == init || c == det), "{new:?}");
}

/// realtime/unit/RTL3d/multiple-channels-reattached-3
#[test]
fn rtl3d_multiple_channels_reattached_3() {
    let (one, two) = ("test-RTL3d-multi1", "test-RTL3d-multi2");
    let opts = ClientOptions {
        disconnected_retry_timeout: Duration::from_millis(100),
        ..key_options()
    };
    let mut h = connected_with_service(opts, answering());
    attach_ok(&mut h, one);
    attach_ok(&mut h, two);
    let attaches_before = h.sent_with(Action::Attach).len();

    h.simulate_disconnect();
    h.await_state(ConnectionState::Connected, WAIT);
    await_channel(&mut h, one, C::Attached, WAIT);
    await_channel(&mut h, two, C::Attached, WAIT);

    let new: Vec<_> = h.sent_with(Action::Attach)[attaches_before..]
        .iter()
        .filter_map(|pm| pm.channel.clone())
        .collect();
    assert!(new.iter().any(|c| c == one), "{new:?}");
    assert!(new.iter().any(|c| c == two), "{new:?}");
}

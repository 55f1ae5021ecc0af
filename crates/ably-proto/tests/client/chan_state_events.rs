//! Channel attributes (RTL23, RTL24), state and events (RTL2, TH) and
//! whenState (RTL25), ported from `uts/realtime/unit/channels/
//! {channel_attributes,channel_state_events,channel_when_state_test}.md`.

use ably_proto::client::{ChannelState, Completion};
use ably_proto::{Action, ErrorInfo, Flags};

use crate::chan_state_util::*;
use crate::harness::*;

use ChannelState::*;

/// A service answering every ATTACH with a plain ATTACHED and every DETACH
/// with DETACHED.
fn plain_service() -> MessageHandler {
    answering_attach(attached(""))
}

// ---- RTL23, RTL24: attributes ----------------------------------------------------

/// realtime/unit/RTL23/name-attribute-0
#[test]
fn rtl23_name_attribute_0() {
    let mut h = Harness::new(key_options());
    get(&mut h, "my-channel");
    assert_eq!(h.client.channel("my-channel").unwrap().name(), "my-channel");
    get(&mut h, "namespace:channel-name");
    assert_eq!(
        h.client.channel("namespace:channel-name").unwrap().name(),
        "namespace:channel-name"
    );
}

/// realtime/unit/RTL24/error-reason-channel-error-0
#[test]
fn rtl24_error_reason_channel_error_0() {
    let name = "test-RTL24-error";
    let mut h = connected_harness(plain_service());
    get(&mut h, name);
    attach_ok(&mut h, name);
    assert_eq!(h.client.channel(name).unwrap().error_reason(), None);

    h.send_to_client(channel_error(name, 90001, 500, "Channel error occurred"));
    assert_eq!(h.channel_state(name), Failed);

    let err = h.client.channel(name).unwrap().error_reason().cloned();
    let err = err.expect("errorReason set");
    assert_eq!(err.code, 90001);
    assert_eq!(err.status_code, Some(500));
    assert_eq!(err.message, "Channel error occurred");
}

/// realtime/unit/RTL24/error-reason-attach-failure-1
#[test]
fn rtl24_error_reason_attach_failure_1() {
    let name = "test-RTL24-attach-fail";
    let refusal = detached(name, Some(ErrorInfo::new(40160, 401, "Permission denied")));
    let mut h = connected_harness(answering_attach(refusal));
    get(&mut h, name);

    let op = h.attach(name);
    assert!(outcome(&h, op).is_err(), "attach fails");

    let err = h.client.channel(name).unwrap().error_reason().cloned();
    let err = err.expect("errorReason set from the DETACHED");
    assert_eq!(err.code, 40160);
    assert_eq!(err.status_code, Some(401));
}

/// realtime/unit/RTL4c/error-cleared-on-attach-0
#[test]
fn rtl4c_error_cleared_on_attach_0() {
    let name = "test-RTL24-clear-attach";
    let mut attach_count = 0;
    let mut h = connected_harness(Box::new(move |pm| match pm.action {
        Action::Attach => {
            attach_count += 1;
            if attach_count == 1 {
                vec![Reply::Send(detached(
                    name,
                    Some(ErrorInfo::new(50000, 500, "Temporary error")),
                ))]
            } else {
                vec![Reply::Send(attached(name))]
            }
        }
        _ => vec![],
    }));
    get(&mut h, name);

    let op = h.attach(name);
    assert!(outcome(&h, op).is_err(), "first attach fails");
    let err = h.client.channel(name).unwrap().error_reason().cloned();
    assert_eq!(err.map(|e| e.code), Some(50000));

    attach_ok(&mut h, name);
    assert_eq!(h.channel_state(name), Attached);
    assert_eq!(h.client.channel(name).unwrap().error_reason(), None);
}

/// realtime/unit/RTL4c/error-cleared-preserved-detach-1
#[test]
fn rtl4c_error_cleared_preserved_detach_1() {
    let name = "test-RTL24-clear-detach";
    let mut h = connected_harness(plain_service());
    get(&mut h, name);
    attach_ok(&mut h, name);

    h.send_to_client(channel_error(name, 90002, 500, "Channel error"));
    assert_eq!(h.channel_state(name), Failed);
    let err = h.client.channel(name).unwrap().error_reason().cloned();
    assert_eq!(err.map(|e| e.code), Some(90002));

    attach_ok(&mut h, name);
    assert_eq!(h.client.channel(name).unwrap().error_reason(), None);

    let op = h.detach(name);
    assert_eq!(outcome(&h, op), Ok(Completion::Done));
    assert_eq!(h.channel_state(name), Detached);
    assert_eq!(h.client.channel(name).unwrap().error_reason(), None);
}

// ---- RTL2, TH: state and events ---------------------------------------------------

/// realtime/unit/RTL2b/channel-state-attribute-0
#[test]
fn rtl2b_channel_state_attribute_0() {
    let name = "test-RTL2b";
    let mut h = Harness::new(key_options());
    get(&mut h, name);
    let state: ChannelState = h.client.channel(name).unwrap().state();
    assert_eq!(state, Initialized);
}

/// realtime/unit/RTL2b/initial-state-initialized-1
#[test]
fn rtl2b_initial_state_initialized_1() {
    let name = "test-RTL2b-init";
    let mut h = Harness::new(key_options());
    assert!(h.client.channel(name).is_none());
    get(&mut h, name);
    assert_eq!(h.client.channel(name).unwrap().state(), Initialized);
    assert!(h.channel_changes(name).is_empty(), "creation emits nothing");
}

/// realtime/unit/RTL2a/state-change-events-emitted-0
#[test]
fn rtl2a_state_change_events_emitted_0() {
    let name = "test-RTL2a";
    let mut h = Harness::connecting_ok(key_options());
    get(&mut h, name);
    h.connect();
    h.await_state(ably_proto::client::ConnectionState::Connected, SEC);
    h.on_message = Some(plain_service());

    attach_ok(&mut h, name);

    let changes = h.channel_changes(name);
    assert!(changes.len() >= 2, "{changes:?}");
    assert_eq!(changes[0].current, Attaching);
    assert_eq!(changes[0].previous, Initialized);
    assert_eq!(changes[1].current, Attached);
    assert_eq!(changes[1].previous, Attaching);
}

/// realtime/unit/RTL2d/state-change-object-structure-0
#[test]
fn rtl2d_state_change_object_structure_0() {
    let name = "test-RTL2d";
    let mut h = connected_harness(plain_service());
    get(&mut h, name);
    attach_ok(&mut h, name);

    let captured = h
        .channel_changes(name)
        .into_iter()
        .find(|c| c.current == Attaching)
        .cloned()
        .expect("an attaching change");
    assert_eq!(captured.channel, name);
    assert_eq!(captured.current, Attaching);
    assert_eq!(captured.previous, Initialized);
    assert_eq!(event(&captured), ChannelEvent::State(Attaching));
}

/// realtime/unit/RTL2d/state-change-error-reason-1
#[test]
fn rtl2d_state_change_error_reason_1() {
    let name = "test-RTL2d-error";
    let mut h = connected_harness(Box::new(move |pm| match pm.action {
        Action::Attach => vec![Reply::Send(channel_error(
            name,
            40160,
            401,
            "Channel denied",
        ))],
        _ => vec![],
    }));
    get(&mut h, name);

    let op = h.attach(name);
    assert!(outcome(&h, op).is_err(), "attach fails");

    let failed = changes_as(&h, name, ChannelEvent::State(Failed));
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].current, Failed);
    let reason = failed[0].reason.as_ref().expect("reason set");
    assert_eq!(reason.code, 40160);
    assert_eq!(reason.message, "Channel denied");
}

/// realtime/unit/RTL2/filtered-event-subscription-0
#[test]
fn rtl2_filtered_event_subscription_0() {
    let name = "test-RTL2-filtered";
    let mut h = connected_harness(plain_service());
    get(&mut h, name);
    attach_ok(&mut h, name);

    let attached_events = changes_as(&h, name, ChannelEvent::State(Attached));
    assert_eq!(attached_events.len(), 1, "{attached_events:?}");
    assert_eq!(attached_events[0].current, Attached);
    assert_eq!(
        event(&attached_events[0]),
        ChannelEvent::State(Attached),
        "the attaching change is not among them"
    );
}

/// realtime/unit/RTL2g/update-event-condition-change-0
#[test]
fn rtl2g_update_event_condition_change_0() {
    let name = "test-RTL2g";
    let mut h = connected_harness(plain_service());
    get(&mut h, name);
    attach_ok(&mut h, name);

    // Another ATTACHED without RESUMED: loss of continuity (RTL12).
    h.send_to_client(attached(name));

    assert_eq!(h.channel_state(name), Attached);
    let updates = changes_as(&h, name, ChannelEvent::Update);
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert_eq!(event(&updates[0]), ChannelEvent::Update);
    assert_eq!(updates[0].current, Attached);
    assert_eq!(updates[0].previous, Attached);
    assert!(!updates[0].resumed);
}

/// realtime/unit/RTL2g/no-duplicate-state-events-1
#[test]
fn rtl2g_no_duplicate_state_events_1() {
    let name = "test-RTL2g-nodup";
    let mut h = connected_harness(plain_service());
    get(&mut h, name);
    attach_ok(&mut h, name);
    let initial_count = h.channel_changes(name).len();

    h.send_to_client(attached(name));

    assert_eq!(
        h.channel_changes(name).len(),
        initial_count + 1,
        "an UPDATE"
    );
    let attached_state_events = changes_as(&h, name, ChannelEvent::State(Attached));
    assert_eq!(attached_state_events.len(), 1, "only the original attach");
}

/// realtime/unit/RTL2i/has-backlog-flag-true-0
#[test]
fn rtl2i_has_backlog_flag_true_0() {
    let name = "test-RTL2i";
    let mut h = connected_harness(answering_attach(attached_with(
        "",
        Flags::HAS_BACKLOG,
        None,
    )));
    get(&mut h, name);
    attach_ok(&mut h, name);

    let captured = changes_as(&h, name, ChannelEvent::State(Attached));
    assert_eq!(captured.len(), 1);
    assert!(captured[0].has_backlog);
}

/// realtime/unit/RTL2i/has-backlog-flag-false-1
#[test]
fn rtl2i_has_backlog_flag_false_1() {
    let name = "test-RTL2i-false";
    let mut h = connected_harness(plain_service());
    get(&mut h, name);
    attach_ok(&mut h, name);

    let captured = changes_as(&h, name, ChannelEvent::State(Attached));
    assert_eq!(captured.len(), 1);
    assert!(!captured[0].has_backlog);
}

/// realtime/unit/RTL2d/resumed-flag-propagated-2
#[test]
fn rtl2d_resumed_flag_propagated_2() {
    let name = "test-RTL2d-resumed";
    let mut h = connected_harness(answering_attach(attached_with("", Flags::RESUMED, None)));
    get(&mut h, name);
    attach_ok(&mut h, name);

    let captured = changes_as(&h, name, ChannelEvent::State(Attached));
    assert_eq!(captured.len(), 1);
    assert!(captured[0].resumed);
}

/// realtime/unit/RTL24/error-reason-populated-0
#[test]
fn rtl24_error_reason_populated_0() {
    let name = "test-errorReason";
    let mut h = connected_harness(Box::new(move |pm| match pm.action {
        Action::Attach => vec![Reply::Send(channel_error(
            name,
            40160,
            401,
            "Not authorized",
        ))],
        _ => vec![],
    }));
    get(&mut h, name);

    let op = h.attach(name);
    assert!(outcome(&h, op).is_err(), "attach fails");

    assert_eq!(h.channel_state(name), Failed);
    let err = h.client.channel(name).unwrap().error_reason().cloned();
    let err = err.expect("errorReason set");
    assert_eq!(err.code, 40160);
    assert_eq!(err.message, "Not authorized");
}

/// realtime/unit/RTL4c/error-reason-cleared-attach-0
#[test]
fn rtl4c_error_reason_cleared_attach_0() {
    let name = "test-errorReason-clear";
    let mut attach_count = 0;
    let mut h = connected_harness(Box::new(move |pm| match pm.action {
        Action::Attach => {
            attach_count += 1;
            if attach_count == 1 {
                let mut pm = ably_proto::ProtocolMessage::for_channel(Action::Error, name);
                let mut err = ErrorInfo::new(40160, 400, "Denied");
                err.status_code = None; // the spec's error has no statusCode
                pm.error = Some(err);
                vec![Reply::Send(pm)]
            } else {
                vec![Reply::Send(attached(name))]
            }
        }
        _ => vec![],
    }));
    get(&mut h, name);

    let op = h.attach(name);
    assert!(outcome(&h, op).is_err(), "first attach fails");
    assert_eq!(h.channel_state(name), Failed);
    assert!(h.client.channel(name).unwrap().error_reason().is_some());

    attach_ok(&mut h, name);
    assert_eq!(h.channel_state(name), Attached);
    assert_eq!(h.client.channel(name).unwrap().error_reason(), None);
}

// ---- RTL25: whenState --------------------------------------------------------------

/// realtime/unit/RTL25a/resolves-immediately-current-0
#[test]
fn rtl25a_resolves_immediately_current_0() {
    let name = "test-RTL25a-immediate";
    let mut h = connected_harness(plain_service());
    get(&mut h, name);
    attach_ok(&mut h, name);

    let when = WhenState::new(&h, name, Attached);
    assert_eq!(when.resolved(&h), Some(None), "resolved at once with null");
}

/// realtime/unit/RTL25b/waits-for-state-change-0
#[test]
fn rtl25b_waits_for_state_change_0() {
    let name = "test-RTL25b-deferred";
    let mut h = connected_harness(plain_service());
    get(&mut h, name);

    let when = WhenState::new(&h, name, Attached);
    assert_eq!(when.resolved(&h), None, "waits");
    attach_ok(&mut h, name);

    let change = when
        .resolved(&h)
        .expect("resolved")
        .expect("with a state change");
    assert_eq!(change.current, Attached);
    assert!(
        matches!(change.previous, Initialized | Attaching),
        "{change:?}"
    );
}

/// realtime/unit/RTL25b/fires-once-only-1
#[test]
fn rtl25b_fires_once_only_1() {
    let name = "test-RTL25b-once";
    let mut h = connected_harness(plain_service());
    get(&mut h, name);

    let when = WhenState::new(&h, name, Attached);
    attach_ok(&mut h, name);
    assert!(when.resolved(&h).expect("resolved").is_some());
    let first = when.resolved_at(&h);

    let op = h.detach(name);
    assert_eq!(outcome(&h, op), Ok(Completion::Done));
    attach_ok(&mut h, name);
    h.advance_ms(50);

    // The state was entered twice; the registration resolved once, with
    // the first.
    assert_eq!(changes_as(&h, name, ChannelEvent::State(Attached)).len(), 2);
    assert_eq!(when.resolved_at(&h), first);
}

/// realtime/unit/RTL25a/past-state-does-not-resolve-1
#[test]
fn rtl25a_past_state_does_not_resolve_1() {
    let name = "test-RTL25a-past";
    let mut h = connected_harness(plain_service());
    get(&mut h, name);
    attach_ok(&mut h, name);
    assert_eq!(h.channel_state(name), Attached);

    let when = WhenState::new(&h, name, Attaching);
    h.advance_ms(200);
    assert_eq!(when.resolved(&h), None);
}

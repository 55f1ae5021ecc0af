//! `attach()` (RTL4), additional ATTACHED (RTL12) and channel ERROR (RTL14).
//! Ported from `uts/realtime/unit/channels/channel_attach.md`,
//! `channel_additional_attached.md` and `channel_error.md`.

use std::time::Duration;

use ably_proto::client::{ChannelState, ClientOptions, Command, ConnectionState};
use ably_proto::{Action, ChannelMode, ChannelModes, ChannelOptions, ErrorInfo, Flags};

use crate::chan_lifecycle_util::*;
use crate::harness::*;

use ChannelState as C;

// ---- RTL4: attach -----------------------------------------------------------------

/// realtime/unit/RTL4a/already-attached-noop-0
#[test]
fn rtl4a_already_attached_noop_0() {
    let name = "test-RTL4a";
    let mut h = connected_with_service(key_options(), answering());
    let op = h.attach(name);
    assert_done(&h, op);
    assert_eq!(h.channel_state(name), C::Attached);
    assert_eq!(sent_for(&h, Action::Attach, name).len(), 1);

    let changes = h.channel_changes(name).len();
    let op = h.attach(name);
    assert_done(&h, op);
    assert_eq!(h.channel_state(name), C::Attached);
    assert_eq!(sent_for(&h, Action::Attach, name).len(), 1, "no new ATTACH");
    assert_eq!(h.channel_changes(name).len(), changes, "no state change");
}

/// realtime/unit/RTL4h/attach-while-attaching-0
#[test]
fn rtl4h_attach_while_attaching_0() {
    let name = "test-RTL4h";
    let mut h = connected_with_service(key_options(), ignoring());
    let op1 = h.attach(name);
    assert_eq!(h.channel_state(name), C::Attaching);
    let op2 = h.attach(name);
    assert_eq!(h.completion(op1), None);
    assert_eq!(h.completion(op2), None);

    h.send_to_client(attached(name));
    assert_done(&h, op1);
    assert_done(&h, op2);
    assert_eq!(h.channel_state(name), C::Attached);
    assert_eq!(sent_for(&h, Action::Attach, name).len(), 1);
}

/// realtime/unit/RTL4h/attach-while-detaching-1
#[test]
fn rtl4h_attach_while_detaching_1() {
    let name = "test-RTL4h-detaching";
    let mut h = connected_with_service(key_options(), attach_only());
    let op = h.attach(name);
    assert_done(&h, op);
    assert_eq!(h.channel_state(name), C::Attached);

    let detach = h.detach(name);
    assert_eq!(h.channel_state(name), C::Detaching);
    let attach = h.attach(name);
    assert_eq!(h.completion(attach), None, "waits for the detach");
    assert_eq!(sent_for(&h, Action::Attach, name).len(), 1);

    h.send_to_client(detached(name, None));
    assert_done(&h, detach);
    assert_done(&h, attach);
    assert_eq!(h.channel_state(name), C::Attached);
    let actions: Vec<Action> = h
        .sent()
        .into_iter()
        .filter(|pm| pm.channel.as_deref() == Some(name))
        .map(|pm| pm.action)
        .collect();
    assert_eq!(actions, [Action::Attach, Action::Detach, Action::Attach]);
}

/// realtime/unit/RTL4g/attach-from-failed-0
#[test]
fn rtl4g_attach_from_failed_0() {
    let name = "test-RTL4g";
    let handler = service(
        |n, ch| {
            if n == 1 {
                vec![Reply::Send(channel_error(ch, 40160, 401, "Denied"))]
            } else {
                reply_attached(ch)
            }
        },
        |_, _| silent(),
    );
    let mut h = connected_with_service(key_options(), handler);
    let op = h.attach(name);
    let err = failed(&h, op);
    assert_eq!(err.code, 40160);
    assert_eq!(h.channel_state(name), C::Failed);
    assert!(reason(&h, name).is_some());

    let op = h.attach(name);
    assert_done(&h, op);
    assert_eq!(h.channel_state(name), C::Attached);
    assert!(reason(&h, name).is_none());
}

/// realtime/unit/RTL4c/clears-error-reason-0
#[test]
fn rtl4c_clears_error_reason_0() {
    let name = "test-RTL4c-error-clear";
    let opts = ClientOptions {
        suspended_retry_timeout: Duration::from_millis(2000),
        ..key_options()
    };
    let mut h = connected_with_service(opts, answering());
    let op = h.attach(name);
    assert_done(&h, op);

    h.on_attempt = Some(Box::new(|_, _| Attempt::Refused));
    h.simulate_disconnect();
    for _ in 0..30 {
        h.advance_ms(5000);
        if h.client.state() == ConnectionState::Suspended {
            break;
        }
    }
    assert_eq!(h.client.state(), ConnectionState::Suspended);
    assert_eq!(h.channel_state(name), C::Suspended);
    assert!(reason(&h, name).is_some());

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
    assert!(reason(&h, name).is_none());
}

/// realtime/unit/RTL4b/fails-connection-closed-0
#[test]
fn rtl4b_fails_connection_closed_0() {
    let name = "test-RTL4b-closed";
    let mut h = connected_with_service(key_options(), answering());
    h.close();
    h.await_state(ConnectionState::Closed, WAIT);

    let op = h.attach(name);
    let err = failed(&h, op);
    assert_ne!(err.code, 0);
    assert_ne!(h.channel_state(name), C::Attached);
    assert!(sent_for(&h, Action::Attach, name).is_empty());
}

/// realtime/unit/RTL4b/fails-connection-failed-1
#[test]
fn rtl4b_fails_connection_failed_1() {
    let name = "test-RTL4b-failed";
    let mut h = Harness::new(key_options());
    get_channel(&mut h, name);
    h.connect();
    h.respond(Attempt::Success(connected(
        "connection-id",
        "connection-key",
    )));
    h.send_to_client_and_close(connection_error(80000, 400, "Fatal error"));
    h.await_state(ConnectionState::Failed, WAIT);

    let op = h.attach(name);
    let err = failed(&h, op);
    assert_ne!(err.code, 0);
    assert_ne!(h.channel_state(name), C::Attached);
}

/// realtime/unit/RTL4b/fails-connection-suspended-2
#[test]
fn rtl4b_fails_connection_suspended_2() {
    let name = "test-RTL4b-suspended";
    let mut h = Harness::new(ClientOptions {
        channel_retry_timeout: Duration::from_millis(100),
        ..key_options()
    });
    get_channel(&mut h, name);
    h.on_attempt = Some(Box::new(|_, _| Attempt::Refused));
    h.connect();
    h.await_state(ConnectionState::Suspended, Duration::from_secs(300));

    let op = h.attach(name);
    let err = failed(&h, op);
    assert_ne!(err.code, 0);
    assert_ne!(h.channel_state(name), C::Attached);
}

/// realtime/unit/RTL4i/queued-while-connecting-0
#[test]
fn rtl4i_queued_while_connecting_0() {
    let name = "test-RTL4i";
    let mut h = Harness::new(key_options());
    h.on_message = Some(answering());
    get_channel(&mut h, name);
    h.connect();
    assert_eq!(h.client.state(), ConnectionState::Connecting);

    let op = h.attach(name);
    assert_eq!(h.channel_state(name), C::Attaching);
    assert_eq!(h.completion(op), None);
    assert!(h.sent_with(Action::Attach).is_empty(), "no ATTACH yet");
}

/// realtime/unit/RTL4i/completes-on-connected-1
#[test]
fn rtl4i_completes_on_connected_1() {
    let name = "test-RTL4i-connected";
    let mut h = Harness::new(key_options());
    h.on_message = Some(answering());
    get_channel(&mut h, name);
    h.connect();
    assert_eq!(h.client.state(), ConnectionState::Connecting);

    let op = h.attach(name);
    assert_eq!(h.channel_state(name), C::Attaching);
    assert!(h.sent_with(Action::Attach).is_empty());

    h.respond(Attempt::Success(connected(
        "connection-id",
        "connection-key",
    )));
    assert_done(&h, op);
    assert_eq!(h.channel_state(name), C::Attached);
    assert_eq!(sent_for(&h, Action::Attach, name).len(), 1);
}

/// realtime/unit/RTL4c/sends-attach-message-1
#[test]
fn rtl4c_sends_attach_message_1() {
    let name = "test-RTL4c";
    let mut h = connected_with_service(key_options(), answering());
    get_channel(&mut h, name);
    let op = h.attach(name);
    assert_done(&h, op);

    let changes = h.channel_changes(name);
    let attaching = changes
        .iter()
        .find(|c| c.current == C::Attaching)
        .expect("an attaching event");
    assert_eq!(attaching.previous, C::Initialized);
    assert_eq!(h.channel_state(name), C::Attached);
    let frames = h.sent_with(Action::Attach);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].action, Action::Attach);
    assert_eq!(frames[0].channel.as_deref(), Some(name));
}

/// realtime/unit/RTL4c1/includes-channel-serial-0
#[test]
fn rtl4c1_includes_channel_serial_0() {
    let name = "test-RTL4c1";
    let handler = service(
        |_, ch| {
            vec![Reply::Send(attached_with(
                ch,
                Flags::NONE,
                Some("serial-from-server-1"),
            ))]
        },
        |_, _| silent(),
    );
    let mut h = connected_with_service(key_options(), handler);
    let op = h.attach(name);
    assert_done(&h, op);

    // setOptions with new modes reattaches without DETACHED (RTL16a).
    let op = h.command(Command::SetChannelOptions {
        channel: name.into(),
        options: ChannelOptions::default().modes(ChannelModes::EMPTY.with(ChannelMode::Subscribe)),
    });
    assert_done(&h, op);

    let frames = sent_for(&h, Action::Attach, name);
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[0].channel_serial, None);
    assert_eq!(
        frames[1].channel_serial.as_deref(),
        Some("serial-from-server-1")
    );
}

/// realtime/unit/RTL4f/timeout-to-suspended-0
#[test]
fn rtl4f_timeout_to_suspended_0() {
    let name = "test-RTL4f";
    let mut h = connected_with_service(opts_ms(100, 15_000), ignoring());
    let op = h.attach(name);
    h.advance_ms(150);
    let err = failed(&h, op);
    assert_ne!(err.code, 0);
    assert_eq!(h.channel_state(name), C::Suspended);
}

/// realtime/unit/RTL4k/includes-channel-params-0
#[test]
fn rtl4k_includes_channel_params_0() {
    let name = "test-RTL4k";
    let mut h = connected_with_service(key_options(), answering());
    get_channel_with(
        &mut h,
        name,
        ChannelOptions::default()
            .param("rewind", "1")
            .param("delta", "vcdiff"),
    );
    let op = h.attach(name);
    assert_done(&h, op);

    let frames = sent_for(&h, Action::Attach, name);
    let params = frames[0].params.as_ref().expect("params in ATTACH");
    assert_eq!(params.get("rewind").map(String::as_str), Some("1"));
    assert_eq!(params.get("delta").map(String::as_str), Some("vcdiff"));
}

/// realtime/unit/RTL4l/modes-encoded-as-flags-0
#[test]
fn rtl4l_modes_encoded_as_flags_0() {
    let name = "test-RTL4l";
    let mut h = connected_with_service(key_options(), answering());
    let modes: ChannelModes = [ChannelMode::Publish, ChannelMode::Subscribe]
        .into_iter()
        .collect();
    get_channel_with(&mut h, name, ChannelOptions::default().modes(modes));
    let op = h.attach(name);
    assert_done(&h, op);

    let frames = sent_for(&h, Action::Attach, name);
    let flags = frames[0].flags.0;
    assert_ne!(flags & 131_072, 0, "PUBLISH bit");
    assert_ne!(flags & 262_144, 0, "SUBSCRIBE bit");
}

/// realtime/unit/RTL4m/modes-from-attached-0
#[test]
fn rtl4m_modes_from_attached_0() {
    let name = "test-RTL4m";
    let handler = service(
        |_, ch| vec![Reply::Send(attached_with(ch, Flags(393_216), None))],
        |_, _| silent(),
    );
    let mut h = connected_with_service(key_options(), handler);
    let op = h.attach(name);
    assert_done(&h, op);

    let modes = h.client.channel(name).expect("the channel").modes();
    assert!(modes.contains(ChannelMode::Publish));
    assert!(modes.contains(ChannelMode::Subscribe));
    assert!(!modes.contains(ChannelMode::Presence));
}

// ---- RTL12: additional ATTACHED ---------------------------------------------------

/// An attached channel on a connected harness; returns the number of
/// channel changes so far.
fn attached_channel(h: &mut Harness, name: &str) -> usize {
    let op = h.attach(name);
    assert_done(h, op);
    h.channel_changes(name).len()
}

/// realtime/unit/RTL12/update-emits-with-error-0
#[test]
fn rtl12_update_emits_with_error_0() {
    let name = "test-RTL12-update";
    let mut h = connected_with_service(key_options(), answering());
    let mark = attached_channel(&mut h, name);

    let mut pm = attached(name);
    pm.error = Some(ErrorInfo::new(50000, 500, "generic serverside failure"));
    h.send_to_client(pm);

    assert_eq!(h.channel_state(name), C::Attached);
    let updates: Vec<_> = changes_after(&h, name, mark)
        .into_iter()
        .filter(|c| c.update)
        .collect();
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].current, C::Attached);
    assert_eq!(updates[0].previous, C::Attached);
    assert!(!updates[0].resumed);
    assert_eq!(updates[0].reason.as_ref().map(|r| r.code), Some(50000));
}

/// realtime/unit/RTL12/resumed-no-update-1
#[test]
fn rtl12_resumed_no_update_1() {
    let name = "test-RTL12-no-update";
    let mut h = connected_with_service(key_options(), answering());
    let mark = attached_channel(&mut h, name);

    h.send_to_client(attached_with(name, Flags::RESUMED, None));

    assert_eq!(h.channel_state(name), C::Attached);
    assert!(changes_after(&h, name, mark).is_empty());
}

/// realtime/unit/RTL12/no-error-null-reason-2
#[test]
fn rtl12_no_error_null_reason_2() {
    let name = "test-RTL12-no-error";
    let mut h = connected_with_service(key_options(), answering());
    let mark = attached_channel(&mut h, name);

    h.send_to_client(attached(name));

    assert_eq!(h.channel_state(name), C::Attached);
    let updates: Vec<_> = changes_after(&h, name, mark)
        .into_iter()
        .filter(|c| c.update)
        .collect();
    assert_eq!(updates.len(), 1);
    assert!(!updates[0].resumed);
    assert!(updates[0].reason.is_none());
}

// ---- RTL14: channel ERROR ---------------------------------------------------------

/// realtime/unit/RTL14/attached-to-failed-0
#[test]
fn rtl14_attached_to_failed_0() {
    let name = "test-RTL14-attached";
    let mut h = connected_with_service(key_options(), answering());
    let mark = attached_channel(&mut h, name);

    h.send_to_client(channel_error(name, 40160, 401, "Not permitted"));

    assert_eq!(h.channel_state(name), C::Failed);
    let reason = reason(&h, name).expect("errorReason");
    assert_eq!(reason.code, 40160);
    assert_eq!(reason.status_code, Some(401));
    assert!(reason.message.contains("Not permitted"));

    let changes = changes_after(&h, name, mark);
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].current, C::Failed);
    assert_eq!(changes[0].previous, C::Attached);
    assert_eq!(changes[0].reason.as_ref().map(|r| r.code), Some(40160));
    assert_eq!(h.client.state(), ConnectionState::Connected);
}

/// realtime/unit/RTL14/attaching-to-failed-1
#[test]
fn rtl14_attaching_to_failed_1() {
    let name = "test-RTL14-attaching";
    let handler = service(
        |_, ch| vec![Reply::Send(channel_error(ch, 40160, 401, "Not permitted"))],
        |_, _| silent(),
    );
    let mut h = connected_with_service(key_options(), handler);
    let op = h.attach(name);
    let err = failed(&h, op);

    assert_eq!(h.channel_state(name), C::Failed);
    let reason = reason(&h, name);
    assert_eq!(reason.map(|r| r.code), Some(40160));
    assert_eq!(err.code, 40160);
    assert_eq!(h.client.state(), ConnectionState::Connected);
}

/// realtime/unit/RTL14/pending-detach-error-2
#[test]
fn rtl14_pending_detach_error_2() {
    let name = "test-RTL14-detaching";
    let handler = service(
        |_, ch| reply_attached(ch),
        |_, ch| vec![Reply::Send(channel_error(ch, 90198, 500, "Detach failed"))],
    );
    let mut h = connected_with_service(key_options(), handler);
    attached_channel(&mut h, name);

    let op = h.detach(name);
    let err = failed(&h, op);

    assert_eq!(h.channel_state(name), C::Failed);
    let reason = reason(&h, name);
    assert_eq!(reason.map(|r| r.code), Some(90198));
    assert_eq!(err.code, 90198);
    assert_eq!(h.client.state(), ConnectionState::Connected);
}

/// realtime/unit/RTL14/other-channels-unaffected-3
#[test]
fn rtl14_other_channels_unaffected_3() {
    let (a, b) = ("test-RTL14-a", "test-RTL14-b");
    let mut h = connected_with_service(key_options(), answering());
    attached_channel(&mut h, a);
    attached_channel(&mut h, b);

    h.send_to_client(channel_error(a, 40160, 401, "Not permitted"));

    assert_eq!(h.channel_state(a), C::Failed);
    assert!(reason(&h, a).is_some());
    assert_eq!(h.channel_state(b), C::Attached);
    assert!(reason(&h, b).is_none());
    assert_eq!(h.client.state(), ConnectionState::Connected);
}

/// realtime/unit/RTL14/cancels-pending-timers-4
#[test]
fn rtl14_cancels_pending_timers_4() {
    let name = "test-RTL14-timers";
    let handler = service(
        |n, ch| if n == 1 { reply_attached(ch) } else { silent() },
        |_, _| silent(),
    );
    let mut h = connected_with_service(opts_ms(100, 200), handler);
    attached_channel(&mut h, name);
    assert_eq!(sent_for(&h, Action::Attach, name).len(), 1);

    h.send_to_client(detached_error(name, 90198, 500, "Detach"));
    h.advance_ms(150);
    assert_eq!(h.channel_state(name), C::Suspended);

    // The channel retry timer (channelRetryTimeout 200 ms) is pending.
    h.send_to_client(channel_error(name, 40160, 401, "Not permitted"));
    assert_eq!(h.channel_state(name), C::Failed);
    let attaches = sent_for(&h, Action::Attach, name).len();

    h.advance_ms(500);
    assert_eq!(h.channel_state(name), C::Failed);
    assert_eq!(sent_for(&h, Action::Attach, name).len(), attaches);
}

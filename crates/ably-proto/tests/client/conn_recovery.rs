//! Connection recovery (RTN16), errorReason (RTN25), UPDATE events (RTN24),
//! whenState (RTN26) and forwards compatibility (RTF1, RSF1), ported from
//! `uts/realtime/unit/connection/{connection_recovery,error_reason,
//! update_events,when_state,forwards_compatibility}_test.md`.

use std::time::Duration;

use ably_proto::client::{
    ClientOptions, Command, ConnectionState, ConnectionStateChange, Input, TimerKind,
    TransportEvent,
};
use ably_proto::codec::Format;
use ably_proto::{Action, ConnectionDetails, Data, ErrorInfo, Message, ProtocolMessage};

use crate::harness::*;

use ConnectionState::*;

const SEC: Duration = Duration::from_secs(1);

/// The usual CONNECTED of these specs: maxIdleInterval 15 s, connectionStateTtl 120 s.
fn connected_msg(id: &str, key: &str) -> ProtocolMessage {
    connected_with(
        id,
        key,
        ConnectionDetails {
            max_idle_interval: Some(15_000),
            connection_state_ttl: Some(120_000),
            ..ConnectionDetails::default()
        },
    )
}

/// A CONNECTED with these connectionDetails and no connectionKey added.
fn connected_details(id: &str, details: ConnectionDetails) -> ProtocolMessage {
    let mut pm = ProtocolMessage::new(Action::Connected);
    pm.connection_id = Some(id.into());
    pm.connection_details = Some(details);
    pm
}

/// Every attempt succeeds with the same CONNECTED.
fn always(pm: ProtocolMessage) -> Harness {
    let mut h = Harness::new(key_options());
    h.on_attempt = Some(Box::new(move |_, _| Attempt::Success(pm.clone())));
    h
}

/// Sends a raw text frame to the client on the latest transport
/// (`send_to_client_raw` of the UTS mock).
fn send_raw(h: &mut Harness, json: &str) {
    let generation = h.last().generation;
    h.input(Input::Transport(
        generation,
        TransportEvent::Frame(bytes::Bytes::from(json.to_owned())),
    ));
}

fn recovery_options(recover: &str) -> ClientOptions {
    ClientOptions {
        recover: Some(recover.into()),
        ..key_options()
    }
}

// ---- RTN16: connection recovery -------------------------------------------

/// realtime/unit/RTN16g/recovery-key-structure-0
#[test]
fn rtn16g_recovery_key_structure_0() {
    let mut h = always(connected_msg("connection-1", "key-abc-123"));
    h.connect();
    h.await_state(Connected, SEC);

    for (channel, serial) in [
        ("channel-alpha", "serial-a-001"),
        ("channel-éàü-世界", "serial-b-002"),
    ] {
        h.command(Command::Attach {
            channel: channel.into(),
        });
        let mut attached = ProtocolMessage::for_channel(Action::Attached, channel);
        attached.channel_serial = Some(serial.into());
        h.send_to_client(attached);
    }

    let key = h
        .client
        .create_recovery_key()
        .expect("a recovery key when connected");
    let parsed: serde_json::Value = serde_json::from_str(&key).expect("the key is JSON");
    assert_eq!(parsed["connectionKey"], "key-abc-123");
    assert_eq!(parsed["msgSerial"], 0);
    assert_eq!(parsed["channelSerials"]["channel-alpha"], "serial-a-001");
    // RTN16g1: any unicode channel name survives, also through a round trip.
    assert_eq!(parsed["channelSerials"]["channel-éàü-世界"], "serial-b-002");
    let reparsed: serde_json::Value =
        serde_json::from_str(&serde_json::to_string(&parsed).expect("serializes")).expect("parses");
    assert_eq!(
        reparsed["channelSerials"]["channel-éàü-世界"],
        "serial-b-002"
    );
}

/// realtime/unit/RTN16g2/recovery-key-null-inactive-0
#[test]
fn rtn16g2_recovery_key_null_inactive_0() {
    // INITIALIZED, CONNECTED, CLOSING, CLOSED
    let mut h = always(connected_msg("connection-1", "key-1"));
    assert_eq!(h.client.create_recovery_key(), None);
    h.connect();
    h.await_state(Connected, SEC);
    assert!(h.client.create_recovery_key().is_some());
    h.close();
    assert_eq!(h.client.state(), Closing);
    assert_eq!(h.client.create_recovery_key(), None);
    h.await_state(Closed, 15 * SEC);
    assert_eq!(h.client.create_recovery_key(), None);

    // FAILED after a fatal ERROR
    let mut h = always(connected_msg("conn-f", "key-f"));
    h.connect();
    h.await_state(Connected, SEC);
    h.send_to_client_and_close(with_error(Action::Error, 50000, 500));
    h.await_state(Failed, SEC);
    assert_eq!(h.client.create_recovery_key(), None);

    // SUSPENDED after connectionStateTtl
    let mut h = Harness::new(ClientOptions {
        disconnected_retry_timeout: Duration::from_millis(500),
        ..key_options()
    });
    h.on_attempt = Some(Box::new(|n, _| {
        if n == 1 {
            Attempt::Success(connected_with(
                "conn-s",
                "key-s",
                ConnectionDetails {
                    max_idle_interval: Some(15_000),
                    connection_state_ttl: Some(2_000),
                    ..ConnectionDetails::default()
                },
            ))
        } else {
            Attempt::Refused
        }
    }));
    h.connect();
    h.await_state(Connected, SEC);
    h.simulate_disconnect();
    for _ in 0..10 {
        h.advance_ms(1500);
        if h.client.state() == Suspended {
            break;
        }
    }
    assert_eq!(h.client.state(), Suspended, "{:?}", h.states());
    assert_eq!(h.client.create_recovery_key(), None);
}

/// realtime/unit/RTN16k/recover-query-param-0
#[test]
fn rtn16k_recover_query_param_0() {
    let key = r#"{"connectionKey":"recovered-key-xyz","msgSerial":5,"channelSerials":{}}"#;
    let mut h = Harness::new(recovery_options(key));
    h.on_attempt = Some(Box::new(|n, _| {
        let key = if n == 1 {
            "new-key-after-recovery"
        } else {
            "resumed-key"
        };
        Attempt::Success(connected_msg("recovered-conn-id", key))
    }));
    h.connect();
    h.await_state(Connected, SEC);
    h.simulate_disconnect();
    h.await_state(Connected, 5 * SEC);

    assert_eq!(h.transports.len(), 2);
    assert_eq!(
        h.transports[0].param("recover").as_deref(),
        Some("recovered-key-xyz")
    );
    assert_eq!(h.transports[0].param("resume"), None);
    assert_eq!(
        h.transports[1].param("resume").as_deref(),
        Some("new-key-after-recovery")
    );
    assert_eq!(h.transports[1].param("recover"), None);
}

/// realtime/unit/RTN16f/recover-initializes-msgserial-0
///
/// The spec attaches the channel first; the core publishes without channel
/// state, so the ATTACHED frame only records the channelSerial.
#[test]
fn rtn16f_recover_initializes_msgserial_0() {
    let key = r#"{"connectionKey":"old-key","msgSerial":42,"channelSerials":{"test-channel":"ch-serial-1"}}"#;
    let mut h = Harness::new(recovery_options(key));
    h.on_attempt = Some(Box::new(|n, _| match n {
        1 => Attempt::Success(connected_msg("recovered-conn", "new-key")),
        _ => Attempt::Pending,
    }));
    h.connect();
    h.await_state(Connected, SEC);

    let mut attached = ProtocolMessage::for_channel(Action::Attached, "test-channel");
    attached.channel_serial = Some("ch-serial-updated".into());
    h.send_to_client(attached);

    let op = h.command(Command::Publish {
        channel: "test-channel".into(),
        messages: vec![Message::new("event", "data")],
    });
    let frames = h.sent_with(Action::Message);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].msg_serial, Some(42));

    let mut ack = ProtocolMessage::new(Action::Ack);
    ack.msg_serial = Some(42);
    ack.count = Some(1);
    h.send_to_client(ack);
    assert!(
        matches!(h.completion(op), Some(Ok(_))),
        "{:?}",
        h.completion(op)
    );
}

/// realtime/unit/RTN16f1/malformed-recovery-key-0
///
/// The core has no logger; the "error is logged" part of RTN16f1 is not
/// observable here.
#[test]
fn rtn16f1_malformed_recovery_key_0() {
    let mut h = Harness::new(recovery_options("this-is-not-valid-json!!!"));
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::Success(connected_msg("fresh-conn", "fresh-key"))
    }));
    h.connect();
    h.await_state(Connected, SEC);

    assert_eq!(h.client.state(), Connected);
    assert_eq!(h.client.connection_id(), Some("fresh-conn"));
    assert_eq!(h.client.connection_key(), Some("fresh-key"));
    assert_eq!(h.transports[0].param("recover"), None);
    assert_eq!(h.transports[0].param("resume"), None);
    assert_eq!(h.transports.len(), 1);
}

/// realtime/unit/RTN16j/recover-channel-serials-0
#[test]
fn rtn16j_recover_channel_serials_0() {
    use ably_proto::client::ChannelState;
    let key = r#"{"connectionKey":"old-key-abc","msgSerial":10,"channelSerials":{"channel-one":"serial-1-abc","channel-two":"serial-2-def","channel-üñîçöðé":"serial-3-unicode"}}"#;
    let mut h = Harness::new(recovery_options(key));
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::Success(connected_msg("recovered-conn", "new-key"))
    }));
    h.connect();
    h.await_state(Connected, SEC);

    // RTN16j: instantiated from the key, with their serials; RTN16i: not attached.
    for (name, serial) in [
        ("channel-one", "serial-1-abc"),
        ("channel-two", "serial-2-def"),
        ("channel-üñîçöðé", "serial-3-unicode"),
    ] {
        let channel = h
            .client
            .channel(name)
            .unwrap_or_else(|| panic!("{name} instantiated from the recovery key"));
        assert_eq!(channel.channel_serial(), Some(serial), "{name}");
        assert_eq!(channel.state(), ChannelState::Initialized, "{name}");
    }
    assert!(h.sent_with(Action::Attach).is_empty());

    h.attach("channel-one");
    let attaches: Vec<_> = h
        .sent_with(Action::Attach)
        .into_iter()
        .filter(|pm| pm.channel.as_deref() == Some("channel-one"))
        .collect();
    assert_eq!(attaches.len(), 1);
    assert_eq!(attaches[0].channel_serial.as_deref(), Some("serial-1-abc"));
    h.send_to_client(attached_with(
        "channel-one",
        ably_proto::Flags::NONE,
        Some("serial-1-abc-updated"),
    ));
    assert_eq!(h.channel_state("channel-one"), ChannelState::Attached);
}

// ---- RTN25: errorReason -----------------------------------------------------

fn error_frame(code: u32, status: u16, message: &str) -> ProtocolMessage {
    let mut pm = ProtocolMessage::new(Action::Error);
    pm.error = Some(ErrorInfo::new(code, status, message));
    pm
}

/// realtime/unit/RTN25/error-reason-on-failed-0
#[test]
fn rtn25_error_reason_on_failed_0() {
    let mut h = Harness::new(ClientOptions {
        key: Some("invalid.key:secret".into()),
        ..key_options()
    });
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::ErrorAndClose(error_frame(40005, 400, "Invalid API key"))
    }));
    assert!(h.client.error_reason().is_none());
    h.connect();
    h.await_state(Failed, 5 * SEC);

    let reason = h.client.error_reason().expect("errorReason");
    assert_eq!(reason.code, 40005);
    assert_eq!(reason.status_code, Some(400));
    assert_eq!(reason.message, "Invalid API key");
}

/// realtime/unit/RTN25/error-reason-disconnected-1
#[test]
fn rtn25_error_reason_disconnected_1() {
    let mut h = Harness::new(key_options());
    h.on_attempt = Some(Box::new(|_, _| Attempt::Refused));
    h.connect();
    h.await_state(Disconnected, 5 * SEC);

    let reason = h.client.error_reason().expect("errorReason");
    assert!(!reason.message.is_empty());
}

/// realtime/unit/RTN25/error-reason-suspended-2
///
/// The spec's DEFAULT_CONNECTION_STATE_TTL of 5 s is the client's default
/// connectionStateTtl, set through the option of that name.
#[test]
fn rtn25_error_reason_suspended_2() {
    let mut h = Harness::new(ClientOptions {
        disconnected_retry_timeout: Duration::from_millis(500),
        connection_state_ttl: Duration::from_millis(5000),
        ..key_options()
    });
    h.on_attempt = Some(Box::new(|_, _| Attempt::Refused));
    h.connect();
    h.await_state(Disconnected, SEC);
    h.advance_ms(5000 + 100);
    h.await_state(Suspended, SEC);

    let reason = h.client.error_reason().expect("errorReason");
    assert!(!reason.message.is_empty());
}

/// realtime/unit/RTN25/error-reason-token-error-3
#[test]
fn rtn25_error_reason_token_error_3() {
    let mut h = Harness::new(ClientOptions {
        key: None,
        token: Some("expired_token".into()),
        ..key_options()
    });
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::ErrorAndClose(error_frame(40142, 401, "Token expired"))
    }));
    h.connect();
    h.await_state(Failed, 5 * SEC);

    assert_eq!(h.client.error_reason().expect("errorReason").code, 40171);
}

/// realtime/unit/RTN25/error-reason-cleared-on-connect-4
#[test]
fn rtn25_error_reason_cleared_on_connect_4() {
    let mut h = Harness::new(ClientOptions {
        disconnected_retry_timeout: Duration::from_millis(100),
        ..key_options()
    });
    h.on_attempt = Some(Box::new(|n, _| match n {
        1 => Attempt::Refused,
        _ => Attempt::Success(connected_msg("connection-id", "connection-key")),
    }));
    h.connect();
    h.await_state(Disconnected, 5 * SEC);
    assert!(h.client.error_reason().is_some());

    h.advance_ms(150);
    h.await_state(Connected, 5 * SEC);
    // Option A of the spec: cleared on a successful connection.
    assert_eq!(h.client.error_reason(), None);
}

/// realtime/unit/RTN25/error-reason-protocol-error-5
#[test]
fn rtn25_error_reason_protocol_error_5() {
    let mut h = Harness::new(key_options());
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::ErrorAndClose(error_frame(50000, 500, "Internal server error"))
    }));
    h.connect();
    h.await_state(Failed, 5 * SEC);

    let reason = h.client.error_reason().expect("errorReason");
    assert_eq!(reason.code, 50000);
    assert_eq!(reason.status_code, Some(500));
    assert_eq!(reason.message, "Internal server error");
}

/// realtime/unit/RTN25/error-reason-in-state-change-6
#[test]
fn rtn25_error_reason_in_state_change_6() {
    let mut h = Harness::new(key_options());
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::ErrorAndClose(error_frame(40003, 400, "Access token invalid"))
    }));
    h.connect();
    h.await_state(Failed, 5 * SEC);

    let failed: Vec<_> = h
        .changes()
        .into_iter()
        .filter(|c| c.current == Failed && !c.update)
        .cloned()
        .collect();
    assert_eq!(failed.len(), 1);
    let reason = failed[0].reason.clone().expect("reason");
    assert_eq!(reason.code, 40003);
    assert_eq!(reason.status_code, Some(400));
    assert_eq!(reason.message, "Access token invalid");

    let error_reason = h.client.error_reason().expect("errorReason");
    assert_eq!(error_reason.code, reason.code);
    assert_eq!(error_reason.message, reason.message);
}

// ---- RTN24: UPDATE events -----------------------------------------------------

fn updates(h: &Harness) -> Vec<ConnectionStateChange> {
    h.changes()
        .into_iter()
        .filter(|c| c.update)
        .cloned()
        .collect()
}

fn connected_events(h: &Harness) -> usize {
    h.changes()
        .into_iter()
        .filter(|c| !c.update && c.current == Connected)
        .count()
}

/// realtime/unit/RTN24/connected-emits-update-0
#[test]
fn rtn24_connected_emits_update_0() {
    let mut h = always(connected_with(
        "connection-id-1",
        "connection-key-1",
        ConnectionDetails {
            max_idle_interval: Some(15_000),
            connection_state_ttl: Some(120_000),
            client_id: Some("client-123".into()),
            ..ConnectionDetails::default()
        },
    ));
    h.connect();
    h.await_state(Connected, 5 * SEC);
    assert_eq!(connected_events(&h), 1);
    assert_eq!(updates(&h).len(), 0);

    h.send_to_client(connected_details(
        "connection-id-1",
        ConnectionDetails {
            connection_key: Some("connection-key-1".into()),
            max_idle_interval: Some(20_000),
            connection_state_ttl: Some(120_000),
            client_id: Some("client-123".into()),
            ..ConnectionDetails::default()
        },
    ));
    h.advance_ms(100);

    assert_eq!(h.client.state(), Connected);
    assert_eq!(connected_events(&h), 1);
    let updates = updates(&h);
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].previous, Connected);
    assert_eq!(updates[0].current, Connected);
    assert_eq!(updates[0].reason, None);
    assert_eq!(h.client.connection_id(), Some("connection-id-1"));
    assert_eq!(h.client.connection_key(), Some("connection-key-1"));
}

/// realtime/unit/RTN24/update-event-with-error-1
#[test]
fn rtn24_update_event_with_error_1() {
    let mut h = always(connected_msg("connection-id-1", "connection-key-1"));
    h.connect();
    h.await_state(Connected, 5 * SEC);

    let mut pm = connected_details(
        "connection-id-1",
        ConnectionDetails {
            connection_key: Some("connection-key-1".into()),
            max_idle_interval: Some(15_000),
            connection_state_ttl: Some(120_000),
            ..ConnectionDetails::default()
        },
    );
    pm.error = Some(ErrorInfo::new(
        40142,
        401,
        "Token expired; renewed automatically",
    ));
    h.send_to_client(pm);
    h.advance_ms(100);

    let updates = updates(&h);
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].previous, Connected);
    assert_eq!(updates[0].current, Connected);
    let reason = updates[0].reason.clone().expect("reason");
    assert_eq!(reason.code, 40142);
    assert_eq!(reason.status_code, Some(401));
    assert!(reason.message.contains("Token expired"));
}

/// realtime/unit/RTN24/connection-details-override-2
#[test]
fn rtn24_connection_details_override_2() {
    let mut h = always(connected_details(
        "connection-id-1",
        ConnectionDetails {
            connection_key: Some("connection-key-1".into()),
            max_idle_interval: Some(10_000),
            connection_state_ttl: Some(60_000),
            max_message_size: Some(16_384),
            server_id: Some("server-1".into()),
            client_id: Some("client-original".into()),
            ..ConnectionDetails::default()
        },
    ));
    h.connect();
    h.await_state(Connected, 5 * SEC);
    assert_eq!(h.client.connection_id(), Some("connection-id-1"));
    assert_eq!(h.client.connection_key(), Some("connection-key-1"));

    h.send_to_client(connected_details(
        "connection-id-1",
        ConnectionDetails {
            connection_key: Some("connection-key-1".into()),
            max_idle_interval: Some(20_000),
            connection_state_ttl: Some(120_000),
            max_message_size: Some(32_768),
            server_id: Some("server-2".into()),
            client_id: Some("client-updated".into()),
            ..ConnectionDetails::default()
        },
    ));
    let received_at = h.now.instant;
    h.advance_ms(100);

    assert_eq!(h.client.connection_id(), Some("connection-id-1"));
    assert_eq!(h.client.connection_key(), Some("connection-key-1"));
    let details = h.client.connection_details();
    assert_eq!(details.max_idle_interval, Some(20_000));
    assert_eq!(details.connection_state_ttl, Some(120_000));
    assert_eq!(details.max_message_size, Some(32_768));
    assert_eq!(details.server_id.as_deref(), Some("server-2"));
    assert_eq!(details.client_id.as_deref(), Some("client-updated"));
    assert_eq!(h.client.max_message_size(), 32_768);
    // The effect seen indirectly: the idle timer uses the new maxIdleInterval
    // (20 s + realtimeRequestTimeout 10 s, RTN23a).
    assert_eq!(
        h.client.poll_timeout(),
        Some((received_at + Duration::from_millis(30_000), TimerKind::Idle))
    );
    assert_eq!(h.client.state(), Connected);
}

/// realtime/unit/RTN24/no-duplicate-connected-event-3
#[test]
fn rtn24_no_duplicate_connected_event_3() {
    let mut h = always(connected_msg("connection-id-1", "connection-key-1"));
    h.connect();
    h.await_state(Connected, 5 * SEC);
    let mark = h.events.len();

    for _ in 0..3 {
        h.send_to_client(connected_details(
            "connection-id-1",
            ConnectionDetails {
                connection_key: Some("connection-key-1".into()),
                max_idle_interval: Some(15_000),
                connection_state_ttl: Some(120_000),
                ..ConnectionDetails::default()
            },
        ));
        h.advance_ms(50);
    }

    let new = connection_changes_since(&h, mark);
    assert_eq!(new.len(), 3);
    for change in &new {
        assert!(change.update, "{change:?}");
        assert_eq!(change.previous, Connected);
        assert_eq!(change.current, Connected);
    }
    assert_eq!(connected_events(&h), 1);
}

// ---- RTN26: whenState ---------------------------------------------------------
//
// whenState is an application helper over two things the core exposes: the
// current state (`Client::state`) and the stream of state changes. RTN26a
// reads the state at call time; RTN26b is `once(state)` over the events
// that follow. `WhenState` below is that helper, as a driver builds it.

/// A whenState registration.
struct WhenState {
    state: ConnectionState,
    /// RTN26a: already in the state when called.
    immediate: bool,
    /// The number of events when called; RTN26b looks only after it.
    mark: usize,
}

impl WhenState {
    fn new(h: &Harness, state: ConnectionState) -> WhenState {
        WhenState {
            state,
            immediate: h.client.state() == state,
            mark: h.events.len(),
        }
    }

    /// `None` if the listener has not been called; `Some(None)` for an
    /// immediate call (RTN26a); `Some(Some(change))` for the first change
    /// into the state after the call (RTN26b, once).
    fn fired(&self, h: &Harness) -> Option<Option<ConnectionStateChange>> {
        if self.immediate {
            return Some(None);
        }
        connection_changes_since(h, self.mark)
            .into_iter()
            .find(|c| !c.update && c.current == self.state)
            .map(Some)
    }

    /// How many times the listener was called: at most once.
    fn calls(&self, h: &Harness) -> usize {
        usize::from(self.fired(h).is_some())
    }
}

/// realtime/unit/RTN26a/immediate-callback-current-state-0
#[test]
fn rtn26a_immediate_callback_current_state_0() {
    let mut h = always(connected_msg("connection-id", "connection-key"));
    h.connect();
    h.await_state(Connected, 5 * SEC);

    let when = WhenState::new(&h, Connected);
    h.advance_ms(50);
    assert_eq!(
        when.fired(&h),
        Some(None),
        "called at once with no state change"
    );
}

/// realtime/unit/RTN26b/deferred-callback-future-state-0
#[test]
fn rtn26b_deferred_callback_future_state_0() {
    let mut h = always(connected_msg("connection-id", "connection-key"));
    assert_eq!(h.client.state(), Initialized);
    let when = WhenState::new(&h, Connected);
    assert_eq!(when.fired(&h), None);

    h.connect();
    h.await_state(Connected, 5 * SEC);
    h.advance_ms(50);

    let change = when
        .fired(&h)
        .expect("called")
        .expect("with a state change");
    assert!(
        matches!(change.previous, Initialized | Connecting),
        "{change:?}"
    );
    assert_eq!(change.current, Connected);
}

/// realtime/unit/RTN26b/fires-only-once-1
#[test]
fn rtn26b_fires_only_once_1() {
    let mut h = Harness::new(ClientOptions {
        disconnected_retry_timeout: Duration::from_millis(100),
        ..key_options()
    });
    h.on_attempt = Some(Box::new(|n, _| {
        Attempt::Success(connected_msg(
            &format!("connection-id-{n}"),
            &format!("connection-key-{n}"),
        ))
    }));
    let when = WhenState::new(&h, Connected);
    h.connect();
    h.await_state(Connected, 5 * SEC);
    h.advance_ms(50);
    assert_eq!(when.calls(&h), 1);
    let first = when.fired(&h);

    h.simulate_disconnect();
    h.advance_ms(150);
    h.await_state(Connected, 5 * SEC);
    h.advance_ms(50);

    // The state was entered twice, the listener called once, for the first.
    assert!(
        contains_in_order(
            &h.states(),
            &[Connecting, Connected, Disconnected, Connecting, Connected]
        ),
        "{:?}",
        h.states()
    );
    assert_eq!(connected_events(&h), 2);
    assert_eq!(when.calls(&h), 1);
    assert_eq!(when.fired(&h), first);
}

/// realtime/unit/RTN26a/multiple-whenstate-calls-1
#[test]
fn rtn26a_multiple_whenstate_calls_1() {
    let mut h = always(connected_msg("connection-id", "connection-key"));
    let when1 = WhenState::new(&h, Connected);
    let when2 = WhenState::new(&h, Connected);
    let when3 = WhenState::new(&h, Connecting);
    h.connect();
    h.await_state(Connected, 5 * SEC);
    h.advance_ms(50);

    assert!(when1.fired(&h).is_some());
    assert!(when2.fired(&h).is_some());
    assert!(when3.fired(&h).is_some());
}

/// realtime/unit/RTN26a/no-fire-for-past-state-2
#[test]
fn rtn26a_no_fire_for_past_state_2() {
    let mut h = always(connected_msg("connection-id", "connection-key"));
    h.connect();
    h.await_state(Connected, 5 * SEC);

    let when = WhenState::new(&h, Connecting);
    h.advance_ms(200);
    assert_eq!(when.fired(&h), None);
}

/// realtime/unit/RTN26/whenstate-different-states-0
#[test]
fn rtn26_whenstate_different_states_0() {
    let mut h = Harness::new(key_options());
    h.on_attempt = Some(Box::new(|_, _| Attempt::Refused));
    let initialized = WhenState::new(&h, Initialized);
    let connecting = WhenState::new(&h, Connecting);
    let disconnected = WhenState::new(&h, Disconnected);
    h.advance_ms(50);
    assert!(initialized.fired(&h).is_some());
    assert!(connecting.fired(&h).is_none());
    assert!(disconnected.fired(&h).is_none());

    h.connect();
    h.await_state(Disconnected, 5 * SEC);
    h.advance_ms(50);

    assert!(initialized.fired(&h).is_some());
    assert!(connecting.fired(&h).is_some());
    assert!(disconnected.fired(&h).is_some());
}

// ---- RTF1, RSF1: forwards compatibility ------------------------------------------

fn json_options() -> ClientOptions {
    ClientOptions {
        format: Format::Json, // useBinaryProtocol: false
        ..key_options()
    }
}

/// realtime/unit/RTF1/unrecognised-attributes-ignored-0
#[test]
fn rtf1_unrecognised_attributes_ignored_0() {
    use ably_proto::client::ChannelState;
    let name = "test-RTF1-extra-attrs";
    let mut h = Harness::new(json_options());
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::Success(connected_msg("connection-id", "connection-key"))
    }));
    h.connect();
    h.await_state(Connected, SEC);
    // subscribe() attaches implicitly; delivery is the core's Event::Message.
    h.attach(name);
    h.send_to_client(attached(name));
    assert_eq!(h.channel_state(name), ChannelState::Attached);

    send_raw(
        &mut h,
        r#"{"action":15,"channel":"test-RTF1-extra-attrs","messages":[{"name":"test-event","data":"hello","serial":"msg-serial-1"}],"unknownField1":"some-future-value","unknownField2":42,"unknownNestedObject":{"nestedKey":"nestedValue"},"unknownArray":[1,2,3]}"#,
    );

    let received = h.messages(name);
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].name.as_deref(), Some("test-event"));
    assert_eq!(received[0].data, Data::String("hello".into()));
    assert_eq!(h.client.state(), Connected);
    assert_eq!(h.channel_state(name), ChannelState::Attached);
}

/// realtime/unit/RTF1/unknown-action-handled-1
#[test]
fn rtf1_unknown_action_handled_1() {
    let mut h = Harness::new(json_options());
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::Success(connected_msg("connection-id", "connection-key"))
    }));
    h.connect();
    h.await_state(Connected, SEC);

    send_raw(
        &mut h,
        r#"{"action":254,"channel":"test-RTF1-unknown-action","unknownPayload":"future-feature-data"}"#,
    );
    h.send_to_client(ProtocolMessage::new(Action::Heartbeat));
    h.advance_ms(1000);

    assert_eq!(h.client.state(), Connected);
    let states = h.states();
    assert!(
        contains_in_order(&states, &[Connecting, Connected]),
        "{states:?}"
    );
    assert!(!states.contains(&Disconnected), "{states:?}");
    assert!(!states.contains(&Failed), "{states:?}");
    assert_eq!(h.transports.len(), 1, "the transport was kept");
}

/// realtime/unit/RSF1/message-unrecognised-attrs-0
#[test]
fn rsf1_message_unrecognised_attrs_0() {
    use ably_proto::client::ChannelState;
    let name = "test-RSF1-extra-attrs";
    let mut h = Harness::new(json_options());
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::Success(connected_msg("connection-id", "connection-key"))
    }));
    h.connect();
    h.await_state(Connected, SEC);
    // subscribe() attaches implicitly; delivery is the core's Event::Message.
    h.attach(name);
    h.send_to_client(attached(name));
    assert_eq!(h.channel_state(name), ChannelState::Attached);

    let raw = r#"{"action":15,"channel":"test-RSF1-extra-attrs","messages":[{"name":"event-1","data":"payload-1","serial":"serial-1","futureField":"future-value","futureNumber":99,"futureObject":{"nested":true}},{"name":"event-2","data":"payload-2","serial":"serial-2","anotherUnknownField":[1,2,3]}]}"#;
    send_raw(&mut h, raw);

    let received = h.messages(name);
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].name.as_deref(), Some("event-1"));
    assert_eq!(received[0].data, Data::String("payload-1".into()));
    assert_eq!(received[1].name.as_deref(), Some("event-2"));
    assert_eq!(received[1].data, Data::String("payload-2".into()));
    assert_eq!(h.client.state(), Connected);
    assert_eq!(h.channel_state(name), ChannelState::Attached);
}

//! `Connection#ping` (RTN13), ported from the UTS spec
//! `uts/realtime/unit/connection/connection_ping_test.md`. `ping()` is
//! [`Command::Ping`]; its result is the operation's completion.

use std::time::Duration;

use ably_proto::client::{ClientOptions, Command, Completion, ConnectionState, OpId};
use ably_proto::{Action, ErrorInfo, ProtocolMessage};

use crate::harness::*;

use ConnectionState::*;

const SECOND: Duration = Duration::from_secs(1);

/// A HEARTBEAT with this id, or none.
fn heartbeat(id: Option<&str>) -> ProtocolMessage {
    let mut pm = ProtocolMessage::new(Action::Heartbeat);
    pm.id = id.map(str::to_owned);
    pm
}

/// The service echoes each HEARTBEAT with its id.
fn echo_heartbeats(h: &mut Harness) {
    h.on_message = Some(Box::new(|pm| {
        if pm.action == Action::Heartbeat {
            vec![Reply::Send(heartbeat(pm.id.as_deref()))]
        } else {
            vec![]
        }
    }));
}

/// A harness whose attempts connect as `conn-id-1`.
fn connecting_ok(opts: ClientOptions) -> Harness {
    let mut h = Harness::new(opts);
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::Success(connected("conn-id-1", "conn-key-1"))
    }));
    h
}

/// The round-trip time of a resolved ping.
fn duration(h: &Harness, op: OpId) -> Duration {
    match h.completion(op) {
        Some(Ok(Completion::Ping(d))) => d,
        other => panic!("ping did not resolve with a duration: {other:?}"),
    }
}

/// The error of a failed ping.
fn error(h: &Harness, op: OpId) -> ErrorInfo {
    match h.completion(op) {
        Some(Err(e)) => e,
        other => panic!("ping did not fail: {other:?}"),
    }
}

/// realtime/unit/RTN13a/ping-heartbeat-roundtrip-0
#[test]
fn rtn13a_ping_heartbeat_roundtrip_0() {
    let mut h = connecting_ok(key_options());
    echo_heartbeats(&mut h);
    h.connect();
    h.await_state(Connected, 5 * SECOND);
    let op = h.command(Command::Ping);
    let d = duration(&h, op);
    assert!(d >= Duration::ZERO);
    assert_eq!(h.sent_with(Action::Heartbeat).len(), 1);
}

/// realtime/unit/RTN13e/heartbeat-random-id-0
#[test]
fn rtn13e_heartbeat_random_id_0() {
    let mut h = connecting_ok(key_options());
    h.on_message = Some(Box::new(|pm| {
        if pm.action == Action::Heartbeat {
            // First a HEARTBEAT with another id (ignored), then the echo.
            vec![
                Reply::Send(heartbeat(Some("wrong-id"))),
                Reply::Send(heartbeat(pm.id.as_deref())),
            ]
        } else {
            vec![]
        }
    }));
    h.connect();
    h.await_state(Connected, 5 * SECOND);
    let op = h.command(Command::Ping);
    assert!(duration(&h, op) >= Duration::ZERO);
    let sent = h.sent_with(Action::Heartbeat);
    let id = sent[0].id.clone().expect("the HEARTBEAT has an id");
    assert!(!id.is_empty());
}

/// realtime/unit/RTN13e/no-id-heartbeat-ignored-1
#[test]
fn rtn13e_no_id_heartbeat_ignored_1() {
    let mut h = connecting_ok(key_options());
    h.connect();
    h.await_state(Connected, 5 * SECOND);
    let op = h.command(Command::Ping);
    // A HEARTBEAT without an id, as the service sends on its own, does
    // not answer the ping.
    h.advance_ms(10);
    h.send_to_client(heartbeat(None));
    assert_eq!(
        h.completion(op),
        None,
        "an id-less HEARTBEAT is not the answer"
    );
    let id = h.sent_with(Action::Heartbeat)[0].id.clone();
    h.send_to_client(heartbeat(id.as_deref()));
    assert_eq!(duration(&h, op), Duration::from_millis(10));
}

/// realtime/unit/RTN13e/concurrent-pings-unique-ids-2
#[test]
fn rtn13e_concurrent_pings_unique_ids_2() {
    let mut h = connecting_ok(key_options());
    h.connect();
    h.await_state(Connected, 5 * SECOND);
    // Both pings are outstanding before the service answers either.
    let ping1 = h.command(Command::Ping);
    let ping2 = h.command(Command::Ping);
    let sent = h.sent_with(Action::Heartbeat);
    assert_eq!(sent.len(), 2);
    assert_ne!(sent[0].id, sent[1].id);
    assert!(
        sent.iter()
            .all(|pm| pm.id.as_deref().is_some_and(|id| !id.is_empty()))
    );
    h.send_to_client(heartbeat(sent[0].id.as_deref()));
    assert!(duration(&h, ping1) >= Duration::ZERO);
    assert_eq!(
        h.completion(ping2),
        None,
        "the first echo answers only the first ping"
    );
    h.send_to_client(heartbeat(sent[1].id.as_deref()));
    assert!(duration(&h, ping2) >= Duration::ZERO);
}

/// realtime/unit/RTN13c/ping-timeout-0
#[test]
fn rtn13c_ping_timeout_0() {
    let opts = ClientOptions {
        realtime_request_timeout: Duration::from_millis(2000),
        ..key_options()
    };
    let mut h = connecting_ok(opts);
    h.connect();
    h.await_state(Connected, 5 * SECOND);
    let op = h.command(Command::Ping);
    h.advance_ms(1999);
    assert_eq!(h.completion(op), None);
    h.advance_ms(101);
    let err = error(&h, op);
    assert!(err.message.to_lowercase().contains("timeout"), "{err:?}");
}

/// realtime/unit/RTN13b/ping-error-initialized-0
#[test]
fn rtn13b_ping_error_initialized_0() {
    let mut h = Harness::new(key_options());
    assert_eq!(h.client.state(), Initialized);
    let op = h.command(Command::Ping);
    error(&h, op);
    assert!(h.transports.is_empty());
}

/// The options of the SUSPENDED tests.
fn suspending_options() -> ClientOptions {
    ClientOptions {
        disconnected_retry_timeout: Duration::from_millis(1000),
        suspended_retry_timeout: Duration::from_millis(100),
        ..key_options()
    }
}

/// realtime/unit/RTN13b/ping-error-suspended-1
#[test]
fn rtn13b_ping_error_suspended_1() {
    let mut h = Harness::new(suspending_options());
    h.on_attempt = Some(Box::new(|_, _| Attempt::Refused));
    h.connect();
    h.await_state(Disconnected, 5 * SECOND);
    h.advance_ms(121_000);
    h.await_state(Suspended, SECOND);
    let op = h.command(Command::Ping);
    error(&h, op);
    assert!(h.sent_with(Action::Heartbeat).is_empty());
}

/// realtime/unit/RTN13b/ping-error-closed-2
#[test]
fn rtn13b_ping_error_closed_2() {
    let mut h = connecting_ok(key_options());
    h.on_message = Some(Box::new(|pm| {
        if pm.action == Action::Close {
            vec![Reply::Send(ProtocolMessage::new(Action::Closed))]
        } else {
            vec![]
        }
    }));
    h.connect();
    h.await_state(Connected, 5 * SECOND);
    h.close();
    h.await_state(Closed, 5 * SECOND);
    let op = h.command(Command::Ping);
    error(&h, op);
    assert!(h.sent_with(Action::Heartbeat).is_empty());
}

/// realtime/unit/RTN13b/ping-error-failed-3
#[test]
fn rtn13b_ping_error_failed_3() {
    let mut h = Harness::new(key_options());
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::ErrorAndClose(with_error(Action::Error, 80000, 400))
    }));
    h.connect();
    h.await_state(Failed, 5 * SECOND);
    let op = h.command(Command::Ping);
    error(&h, op);
}

/// realtime/unit/RTN13d/ping-deferred-connecting-0
#[test]
fn rtn13d_ping_deferred_connecting_0() {
    let mut h = Harness::new(key_options());
    echo_heartbeats(&mut h);
    h.connect();
    assert_eq!(h.client.state(), Connecting);
    let op = h.command(Command::Ping);
    assert!(
        h.sent_with(Action::Heartbeat).is_empty(),
        "nothing sent while CONNECTING"
    );
    // CONNECTED comes 100 ms later.
    h.advance_ms(100);
    assert_eq!(h.completion(op), None);
    h.respond(Attempt::Success(connected("conn-id-1", "conn-key-1")));
    h.advance_ms(100);
    h.await_state(Connected, SECOND);
    assert!(duration(&h, op) >= Duration::ZERO);
    assert_eq!(h.sent_with(Action::Heartbeat).len(), 1);
}

/// realtime/unit/RTN13d/ping-deferred-disconnected-1
#[test]
fn rtn13d_ping_deferred_disconnected_1() {
    let opts = ClientOptions {
        disconnected_retry_timeout: Duration::from_millis(500),
        ..key_options()
    };
    let mut h = Harness::new(opts);
    // The immediate resume after the drop (RTN15a) is refused, which leaves
    // the client DISCONNECTED until disconnectedRetryTimeout; in the spec
    // the asynchronous mock gives the same window.
    h.on_attempt = Some(Box::new(|n, _| match n {
        1 => Attempt::Success(connected("conn-id-1", "conn-key-1")),
        2 => Attempt::Refused,
        _ => Attempt::Success(connected("conn-id-2", "conn-key-2")),
    }));
    echo_heartbeats(&mut h);
    h.connect();
    h.await_state(Connected, 5 * SECOND);
    h.simulate_disconnect();
    h.await_state(Disconnected, SECOND);
    let op = h.command(Command::Ping);
    assert_eq!(h.completion(op), None);
    h.advance_ms(600);
    h.await_state(Connected, SECOND);
    assert!(duration(&h, op) >= Duration::ZERO);
    assert_eq!(h.sent_with(Action::Heartbeat).len(), 1);
    assert_eq!(
        h.transports[0]
            .sent
            .iter()
            .filter(|pm| pm.action == Action::Heartbeat)
            .count(),
        0
    );
}

/// realtime/unit/RTN13b/deferred-ping-error-failed-4
#[test]
fn rtn13b_deferred_ping_error_failed_4() {
    let mut h = Harness::new(key_options());
    h.connect();
    assert_eq!(h.client.state(), Connecting);
    let op = h.command(Command::Ping);
    h.advance_ms(100);
    h.respond(Attempt::ErrorAndClose(with_error(
        Action::Error,
        80000,
        400,
    )));
    h.advance_ms(100);
    h.await_state(Failed, SECOND);
    error(&h, op);
    assert!(h.sent_with(Action::Heartbeat).is_empty());
}

/// realtime/unit/RTN13b/deferred-ping-error-suspended-5
#[test]
fn rtn13b_deferred_ping_error_suspended_5() {
    let mut h = Harness::new(suspending_options());
    h.on_attempt = Some(Box::new(|_, _| Attempt::Refused));
    h.connect();
    h.await_state(Disconnected, 5 * SECOND);
    let op = h.command(Command::Ping);
    assert_eq!(h.completion(op), None, "deferred while DISCONNECTED");
    h.advance_ms(121_000);
    h.await_state(Suspended, SECOND);
    error(&h, op);
}

/// realtime/unit/RTN13c/deferred-ping-timeout-1
#[test]
fn rtn13c_deferred_ping_timeout_1() {
    let opts = ClientOptions {
        realtime_request_timeout: Duration::from_millis(2000),
        ..key_options()
    };
    let mut h = Harness::new(opts);
    h.connect();
    assert_eq!(h.client.state(), Connecting);
    let op = h.command(Command::Ping);
    h.advance_ms(100);
    h.respond(Attempt::Success(connected("conn-id-1", "conn-key-1")));
    h.advance_ms(100);
    h.await_state(Connected, SECOND);
    assert_eq!(h.sent_with(Action::Heartbeat).len(), 1);
    // The timeout runs from when the HEARTBEAT went out (t = 100 ms), not
    // from the call (t = 0).
    h.advance_ms(1800);
    assert_eq!(
        h.completion(op),
        None,
        "not 2000 ms after ping() but after the HEARTBEAT"
    );
    h.advance_ms(300);
    let err = error(&h, op);
    assert!(err.message.to_lowercase().contains("timeout"), "{err:?}");
}

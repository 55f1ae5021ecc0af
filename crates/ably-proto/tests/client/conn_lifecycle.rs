//! Connection lifecycle: auto-connect (RTN3), connection id and key (RTN8,
//! RTN9), failures while opening (RTN14, RSA4a) and while connected
//! (RTN15), and retry backoff (RTB1). Ported from the UTS specs
//! `uts/realtime/unit/connection/{auto_connect,connection_id_key,
//! connection_open_failures,connection_failures,backoff_jitter}_test.md`.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use ably_proto::auth::TokenDetails;
use ably_proto::client::{
    AuthResponse, ClientOptions, ConnectionState, HttpResponse, Input, TokenSource, TransportEvent,
    backoff_coefficient, jitter_coefficient,
};
use ably_proto::codec::Format;
use ably_proto::{Action, ConnectionDetails, ErrorInfo, ProtocolMessage};

use crate::harness::*;

use ConnectionState::*;

const SECOND: Duration = Duration::from_secs(1);

/// A frame with an action and an error with this code, status and message.
fn error_frame(action: Action, code: u32, status: u16, message: &str) -> ProtocolMessage {
    let mut pm = ProtocolMessage::new(action);
    pm.error = Some(ErrorInfo::new(code, status, message));
    pm
}

/// A CONNECTED frame with this connectionStateTtl.
fn connected_ttl(id: &str, key: &str, ttl_ms: u64) -> ProtocolMessage {
    connected_with(
        id,
        key,
        ConnectionDetails {
            max_idle_interval: Some(15_000),
            connection_state_ttl: Some(ttl_ms),
            ..ConnectionDetails::default()
        },
    )
}

/// Options with only a token string: no means to renew it (RSA4a).
fn token_options(token: &str) -> ClientOptions {
    ClientOptions {
        token: Some(token.into()),
        auto_connect: false,
        format: Format::Json,
        fallback_hosts: Some(Vec::new()),
        ..ClientOptions::default()
    }
}

/// Options with an authCallback (RSA8d).
fn callback_options() -> ClientOptions {
    ClientOptions {
        token_source: TokenSource::Callback,
        auto_connect: false,
        format: Format::Json,
        fallback_hosts: Some(Vec::new()),
        ..ClientOptions::default()
    }
}

/// Key options that connect with tokens obtained at `/keys/.../requestToken`,
/// so that the initial connection and a renewal each make a token request.
fn key_token_options() -> ClientOptions {
    ClientOptions {
        use_token_auth: true,
        ..key_options()
    }
}

/// The mock HTTP service for `/keys/.../requestToken`: answers each token
/// request with `renewed_token_<n>`, counting them in `count`.
fn issue_tokens(h: &mut Harness, count: Rc<Cell<usize>>) {
    h.on_http = Some(Box::new(move |req| {
        if !req.url.contains("/keys/") {
            return None;
        }
        count.set(count.get() + 1);
        let details = TokenDetails {
            token: format!("renewed_token_{}", count.get()),
            key_name: Some("appId.keyId".into()),
            issued: Some(START_WALL_MS),
            expires: Some(START_WALL_MS + 3_600_000),
            capability: Some(r#"{"*":["*"]}"#.into()),
            ..TokenDetails::default()
        };
        Some(Ok(HttpResponse {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: serde_json::to_vec(&details).expect("token details encode"),
        }))
    }));
}

/// The service answers CLOSE with CLOSED (RTN12a).
fn answer_close(h: &mut Harness) {
    h.on_message = Some(Box::new(|pm| {
        if pm.action == Action::Close {
            vec![Reply::Send(ProtocolMessage::new(Action::Closed))]
        } else {
            vec![]
        }
    }));
}

fn retry_ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

// ---- RTN3: autoConnect ----------------------------------------------------

/// realtime/unit/RTN3/auto-connect-true-0
#[test]
fn rtn3_auto_connect_true_0() {
    let opts = ClientOptions {
        auto_connect: true,
        ..key_options()
    };
    // No connect(): creating the client opens a transport at once.
    let mut h = Harness::new(opts);
    assert_eq!(
        h.transports.len(),
        1,
        "autoConnect opens a transport on creation"
    );
    assert_eq!(h.client.state(), Connecting);
    h.respond(Attempt::Success(connected_ttl(
        "connection-id",
        "connection-key",
        120_000,
    )));
    h.await_state(Connected, 5 * SECOND);
    assert_eq!(h.client.state(), Connected);
    assert_eq!(h.client.connection_id(), Some("connection-id"));
}

/// realtime/unit/RTN3/auto-connect-false-1
#[test]
fn rtn3_auto_connect_false_1() {
    let attempted = Rc::new(Cell::new(false));
    let mut h = Harness::new(key_options());
    let seen = attempted.clone();
    h.on_attempt = Some(Box::new(move |_, _| {
        seen.set(true);
        Attempt::Success(connected_ttl("connection-id", "connection-key", 120_000))
    }));
    h.advance_ms(500);
    assert!(!attempted.get(), "no connection attempt without connect()");
    assert!(h.transports.is_empty());
    assert_eq!(h.client.state(), Initialized);
    assert!(h.states().is_empty());
}

/// realtime/unit/RTN3/explicit-connect-after-false-2
#[test]
fn rtn3_explicit_connect_after_false_2() {
    let attempted = Rc::new(Cell::new(false));
    let mut h = Harness::new(key_options());
    let seen = attempted.clone();
    h.on_attempt = Some(Box::new(move |_, _| {
        seen.set(true);
        Attempt::Success(connected_ttl("connection-id", "connection-key", 120_000))
    }));
    assert_eq!(h.client.state(), Initialized);
    assert!(!attempted.get());
    h.connect();
    h.await_state(Connected, 5 * SECOND);
    assert!(attempted.get());
    assert_eq!(h.client.state(), Connected);
}

// ---- RTN8, RTN9: connection id and key ------------------------------------

/// realtime/unit/RTN8a/id-unset-until-connected-0
#[test]
fn rtn8a_id_unset_until_connected_0() {
    let mut h = Harness::new(key_options());
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::Success(connected("unique-conn-id-1", "conn-key-1"))
    }));
    assert_eq!(h.client.connection_id(), None);
    h.connect();
    h.await_state(Connected, 5 * SECOND);
    assert_eq!(h.client.connection_id(), Some("unique-conn-id-1"));
}

/// realtime/unit/RTN9a/key-unset-until-connected-0
#[test]
fn rtn9a_key_unset_until_connected_0() {
    let mut h = Harness::new(key_options());
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::Success(connected("unique-conn-id-1", "conn-key-1"))
    }));
    assert_eq!(h.client.connection_key(), None);
    h.connect();
    h.await_state(Connected, 5 * SECOND);
    assert_eq!(h.client.connection_key(), Some("conn-key-1"));
}

/// Two clients on one mock service that numbers its connections.
fn two_clients() -> (Harness, Harness) {
    let count = Rc::new(Cell::new(0usize));
    let service = |count: Rc<Cell<usize>>| -> AttemptHandler {
        Box::new(move |_, _| {
            count.set(count.get() + 1);
            let n = count.get();
            Attempt::Success(connected(&format!("conn-id-{n}"), &format!("conn-key-{n}")))
        })
    };
    let mut h1 = Harness::new(key_options());
    h1.on_attempt = Some(service(count.clone()));
    let mut h2 = Harness::new(key_options());
    h2.on_attempt = Some(service(count));
    h1.connect();
    h1.await_state(Connected, 5 * SECOND);
    h2.connect();
    h2.await_state(Connected, 5 * SECOND);
    (h1, h2)
}

/// realtime/unit/RTN8b/id-unique-per-connection-0
#[test]
fn rtn8b_id_unique_per_connection_0() {
    let (h1, h2) = two_clients();
    assert_ne!(h1.client.connection_id(), h2.client.connection_id());
    assert_eq!(h1.client.connection_id(), Some("conn-id-1"));
    assert_eq!(h2.client.connection_id(), Some("conn-id-2"));
}

/// realtime/unit/RTN9b/key-unique-per-connection-0
#[test]
fn rtn9b_key_unique_per_connection_0() {
    let (h1, h2) = two_clients();
    assert_ne!(h1.client.connection_key(), h2.client.connection_key());
    assert_eq!(h1.client.connection_key(), Some("conn-key-1"));
    assert_eq!(h2.client.connection_key(), Some("conn-key-2"));
}

/// realtime/unit/RTN8c/id-null-after-closed-0
#[test]
fn rtn8c_id_null_after_closed_0() {
    let mut h = Harness::new(key_options());
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::Success(connected("conn-id-1", "conn-key-1"))
    }));
    answer_close(&mut h);
    h.connect();
    h.await_state(Connected, 5 * SECOND);
    assert_eq!(h.client.connection_id(), Some("conn-id-1"));
    h.close();
    h.await_state(Closed, 5 * SECOND);
    assert_eq!(h.client.connection_id(), None);
}

/// realtime/unit/RTN9c/key-null-after-closed-0
#[test]
fn rtn9c_key_null_after_closed_0() {
    let mut h = Harness::new(key_options());
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::Success(connected("conn-id-1", "conn-key-1"))
    }));
    answer_close(&mut h);
    h.connect();
    h.await_state(Connected, 5 * SECOND);
    assert_eq!(h.client.connection_key(), Some("conn-key-1"));
    h.close();
    h.await_state(Closed, 5 * SECOND);
    assert_eq!(h.client.connection_key(), None);
}

/// realtime/unit/RTN8c/id-key-null-after-failed-1
#[test]
fn rtn8c_id_key_null_after_failed_1() {
    let mut h = Harness::new(key_options());
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::ErrorAndClose(error_frame(Action::Error, 80000, 400, "Fatal error"))
    }));
    h.connect();
    h.await_state(Failed, 5 * SECOND);
    assert_eq!(h.client.connection_id(), None);
    assert_eq!(h.client.connection_key(), None);
}

/// realtime/unit/RTN8c/id-key-null-after-suspended-2
#[test]
fn rtn8c_id_key_null_after_suspended_2() {
    let opts = ClientOptions {
        disconnected_retry_timeout: Duration::from_millis(1000),
        suspended_retry_timeout: Duration::from_millis(100),
        ..key_options()
    };
    let mut h = Harness::new(opts);
    h.on_attempt = Some(Box::new(|_, _| Attempt::Refused));
    h.connect();
    h.await_state(Disconnected, 5 * SECOND);
    h.advance_ms(121_000);
    h.await_state(Suspended, SECOND);
    assert_eq!(h.client.connection_id(), None);
    assert_eq!(h.client.connection_key(), None);
}

// ---- RTN14, RSA4a: failures while opening ------------------------------------

/// realtime/unit/RTN14a/invalid-key-failed-0
#[test]
fn rtn14a_invalid_key_failed_0() {
    let opts = ClientOptions {
        key: Some("invalid.key:secret".into()),
        ..key_options()
    };
    let mut h = Harness::new(opts);
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::ErrorAndClose(error_frame(Action::Error, 40005, 400, "Invalid key"))
    }));
    h.connect();
    h.await_state(Failed, 5 * SECOND);
    assert_eq!(h.states(), vec![Connecting, Failed]);
    let err = h.client.error_reason().expect("errorReason is set");
    assert_eq!(err.code, 40005);
    assert_eq!(err.status_code, Some(400));
    assert_eq!(h.client.connection_id(), None);
    assert_eq!(h.client.connection_key(), None);
}

/// realtime/unit/RTN14b/token-error-with-renewal-0
#[test]
fn rtn14b_token_error_with_renewal_0() {
    let tokens = Rc::new(Cell::new(0usize));
    let mut h = Harness::new(key_token_options());
    issue_tokens(&mut h, tokens.clone());
    h.on_attempt = Some(Box::new(|n, _| match n {
        1 => Attempt::ErrorAndClose(error_frame(Action::Error, 40142, 401, "Token expired")),
        _ => Attempt::Success(connected_ttl("connection-id", "connection-key", 120_000)),
    }));
    h.connect();
    h.await_state(Connected, 10 * SECOND);
    assert_eq!(h.client.state(), Connected);
    assert_eq!(tokens.get(), 2, "initial token + renewal");
    assert_eq!(h.transports.len(), 2);
    assert_eq!(
        h.transports[0].param("access_token").as_deref(),
        Some("renewed_token_1")
    );
    assert_eq!(
        h.transports[1].param("access_token").as_deref(),
        Some("renewed_token_2")
    );
}

/// realtime/unit/RTN14b/token-renewal-fails-1
#[test]
fn rtn14b_token_renewal_fails_1() {
    let mut h = Harness::new(callback_options());
    h.on_token = Some(Box::new(|n, _| {
        Some(if n == 1 {
            Ok(AuthResponse::Details(TokenDetails {
                token: "initial-token".into(),
                expires: Some(START_WALL_MS + 3_600_000),
                ..TokenDetails::default()
            }))
        } else {
            Err(ErrorInfo::new(40171, 401, "Unable to renew token"))
        })
    }));
    // Every attempt is rejected with a token error.
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::Success(error_frame(Action::Error, 40142, 401, "Token expired"))
    }));
    h.connect();
    h.await_state(Disconnected, 5 * SECOND);
    assert_eq!(
        h.client.state(),
        Disconnected,
        "DISCONNECTED, not FAILED (RTN14b)"
    );
    assert_eq!(h.token_requests.len(), 2, "initial token + one renewal");
    assert!(h.client.error_reason().is_some());
    assert_eq!(h.states(), vec![Connecting, Disconnected]);
}

/// realtime/unit/RSA4a/token-error-no-renewal-0
#[test]
fn rsa4a_token_error_no_renewal_0() {
    let mut h = Harness::new(token_options("expired_token_string"));
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::ErrorAndClose(error_frame(Action::Error, 40142, 401, "Token expired"))
    }));
    h.connect();
    h.await_state(Failed, 5 * SECOND);
    assert_eq!(h.client.state(), Failed);
    let err = h.client.error_reason().expect("errorReason is set");
    assert_eq!(err.code, 40171);
    assert_eq!(h.transports.len(), 1, "no retry");
}

/// realtime/unit/RTN14c/connection-timeout-0
#[test]
fn rtn14c_connection_timeout_0() {
    let opts = ClientOptions {
        realtime_request_timeout: Duration::from_millis(1000),
        ..key_options()
    };
    let mut h = Harness::new(opts);
    h.connect();
    assert_eq!(h.client.state(), Connecting);
    // The WebSocket opens, but CONNECTED never comes.
    let generation = h.last().generation;
    h.input(Input::Transport(generation, TransportEvent::Opened));
    h.advance_ms(999);
    assert_eq!(h.client.state(), Connecting);
    h.advance_ms(101);
    h.await_state(Disconnected, SECOND);
    assert_eq!(h.states(), vec![Connecting, Disconnected]);
    assert!(
        h.last().closed_by_client,
        "the timed-out transport is closed"
    );
    let err = h.client.error_reason().expect("errorReason is set");
    assert!(
        err.message.contains("timeout") || [50003, 80003].contains(&err.code),
        "{err:?}"
    );
}

/// realtime/unit/RTN14d/retry-recoverable-failure-0
#[test]
fn rtn14d_retry_recoverable_failure_0() {
    let opts = ClientOptions {
        disconnected_retry_timeout: Duration::from_millis(1000),
        ..key_options()
    };
    let mut h = Harness::new(opts);
    h.on_attempt = Some(Box::new(|n, _| match n {
        1 => Attempt::Refused,
        _ => Attempt::Success(connected_ttl("connection-id", "connection-key", 120_000)),
    }));
    h.connect();
    h.await_state(Disconnected, 2 * SECOND);
    let change = h.changes().last().copied().cloned().expect("a change");
    assert!(
        change.reason.is_some(),
        "DISCONNECTED carries the reason (RTN14d)"
    );
    let retry_in = change.retry_in.expect("retryIn is set");
    assert!(retry_in <= Duration::from_millis(1000), "{retry_in:?}");
    assert_eq!(h.transports.len(), 1);
    h.advance_ms(1100);
    h.await_state(Connected, 5 * SECOND);
    assert_eq!(h.client.state(), Connected);
    assert_eq!(h.transports.len(), 2);
    assert_eq!(
        h.states(),
        vec![Connecting, Disconnected, Connecting, Connected]
    );
}

/// realtime/unit/RTN14e/disconnected-to-suspended-0
#[test]
fn rtn14e_disconnected_to_suspended_0() {
    // A short default connectionStateTtl; no CONNECTED ever overrides it.
    let opts = ClientOptions {
        disconnected_retry_timeout: Duration::from_millis(1000),
        connection_state_ttl: Duration::from_millis(5000),
        ..key_options()
    };
    let mut h = Harness::new(opts);
    h.on_attempt = Some(Box::new(|_, _| Attempt::Refused));
    h.connect();
    h.await_state(Disconnected, SECOND);
    h.advance_ms(5000 - 1);
    assert_ne!(h.client.state(), Suspended, "not before connectionStateTtl");
    h.advance_ms(101);
    h.await_state(Suspended, SECOND);
    assert_eq!(h.client.state(), Suspended);
    assert!(h.client.error_reason().is_some());
    let suspended = h
        .changes()
        .into_iter()
        .find(|c| c.current == Suspended)
        .cloned()
        .expect("SUSPENDED");
    assert!(
        suspended.reason.is_some(),
        "SUSPENDED is emitted with the reason"
    );
    assert!(
        h.transports.len() > 1,
        "retries were made while DISCONNECTED"
    );
}

/// realtime/unit/RTN14f/suspended-retries-indefinitely-0
#[test]
fn rtn14f_suspended_retries_indefinitely_0() {
    // connectionStateTtl shorter than the first disconnected retry, so that
    // the client is SUSPENDED after the first failure and the next two
    // attempts are made from SUSPENDED, as the spec's steps expect.
    let opts = ClientOptions {
        disconnected_retry_timeout: Duration::from_millis(500),
        suspended_retry_timeout: Duration::from_millis(1000),
        connection_state_ttl: Duration::from_millis(300),
        ..key_options()
    };
    let mut h = Harness::new(opts);
    h.on_attempt = Some(Box::new(|n, _| match n {
        1 | 2 => Attempt::Refused,
        _ => Attempt::Success(connected_ttl("connection-id", "connection-key", 120_000)),
    }));
    h.connect();
    h.await_state(Suspended, 5 * SECOND);
    assert_eq!(h.transports.len(), 1);
    let suspended_at = h.now.instant;
    h.advance_ms(1100);
    assert!(
        h.transports.len() >= 2,
        "a retry from SUSPENDED after suspendedRetryTimeout"
    );
    assert_eq!(h.client.state(), Suspended);
    h.advance_ms(1100);
    h.await_state(Connected, 5 * SECOND);
    assert!(h.transports.len() >= 3);
    assert!(h.now.instant - suspended_at <= Duration::from_millis(2200));
    assert_eq!(
        h.states(),
        vec![
            Connecting,
            Disconnected,
            Suspended,
            Connecting,
            Suspended,
            Connecting,
            Connected
        ]
    );
}

/// realtime/unit/RTN14g/error-empty-channel-failed-0
#[test]
fn rtn14g_error_empty_channel_failed_0() {
    let mut h = Harness::new(key_options());
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::ErrorAndClose(error_frame(
            Action::Error,
            50000,
            500,
            "Internal server error",
        ))
    }));
    h.connect();
    h.await_state(Failed, 5 * SECOND);
    let err = h.client.error_reason().expect("errorReason is set");
    assert_eq!(err.code, 50000);
    assert_eq!(err.status_code, Some(500));
    assert_eq!(err.message, "Internal server error");
}

// ---- RTN15: failures while connected -------------------------------------------

/// A harness whose first attempt connects as `connection-1`/`key-1`.
fn connected_once(opts: ClientOptions, then: impl FnMut(usize) -> Attempt + 'static) -> Harness {
    let mut then = then;
    let mut h = Harness::new(opts);
    h.on_attempt = Some(Box::new(move |n, _| match n {
        1 => Attempt::Success(connected_ttl("connection-1", "key-1", 120_000)),
        n => then(n),
    }));
    h.connect();
    h.await_state(Connected, 5 * SECOND);
    h
}

/// realtime/unit/RTN15h1/token-error-no-renew-0
#[test]
fn rtn15h1_token_error_no_renew_0() {
    let mut h = Harness::new(token_options("some_token_string"));
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::Success(connected_ttl("connection-id", "connection-key", 120_000))
    }));
    h.connect();
    h.await_state(Connected, 5 * SECOND);
    h.send_to_client_and_close(error_frame(
        Action::Disconnected,
        40142,
        401,
        "Token expired",
    ));
    h.await_state(Failed, 2 * SECOND);
    assert_eq!(h.client.state(), Failed);
    let err = h.client.error_reason().expect("errorReason is set");
    assert_eq!(err.status_code, Some(401));
    // The UTS unit spec expects 40142 here; RSA4a2 (and the UTS proxy test
    // realtime/proxy/RTN15h1/token-error-nonrenewable-failed-0) expect 40171.
    // The core reports 40171 with the service's 40142 as its cause.
    assert_eq!(err.code, 40171);
    let cause = err.cause.as_deref().expect("the token error is the cause");
    assert_eq!((cause.code, cause.status_code), (40142, Some(401)));
    assert_eq!(h.transports.len(), 1, "no reconnection attempt");
}

/// realtime/unit/RTN15h2/token-error-renew-success-0
#[test]
fn rtn15h2_token_error_renew_success_0() {
    let tokens = Rc::new(Cell::new(0usize));
    let mut h = Harness::new(key_token_options());
    issue_tokens(&mut h, tokens.clone());
    h.on_attempt = Some(Box::new(|n, _| match n {
        1 => Attempt::Success(connected_ttl("connection-1", "key-1", 120_000)),
        _ => Attempt::Success(connected_ttl("connection-1", "key-1-renewed", 120_000)),
    }));
    h.connect();
    h.await_state(Connected, 5 * SECOND);
    let first_id = h.client.connection_id().map(str::to_owned);
    let first_key = h.client.connection_key().map(str::to_owned);
    h.send_to_client_and_close(error_frame(
        Action::Disconnected,
        40142,
        401,
        "Token expired",
    ));
    h.await_state(Connected, 5 * SECOND);
    let after = &h.states()[2..];
    // RTN15h2i: a brief DISCONNECTED on the way is allowed, not required.
    assert!(
        matches!(after.first(), Some(Connecting | Disconnected)),
        "{after:?}"
    );
    assert!(
        after.ends_with(&[Connecting, Connected]),
        "CONNECTING then CONNECTED: {after:?}"
    );
    assert!(!after.contains(&Failed));
    assert_eq!(h.client.state(), Connected);
    assert_eq!(tokens.get(), 2, "initial token + renewal");
    assert_eq!(h.client.connection_id().map(str::to_owned), first_id);
    assert_ne!(h.client.connection_key().map(str::to_owned), first_key);
    assert_eq!(h.client.connection_key(), Some("key-1-renewed"));
    // RTN15b: a resume with the new token.
    assert_eq!(h.transports.len(), 2);
    assert_eq!(h.transports[1].param("resume").as_deref(), Some("key-1"));
    assert_eq!(
        h.transports[1].param("access_token").as_deref(),
        Some("renewed_token_2")
    );
}

/// realtime/unit/RTN15h2/token-error-renew-fails-1
#[test]
fn rtn15h2_token_error_renew_fails_1() {
    // The spec's portable variant: an authCallback that gives a token once
    // and then fails.
    let mut h = Harness::new(callback_options());
    h.on_token = Some(Box::new(|n, _| {
        Some(if n == 1 {
            Ok(AuthResponse::Details(TokenDetails {
                token: "valid-token-1".into(),
                expires: Some(START_WALL_MS + 3_600_000),
                ..TokenDetails::default()
            }))
        } else {
            Err(ErrorInfo::new(40171, 401, "Token renewal failed"))
        })
    }));
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::Success(connected_ttl("connection-1", "key-1", 120_000))
    }));
    h.connect();
    h.await_state(Connected, 5 * SECOND);
    h.send_to_client_and_close(error_frame(
        Action::Disconnected,
        40142,
        401,
        "Token expired",
    ));
    h.await_state(Disconnected, 5 * SECOND);
    // RTN15h2i: a transient DISCONNECTED may come before CONNECTING; the
    // final DISCONNECTED follows the failed renewal.
    let after: Vec<_> = h.states()[2..].to_vec();
    assert!(
        after.ends_with(&[Connecting, Disconnected]),
        "CONNECTING, then DISCONNECTED: {after:?}"
    );
    assert_eq!(h.client.state(), Disconnected);
    assert_eq!(h.token_requests.len(), 2, "initial token + one renewal");
    assert_eq!(h.transports.len(), 1, "no attempt without a token");
    let err = h.client.error_reason().expect("errorReason is set");
    let last = h.changes().last().copied().cloned().expect("a change");
    assert_eq!(
        last.reason.as_ref(),
        Some(err),
        "the renewal failure is the reason"
    );
}

/// realtime/unit/RTN15h3/non-token-error-resume-0
#[test]
fn rtn15h3_non_token_error_resume_0() {
    let mut h = connected_once(key_options(), |_| {
        Attempt::Success(connected_ttl("connection-1", "key-1", 120_000))
    });
    let original_id = h.client.connection_id().map(str::to_owned);
    let at = h.now.instant;
    h.send_to_client_and_close(error_frame(
        Action::Disconnected,
        80003,
        503,
        "Service unavailable",
    ));
    assert_eq!(
        h.states()[2..],
        [Disconnected, Connecting, Connected],
        "an immediate reconnect"
    );
    h.await_state(Connected, 5 * SECOND);
    assert_eq!(h.now.instant, at, "no wait before reconnecting");
    assert_eq!(h.client.connection_id().map(str::to_owned), original_id);
    assert_eq!(h.transports.len(), 2);
    assert_eq!(h.transports[1].param("resume").as_deref(), Some("key-1"));
}

/// realtime/unit/RTN15j/error-empty-channel-failed-0
#[test]
fn rtn15j_error_empty_channel_failed_0() {
    let mut h = Harness::new(key_options());
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::Success(connected_ttl("connection-id", "connection-key", 120_000))
    }));
    h.connect();
    h.await_state(Connected, 5 * SECOND);
    h.send_to_client_and_close(error_frame(Action::Error, 50000, 500, "Internal error"));
    h.await_state(Failed, 2 * SECOND);
    let err = h.client.error_reason().expect("errorReason is set");
    assert_eq!(err.code, 50000);
    assert_eq!(err.status_code, Some(500));
    assert_eq!(h.transports.len(), 1);
}

/// realtime/unit/RTN15a/unexpected-transport-disconnect-0
#[test]
fn rtn15a_unexpected_transport_disconnect_0() {
    let mut h = connected_once(key_options(), |_| {
        Attempt::Success(connected_ttl("connection-1", "key-1", 120_000))
    });
    let original_id = h.client.connection_id().map(str::to_owned);
    h.simulate_disconnect();
    h.await_state(Connected, 5 * SECOND);
    // DISCONNECTED, then at once CONNECTING, as for a non-token DISCONNECTED.
    assert_eq!(
        h.states(),
        vec![Connecting, Connected, Disconnected, Connecting, Connected]
    );
    assert_eq!(h.changes()[2].retry_in, Some(Duration::ZERO));
    assert_eq!(h.client.connection_id().map(str::to_owned), original_id);
    assert_eq!(h.transports.len(), 2);
    assert_eq!(h.transports[1].param("resume").as_deref(), Some("key-1"));
}

/// realtime/unit/RTN15b/successful-resume-0
#[test]
fn rtn15b_successful_resume_0() {
    let mut h = connected_once(key_options(), |_| {
        Attempt::Success(connected_ttl("connection-1", "key-1-updated", 120_000))
    });
    assert_eq!(h.client.connection_id(), Some("connection-1"));
    h.simulate_disconnect();
    h.await_state(Connected, 5 * SECOND);
    assert_eq!(h.client.connection_id(), Some("connection-1"));
    assert_eq!(h.client.connection_key(), Some("key-1-updated"));
    assert_eq!(h.transports[1].param("resume").as_deref(), Some("key-1"));
    assert_eq!(h.transports.len(), 2);
    // RTN15c6: no error on a successful resume.
    assert!(h.changes().last().expect("a change").reason.is_none());
}

/// realtime/unit/RTN15c7/failed-resume-new-id-0
#[test]
fn rtn15c7_failed_resume_new_id_0() {
    let mut h = connected_once(key_options(), |_| {
        let mut pm = connected_ttl("connection-2", "key-2", 120_000);
        pm.error = Some(ErrorInfo::new(80008, 400, "Unable to recover connection"));
        Attempt::Success(pm)
    });
    let original_id = h.client.connection_id().map(str::to_owned);
    h.simulate_disconnect();
    h.await_state(Connected, 5 * SECOND);
    assert_eq!(h.client.connection_id(), Some("connection-2"));
    assert_ne!(h.client.connection_id().map(str::to_owned), original_id);
    assert_eq!(h.client.connection_key(), Some("key-2"));
    let err = h.client.error_reason().expect("errorReason is set");
    assert_eq!(err.code, 80008);
    assert_eq!(h.client.state(), Connected);
    // The error is the reason of the CONNECTED event too.
    let last = h.changes().last().copied().cloned().expect("a change");
    assert_eq!(last.current, Connected);
    assert_eq!(last.reason.map(|e| e.code), Some(80008));
    assert_eq!(h.client.msg_serial(), 0);
}

/// realtime/unit/RTN15e/connection-key-updated-0
#[test]
fn rtn15e_connection_key_updated_0() {
    let mut h = connected_once(key_options(), |_| {
        Attempt::Success(connected_ttl("connection-1", "key-1-updated", 120_000))
    });
    assert_eq!(h.client.connection_key(), Some("key-1"));
    h.simulate_disconnect();
    h.await_state(Connected, 5 * SECOND);
    assert_eq!(h.client.connection_id(), Some("connection-1"), "resumed");
    assert_eq!(h.client.connection_key(), Some("key-1-updated"));
}

/// realtime/unit/RTN15g/state-cleared-after-ttl-0
#[test]
fn rtn15g_state_cleared_after_ttl_0() {
    let opts = ClientOptions {
        disconnected_retry_timeout: Duration::from_millis(1000),
        suspended_retry_timeout: Duration::from_millis(2000),
        ..key_options()
    };
    let mut h = Harness::new(opts);
    h.on_http = Some(Box::new(|_| {
        Some(Ok(HttpResponse {
            status: 200,
            headers: vec![],
            body: b"yes".to_vec(),
        }))
    }));
    h.on_attempt = Some(Box::new(|n, _| match n {
        1 => Attempt::Success(connected_ttl("connection-1", "key-1", 5000)),
        2..=5 => Attempt::Refused,
        _ => Attempt::Success(connected_ttl("connection-2", "key-2", 120_000)),
    }));
    h.connect();
    h.await_state(Connected, 5 * SECOND);
    let original_id = h.client.connection_id().map(str::to_owned);
    let original_key = h.client.connection_key().map(str::to_owned);
    h.simulate_disconnect();
    for _ in 0..15 {
        h.advance_ms(2500);
        if h.client.state() == Connected {
            break;
        }
    }
    h.await_state(Connected, 5 * SECOND);
    let states = h.states();
    let expected = [
        Connecting,
        Connected,
        Disconnected,
        Suspended,
        Connecting,
        Connected,
    ];
    let mut it = states.iter();
    assert!(
        expected.iter().all(|s| it.any(|x| x == s)),
        "in order: {states:?}"
    );
    assert_eq!(h.client.connection_id(), Some("connection-2"));
    assert_ne!(h.client.connection_id().map(str::to_owned), original_id);
    assert_eq!(h.client.connection_key(), Some("key-2"));
    assert_ne!(h.client.connection_key().map(str::to_owned), original_key);
    assert_eq!(
        h.last().param("resume"),
        None,
        "a fresh connection, no resume"
    );
}

/// realtime/unit/RTN15c5/token-error-during-resume-0
#[test]
fn rtn15c5_token_error_during_resume_0() {
    let tokens = Rc::new(Cell::new(0usize));
    let mut h = Harness::new(key_token_options());
    issue_tokens(&mut h, tokens.clone());
    h.on_attempt = Some(Box::new(|n, _| match n {
        1 => Attempt::Success(connected_ttl("connection-1", "key-1", 120_000)),
        2 => Attempt::Success(error_frame(Action::Error, 40142, 401, "Token expired")),
        _ => Attempt::Success(connected_ttl("connection-2", "key-2", 120_000)),
    }));
    h.connect();
    h.await_state(Connected, 5 * SECOND);
    h.simulate_disconnect();
    h.await_state(Connected, 10 * SECOND);
    assert_eq!(h.client.state(), Connected);
    assert_eq!(tokens.get(), 2, "initial token + renewal");
    assert_eq!(h.transports.len(), 3);
    assert_eq!(h.transports[1].param("resume").as_deref(), Some("key-1"));
    assert_eq!(
        h.transports[2].param("access_token").as_deref(),
        Some("renewed_token_2")
    );
    assert!(!h.states().contains(&Failed));
}

/// realtime/unit/RTN15c4/fatal-error-during-resume-0
#[test]
fn rtn15c4_fatal_error_during_resume_0() {
    let mut h = connected_once(key_options(), |_| {
        Attempt::Success(error_frame(
            Action::Error,
            50000,
            500,
            "Internal server error",
        ))
    });
    h.simulate_disconnect();
    h.await_state(Failed, 5 * SECOND);
    assert_eq!(h.client.state(), Failed);
    let err = h.client.error_reason().expect("errorReason is set");
    assert_eq!(err.code, 50000);
    h.advance_ms(60_000);
    assert_eq!(h.transports.len(), 2, "no retry after a fatal error");
}

// ---- RTB1: backoff and jitter -------------------------------------------------

/// realtime/unit/RTB1a/backoff-coefficient-sequence-0
#[test]
fn rtb1a_backoff_coefficient_sequence_0() {
    let coefficients: Vec<f64> = (1..=10).map(backoff_coefficient).collect();
    assert_eq!(coefficients[0], 1.0);
    assert_eq!(coefficients[1], 4.0 / 3.0);
    assert_eq!(coefficients[2], 5.0 / 3.0);
    assert_eq!(coefficients[3], 2.0);
    for c in &coefficients[3..] {
        assert_eq!(*c, 2.0);
    }
}

/// realtime/unit/RTB1b/jitter-coefficient-range-0
#[test]
fn rtb1b_jitter_coefficient_range_0() {
    // Drawn from the client's own RNG, as the retry delays are.
    let mut h = Harness::new(key_options());
    let values: Vec<f64> = (0..1000)
        .map(|_| jitter_coefficient(h.client.rng()))
        .collect();
    for j in &values {
        assert!((0.8..=1.0).contains(j), "{j}");
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    assert!((0.85..=0.95).contains(&mean), "mean {mean}");
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert!(max - min > 0.05, "spread {min}..{max}");
}

/// realtime/unit/RTB1/disconnected-retry-delay-0
#[test]
fn rtb1_disconnected_retry_delay_0() {
    let timeout = 2000.0;
    let opts = ClientOptions {
        disconnected_retry_timeout: Duration::from_millis(2000),
        ..key_options()
    };
    let mut h = Harness::new(opts);
    h.on_attempt = Some(Box::new(|n, _| match n {
        1 => Attempt::Success(connected_ttl("connection-id", "connection-key", 60_000)),
        _ => Attempt::Refused,
    }));
    h.connect();
    h.await_state(Connected, 5 * SECOND);
    h.simulate_disconnect();
    let disconnected = |h: &Harness| -> Vec<Duration> {
        h.changes()
            .iter()
            .filter(|c| c.current == Disconnected && !c.update)
            .map(|c| c.retry_in.expect("DISCONNECTED has retryIn"))
            .collect()
    };
    for _ in 0..30 {
        h.advance_ms(5000);
        if disconnected(&h).len() >= 6 {
            break;
        }
    }
    let all = disconnected(&h);
    // The first DISCONNECTED is the transport drop, retried at once (RTN15a);
    // the retries that follow are the failed reconnection attempts.
    assert_eq!(all[0], Duration::ZERO);
    let delays = &all[1..];
    assert!(delays.len() >= 5, "{all:?}");
    let eps = 1e-6;
    for (i, backoff) in [1.0, 4.0 / 3.0, 5.0 / 3.0, 2.0, 2.0]
        .into_iter()
        .enumerate()
    {
        let d = retry_ms(delays[i]);
        assert!(
            d >= timeout * backoff * 0.8 - eps && d <= timeout * backoff + eps,
            "retry {}: {d} ms not in [{}, {}]",
            i + 1,
            timeout * backoff * 0.8,
            timeout * backoff
        );
    }
}

/// realtime/unit/RTB1/suspended-channel-retry-delay-1
#[test]
fn rtb1_suspended_channel_retry_delay_1() {
    use ably_proto::client::ChannelState;
    // The spec starts the cycle with a channel ERROR, but a channel ERROR
    // fails the channel for good (RTL14); a server DETACHED is what starts
    // the reattach (RTL13a). As in the spec every reattach is answered with
    // DETACHED 90001, so the channel cycles through SUSPENDED (RTL13b). The
    // core reports no retryIn for channels (TH has none), so the delay is
    // measured: from each failed reattach to the next ATTACH.
    let name = "test-RTB1-channel";
    let timeout = 3000.0;
    let opts = ClientOptions {
        channel_retry_timeout: Duration::from_millis(3000),
        format: Format::Json,
        ..key_options()
    };
    let mut h = Harness::new(opts);
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::Success(connected_ttl("connection-id", "connection-key", 120_000))
    }));
    let mut attach_count = 0;
    h.on_message = Some(Box::new(move |pm| {
        if pm.action != Action::Attach {
            return vec![];
        }
        attach_count += 1;
        let channel = pm.channel.as_deref().unwrap_or_default();
        if attach_count == 1 {
            vec![Reply::Send(attached(channel))]
        } else {
            let err = ErrorInfo::new(90001, 500, "Channel re-attach failed");
            vec![Reply::Send(detached(channel, Some(err)))]
        }
    }));
    h.connect();
    h.await_state(Connected, 5 * SECOND);
    let attach = h.attach(name);
    assert!(matches!(h.completion(attach), Some(Ok(_))));
    assert_eq!(h.channel_state(name), ChannelState::Attached);

    let attaches = |h: &Harness| h.sent_with(Action::Attach).len();
    let err = ErrorInfo::new(90001, 500, "Channel error");
    h.send_to_client(detached(name, Some(err)));
    // The immediate reattach (RTL13a) failed: SUSPENDED, retry 1 pending.
    assert_eq!(attaches(&h), 2);
    assert_eq!(h.channel_state(name), ChannelState::Suspended);
    let mut failed_at = vec![h.now.instant];
    for _ in 0..4 {
        let n = attaches(&h);
        assert!(
            h.run_until(7 * SECOND, |h| attaches(h) > n),
            "no retry within 7 s"
        );
        assert_eq!(h.channel_state(name), ChannelState::Suspended);
        failed_at.push(h.now.instant);
    }
    let suspended = h
        .channel_changes(name)
        .into_iter()
        .filter(|c| c.current == ChannelState::Suspended && !c.update)
        .count();
    assert!(suspended >= 4, "{suspended} SUSPENDED changes");

    let eps = 1e-6;
    for (i, backoff) in [1.0, 4.0 / 3.0, 5.0 / 3.0, 2.0].into_iter().enumerate() {
        let d = retry_ms(failed_at[i + 1].saturating_since(failed_at[i]));
        assert!(
            d >= timeout * backoff * 0.8 - eps && d <= timeout * backoff + eps,
            "retry {}: {d} ms not in [{}, {}]",
            i + 1,
            timeout * backoff * 0.8,
            timeout * backoff
        );
    }
}

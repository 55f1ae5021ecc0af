//! Realtime auth: tokens from the authCallback before and during a
//! connection, errors while obtaining them, `authorize()`, and tokens with
//! no means of renewal. Ported from `uts/realtime/unit/auth/`.

use std::time::Duration;

use ably_proto::auth::TokenDetails;
use ably_proto::client::{
    AuthResponse, ClientOptions, Command, Completion, ConnectionState, Input, TokenSource,
    TransportEvent,
};
use ably_proto::codec::Format;
use ably_proto::{Action, ConnectionDetails, ErrorInfo, ProtocolMessage};

use crate::harness::*;

use ConnectionState::*;

const WAIT: Duration = Duration::from_secs(5);

/// Options with only an authCallback, as the specs use: no autoConnect,
/// the default (binary) protocol, no fallback hosts.
fn callback_options() -> ClientOptions {
    ClientOptions {
        token_source: TokenSource::Callback,
        auto_connect: false,
        fallback_hosts: Some(Vec::new()),
        ..ClientOptions::default()
    }
}

/// `callback_options` with `useBinaryProtocol: false`.
fn callback_options_json() -> ClientOptions {
    ClientOptions {
        format: Format::Json,
        ..callback_options()
    }
}

/// Token details valid for an hour, as the specs' callbacks return.
fn details(token: &str) -> TokenDetails {
    TokenDetails {
        token: token.into(),
        expires: Some(START_WALL_MS + 3_600_000),
        ..TokenDetails::default()
    }
}

/// A callback answer of token details.
fn token(token: &str) -> Option<Result<AuthResponse, ErrorInfo>> {
    Some(Ok(AuthResponse::Details(details(token))))
}

/// A callback that gives `token-<n>` on its n-th call.
fn numbered_tokens(
    n: usize,
    _: &ably_proto::auth::TokenParams,
) -> Option<Result<AuthResponse, ErrorInfo>> {
    token(&format!("token-{n}"))
}

/// CONNECTED with the specs' usual details (15 s idle, 120 s TTL).
fn connected_ok() -> Attempt {
    Attempt::Success(connected("connection-id", "connection-key"))
}

/// CONNECTED with these id and key and the usual details.
fn connected_as(id: &str, key: &str) -> ProtocolMessage {
    connected_with(
        id,
        key,
        ConnectionDetails {
            connection_key: Some(key.into()),
            max_idle_interval: Some(15_000),
            connection_state_ttl: Some(120_000),
            ..ConnectionDetails::default()
        },
    )
}

/// A connection-level ERROR.
fn error_frame(code: u32, status: u16, message: &str) -> ProtocolMessage {
    let mut pm = ProtocolMessage::new(Action::Error);
    pm.error = Some(ErrorInfo::new(code, status, message));
    pm
}

/// Opens the latest transport without the service sending anything, as
/// `respond_with_success()` without a CONNECTED.
fn open_silently(h: &mut Harness) {
    let generation = h.last().generation;
    h.input(Input::Transport(generation, TransportEvent::Opened));
}

/// A harness whose service answers CLOSE with CLOSED.
fn closing_answered(h: &mut Harness) {
    h.on_message = Some(Box::new(|pm| {
        if pm.action == Action::Close {
            vec![Reply::Send(ProtocolMessage::new(Action::Closed))]
        } else {
            vec![]
        }
    }));
}

/// The token in a connection URL. RTN2e and the specs call the param
/// `accessToken`; the core sends the ably-js name `access_token`, which the
/// service also accepts (see the shared protocol digest).
fn access_token(t: &Transport) -> Option<String> {
    t.param("access_token")
}

fn reason_code(h: &Harness) -> Option<u32> {
    h.client.error_reason().map(|e| e.code)
}

// ---- auth_callback_errors_test.md ------------------------------------------

/// realtime/unit/RSA4c2/callback-error-connecting-disconnected-0
#[test]
fn rsa4c2_callback_error_connecting_disconnected_0() {
    let mut h = Harness::new(callback_options_json());
    h.on_token = Some(Box::new(|n, _| {
        if n == 1 {
            Some(Err(ErrorInfo::new(50000, 500, "Auth server unavailable")))
        } else {
            token(&format!("valid-token-{n}"))
        }
    }));
    h.on_attempt = Some(Box::new(|_, _| connected_ok()));
    h.connect();
    h.await_state(Disconnected, WAIT);

    assert_eq!(h.client.state(), Disconnected);
    let reason = h.client.error_reason().expect("errorReason");
    assert_eq!(reason.code, 80019);
    assert_eq!(reason.status_code, Some(401));
    assert_eq!(reason.cause.as_ref().map(|c| c.code), Some(50000));
    let disconnected: Vec<_> = h
        .changes()
        .into_iter()
        .filter(|c| c.current == Disconnected)
        .collect();
    assert!(!disconnected.is_empty());
    assert_eq!(disconnected[0].reason.as_ref().map(|r| r.code), Some(80019));
}

/// realtime/unit/RSA4c2/callback-timeout-connecting-disconnected-1
#[test]
fn rsa4c2_callback_timeout_connecting_disconnected_1() {
    let mut opts = callback_options_json();
    opts.realtime_request_timeout = Duration::from_millis(10_000);
    let mut h = Harness::new(opts);
    h.on_token = Some(Box::new(|_, _| None)); // never answers
    h.on_attempt = Some(Box::new(|_, _| connected_ok()));
    h.connect();
    h.advance_ms(9_000);
    assert_eq!(
        h.client.state(),
        Connecting,
        "still waiting for the callback"
    );
    h.advance_ms(2_000);
    h.await_state(Disconnected, WAIT);

    let reason = h.client.error_reason().expect("errorReason");
    assert_eq!(reason.code, 80019);
    assert_eq!(reason.status_code, Some(401));
    assert!(h.transports.is_empty());
}

/// realtime/unit/RSA4d/callback-403-connecting-failed-0
#[test]
fn rsa4d_callback_403_connecting_failed_0() {
    let mut h = Harness::new(callback_options_json());
    h.on_token = Some(Box::new(|_, _| {
        Some(Err(ErrorInfo::new(40300, 403, "Account disabled")))
    }));
    h.on_attempt = Some(Box::new(|_, _| connected_ok()));
    h.connect();
    h.await_state(Failed, WAIT);

    assert_eq!(h.client.state(), Failed);
    assert!(h.transports.is_empty(), "no connection attempt");
    let reason = h.client.error_reason().expect("errorReason");
    assert_eq!(reason.code, 80019);
    assert_eq!(reason.status_code, Some(403));
    let cause = reason.cause.as_ref().expect("cause");
    assert_eq!(cause.code, 40300);
    assert_eq!(cause.status_code, Some(403));
    let failed: Vec<_> = h
        .changes()
        .into_iter()
        .filter(|c| c.current == Failed)
        .collect();
    assert_eq!(failed.len(), 1);
    let r = failed[0].reason.as_ref().expect("reason");
    assert_eq!((r.code, r.status_code), (80019, Some(403)));
    assert!(!h.states().contains(&Disconnected));
}

/// realtime/unit/RSA4d/callback-403-reauth-failed-1
#[test]
fn rsa4d_callback_403_reauth_failed_1() {
    let mut h = Harness::new(callback_options_json());
    h.on_token = Some(Box::new(|n, _| {
        if n == 1 {
            token("initial-token")
        } else {
            Some(Err(ErrorInfo::new(40300, 403, "Account suspended")))
        }
    }));
    h.on_attempt = Some(Box::new(|_, _| connected_ok()));
    h.connect();
    h.await_state(Connected, WAIT);

    h.send_to_client(ProtocolMessage::new(Action::Auth));
    h.await_state(Failed, WAIT);

    let reason = h.client.error_reason().expect("errorReason");
    assert_eq!(reason.code, 80019);
    assert_eq!(reason.status_code, Some(403));
    assert_eq!(reason.cause.as_ref().map(|c| c.code), Some(40300));
}

/// realtime/unit/RSA4f/callback-oversized-token-format-1
#[test]
fn rsa4f_callback_oversized_token_format_1() {
    let mut h = Harness::new(callback_options_json());
    h.on_token = Some(Box::new(|_, _| {
        Some(Ok(AuthResponse::Token("x".repeat(131_073))))
    }));
    h.on_attempt = Some(Box::new(|_, _| connected_ok()));
    h.connect();
    h.await_state(Disconnected, WAIT);

    let reason = h.client.error_reason().expect("errorReason");
    assert_eq!(reason.code, 80019);
    assert_eq!(reason.status_code, Some(401));
    assert!(h.transports.is_empty());
}

// ---- connection_auth_test.md -------------------------------------------------

/// realtime/unit/RTN2e/token-before-websocket-0
#[test]
fn rtn2e_token_before_websocket_0() {
    let mut h = Harness::new(callback_options());
    h.on_attempt = Some(Box::new(|_, _| connected_ok()));
    h.connect();

    // The callback is asked first, and nothing is opened until it answers.
    assert_eq!(h.client.state(), Connecting);
    assert_eq!(h.token_requests.len(), 1);
    assert!(
        h.transports.is_empty(),
        "no connection attempt before the token"
    );
    let request = h.token_requests[0].0;
    h.input(Input::Token(
        request,
        Ok(AuthResponse::Details(details("callback-provided-token"))),
    ));
    h.await_state(Connected, WAIT);

    assert_eq!(h.transports.len(), 1);
    assert_eq!(
        access_token(&h.transports[0]).as_deref(),
        Some("callback-provided-token")
    );
    assert_eq!(h.transports[0].param("key"), None);
    assert_eq!(h.client.state(), Connected);
}

/// realtime/unit/RTN2e/callback-error-prevents-connect-1
#[test]
fn rtn2e_callback_error_prevents_connect_1() {
    let mut h = Harness::new(callback_options());
    // A callback failing with something other than an Ably error; the
    // driver reports it as an ErrorInfo without an Ably status.
    h.on_token = Some(Box::new(|_, _| {
        Some(Err(ErrorInfo {
            code: 0,
            status_code: None,
            message: "Auth callback failed".into(),
            href: None,
            cause: None,
        }))
    }));
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::Success(connected_with(
            "connection-id",
            "connection-key",
            ConnectionDetails::default(),
        ))
    }));
    h.connect();
    assert!(h.run_until(WAIT, |h| matches!(h.client.state(), Disconnected | Failed)));

    assert!(h.transports.is_empty(), "no connection attempt");
    let reason = h.client.error_reason().expect("errorReason");
    assert!(
        reason.status_code == Some(401) || reason.code == 40170,
        "{reason}"
    );
}

/// realtime/unit/RTN2e/callback-params-include-clientid-2
#[test]
fn rtn2e_callback_params_include_clientid_2() {
    let mut opts = callback_options();
    opts.client_id = Some("my-client-id".into());
    let mut h = Harness::new(opts);
    h.on_token = Some(Box::new(|_, _| {
        Some(Ok(AuthResponse::Details(TokenDetails {
            client_id: Some("my-client-id".into()),
            ..details("token-for-client")
        })))
    }));
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::Success(connected_with(
            "connection-id",
            "connection-key",
            ConnectionDetails::default(),
        ))
    }));
    h.connect();
    h.await_state(Connected, WAIT);

    assert_eq!(h.token_requests.len(), 1);
    assert_eq!(
        h.token_requests[0].1.client_id.as_deref(),
        Some("my-client-id")
    );
}

/// realtime/unit/RTN2e/reuse-valid-token-3
#[test]
fn rtn2e_reuse_valid_token_3() {
    let mut h = Harness::new(callback_options());
    h.on_token = Some(Box::new(|_, _| token("reusable-token")));
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::Success(connected_with(
            "connection-id",
            "connection-key",
            ConnectionDetails::default(),
        ))
    }));
    closing_answered(&mut h);
    h.connect();
    h.await_state(Connected, WAIT);
    h.close();
    h.await_state(Closed, WAIT);
    h.connect();
    h.await_state(Connected, WAIT);

    assert_eq!(h.token_requests.len(), 1, "the valid token was reused");
    assert_eq!(h.transports.len(), 2);
    assert_eq!(
        access_token(&h.transports[1]).as_deref(),
        Some("reusable-token")
    );
}

/// realtime/unit/RSA4c2/callback-error-causes-disconnected-0
#[test]
fn rsa4c2_callback_error_causes_disconnected_0() {
    let mut h = Harness::new(callback_options());
    h.on_token = Some(Box::new(|n, _| {
        if n == 1 {
            Some(Err(ErrorInfo::new(50000, 500, "Auth server unavailable")))
        } else {
            token(&format!("valid-token-{n}"))
        }
    }));
    h.on_attempt = Some(Box::new(|_, _| connected_ok()));
    h.connect();
    h.await_state(Disconnected, WAIT);

    let reason = h.client.error_reason().expect("errorReason");
    assert_eq!(reason.code, 80019);
    assert_eq!(reason.status_code, Some(401));
    assert_eq!(reason.cause.as_ref().map(|c| c.code), Some(50000));
}

/// realtime/unit/RSA4c3/callback-error-stays-connected-0
#[test]
fn rsa4c3_callback_error_stays_connected_0() {
    let mut h = Harness::new(callback_options());
    h.on_token = Some(Box::new(|n, _| {
        if n == 1 {
            token("initial-token")
        } else {
            Some(Err(ErrorInfo::new(50000, 500, "Auth server unavailable")))
        }
    }));
    h.on_attempt = Some(Box::new(|_, _| connected_ok()));
    h.connect();
    h.await_state(Connected, WAIT);
    let mark = h.changes().len();

    h.send_to_client(ProtocolMessage::new(Action::Auth));
    assert!(h.run_until(WAIT, |h| h.client.error_reason().is_some()));

    assert_eq!(h.client.state(), Connected);
    assert!(h.changes()[mark..].iter().all(|c| c.current == Connected));
    let reason = h.client.error_reason().expect("errorReason");
    assert_eq!(reason.code, 80019);
    assert_eq!(reason.status_code, Some(401));
    assert_eq!(reason.cause.as_ref().map(|c| c.code), Some(50000));
}

/// realtime/unit/RSA4d/callback-403-causes-failed-0
#[test]
fn rsa4d_callback_403_causes_failed_0() {
    let mut h = Harness::new(callback_options());
    h.on_token = Some(Box::new(|_, _| {
        Some(Err(ErrorInfo::new(40300, 403, "Account disabled")))
    }));
    h.on_attempt = Some(Box::new(|_, _| connected_ok()));
    h.connect();
    h.await_state(Failed, WAIT);

    let reason = h.client.error_reason().expect("errorReason");
    assert_eq!(reason.code, 80019);
    assert_eq!(reason.status_code, Some(403));
    assert_eq!(reason.cause.as_ref().map(|c| c.code), Some(40300));
}

/// realtime/unit/RSA4d/callback-403-reauth-causes-failed-1
#[test]
fn rsa4d_callback_403_reauth_causes_failed_1() {
    let mut h = Harness::new(callback_options());
    h.on_token = Some(Box::new(|n, _| {
        if n == 1 {
            token("initial-token")
        } else {
            Some(Err(ErrorInfo::new(40300, 403, "Account suspended")))
        }
    }));
    h.on_attempt = Some(Box::new(|_, _| connected_ok()));
    h.connect();
    h.await_state(Connected, WAIT);

    h.send_to_client(ProtocolMessage::new(Action::Auth));
    h.await_state(Failed, WAIT);

    let reason = h.client.error_reason().expect("errorReason");
    assert_eq!(reason.code, 80019);
    assert_eq!(reason.status_code, Some(403));
    assert_eq!(reason.cause.as_ref().map(|c| c.code), Some(40300));
}

// ---- realtime_authorize.md -----------------------------------------------------

/// The token an `authorize()` completed with.
fn authorized(h: &Harness, op: ably_proto::client::OpId) -> TokenDetails {
    match h.completion(op) {
        Some(Ok(Completion::Authorized(td))) => *td,
        other => panic!("authorize() did not complete with a token: {other:?}"),
    }
}

/// realtime/unit/RTC8a/authorize-connected-sends-auth-0
#[test]
fn rtc8a_authorize_connected_sends_auth_0() {
    let mut h = Harness::new(callback_options());
    h.on_token = Some(Box::new(numbered_tokens));
    h.on_attempt = Some(Box::new(|_, _| connected_ok()));
    h.connect();
    h.await_state(Connected, WAIT);
    let mark = h.changes().len();

    h.on_message = Some(Box::new(|pm| {
        if pm.action == Action::Auth {
            vec![Reply::Send(connected_as(
                "connection-id",
                "connection-key-2",
            ))]
        } else {
            vec![]
        }
    }));
    let op = h.command(Command::Authorize(None));
    let td = authorized(&h, op);

    assert_eq!(h.token_requests.len(), 2);
    let auths = h.sent_with(Action::Auth);
    assert_eq!(auths.len(), 1);
    assert_eq!(
        auths[0].auth.as_ref().map(|a| a.access_token.as_str()),
        Some("token-2")
    );
    assert_eq!(td.token, "token-2");
    assert!(
        h.changes()[mark..].iter().all(|c| c.current == c.previous),
        "only UPDATEs"
    );
    assert_eq!(h.client.state(), Connected);
}

/// realtime/unit/RTC8a1/successful-reauth-update-event-0
#[test]
fn rtc8a1_successful_reauth_update_event_0() {
    let mut h = Harness::new(callback_options());
    h.on_token = Some(Box::new(numbered_tokens));
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::Success(connected_as("connection-id-1", "connection-key-1"))
    }));
    h.connect();
    h.await_state(Connected, WAIT);
    let mark = h.changes().len();

    h.on_message = Some(Box::new(|pm| {
        if pm.action == Action::Auth {
            vec![Reply::Send(connected_with(
                "connection-id-2",
                "connection-key-2",
                ConnectionDetails {
                    connection_key: Some("connection-key-2".into()),
                    max_idle_interval: Some(20_000),
                    connection_state_ttl: Some(180_000),
                    ..ConnectionDetails::default()
                },
            ))]
        } else {
            vec![]
        }
    }));
    let op = h.command(Command::Authorize(None));
    authorized(&h, op);

    let changes = h.changes()[mark..].to_vec();
    let updates: Vec<_> = changes.iter().filter(|c| c.update).collect();
    assert_eq!(updates.len(), 1);
    assert_eq!(
        (updates[0].previous, updates[0].current),
        (Connected, Connected)
    );
    assert_eq!(
        changes
            .iter()
            .filter(|c| !c.update && c.current == Connected)
            .count(),
        0
    );
    assert!(changes.iter().all(|c| c.current == c.previous));
    assert_eq!(h.client.connection_id(), Some("connection-id-2"));
    assert_eq!(h.client.connection_key(), Some("connection-key-2"));
    // RTN21: the new details replace the old.
    assert_eq!(
        h.client.connection_details().max_idle_interval,
        Some(20_000)
    );
    assert_eq!(
        h.client.connection_details().connection_state_ttl,
        Some(180_000)
    );
}

/// realtime/unit/RTC8a1/capability-downgrade-channel-failed-1
#[test]
fn rtc8a1_capability_downgrade_channel_failed_1() {
    use ably_proto::client::ChannelState;
    let channel = "private-channel";
    let mut h = Harness::new(callback_options());
    h.on_token = Some(Box::new(numbered_tokens));
    h.on_attempt = Some(Box::new(|_, _| connected_ok()));
    h.connect();
    h.await_state(Connected, WAIT);
    h.on_message = Some(Box::new(|pm| {
        if pm.action == Action::Attach && pm.channel.as_deref() == Some("private-channel") {
            vec![Reply::Send(attached("private-channel"))]
        } else {
            vec![]
        }
    }));
    let attach = h.attach(channel);
    assert_eq!(h.completion(attach), Some(Ok(Completion::Done)));
    assert_eq!(h.channel_state(channel), ChannelState::Attached);
    let mark = h.channel_changes(channel).len();
    h.on_message = Some(Box::new(|pm| {
        if pm.action == Action::Auth {
            let mut denied = error_frame(
                40160,
                401,
                "Channel denied access based on given capability",
            );
            denied.channel = Some("private-channel".into());
            // The channel ERROR follows the CONNECTED, in order.
            vec![
                Reply::Send(connected_as("connection-id", "connection-key-2")),
                Reply::Send(denied),
            ]
        } else {
            vec![]
        }
    }));
    let op = h.command(Command::Authorize(None));
    authorized(&h, op);

    assert_eq!(h.channel_state(channel), ChannelState::Failed);
    let failed: Vec<_> = h
        .channel_changes(channel)
        .into_iter()
        .skip(mark)
        .filter(|c| c.current == ChannelState::Failed && !c.update)
        .collect();
    assert_eq!(failed.len(), 1);
    let reason = failed[0].reason.as_ref().expect("reason");
    assert_eq!(reason.code, 40160);
    assert_eq!(reason.status_code, Some(401));
    // A channel-level ERROR leaves the connection alone.
    assert_eq!(h.client.state(), Connected);
}

/// realtime/unit/RTC8a2/failed-reauth-connection-failed-0
#[test]
fn rtc8a2_failed_reauth_connection_failed_0() {
    let mut h = Harness::new(callback_options());
    h.on_token = Some(Box::new(numbered_tokens));
    h.on_attempt = Some(Box::new(|_, _| connected_ok()));
    h.connect();
    h.await_state(Connected, WAIT);
    let mark = h.changes().len();

    h.on_message = Some(Box::new(|pm| {
        if pm.action == Action::Auth {
            vec![Reply::SendAndClose(error_frame(
                40012,
                400,
                "Incompatible clientId",
            ))]
        } else {
            vec![]
        }
    }));
    let op = h.command(Command::Authorize(None));
    let err = match h.completion(op) {
        Some(Err(e)) => e,
        other => panic!("authorize() should fail: {other:?}"),
    };
    assert_eq!(err.code, 40012);

    assert_eq!(h.client.state(), Failed);
    assert_eq!(reason_code(&h), Some(40012));
    assert!(h.changes()[mark..].iter().any(|c| c.current == Failed));
}

/// realtime/unit/RTC8a3/authorize-completes-after-response-0
#[test]
fn rtc8a3_authorize_completes_after_response_0() {
    let mut h = Harness::new(callback_options());
    h.on_token = Some(Box::new(numbered_tokens));
    h.on_attempt = Some(Box::new(|_, _| connected_ok()));
    h.connect();
    h.await_state(Connected, WAIT);

    let op = h.command(Command::Authorize(None));
    assert_eq!(
        h.sent_with(Action::Auth).len(),
        1,
        "AUTH sent with the new token"
    );
    assert_eq!(
        h.completion(op),
        None,
        "not complete before the service answers"
    );

    h.send_to_client(connected_as("connection-id", "connection-key-2"));
    let td = authorized(&h, op);
    assert_eq!(td.token, "token-2");
}

/// realtime/unit/RTC8b/authorize-connecting-halts-attempt-0
#[test]
fn rtc8b_authorize_connecting_halts_attempt_0() {
    let mut h = Harness::new(callback_options());
    h.on_token = Some(Box::new(numbered_tokens));
    h.on_attempt = Some(Box::new(|n, _| {
        if n == 1 {
            Attempt::Pending
        } else {
            connected_ok()
        }
    }));
    h.connect();
    // The first attempt opens but CONNECTED never comes.
    open_silently(&mut h);
    h.await_state(Connecting, WAIT);

    let op = h.command(Command::Authorize(None));
    let td = authorized(&h, op);

    assert_eq!(td.token, "token-2");
    assert_eq!(h.client.state(), Connected);
    assert_eq!(h.token_requests.len(), 2);
    assert_eq!(h.transports.len(), 2);
    assert!(
        h.transports[0].closed_by_client,
        "the first attempt was halted"
    );
    assert_eq!(access_token(&h.transports[1]).as_deref(), Some("token-2"));
}

/// realtime/unit/RTC8b1/authorize-connecting-fails-on-failed-0
#[test]
fn rtc8b1_authorize_connecting_fails_on_failed_0() {
    let mut h = Harness::new(callback_options());
    h.on_token = Some(Box::new(numbered_tokens));
    h.on_attempt = Some(Box::new(|n, _| {
        if n == 1 {
            Attempt::Pending
        } else {
            Attempt::ErrorAndClose(error_frame(40101, 401, "Invalid credentials"))
        }
    }));
    h.connect();
    open_silently(&mut h);
    h.await_state(Connecting, WAIT);

    let op = h.command(Command::Authorize(None));
    let err = match h.completion(op) {
        Some(Err(e)) => e,
        other => panic!("authorize() should fail: {other:?}"),
    };
    assert_eq!(err.code, 40101);
    assert_eq!(h.client.state(), Failed);
}

/// realtime/unit/RTC8c/authorize-disconnected-initiates-connection-0
#[test]
fn rtc8c_authorize_disconnected_initiates_connection_0() {
    let mut h = Harness::new(callback_options());
    h.on_token = Some(Box::new(numbered_tokens));
    h.on_attempt = Some(Box::new(|_, _| connected_ok()));
    assert_eq!(h.client.state(), Initialized);

    let op = h.command(Command::Authorize(None));
    let td = authorized(&h, op);

    assert_eq!(td.token, "token-1");
    assert_eq!(h.client.state(), Connected);
    assert_eq!(h.states(), vec![Connecting, Connected]);
    assert_eq!(access_token(&h.transports[0]).as_deref(), Some("token-1"));
}

/// realtime/unit/RTC8c/authorize-failed-initiates-connection-1
#[test]
fn rtc8c_authorize_failed_initiates_connection_1() {
    let mut h = Harness::new(callback_options());
    h.on_token = Some(Box::new(numbered_tokens));
    h.on_attempt = Some(Box::new(|n, _| {
        if n == 1 {
            Attempt::ErrorAndClose(error_frame(40101, 401, "Invalid credentials"))
        } else {
            connected_ok()
        }
    }));
    h.connect();
    h.await_state(Failed, WAIT);
    let mark = h.states().len();

    let op = h.command(Command::Authorize(None));
    let td = authorized(&h, op);

    assert_eq!(td.token, "token-2");
    assert_eq!(h.client.state(), Connected);
    assert_eq!(h.states()[mark..], [Connecting, Connected]);
    assert_eq!(access_token(&h.transports[1]).as_deref(), Some("token-2"));
}

/// realtime/unit/RTC8c/authorize-closed-initiates-connection-2
#[test]
fn rtc8c_authorize_closed_initiates_connection_2() {
    let mut h = Harness::new(callback_options());
    h.on_token = Some(Box::new(numbered_tokens));
    h.on_attempt = Some(Box::new(|n, _| {
        Attempt::Success(connected_as(
            &format!("connection-id-{n}"),
            &format!("connection-key-{n}"),
        ))
    }));
    closing_answered(&mut h);
    h.connect();
    h.await_state(Connected, WAIT);
    h.close();
    h.await_state(Closed, WAIT);

    let op = h.command(Command::Authorize(None));
    let td = authorized(&h, op);

    assert_eq!(td.token, "token-2");
    assert_eq!(h.client.state(), Connected);
    assert_eq!(h.client.connection_id(), Some("connection-id-2"));
}

// ---- token_expiry_non_renewable_test.md ------------------------------------------

/// Options with only a token: no means to renew it (RSA4a).
fn token_only(token: &str) -> ClientOptions {
    ClientOptions {
        token: Some(token.into()),
        auto_connect: false,
        format: Format::Json,
        fallback_hosts: Some(Vec::new()),
        ..ClientOptions::default()
    }
}

/// realtime/unit/RSA4a1/non-renewable-token-logs-warning-0
#[test]
fn rsa4a1_non_renewable_token_logs_warning_0() {
    let h = Harness::new(token_only("non-renewable-token"));
    assert_eq!(h.client.state(), Initialized);
    let logs: Vec<_> = h
        .events
        .iter()
        .filter_map(|e| match e {
            ably_proto::client::Event::Log(record) => Some(record),
            _ => None,
        })
        .collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(logs[0].level, ably_proto::client::LogLevel::Info);
    let error = logs[0].error.as_ref().expect("the log carries the error");
    assert_eq!(error.code, 40171);
    assert_eq!(
        error.href.as_deref(),
        Some("https://help.ably.io/error/40171")
    );
    assert!(logs[0].message.contains("https://help.ably.io/error/40171"));
}

/// realtime/unit/RSA4a2/token-error-non-renewable-failed-0
#[test]
fn rsa4a2_token_error_non_renewable_failed_0() {
    let mut h = Harness::new(token_only("expired-token"));
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::ErrorAndClose(error_frame(40142, 401, "Token expired"))
    }));
    h.connect();
    h.await_state(Failed, WAIT);

    assert_eq!(h.client.state(), Failed);
    assert_eq!(reason_code(&h), Some(40171));
    let failed: Vec<_> = h
        .changes()
        .into_iter()
        .filter(|c| c.current == Failed)
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].reason.as_ref().map(|r| r.code), Some(40171));
}

/// realtime/unit/RSA4a2/token-error-non-renewable-no-retry-1
#[test]
fn rsa4a2_token_error_non_renewable_no_retry_1() {
    let mut h = Harness::new(token_only("non-renewable-token"));
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::ErrorAndClose(error_frame(40140, 401, "Token error"))
    }));
    h.connect();
    h.await_state(Failed, WAIT);
    // Nothing more happens, however long we wait.
    h.advance_ms(300_000);

    assert_eq!(h.transports.len(), 1, "no retry");
    assert_eq!(h.client.state(), Failed);
    assert_eq!(reason_code(&h), Some(40171));
}

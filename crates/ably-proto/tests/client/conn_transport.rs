//! Fallback hosts (RTN17), heartbeats and idle detection (RTN23), network
//! changes (RTN20) and server-initiated re-authentication (RTN22), ported
//! from `uts/realtime/unit/connection/{fallback_hosts,heartbeat,
//! network_change,server_initiated_reauth}_test.md`.

use std::time::Duration;

use ably_proto::auth::TokenDetails;
use ably_proto::client::{
    AuthResponse, Client, ClientOptions, ConnectionState, HttpResponse, Input, TokenSource,
    TransportEvent,
};
use ably_proto::codec::Format;
use ably_proto::{Action, ConnectionDetails, ErrorInfo, Message, ProtocolMessage};

use crate::harness::*;

use ConnectionState::*;

const SEC: Duration = Duration::from_secs(1);

/// A CONNECTED with these ids and intervals.
fn connected_msg(id: &str, key: &str, max_idle_ms: u64) -> ProtocolMessage {
    connected_with(
        id,
        key,
        ConnectionDetails {
            max_idle_interval: Some(max_idle_ms),
            connection_state_ttl: Some(120_000),
            ..ConnectionDetails::default()
        },
    )
}

/// The host of a WebSocket URL.
fn host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    match authority.rsplit_once(':') {
        Some((h, _)) => h.to_owned(),
        None => authority.to_owned(),
    }
}

/// The hosts of every connection attempt, in order.
fn hosts(h: &Harness) -> Vec<String> {
    h.transports.iter().map(|t| host(&t.url)).collect()
}

/// Transports the client closed (CLIENT_CLOSE events of the UTS mock).
fn client_closes(h: &Harness) -> usize {
    h.transports.iter().filter(|t| t.closed_by_client).count()
}

/// Options with the default fallback hosts (the spec's plain ClientOptions).
fn default_fallback_options() -> ClientOptions {
    ClientOptions {
        fallback_hosts: None,
        ..key_options()
    }
}

/// Answers the connectivity check (RTN17j) with "yes".
fn internet_up(h: &mut Harness) {
    h.on_http = Some(Box::new(|req| {
        req.url.contains("internet-up").then(|| {
            Ok(HttpResponse {
                status: 200,
                headers: vec![("content-type".into(), "text/plain".into())],
                body: b"yes".to_vec(),
            })
        })
    }));
}

// ---- RTN17: fallback hosts ---------------------------------------------------

/// realtime/unit/RTN17i/prefer-primary-domain-0
#[test]
fn rtn17i_prefer_primary_domain_0() {
    let mut h = Harness::new(default_fallback_options());
    internet_up(&mut h);
    h.on_attempt = Some(Box::new(|n, _| match n {
        1 => Attempt::Refused,
        2 => Attempt::Success(connected_msg("connection-id", "connection-key", 15_000)),
        _ => Attempt::Success(connected_msg("connection-id-2", "connection-key-2", 15_000)),
    }));
    h.connect();
    h.await_state(Connected, 10 * SEC);
    let primary = h.client.options().primary_host();
    assert_eq!(hosts(&h)[0], primary);
    assert_ne!(hosts(&h)[1], primary, "connected through a fallback");

    // The service drops the connection; the client reconnects at once (RTN15a).
    let before = h.transports.len();
    h.simulate_disconnect();
    h.await_state(Connected, 10 * SEC);

    assert!(h.states().contains(&Disconnected));
    let after: Vec<String> = hosts(&h)[before..].to_vec();
    assert!(!after.is_empty());
    assert_eq!(after[0], primary, "the primary domain is tried first again");
    assert!(after[0].contains("realtime.ably"), "{after:?}");
}

/// realtime/unit/RTN17f/fallback-on-error-0
#[test]
fn rtn17f_fallback_on_error_0() {
    let mut h = Harness::new(default_fallback_options());
    internet_up(&mut h);
    h.on_attempt = Some(Box::new(|n, _| match n {
        1 => Attempt::Pending,
        _ => Attempt::Success(connected_msg("connection-id", "connection-key", 15_000)),
    }));
    h.connect();
    // The primary host does not resolve.
    let generation = h.last().generation;
    h.input(Input::Transport(
        generation,
        TransportEvent::Closed(Some(ErrorInfo::new(80000, 503, "Host unresolvable"))),
    ));
    h.await_state(Connected, 10 * SEC);

    let hosts = hosts(&h);
    assert!(hosts.len() >= 2);
    assert!(hosts[0].contains("realtime.ably"), "{hosts:?}");
    assert!(hosts[1].contains("fallback"), "{hosts:?}");
}

/// realtime/unit/RTN17f1/disconnected-5xx-fallback-0
#[test]
fn rtn17f1_disconnected_5xx_fallback_0() {
    let mut h = Harness::new(default_fallback_options());
    internet_up(&mut h);
    h.on_attempt = Some(Box::new(|n, _| match n {
        1 => {
            let mut pm = ProtocolMessage::new(Action::Disconnected);
            pm.error = Some(ErrorInfo::new(
                50003,
                503,
                "Service temporarily unavailable",
            ));
            Attempt::ErrorAndClose(pm)
        }
        _ => Attempt::Success(connected_msg("connection-id", "connection-key", 15_000)),
    }));
    h.connect();
    h.await_state(Connected, 10 * SEC);

    let hosts = hosts(&h);
    assert!(hosts.len() >= 2);
    assert!(hosts[0].contains("realtime.ably"), "{hosts:?}");
    assert!(hosts[1].contains("fallback"), "{hosts:?}");
}

/// realtime/unit/RTN17j/connectivity-check-before-fallback-0
#[test]
fn rtn17j_connectivity_check_before_fallback_0() {
    let mut h = Harness::new(default_fallback_options());
    internet_up(&mut h);
    h.on_attempt = Some(Box::new(|n, _| match n {
        1 => Attempt::Timeout,
        _ => Attempt::Success(connected_msg("connection-id", "connection-key", 15_000)),
    }));
    h.connect();
    h.await_state(Connected, 15 * SEC);

    let checks: Vec<_> = h
        .http_requests
        .iter()
        .filter(|(_, r)| r.url.contains("internet-up"))
        .collect();
    assert!(!checks.is_empty());
    assert_eq!(checks[0].1.method, "GET");
    assert!(h.transports.len() >= 2);
}

/// realtime/unit/RTN17g/empty-fallback-set-error-0
#[test]
fn rtn17g_empty_fallback_set_error_0() {
    let mut h = Harness::new(ClientOptions {
        endpoint: "custom.example.com".into(), // realtimeHost: a host, so no fallbacks (REC2c2)
        ..default_fallback_options()
    });
    internet_up(&mut h);
    h.on_attempt = Some(Box::new(|_, _| Attempt::Refused));
    h.connect();
    assert!(
        matches!(h.client.state(), Disconnected | Failed),
        "{:?}",
        h.states()
    );
    h.advance_ms(2000);

    assert_eq!(hosts(&h), vec!["custom.example.com".to_owned()]);
    assert!(
        h.http_requests.is_empty(),
        "no connectivity check without fallbacks"
    );
}

/// realtime/unit/RTN17h/fallback-domains-from-rec2-0
#[test]
fn rtn17h_fallback_domains_from_rec2_0() {
    let mut h = Harness::new(default_fallback_options());
    internet_up(&mut h);
    h.on_attempt = Some(Box::new(|n, _| match n {
        1 => Attempt::Refused,
        _ => Attempt::Success(connected_msg("connection-id", "connection-key", 15_000)),
    }));
    h.connect();
    h.await_state(Connected, 10 * SEC);

    let hosts = hosts(&h);
    assert!(hosts.len() >= 2);
    let fallback = &hosts[1];
    assert!(
        fallback.contains("fallback.ably-realtime.com"),
        "{fallback}"
    );
    let letter = fallback
        .strip_suffix(".fallback.ably-realtime.com")
        .and_then(|p| p.rsplit_once('.'))
        .map(|(_, l)| l);
    assert!(
        matches!(letter, Some("a" | "b" | "c" | "d" | "e")),
        "{fallback}"
    );
}

/// realtime/unit/RTN17j/fallback-random-order-1
///
/// Five clients with different RNG seeds stand for five runs with
/// different randomness.
#[test]
fn rtn17j_fallback_random_order_1() {
    let mut orders = Vec::new();
    for iteration in 1..=5u8 {
        let mut h = Harness::new(default_fallback_options());
        h.client =
            Client::new(default_fallback_options(), [iteration; 32], h.now).expect("valid options");
        internet_up(&mut h);
        h.on_attempt = Some(Box::new(|n, _| match n {
            1..=3 => Attempt::Refused,
            _ => Attempt::Success(connected_msg("connection-id", "connection-key", 15_000)),
        }));
        h.connect();
        h.await_state(Connected, 15 * SEC);
        orders.push(hosts(&h)[1..].to_vec());
        h.close();
    }
    orders.sort();
    orders.dedup();
    assert!(orders.len() >= 2, "{orders:?}");
}

// realtime/unit/RTN17e/http-uses-same-fallback-0: excused, REST (history).

// ---- RTN23a: HEARTBEAT protocol messages --------------------------------------

/// Options of the RTN23 tests; `pings` says whether the transport reports
/// WebSocket pings (RTN23b) or not (RTN23a).
fn heartbeat_options(request_timeout_ms: u64, pings: bool) -> ClientOptions {
    ClientOptions {
        realtime_request_timeout: Duration::from_millis(request_timeout_ms),
        disconnected_retry_timeout: Duration::from_millis(500),
        transport_reports_pings: pings,
        ..key_options()
    }
}

/// Every attempt n succeeds with connection-id-n and connection-key-n.
fn numbered(opts: ClientOptions, max_idle_ms: u64) -> Harness {
    let mut h = Harness::new(opts);
    h.on_attempt = Some(Box::new(move |n, _| {
        Attempt::Success(connected_msg(
            &format!("connection-id-{n}"),
            &format!("connection-key-{n}"),
            max_idle_ms,
        ))
    }));
    h
}

fn message_frame(channel: &str) -> ProtocolMessage {
    let mut pm = ProtocolMessage::for_channel(Action::Message, channel);
    pm.messages = vec![Message::new("event", "data")];
    pm
}

const CYCLE: [ConnectionState; 5] = [Connecting, Connected, Disconnected, Connecting, Connected];

/// The checks shared by the idle-timeout tests: the full cycle, two
/// attempts, the new connection, the first transport closed by the client.
fn assert_idle_reconnect(h: &Harness) {
    assert!(contains_in_order(&h.states(), &CYCLE), "{:?}", h.states());
    assert_eq!(h.transports.len(), 2);
    assert_eq!(h.client.state(), Connected);
    assert_eq!(h.client.connection_id(), Some("connection-id-2"));
    assert_eq!(client_closes(h), 1);
    assert!(h.transports[0].closed_by_client);
}

/// realtime/unit/RTN23a/heartbeats-true-query-param-0
#[test]
fn rtn23a_heartbeats_true_query_param_0() {
    let mut h = numbered(key_options(), 15_000);
    h.connect();
    h.await_state(Connected, SEC);
    assert_eq!(h.transports[0].param("heartbeats").as_deref(), Some("true"));
}

/// realtime/unit/RTN23a/idle-timeout-reconnect-1
#[test]
fn rtn23a_idle_timeout_reconnect_1() {
    let mut h = numbered(heartbeat_options(2000, false), 5000);
    h.connect();
    h.await_state(Connected, SEC);
    assert_eq!(h.transports.len(), 1);

    h.advance_ms(7100);
    h.await_state(Connected, 5 * SEC);
    assert_idle_reconnect(&h);
}

/// realtime/unit/RTN23a/heartbeat-resets-timer-2
#[test]
fn rtn23a_heartbeat_resets_timer_2() {
    let mut h = numbered(heartbeat_options(1000, false), 3000);
    h.connect();
    h.await_state(Connected, SEC);
    assert_eq!(h.transports.len(), 1);

    h.advance_ms(2000);
    h.send_to_client(ProtocolMessage::new(Action::Heartbeat));
    h.advance_ms(2000);
    assert_eq!(h.client.state(), Connected);
    assert_eq!(h.transports.len(), 1);

    h.advance_ms(2100);
    h.await_state(Connected, 5 * SEC);
    assert_eq!(h.transports.len(), 2);
    assert_eq!(client_closes(&h), 1);
}

/// realtime/unit/RTN23a/any-message-resets-timer-3
#[test]
fn rtn23a_any_message_resets_timer_3() {
    let mut h = numbered(heartbeat_options(1000, false), 2000);
    h.connect();
    h.await_state(Connected, SEC);

    h.advance_ms(1500);
    let mut ack = ProtocolMessage::new(Action::Ack);
    ack.msg_serial = Some(0);
    h.send_to_client(ack);
    h.advance_ms(1500);
    assert_eq!(h.client.state(), Connected);

    h.send_to_client(message_frame("test-RTN23a-message"));
    h.advance_ms(1500);
    assert_eq!(h.transports.len(), 1);

    h.advance_ms(3100);
    h.await_state(Connected, 5 * SEC);
    assert!(contains_in_order(&h.states(), &CYCLE), "{:?}", h.states());
    assert_eq!(h.transports.len(), 2);
    assert_eq!(client_closes(&h), 1);
}

/// realtime/unit/RTN23a/timeout-triggers-reconnect-4
#[test]
fn rtn23a_timeout_triggers_reconnect_4() {
    let mut h = numbered(heartbeat_options(1000, false), 2000);
    h.connect();
    h.await_state(Connected, SEC);
    assert_eq!(h.transports.len(), 1);

    h.advance_ms(3100);
    h.await_state(Connected, 5 * SEC);
    assert_idle_reconnect(&h);
}

/// realtime/unit/RTN23a/reconnect-uses-resume-5
#[test]
fn rtn23a_reconnect_uses_resume_5() {
    let mut h = numbered(heartbeat_options(1000, false), 2000);
    h.connect();
    h.await_state(Connected, SEC);

    h.advance_ms(3100);
    h.await_state(Connected, 5 * SEC);

    assert!(contains_in_order(&h.states(), &CYCLE), "{:?}", h.states());
    assert_eq!(h.transports.len(), 2);
    assert_eq!(h.transports[0].param("resume"), None);
    assert_eq!(
        h.transports[1].param("resume").as_deref(),
        Some("connection-key-1")
    );
}

// ---- RTN23b: WebSocket ping frames ----------------------------------------------

/// realtime/unit/RTN23b/heartbeats-false-query-param-0
#[test]
fn rtn23b_heartbeats_false_query_param_0() {
    let mut h = numbered(
        ClientOptions {
            transport_reports_pings: true,
            ..key_options()
        },
        15_000,
    );
    h.connect();
    h.await_state(Connected, SEC);
    let heartbeats = h.transports[0].param("heartbeats");
    assert!(
        matches!(heartbeats.as_deref(), None | Some("false")),
        "{heartbeats:?}"
    );
}

/// realtime/unit/RTN23b/idle-timeout-reconnect-1
#[test]
fn rtn23b_idle_timeout_reconnect_1() {
    let mut h = numbered(heartbeat_options(2000, true), 5000);
    h.connect();
    h.await_state(Connected, SEC);
    assert_eq!(h.transports.len(), 1);

    h.advance_ms(7100);
    h.await_state(Connected, 5 * SEC);
    assert_idle_reconnect(&h);
}

/// realtime/unit/RTN23b/ping-frame-resets-timer-2
#[test]
fn rtn23b_ping_frame_resets_timer_2() {
    let mut h = numbered(heartbeat_options(1000, true), 3000);
    h.connect();
    h.await_state(Connected, SEC);
    assert_eq!(h.transports.len(), 1);

    h.advance_ms(2000);
    h.send_ping_frame();
    h.advance_ms(2000);
    assert_eq!(h.client.state(), Connected);
    assert_eq!(h.transports.len(), 1);

    h.advance_ms(2100);
    h.await_state(Connected, 5 * SEC);
    assert_eq!(h.transports.len(), 2);
    assert_eq!(client_closes(&h), 1);
}

/// realtime/unit/RTN23b/any-message-resets-timer-3
#[test]
fn rtn23b_any_message_resets_timer_3() {
    let mut h = numbered(heartbeat_options(1000, true), 2000);
    h.connect();
    h.await_state(Connected, SEC);

    h.advance_ms(1500);
    h.send_ping_frame();
    h.advance_ms(1500);
    assert_eq!(h.client.state(), Connected);

    h.send_to_client(message_frame("test-RTN23b-message"));
    h.advance_ms(1500);
    assert_eq!(h.client.state(), Connected);

    h.send_ping_frame();
    h.advance_ms(1500);
    assert_eq!(h.transports.len(), 1);

    h.advance_ms(1600);
    h.await_state(Connected, 5 * SEC);
    assert!(contains_in_order(&h.states(), &CYCLE), "{:?}", h.states());
    assert_eq!(h.transports.len(), 2);
    assert_eq!(client_closes(&h), 1);
}

/// realtime/unit/RTN23b/timeout-triggers-reconnect-4
#[test]
fn rtn23b_timeout_triggers_reconnect_4() {
    let mut h = numbered(heartbeat_options(1000, true), 2000);
    h.connect();
    h.await_state(Connected, SEC);
    assert_eq!(h.transports.len(), 1);

    h.advance_ms(3100);
    h.await_state(Connected, 5 * SEC);
    assert_idle_reconnect(&h);
}

/// realtime/unit/RTN23b/reconnect-uses-resume-5
#[test]
fn rtn23b_reconnect_uses_resume_5() {
    let mut h = numbered(heartbeat_options(1000, true), 2000);
    h.connect();
    h.await_state(Connected, SEC);

    h.advance_ms(3100);
    h.await_state(Connected, 5 * SEC);

    assert!(contains_in_order(&h.states(), &CYCLE), "{:?}", h.states());
    assert_eq!(h.transports.len(), 2);
    assert_eq!(h.transports[0].param("resume"), None);
    assert_eq!(
        h.transports[1].param("resume").as_deref(),
        Some("connection-key-1")
    );
}

/// realtime/unit/RTN23b/multiple-pings-keep-alive-6
#[test]
fn rtn23b_multiple_pings_keep_alive_6() {
    let mut h = numbered(
        ClientOptions {
            realtime_request_timeout: Duration::from_millis(1000),
            transport_reports_pings: true,
            ..key_options()
        },
        2000,
    );
    h.connect();
    h.await_state(Connected, SEC);
    for _ in 1..=7 {
        h.advance_ms(1500);
        h.send_ping_frame();
        assert_eq!(h.client.state(), Connected);
    }
    assert_eq!(h.client.state(), Connected);
    assert_eq!(h.transports.len(), 1);
}

// ---- RTN20: network changes -------------------------------------------------------
//
// The core has no input for the operating system's connectivity events.
// These tests are written against the input it needs,
// `Input::NetworkChanged { online: bool }`:
// - online: false when CONNECTED or CONNECTING: close the transport and
//   enter DISCONNECTED with a reason (e.g. 80003 "network unavailable"),
//   which reconnects as RTN15 says (RTN20a);
// - online: true when DISCONNECTED or SUSPENDED: cancel the retry timer
//   and start connecting now (RTN20b);
// - online: true when CONNECTING: abandon the pending transport and open a
//   new one (RTN20c);
// - otherwise nothing.

/// The OS reports a connectivity change (`MockNetworkListener`).
fn network_changed(h: &mut Harness, online: bool) {
    h.input(ably_proto::client::Input::NetworkChanged { online });
}

/// realtime/unit/RTN20a/network-loss-connected-disconnects-0
#[test]
fn rtn20a_network_loss_connected_disconnects_0() {
    let mut h = numbered(
        ClientOptions {
            format: Format::Json,
            ..key_options()
        },
        15_000,
    );
    h.connect();
    h.await_state(Connected, SEC);
    assert_eq!(h.transports.len(), 1);

    network_changed(&mut h, false);
    h.await_state(Connected, 10 * SEC);

    assert!(contains_in_order(&h.states(), &CYCLE), "{:?}", h.states());
    let disconnected = h
        .changes()
        .into_iter()
        .find(|c| c.current == Disconnected)
        .cloned()
        .expect("DISCONNECTED");
    assert!(disconnected.reason.is_some());
    assert_eq!(h.transports.len(), 2);
}

/// realtime/unit/RTN20a/network-loss-connecting-disconnects-1
#[test]
fn rtn20a_network_loss_connecting_disconnects_1() {
    let mut h = Harness::new(ClientOptions {
        format: Format::Json,
        ..key_options()
    });
    h.on_attempt = Some(Box::new(|n, _| match n {
        1 => Attempt::Pending,
        _ => Attempt::Success(connected_msg("connection-id", "connection-key", 15_000)),
    }));
    h.connect();
    assert_eq!(h.client.state(), Connecting);

    network_changed(&mut h, false);
    h.await_state(Connected, 10 * SEC);

    assert!(
        contains_in_order(
            &h.states(),
            &[Connecting, Disconnected, Connecting, Connected]
        ),
        "{:?}",
        h.states()
    );
    assert!(h.transports.len() >= 2);
}

/// realtime/unit/RTN20b/network-available-disconnected-connects-0
#[test]
fn rtn20b_network_available_disconnected_connects_0() {
    let mut h = Harness::new(ClientOptions {
        disconnected_retry_timeout: Duration::from_secs(30),
        format: Format::Json,
        ..key_options()
    });
    h.on_attempt = Some(Box::new(|n, _| match n {
        1 => Attempt::Success(connected_msg("connection-id-1", "connection-key-1", 15_000)),
        2 => Attempt::Refused,
        _ => Attempt::Success(connected_msg("connection-id-2", "connection-key-2", 15_000)),
    }));
    h.connect();
    h.await_state(Connected, SEC);
    h.simulate_disconnect();
    assert_eq!(h.client.state(), Disconnected);
    let attempts_before = h.transports.len();

    // No time passes: only the network event can start the attempt.
    network_changed(&mut h, true);
    assert_eq!(h.client.state(), Connected);

    assert!(contains_in_order(&h.states(), &CYCLE), "{:?}", h.states());
    assert!(h.transports.len() > attempts_before);
}

/// realtime/unit/RTN20c/network-available-connecting-restarts-0
#[test]
fn rtn20c_network_available_connecting_restarts_0() {
    let mut h = Harness::new(ClientOptions {
        format: Format::Json,
        ..key_options()
    });
    h.on_attempt = Some(Box::new(|n, _| match n {
        1 => Attempt::Pending,
        _ => Attempt::Success(connected_msg("connection-id", "connection-key", 15_000)),
    }));
    h.connect();
    assert_eq!(h.client.state(), Connecting);
    assert_eq!(h.transports.len(), 1);

    network_changed(&mut h, true);
    h.await_state(Connected, 10 * SEC);

    assert!(h.transports.len() >= 2);
    assert!(
        h.transports[0].closed_by_client,
        "the pending attempt was abandoned"
    );
    assert_eq!(h.client.state(), Connected);
}

// ---- RTN22: server-initiated re-authentication ------------------------------------

/// Options with only an authCallback, as these specs use.
fn callback_options() -> ClientOptions {
    ClientOptions {
        key: None,
        token_source: TokenSource::Callback,
        ..key_options()
    }
}

/// An authCallback answering `prefix-n` tokens valid for an hour.
fn callback_tokens(h: &mut Harness, prefix: &'static str) {
    h.on_token = Some(Box::new(move |n, _| {
        Some(Ok(AuthResponse::Details(TokenDetails {
            token: format!("{prefix}-{n}"),
            expires: Some(START_WALL_MS + 3_600_000),
            ..TokenDetails::default()
        })))
    }));
}

/// Answers AUTH from the client with a CONNECTED (RTC8a1).
fn answer_auth(h: &mut Harness, id: &'static str, key: &'static str) {
    h.on_message = Some(Box::new(move |pm| {
        if pm.action == Action::Auth {
            vec![Reply::Send(connected_msg(id, key, 15_000))]
        } else {
            vec![]
        }
    }));
}

/// realtime/unit/RTN22/server-auth-triggers-reauth-0
#[test]
fn rtn22_server_auth_triggers_reauth_0() {
    let mut h = Harness::new(callback_options());
    callback_tokens(&mut h, "token");
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::Success(connected_msg("connection-id", "connection-key", 15_000))
    }));
    h.connect();
    h.await_state(Connected, SEC);

    let mark = h.events.len();
    answer_auth(&mut h, "connection-id", "connection-key-2");
    h.send_to_client(ProtocolMessage::new(Action::Auth));
    let ok = h.run_until(5 * SEC, |h| {
        connection_changes_since(h, mark).iter().any(|c| c.update)
    });
    assert!(ok, "an UPDATE");

    assert_eq!(h.token_requests.len(), 2);
    let auths = h.sent_with(Action::Auth);
    assert_eq!(auths.len(), 1);
    assert_eq!(
        auths[0].auth.as_ref().expect("auth").access_token,
        "token-2"
    );
    let changes = connection_changes_since(&h, mark);
    assert!(
        changes.iter().all(|c| c.current == Connected),
        "{changes:?}"
    );
    assert_eq!(changes.iter().filter(|c| c.update).count(), 1);
}

/// realtime/unit/RTN22/stays-connected-during-reauth-1
#[test]
fn rtn22_stays_connected_during_reauth_1() {
    let mut h = Harness::new(callback_options());
    callback_tokens(&mut h, "reauth-token");
    answer_auth(&mut h, "conn-1", "key-1-updated");
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::Success(connected_msg("conn-1", "key-1", 15_000))
    }));
    h.connect();
    h.await_state(Connected, SEC);

    let mark = h.events.len();
    h.send_to_client(ProtocolMessage::new(Action::Auth));
    let ok = h.run_until(5 * SEC, |h| !connection_changes_since(h, mark).is_empty());
    assert!(ok, "a connection event");

    assert_eq!(h.client.state(), Connected);
    let changes = connection_changes_since(&h, mark);
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert!(changes[0].update);
    assert_eq!(changes[0].current, Connected);
    assert_eq!(changes[0].previous, Connected);
}

/// realtime/unit/RTN22a/forced-disconnect-reauth-failure-0
///
/// The harness answers at once, so the client is back to CONNECTED when
/// the test looks: the recorded changes show the DISCONNECTED (RTN15h2i).
#[test]
fn rtn22a_forced_disconnect_reauth_failure_0() {
    let mut h = Harness::new(callback_options());
    callback_tokens(&mut h, "recovery-token");
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::Success(connected_msg("conn-1", "key-1", 15_000))
    }));
    h.connect();
    h.await_state(Connected, SEC);

    let mark = h.events.len();
    let mut pm = ProtocolMessage::new(Action::Disconnected);
    pm.error = Some(ErrorInfo::new(40142, 401, "Token expired"));
    h.send_to_client(pm);

    let changes = connection_changes_since(&h, mark);
    let disconnected = changes
        .iter()
        .find(|c| c.current == Disconnected && !c.update)
        .expect("DISCONNECTED");
    assert_eq!(disconnected.reason.as_ref().expect("reason").code, 40142);
    // RTN15h2: a new token, then a resume attempt with it.
    assert_eq!(h.token_requests.len(), 2);
    assert_eq!(h.transports.len(), 2);
    assert_eq!(h.transports[1].param("resume").as_deref(), Some("key-1"));
    // The new token is in the URL (RTN2e), whatever the param's spelling.
    let token = h.transports[1]
        .param("accessToken")
        .or_else(|| h.transports[1].param("access_token"));
    assert_eq!(token.as_deref(), Some("recovery-token-2"));
}

//! The realtime client's options and top-level operations (RTC1, RTC2,
//! RTC7, RTC12, RTC15, RTC16, RTC17). Ported from `uts/realtime/unit/client/`.

use std::collections::BTreeMap;
use std::time::Duration;

use ably_proto::client::{
    Client, ClientOptions, ConnectionState, HttpResponse, Instant, Now, RecoveryKey,
};
use ably_proto::{Action, ConnectionDetails, ProtocolMessage};

use crate::harness::*;

use ConnectionState::*;

const WAIT: Duration = Duration::from_secs(5);

/// Key options with the library's default `autoConnect: true`.
fn auto_connect_options() -> ClientOptions {
    ClientOptions {
        auto_connect: true,
        ..key_options()
    }
}

/// The CONNECTED_MESSAGE of the mock.
fn connected_message() -> Attempt {
    Attempt::Success(connected("connection-id", "connection-key"))
}

// ---- RTC12: constructor ---------------------------------------------------------

/// realtime/unit/RTC12/invalid-arguments-error-1
#[test]
fn rtc12_invalid_arguments_error_1() {
    // No key, no token and no means to obtain one.
    let opts = ClientOptions {
        auto_connect: false,
        ..ClientOptions::default()
    };
    let err = Client::new(
        opts,
        [0; 32],
        Now::new(Instant::from_millis(0), START_WALL_MS),
    )
    .expect_err("no credentials must be refused");
    assert_eq!(err.code, 40106);
    assert!(!err.message.is_empty());
}

// ---- RTC2, RTC17: attributes ---------------------------------------------------------

/// realtime/unit/RTC2/connection-attribute-0
#[test]
fn rtc2_connection_attribute_0() {
    let h = Harness::new(key_options());
    assert_eq!(h.client.state(), Initialized);
    assert!(h.changes().is_empty());
}

/// realtime/unit/RTC17/client-id-attribute-0
#[test]
fn rtc17_client_id_attribute_0() {
    let mut opts = key_options();
    opts.client_id = Some("explicit-client-id".into());
    let h = Harness::new(opts);
    // `Client::client_id` is both `client.clientId` and `client.auth.clientId`.
    assert_eq!(h.client.client_id(), Some("explicit-client-id"));
}

// ---- RTC1: options ------------------------------------------------------------------

/// realtime/unit/RTC1a/echo-messages-option-0
#[test]
fn rtc1a_echo_messages_option_0() {
    // RTC1a_1: true by default.
    let h = Harness::new(auto_connect_options());
    assert_eq!(h.transports.len(), 1, "a connection attempt");
    assert_eq!(h.transports[0].param("echo").as_deref(), Some("true"));

    // RTC1a_2: false when configured so.
    let mut opts = auto_connect_options();
    opts.echo_messages = false;
    let h = Harness::new(opts);
    assert_eq!(h.transports[0].param("echo").as_deref(), Some("false"));
}

/// realtime/unit/RTC1b/auto-connect-option-0
#[test]
fn rtc1b_auto_connect_option_0() {
    // RTC1b_1: connects as soon as it is created.
    let mut h = Harness::new(auto_connect_options());
    assert!(matches!(h.client.state(), Connecting | Connected));
    h.respond(connected_message());
    h.await_state(Connected, WAIT);
    assert!(!h.transports.is_empty());

    // RTC1b_2: with autoConnect false, nothing happens until connect().
    let mut h = Harness::new(key_options());
    assert_eq!(h.client.state(), Initialized);
    assert!(h.transports.is_empty());
    h.advance_ms(60_000);
    assert_eq!(h.client.state(), Initialized);
    assert!(h.transports.is_empty());

    // RTC1b_3: an explicit connect() then connects once.
    let mut h = Harness::new(key_options());
    h.on_attempt = Some(Box::new(|_, _| connected_message()));
    assert_eq!(h.client.state(), Initialized);
    h.connect();
    assert_eq!(h.states()[0], Connecting);
    h.await_state(Connected, WAIT);
    assert_eq!(h.transports.len(), 1);
}

/// realtime/unit/RTC1c/recover-option-0
#[test]
fn rtc1c_recover_option_0() {
    // RTC1c_1: the connection key of the recovery key goes in `recover`.
    let mut opts = auto_connect_options();
    opts.recover = Some(
        RecoveryKey {
            connection_key: "previous-connection-key".into(),
            msg_serial: 5,
            channel_serials: BTreeMap::from([("channel1".to_owned(), "serial1".to_owned())]),
        }
        .encode(),
    );
    let h = Harness::new(opts);
    assert_eq!(
        h.transports[0].param("recover").as_deref(),
        Some("previous-connection-key")
    );

    // RTC1c_2: only the first connection recovers (RTN16k).
    let mut opts = auto_connect_options();
    opts.recover = Some(
        RecoveryKey {
            connection_key: "previous-connection-key".into(),
            msg_serial: 5,
            channel_serials: BTreeMap::new(),
        }
        .encode(),
    );
    let mut h = Harness::new(opts);
    h.on_attempt = Some(Box::new(|_, _| connected_message()));
    h.respond(connected_message());
    h.await_state(Connected, WAIT);
    h.simulate_disconnect();
    assert!(h.states().contains(&Disconnected));
    h.await_state(Connected, WAIT);
    assert_eq!(h.transports.len(), 2);
    assert_eq!(h.transports[1].param("recover"), None);

    // RTC1c_3: an unreadable recovery key is ignored.
    let mut opts = auto_connect_options();
    opts.recover = Some("invalid-not-a-valid-recovery-key".into());
    let h = Harness::new(opts);
    assert_eq!(h.transports.len(), 1, "the connection proceeds");
    assert_eq!(h.transports[0].param("recover"), None);
}

/// realtime/unit/RTC1f/transport-params-option-0
#[test]
fn rtc1f_transport_params_option_0() {
    let with_params = |params: &[(&str, &str)]| {
        let mut opts = auto_connect_options();
        opts.transport_params = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Harness::new(opts)
    };

    // RTC1f_1
    let h = with_params(&[("customParam", "customValue"), ("anotherParam", "123")]);
    assert_eq!(
        h.transports[0].param("customParam").as_deref(),
        Some("customValue")
    );
    assert_eq!(
        h.transports[0].param("anotherParam").as_deref(),
        Some("123")
    );

    // RTC1f_2: transportParams is a map of strings here, so numbers and
    // booleans arrive already stringified (RTC1f allows String).
    let h = with_params(&[
        ("stringParam", "hello"),
        ("numberParam", &42.to_string()),
        ("boolTrueParam", &true.to_string()),
        ("boolFalseParam", &false.to_string()),
    ]);
    let t = &h.transports[0];
    assert_eq!(t.param("stringParam").as_deref(), Some("hello"));
    assert_eq!(t.param("numberParam").as_deref(), Some("42"));
    assert_eq!(t.param("boolTrueParam").as_deref(), Some("true"));
    assert_eq!(t.param("boolFalseParam").as_deref(), Some("false"));

    // RTC1f1: they win over the library's defaults.
    let h = with_params(&[("v", "3"), ("heartbeats", "false")]);
    assert_eq!(h.transports[0].param("v").as_deref(), Some("3"));
    assert_eq!(
        h.transports[0].param("heartbeats").as_deref(),
        Some("false")
    );
}

// ---- RTC15, RTC16: connect() and close() ----------------------------------------------

/// realtime/unit/RTC15/connect-method-0
#[test]
fn rtc15_connect_method_0() {
    let mut h = Harness::new(key_options());
    h.on_attempt = Some(Box::new(|_, _| connected_message()));
    assert_eq!(h.client.state(), Initialized);
    h.connect();
    assert_eq!(h.states()[0], Connecting);
    h.await_state(Connected, WAIT);
    assert_eq!(h.states(), vec![Connecting, Connected]);
}

/// realtime/unit/RTC16/close-method-0
#[test]
fn rtc16_close_method_0() {
    let mut h = Harness::new(auto_connect_options());
    h.respond(connected_message());
    h.await_state(Connected, WAIT);
    h.on_message = Some(Box::new(|pm| {
        if pm.action == Action::Close {
            vec![Reply::Send(ProtocolMessage::new(Action::Closed))]
        } else {
            vec![]
        }
    }));

    h.close();
    h.await_state(Closed, WAIT);

    assert_eq!(h.sent_with(Action::Close).len(), 1);
    assert_eq!(h.states(), vec![Connecting, Connected, Closing, Closed]);
}

// ---- RTC7: timeouts (realtime_timeouts.md) -------------------------------------------------

/// realtime/unit/RTC7/disconnected-retry-timeout-2
#[test]
fn rtc7_disconnected_retry_timeout_2() {
    let mut opts = key_options();
    opts.disconnected_retry_timeout = Duration::from_millis(2000);
    opts.fallback_hosts = Some(Vec::new());
    let mut h = Harness::new(opts);
    h.on_attempt = Some(Box::new(|n, _| {
        if n == 1 {
            Attempt::Success(connected_with(
                "connection-id",
                "connection-key",
                ConnectionDetails {
                    max_idle_interval: Some(0),
                    connection_state_ttl: Some(120_000),
                    ..ConnectionDetails::default()
                },
            ))
        } else {
            Attempt::Refused
        }
    }));
    h.on_http = Some(Box::new(|_| {
        Some(Ok(HttpResponse {
            status: 200,
            headers: Vec::new(),
            body: b"yes".to_vec(),
        }))
    }));
    h.connect();
    h.await_state(Connected, WAIT);
    assert_eq!(h.transports.len(), 1);

    // RTN15a: one immediate retry, which fails; then disconnectedRetryTimeout.
    h.simulate_disconnect();
    h.await_state(Disconnected, WAIT);
    let count_after_immediate = h.transports.len();
    assert_eq!(count_after_immediate, 2);

    h.advance_ms(1500);
    assert_eq!(
        h.transports.len(),
        count_after_immediate,
        "no retry before the timeout"
    );
    h.advance_ms(1500);
    assert!(
        h.transports.len() > count_after_immediate,
        "a retry after 2 s (with jitter)"
    );
}

/// realtime/unit/RTC7/default-timeouts-applied-3
#[test]
fn rtc7_default_timeouts_applied_3() {
    let opts = ClientOptions::with_key("appId.keyId:keySecret");
    let h = Harness::new(ClientOptions {
        auto_connect: false,
        ..opts
    });
    let o = h.client.options();
    assert_eq!(o.realtime_request_timeout, Duration::from_millis(10_000));
    assert_eq!(o.disconnected_retry_timeout, Duration::from_millis(15_000));
    assert_eq!(o.suspended_retry_timeout, Duration::from_millis(30_000));
    assert_eq!(o.http_open_timeout, Duration::from_millis(4_000));
    assert_eq!(o.http_request_timeout, Duration::from_millis(10_000));
}

/// realtime/unit/RTC7/attach-request-timeout-0
#[test]
fn rtc7_attach_request_timeout_0() {
    use ably_proto::client::ChannelState;
    let name = "test-RTC7-attach";
    let mut opts = key_options();
    opts.realtime_request_timeout = Duration::from_millis(500);
    let mut h = Harness::new(opts);
    h.on_attempt = Some(Box::new(|_, _| connected_message()));
    h.connect();
    h.await_state(Connected, WAIT);

    // The service ignores ATTACH.
    let op = h.attach(name);
    h.advance_ms(400);
    assert_eq!(h.completion(op), None, "still waiting before 500 ms");
    h.advance_ms(200);
    match h.completion(op) {
        Some(Err(err)) => assert_ne!(err.code, 0),
        other => panic!("attach should have failed: {other:?}"),
    }
    // RTL4f: an attach timeout leaves the channel SUSPENDED.
    assert_eq!(h.channel_state(name), ChannelState::Suspended);
}

/// realtime/unit/RTC7/detach-request-timeout-1
#[test]
fn rtc7_detach_request_timeout_1() {
    use ably_proto::client::{ChannelState, Completion};
    let name = "test-RTC7-detach";
    let mut opts = key_options();
    opts.realtime_request_timeout = Duration::from_millis(500);
    let mut h = Harness::new(opts);
    h.on_attempt = Some(Box::new(|_, _| connected_message()));
    // ATTACH is answered; DETACH is ignored.
    h.on_message = Some(Box::new(|pm| match pm.action {
        Action::Attach => vec![Reply::Send(attached("test-RTC7-detach"))],
        _ => vec![],
    }));
    h.connect();
    h.await_state(Connected, WAIT);
    let attach = h.attach(name);
    assert_eq!(h.completion(attach), Some(Ok(Completion::Done)));

    let op = h.detach(name);
    h.advance_ms(400);
    assert_eq!(h.completion(op), None, "still waiting before 500 ms");
    h.advance_ms(200);
    match h.completion(op) {
        Some(Err(err)) => assert_ne!(err.code, 0),
        other => panic!("detach should have failed: {other:?}"),
    }
    // RTL5f: a detach timeout returns the channel to ATTACHED.
    assert_eq!(h.channel_state(name), ChannelState::Attached);
}

/// realtime/unit/RTC3/channels-attribute-0
#[test]
fn rtc3_channels_attribute_0() {
    use ably_proto::client::{ChannelState, Command, Completion};
    let name = "test-RTC3-channel";
    let mut h = Harness::new(key_options());
    assert_eq!(h.client.state(), Initialized);
    assert_eq!(h.client.channel_names().count(), 0);
    // channels.get(name)
    let op = h.command(Command::GetChannel {
        channel: name.into(),
        options: None,
    });
    assert_eq!(h.completion(op), Some(Ok(Completion::Done)));
    let channel = h.client.channel(name).expect("a channel");
    assert_eq!(channel.name(), name);
    assert_eq!(channel.state(), ChannelState::Initialized);
    assert_eq!(h.client.channel_names().collect::<Vec<_>>(), [name]);
}

//! Publishing: one frame per publish (RTL6i), when it is sent, queued or
//! refused (RTL6c), the PublishResult from the ACK (RTL6j), failing what
//! awaits an ACK (RTN7d, RTN7e) and resending it on a new transport
//! (RTN19). Ported from `uts/realtime/unit/channels/channel_publish.md`.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use ably_proto::client::{ChannelState, Completion, ConnectionState};
use ably_proto::codec::Format;
use ably_proto::{Action, ConnectionDetails, Data, ErrorInfo, Message, ProtocolMessage};
use serde_json::json;

use crate::chan_publish_util::*;
use crate::harness::*;

use ConnectionState::*;

/// A service that answers ATTACH, and CLOSE with CLOSED; MESSAGE frames
/// are recorded and never acknowledged.
fn no_ack_service() -> MessageHandler {
    Box::new(|pm| match pm.action {
        Action::Attach => vec![Reply::Send(attached(
            pm.channel.as_deref().unwrap_or_default(),
        ))],
        Action::Close => vec![Reply::Send(ProtocolMessage::new(Action::Closed))],
        _ => vec![],
    })
}

/// A CONNECTED frame without a connectionStateTtl, so the client's own
/// option applies.
fn connected_no_ttl(id: &str, key: &str) -> ProtocolMessage {
    connected_with(
        id,
        key,
        ConnectionDetails {
            max_idle_interval: Some(15_000),
            ..ConnectionDetails::default()
        },
    )
}

/// Advances time in steps of 2 s, at most 15 times, until the connection
/// is suspended, as the UTS loop does.
fn advance_until_suspended(h: &mut Harness) {
    for _ in 0..15 {
        h.advance_ms(2000);
        if h.client.state() == Suspended {
            break;
        }
    }
    assert_eq!(h.client.state(), Suspended, "states: {:?}", h.states());
}

/// A counter of connection attempts shared with the service's handlers.
fn attempt_counter() -> Rc<Cell<usize>> {
    Rc::new(Cell::new(0))
}

/// realtime/unit/RTL6i1/publish-name-and-data-0
#[test]
fn rtl6i1_publish_name_and_data_0() {
    let ch = "test-RTL6i1";
    let mut h = connected_harness(attach_only());
    attach_ok(&mut h, ch);
    publish_one(&mut h, ch, "greeting", "hello");

    let frames = h.sent_with(Action::Message);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].action, Action::Message);
    assert_eq!(frames[0].channel.as_deref(), Some(ch));
    assert_eq!(frames[0].messages.len(), 1);
    assert_eq!(frames[0].messages[0].name.as_deref(), Some("greeting"));
    assert_eq!(frames[0].messages[0].data, Data::from("hello"));
}

/// realtime/unit/RTL6i2/publish-message-array-0
#[test]
fn rtl6i2_publish_message_array_0() {
    let ch = "test-RTL6i2";
    let mut h = connected_harness(attach_only());
    attach_ok(&mut h, ch);
    publish(
        &mut h,
        ch,
        vec![
            Message::new("event1", "data1"),
            Message::new("event2", "data2"),
            Message::new("event3", "data3"),
        ],
    );

    let frames = h.sent_with(Action::Message);
    assert_eq!(frames.len(), 1, "a single ProtocolMessage");
    let names: Vec<_> = frames[0]
        .messages
        .iter()
        .map(|m| m.name.as_deref())
        .collect();
    assert_eq!(names, [Some("event1"), Some("event2"), Some("event3")]);
}

/// The three publishes of the RTL6i3 tests: name only, data only, neither.
fn null_field_messages() -> [Message; 3] {
    [
        Message {
            name: Some("click".into()),
            ..Message::default()
        },
        Message {
            data: Data::from("payload"),
            ..Message::default()
        },
        Message::default(),
    ]
}

/// Connects and attaches with this format, then publishes the RTL6i3
/// messages; returns the raw frames of the three publishes.
fn publish_null_fields(format: Format) -> Vec<ably_proto::client::Frame> {
    let ch = "test-RTL6i3";
    let mut opts = key_options();
    opts.format = format;
    let mut h = Harness::connecting_ok(opts);
    h.on_message = Some(attach_only());
    h.connect();
    h.await_state(Connected, SEC);
    attach_ok(&mut h, ch);
    let mut frames = Vec::new();
    for (i, message) in null_field_messages().into_iter().enumerate() {
        let sent = publish_raw(&mut h, 1000 + i as u64, ch, vec![message]);
        assert_eq!(sent.len(), 1, "one frame per publish");
        frames.extend(sent);
    }
    frames
}

/// realtime/unit/RTL6i3/null-fields-json-0
#[test]
fn rtl6i3_null_fields_json_0() {
    let frames = publish_null_fields(Format::Json);
    let decoded: Vec<serde_json::Value> = frames
        .iter()
        .map(|f| {
            assert!(f.text, "JSON goes in text frames");
            serde_json::from_slice(&f.bytes).expect("JSON frame")
        })
        .filter(|v: &serde_json::Value| v["action"] == json!(15))
        .collect();
    assert_eq!(decoded.len(), 3);
    let msg = |i: usize| decoded[i]["messages"][0].as_object().expect("a message");

    assert_eq!(msg(0)["name"], json!("click"));
    assert!(!msg(0).contains_key("data"), "{:?}", msg(0));
    assert!(!msg(1).contains_key("name"), "{:?}", msg(1));
    assert_eq!(msg(1)["data"], json!("payload"));
    assert!(!msg(2).contains_key("name"), "{:?}", msg(2));
    assert!(!msg(2).contains_key("data"), "{:?}", msg(2));
}

/// The value under a string key of a MessagePack map.
fn mp_get<'a>(map: &'a rmpv::Value, key: &str) -> Option<&'a rmpv::Value> {
    map.as_map()
        .expect("a map")
        .iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
}

/// realtime/unit/RTL6i3/null-fields-msgpack-1
#[test]
fn rtl6i3_null_fields_msgpack_1() {
    let frames = publish_null_fields(Format::MsgPack);
    let decoded: Vec<rmpv::Value> = frames
        .iter()
        .map(|f| {
            assert!(!f.text, "MessagePack goes in binary frames");
            rmpv::decode::read_value(&mut &f.bytes[..]).expect("MessagePack frame")
        })
        .filter(|v| mp_get(v, "action").and_then(rmpv::Value::as_u64) == Some(15))
        .collect();
    assert_eq!(decoded.len(), 3);
    let msg = |i: usize| {
        mp_get(&decoded[i], "messages")
            .expect("messages")
            .as_array()
            .expect("an array")[0]
            .clone()
    };

    assert_eq!(
        mp_get(&msg(0), "name").and_then(|v| v.as_str()),
        Some("click")
    );
    assert!(mp_get(&msg(0), "data").is_none(), "{}", msg(0));
    assert!(mp_get(&msg(1), "name").is_none(), "{}", msg(1));
    assert_eq!(
        mp_get(&msg(1), "data").and_then(|v| v.as_str()),
        Some("payload")
    );
    assert!(mp_get(&msg(2), "name").is_none(), "{}", msg(2));
    assert!(mp_get(&msg(2), "data").is_none(), "{}", msg(2));
}

/// realtime/unit/RTL6c1/publish-when-attached-0
#[test]
fn rtl6c1_publish_when_attached_0() {
    let ch = "test-RTL6c1";
    let mut h = connected_harness(attach_only());
    attach_ok(&mut h, ch);
    assert_eq!(h.client.state(), Connected);
    assert_eq!(h.channel_state(ch), ChannelState::Attached);

    publish_one(&mut h, ch, "test", "immediate");

    let frames = h.sent_with(Action::Message);
    assert_eq!(frames.len(), 1, "sent at once");
    assert_eq!(frames[0].messages[0].name.as_deref(), Some("test"));
    assert_eq!(frames[0].messages[0].data, Data::from("immediate"));
}

/// realtime/unit/RTL6c1/publish-when-attaching-1
#[test]
fn rtl6c1_publish_when_attaching_1() {
    let ch = "test-RTL6c1-attaching";
    // The service never answers ATTACH.
    let mut h = connected_harness(Box::new(|_| vec![]));
    let attach = h.attach(ch);
    assert_eq!(h.channel_state(ch), ChannelState::Attaching);
    assert_eq!(h.completion(attach), None);

    publish_one(&mut h, ch, "while-attaching", "data");

    let frames = h.sent_with(Action::Message);
    assert_eq!(frames.len(), 1, "sent at once");
    assert_eq!(
        frames[0].messages[0].name.as_deref(),
        Some("while-attaching")
    );
}

/// realtime/unit/RTL6c1/publish-when-initialized-2
#[test]
fn rtl6c1_publish_when_initialized_2() {
    let ch = "test-RTL6c1-init";
    let mut h = connected_harness(attach_only());
    assert_eq!(h.channel_state(ch), ChannelState::Initialized);

    publish_one(&mut h, ch, "before-attach", "data");

    let frames = h.sent_with(Action::Message);
    assert_eq!(frames.len(), 1, "sent at once");
    assert_eq!(frames[0].messages[0].name.as_deref(), Some("before-attach"));
}

/// realtime/unit/RTL6c2/queued-when-connecting-0
#[test]
fn rtl6c2_queued_when_connecting_0() {
    let ch = "test-RTL6c2-connecting";
    let mut h = Harness::new(key_options()); // attempts left pending
    h.connect();
    assert_eq!(h.client.state(), Connecting);

    publish_one(&mut h, ch, "queued", "waiting");
    assert!(h.sent_with(Action::Message).is_empty(), "not sent yet");

    h.respond(Attempt::Success(connected(
        "connection-id",
        "connection-key",
    )));
    h.await_state(Connected, SEC);

    let frames = h.sent_with(Action::Message);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].messages[0].name.as_deref(), Some("queued"));
    assert_eq!(frames[0].messages[0].data, Data::from("waiting"));
}

/// realtime/unit/RTL6c2/queued-when-disconnected-1
///
/// The core reconnects at once when a connected transport drops (RTN15a),
/// so the first reconnection attempt is refused to hold the connection in
/// DISCONNECTED while publishing; the next one succeeds.
#[test]
fn rtl6c2_queued_when_disconnected_1() {
    let ch = "test-RTL6c2-disconnected";
    let mut h = Harness::new(key_options());
    h.on_attempt = Some(Box::new(|n, _| match n {
        2 => Attempt::Refused,
        _ => Attempt::Success(connected("connection-id", &format!("connection-key-{n}"))),
    }));
    h.connect();
    h.await_state(Connected, SEC);

    h.simulate_disconnect();
    assert_eq!(h.client.state(), Disconnected);
    assert!(h.states().contains(&Disconnected));

    publish_one(&mut h, ch, "during-disconnect", "queued");
    let before = h.sent_with(Action::Message).len();
    assert_eq!(before, 0, "no transport to send on");

    h.await_state(Connected, Duration::from_secs(30));
    let frames = h.sent_with(Action::Message);
    assert!(frames.len() > before);
    let queued: Vec<_> = frames
        .iter()
        .filter(|f| f.messages[0].name.as_deref() == Some("during-disconnect"))
        .collect();
    assert_eq!(queued.len(), 1);
}

/// realtime/unit/RTL6c2/queued-when-initialized-2
#[test]
fn rtl6c2_queued_when_initialized_2() {
    let ch = "test-RTL6c2-init";
    let mut h = Harness::connecting_ok(key_options());
    assert_eq!(h.client.state(), Initialized);

    publish_one(&mut h, ch, "pre-connect", "early");
    assert!(h.sent_with(Action::Message).is_empty());

    h.connect();
    h.await_state(Connected, SEC);
    let frames = h.sent_with(Action::Message);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].messages[0].name.as_deref(), Some("pre-connect"));
}

/// realtime/unit/RTL6c4/fails-conn-suspended-0
#[test]
fn rtl6c4_fails_conn_suspended_0() {
    let ch = "test-RTL6c4-suspended";
    let mut opts = key_options();
    opts.disconnected_retry_timeout = Duration::from_millis(1000);
    opts.connection_state_ttl = Duration::from_millis(5000);
    let mut h = Harness::new(opts);
    h.on_attempt = Some(Box::new(|_, _| Attempt::Refused));
    h.connect();
    advance_until_suspended(&mut h);

    let op = publish_one(&mut h, ch, "fail", "should-error");
    let err = failed(&h, op);
    assert_ne!(err.code, 0);
    assert!(h.sent_with(Action::Message).is_empty());
}

/// realtime/unit/RTL6c4/fails-conn-closed-1
#[test]
fn rtl6c4_fails_conn_closed_1() {
    let ch = "test-RTL6c4-closed";
    let mut h = connected_harness(no_ack_service());
    h.close();
    assert_eq!(h.client.state(), Closed);

    let op = publish_one(&mut h, ch, "fail", "should-error");
    let err = failed(&h, op);
    assert_ne!(err.code, 0);
}

/// realtime/unit/RTL6c4/fails-conn-failed-2
#[test]
fn rtl6c4_fails_conn_failed_2() {
    let ch = "test-RTL6c4-failed";
    let mut h = Harness::new(key_options());
    h.on_attempt = Some(Box::new(|_, _| {
        Attempt::ErrorAndClose(error_frame(80000, None, "Fatal error"))
    }));
    h.connect();
    h.await_state(Failed, SEC);

    let op = publish_one(&mut h, ch, "fail", "should-error");
    let err = failed(&h, op);
    assert_ne!(err.code, 0);
}

/// realtime/unit/RTL6c4/fails-channel-suspended-3
#[test]
fn rtl6c4_fails_channel_suspended_3() {
    let ch = "test-RTL6c4-ch-suspended";
    let mut opts = key_options();
    opts.realtime_request_timeout = Duration::from_millis(100);
    let mut h = Harness::connecting_ok(opts);
    h.on_message = Some(Box::new(|_| vec![])); // ATTACH is never answered
    h.connect();
    h.await_state(Connected, SEC);

    let attach = h.attach(ch);
    h.advance_ms(150);
    assert!(matches!(h.completion(attach), Some(Err(_))));
    assert_eq!(h.channel_state(ch), ChannelState::Suspended);

    let op = publish_one(&mut h, ch, "fail", "should-error");
    failed(&h, op);
    assert!(h.sent_with(Action::Message).is_empty(), "no MESSAGE sent");
}

/// realtime/unit/RTL6c4/fails-channel-failed-4
#[test]
fn rtl6c4_fails_channel_failed_4() {
    let ch = "test-RTL6c4-ch-failed";
    let mut h = connected_harness(Box::new(|pm| match pm.action {
        Action::Attach => {
            let mut err = ProtocolMessage::for_channel(
                Action::Error,
                pm.channel.as_deref().unwrap_or_default(),
            );
            err.error = Some(ErrorInfo::new(40160, 401, "Not permitted"));
            vec![Reply::Send(err)]
        }
        _ => vec![],
    }));
    let attach = h.attach(ch);
    assert!(matches!(h.completion(attach), Some(Err(_))));
    assert_eq!(h.channel_state(ch), ChannelState::Failed);

    let op = publish_one(&mut h, ch, "fail", "should-error");
    failed(&h, op);
    assert!(h.sent_with(Action::Message).is_empty(), "no MESSAGE sent");
}

/// realtime/unit/RTL6c2/fails-no-queue-messages-3
#[test]
fn rtl6c2_fails_no_queue_messages_3() {
    let ch = "test-RTL6c2-noqueue";
    let mut opts = key_options();
    opts.queue_messages = false;
    let mut h = Harness::new(opts); // attempts left pending
    h.connect();
    assert_eq!(h.client.state(), Connecting);

    let op = publish_one(&mut h, ch, "fail", "should-error");
    let err = failed(&h, op);
    assert_ne!(err.code, 0);
}

/// realtime/unit/RTL6c5/no-implicit-attach-0
#[test]
fn rtl6c5_no_implicit_attach_0() {
    let ch = "test-RTL6c5";
    let mut h = connected_harness(attach_only());
    assert_eq!(h.channel_state(ch), ChannelState::Initialized);

    publish_one(&mut h, ch, "no-attach", "test");

    assert_eq!(h.sent_with(Action::Message).len(), 1, "sent (RTL6c1)");
    assert_eq!(h.channel_state(ch), ChannelState::Initialized);
    assert!(h.channel_states(ch).is_empty(), "no state change");
    assert!(h.sent_with(Action::Attach).is_empty(), "no ATTACH");
}

/// realtime/unit/RTL6c2/queued-messages-order-4
#[test]
fn rtl6c2_queued_messages_order_4() {
    let ch = "test-RTL6c2-order";
    let mut h = Harness::new(key_options()); // attempts left pending
    h.connect();
    assert_eq!(h.client.state(), Connecting);

    publish_one(&mut h, ch, "first", "1");
    publish_one(&mut h, ch, "second", "2");
    publish_one(&mut h, ch, "third", "3");
    assert!(h.sent_with(Action::Message).is_empty());

    h.respond(Attempt::Success(connected(
        "connection-id",
        "connection-key",
    )));
    h.await_state(Connected, SEC);

    let names: Vec<_> = h
        .sent_with(Action::Message)
        .iter()
        .map(|f| f.messages[0].name.clone())
        .collect();
    assert_eq!(
        names,
        [
            Some("first".to_owned()),
            Some("second".to_owned()),
            Some("third".to_owned())
        ]
    );
}

/// realtime/unit/RTL6i1/publish-message-object-1
///
/// The application (adapter) encodes the payload before publishing (RSL4);
/// the frame on the wire carries the JSON object as a string with encoding
/// `json`, which decodes back to the object.
#[test]
fn rtl6i1_publish_message_object_1() {
    let ch = "test-RTL6i1-obj";
    let mut h = connected_harness(attach_only());
    attach_ok(&mut h, ch);
    let mut message = Message::new("custom", json!({"key": "value"}));
    message.encode(None, h.client.rng()).expect("encodes");
    publish(&mut h, ch, vec![message]);

    let frames = h.sent_with(Action::Message);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].messages.len(), 1);
    let mut sent = frames[0].messages[0].clone();
    assert_eq!(sent.name.as_deref(), Some("custom"));
    sent.decode(None).expect("decodes");
    assert_eq!(sent.data, Data::from(json!({"key": "value"})));
}

/// realtime/unit/RTL6j/publish-result-serials-0
#[test]
fn rtl6j_publish_result_serials_0() {
    let ch = "test-RTL6j";
    let mut h = connected_harness(Box::new(|pm| match pm.action {
        Action::Attach => vec![Reply::Send(attached(
            pm.channel.as_deref().unwrap_or_default(),
        ))],
        Action::Message => vec![Reply::Send(ack_serials(
            pm.msg_serial.unwrap_or_default(),
            &[Some("abc123")],
        ))],
        _ => vec![],
    }));
    attach_ok(&mut h, ch);
    let op = publish_one(&mut h, ch, "greeting", "hello");

    let frames = h.sent_with(Action::Message);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].msg_serial, Some(0));
    assert_eq!(
        h.completion(op),
        Some(Ok(Completion::Published(vec![Some("abc123".into())])))
    );
}

/// realtime/unit/RTL6j/batch-publish-serials-1
#[test]
fn rtl6j_batch_publish_serials_1() {
    let ch = "test-RTL6j-batch";
    let mut h = connected_harness(Box::new(|pm| match pm.action {
        Action::Attach => vec![Reply::Send(attached(
            pm.channel.as_deref().unwrap_or_default(),
        ))],
        Action::Message => vec![Reply::Send(ack_serials(
            pm.msg_serial.unwrap_or_default(),
            &[Some("serial-1"), None, Some("serial-3")],
        ))],
        _ => vec![],
    }));
    attach_ok(&mut h, ch);
    let op = publish(
        &mut h,
        ch,
        vec![
            Message::new("event1", "data1"),
            Message::new("event2", "data2"),
            Message::new("event3", "data3"),
        ],
    );

    let frames = h.sent_with(Action::Message);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].messages.len(), 3);
    assert_eq!(
        h.completion(op),
        Some(Ok(Completion::Published(vec![
            Some("serial-1".into()),
            None, // conflated
            Some("serial-3".into()),
        ])))
    );
}

/// realtime/unit/RTL6j/incrementing-msg-serial-2
#[test]
fn rtl6j_incrementing_msg_serial_2() {
    let ch = "test-RTL6j-serial";
    let mut h = connected_harness(Box::new(|pm| match pm.action {
        Action::Attach => vec![Reply::Send(attached(
            pm.channel.as_deref().unwrap_or_default(),
        ))],
        Action::Message => {
            let serial = pm.msg_serial.unwrap();
            let name = format!("serial-{serial}");
            vec![Reply::Send(ack_serials(serial, &[Some(&name)]))]
        }
        _ => vec![],
    }));
    attach_ok(&mut h, ch);
    let op1 = publish_one(&mut h, ch, "first", "1");
    let op2 = publish_one(&mut h, ch, "second", "2");
    let op3 = publish_one(&mut h, ch, "third", "3");

    let serials: Vec<_> = h
        .sent_with(Action::Message)
        .iter()
        .map(|f| f.msg_serial)
        .collect();
    assert_eq!(serials, [Some(0), Some(1), Some(2)]);
    for (op, expected) in [(op1, "serial-0"), (op2, "serial-1"), (op3, "serial-2")] {
        assert_eq!(
            h.completion(op),
            Some(Ok(Completion::Published(vec![Some(expected.into())])))
        );
    }
}

/// realtime/unit/RTL6j/nack-results-error-3
#[test]
fn rtl6j_nack_results_error_3() {
    let ch = "test-RTL6j-nack";
    let mut h = connected_harness(Box::new(|pm| match pm.action {
        Action::Attach => vec![Reply::Send(attached(
            pm.channel.as_deref().unwrap_or_default(),
        ))],
        Action::Message => vec![Reply::Send(nack(
            pm.msg_serial.unwrap_or_default(),
            1,
            ErrorInfo::new(40160, 401, "Publish rejected"),
        ))],
        _ => vec![],
    }));
    attach_ok(&mut h, ch);
    let op = publish_one(&mut h, ch, "rejected", "data");

    let err = failed(&h, op);
    assert_eq!(err.code, 40160);
    assert_eq!(err.message, "Publish rejected");
}

/// realtime/unit/RTN7e/pending-fail-suspended-0
#[test]
fn rtn7e_pending_fail_suspended_0() {
    let ch = "test-RTN7e-suspended";
    let mut opts = key_options();
    opts.disconnected_retry_timeout = Duration::from_millis(1000);
    opts.connection_state_ttl = Duration::from_millis(5000);
    let mut h = Harness::new(opts);
    // The first attempt succeeds; then the service refuses every attempt.
    h.on_attempt = Some(Box::new(|n, _| match n {
        1 => Attempt::Success(connected_no_ttl("connection-id", "connection-key")),
        _ => Attempt::Refused,
    }));
    h.on_message = Some(no_ack_service());
    h.connect();
    h.await_state(Connected, SEC);
    attach_ok(&mut h, ch);

    let op = publish_one(&mut h, ch, "pending", "data");
    assert_eq!(h.completion(op), None, "awaiting ACK");

    h.simulate_disconnect();
    advance_until_suspended(&mut h);

    let err = failed(&h, op);
    assert_ne!(err.code, 0);
}

/// realtime/unit/RTN7e/pending-fail-closed-1
#[test]
fn rtn7e_pending_fail_closed_1() {
    let ch = "test-RTN7e-closed";
    let mut h = connected_harness(no_ack_service());
    attach_ok(&mut h, ch);
    let op = publish_one(&mut h, ch, "pending", "data");
    assert_eq!(h.completion(op), None, "awaiting ACK");

    h.close();
    assert_eq!(h.client.state(), Closed);

    let err = failed(&h, op);
    assert_ne!(err.code, 0);
}

/// A service that answers ATTACH, and answers MESSAGE with a fatal ERROR
/// and closes the transport instead of acknowledging.
fn fatal_on_message(code: u32, status: Option<u16>, message: &'static str) -> MessageHandler {
    Box::new(move |pm| match pm.action {
        Action::Attach => vec![Reply::Send(attached(
            pm.channel.as_deref().unwrap_or_default(),
        ))],
        Action::Message => vec![Reply::SendAndClose(error_frame(code, status, message))],
        _ => vec![],
    })
}

/// realtime/unit/RTN7e/pending-fail-failed-2
#[test]
fn rtn7e_pending_fail_failed_2() {
    let ch = "test-RTN7e-failed";
    let mut h = Harness::new(key_options());
    h.on_attempt = Some(Box::new(|n, _| match n {
        1 => Attempt::Success(connected("connection-id", "connection-key")),
        _ => Attempt::Pending,
    }));
    h.on_message = Some(fatal_on_message(80000, None, "Fatal error"));
    h.connect();
    h.await_state(Connected, SEC);
    attach_ok(&mut h, ch);

    let op = publish_one(&mut h, ch, "pending", "data");
    h.await_state(Failed, SEC);

    let err = failed(&h, op);
    assert_ne!(err.code, 0);
}

/// realtime/unit/RTN7e/multiple-pending-fail-3
#[test]
fn rtn7e_multiple_pending_fail_3() {
    let ch = "test-RTN7e-multi";
    let mut h = connected_harness(no_ack_service());
    attach_ok(&mut h, ch);
    let ops = [
        publish_one(&mut h, ch, "msg1", "data1"),
        publish_one(&mut h, ch, "msg2", "data2"),
        publish_one(&mut h, ch, "msg3", "data3"),
    ];
    for op in ops {
        assert_eq!(h.completion(op), None, "awaiting ACK");
    }

    h.close();

    for op in ops {
        failed(&h, op);
    }
}

/// realtime/unit/RTN7e/error-represents-reason-4
#[test]
fn rtn7e_error_represents_reason_4() {
    let ch = "test-RTN7e-error-reason";
    let mut h = connected_harness(fatal_on_message(
        80019,
        Some(400),
        "Connection closed due to admin action",
    ));
    attach_ok(&mut h, ch);

    let op = publish_one(&mut h, ch, "pending", "data");
    h.await_state(Failed, SEC);

    let err = failed(&h, op);
    assert_eq!(err.code, 80019);
    assert_eq!(err.status_code, Some(400));
    assert_eq!(err.message, "Connection closed due to admin action");
    let reason = h.client.error_reason().expect("errorReason");
    assert_eq!(reason.code, 80019);
}

/// realtime/unit/RTN7d/fail-disconnected-no-queue-0
///
/// The core starts a resume attempt as soon as it enters DISCONNECTED
/// (RTN15a); that attempt is left unanswered.
#[test]
fn rtn7d_fail_disconnected_no_queue_0() {
    let ch = "test-RTN7d";
    let mut opts = key_options();
    opts.queue_messages = false;
    let mut h = Harness::new(opts);
    h.on_attempt = Some(Box::new(|n, _| match n {
        1 => Attempt::Success(connected("connection-id", "connection-key")),
        _ => Attempt::Pending,
    }));
    h.on_message = Some(no_ack_service());
    h.connect();
    h.await_state(Connected, SEC);
    attach_ok(&mut h, ch);

    let op = publish_one(&mut h, ch, "pending", "data");
    assert_eq!(h.completion(op), None, "awaiting ACK");

    h.simulate_disconnect();
    assert_eq!(h.states().last(), Some(&Connecting));
    assert!(h.states().contains(&Disconnected));

    let err = failed(&h, op);
    assert_ne!(err.code, 0);
}

/// A service that counts connection attempts, answers ATTACH, and from the
/// second connection on acknowledges MESSAGE with this serial.
fn ack_from_second_connection(serial: &'static str) -> (AttemptHandler, MessageHandler) {
    let count = attempt_counter();
    let attempts = count.clone();
    let on_attempt: AttemptHandler = Box::new(move |n, _| {
        attempts.set(n);
        Attempt::Success(connected("connection-id", &format!("connection-key-{n}")))
    });
    let on_message: MessageHandler = Box::new(move |pm| match pm.action {
        Action::Attach => vec![Reply::Send(attached(
            pm.channel.as_deref().unwrap_or_default(),
        ))],
        Action::Message if count.get() >= 2 => vec![Reply::Send(ack_serials(
            pm.msg_serial.unwrap_or_default(),
            &[Some(serial)],
        ))],
        _ => vec![],
    });
    (on_attempt, on_message)
}

/// realtime/unit/RTN7d/survive-disconnected-queue-1
#[test]
fn rtn7d_survive_disconnected_queue_1() {
    let ch = "test-RTN7d-default";
    let mut h = Harness::new(key_options());
    let (on_attempt, on_message) = ack_from_second_connection("serial-ack");
    h.on_attempt = Some(on_attempt);
    h.on_message = Some(on_message);
    h.connect();
    h.await_state(Connected, SEC);
    attach_ok(&mut h, ch);

    let op = publish_one(&mut h, ch, "pending", "data");
    h.simulate_disconnect();
    assert!(h.states().contains(&Disconnected));
    h.advance_ms(2000);
    h.await_state(Connected, SEC);

    assert_eq!(
        h.completion(op),
        Some(Ok(Completion::Published(vec![Some("serial-ack".into())])))
    );
}

/// realtime/unit/RTN19a/resent-on-new-transport-0
#[test]
fn rtn19a_resent_on_new_transport_0() {
    let ch = "test-RTN19a";
    let mut h = Harness::new(key_options());
    let (on_attempt, on_message) = ack_from_second_connection("serial-resent");
    h.on_attempt = Some(on_attempt);
    h.on_message = Some(on_message);
    h.connect();
    h.await_state(Connected, SEC);
    attach_ok(&mut h, ch);

    let op = publish_one(&mut h, ch, "resend-me", "data");
    assert_eq!(messages_on(&h, 0).len(), 1);

    h.simulate_disconnect();
    h.advance_ms(2000);
    h.await_state(Connected, SEC);

    let second = messages_on(&h, 1);
    assert!(!second.is_empty(), "resent on the new transport");
    assert_eq!(second[0].messages[0].name.as_deref(), Some("resend-me"));
    assert_eq!(
        h.completion(op),
        Some(Ok(Completion::Published(vec![Some(
            "serial-resent".into()
        )])))
    );
}

/// A CONNECTED frame with no details but the key, as the RTN19a2 specs send.
fn connected_plain(id: &str, key: &str) -> ProtocolMessage {
    connected_with(id, key, ConnectionDetails::default())
}

/// realtime/unit/RTN19a2/same-serial-on-resume-0
#[test]
fn rtn19a2_same_serial_on_resume_0() {
    let ch = "test-RTN19a2-resume";
    let count = attempt_counter();
    let attempts = count.clone();
    let mut h = Harness::new(key_options());
    // Both connections have the same connectionId: a successful resume (RTN15c6).
    h.on_attempt = Some(Box::new(move |n, _| {
        attempts.set(n);
        Attempt::Success(connected_plain("connection-abc", &format!("key-{n}")))
    }));
    h.on_message = Some(Box::new(move |pm| match pm.action {
        Action::Attach => vec![Reply::Send(attached(
            pm.channel.as_deref().unwrap_or_default(),
        ))],
        Action::Message if count.get() >= 2 => vec![Reply::Send(ack_serials(
            pm.msg_serial.unwrap_or_default(),
            &[Some("serial-resumed")],
        ))],
        _ => vec![],
    }));
    h.connect();
    h.await_state(Connected, SEC);
    attach_ok(&mut h, ch);

    let op1 = publish_one(&mut h, ch, "msg1", "data1");
    let op2 = publish_one(&mut h, ch, "msg2", "data2");
    let first = messages_on(&h, 0);
    let original = [first[0].msg_serial, first[1].msg_serial];

    h.simulate_disconnect();
    h.advance_ms(2000);
    h.await_state(Connected, SEC);

    let second = messages_on(&h, 1);
    assert_eq!(second.len(), 2);
    assert_eq!([second[0].msg_serial, second[1].msg_serial], original);
    assert!(matches!(h.completion(op1), Some(Ok(_))));
    assert!(matches!(h.completion(op2), Some(Ok(_))));
}

/// realtime/unit/RTN19a2/new-serial-failed-resume-1
#[test]
fn rtn19a2_new_serial_failed_resume_1() {
    let ch = "test-RTN19a2-failed-resume";
    let count = attempt_counter();
    let attempts = count.clone();
    let mut h = Harness::new(key_options());
    h.on_attempt = Some(Box::new(move |n, _| {
        attempts.set(n);
        if n == 1 {
            Attempt::Success(connected_plain("connection-first", "key-first"))
        } else {
            // A failed resume: a new connectionId and an error (RTN15c7).
            let mut pm = connected_plain("connection-new", "key-new");
            pm.error = Some(ErrorInfo {
                code: 80018,
                message: "Connection not resumable".into(),
                ..ErrorInfo::default()
            });
            Attempt::Success(pm)
        }
    }));
    h.on_message = Some(Box::new(move |pm| match pm.action {
        Action::Attach => vec![Reply::Send(attached(
            pm.channel.as_deref().unwrap_or_default(),
        ))],
        Action::Message if count.get() >= 2 => vec![Reply::Send(ack_serials(
            pm.msg_serial.unwrap_or_default(),
            &[Some("serial-new")],
        ))],
        _ => vec![],
    }));
    h.connect();
    h.await_state(Connected, SEC);
    attach_ok(&mut h, ch);

    let op1 = publish_one(&mut h, ch, "msg1", "data1");
    let op2 = publish_one(&mut h, ch, "msg2", "data2");
    let first = messages_on(&h, 0);
    assert_eq!(first[0].msg_serial, Some(0));
    assert_eq!(first[1].msg_serial, Some(1));

    h.simulate_disconnect();
    h.advance_ms(2000);
    h.await_state(Connected, SEC);

    let second = messages_on(&h, 1);
    assert_eq!(second.len(), 2);
    assert_eq!(second[0].msg_serial, Some(0));
    assert_eq!(second[1].msg_serial, Some(1));
    assert!(matches!(h.completion(op1), Some(Ok(_))));
    assert!(matches!(h.completion(op2), Some(Ok(_))));
}

/// realtime/unit/RTN19b/attach-resent-on-reconnect-0
#[test]
fn rtn19b_attach_resent_on_reconnect_0() {
    let ch = "test-RTN19b-attach";
    let count = attempt_counter();
    let attempts = count.clone();
    let mut h = Harness::new(key_options());
    h.on_attempt = Some(Box::new(move |n, _| {
        attempts.set(n);
        Attempt::Success(connected("connection-id", &format!("connection-key-{n}")))
    }));
    h.on_message = Some(Box::new(move |pm| match pm.action {
        Action::Attach if count.get() >= 2 => {
            vec![Reply::Send(attached(
                pm.channel.as_deref().unwrap_or_default(),
            ))]
        }
        _ => vec![],
    }));
    h.connect();
    h.await_state(Connected, SEC);

    let attach = h.attach(ch);
    assert_eq!(h.channel_state(ch), ChannelState::Attaching);
    let first = sent_on(&h, 0, Action::Attach);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].channel.as_deref(), Some(ch));

    h.simulate_disconnect();
    h.advance_ms(2000);
    h.await_state(Connected, SEC);

    assert_eq!(h.completion(attach), Some(Ok(Completion::Done)));
    assert_eq!(h.channel_state(ch), ChannelState::Attached);
    let second = sent_on(&h, 1, Action::Attach);
    assert!(!second.is_empty(), "ATTACH resent");
    assert_eq!(second[0].channel.as_deref(), Some(ch));
}

/// realtime/unit/RTN19b/detach-resent-on-reconnect-1
#[test]
fn rtn19b_detach_resent_on_reconnect_1() {
    let ch = "test-RTN19b-detach";
    let count = attempt_counter();
    let attempts = count.clone();
    let mut h = Harness::new(key_options());
    h.on_attempt = Some(Box::new(move |n, _| {
        attempts.set(n);
        Attempt::Success(connected("connection-id", &format!("connection-key-{n}")))
    }));
    h.on_message = Some(Box::new(move |pm| match pm.action {
        Action::Attach => vec![Reply::Send(attached(
            pm.channel.as_deref().unwrap_or_default(),
        ))],
        Action::Detach if count.get() >= 2 => {
            vec![Reply::Send(detached(pm.channel.as_deref().unwrap(), None))]
        }
        _ => vec![],
    }));
    h.connect();
    h.await_state(Connected, SEC);
    attach_ok(&mut h, ch);

    let detach = h.detach(ch);
    assert_eq!(h.channel_state(ch), ChannelState::Detaching);
    assert_eq!(sent_on(&h, 0, Action::Detach).len(), 1);

    h.simulate_disconnect();
    h.advance_ms(2000);
    h.await_state(Connected, SEC);

    assert_eq!(h.completion(detach), Some(Ok(Completion::Done)));
    assert_eq!(h.channel_state(ch), ChannelState::Detached);
    let second = sent_on(&h, 1, Action::Detach);
    assert!(!second.is_empty(), "DETACH resent");
    assert_eq!(second[0].channel.as_deref(), Some(ch));
}

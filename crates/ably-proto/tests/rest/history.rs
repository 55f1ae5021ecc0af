//! Reading messages: history (RSL2), getMessage (RSL11) and
//! getMessageVersions (RSL14). Ported from `uts/rest/unit/channel/{history,
//! get_message,message_versions}.md`.

use std::collections::BTreeMap;

use serde_json::json;

use ably_proto::rest::{Direction, HistoryParams, RestOp, RestResult};
use ably_proto::{Data, Message, MessageAction};

use crate::harness::*;

const CHANNEL: &str = "test-RSL2";

fn history_with(params: HistoryParams) -> RestOp {
    RestOp::History {
        channel: CHANNEL.into(),
        params,
    }
}

fn message(r: RestResult) -> Message {
    match r {
        RestResult::Message(m) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

fn get_message(serial: &str) -> RestOp {
    RestOp::GetMessage {
        channel: "test-RSL11:x".into(),
        serial: serial.into(),
    }
}

fn versions(serial: &str, params: &[(&str, &str)]) -> RestOp {
    RestOp::GetMessageVersions {
        channel: "test-RSL14 x".into(),
        serial: serial.into(),
        params: params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>(),
    }
}

// ---- RSL2 -------------------------------------------------------------------------

/// rest/unit/RSL2a/returns-paginated-result-0
#[test]
fn rsl2a_returns_paginated_result_0() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![json(
        200,
        json!([
            {"id": "msg1", "name": "event1", "data": "data1", "timestamp": 1000},
            {"id": "msg2", "name": "event2", "data": "data2", "timestamp": 2000}
        ]),
    )]);
    let page = messages_page(m.ok(history(CHANNEL)));
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.items[0].id.as_deref(), Some("msg1"));
    assert_eq!(page.items[0].name.as_deref(), Some("event1"));
    assert_eq!(page.items[0].data, Data::from("data1"));
    assert_eq!(page.items[1].timestamp, Some(2000));
    assert!(page.is_last());
}

/// rest/unit/RSL2b/query-parameters-0
#[test]
fn rsl2b_query_parameters_0() {
    let mut m = Mock::new(key_opts());
    let cases = [
        (
            HistoryParams {
                start: Some(1_234_567_890_000),
                ..HistoryParams::default()
            },
            "start",
            "1234567890000",
        ),
        (
            HistoryParams {
                end: Some(1_234_567_899_999),
                ..HistoryParams::default()
            },
            "end",
            "1234567899999",
        ),
        (
            HistoryParams {
                direction: Some(Direction::Backwards),
                ..HistoryParams::default()
            },
            "direction",
            "backwards",
        ),
        (
            HistoryParams {
                direction: Some(Direction::Forwards),
                ..HistoryParams::default()
            },
            "direction",
            "forwards",
        ),
        (
            HistoryParams {
                limit: Some(50),
                ..HistoryParams::default()
            },
            "limit",
            "50",
        ),
    ];
    for (params, name, value) in cases {
        m.ok(history_with(params));
        let q = query(m.last());
        assert_eq!(q, vec![(name.to_owned(), value.to_owned())]);
    }
}

/// rest/unit/RSL2b1/default-direction-backwards-0
#[test]
fn rsl2b1_default_direction_backwards_0() {
    let mut m = Mock::new(key_opts());
    m.ok(history(CHANNEL));
    assert!(matches!(
        param(m.only(), "direction").as_deref(),
        None | Some("backwards")
    ));
}

/// rest/unit/RSL2b2/limit-parameter-0
#[test]
fn rsl2b2_limit_parameter_0() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![json(
        200,
        json!([
            {"id": "msg1", "name": "e", "data": "d", "timestamp": 1000},
            {"id": "msg2", "name": "e", "data": "d", "timestamp": 2000},
            {"id": "msg3", "name": "e", "data": "d", "timestamp": 3000}
        ]),
    )]);
    let page = messages_page(m.ok(history_with(HistoryParams {
        limit: Some(10),
        ..HistoryParams::default()
    })));
    assert_eq!(param(m.only(), "limit").as_deref(), Some("10"));
    assert_eq!(page.items.len(), 3);
}

/// rest/unit/RSL2b3/default-limit-hundred-0
#[test]
fn rsl2b3_default_limit_hundred_0() {
    let mut m = Mock::new(key_opts());
    m.ok(history(CHANNEL));
    assert!(matches!(
        param(m.only(), "limit").as_deref(),
        None | Some("100")
    ));
}

/// rest/unit/RSL2/request-url-format-0
#[test]
fn rsl2_request_url_format_0() {
    let mut m = Mock::new(key_opts());
    for (name, encoded) in [
        ("test-RSL2-simple", "test-RSL2-simple"),
        ("test-RSL2-with:colon", "test-RSL2-with%3Acolon"),
        ("test-RSL2-with/slash", "test-RSL2-with%2Fslash"),
        ("test-RSL2-with space", "test-RSL2-with%20space"),
    ] {
        let before = m.requests.len();
        m.ok(history(name));
        assert_eq!(m.requests.len(), before + 1);
        let r = m.last();
        assert_eq!(r.method, "GET");
        assert_eq!(path(r), format!("/channels/{encoded}/messages"));
        assert_eq!(encoded, encode_uri_component(name));
    }
}

/// rest/unit/RSL2/history-time-range-1
#[test]
fn rsl2_history_time_range_1() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![json(
        200,
        json!([{"id": "msg1", "name": "e", "data": "d", "timestamp": 1500}]),
    )]);
    let page = messages_page(m.ok(history_with(HistoryParams {
        start: Some(1000),
        end: Some(2000),
        ..HistoryParams::default()
    })));
    let r = m.only();
    assert_eq!(param(r, "start").as_deref(), Some("1000"));
    assert_eq!(param(r, "end").as_deref(), Some("2000"));
    assert_eq!(page.items[0].timestamp, Some(1500));
}

// ---- RSL11 ------------------------------------------------------------------------

/// rest/unit/RSL11b/get-correct-endpoint-0
#[test]
fn rsl11b_get_correct_endpoint_0() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![json(
        200,
        json!({"name": "evt", "data": "hello", "serial": "msg-serial-123", "timestamp": 1_700_000_000_000_i64}),
    )]);
    let msg = message(m.ok(get_message("msg-serial-123")));
    let r = m.only();
    assert_eq!(r.method, "GET");
    assert_eq!(
        path(r),
        format!(
            "/channels/{}/messages/msg-serial-123",
            encode_uri_component("test-RSL11:x")
        )
    );
    assert!(r.body.as_deref().is_none_or(<[u8]>::is_empty));
    assert_eq!(msg.serial.as_deref(), Some("msg-serial-123"));
}

/// rest/unit/RSL11c/returns-decoded-message-0
#[test]
fn rsl11c_returns_decoded_message_0() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![json(
        200,
        json!({
            "id": "msg-id-1", "name": "test-event", "data": "hello world",
            "serial": "serial-xyz", "clientId": "client-1", "timestamp": 1_700_000_000_000_i64,
            "extras": {"push": {"notification": {"title": "Test"}}},
            "version": {"serial": "version-serial-1", "timestamp": 1_700_000_000_000_i64, "clientId": "client-1"}
        }),
    )]);
    let msg = message(m.ok(get_message("serial-xyz")));
    assert_eq!(msg.id.as_deref(), Some("msg-id-1"));
    assert_eq!(msg.name.as_deref(), Some("test-event"));
    assert_eq!(msg.data, Data::from("hello world"));
    assert_eq!(msg.serial.as_deref(), Some("serial-xyz"));
    assert_eq!(msg.client_id.as_deref(), Some("client-1"));
    assert_eq!(msg.timestamp, Some(1_700_000_000_000));
    assert_eq!(
        msg.version.as_ref().and_then(|v| v.serial.as_deref()),
        Some("version-serial-1")
    );
    // An encoded payload is decoded (RSL6).
    let mut m = Mock::new(key_opts());
    m.queue(vec![json(
        200,
        json!({"name": "j", "data": "{\"a\":1}", "encoding": "json", "serial": "s"}),
    )]);
    let msg = message(m.ok(get_message("s")));
    assert_eq!(msg.data.as_json(), Some(&json!({"a": 1})));
    assert_eq!(msg.encoding, None);
}

/// rest/unit/RSL11b/url-encodes-serial-1
#[test]
fn rsl11b_url_encodes_serial_1() {
    let serial = "serial/with:special+chars";
    let mut m = Mock::new(key_opts());
    m.queue(vec![json(
        200,
        json!({"name": "evt", "data": "hello", "serial": serial}),
    )]);
    m.ok(get_message(serial));
    assert_eq!(
        path(m.only()),
        format!(
            "/channels/{}/messages/{}",
            encode_uri_component("test-RSL11:x"),
            encode_uri_component(serial)
        )
    );
}

/// rest/unit/RSL11a/missing-serial-error-0
#[test]
fn rsl11a_missing_serial_error_0() {
    let mut m = Mock::new(key_opts());
    let e = m.err(get_message(""));
    assert_eq!(e.code, 40003);
    assert!(m.requests.is_empty());
}

// ---- RSL14 ------------------------------------------------------------------------

/// rest/unit/RSL14b/get-correct-endpoint-0
#[test]
fn rsl14b_get_correct_endpoint_0() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![json(
        200,
        json!([
            {"name": "evt", "data": "v2-data", "serial": "msg-serial-1", "action": 1, "version": {"serial": "vs2", "timestamp": 1_700_000_002_000_i64}},
            {"name": "evt", "data": "v1-data", "serial": "msg-serial-1", "action": 0, "version": {"serial": "vs1", "timestamp": 1_700_000_001_000_i64}}
        ]),
    )]);
    m.ok(versions("msg-serial-1", &[]));
    let r = m.only();
    assert_eq!(r.method, "GET");
    assert_eq!(
        path(r),
        format!(
            "/channels/{}/messages/msg-serial-1/versions",
            encode_uri_component("test-RSL14 x")
        )
    );
}

/// rest/unit/RSL14c/returns-paginated-result-0
#[test]
fn rsl14c_returns_paginated_result_0() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![json(
        200,
        json!([
            {"name": "evt", "data": "updated-data", "serial": "msg-serial-1", "action": 1,
             "version": {"serial": "vs2", "timestamp": 1_700_000_002_000_i64, "clientId": "user-1", "description": "edit"}},
            {"name": "evt", "data": "original-data", "serial": "msg-serial-1", "action": 0,
             "version": {"serial": "vs1", "timestamp": 1_700_000_001_000_i64}}
        ]),
    )]);
    let page = messages_page(m.ok(versions("msg-serial-1", &[])));
    assert_eq!(page.items.len(), 2);
    let (newer, older) = (&page.items[0], &page.items[1]);
    assert_eq!(newer.data, Data::from("updated-data"));
    assert_eq!(newer.action, Some(MessageAction::Update));
    let version = newer.version.as_ref().expect("version");
    assert_eq!(version.serial.as_deref(), Some("vs2"));
    assert_eq!(version.description.as_deref(), Some("edit"));
    assert_eq!(older.data, Data::from("original-data"));
    assert_eq!(older.action, Some(MessageAction::Create));
}

/// rest/unit/RSL14a/params-as-querystring-0
#[test]
fn rsl14a_params_as_querystring_0() {
    let mut m = Mock::new(key_opts());
    m.ok(versions(
        "msg-serial-1",
        &[("direction", "backwards"), ("limit", "10")],
    ));
    let r = m.only();
    assert_eq!(param(r, "direction").as_deref(), Some("backwards"));
    assert_eq!(param(r, "limit").as_deref(), Some("10"));
    // A serial is required (RSL14a).
    assert_eq!(m.err(versions("", &[])).code, 40003);
}

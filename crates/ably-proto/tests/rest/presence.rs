//! REST presence: get (RSP3), history (RSP4), payload decoding (RSP5) and
//! pages. Ported from `uts/rest/unit/presence/rest_presence.md`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use ably_proto::client::{ClientOptions, Command, HttpResponse};
use ably_proto::rest::{Direction, HistoryParams, PresenceParams, RestOp};
use ably_proto::{ChannelOptions, CipherParams, Data, PresenceAction, PresenceMessage};

use crate::harness::*;

const CHANNEL: &str = "test-RSP:presence";

fn get_with(params: PresenceParams) -> RestOp {
    RestOp::PresenceGet {
        channel: CHANNEL.into(),
        params,
    }
}

fn get() -> RestOp {
    get_with(PresenceParams::default())
}

fn history_with(params: HistoryParams) -> RestOp {
    RestOp::PresenceHistory {
        channel: CHANNEL.into(),
        params,
    }
}

fn history() -> RestOp {
    history_with(HistoryParams::default())
}

/// The members or events of an answer `body` to `op`.
fn items(op: RestOp, body: Value) -> Vec<PresenceMessage> {
    let mut m = Mock::new(key_opts());
    m.queue(vec![json(200, body)]);
    presence_page(m.ok(op)).items
}

/// The query of `op` answered `200 []`.
fn query_of(op: RestOp) -> Vec<(String, String)> {
    let mut m = Mock::new(key_opts());
    m.ok(op);
    query(m.only())
}

fn q<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn presence_path(suffix: &str) -> String {
    format!(
        "/channels/{}/presence{suffix}",
        encode_uri_component(CHANNEL)
    )
}

// ---- RSP3 -------------------------------------------------------------------------

/// rest/unit/RSP3a/get-request-endpoint-0
#[test]
fn rsp3a_get_request_endpoint_0() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![json(
        200,
        json!([{"action": 1, "clientId": "client1", "data": "hello"},
               {"action": 1, "clientId": "client2", "data": "world"}]),
    )]);
    let page = presence_page(m.ok(get()));
    let r = m.only();
    assert_eq!((r.method, path(r)), ("GET", presence_path("").as_str()));
    assert_eq!(page.items.len(), 2);
}

/// rest/unit/RSP3b/get-returns-presence-messages-0
#[test]
fn rsp3b_get_returns_presence_messages_0() {
    let got = items(
        get(),
        json!([{"action": 1, "clientId": "user123", "connectionId": "conn456",
                "data": "status data", "encoding": null, "timestamp": 1_234_567_890_000_i64}]),
    );
    assert_eq!(got.len(), 1);
    let p = &got[0];
    assert_eq!(p.action, PresenceAction::Present);
    assert_eq!(p.client_id.as_deref(), Some("user123"));
    assert_eq!(p.connection_id.as_deref(), Some("conn456"));
    assert_eq!(p.data, Data::from("status data"));
    assert_eq!(p.timestamp, Some(1_234_567_890_000));
}

/// rest/unit/RSP3c/get-empty-members-0
#[test]
fn rsp3c_get_empty_members_0() {
    let mut m = Mock::new(key_opts());
    let page = presence_page(m.ok(get()));
    assert!(page.items.is_empty());
    assert!(!page.has_next());
}

/// rest/unit/RSP3a1/get-limit-parameter-0
#[test]
fn rsp3a1_get_limit_parameter_0() {
    let query = query_of(get_with(PresenceParams {
        limit: Some(50),
        ..PresenceParams::default()
    }));
    assert_eq!(q(&query, "limit"), Some("50"));
}

/// rest/unit/RSP3a1/get-limit-default-100-1
#[test]
fn rsp3a1_get_limit_default_100_1() {
    let query = query_of(get());
    assert!(matches!(q(&query, "limit"), None | Some("100")));
}

/// rest/unit/RSP3a1/get-limit-max-1000-2
#[test]
fn rsp3a1_get_limit_max_1000_2() {
    let query = query_of(get_with(PresenceParams {
        limit: Some(1000),
        ..PresenceParams::default()
    }));
    assert_eq!(q(&query, "limit"), Some("1000"));
}

/// rest/unit/RSP3a2/get-clientid-filter-0
#[test]
fn rsp3a2_get_clientid_filter_0() {
    let query = query_of(get_with(PresenceParams {
        client_id: Some("specific-client".into()),
        ..PresenceParams::default()
    }));
    assert_eq!(q(&query, "clientId"), Some("specific-client"));
}

/// rest/unit/RSP3a3/get-connectionid-filter-0
#[test]
fn rsp3a3_get_connectionid_filter_0() {
    let query = query_of(get_with(PresenceParams {
        connection_id: Some("conn123".into()),
        ..PresenceParams::default()
    }));
    assert_eq!(q(&query, "connectionId"), Some("conn123"));
}

/// rest/unit/RSP3/get-multiple-filters-0
#[test]
fn rsp3_get_multiple_filters_0() {
    let query = query_of(get_with(PresenceParams {
        limit: Some(25),
        client_id: Some("user1".into()),
        connection_id: Some("conn1".into()),
    }));
    assert_eq!(q(&query, "limit"), Some("25"));
    assert_eq!(q(&query, "clientId"), Some("user1"));
    assert_eq!(q(&query, "connectionId"), Some("conn1"));
}

// ---- RSP4 -------------------------------------------------------------------------

/// rest/unit/RSP4a/history-request-endpoint-0
#[test]
fn rsp4a_history_request_endpoint_0() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![json(
        200,
        json!([{"action": 2, "clientId": "client1", "data": "entered"},
               {"action": 3, "clientId": "client1", "data": "left"}]),
    )]);
    let page = presence_page(m.ok(history()));
    let r = m.only();
    assert_eq!(
        (r.method, path(r)),
        ("GET", presence_path("/history").as_str())
    );
    assert_eq!(page.items.len(), 2);
}

/// rest/unit/RSP4a/history-returns-paginated-1
///
/// The actions are the wire values of TP2: 2 enter, 3 leave, 4 update.
#[test]
fn rsp4a_history_returns_paginated_1() {
    let got = items(
        history(),
        json!([{"action": 2, "clientId": "user1", "data": "d1", "timestamp": 1000},
               {"action": 3, "clientId": "user1", "data": "d2", "timestamp": 2000},
               {"action": 4, "clientId": "user1", "data": "d3", "timestamp": 3000}]),
    );
    let actions: Vec<PresenceAction> = got.iter().map(|p| p.action).collect();
    assert_eq!(
        actions,
        vec![
            PresenceAction::Enter,
            PresenceAction::Leave,
            PresenceAction::Update
        ]
    );
}

/// rest/unit/RSP4b1/history-start-parameter-0
#[test]
fn rsp4b1_history_start_parameter_0() {
    let query = query_of(history_with(HistoryParams {
        start: Some(1_609_459_200_000),
        ..HistoryParams::default()
    }));
    assert_eq!(q(&query, "start"), Some("1609459200000"));
}

/// rest/unit/RSP4b1/history-end-parameter-1
#[test]
fn rsp4b1_history_end_parameter_1() {
    let query = query_of(history_with(HistoryParams {
        end: Some(1_609_545_600_000),
        ..HistoryParams::default()
    }));
    assert_eq!(q(&query, "end"), Some("1609545600000"));
}

/// rest/unit/RSP4b1/history-start-end-params-2
#[test]
fn rsp4b1_history_start_end_params_2() {
    let query = query_of(history_with(HistoryParams {
        start: Some(1_609_459_200_000),
        end: Some(1_609_545_600_000),
        ..HistoryParams::default()
    }));
    assert_eq!(q(&query, "start"), Some("1609459200000"));
    assert_eq!(q(&query, "end"), Some("1609545600000"));
}

/// rest/unit/RSP4b2/history-direction-backwards-default-0
#[test]
fn rsp4b2_history_direction_backwards_default_0() {
    let query = query_of(history());
    assert!(matches!(q(&query, "direction"), None | Some("backwards")));
}

/// rest/unit/RSP4b2/history-direction-forwards-1
#[test]
fn rsp4b2_history_direction_forwards_1() {
    let query = query_of(history_with(HistoryParams {
        direction: Some(Direction::Forwards),
        ..HistoryParams::default()
    }));
    assert_eq!(q(&query, "direction"), Some("forwards"));
}

/// rest/unit/RSP4b2/history-direction-backwards-explicit-2
#[test]
fn rsp4b2_history_direction_backwards_explicit_2() {
    let query = query_of(history_with(HistoryParams {
        direction: Some(Direction::Backwards),
        ..HistoryParams::default()
    }));
    assert_eq!(q(&query, "direction"), Some("backwards"));
}

/// rest/unit/RSP4b3/history-limit-parameter-0
#[test]
fn rsp4b3_history_limit_parameter_0() {
    let query = query_of(history_with(HistoryParams {
        limit: Some(50),
        ..HistoryParams::default()
    }));
    assert_eq!(q(&query, "limit"), Some("50"));
}

/// rest/unit/RSP4b3/history-limit-default-100-1
#[test]
fn rsp4b3_history_limit_default_100_1() {
    let query = query_of(history());
    assert!(matches!(q(&query, "limit"), None | Some("100")));
}

/// rest/unit/RSP4b3/history-limit-max-1000-2
#[test]
fn rsp4b3_history_limit_max_1000_2() {
    let query = query_of(history_with(HistoryParams {
        limit: Some(1000),
        ..HistoryParams::default()
    }));
    assert_eq!(q(&query, "limit"), Some("1000"));
}

/// rest/unit/RSP4/history-all-parameters-0
#[test]
fn rsp4_history_all_parameters_0() {
    let query = query_of(history_with(HistoryParams {
        start: Some(1_609_459_200_000),
        end: Some(1_609_545_600_000),
        direction: Some(Direction::Forwards),
        limit: Some(50),
        ..HistoryParams::default()
    }));
    assert_eq!(q(&query, "start"), Some("1609459200000"));
    assert_eq!(q(&query, "end"), Some("1609545600000"));
    assert_eq!(q(&query, "direction"), Some("forwards"));
    assert_eq!(q(&query, "limit"), Some("50"));
    assert_eq!(query.len(), 4);
}

// ---- RSP5 -------------------------------------------------------------------------

fn one_member(data: &str, encoding: Option<&str>) -> PresenceMessage {
    let mut item = json!({"action": 1, "clientId": "c1", "data": data});
    if let Some(e) = encoding {
        item["encoding"] = e.into();
    }
    items(get(), json!([item])).remove(0)
}

/// rest/unit/RSP5/decode-string-data-0
#[test]
fn rsp5_decode_string_data_0() {
    let p = one_member("plain string data", None);
    assert_eq!(p.data, Data::from("plain string data"));
}

/// rest/unit/RSP5/decode-json-data-1
#[test]
fn rsp5_decode_json_data_1() {
    let p = one_member(r#"{"status":"online","count":42}"#, Some("json"));
    assert_eq!(
        p.data.as_json(),
        Some(&json!({"status": "online", "count": 42}))
    );
    assert_eq!(p.encoding, None);
}

/// rest/unit/RSP5/decode-base64-binary-2
#[test]
fn rsp5_decode_base64_binary_2() {
    let p = one_member("SGVsbG8gV29ybGQ=", Some("base64"));
    assert_eq!(p.data.as_bytes(), Some(&b"Hello World"[..]));
}

/// rest/unit/RSP5/decode-msgpack-binary-3
#[test]
fn rsp5_decode_msgpack_binary_3() {
    let item = rmpv::Value::Map(vec![
        ("action".into(), 1.into()),
        ("clientId".into(), "client1".into()),
        ("data".into(), rmpv::Value::Binary(b"some data".to_vec())),
    ]);
    let mut body = Vec::new();
    rmpv::encode::write_value(&mut body, &rmpv::Value::Array(vec![item])).expect("encode");
    let mut m = Mock::new(key_opts());
    m.queue(vec![HttpResponse {
        status: 200,
        headers: vec![("Content-Type".into(), "application/x-msgpack".into())],
        body,
    }]);
    let p = presence_page(m.ok(get())).items.remove(0);
    assert_eq!(p.data, Data::Binary(b"some data".to_vec().into()));
    assert_eq!(p.encoding, None);
}

/// rest/unit/RSP5/decode-utf8-data-4
#[test]
fn rsp5_decode_utf8_data_4() {
    let p = one_member("SGVsbG8gV29ybGQ=", Some("utf-8/base64"));
    assert_eq!(p.data, Data::from("Hello World"));
}

/// rest/unit/RSP5/decode-chained-encoding-5
#[test]
fn rsp5_decode_chained_encoding_5() {
    let p = one_member("eyJrZXkiOiJ2YWx1ZSJ9", Some("json/base64"));
    assert_eq!(p.data.as_json(), Some(&json!({"key": "value"})));
}

/// rest/unit/RSP5/decode-history-messages-6
#[test]
fn rsp5_decode_history_messages_6() {
    let got = items(
        history(),
        json!([{"action": 2, "clientId": "c1", "data": "{\"event\":\"entered\"}", "encoding": "json"}]),
    );
    assert_eq!(got[0].data.as_json(), Some(&json!({"event": "entered"})));
}

/// rest/unit/RSP5/decode-cipher-channel-7
///
/// With the channel's cipher set (RSL7), `json/utf-8/cipher+aes-128-cbc/
/// base64` data is decrypted and parsed; the same message on a channel
/// without a cipher keeps the steps it could not undo (RSL6b).
#[test]
fn rsp5_decode_cipher_channel_7() {
    let key = BASE64.decode("WUP6u0K7MXI5Zeo0VppPwg==").expect("key");
    let cipher = CipherParams::from_key(&key).expect("aes-128");
    let iv = [0x11u8; 16];
    let secret = cipher.encrypt_with_iv(br#"{"secret":"data"}"#, &iv);
    let answer = json!([{"action": 1, "clientId": "c1", "data": BASE64.encode(&secret),
                         "encoding": "json/utf-8/cipher+aes-128-cbc/base64"}]);
    let mut m = Mock::new(key_opts());
    m.queue(vec![json(200, answer.clone())]);
    m.run(Command::SetChannelOptions {
        channel: CHANNEL.into(),
        options: ChannelOptions {
            cipher: Some(cipher),
            ..ChannelOptions::default()
        },
    })
    .expect("setOptions");
    let p = presence_page(m.ok(get())).items.remove(0);
    assert_eq!(p.data.as_json(), Some(&json!({"secret": "data"})));
    assert_eq!(p.encoding, None);

    let p = items(get(), answer).remove(0);
    assert_eq!(p.encoding.as_deref(), Some("json/utf-8/cipher+aes-128-cbc"));
}

/// rest/unit/RSP5/presence-action-mapping-8
#[test]
fn rsp5_presence_action_mapping_8() {
    let got = items(
        history(),
        json!([{"action": 0, "clientId": "c1"}, {"action": 1, "clientId": "c2"},
               {"action": 2, "clientId": "c3"}, {"action": 3, "clientId": "c4"},
               {"action": 4, "clientId": "c5"}]),
    );
    let actions: Vec<PresenceAction> = got.iter().map(|p| p.action).collect();
    assert_eq!(
        actions,
        vec![
            PresenceAction::Absent,
            PresenceAction::Present,
            PresenceAction::Enter,
            PresenceAction::Leave,
            PresenceAction::Update
        ]
    );
}

// ---- pages, errors, headers -------------------------------------------------------

fn link_to(suffix: &str) -> String {
    format!("<{}?page=2>; rel=\"next\"", presence_path(suffix))
}

/// rest/unit/RSP3/get-pagination-link-header-1
#[test]
fn rsp3_get_pagination_link_header_1() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![with_header(
        json(
            200,
            json!([{"action": 1, "clientId": "client1"}, {"action": 1, "clientId": "client2"}]),
        ),
        "Link",
        &link_to(""),
    )]);
    let page = presence_page(m.ok(get()));
    assert_eq!(page.items.len(), 2);
    assert!(page.has_next());
}

/// rest/unit/RSP3/get-pagination-next-page-2
#[test]
fn rsp3_get_pagination_next_page_2() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![
        with_header(
            json(200, json!([{"action": 1, "clientId": "client1"}])),
            "Link",
            &link_to(""),
        ),
        json(200, json!([{"action": 1, "clientId": "client2"}])),
    ]);
    let page1 = presence_page(m.ok(get()));
    let page2 = presence_page(next(&mut m, page1.next.as_ref()));
    assert_eq!(page1.items[0].client_id.as_deref(), Some("client1"));
    assert_eq!(page2.items[0].client_id.as_deref(), Some("client2"));
    assert!(!page2.has_next());
    let r = m.last();
    assert_eq!(path(r), presence_path(""));
    assert_eq!(param(r, "page").as_deref(), Some("2"));
}

/// rest/unit/RSP4/history-pagination-1
///
/// The second page's action 4 is an update (TP2).
#[test]
fn rsp4_history_pagination_1() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![
        with_header(
            json(
                200,
                json!([{"action": 2, "clientId": "c1", "timestamp": 3000}]),
            ),
            "Link",
            &link_to("/history"),
        ),
        json(
            200,
            json!([{"action": 4, "clientId": "c1", "timestamp": 1000}]),
        ),
    ]);
    let page1 = presence_page(m.ok(history()));
    let page2 = presence_page(next(&mut m, page1.next.as_ref()));
    assert_eq!(page1.items[0].action, PresenceAction::Enter);
    assert_eq!(page2.items[0].action, PresenceAction::Update);
    assert_eq!(path(m.last()), presence_path("/history"));
}

/// rest/unit/RSP3/get-server-error-3
#[test]
fn rsp3_get_server_error_3() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![error(500, 50000, "Internal server error")]);
    let e = m.err(get());
    assert_eq!((e.code, e.status_code), (50000, Some(500)));
}

/// rest/unit/RSP4/history-auth-error-2
#[test]
fn rsp4_history_auth_error_2() {
    let mut m = Mock::new(ClientOptions {
        auto_connect: false,
        ..ClientOptions::with_key("invalid.key:secret")
    });
    m.queue(vec![error(401, 40101, "Invalid credentials")]);
    let e = m.err(history());
    assert_eq!((e.code, e.status_code), (40101, Some(401)));
}

/// rest/unit/RSP3/get-channel-not-found-4
#[test]
fn rsp3_get_channel_not_found_4() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![error(404, 40400, "Channel not found")]);
    let e = m.err(get());
    assert_eq!((e.code, e.status_code), (40400, Some(404)));
    assert_eq!(m.requests.len(), 1);
}

/// rest/unit/RSP3/get-standard-headers-5
#[test]
fn rsp3_get_standard_headers_5() {
    let mut m = Mock::new(key_opts());
    m.ok(get());
    let r = m.only();
    assert!(header(r, "X-Ably-Version").is_some());
    assert!(header(r, "Ably-Agent").is_some_and(|a| a.contains("ably-")));
    assert!(header(r, "Accept").is_some());
}

/// rest/unit/RSP3/get-request-id-enabled-6
#[test]
fn rsp3_get_request_id_enabled_6() {
    let mut m = Mock::new(ClientOptions {
        add_request_ids: true,
        ..key_opts()
    });
    m.ok(get());
    assert!(!request_id(m.only()).is_empty());
}

/// rest/unit/RSP4/history-auth-header-3
#[test]
fn rsp4_history_auth_header_3() {
    let mut m = Mock::new(key_opts());
    m.ok(history());
    let auth = header(m.only(), "Authorization").unwrap_or_default();
    assert!(auth.starts_with("Basic "));
}

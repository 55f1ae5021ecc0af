//! Request shapes and decoding of every operation.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand_core::SeedableRng;
use serde_json::json;

use super::*;
use crate::client::{HttpRequest, query_param};
use crate::codec::Format;
use crate::{Data, MessageAction, PresenceAction};

fn opts() -> ClientOptions {
    ClientOptions {
        format: Format::Json,
        ..ClientOptions::with_key("appId.keyId:keySecret")
    }
}

fn rng() -> rand_chacha::ChaCha20Rng {
    rand_chacha::ChaCha20Rng::from_seed([9; 32])
}

fn prepare(op: RestOp) -> RestRequest {
    op.prepare(&opts(), &mut rng()).expect("valid op")
}

fn http(op: RestOp) -> HttpRequest {
    let o = opts();
    prepare(op).to_http(
        &o,
        &o.primary_host(),
        RestAuth::Basic("appId.keyId:keySecret"),
    )
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn path(req: &HttpRequest) -> &str {
    let after = req.url.split_once("://").map_or("", |(_, r)| r);
    let path = &after[after.find('/').unwrap_or(after.len())..];
    path.split('?').next().unwrap_or_default()
}

fn json_response(status: u16, body: serde_json::Value) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: body.to_string().into_bytes(),
    }
}

#[test]
fn standard_headers_and_credentials() {
    let req = http(RestOp::Stats(StatsParams::default()));
    assert_eq!(req.method, "GET");
    assert_eq!(req.url, "https://main.realtime.ably.net/stats");
    assert_eq!(header(&req, "X-Ably-Version"), Some("6"));
    assert!(header(&req, "Ably-Agent").is_some_and(|a| a.starts_with("ably-rust/")));
    assert_eq!(header(&req, "Accept"), Some("application/json"));
    assert_eq!(header(&req, "Content-Type"), None); // no body
    let basic = header(&req, "Authorization").expect("auth");
    assert_eq!(
        basic,
        format!("Basic {}", BASE64.encode("appId.keyId:keySecret"))
    );

    // RSA3b: a token is sent base64-encoded as a bearer token.
    let o = opts();
    let bearer =
        prepare(RestOp::Stats(StatsParams::default())).to_http(&o, "h", RestAuth::Bearer("tok"));
    assert_eq!(
        header(&bearer, "Authorization"),
        Some(format!("Bearer {}", BASE64.encode("tok")).as_str())
    );

    // RSA7e2: the clientId travels with basic auth.
    let identified = ClientOptions {
        client_id: Some("amy".into()),
        ..opts()
    };
    let req = prepare(RestOp::Stats(StatsParams::default())).to_http(
        &identified,
        "h",
        RestAuth::Basic("k:s"),
    );
    assert_eq!(
        header(&req, "X-Ably-ClientId"),
        Some(BASE64.encode("amy").as_str())
    );

    // MessagePack, a custom port and no TLS.
    let local = ClientOptions {
        format: Format::MsgPack,
        endpoint: "localhost".into(),
        port: Some(8080),
        tls: false,
        ..ClientOptions::with_key("a.b:c")
    };
    let req = RestOp::Time
        .prepare(&local, &mut rng())
        .expect("time")
        .to_http(&local, "localhost", RestAuth::None);
    assert_eq!(req.url, "http://localhost:8080/time");
    assert_eq!(header(&req, "Accept"), Some("application/x-msgpack"));
}

#[test]
fn time_is_unauthenticated_and_reads_the_first_number() {
    let request = prepare(RestOp::Time);
    assert!(!request.authenticated);
    let call = RestCall::new(request.clone(), vec!["h".into()]);
    let req = call.http(&opts(), RestAuth::Basic("k:s"));
    assert_eq!(header(&req, "Authorization"), None); // RSC16
    assert_eq!(
        request.decode(&json_response(200, json!([1_704_067_200_000_i64]))),
        Ok(RestResult::Time(1_704_067_200_000))
    );
    let err = request
        .decode(&json_response(
            500,
            json!({"error": {"code": 50000, "statusCode": 500, "message": "boom"}}),
        ))
        .expect_err("500");
    assert_eq!((err.code, err.status_code), (50000, Some(500)));
}

#[test]
fn stats_params_and_items() {
    let req = http(RestOp::Stats(StatsParams {
        start: Some(1),
        end: Some(2),
        direction: Some(Direction::Forwards),
        limit: Some(10),
        unit: Some(StatsUnit::Hour),
    }));
    for (k, v) in [
        ("start", "1"),
        ("end", "2"),
        ("direction", "forwards"),
        ("limit", "10"),
        ("unit", "hour"),
    ] {
        assert_eq!(query_param(&req.url, k).as_deref(), Some(v), "{k}");
    }
    let request = prepare(RestOp::Stats(StatsParams::default()));
    let Ok(RestResult::Stats(page)) = request.decode(&json_response(
        200,
        json!([{"intervalId": "2024-01-01:00:00", "unit": "hour", "all": {"messages": {"count": 100}}}]),
    )) else {
        panic!("stats")
    };
    assert_eq!(
        page.items[0].interval_id.as_deref(),
        Some("2024-01-01:00:00")
    );
    assert_eq!(page.items[0].unit.as_deref(), Some("hour"));
    assert_eq!(page.items[0].value["all"]["messages"]["count"], 100);
    let bad = RestOp::Stats(StatsParams {
        start: Some(3),
        end: Some(2),
        ..StatsParams::default()
    })
    .prepare(&opts(), &mut rng());
    assert_eq!(bad.map_err(|e| e.code), Err(40000));
}

#[test]
fn publish_one_or_many_with_idempotent_ids() {
    let one = http(RestOp::Publish {
        channel: "chat:1".into(),
        messages: vec![Message::new("e", "hello")],
        params: BTreeMap::from([("_forceNack".to_owned(), "true".to_owned())]),
    });
    assert_eq!(one.method, "POST");
    assert_eq!(path(&one), "/channels/chat%3A1/messages");
    assert_eq!(query_param(&one.url, "_forceNack").as_deref(), Some("true"));
    assert_eq!(header(&one, "Content-Type"), Some("application/json"));
    let body: serde_json::Value =
        serde_json::from_slice(one.body.as_deref().unwrap_or_default()).expect("json");
    assert_eq!(body["name"], "e");
    let id = body["id"].as_str().expect("RSL1k1 id");
    let (base, index) = id.rsplit_once(':').expect("base:index");
    assert_eq!(index, "0");
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(base);
    assert_eq!(decoded.map(|b| b.len()), Ok(9));

    let many = http(RestOp::Publish {
        channel: "c".into(),
        messages: vec![Message::new("a", "1"), Message::new("b", "2")],
        params: BTreeMap::new(),
    });
    let body: serde_json::Value =
        serde_json::from_slice(many.body.as_deref().unwrap_or_default()).expect("json");
    let ids: Vec<&str> = body
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids[0].ends_with(":0") && ids[1].ends_with(":1"));
    assert_eq!(
        ids[0].rsplit_once(':').map(|p| p.0),
        ids[1].rsplit_once(':').map(|p| p.0)
    );

    // Client-supplied ids are kept; with the option off none are added.
    let mut given = Message::new("a", "1");
    given.id = Some("mine".into());
    let req = prepare(RestOp::Publish {
        channel: "c".into(),
        messages: vec![given, Message::new("b", "2")],
        params: BTreeMap::new(),
    });
    let body: serde_json::Value =
        serde_json::from_slice(req.body.as_deref().unwrap_or_default()).expect("json");
    assert_eq!(body[0]["id"], "mine");
    assert!(body[1].get("id").is_none());
    let off = ClientOptions {
        idempotent_rest_publishing: false,
        ..opts()
    };
    let req = RestOp::Publish {
        channel: "c".into(),
        messages: vec![Message::new("a", "1")],
        params: BTreeMap::new(),
    }
    .prepare(&off, &mut rng())
    .expect("publish");
    let body: serde_json::Value =
        serde_json::from_slice(req.body.as_deref().unwrap_or_default()).expect("json");
    assert!(body.get("id").is_none());

    // RSL1n: the serials of the answer.
    assert_eq!(
        req.decode(&json_response(201, json!({"serials": ["s1"]}))),
        Ok(RestResult::Published(vec![Some("s1".into())]))
    );
    assert_eq!(
        req.decode(&HttpResponse {
            status: 201,
            ..HttpResponse::default()
        }),
        Ok(RestResult::Published(vec![None]))
    );
}

#[test]
fn msgpack_publish_bodies_carry_binary_as_bin() {
    let o = ClientOptions {
        format: Format::MsgPack,
        ..opts()
    };
    let req = RestOp::Publish {
        channel: "c".into(),
        messages: vec![Message::new("bin", Data::from(vec![1u8, 2, 3]))],
        params: BTreeMap::new(),
    }
    .prepare(&o, &mut rng())
    .expect("publish");
    let sent: Message =
        crate::codec::decode(req.body.as_deref().unwrap_or_default(), Format::MsgPack)
            .expect("msgpack");
    assert_eq!(sent.data, Data::from(vec![1u8, 2, 3]));
    assert_eq!(sent.encoding, None);
}

#[test]
fn history_params_and_messages() {
    let req = http(RestOp::History {
        channel: "my channel".into(),
        params: HistoryParams {
            start: Some(1000),
            end: Some(2000),
            direction: Some(Direction::Backwards),
            limit: Some(50),
            from_serial: Some("s:0".into()),
            ..HistoryParams::default()
        },
    });
    assert_eq!(path(&req), "/channels/my%20channel/messages");
    for (k, v) in [
        ("start", "1000"),
        ("end", "2000"),
        ("direction", "backwards"),
        ("limit", "50"),
        ("fromSerial", "s:0"),
    ] {
        assert_eq!(query_param(&req.url, k).as_deref(), Some(v), "{k}");
    }
    // untilAttach is the realtime client's to resolve.
    let refused = RestOp::History {
        channel: "c".into(),
        params: HistoryParams {
            until_attach: true,
            ..HistoryParams::default()
        },
    }
    .prepare(&opts(), &mut rng());
    assert_eq!(refused.map_err(|e| e.code), Err(40000));

    let request = prepare(RestOp::History {
        channel: "c".into(),
        params: HistoryParams::default(),
    });
    let mut response = json_response(
        200,
        json!([
            {"id": "m1", "name": "a", "data": "aGk=", "encoding": "base64"},
            {"id": "m2", "name": "b", "data": {"k": 1}}
        ]),
    );
    response
        .headers
        .push(("Link".into(), r#"<./messages?cursor=x>; rel="next""#.into()));
    let Ok(RestResult::Messages(mut page)) = request.decode(&response) else {
        panic!("messages")
    };
    assert_eq!(page.items.len(), 2);
    // JSON base64 is undone by the codec; other encodings are the caller's.
    assert_eq!(page.items[0].data, Data::from(b"hi".to_vec()));
    assert!(decode_payloads(&mut page.items, None).is_empty());
    let next = page.next.clone().expect("next page");
    assert_eq!(next.path_and_query(), "/channels/c/messages?cursor=x");
    assert_eq!(prepare(RestOp::Send(next.clone())), next);
}

#[test]
fn presence_get_and_history() {
    let req = http(RestOp::PresenceGet {
        channel: "c".into(),
        params: PresenceParams {
            limit: Some(25),
            client_id: Some("u1".into()),
            connection_id: Some("conn1".into()),
        },
    });
    assert_eq!(path(&req), "/channels/c/presence");
    assert_eq!(query_param(&req.url, "clientId").as_deref(), Some("u1"));
    assert_eq!(
        query_param(&req.url, "connectionId").as_deref(),
        Some("conn1")
    );
    assert_eq!(query_param(&req.url, "limit").as_deref(), Some("25"));

    let request = prepare(RestOp::PresenceHistory {
        channel: "c".into(),
        params: HistoryParams::default(),
    });
    assert_eq!(request.path, "/channels/c/presence/history");
    let Ok(RestResult::Presence(page)) = request.decode(&json_response(
        200,
        json!([{"action": 2, "clientId": "a"}, {"action": 3, "clientId": "a"}]),
    )) else {
        panic!("presence")
    };
    assert_eq!(
        page.items.iter().map(|p| p.action).collect::<Vec<_>>(),
        [PresenceAction::Enter, PresenceAction::Leave]
    );
    assert!(page.is_last());
}

#[test]
fn get_message_and_versions() {
    let req = http(RestOp::GetMessage {
        channel: "c".into(),
        serial: "serial/with:special+chars".into(),
    });
    assert_eq!(
        path(&req),
        "/channels/c/messages/serial%2Fwith%3Aspecial%2Bchars"
    );
    let empty = RestOp::GetMessage {
        channel: "c".into(),
        serial: String::new(),
    }
    .prepare(&opts(), &mut rng());
    assert_eq!(empty.map_err(|e| e.code), Err(40003));

    let request = prepare(RestOp::GetMessage {
        channel: "c".into(),
        serial: "s".into(),
    });
    let Ok(RestResult::Message(m)) = request.decode(&json_response(
        200,
        json!({"id": "i", "serial": "s", "data": "x", "version": {"serial": "v1"}}),
    )) else {
        panic!("message")
    };
    assert_eq!(m.version.and_then(|v| v.serial).as_deref(), Some("v1"));

    let req = http(RestOp::GetMessageVersions {
        channel: "c".into(),
        serial: "s".into(),
        params: BTreeMap::from([("limit".to_owned(), "10".to_owned())]),
    });
    assert_eq!(path(&req), "/channels/c/messages/s/versions");
    assert_eq!(query_param(&req.url, "limit").as_deref(), Some("10"));
    let request = prepare(RestOp::GetMessageVersions {
        channel: "c".into(),
        serial: "s".into(),
        params: BTreeMap::new(),
    });
    let Ok(RestResult::Messages(page)) = request.decode(&json_response(
        200,
        json!([{"serial": "s", "action": 1}, {"serial": "s", "action": 0}]),
    )) else {
        panic!("versions")
    };
    assert_eq!(
        page.items.iter().map(|m| m.action).collect::<Vec<_>>(),
        [Some(MessageAction::Update), Some(MessageAction::Create)]
    );
}

#[test]
fn channel_status_and_token_exchange() {
    let req = http(RestOp::ChannelStatus {
        channel: "c".into(),
    });
    assert_eq!(path(&req), "/channels/c");
    let token_request = crate::auth::TokenRequest {
        key_name: "appId.keyId".into(),
        timestamp: 1,
        nonce: "n".repeat(16),
        mac: "m".into(),
        ..crate::auth::TokenRequest::default()
    };
    let request = prepare(RestOp::ExchangeToken(token_request));
    assert!(!request.authenticated);
    assert_eq!(request.path, "/keys/appId.keyId/requestToken");
    assert_eq!(
        request.decode(&json_response(200, json!({"token": "t", "expires": 5}))),
        Ok(RestResult::Token(TokenDetails {
            token: "t".into(),
            expires: Some(5),
            ..TokenDetails::default()
        }))
    );
}

#[test]
fn request_returns_any_status_with_headers() {
    let op = RestOp::Request {
        method: "patch".into(),
        path: "/channels/test/messages".into(),
        version: 3,
        params: vec![("limit".into(), "10".into())],
        body: Some(json!({"name": "event", "data": "payload"})),
        headers: vec![("X-Custom".into(), "v".into())],
    };
    let request = prepare(op);
    let req = request.to_http(&opts(), "h", RestAuth::Basic("k:s"));
    assert_eq!(req.method, "PATCH");
    assert_eq!(header(&req, "X-Ably-Version"), Some("3"));
    assert_eq!(header(&req, "X-Custom"), Some("v"));
    assert_eq!(header(&req, "Content-Type"), Some("application/json"));
    assert_eq!(query_param(&req.url, "limit").as_deref(), Some("10"));
    let body: serde_json::Value =
        serde_json::from_slice(req.body.as_deref().unwrap_or_default()).expect("json");
    assert_eq!(body["data"], "payload");

    let Ok(RestResult::Http(ok)) = request.decode(&json_response(201, json!({"id": "1"}))) else {
        panic!("http")
    };
    assert!(ok.success());
    assert_eq!(
        (ok.status_code, ok.items()),
        (201, &[json!({"id": "1"})][..])
    );

    let mut denied = json_response(
        401,
        json!({"error": {"code": 40101, "message": "Unauthorized"}}),
    );
    denied
        .headers
        .push(("X-Ably-Errorcode".into(), "40101".into()));
    denied
        .headers
        .push(("X-Ably-Errormessage".into(), "Token expired".into()));
    let Ok(RestResult::Http(err)) = request.decode(&denied) else {
        panic!("http")
    };
    assert!(!err.success());
    assert_eq!(err.error_code, Some(40101));
    assert_eq!(err.error_message.as_deref(), Some("Token expired"));
    assert!(err.headers.iter().any(|(n, _)| n == "X-Ably-Errorcode"));

    let bad = RestOp::Request {
        method: "BREW".into(),
        path: "/".into(),
        version: 3,
        params: Vec::new(),
        body: None,
        headers: Vec::new(),
    }
    .prepare(&opts(), &mut rng());
    assert_eq!(bad.map_err(|e| e.code), Err(40000));
}

#[test]
fn msgpack_items_and_request_bodies() {
    let o = ClientOptions {
        format: Format::MsgPack,
        ..opts()
    };
    let request = RestOp::Request {
        method: "POST".into(),
        path: "test".into(),
        version: 3,
        params: Vec::new(),
        body: Some(json!({"name": "event"})),
        headers: Vec::new(),
    }
    .prepare(&o, &mut rng())
    .expect("request");
    assert_eq!(request.path, "/test");
    let sent: serde_json::Value =
        rmp_serde::from_slice(request.body.as_deref().unwrap_or_default()).expect("msgpack body");
    assert_eq!(sent["name"], "event");
    let packed = rmp_serde::to_vec_named(&json!([{"id": "1"}])).expect("encode");
    let response = HttpResponse {
        status: 200,
        headers: vec![("Content-Type".into(), "application/x-msgpack".into())],
        body: packed,
    };
    let Ok(RestResult::Http(page)) = request.decode(&response) else {
        panic!("http")
    };
    assert_eq!(page.items(), &[json!({"id": "1"})][..]);
}

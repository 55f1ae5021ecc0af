//! The realtime client's REST proxy: stats (RTC5), time (RTC6),
//! request (RTC9), channel history (RTL10), getMessage (RTL28),
//! getMessageVersions (RTL31), presence history (RTP12), the REST host
//! following the connection's fallback host (RTN17e) and REST auth errors
//! (RSA4e). Ported from `uts/realtime/unit/{client/realtime_stats,
//! client/realtime_time, client/realtime_request, channels/channel_history,
//! channels/channel_get_message, channels/channel_message_versions,
//! presence/realtime_presence_history, connection/fallback_hosts_test,
//! auth/auth_callback_errors_test}.md`; the proxied behaviour is that of
//! `uts/rest/unit/{stats,time,request,channel/history,channel/get_message,
//! channel/message_versions,presence/rest_presence}.md`.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::json;

use ably_proto::client::{
    AuthResponse, ClientOptions, Command, Completion, ConnectionState, HttpRequest, HttpResponse,
    OpId, TokenSource, query_param,
};
use ably_proto::codec::{self, Format};
use ably_proto::rest::{
    Direction, HistoryParams, RestOp, RestRequest, RestResult, StatsParams, StatsUnit,
};
use ably_proto::{
    ChannelOptions, CipherParams, Data, ErrorInfo, Message, MessageAction, PresenceAction,
};

use crate::harness::*;

// ---- helpers ----------------------------------------------------------------------

const SEC: std::time::Duration = std::time::Duration::from_secs(1);

/// A JSON response.
fn json_response(status: u16, body: serde_json::Value) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: body.to_string().into_bytes(),
    }
}

/// A JSON response with a `Link` header.
fn linked(body: serde_json::Value, link: &str) -> HttpResponse {
    let mut r = json_response(200, body);
    r.headers.push(("Link".into(), link.into()));
    r
}

/// A connected client with a key and JSON; every HTTP request answered
/// `200 []` unless the test sets its own handler.
fn connected() -> Harness {
    let mut h = Harness::connecting_ok(key_options());
    h.on_message = Some(cooperative_service());
    h.on_http = Some(Box::new(|_| Some(Ok(json_response(200, json!([]))))));
    h.connect();
    h.await_state(ConnectionState::Connected, SEC);
    h
}

/// Connected, with `channel` attached.
fn attached_channel(channel: &str) -> Harness {
    let mut h = connected();
    let op = h.attach(channel);
    assert_eq!(h.completion(op), Some(Ok(Completion::Done)), "attach");
    h
}

/// Sends a REST operation.
fn rest(h: &mut Harness, op: RestOp) -> OpId {
    h.command(Command::Rest(Box::new(op)))
}

/// The result of a REST operation that succeeded.
fn rest_ok(h: &Harness, op: OpId) -> RestResult {
    match h.completion(op) {
        Some(Ok(Completion::Rest(result))) => *result,
        other => panic!("expected a REST result, got {other:?}"),
    }
}

/// The error of a REST operation that failed.
fn rest_err(h: &Harness, op: OpId) -> ErrorInfo {
    match h.completion(op) {
        Some(Err(e)) => e,
        other => panic!("expected an error, got {other:?}"),
    }
}

/// The REST requests made (not connectivity checks).
fn rest_requests(h: &Harness) -> Vec<&HttpRequest> {
    h.http_requests
        .iter()
        .map(|(_, r)| r)
        .filter(|r| !r.url.contains("is-the-internet-up"))
        .collect()
}

fn header<'a>(r: &'a HttpRequest, name: &str) -> Option<&'a str> {
    r.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The host of a URL, without port.
fn host_of(url: &str) -> &str {
    let after = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = &after[..after.find('/').unwrap_or(after.len())];
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
}

/// The path of a URL, without query.
fn path_of(url: &str) -> &str {
    let after = url.split_once("://").map_or(url, |(_, r)| r);
    let path = &after[after.find('/').unwrap_or(after.len())..];
    path.split('?').next().unwrap_or_default()
}

/// The scheme's `encodeURIComponent`, for expected paths.
fn encode_uri_component(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---- RSA4e ------------------------------------------------------------------------

/// realtime/unit/RSA4e/rest-callback-error-40170-0
///
/// A REST request that needs a token, with an authCallback that fails
/// with an error of its own (not an ErrorInfo from Ably), fails with
/// 40170/401; the request itself is never sent and the connection state
/// does not change, whether not yet connected or connected (RSA4e; the
/// second part renews after a 40142 from REST, RSA4b).
#[test]
fn rsa4e_rest_callback_error_40170_0() {
    let opts = ClientOptions {
        key: None,
        token_source: TokenSource::Callback,
        ..key_options()
    };
    let mut h = Harness::new(opts.clone());
    h.on_token = Some(Box::new(|_, _| {
        Some(Err(ErrorInfo::new(
            50000,
            500,
            "Network failure connecting to auth server",
        )))
    }));
    h.on_http = Some(Box::new(|_| Some(Ok(json_response(200, json!([]))))));

    let op = rest(
        &mut h,
        RestOp::ChannelStatus {
            channel: "test-channel".into(),
        },
    );

    let err = rest_err(&h, op);
    assert_eq!(err.code, 40170);
    assert_eq!(err.status_code, Some(401));
    assert!(!err.message.is_empty());
    assert_eq!(h.token_requests.len(), 1, "the authCallback was asked");
    assert!(
        rest_requests(&h).is_empty(),
        "the request itself is not sent"
    );
    assert_eq!(h.client.state(), ConnectionState::Initialized);
    assert!(h.changes().is_empty() && h.transports.is_empty());

    // Connected with a token from the callback; REST finds it expired and
    // the renewal fails: 40170, and the connection stays connected.
    let mut h = Harness::connecting_ok(opts);
    h.on_token = Some(Box::new(|n, _| {
        Some(if n == 1 {
            Ok(AuthResponse::Token("token-1".into()))
        } else {
            Err(ErrorInfo::new(50000, 500, "auth server down"))
        })
    }));
    h.on_http = Some(Box::new(|_| {
        Some(Ok(json_response(
            401,
            json!({"error": {"code": 40142, "statusCode": 401, "message": "Token expired"}}),
        )))
    }));
    h.connect();
    h.await_state(ConnectionState::Connected, SEC);
    let changes = h.changes().len();

    let op = rest(
        &mut h,
        RestOp::ChannelStatus {
            channel: "test-channel".into(),
        },
    );

    let err = rest_err(&h, op);
    assert_eq!((err.code, err.status_code), (40170, Some(401)));
    let sent = rest_requests(&h);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        header(sent[0], "Authorization"),
        Some(format!("Bearer {}", BASE64.encode("token-1")).as_str())
    );
    assert_eq!(h.token_requests.len(), 2, "one renewal");
    assert_eq!(h.client.state(), ConnectionState::Connected);
    assert_eq!(h.changes().len(), changes, "no connection state change");
}

// ---- RTC5, RTC6, RTC9 -------------------------------------------------------------------

/// realtime/unit/RTC5/stats-proxies-rest-0
///
/// `stats()` on the realtime client is RestClient#stats (RSC6): an
/// authenticated GET /stats with the standard headers and the params
/// start, end, direction, limit and unit (RSC6b), giving a PaginatedResult
/// of Stats that pages on (RSC6a).
#[test]
fn rtc5_stats_proxies_rest_0() {
    let mut h = connected();
    let mut calls = 0;
    h.on_http = Some(Box::new(move |_| {
        calls += 1;
        Some(Ok(if calls == 1 {
            linked(
                json!([
                    {"intervalId": "2024-01-01:00:00", "unit": "hour",
                     "all": {"messages": {"count": 100, "data": 5000}}},
                    {"intervalId": "2024-01-01:01:00", "unit": "hour",
                     "all": {"messages": {"count": 150, "data": 7500}}}
                ]),
                r#"<./stats?unit=hour&cursor=next-1>; rel="next""#,
            )
        } else {
            json_response(200, json!([]))
        }))
    }));
    let start = 1_704_067_200_000_i64;
    let end = 1_706_745_599_000_i64;

    let op = rest(
        &mut h,
        RestOp::Stats(StatsParams {
            start: Some(start),
            end: Some(end),
            direction: Some(Direction::Forwards),
            limit: Some(10),
            unit: Some(StatsUnit::Hour),
        }),
    );

    let RestResult::Stats(page) = rest_ok(&h, op) else {
        panic!("a page of stats")
    };
    assert_eq!(page.items.len(), 2);
    assert_eq!(
        page.items[0].interval_id.as_deref(),
        Some("2024-01-01:00:00")
    );
    assert_eq!(page.items[0].unit.as_deref(), Some("hour"));
    assert_eq!(
        page.items[1].interval_id.as_deref(),
        Some("2024-01-01:01:00")
    );
    assert_eq!(page.items[1].value["all"]["messages"]["count"], 150);
    let sent = rest_requests(&h);
    assert_eq!(sent.len(), 1);
    let request = sent[0];
    assert_eq!(request.method, "GET");
    assert_eq!(path_of(&request.url), "/stats");
    assert!(header(request, "Authorization").is_some_and(|a| a.starts_with("Basic ")));
    assert_eq!(header(request, "X-Ably-Version"), Some("6"));
    assert!(header(request, "Ably-Agent").is_some());
    for (k, v) in [
        ("start", start.to_string()),
        ("end", end.to_string()),
        ("direction", "forwards".into()),
        ("limit", "10".into()),
        ("unit", "hour".into()),
    ] {
        assert_eq!(query_param(&request.url, k), Some(v), "{k}");
    }
    let authorization = header(request, "Authorization").map(str::to_owned);

    // The next page.
    assert!(page.has_next());
    let next = rest(&mut h, RestOp::Send(page.next.clone().expect("next")));
    let RestResult::Stats(page2) = rest_ok(&h, next) else {
        panic!("stats")
    };
    assert!(page2.items.is_empty() && page2.is_last());
    let sent = rest_requests(&h);
    assert_eq!(path_of(&sent[1].url), "/stats");
    assert_eq!(
        query_param(&sent[1].url, "cursor").as_deref(),
        Some("next-1")
    );
    assert_eq!(
        header(sent[1], "Authorization").map(str::to_owned),
        authorization
    );

    // Defaults are left to the service (RSC6b2, RSC6b3, RSC6b4).
    let op = rest(&mut h, RestOp::Stats(StatsParams::default()));
    assert!(matches!(rest_ok(&h, op), RestResult::Stats(_)));
    let url = &rest_requests(&h)[2].url;
    for k in ["direction", "limit", "unit", "start", "end"] {
        assert_eq!(query_param(url, k), None, "{k}");
    }
}

/// realtime/unit/RTC6/time-proxies-rest-0
///
/// `time()` on the realtime client is RestClient#time (RSC16): GET /time
/// with the standard headers and no credentials, even with a key and
/// without TLS; the answer is the server time; errors are propagated.
#[test]
fn rtc6_time_proxies_rest_0() {
    let server_time_ms = 1_704_067_200_000_i64;
    let mut h = connected();
    h.on_http = Some(Box::new(move |_| {
        Some(Ok(json_response(200, json!([server_time_ms]))))
    }));

    let op = rest(&mut h, RestOp::Time);

    assert_eq!(rest_ok(&h, op), RestResult::Time(server_time_ms));
    let sent = rest_requests(&h);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method, "GET");
    assert_eq!(path_of(&sent[0].url), "/time");
    assert!(sent[0].url.starts_with("https://"));
    assert!(header(sent[0], "X-Ably-Version").is_some());
    assert!(header(sent[0], "Ably-Agent").is_some());
    assert_eq!(header(sent[0], "Authorization"), None);

    // Without TLS (and with token auth, RSC18), still no credentials.
    let mut h = Harness::new(ClientOptions {
        tls: false,
        use_token_auth: true,
        ..key_options()
    });
    h.on_http = Some(Box::new(move |_| {
        Some(Ok(json_response(200, json!([server_time_ms]))))
    }));
    let op = rest(&mut h, RestOp::Time);
    assert_eq!(rest_ok(&h, op), RestResult::Time(server_time_ms));
    let sent = rest_requests(&h);
    assert_eq!(sent.len(), 1, "no token was needed");
    assert!(sent[0].url.starts_with("http://"));
    assert_eq!(header(sent[0], "Authorization"), None);

    // Errors are propagated.
    let mut h = connected();
    h.on_http = Some(Box::new(|_| {
        Some(Ok(json_response(
            500,
            json!({"error": {"message": "Internal server error", "code": 50000, "statusCode": 500}}),
        )))
    }));
    let op = rest(&mut h, RestOp::Time);
    let err = rest_err(&h, op);
    assert_eq!((err.code, err.status_code), (50000, Some(500)));
}

/// realtime/unit/RTC9/request-proxies-rest-0
///
/// `request()` on the realtime client is RestClient#request (RSC19): any
/// of GET, POST, PUT, PATCH and DELETE with params, headers and a body in
/// the client's format (RSC19f, RSC19c), the given version in
/// `X-Ably-Version` (RSC19f1), the client's credentials (RSC19b); the
/// answer is an HttpPaginatedResponse with status, success, error code
/// and message headers and items decoded by content type (RSC19d, HP3-HP8).
#[test]
fn rtc9_request_proxies_rest_0() {
    fn request(method: &str, path: &str) -> RestOp {
        RestOp::Request {
            method: method.into(),
            path: path.into(),
            version: 3,
            params: Vec::new(),
            body: None,
            headers: Vec::new(),
        }
    }
    let mut h = connected();
    for (i, method) in ["GET", "POST", "PUT", "PATCH", "DELETE"]
        .into_iter()
        .enumerate()
    {
        let op = rest(&mut h, request(method, "/test"));
        assert!(matches!(rest_ok(&h, op), RestResult::Http(_)));
        let sent = rest_requests(&h);
        assert_eq!(sent[i].method, method);
        assert_eq!(path_of(&sent[i].url), "/test");
        assert_eq!(header(sent[i], "X-Ably-Version"), Some("3"));
        let basic = header(sent[i], "Authorization").expect("credentials");
        let decoded = BASE64
            .decode(basic.trim_start_matches("Basic "))
            .expect("base64");
        assert_eq!(decoded, b"appId.keyId:keySecret");
    }

    // Params, headers and a JSON body.
    h.on_http = Some(Box::new(|_| {
        Some(Ok(json_response(201, json!({"id": "123"}))))
    }));
    let op = rest(
        &mut h,
        RestOp::Request {
            method: "POST".into(),
            path: "/channels/test/messages".into(),
            version: 3,
            params: vec![
                ("limit".into(), "10".into()),
                ("direction".into(), "backwards".into()),
            ],
            body: Some(json!({"name": "event", "data": "payload"})),
            headers: vec![
                ("X-Custom-Header".into(), "custom-value".into()),
                ("X-Another".into(), "another-value".into()),
            ],
        },
    );
    let RestResult::Http(response) = rest_ok(&h, op) else {
        panic!("http")
    };
    assert_eq!(response.status_code, 201);
    assert!(response.success());
    assert_eq!(response.items(), &[json!({"id": "123"})][..]);
    let sent = *rest_requests(&h).last().expect("sent");
    assert_eq!(query_param(&sent.url, "limit").as_deref(), Some("10"));
    assert_eq!(
        query_param(&sent.url, "direction").as_deref(),
        Some("backwards")
    );
    assert_eq!(header(sent, "X-Custom-Header"), Some("custom-value"));
    assert_eq!(header(sent, "X-Another"), Some("another-value"));
    assert_eq!(header(sent, "Accept"), Some("application/json"));
    assert_eq!(header(sent, "Content-Type"), Some("application/json"));
    let body: serde_json::Value =
        serde_json::from_slice(sent.body.as_deref().unwrap_or_default()).expect("json body");
    assert_eq!(
        (body["name"].as_str(), body["data"].as_str()),
        (Some("event"), Some("payload"))
    );

    // Any status is an answer, with the error headers (HP4-HP7).
    for (status, success) in [
        (200, true),
        (204, true),
        (299, true),
        (400, false),
        (404, false),
    ] {
        h.on_http = Some(Box::new(move |_| {
            Some(Ok(if status >= 400 {
                json_response(
                    status,
                    json!({"error": {"code": u32::from(status) * 100, "message": "Error"}}),
                )
            } else {
                json_response(status, json!([]))
            }))
        }));
        let op = rest(&mut h, request("GET", "/test"));
        let RestResult::Http(r) = rest_ok(&h, op) else {
            panic!("http")
        };
        assert_eq!((r.status_code, r.success()), (status, success));
    }
    h.on_http = Some(Box::new(|_| {
        let mut r = json_response(
            401,
            json!({"error": {"code": 40101, "message": "Unauthorized"}}),
        );
        r.headers.push(("X-Ably-Errorcode".into(), "40101".into()));
        r.headers
            .push(("X-Ably-Errormessage".into(), "Token expired".into()));
        Some(Ok(r))
    }));
    let op = rest(&mut h, request("GET", "/test"));
    let RestResult::Http(r) = rest_ok(&h, op) else {
        panic!("http")
    };
    assert_eq!(r.error_code, Some(40101));
    assert_eq!(r.error_message.as_deref(), Some("Token expired"));
    assert!(
        r.headers
            .iter()
            .any(|(n, v)| n == "X-Ably-Errormessage" && v == "Token expired")
    );

    // MessagePack: headers, body and a response decoded by its content type.
    let mut h = Harness::connecting_ok(ClientOptions {
        format: Format::MsgPack,
        ..key_options()
    });
    h.on_http = Some(Box::new(|_| {
        Some(Ok(HttpResponse {
            status: 200,
            headers: vec![("Content-Type".into(), "application/x-msgpack".into())],
            body: rmp_serde::to_vec_named(&json!([{"id": "1"}])).expect("msgpack"),
        }))
    }));
    let op = rest(
        &mut h,
        RestOp::Request {
            method: "POST".into(),
            path: "/test".into(),
            version: 3,
            params: Vec::new(),
            body: Some(json!({"name": "event", "data": "value"})),
            headers: Vec::new(),
        },
    );
    let RestResult::Http(r) = rest_ok(&h, op) else {
        panic!("http")
    };
    assert_eq!(r.items(), &[json!({"id": "1"})][..]);
    let sent = rest_requests(&h)[0];
    assert_eq!(header(sent, "Accept"), Some("application/x-msgpack"));
    assert_eq!(header(sent, "Content-Type"), Some("application/x-msgpack"));
    let body: serde_json::Value =
        rmp_serde::from_slice(sent.body.as_deref().unwrap_or_default()).expect("msgpack body");
    assert_eq!(body["data"], "value");
}

// ---- RTL10, RTL28, RTL31 ------------------------------------------------------------------

/// realtime/unit/RTL10a/supports-rest-params-0
///
/// Channel history on the realtime client is RestChannel#history (RSL2):
/// GET /channels/<name>/messages with start, end, direction and limit
/// (RSL2b), a PaginatedResult of messages whose payloads are decoded with
/// the channel's cipher (RTL10c, RSL6), following `Link` pages with the
/// same credentials; `untilAttach` adds `fromSerial` (RTL10b).
#[test]
fn rtl10a_supports_rest_params_0() {
    let ch = "test-RTL10a channel";
    let key = [7u8; 16];
    let cipher = CipherParams::from_key(&key).expect("aes-128");
    let mut h = connected();
    let set = h.command(Command::SetChannelOptions {
        channel: ch.into(),
        options: ChannelOptions::default().cipher(cipher.clone()),
    });
    assert!(matches!(h.completion(set), Some(Ok(_))));
    let op = h.attach(ch);
    assert_eq!(h.completion(op), Some(Ok(Completion::Done)));

    // The service has an encrypted message and a plain one.
    let mut secret = Message::new("secret", "hidden text");
    secret.id = Some("m1".into());
    secret
        .encode(Some(&cipher), h.client.rng())
        .expect("encrypt");
    let mut plain = Message::new("plain", json!({"k": 1}));
    plain.id = Some("m2".into());
    plain.encode(None, h.client.rng()).expect("encode");
    let body: serde_json::Value =
        serde_json::from_slice(&codec::encode(&vec![secret, plain], Format::Json).expect("json"))
            .expect("json");
    let mut calls = 0;
    h.on_http = Some(Box::new(move |_| {
        calls += 1;
        Some(Ok(if calls == 1 {
            linked(
                body.clone(),
                r#"<./messages?start=1000&end=2000&limit=2&direction=backwards&cursor=c2>; rel="next", <./messages?start=1000&end=2000&limit=2&direction=backwards>; rel="first""#,
            )
        } else {
            json_response(200, json!([{"id": "m3", "name": "older", "data": "x"}]))
        }))
    }));

    let op = rest(
        &mut h,
        RestOp::History {
            channel: ch.into(),
            params: HistoryParams {
                start: Some(1000),
                end: Some(2000),
                direction: Some(Direction::Backwards),
                limit: Some(2),
                ..HistoryParams::default()
            },
        },
    );

    let RestResult::Messages(page) = rest_ok(&h, op) else {
        panic!("a page of messages")
    };
    let sent = rest_requests(&h);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method, "GET");
    assert_eq!(
        path_of(&sent[0].url),
        format!("/channels/{}/messages", encode_uri_component(ch))
    );
    for (k, v) in [
        ("start", "1000"),
        ("end", "2000"),
        ("direction", "backwards"),
        ("limit", "2"),
    ] {
        assert_eq!(query_param(&sent[0].url, k).as_deref(), Some(v), "{k}");
    }
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.items[0].data, Data::from("hidden text"));
    assert_eq!(page.items[0].encoding, None);
    assert_eq!(page.items[1].data, Data::from(json!({"k": 1})));
    assert!(page.has_next() && page.first.is_some());

    let next = rest(&mut h, RestOp::Send(page.next.clone().expect("next")));
    let RestResult::Messages(page2) = rest_ok(&h, next) else {
        panic!("messages")
    };
    assert_eq!(page2.items[0].id.as_deref(), Some("m3"));
    assert!(page2.is_last());
    let sent = rest_requests(&h);
    assert_eq!(path_of(&sent[1].url), path_of(&sent[0].url));
    assert_eq!(query_param(&sent[1].url, "cursor").as_deref(), Some("c2"));
    assert_eq!(
        header(sent[1], "Authorization"),
        header(sent[0], "Authorization")
    );

    // RTL10b: untilAttach bounds the query by the attachSerial.
    let mut h = connected();
    h.on_message = Some(Box::new(|pm| match pm.action {
        ably_proto::Action::Attach => vec![Reply::Send(attached_with(
            pm.channel.as_deref().unwrap_or_default(),
            ably_proto::Flags::NONE,
            Some("serial-abc:0"),
        ))],
        _ => vec![],
    }));
    let op = h.attach("bounded");
    assert_eq!(h.completion(op), Some(Ok(Completion::Done)));
    let op = rest(
        &mut h,
        RestOp::History {
            channel: "bounded".into(),
            params: HistoryParams {
                until_attach: true,
                ..HistoryParams::default()
            },
        },
    );
    assert!(matches!(rest_ok(&h, op), RestResult::Messages(_)));
    let sent = rest_requests(&h);
    assert_eq!(
        query_param(&sent[0].url, "fromSerial").as_deref(),
        Some("serial-abc:0")
    );
    let op = rest(
        &mut h,
        RestOp::History {
            channel: "not-attached".into(),
            params: HistoryParams {
                until_attach: true,
                ..HistoryParams::default()
            },
        },
    );
    assert_eq!(rest_err(&h, op).code, 40000);
}

/// realtime/unit/RTL28/identical-to-rest-0
///
/// getMessage on the realtime client is RestChannel#getMessage (RSL11): a
/// GET of /channels/<name>/messages/<serial>, both URL-encoded, without a
/// body (RSL11b); the answer is the decoded Message (RSL11c); an empty
/// serial fails with 40003 (RSL11a).
#[test]
fn rtl28_identical_to_rest_0() {
    let ch = "test-RTL28:chan";
    let mut h = attached_channel(ch);
    h.on_http = Some(Box::new(|_| {
        Some(Ok(json_response(
            200,
            json!({
                "id": "msg-id-1",
                "name": "test-event",
                "data": "hello world",
                "serial": "serial-xyz",
                "clientId": "client-1",
                "timestamp": 1_700_000_000_000_i64,
                "extras": {"push": {"notification": {"title": "Test"}}},
                "version": {"serial": "version-serial-1", "timestamp": 1_700_000_000_000_i64, "clientId": "client-1"}
            }),
        )))
    }));

    let op = rest(
        &mut h,
        RestOp::GetMessage {
            channel: ch.into(),
            serial: "serial-xyz".into(),
        },
    );

    let RestResult::Message(msg) = rest_ok(&h, op) else {
        panic!("a message")
    };
    assert_eq!(msg.id.as_deref(), Some("msg-id-1"));
    assert_eq!(msg.name.as_deref(), Some("test-event"));
    assert_eq!(msg.data, Data::from("hello world"));
    assert_eq!(msg.serial.as_deref(), Some("serial-xyz"));
    assert_eq!(msg.client_id.as_deref(), Some("client-1"));
    assert_eq!(msg.timestamp, Some(1_700_000_000_000));
    assert_eq!(
        msg.extras,
        Some(json!({"push": {"notification": {"title": "Test"}}}))
    );
    assert_eq!(
        msg.version.and_then(|v| v.serial).as_deref(),
        Some("version-serial-1")
    );
    let sent = rest_requests(&h);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method, "GET");
    assert_eq!(
        path_of(&sent[0].url),
        format!("/channels/{}/messages/serial-xyz", encode_uri_component(ch))
    );
    assert!(sent[0].body.as_ref().is_none_or(|b| b.is_empty()));

    let special = "serial/with:special+chars";
    let op = rest(
        &mut h,
        RestOp::GetMessage {
            channel: ch.into(),
            serial: special.into(),
        },
    );
    assert!(matches!(rest_ok(&h, op), RestResult::Message(_)));
    assert_eq!(
        path_of(&rest_requests(&h)[1].url),
        format!(
            "/channels/{}/messages/{}",
            encode_uri_component(ch),
            encode_uri_component(special)
        )
    );

    let op = rest(
        &mut h,
        RestOp::GetMessage {
            channel: ch.into(),
            serial: String::new(),
        },
    );
    assert_eq!(rest_err(&h, op).code, 40003);
    assert_eq!(
        rest_requests(&h).len(),
        2,
        "nothing sent for an empty serial"
    );
}

/// realtime/unit/RTL31/identical-to-rest-0
///
/// getMessageVersions on the realtime client is
/// RestChannel#getMessageVersions (RSL14): a GET of
/// /channels/<name>/messages/<serial>/versions (RSL14b) with the params in
/// the query (RSL14a), giving a PaginatedResult of Messages (RSL14c).
#[test]
fn rtl31_identical_to_rest_0() {
    let ch = "test-RTL31";
    let mut h = attached_channel(ch);
    h.on_http = Some(Box::new(|_| {
        Some(Ok(json_response(
            200,
            json!([
                {"name": "evt", "data": "updated-data", "serial": "msg-serial-1", "action": 1,
                 "version": {"serial": "vs2", "timestamp": 1_700_000_002_000_i64, "clientId": "user-1", "description": "edit"}},
                {"name": "evt", "data": "original-data", "serial": "msg-serial-1", "action": 0,
                 "version": {"serial": "vs1", "timestamp": 1_700_000_001_000_i64}}
            ]),
        )))
    }));

    let op = rest(
        &mut h,
        RestOp::GetMessageVersions {
            channel: ch.into(),
            serial: "msg-serial-1".into(),
            params: BTreeMap::from([
                ("direction".to_owned(), "backwards".to_owned()),
                ("limit".to_owned(), "10".to_owned()),
            ]),
        },
    );

    let RestResult::Messages(page) = rest_ok(&h, op) else {
        panic!("a page of messages")
    };
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.items[0].data, Data::from("updated-data"));
    assert_eq!(page.items[0].action, Some(MessageAction::Update));
    let version = page.items[0].version.clone().expect("version");
    assert_eq!(version.serial.as_deref(), Some("vs2"));
    assert_eq!(version.description.as_deref(), Some("edit"));
    assert_eq!(page.items[1].data, Data::from("original-data"));
    assert_eq!(page.items[1].action, Some(MessageAction::Create));
    assert!(page.is_last());
    let sent = rest_requests(&h);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method, "GET");
    assert_eq!(
        path_of(&sent[0].url),
        format!("/channels/{ch}/messages/msg-serial-1/versions")
    );
    assert_eq!(
        query_param(&sent[0].url, "direction").as_deref(),
        Some("backwards")
    );
    assert_eq!(query_param(&sent[0].url, "limit").as_deref(), Some("10"));
}

// ---- RTN17e -------------------------------------------------------------------------------

/// realtime/unit/RTN17e/http-uses-same-fallback-0
///
/// The primary refuses the connection, a fallback host takes it; REST
/// requests then go first to that fallback host, and when it fails (5xx)
/// the usual order follows: the primary, then other fallbacks (RSC15).
#[test]
fn rtn17e_http_uses_same_fallback_0() {
    let mut h = Harness::new(ClientOptions {
        fallback_hosts: None, // the default fallbacks of `main` (REC2c4)
        ..key_options()
    });
    h.on_attempt = Some(Box::new(|n, _| {
        if n == 1 {
            Attempt::Refused
        } else {
            Attempt::Success(connected_with(
                "connection-id",
                "connection-key",
                ably_proto::ConnectionDetails {
                    connection_key: Some("connection-key".into()),
                    max_idle_interval: Some(15_000),
                    connection_state_ttl: Some(120_000),
                    ..ably_proto::ConnectionDetails::default()
                },
            ))
        }
    }));
    h.on_http = Some(Box::new(|req| {
        Some(Ok(if req.url.contains("is-the-internet-up") {
            HttpResponse {
                status: 200,
                headers: Vec::new(),
                body: b"yes".to_vec(),
            }
        } else if req.url.contains("/history") || req.url.contains("/messages") {
            json_response(200, json!([]))
        } else {
            json_response(200, json!({}))
        }))
    }));

    h.connect();
    h.await_state(ConnectionState::Connected, 10 * SEC);

    let attempts: Vec<String> = h
        .transports
        .iter()
        .map(|t| host_of(&t.url).to_owned())
        .collect();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0], "main.realtime.ably.net");
    let connected_fallback_host = attempts[1].clone();
    assert!(connected_fallback_host.ends_with(".fallback.ably-realtime.com"));

    let op = rest(
        &mut h,
        RestOp::History {
            channel: "test-RTN17e".into(),
            params: HistoryParams::default(),
        },
    );
    assert!(matches!(rest_ok(&h, op), RestResult::Messages(_)));
    let history: Vec<&HttpRequest> = rest_requests(&h)
        .into_iter()
        .filter(|r| r.url.contains("/messages"))
        .collect();
    assert!(!history.is_empty());
    assert_eq!(host_of(&history[0].url), connected_fallback_host);

    // That host failing, the normal fallback behaviour follows.
    let failing = connected_fallback_host.clone();
    h.on_http = Some(Box::new(move |req| {
        Some(Ok(if host_of(&req.url) == failing {
            json_response(
                503,
                json!({"error": {"code": 50300, "message": "unavailable"}}),
            )
        } else {
            json_response(200, json!([]))
        }))
    }));
    let before = rest_requests(&h).len();
    let op = rest(
        &mut h,
        RestOp::History {
            channel: "test-RTN17e".into(),
            params: HistoryParams::default(),
        },
    );
    assert!(matches!(rest_ok(&h, op), RestResult::Messages(_)));
    let hosts: Vec<&str> = rest_requests(&h)[before..]
        .iter()
        .map(|r| host_of(&r.url))
        .collect();
    assert_eq!(
        hosts,
        [connected_fallback_host.as_str(), "main.realtime.ably.net"]
    );
    assert_eq!(h.client.state(), ConnectionState::Connected);
}

// ---- RTP12 --------------------------------------------------------------------------------

/// realtime/unit/RTP12a/history-supports-rest-params-0
///
/// Presence history on the realtime client is RestPresence#history
/// (RSP4): GET /channels/<name>/presence/history with start, end,
/// direction and limit (RSP4b).
#[test]
fn rtp12a_history_supports_rest_params_0() {
    let channel_name = "test-RTP12a-7f3a";
    let mut h = attached_channel(channel_name);

    let op = rest(
        &mut h,
        RestOp::PresenceHistory {
            channel: channel_name.into(),
            params: HistoryParams {
                start: Some(1000),
                end: Some(2000),
                direction: Some(Direction::Backwards),
                limit: Some(50),
                ..HistoryParams::default()
            },
        },
    );

    assert!(matches!(rest_ok(&h, op), RestResult::Presence(_)));
    let captured = rest_requests(&h);
    assert_eq!(captured.len(), 1);
    assert_eq!(captured[0].method, "GET");
    assert_eq!(
        path_of(&captured[0].url),
        format!(
            "/channels/{}/presence/history",
            encode_uri_component(channel_name)
        )
    );
    for (k, v) in [
        ("start", "1000"),
        ("end", "2000"),
        ("direction", "backwards"),
        ("limit", "50"),
    ] {
        assert_eq!(query_param(&captured[0].url, k).as_deref(), Some(v), "{k}");
    }
}

/// realtime/unit/RTP12c/history-returns-paginated-result-0
///
/// Presence history returns a PaginatedResult whose items are the
/// PresenceMessages of the first page, actions decoded from their wire
/// numbers.
#[test]
fn rtp12c_history_returns_paginated_result_0() {
    let channel_name = "test-RTP12c-91bc";
    let mut h = attached_channel(channel_name);
    h.on_http = Some(Box::new(|_| {
        Some(Ok(json_response(
            200,
            json!([
                {"action": 2, "clientId": "alice", "timestamp": 1000},
                {"action": 4, "clientId": "alice", "timestamp": 2000},
                {"action": 3, "clientId": "alice", "timestamp": 3000}
            ]),
        )))
    }));

    let op = rest(
        &mut h,
        RestOp::PresenceHistory {
            channel: channel_name.into(),
            params: HistoryParams::default(),
        },
    );

    let RestResult::Presence(result) = rest_ok(&h, op) else {
        panic!("a PaginatedResult of presence messages")
    };
    assert_eq!(result.items.len(), 3);
    assert_eq!(result.items[0].client_id.as_deref(), Some("alice"));
    assert_eq!(result.items[0].action, PresenceAction::Enter);
    assert_eq!(result.items[1].action, PresenceAction::Update);
    assert_eq!(result.items[2].action, PresenceAction::Leave);
    assert_eq!(result.items[2].timestamp, Some(3000));
    assert!(result.is_last());
}

/// A page request can be kept and sent later: it is a plain value.
#[test]
fn page_requests_are_plain_values() {
    let mut h = connected();
    h.on_http = Some(Box::new(|_| {
        Some(Ok(linked(
            json!([]),
            r#"</channels/c/messages?cursor=z>; rel="next""#,
        )))
    }));
    let op = rest(
        &mut h,
        RestOp::History {
            channel: "c".into(),
            params: HistoryParams::default(),
        },
    );
    let RestResult::Messages(page) = rest_ok(&h, op) else {
        panic!("messages")
    };
    let next: RestRequest = page.next.expect("next");
    assert_eq!(next.path_and_query(), "/channels/c/messages?cursor=z");
}

/// With `useTokenAuth` and a key, a REST request first exchanges a signed
/// TokenRequest, then carries the token (RSA4, RSA3b); the token is kept.
#[test]
fn token_auth_with_a_key_signs_and_exchanges_first() {
    let mut h = Harness::new(ClientOptions {
        use_token_auth: true,
        ..key_options()
    });
    h.on_http = Some(Box::new(|req| {
        Some(Ok(if req.url.contains("/requestToken") {
            json_response(
                200,
                json!({"token": "issued", "expires": START_WALL_MS + 3_600_000}),
            )
        } else {
            json_response(200, json!([]))
        }))
    }));
    let op = rest(&mut h, RestOp::Stats(StatsParams::default()));
    assert!(matches!(rest_ok(&h, op), RestResult::Stats(_)));
    let sent = rest_requests(&h);
    assert_eq!(sent.len(), 2);
    assert_eq!(path_of(&sent[0].url), "/keys/appId.keyId/requestToken");
    assert_eq!(path_of(&sent[1].url), "/stats");
    assert_eq!(
        header(sent[1], "Authorization"),
        Some(format!("Bearer {}", BASE64.encode("issued")).as_str())
    );
    assert_eq!(
        h.client.token_details().map(|t| t.token.as_str()),
        Some("issued")
    );
    // The next request reuses it.
    let op = rest(&mut h, RestOp::Stats(StatsParams::default()));
    assert!(matches!(rest_ok(&h, op), RestResult::Stats(_)));
    assert_eq!(rest_requests(&h).len(), 3);
}

/// `requestToken` (RSA8) returns a token without using it or touching
/// the connection; an authCallback failure is 40170 (RSA4e).
#[test]
fn request_token_returns_a_token_without_using_it() {
    let mut h = Harness::new(ClientOptions {
        key: None,
        token: Some("current".into()),
        token_source: TokenSource::Callback,
        ..key_options()
    });
    h.on_token = Some(Box::new(|n, params| {
        assert_eq!(params.ttl, Some(60_000));
        Some(if n == 1 {
            Ok(AuthResponse::Token("fresh".into()))
        } else {
            Err(ErrorInfo::new(40000, 400, "callback broke"))
        })
    }));
    let params = ably_proto::auth::TokenParams {
        ttl: Some(60_000),
        ..Default::default()
    };
    let op = h.command(Command::RequestToken(Some(params.clone())));
    match rest_ok(&h, op) {
        RestResult::Token(t) => assert_eq!(t.token, "fresh"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        h.client.token_details().map(|t| t.token.as_str()),
        Some("current")
    );
    let op = h.command(Command::RequestToken(Some(params)));
    let err = rest_err(&h, op);
    assert_eq!((err.code, err.status_code), (40170, Some(401)));
    assert_eq!(h.client.state(), ConnectionState::Initialized);
}

/// An attempt with no answer within httpRequestTimeout counts as a
/// timeout (RSC15l2): the next host is tried; the late answer is ignored.
#[test]
fn unanswered_attempts_time_out_and_fall_back() {
    let mut h = Harness::new(ClientOptions {
        fallback_hosts: Some(vec!["fb1.example.com".into()]),
        ..key_options()
    });
    h.on_http = Some(Box::new(|req| {
        (host_of(&req.url) == "fb1.example.com").then(|| Ok(json_response(200, json!([42]))))
    }));
    let op = rest(&mut h, RestOp::Time);
    assert_eq!(h.completion(op), None);
    assert!(h.client.poll_timeout().is_some());
    h.advance_ms(10_000);
    assert_eq!(rest_ok(&h, op), RestResult::Time(42));
    let hosts: Vec<&str> = rest_requests(&h).iter().map(|r| host_of(&r.url)).collect();
    assert_eq!(hosts, ["main.realtime.ably.net", "fb1.example.com"]);
    let (late, _) = h.http_requests[0].clone();
    h.input(ably_proto::client::Input::Http(
        late,
        Ok(json_response(200, json!([1]))),
    ));
    assert_eq!(h.client.poll_timeout(), None);

    // Every host silent: the timeout is the error.
    h.on_http = None;
    let op = rest(&mut h, RestOp::Time);
    h.advance_ms(20_000);
    let err = rest_err(&h, op);
    assert_eq!((err.code, err.status_code), (50003, Some(504)));
}

/// RSC15f: a fallback that answered goes first for fallbackRetryTimeout;
/// after that the primary is first again.
#[test]
fn a_working_fallback_is_remembered_for_a_while() {
    let mut h = Harness::new(ClientOptions {
        fallback_hosts: Some(vec!["fb1.example.com".into()]),
        ..key_options()
    });
    h.on_http = Some(Box::new(|req| {
        Some(Ok(if host_of(&req.url) == "main.realtime.ably.net" {
            json_response(500, json!({"error": {"code": 50000}}))
        } else {
            json_response(200, json!([1]))
        }))
    }));
    let first_hosts = |h: &mut Harness| {
        let before = rest_requests(h).len();
        let op = rest(h, RestOp::Time);
        assert_eq!(rest_ok(h, op), RestResult::Time(1));
        host_of(&rest_requests(h)[before].url).to_owned()
    };
    assert_eq!(first_hosts(&mut h), "main.realtime.ably.net");
    assert_eq!(first_hosts(&mut h), "fb1.example.com");
    h.advance(std::time::Duration::from_secs(601));
    assert_eq!(first_hosts(&mut h), "main.realtime.ably.net");
}

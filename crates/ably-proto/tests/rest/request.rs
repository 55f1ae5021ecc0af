//! `request()` (RSC19) and its HttpPaginatedResponse (HP1-HP8). Ported
//! from `uts/rest/unit/request.md`.

use std::time::Duration;

use serde_json::json;

use ably_proto::client::{ClientOptions, HttpResponse};
use ably_proto::codec::Format;
use ably_proto::rest::{RestOp, RestResult};

use crate::harness::*;

/// `request(method, path, version: 3)` with params, body and headers.
fn req(
    method: &str,
    path: &str,
    params: &[(&str, &str)],
    body: Option<serde_json::Value>,
    headers: &[(&str, &str)],
) -> RestOp {
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    RestOp::Request {
        method: method.into(),
        path: path.into(),
        version: 3,
        params: pairs(params),
        body,
        headers: pairs(headers),
    }
}

fn get(path: &str) -> RestOp {
    req("GET", path, &[], None, &[])
}

fn response(m: &mut Mock, op: RestOp) -> ably_proto::rest::HttpPaginatedResponse {
    http_page(m.ok(op))
}

/// rest/unit/RSC19f/supports-http-methods-0
#[test]
fn rsc19f_supports_http_methods_0() {
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
        let mut m = Mock::new(key_opts());
        let r = response(&mut m, req(method, "/test", &[], None, &[]));
        assert!(r.success());
        let sent = m.only();
        assert_eq!(sent.method, method);
        assert_eq!(path(sent), "/test");
    }
    // Any case is accepted; other methods are refused before sending.
    let mut m = Mock::new(key_opts());
    response(&mut m, req("patch", "/test", &[], None, &[]));
    assert_eq!(m.only().method, "PATCH");
    let e = m.err(req("TRACE", "/test", &[], None, &[]));
    assert_eq!(e.code, 40000);
    assert_eq!(m.requests.len(), 1);
}

/// rest/unit/RSC19f/query-params-passed-1
#[test]
fn rsc19f_query_params_passed_1() {
    let mut m = Mock::new(key_opts());
    response(
        &mut m,
        req(
            "GET",
            "/channels/test/messages",
            &[("limit", "10"), ("direction", "backwards")],
            None,
            &[],
        ),
    );
    let r = m.only();
    assert_eq!(param(r, "limit").as_deref(), Some("10"));
    assert_eq!(param(r, "direction").as_deref(), Some("backwards"));
    assert_eq!(path(r), "/channels/test/messages");
}

/// rest/unit/RSC19f/custom-headers-passed-2
#[test]
fn rsc19f_custom_headers_passed_2() {
    let mut m = Mock::new(key_opts());
    response(
        &mut m,
        req(
            "GET",
            "/test",
            &[],
            None,
            &[
                ("X-Custom-Header", "custom-value"),
                ("X-Another", "another-value"),
            ],
        ),
    );
    let r = m.only();
    assert_eq!(header(r, "X-Custom-Header"), Some("custom-value"));
    assert_eq!(header(r, "X-Another"), Some("another-value"));
}

/// rest/unit/RSC19f/request-body-sent-3
#[test]
fn rsc19f_request_body_sent_3() {
    let mut m = Mock::new(json_opts());
    m.queue(vec![json(201, json!({"id": "123"}))]);
    let r = response(
        &mut m,
        req(
            "POST",
            "/channels/test/messages",
            &[],
            Some(json!({"name": "event", "data": "payload"})),
            &[],
        ),
    );
    assert_eq!(r.status_code, 201);
    let b = body(m.only());
    assert_eq!(b["name"], "event");
    assert_eq!(b["data"], "payload");
}

/// rest/unit/RSC19f1/version-param-sets-header-0
#[test]
fn rsc19f1_version_param_sets_header_0() {
    let mut m = Mock::new(key_opts());
    for version in [2, 3] {
        response(
            &mut m,
            RestOp::Request {
                method: "GET".into(),
                path: "/test".into(),
                version,
                params: Vec::new(),
                body: None,
                headers: Vec::new(),
            },
        );
        assert_eq!(
            header(m.last(), "X-Ably-Version"),
            Some(version.to_string().as_str())
        );
    }
}

/// rest/unit/RSC19b/uses-configured-auth-0
#[test]
fn rsc19b_uses_configured_auth_0() {
    let mut m = Mock::new(key_opts());
    response(&mut m, get("/test"));
    let auth = header(m.only(), "Authorization").expect("Authorization");
    assert!(auth.starts_with("Basic "));
    assert_eq!(basic(m.only()).as_deref(), Some("appId.keyId:keySecret"));

    let mut m = Mock::new(ClientOptions::with_token("my-token-string"));
    response(&mut m, get("/test"));
    let auth = header(m.only(), "Authorization").expect("Authorization");
    assert!(auth.starts_with("Bearer "));
    assert_eq!(bearer(m.only()).as_deref(), Some("my-token-string"));
}

/// rest/unit/RSC19b/cannot-override-auth-1
#[test]
fn rsc19b_cannot_override_auth_1() {
    let mut m = Mock::new(key_opts());
    response(
        &mut m,
        req(
            "GET",
            "/test",
            &[],
            None,
            &[("Authorization", "Bearer malicious-token")],
        ),
    );
    let r = m.only();
    let auth: Vec<&str> = r
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(auth.len(), 1, "{auth:?}");
    assert!(auth[0].starts_with("Basic "));
    assert_ne!(auth[0], "Bearer malicious-token");
}

/// rest/unit/RSC19c/protocol-headers-json-0
#[test]
fn rsc19c_protocol_headers_json_0() {
    let mut m = Mock::new(json_opts());
    response(
        &mut m,
        req("POST", "/test", &[], Some(json!({"data": "test"})), &[]),
    );
    let r = m.only();
    assert_eq!(header(r, "Accept"), Some("application/json"));
    assert_eq!(header(r, "Content-Type"), Some("application/json"));
}

/// rest/unit/RSC19c/protocol-headers-msgpack-1
#[test]
fn rsc19c_protocol_headers_msgpack_1() {
    let mut m = Mock::new(ClientOptions {
        format: Format::MsgPack,
        ..key_opts()
    });
    m.queue(vec![msgpack(200, &json!([]))]);
    response(
        &mut m,
        req("POST", "/test", &[], Some(json!({"data": "test"})), &[]),
    );
    let r = m.only();
    assert_eq!(header(r, "Accept"), Some("application/x-msgpack"));
    assert_eq!(header(r, "Content-Type"), Some("application/x-msgpack"));
}

/// rest/unit/RSC19c/body-encoded-per-protocol-2
#[test]
fn rsc19c_body_encoded_per_protocol_2() {
    let mut m = Mock::new(json_opts());
    response(
        &mut m,
        req(
            "POST",
            "/test",
            &[],
            Some(json!({"name": "event", "data": {"nested": "value"}})),
            &[],
        ),
    );
    let raw = m.only().body.clone().expect("body");
    let b: serde_json::Value = serde_json::from_slice(&raw).expect("JSON body");
    assert_eq!(b["name"], "event");
    assert_eq!(b["data"]["nested"], "value");

    let mut m = Mock::new(ClientOptions {
        format: Format::MsgPack,
        ..key_opts()
    });
    m.queue(vec![msgpack(200, &json!([]))]);
    response(
        &mut m,
        req(
            "POST",
            "/test",
            &[],
            Some(json!({"name": "event", "data": "value"})),
            &[],
        ),
    );
    let packed = msgpack_body(m.only());
    let map = packed.as_map().expect("a MessagePack map");
    let field = |k: &str| {
        map.iter()
            .find(|(key, _)| key.as_str() == Some(k))
            .and_then(|(_, v)| v.as_str())
    };
    assert_eq!(field("name"), Some("event"));
    assert_eq!(field("data"), Some("value"));
}

/// rest/unit/RSC19c/response-decoded-by-content-type-3
#[test]
fn rsc19c_response_decoded_by_content_type_3() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![json(
        200,
        json!([{"id": "1", "name": "item1"}, {"id": "2", "name": "item2"}]),
    )]);
    let r = response(&mut m, get("/test"));
    assert_eq!(r.items().len(), 2);
    assert_eq!(r.items()[0]["id"], "1");
    assert_eq!(r.items()[1]["name"], "item2");

    let mut m = Mock::new(json_opts());
    m.queue(vec![msgpack(200, &json!([{"id": "1"}]))]);
    let r = response(&mut m, get("/test"));
    assert_eq!(r.items().len(), 1);
    assert_eq!(r.items()[0]["id"], "1");
}

fn status_response(status: u16) -> HttpResponse {
    if status >= 400 {
        json(
            status,
            json!({"error": {"code": u32::from(status) * 100, "message": "Error"}}),
        )
    } else {
        json(status, json!([]))
    }
}

/// rest/unit/RSC19d/response-status-code-0
#[test]
fn rsc19d_response_status_code_0() {
    for status in [200, 201, 400, 404, 500] {
        let mut m = Mock::new(key_opts());
        m.queue(vec![status_response(status)]);
        let r = response(&mut m, get("/test"));
        assert_eq!(r.status_code, status);
    }
}

/// rest/unit/RSC19d/response-success-indicator-1
#[test]
fn rsc19d_response_success_indicator_1() {
    let mut m = Mock::new(key_opts());
    for (status, success) in [
        (200, true),
        (201, true),
        (204, true),
        (299, true),
        (300, false),
        (400, false),
        (500, false),
    ] {
        m.queue(vec![status_response(status)]);
        let r = response(&mut m, get("/test"));
        assert_eq!(r.success(), success, "{status}");
    }
}

/// rest/unit/RSC19d/response-error-code-header-2
#[test]
fn rsc19d_response_error_code_header_2() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![with_header(
        json(
            401,
            json!({"error": {"code": 40101, "message": "Unauthorized"}}),
        ),
        "X-Ably-Errorcode",
        "40101",
    )]);
    let r = response(&mut m, get("/test"));
    assert_eq!(r.error_code, Some(40101));
    assert_eq!(r.status_code, 401);
}

/// rest/unit/RSC19d/response-error-message-header-3
#[test]
fn rsc19d_response_error_message_header_3() {
    let mut m = Mock::new(key_opts());
    let mut reply = json(
        401,
        json!({"error": {"code": 40101, "message": "Unauthorized"}}),
    );
    reply
        .headers
        .push(("X-Ably-Errorcode".into(), "40101".into()));
    reply
        .headers
        .push(("X-Ably-Errormessage".into(), "Token expired".into()));
    m.queue(vec![reply]);
    let r = response(&mut m, get("/test"));
    assert_eq!(r.error_message.as_deref(), Some("Token expired"));
}

/// rest/unit/RSC19d/response-headers-accessible-4
#[test]
fn rsc19d_response_headers_accessible_4() {
    let mut m = Mock::new(key_opts());
    let mut reply = json(200, json!([]));
    reply
        .headers
        .push(("X-Request-Id".into(), "req-123".into()));
    reply
        .headers
        .push(("X-Custom-Header".into(), "custom-value".into()));
    m.queue(vec![reply]);
    let r = response(&mut m, get("/test"));
    let h = |name: &str| {
        r.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(h("Content-Type"), Some("application/json"));
    assert_eq!(h("X-Request-Id"), Some("req-123"));
    assert_eq!(h("X-Custom-Header"), Some("custom-value"));
}

/// rest/unit/RSC19d/response-items-decoded-5
#[test]
fn rsc19d_response_items_decoded_5() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![json(
        200,
        json!([
            {"id": "msg1", "name": "event1", "data": "data1"},
            {"id": "msg2", "name": "event2", "data": "data2"}
        ]),
    )]);
    let r = response(&mut m, get("/channels/test/messages"));
    assert_eq!(r.items().len(), 2);
    assert_eq!(r.items()[0]["id"], "msg1");
    assert_eq!(r.items()[1]["id"], "msg2");
}

/// rest/unit/RSC19d/pagination-with-link-headers-6
#[test]
fn rsc19d_pagination_with_link_headers_6() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![
        with_header(
            json(200, json!([{"id": "1"}, {"id": "2"}])),
            "Link",
            r#"</channels/test/messages?page=2>; rel="next""#,
        ),
        json(200, json!([{"id": "3"}])),
    ]);
    let first = response(&mut m, get("/channels/test/messages"));
    assert_eq!(first.items().len(), 2);
    assert!(first.page.has_next());
    // HP2: the next page is an HttpPaginatedResponse too.
    let second = http_page(next(&mut m, first.page.next.as_ref()));
    assert_eq!(second.items().len(), 1);
    assert_eq!(second.items()[0]["id"], "3");
    assert!(!second.page.has_next());
    let r = m.last();
    assert_eq!(path(r), "/channels/test/messages");
    assert_eq!(param(r, "page").as_deref(), Some("2"));
    assert_eq!(
        header(r, "X-Ably-Version"),
        Some("3"),
        "the version is kept"
    );
}

/// rest/unit/RSC19d/non-array-response-handling-7
#[test]
fn rsc19d_non_array_response_handling_7() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![json(200, json!({"time": 1_234_567_890_000_i64}))]);
    let r = response(&mut m, get("/time"));
    assert_eq!(r.items().len(), 1);
    assert_eq!(r.items()[0]["time"], 1_234_567_890_000_i64);
}

/// rest/unit/RSC19d/empty-response-handling-8
#[test]
fn rsc19d_empty_response_handling_8() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![HttpResponse {
        status: 204,
        headers: Vec::new(),
        body: Vec::new(),
    }]);
    let r = response(
        &mut m,
        req("DELETE", "/channels/test/messages/123", &[], None, &[]),
    );
    assert_eq!(r.status_code, 204);
    assert!(r.success());
    assert!(r.items().is_empty());
}

/// rest/unit/RSC19e/network-error-propagated-0
#[test]
fn rsc19e_network_error_propagated_0() {
    let mut m = Mock::new(ClientOptions {
        fallback_hosts: Some(Vec::new()),
        ..key_opts()
    });
    m.reply(|_| Reply::Fail(refused()));
    let e = m.err(get("/test"));
    assert_eq!(e.code, 80000);
    assert_eq!(m.requests.len(), 1);
}

/// rest/unit/RSC19e/timeout-error-handling-1
#[test]
fn rsc19e_timeout_error_handling_1() {
    let mut m = Mock::new(ClientOptions {
        http_request_timeout: Duration::from_secs(1),
        fallback_hosts: Some(Vec::new()),
        ..key_opts()
    });
    m.reply(|_| Reply::Delay(Duration::from_secs(5), json(200, json!([]))));
    let e = m.err(get("/test"));
    assert_eq!(e.code, 50003);
    assert_eq!(m.requests.len(), 1);
    assert_eq!(m.now.instant.since_origin(), Duration::from_secs(1));
}

/// rest/unit/RSC19e/http-error-no-fallback-2
#[test]
fn rsc19e_http_error_no_fallback_2() {
    let mut m = Mock::new(ClientOptions {
        fallback_hosts: Some(vec![
            "a.ably-realtime.com".into(),
            "b.ably-realtime.com".into(),
        ]),
        ..key_opts()
    });
    m.queue(vec![with_header(
        json(
            400,
            json!({"error": {"code": 40000, "message": "Bad request"}}),
        ),
        "X-Ably-Errorcode",
        "40000",
    )]);
    let r = response(&mut m, get("/test"));
    assert_eq!(r.status_code, 400);
    assert!(!r.success());
    assert_eq!(r.error_code, Some(40000));
    assert_eq!(m.requests.len(), 1);
}

/// rest/unit/RSC19e/fallback-on-server-error-3
#[test]
fn rsc19e_fallback_on_server_error_3() {
    let mut m = Mock::new(ClientOptions {
        fallback_hosts: Some(vec!["fallback.ably-realtime.com".into()]),
        ..key_opts()
    });
    m.queue(vec![
        HttpResponse {
            status: 500,
            headers: vec![("Content-Type".into(), "text/plain".into())],
            body: b"Internal Server Error".to_vec(),
        },
        json(200, json!([{"id": "1"}])),
    ]);
    let r = response(&mut m, get("/test"));
    assert_eq!(r.status_code, 200);
    assert!(r.success());
    assert_eq!(m.requests.len(), 2);
    assert_eq!(host(&m.requests[1]), "fallback.ably-realtime.com");
}

/// rest/unit/RSC19f/path-leading-slash-handling-4
#[test]
fn rsc19f_path_leading_slash_handling_4() {
    let mut m = Mock::new(key_opts());
    for given in ["/channels/test", "channels/test"] {
        response(&mut m, get(given));
        assert_eq!(path(m.last()), "/channels/test");
    }
    assert!(matches!(m.ok(get("/x")), RestResult::Http(_)));
}

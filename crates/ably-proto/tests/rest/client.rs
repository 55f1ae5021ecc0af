//! The REST client itself: headers (RSC7), formats (RSC8), timeouts
//! (RSC13), clientId (RSC17), TLS (RSC18), time (RSC16) and the primary
//! domain (RSC25). Ported from `uts/rest/unit/{rest_client,time,
//! request_endpoint}.md`.

use std::time::Duration;

use serde_json::json;

use ably_proto::client::{ClientOptions, HttpResponse};
use ably_proto::codec::Format;
use ably_proto::rest::{HistoryParams, RestOp, RestResult};

use crate::harness::*;

const DEFAULT_REST_HOST: &str = "main.realtime.ably.net";

// ---- RSC7 -----------------------------------------------------------------------

/// rest/unit/RSC7e/ably-version-header-0
#[test]
fn rsc7e_ably_version_header_0() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![json(200, json!({"time": 1_234_567_890_000_i64}))]);
    m.ok(RestOp::Time);
    let version = header(m.only(), "X-Ably-Version").expect("X-Ably-Version");
    assert!(!version.is_empty());
    assert!(version.chars().all(|c| c.is_ascii_digit() || c == '.'));
}

/// rest/unit/RSC7d/ably-agent-header-format-0
///
/// RSC7d1, RSC7d2: `name/version` entries separated by spaces, the library
/// first.
#[test]
fn rsc7d_ably_agent_header_format_0() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![json(200, json!({"time": 1_234_567_890_000_i64}))]);
    m.ok(RestOp::Time);
    let agent = header(m.only(), "Ably-Agent").expect("Ably-Agent");
    let first = agent.split(' ').next().unwrap_or_default();
    let (name, version) = first.split_once('/').expect("name/version");
    assert!(name.starts_with("ably-") && name[5..].chars().all(|c| c.is_ascii_lowercase()));
    let parts: Vec<&str> = version.split('.').collect();
    assert_eq!(parts.len(), 3, "{version}");
    assert!(parts.iter().all(|p| p.parse::<u32>().is_ok()), "{version}");
}

// ---- RSC8 -----------------------------------------------------------------------

/// rest/unit/RSC7c/request-id-included-0
///
/// Each request gets its own id; without `addRequestIds` there is none.
#[test]
fn rsc7c_request_id_included_0() {
    let opts = ClientOptions {
        add_request_ids: true,
        ..key_opts()
    };
    let mut m = Mock::new(opts);
    m.queue(vec![json(200, json!({"time": 1_234_567_890_000_i64}))]);
    m.ok(RestOp::Time);
    m.ok(RestOp::Time);
    let first = request_id(&m.requests[0]);
    let second = request_id(&m.requests[1]);
    assert_ne!(first, second, "a new id per request");

    let mut off = Mock::new(key_opts());
    off.queue(vec![json(200, json!({"time": 1_234_567_890_000_i64}))]);
    off.ok(RestOp::Time);
    assert_eq!(param(off.only(), "request_id"), None);
}

/// RSC7c: the token request the client makes for itself carries an id
/// too, and the request it was made for has its own.
#[test]
fn rsc7c_token_request_has_request_id() {
    let mut m = Mock::new(ClientOptions {
        add_request_ids: true,
        use_token_auth: true,
        ..key_opts()
    });
    m.respond(|r| {
        if is_token_request(r) {
            token_response("t", START_WALL_MS + 3_600_000)
        } else {
            json(200, json!([]))
        }
    });
    m.ok(history("test"));
    assert_eq!(m.requests.len(), 2);
    assert!(is_token_request(&m.requests[0]));
    assert_ne!(request_id(&m.requests[0]), request_id(&m.requests[1]));
}

/// rest/unit/RSC7c/request-id-preserved-fallback-1
///
/// The retry on a fallback host keeps the id; an error names it.
#[test]
fn rsc7c_request_id_preserved_fallback_1() {
    let opts = ClientOptions {
        add_request_ids: true,
        fallback_hosts: Some(vec!["a.example.com".into(), "b.example.com".into()]),
        ..key_opts()
    };
    let mut m = Mock::new(opts);
    m.queue(vec![
        json(500, json!({"error": {"code": 50000}})),
        json(200, json!({"time": 1_234_567_890_000_i64})),
    ]);
    m.ok(RestOp::Time);
    assert_eq!(m.requests.len(), 2);
    assert_ne!(host(&m.requests[0]), host(&m.requests[1]));
    assert_eq!(request_id(&m.requests[0]), request_id(&m.requests[1]));

    m.queue(vec![error(400, 40000, "Bad request")]);
    let e = m.err(RestOp::Time);
    let id = request_id(m.last());
    assert!(e.message.contains(&id), "{e}");
}

/// rest/unit/RSC8a/protocol-selection-0
///
/// RSC8a: MessagePack by default; RSC8b: JSON when asked for.
#[test]
fn rsc8a_protocol_selection_0() {
    for (format, content_type) in [
        (ClientOptions::default().format, "application/x-msgpack"),
        (Format::Json, "application/json"),
    ] {
        let mut m = Mock::new(ClientOptions {
            format,
            ..key_opts()
        });
        m.queue(vec![json(201, json!({"serials": ["s1"]}))]);
        m.ok(publish_one("test", "e", "d"));
        let r = m.only();
        assert_eq!(header(r, "Content-Type"), Some(content_type));
        assert_eq!(header(r, "Accept"), Some(content_type));
    }
}

/// rest/unit/RSC8c/accept-content-type-headers-0
#[test]
fn rsc8c_accept_content_type_headers_0() {
    let mut m = Mock::new(json_opts());
    m.queue(vec![json(201, json!({"serials": ["s1"]}))]);
    m.ok(publish_one("test", "e", "d"));
    let r = m.only();
    assert_eq!(header(r, "Accept"), Some("application/json"));
    assert_eq!(header(r, "Content-Type"), Some("application/json"));
    assert_eq!(body(r)["data"], "d");
}

/// rest/unit/RSC8d/mismatched-response-content-type-0
#[test]
fn rsc8d_mismatched_response_content_type_0() {
    let mut m = Mock::new(json_opts());
    m.queue(vec![msgpack(200, &json!({"time": 1_234_567_890_000_i64}))]);
    assert_eq!(m.ok(RestOp::Time), RestResult::Time(1_234_567_890_000));
    assert_eq!(header(m.only(), "Accept"), Some("application/json"));
}

/// rest/unit/RSC8e/unsupported-content-type-0
#[test]
fn rsc8e_unsupported_content_type_0() {
    let html = |status: u16, body: &str| HttpResponse {
        status,
        headers: vec![("Content-Type".into(), "text/html".into())],
        body: body.as_bytes().to_vec(),
    };
    // An error status is propagated.
    let mut m = Mock::new(ClientOptions {
        fallback_hosts: Some(Vec::new()),
        ..key_opts()
    });
    m.queue(vec![html(500, "<html>Server Error</html>")]);
    let e = m.err(RestOp::Time);
    assert_eq!(e.status_code, Some(500));
    // A success with a body the library cannot read is 40013.
    let mut m = Mock::new(key_opts());
    m.queue(vec![html(200, "<html>OK</html>")]);
    let e = m.err(RestOp::Time);
    assert_eq!((e.code, e.status_code), (40013, Some(400)));
}

/// rest/unit/RSC8/error-decoded-from-msgpack-0
#[test]
fn rsc8_error_decoded_from_msgpack_0() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![msgpack(
        400,
        &json!({"error": {"code": 40099, "statusCode": 400, "message": "Test error"}}),
    )]);
    let e = m.err(RestOp::Time);
    assert_eq!(e.code, 40099);
    assert_eq!(e.status_code, Some(400));
    assert_eq!(e.message, "Test error");
}

// ---- RSC13 ----------------------------------------------------------------------

/// rest/unit/RSC13/request-timeout-enforced-0
///
/// Every host answers after 5 s; with httpRequestTimeout 1 s each attempt
/// is abandoned at 1 s and the call fails with 50003.
#[test]
fn rsc13_request_timeout_enforced_0() {
    let mut m = Mock::new(ClientOptions {
        http_request_timeout: Duration::from_secs(1),
        ..key_opts()
    });
    m.reply(|_| {
        Reply::Delay(
            Duration::from_secs(5),
            json(200, json!({"time": 1_234_567_890_000_i64})),
        )
    });
    let e = m.err(RestOp::Time);
    assert_eq!(e.code, 50003);
    // Primary and three fallbacks (httpMaxRetryCount), one second each.
    assert_eq!(m.requests.len(), 4);
    assert_eq!(
        m.now.instant.since_origin(),
        Duration::from_secs(4),
        "each attempt timed out at 1 s, not at the 5 s answer"
    );
}

// ---- RSC17 ----------------------------------------------------------------------

/// rest/unit/RSC17/client-id-from-options-0
#[test]
fn rsc17_client_id_from_options_0() {
    let m = Mock::new(ClientOptions {
        client_id: Some("explicit-client-id".into()),
        ..key_opts()
    });
    assert_eq!(m.client.client_id(), Some("explicit-client-id"));
}

/// rest/unit/RSC17/client-id-matches-auth-1
///
/// The client's clientId is the auth clientId, which basic-auth requests
/// carry in `X-Ably-ClientId` (RSA7e2).
#[test]
fn rsc17_client_id_matches_auth_1() {
    let mut m = Mock::new(ClientOptions {
        client_id: Some("explicit-client-id".into()),
        ..key_opts()
    });
    assert_eq!(m.client.client_id(), Some("explicit-client-id"));
    m.ok(RestOp::Stats(Default::default()));
    use base64::Engine as _;
    let sent = header(m.only(), "X-Ably-ClientId").expect("X-Ably-ClientId");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(sent)
        .expect("base64");
    assert_eq!(decoded, b"explicit-client-id");
}

// ---- RSC18 ----------------------------------------------------------------------

/// rest/unit/RSC18/tls-controls-protocol-scheme-0
#[test]
fn rsc18_tls_controls_protocol_scheme_0() {
    for (tls, expected) in [(true, "https"), (false, "http")] {
        let mut m = Mock::new(ClientOptions { tls, ..key_opts() });
        m.queue(vec![json(200, json!({"time": 1_234_567_890_000_i64}))]);
        m.ok(RestOp::Time);
        assert_eq!(scheme(m.only()), expected);
        assert_eq!(port(m.only()), None, "the default port of the scheme");
    }
}

/// rest/unit/RSC18/basic-auth-over-http-rejected-1
///
/// The core rejects basic auth over plain HTTP when a request would carry
/// the key, with 40103 and before anything is sent; the options alone are
/// not refused, since the unauthenticated `time()` is allowed over HTTP
/// (RSC16/works-without-tls-3). Token auth over HTTP is allowed.
#[test]
fn rsc18_basic_auth_over_http_rejected_1() {
    let mut m = Mock::new(ClientOptions {
        tls: false,
        ..key_opts()
    });
    let e = m.err(RestOp::Stats(Default::default()));
    assert_eq!(e.code, 40103);
    assert_eq!(e.status_code, Some(401));
    assert!(m.requests.is_empty(), "the key was not sent");
    let e = m.err(publish_one("c", "e", "d"));
    assert_eq!(e.code, 40103);
    assert!(m.requests.is_empty());

    let mut m = Mock::new(ClientOptions {
        tls: false,
        ..ClientOptions::with_token("some-token-string")
    });
    m.queue(vec![json(200, json!({"time": 1_234_567_890_000_i64}))]);
    assert_eq!(m.ok(RestOp::Time), RestResult::Time(1_234_567_890_000));
    m.queue(vec![json(200, json!([]))]);
    m.ok(RestOp::Stats(Default::default()));
    let r = m.last();
    assert_eq!(scheme(r), "http");
    assert_eq!(bearer(r).as_deref(), Some("some-token-string"));
}

// ---- RSC16 ----------------------------------------------------------------------

/// rest/unit/RSC16/returns-server-time-0
#[test]
fn rsc16_returns_server_time_0() {
    let server_time_ms = 1_704_067_200_000_i64;
    let mut m = Mock::new(ClientOptions::with_key("app.key:secret"));
    m.queue(vec![json(200, json!([server_time_ms]))]);
    assert_eq!(m.ok(RestOp::Time), RestResult::Time(server_time_ms));
    let r = m.only();
    assert_eq!(r.method, "GET");
    assert_eq!(path(r), "/time");
}

/// rest/unit/RSC16/request-format-get-time-1
#[test]
fn rsc16_request_format_get_time_1() {
    let mut m = Mock::new(ClientOptions::with_key("app.key:secret"));
    m.queue(vec![json(200, json!([1_704_067_200_000_i64]))]);
    m.ok(RestOp::Time);
    let r = m.only();
    assert_eq!((r.method, path(r)), ("GET", "/time"));
    assert!(header(r, "X-Ably-Version").is_some());
    assert!(header(r, "Ably-Agent").is_some());
    assert!(r.body.is_none());
}

/// rest/unit/RSC16/no-auth-required-2
#[test]
fn rsc16_no_auth_required_2() {
    let mut m = Mock::new(ClientOptions::with_key("app.key:secret"));
    m.queue(vec![json(200, json!([1_704_067_200_000_i64]))]);
    assert!(matches!(m.ok(RestOp::Time), RestResult::Time(_)));
    assert_eq!(header(m.only(), "Authorization"), None);
    // An authenticated request of the same client does carry credentials.
    m.ok(RestOp::Stats(Default::default()));
    assert!(header(m.last(), "Authorization").is_some());
}

/// rest/unit/RSC16/works-without-tls-3
#[test]
fn rsc16_works_without_tls_3() {
    let mut m = Mock::new(ClientOptions {
        tls: false,
        use_token_auth: true,
        ..ClientOptions::with_key("app.key:secret")
    });
    m.queue(vec![json(200, json!([1_704_067_200_000_i64]))]);
    assert!(matches!(m.ok(RestOp::Time), RestResult::Time(_)));
    assert_eq!(m.requests.len(), 1, "no token was needed");
    let r = m.only();
    assert_eq!(scheme(r), "http");
    assert_eq!(header(r, "Authorization"), None);
}

/// rest/unit/RSC16/error-propagated-4
#[test]
fn rsc16_error_propagated_4() {
    let mut m = Mock::new(ClientOptions::with_key("app.key:secret"));
    m.queue(vec![error(500, 50000, "Internal server error")]);
    let e = m.err(RestOp::Time);
    assert_eq!(e.status_code, Some(500));
    assert_eq!(e.code, 50000);
    assert_eq!(e.message, "Internal server error");
}

// ---- RSC25 ----------------------------------------------------------------------

/// rest/unit/RSC25/default-primary-domain-0
#[test]
fn rsc25_default_primary_domain_0() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![json(200, json!({"time": 1_234_567_890_000_i64}))]);
    m.ok(RestOp::Time);
    assert_eq!(host(m.only()), DEFAULT_REST_HOST);
}

/// rest/unit/RSC25/custom-endpoint-domain-1
#[test]
fn rsc25_custom_endpoint_domain_1() {
    let mut m = Mock::new(ClientOptions {
        endpoint: "test".into(),
        ..key_opts()
    });
    m.queue(vec![json(200, json!({"time": 1_234_567_890_000_i64}))]);
    m.ok(RestOp::Time);
    assert_eq!(host(m.only()), "test.realtime.ably.net");
}

/// rest/unit/RSC25/multiple-requests-primary-domain-2
#[test]
fn rsc25_multiple_requests_primary_domain_2() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![json(200, json!({"time": 1_234_567_890_000_i64}))]);
    for _ in 0..3 {
        m.ok(RestOp::Time);
    }
    assert_eq!(m.requests.len(), 3);
    assert!(m.requests.iter().all(|r| host(r) == DEFAULT_REST_HOST));
}

/// rest/unit/RSC25/primary-tried-before-fallback-3
#[test]
fn rsc25_primary_tried_before_fallback_3() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![
        error(500, 50000, "boom"),
        json(200, json!({"time": 1_234_567_890_000_i64})),
    ]);
    m.ok(RestOp::Time);
    assert_eq!(m.requests.len(), 2);
    assert_eq!(host(&m.requests[0]), DEFAULT_REST_HOST);
    assert_ne!(host(&m.requests[1]), DEFAULT_REST_HOST);
    assert!(host(&m.requests[1]).ends_with(".fallback.ably-realtime.com"));
}

/// rest/unit/RSC25/request-path-preserved-4
#[test]
fn rsc25_request_path_preserved_4() {
    let mut m = Mock::new(key_opts());
    m.ok(RestOp::History {
        channel: "test-channel".into(),
        params: HistoryParams::default(),
    });
    let r = m.only();
    assert_eq!(host(r), DEFAULT_REST_HOST);
    assert_eq!(path(r), "/channels/test-channel/messages");
    assert_eq!(r.method, "GET");
}

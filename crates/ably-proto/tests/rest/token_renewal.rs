//! Renewing a token: when the service rejects it (RSA4b, RSC10), before
//! a request when it is known to have expired (RSA4b1), and not at all
//! without the means (RSA4a2) or for other 401s (RSC10b). Ported from
//! `uts/rest/unit/auth/token_renewal.md`.

use std::time::Duration;

use serde_json::json;

use ably_proto::auth::TokenDetails;
use ably_proto::client::{AuthResponse, ClientOptions, HttpResponse};
use ably_proto::rest::{RestOp, RestResult};

use crate::harness::*;

/// A callback client whose n-th token is `token-{n}`, valid an hour.
fn numbered() -> Mock {
    let mut m = Mock::new(callback_opts());
    let mut n = 0;
    m.callback(move |_| {
        n += 1;
        Ok(AuthResponse::Details(details(&format!("token-{n}"))))
    });
    m
}

/// The first request is refused with `first`, the rest get `then`.
fn first_refused(m: &mut Mock, first: HttpResponse, then: HttpResponse) {
    let mut n = 0;
    m.respond(move |_| {
        n += 1;
        if n == 1 { first.clone() } else { then.clone() }
    });
}

/// rest/unit/RSA4b/renewal-on-40142-0
#[test]
fn rsa4b_renewal_on_40142_0() {
    let mut m = Mock::new(callback_opts());
    let tokens = ["first-token", "second-token"];
    let mut n = 0;
    m.callback(move |_| {
        n += 1;
        Ok(AuthResponse::Details(details(tokens[n - 1])))
    });
    first_refused(
        &mut m,
        error(401, 40142, "Token expired"),
        json(200, json!([{"channel": "test"}])),
    );
    let page = messages_page(m.ok(history("test")));
    assert_eq!(page.items.len(), 1);
    assert_eq!(m.token_calls.len(), 2);
    assert_eq!(m.requests.len(), 2);
    assert_eq!(bearer(&m.requests[0]).as_deref(), Some("first-token"));
    assert_eq!(bearer(&m.requests[1]).as_deref(), Some("second-token"));
    assert_eq!(path(&m.requests[1]), "/channels/test/messages");
}

/// rest/unit/RSA4b/renewal-on-40140-1
///
/// Any code from 40140 to 40149 with status 401 is a token error.
#[test]
fn rsa4b_renewal_on_40140_1() {
    for code in [40140, 40141, 40149] {
        let mut m = numbered();
        first_refused(
            &mut m,
            error(401, code, "Token error"),
            json(200, json!([])),
        );
        m.ok(history("test"));
        assert_eq!(m.token_calls.len(), 2, "{code}");
        assert_eq!(m.requests.len(), 2, "{code}");
    }
    // 40150 is not a token error.
    let mut m = numbered();
    first_refused(&mut m, error(401, 40150, "Other"), json(200, json!([])));
    assert_eq!(m.err(history("test")).code, 40150);
    assert_eq!(m.token_calls.len(), 1);
}

/// rest/unit/RSA4b1/preemptive-renewal-0
///
/// The first token, obtained by a first request, lives one second of the
/// fake clock; a request after it has expired first obtains a new token
/// and never sends the expired one.
#[test]
fn rsa4b1_preemptive_renewal_0() {
    let mut m = Mock::new(callback_opts());
    let mut n = 0;
    m.callback(move |_| {
        n += 1;
        Ok(AuthResponse::Details(if n == 1 {
            TokenDetails {
                token: "expired-token".into(),
                expires: Some(START_WALL_MS + 1_000),
                ..TokenDetails::default()
            }
        } else {
            details("fresh-token")
        }))
    });
    m.ok(history("test"));
    m.advance(Duration::from_secs(2));
    m.ok(history("test"));
    assert_eq!(m.token_calls.len(), 2);
    assert_eq!(
        m.requests.len(),
        2,
        "no request failed with the expired token"
    );
    assert_eq!(bearer(&m.requests[0]).as_deref(), Some("expired-token"));
    assert_eq!(bearer(&m.requests[1]).as_deref(), Some("fresh-token"));
}

/// rest/unit/RSA4a2/no-renewal-without-callback-0
#[test]
fn rsa4a2_no_renewal_without_callback_0() {
    let mut m = Mock::new(ClientOptions::with_token("static-token"));
    m.queue(vec![error(401, 40142, "Token expired")]);
    let e = m.err(history("test"));
    assert_eq!(e.code, 40171);
    assert_eq!(e.cause.as_ref().map(|c| c.code), Some(40142));
    assert_eq!(m.requests.len(), 1);
}

/// rest/unit/RSA4b/renewal-via-authurl-2
#[test]
fn rsa4b_renewal_via_authurl_2() {
    let mut m = Mock::new(auth_url_opts("https://example.com/auth"));
    let mut tokens = 0;
    let mut api = 0;
    m.respond(move |r| {
        if host(r) == "example.com" {
            tokens += 1;
            let token = if tokens == 1 {
                "first-token"
            } else {
                "second-token"
            };
            json(
                200,
                json!({"token": token, "expires": START_WALL_MS + 3_600_000}),
            )
        } else {
            api += 1;
            if api == 1 {
                json(
                    401,
                    json!({"error": {"code": 40142, "message": "Token expired"}}),
                )
            } else {
                json(200, json!([]))
            }
        }
    });
    m.ok(history("test"));
    let auth: Vec<_> = m
        .requests
        .iter()
        .filter(|r| host(r) == "example.com")
        .collect();
    let api: Vec<_> = m
        .requests
        .iter()
        .filter(|r| host(r) != "example.com")
        .collect();
    assert_eq!(auth.len(), 2);
    assert_eq!(api.len(), 2);
    assert_eq!(bearer(api[0]).as_deref(), Some("first-token"));
    assert_eq!(bearer(api[1]).as_deref(), Some("second-token"));
}

/// rest/unit/RSA4b/renewal-limit-no-loop-3
#[test]
fn rsa4b_renewal_limit_no_loop_3() {
    let mut m = numbered();
    m.queue(vec![json(
        401,
        json!({"error": {"code": 40142, "message": "Token expired"}}),
    )]);
    let e = m.err(history("test"));
    assert_eq!(e.code, 40142);
    assert_eq!(m.token_calls.len(), 2);
    assert_eq!(m.requests.len(), 2);
}

/// rest/unit/RSC10/request-retried-after-renewal-0
#[test]
fn rsc10_request_retried_after_renewal_0() {
    let mut m = numbered();
    m.respond(|r| {
        if bearer(r).as_deref() == Some("token-1") {
            error(401, 40142, "Token expired")
        } else {
            json(
                200,
                json!({"channelId": "test", "status": {"isActive": true, "occupancy": {"metrics": {"connections": 0}}}}),
            )
        }
    });
    let RestResult::Json(details) = m.ok(status("test")) else {
        panic!("channel details expected");
    };
    assert_eq!(details["channelId"], "test");
    let channel: Vec<_> = m
        .requests
        .iter()
        .filter(|r| path(r) == "/channels/test")
        .collect();
    assert_eq!(channel.len(), 2);
    assert_eq!(m.token_calls.len(), 2);
    assert_eq!(bearer(channel[0]).as_deref(), Some("token-1"));
    assert_eq!(bearer(channel[1]).as_deref(), Some("token-2"));
}

/// rest/unit/RSC10b/non-token-401-no-renewal-0
#[test]
fn rsc10b_non_token_401_no_renewal_0() {
    let mut m = numbered();
    m.queue(vec![error(401, 40100, "Unauthorized")]);
    let e = m.err(status("test"));
    assert_eq!(e.code, 40100);
    assert_eq!(m.requests.len(), 1);
    assert_eq!(m.token_calls.len(), 1);
}

/// rest/unit/RSA4b/renewal-msgpack-response-4
#[test]
fn rsa4b_renewal_msgpack_response_4() {
    let mut m = Mock::new(ClientOptions {
        format: ably_proto::codec::Format::MsgPack,
        ..callback_opts()
    });
    let mut n = 0;
    m.callback(move |_| {
        n += 1;
        Ok(AuthResponse::Details(details(&format!("token-{n}"))))
    });
    first_refused(
        &mut m,
        msgpack(
            401,
            &json!({"error": {"code": 40142, "statusCode": 401, "message": "Token expired"}}),
        ),
        msgpack(200, &json!([1_234_567_890_000_i64])),
    );
    // time() needs no token, so use a request that does.
    let result = m.ok(RestOp::Request {
        method: "GET".into(),
        path: "/time".into(),
        version: 3,
        params: Vec::new(),
        body: None,
        headers: Vec::new(),
    });
    assert_eq!(m.token_calls.len(), 2);
    assert_eq!(m.requests.len(), 2);
    assert_eq!(http_page(result).items()[0], json!(1_234_567_890_000_i64));
}

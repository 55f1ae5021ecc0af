//! Tokens from the authCallback (RSA8d) and the authUrl (RSA8c). Ported
//! from `uts/rest/unit/auth/auth_callback.md`.

use std::collections::BTreeMap;

use serde_json::json;

use ably_proto::ErrorInfo;
use ably_proto::auth::{TokenParams, TokenRequest};
use ably_proto::client::{AuthResponse, AuthUrl, ClientOptions, HttpResponse, TokenSource};

use crate::harness::*;

fn channel_ok() -> HttpResponse {
    json(200, json!({"channelId": "test"}))
}

fn url_opts(auth: AuthUrl) -> ClientOptions {
    ClientOptions {
        key: None,
        token_source: TokenSource::Url(auth),
        auto_connect: false,
        ..ClientOptions::default()
    }
}

fn token_url() -> AuthUrl {
    AuthUrl {
        url: "https://auth.example.com/token".into(),
        ..AuthUrl::default()
    }
}

/// A mock whose auth.example.com answers token details.
fn with_auth_server(opts: ClientOptions) -> Mock {
    let mut m = Mock::new(opts);
    m.respond(|r| {
        if host(r) == "auth.example.com" {
            json(
                200,
                json!({"token": "authurl-token", "expires": START_WALL_MS + 3_600_000}),
            )
        } else {
            channel_ok()
        }
    });
    m
}

/// rest/unit/RSA8d/callback-invoked-for-auth-0
#[test]
fn rsa8d_callback_invoked_for_auth_0() {
    let mut m = Mock::new(callback_opts());
    m.callback(|_| Ok(AuthResponse::Details(details("callback-token"))));
    m.queue(vec![channel_ok()]);
    m.ok(get_request("/channels/test"));
    assert_eq!(m.token_calls.len(), 1, "the authCallback was invoked");
    assert_eq!(m.requests.len(), 1);
    assert_eq!(bearer(m.only()).as_deref(), Some("callback-token"));
}

/// rest/unit/RSA8d/callback-returns-jwt-1
#[test]
fn rsa8d_callback_returns_jwt_1() {
    let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.test-jwt-payload";
    let mut m = Mock::new(callback_opts());
    m.callback(move |_| Ok(AuthResponse::Token(jwt.into())));
    m.queue(vec![channel_ok()]);
    m.ok(get_request("/channels/test"));
    assert_eq!(bearer(m.only()).as_deref(), Some(jwt));
}

/// rest/unit/RSA8d/callback-returns-token-request-2
#[test]
fn rsa8d_callback_returns_token_request_2() {
    let mut m = Mock::new(callback_opts());
    m.callback(|_| {
        Ok(AuthResponse::Request(TokenRequest {
            key_name: "app.key".into(),
            ttl: Some(3_600_000),
            timestamp: START_WALL_MS,
            nonce: "unique-nonce".into(),
            mac: "computed-mac".into(),
            ..TokenRequest::default()
        }))
    });
    m.respond(|r| {
        if is_token_request(r) {
            json(
                200,
                json!({"token": "exchanged-token", "expires": START_WALL_MS + 3_600_000}),
            )
        } else {
            channel_ok()
        }
    });
    m.ok(get_request("/channels/test"));
    assert_eq!(m.requests.len(), 2);
    let exchange = &m.requests[0];
    assert_eq!(exchange.method, "POST");
    assert_eq!(path(exchange), "/keys/app.key/requestToken");
    let sent = body(exchange);
    assert_eq!(sent["mac"], "computed-mac");
    assert_eq!(sent["nonce"], "unique-nonce");
    assert_eq!(bearer(&m.requests[1]).as_deref(), Some("exchanged-token"));
}

/// rest/unit/RSA8d/callback-receives-token-params-3
///
/// The params given for a token reach the authCallback as they are; here
/// through `requestToken(params)` (RSA8e), the path `authorize(params)`
/// also takes.
#[test]
fn rsa8d_callback_receives_token_params_3() {
    let mut m = Mock::new(callback_opts());
    m.callback(|_| Ok(AuthResponse::Details(details("test-token"))));
    let params = TokenParams {
        client_id: Some("requested-client-id".into()),
        ttl: Some(7_200_000),
        capability: Some(r#"{"channel1":["publish"]}"#.into()),
        ..TokenParams::default()
    };
    let token = m.request_token(Some(params)).expect("token");
    assert_eq!(token.token, "test-token");
    let received = &m.token_calls[0];
    assert_eq!(received.client_id.as_deref(), Some("requested-client-id"));
    assert_eq!(received.ttl, Some(7_200_000));
    let capability: serde_json::Value =
        serde_json::from_str(received.capability.as_deref().unwrap_or("null")).expect("json");
    assert_eq!(capability, json!({"channel1": ["publish"]}));
}

/// rest/unit/RSA8c/authurl-invoked-for-auth-0
#[test]
fn rsa8c_authurl_invoked_for_auth_0() {
    let mut m = with_auth_server(url_opts(token_url()));
    m.ok(get_request("/channels/test"));
    assert_eq!(m.requests.len(), 2);
    let auth = &m.requests[0];
    assert_eq!(host(auth), "auth.example.com");
    assert_eq!(path(auth), "/token");
    assert_eq!(auth.method, "GET");
    assert_eq!(header(auth, "Authorization"), None, "no Ably credentials");
    assert_eq!(bearer(&m.requests[1]).as_deref(), Some("authurl-token"));
}

/// rest/unit/RSA8c/authurl-post-method-1
#[test]
fn rsa8c_authurl_post_method_1() {
    let mut m = with_auth_server(url_opts(AuthUrl {
        method_post: true,
        params: BTreeMap::from([("a".to_owned(), "1".to_owned())]),
        ..token_url()
    }));
    m.ok(get_request("/channels/test"));
    let auth = &m.requests[0];
    assert_eq!(auth.method, "POST");
    assert_eq!(
        header(auth, "Content-Type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(auth.body.as_deref(), Some(&b"a=1"[..]));
    assert_eq!(bearer(&m.requests[1]).as_deref(), Some("authurl-token"));
}

/// rest/unit/RSA8c/authurl-custom-headers-2
#[test]
fn rsa8c_authurl_custom_headers_2() {
    let mut m = with_auth_server(url_opts(AuthUrl {
        headers: BTreeMap::from([
            ("X-Custom-Header".to_owned(), "custom-value".to_owned()),
            ("X-API-Key".to_owned(), "my-api-key".to_owned()),
        ]),
        ..token_url()
    }));
    m.ok(get_request("/channels/test"));
    let auth = &m.requests[0];
    assert_eq!(header(auth, "X-Custom-Header"), Some("custom-value"));
    assert_eq!(header(auth, "X-API-Key"), Some("my-api-key"));
    assert_eq!(header(&m.requests[1], "X-Custom-Header"), None);
}

/// rest/unit/RSA8c/authurl-query-params-3
#[test]
fn rsa8c_authurl_query_params_3() {
    let mut m = with_auth_server(url_opts(AuthUrl {
        params: BTreeMap::from([
            ("client_id".to_owned(), "my-client".to_owned()),
            ("scope".to_owned(), "publish:*".to_owned()),
        ]),
        ..token_url()
    }));
    m.ok(get_request("/channels/test"));
    let auth = &m.requests[0];
    assert_eq!(param(auth, "client_id").as_deref(), Some("my-client"));
    assert_eq!(param(auth, "scope").as_deref(), Some("publish:*"));
}

/// rest/unit/RSA8c/authurl-returns-jwt-4
#[test]
fn rsa8c_authurl_returns_jwt_4() {
    let jwt = "eyJhbGciOiJIUzI1NiJ9.jwt-body.signature";
    let mut m = Mock::new(url_opts(AuthUrl {
        url: "https://auth.example.com/jwt".into(),
        ..AuthUrl::default()
    }));
    m.respond(move |r| {
        if host(r) == "auth.example.com" {
            HttpResponse {
                status: 200,
                headers: vec![("Content-Type".into(), "text/plain".into())],
                body: jwt.as_bytes().to_vec(),
            }
        } else {
            channel_ok()
        }
    });
    m.ok(get_request("/channels/test"));
    assert_eq!(bearer(&m.requests[1]).as_deref(), Some(jwt));
}

/// rest/unit/RSA8d/callback-error-propagated-4
///
/// The failure is 40170 (RSA4e) with the callback's own error as its
/// cause, whose message the caller sees.
#[test]
fn rsa8d_callback_error_propagated_4() {
    let mut m = Mock::new(callback_opts());
    m.callback(|_| {
        Err(ErrorInfo::new(
            50000,
            500,
            "Authentication server unavailable",
        ))
    });
    let e = m.err(get_request("/channels/test"));
    assert_eq!((e.code, e.status_code), (40170, Some(401)));
    assert!(e.to_string().contains("Authentication server unavailable"));
    assert_eq!(
        e.cause.as_ref().map(|c| c.message.as_str()),
        Some("Authentication server unavailable")
    );
    assert!(m.requests.is_empty());
}

/// rest/unit/RSA8c/authurl-error-propagated-5
#[test]
fn rsa8c_authurl_error_propagated_5() {
    let mut m = Mock::new(url_opts(token_url()));
    m.respond(|r| {
        if host(r) == "auth.example.com" {
            json(500, json!({"error": "Internal server error"}))
        } else {
            channel_ok()
        }
    });
    let e = m.err(get_request("/channels/test"));
    assert_eq!(e.code, 40170, "RSA4e");
    assert_eq!(e.cause.as_ref().and_then(|c| c.status_code), Some(500));
    assert!(e.message.contains("authUrl"));
    assert_eq!(m.requests.len(), 1);
    assert_eq!(host(&m.requests[0]), "auth.example.com");
}

//! Choosing basic or token auth (RSA1-RSA4, RSA11, RSC1b, RSC18). Ported
//! from `uts/rest/unit/auth/auth_scheme.md`.
//!
//! The core sends a bearer token base64-encoded (RSA3b allows either);
//! the tests compare the token after decoding it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::json;

use ably_proto::auth::TokenDetails;
use ably_proto::client::{AuthResponse, ClientOptions};

use crate::harness::*;

fn channel_ok() -> ably_proto::client::HttpResponse {
    json(200, json!({"channelId": "test"}))
}

/// rest/unit/RSA4/basic-auth-key-only-0
#[test]
fn rsa4_basic_auth_key_only_0() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![channel_ok()]);
    m.ok(get_request("/channels/test"));
    let expected = format!("Basic {}", BASE64.encode("appId.keyId:keySecret"));
    assert_eq!(header(m.only(), "Authorization"), Some(expected.as_str()));
    assert_eq!(m.client.token_details(), None);
}

/// rest/unit/RSA3/token-auth-explicit-token-0
#[test]
fn rsa3_token_auth_explicit_token_0() {
    let mut m = Mock::new(ClientOptions::with_token("explicit-token-string"));
    m.queue(vec![channel_ok()]);
    m.ok(get_request("/channels/test"));
    let r = m.only();
    assert!(header(r, "Authorization").is_some_and(|a| a.starts_with("Bearer ")));
    assert_eq!(bearer(r).as_deref(), Some("explicit-token-string"));
}

/// rest/unit/RSA3/token-auth-token-details-1
#[test]
fn rsa3_token_auth_token_details_1() {
    let mut m = Mock::new(ClientOptions {
        key: None,
        token_details: Some(details("token-from-details")),
        ..ClientOptions::default()
    });
    m.queue(vec![channel_ok()]);
    m.ok(get_request("/channels/test"));
    assert_eq!(bearer(m.only()).as_deref(), Some("token-from-details"));
}

/// rest/unit/RSA4/use-token-auth-forced-1
#[test]
fn rsa4_use_token_auth_forced_1() {
    let mut m = Mock::new(ClientOptions {
        use_token_auth: true,
        ..key_opts()
    });
    m.respond(|r| {
        if is_token_request(r) {
            token_response("obtained-token", START_WALL_MS + 3_600_000)
        } else {
            channel_ok()
        }
    });
    m.ok(get_request("/channels/test"));
    assert_eq!(m.requests.len(), 2);
    assert!(is_token_request(&m.requests[0]));
    assert_eq!(bearer(&m.requests[1]).as_deref(), Some("obtained-token"));
    assert_eq!(basic(&m.requests[1]), None);
}

/// rest/unit/RSA4/auth-callback-triggers-token-2
#[test]
fn rsa4_auth_callback_triggers_token_2() {
    let mut m = Mock::new(callback_opts());
    m.callback(|_| Ok(AuthResponse::Details(details("callback-token"))));
    m.queue(vec![channel_ok()]);
    m.ok(get_request("/channels/test"));
    assert_eq!(m.token_calls.len(), 1);
    assert_eq!(bearer(m.only()).as_deref(), Some("callback-token"));
}

/// rest/unit/RSA4/authurl-triggers-token-3
#[test]
fn rsa4_authurl_triggers_token_3() {
    let mut m = Mock::new(auth_url_opts("https://auth.example.com/token"));
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
    m.ok(get_request("/channels/test"));
    assert_eq!(m.requests.len(), 2);
    assert_eq!(host(&m.requests[0]), "auth.example.com");
    assert_eq!(bearer(&m.requests[1]).as_deref(), Some("authurl-token"));
}

/// rest/unit/RSC1b/no-auth-method-error-0
///
/// The core refuses such options when the client is made, so no request
/// can ever be attempted.
#[test]
fn rsc1b_no_auth_method_error_0() {
    let e = match Mock::try_new(ClientOptions {
        key: None,
        auto_connect: false,
        ..ClientOptions::default()
    }) {
        Err(e) => e,
        Ok(_) => panic!("a client without any means of auth was made"),
    };
    assert_eq!(e.code, 40106);
}

/// rest/unit/RSA1/token-auth-takes-precedence-0
#[test]
fn rsa1_token_auth_takes_precedence_0() {
    let mut m = Mock::new(ClientOptions {
        token_source: ably_proto::client::TokenSource::Callback,
        ..key_opts()
    });
    m.callback(|_| Ok(AuthResponse::Details(details("callback-token"))));
    m.queue(vec![channel_ok()]);
    m.ok(get_request("/channels/test"));
    assert_eq!(bearer(m.only()).as_deref(), Some("callback-token"));
}

/// rest/unit/RSA2/basic-auth-header-format-0
///
/// RSA11: standard (not URL-safe) base64 of `keyName:keySecret`.
#[test]
fn rsa2_basic_auth_header_format_0() {
    let mut m = Mock::new(ClientOptions {
        auto_connect: false,
        ..ClientOptions::with_key("app123.key456:secretXYZ")
    });
    m.queue(vec![channel_ok()]);
    m.ok(get_request("/channels/test"));
    let expected = format!("Basic {}", BASE64.encode("app123.key456:secretXYZ"));
    assert_eq!(header(m.only(), "Authorization"), Some(expected.as_str()));
    // A key whose base64 has `+` and `/` keeps them.
    let key = "a.b:>>>???";
    let mut m = Mock::new(ClientOptions {
        auto_connect: false,
        ..ClientOptions::with_key(key)
    });
    m.ok(get_request("/channels/test"));
    let sent = header(m.only(), "Authorization").unwrap_or_default();
    assert!(sent.contains('+') || sent.contains('/'), "{sent}");
    assert_eq!(basic(m.only()).as_deref(), Some(key));
}

/// rest/unit/RSC18/token-auth-over-non-tls-0
#[test]
fn rsc18_token_auth_over_non_tls_0() {
    let mut m = Mock::new(ClientOptions {
        tls: false,
        ..ClientOptions::with_token("explicit-token")
    });
    m.queue(vec![json(
        200,
        json!({"channelId": "test", "status": {"isActive": true}}),
    )]);
    m.ok(status("test"));
    let r = m.only();
    assert_eq!(bearer(r).as_deref(), Some("explicit-token"));
    assert_eq!(scheme(r), "http");
}

/// rest/unit/RSA4a2/expired-token-no-renewal-0
///
/// A configured token that the local clock says has expired, with no key,
/// authCallback or authUrl, fails with 40171 before any request; one that
/// has not expired is still sent.
#[test]
fn rsa4a2_expired_token_no_renewal_0() {
    let token = |expires: i64| ClientOptions {
        token_details: Some(TokenDetails {
            token: "expired-token".into(),
            expires: Some(expires),
            ..TokenDetails::default()
        }),
        ..ClientOptions::default()
    };
    let mut m = Mock::new(token(START_WALL_MS - 1000));
    m.queue(vec![channel_ok()]);
    let e = m.err(get_request("/channels/test"));
    assert_eq!((e.code, e.status_code), (40171, Some(401)));
    assert!(m.requests.is_empty(), "{:?}", m.requests);

    let mut fresh = Mock::new(token(START_WALL_MS + 1000));
    fresh.queue(vec![channel_ok()]);
    fresh.ok(get_request("/channels/test"));
    assert_eq!(bearer(fresh.only()).as_deref(), Some("expired-token"));
}

//! The token in use (RSA16). Ported from
//! `uts/rest/unit/auth/token_details.md`.
//!
//! `Client::token_details` is the core's `Auth#tokenDetails`.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use serde_json::json;

use ably_proto::ErrorInfo;
use ably_proto::auth::TokenDetails;
use ably_proto::client::{AuthOptions, AuthResponse, ClientOptions, Completion, HttpResponse};

use crate::harness::*;

fn status_ok() -> HttpResponse {
    json(
        200,
        json!({"channelId": "test", "status": {"isActive": true}}),
    )
}

fn token_v(n: u32, expires: i64) -> TokenDetails {
    TokenDetails {
        token: format!("token-v{n}"),
        expires: Some(expires),
        client_id: Some(format!("client-v{n}")),
        ..TokenDetails::default()
    }
}

/// A callback client whose n-th token is `token-v{n}`, valid an hour.
fn versioned() -> Mock {
    let mut m = Mock::new(callback_opts());
    let mut n = 0;
    m.callback(move |_| {
        n += 1;
        Ok(AuthResponse::Details(token_v(n, START_WALL_MS + 3_600_000)))
    });
    m
}

fn current(m: &Mock) -> Option<String> {
    m.client.token_details().map(|t| t.token.clone())
}

/// rest/unit/RSA16a/token-from-callback-0
#[test]
fn rsa16a_token_from_callback_0() {
    let mut m = Mock::new(callback_opts());
    m.callback(|_| {
        Ok(AuthResponse::Details(TokenDetails {
            token: "callback-token-abc".into(),
            expires: Some(START_WALL_MS + 3_600_000),
            issued: Some(START_WALL_MS),
            client_id: Some("my-client".into()),
            ..TokenDetails::default()
        }))
    });
    m.queue(vec![status_ok()]);
    m.ok(status("test"));
    let t = m.client.token_details().expect("a token");
    assert_eq!(t.token, "callback-token-abc");
    assert_eq!(t.client_id.as_deref(), Some("my-client"));
    assert!(t.expires.is_some());
    assert!(t.issued.is_some());
}

/// rest/unit/RSA16a/token-from-request-token-1
///
/// `authorize()` with the key: the token from `requestToken` is the one
/// in use.
#[test]
fn rsa16a_token_from_request_token_1() {
    let mut m = Mock::new(key_opts());
    m.respond(|r| {
        if is_token_request(r) {
            json(
                200,
                json!({"token": "requested-token-xyz", "expires": START_WALL_MS + 3_600_000, "issued": START_WALL_MS, "keyName": "appId.keyId", "clientId": "token-client"}),
            )
        } else {
            status_ok()
        }
    });
    m.authorize(None).expect("authorize");
    let t = m.client.token_details().expect("a token");
    assert_eq!(t.token, "requested-token-xyz");
    assert_eq!(t.client_id.as_deref(), Some("token-client"));
    assert_eq!(m.requests.len(), 1);
}

/// rest/unit/RSA16b/token-string-in-options-0
#[test]
fn rsa16b_token_string_in_options_0() {
    let m = Mock::new(ClientOptions::with_token("standalone-token-string"));
    let t = m.client.token_details().expect("token details");
    assert_eq!(t.token, "standalone-token-string");
    assert_eq!(t.expires, None);
    assert_eq!(t.issued, None);
    assert_eq!(t.client_id, None);
    assert_eq!(t.capability, None);
}

/// rest/unit/RSA16b/token-string-from-callback-1
#[test]
fn rsa16b_token_string_from_callback_1() {
    let mut m = Mock::new(callback_opts());
    m.callback(|_| Ok(AuthResponse::Token("just-a-token-string".into())));
    m.queue(vec![status_ok()]);
    m.ok(status("test"));
    let t = m.client.token_details().expect("token details");
    assert_eq!(t.token, "just-a-token-string");
    assert_eq!(t.expires, None);
    assert_eq!(t.issued, None);
}

/// rest/unit/RSA16c/set-on-instantiation-0
#[test]
fn rsa16c_set_on_instantiation_0() {
    let m = Mock::new(ClientOptions {
        key: None,
        token_details: Some(TokenDetails {
            token: "initial-token".into(),
            expires: Some(START_WALL_MS + 3_600_000),
            issued: Some(START_WALL_MS),
            client_id: Some("initial-client".into()),
            ..TokenDetails::default()
        }),
        ..ClientOptions::default()
    });
    let t = m.client.token_details().expect("token details");
    assert_eq!(t.token, "initial-token");
    assert_eq!(t.client_id.as_deref(), Some("initial-client"));
}

/// rest/unit/RSA16c/updated-after-authorize-1
#[test]
fn rsa16c_updated_after_authorize_1() {
    let mut m = versioned();
    m.authorize(None).expect("first authorize");
    let first = m.client.token_details().cloned().expect("a token");
    m.authorize(None).expect("second authorize");
    let second = m.client.token_details().cloned().expect("a token");
    assert_eq!(first.token, "token-v1");
    assert_eq!(first.client_id.as_deref(), Some("client-v1"));
    assert_eq!(second.token, "token-v2");
    assert_eq!(second.client_id.as_deref(), Some("client-v2"));
    assert_ne!(first.token, second.token);
}

/// rest/unit/RSA16c/updated-after-expiry-renewal-2
#[test]
fn rsa16c_updated_after_expiry_renewal_2() {
    let mut m = Mock::new(callback_opts());
    let mut n = 0;
    m.callback(move |_| {
        n += 1;
        // Each token lives for one second of the fake clock.
        let issued = START_WALL_MS + if n == 1 { 0 } else { 2_000 };
        Ok(AuthResponse::Details(token_v(n, issued + 1_000)))
    });
    m.queue(vec![status_ok()]);
    m.ok(status("test"));
    let first = current(&m);
    m.advance(Duration::from_millis(2_000));
    m.ok(status("test"));
    let second = current(&m);
    assert_eq!(first.as_deref(), Some("token-v1"));
    assert_eq!(second.as_deref(), Some("token-v2"));
    assert_eq!(bearer(&m.requests[1]).as_deref(), Some("token-v2"));
    assert_eq!(
        m.requests.len(),
        2,
        "no request was sent with the old token"
    );
}

/// rest/unit/RSA16c/updated-after-40142-renewal-3
///
/// The first token comes with the first request (not `authorize()`, see
/// the pending RSA16c/updated-after-authorize-1), which the service
/// refuses with 40142: the renewal gives `token-v2`.
#[test]
fn rsa16c_updated_after_40142_renewal_3() {
    let mut m = versioned();
    let mut n = 0;
    m.respond(move |_| {
        n += 1;
        if n == 1 {
            error(401, 40142, "Token expired")
        } else {
            status_ok()
        }
    });
    m.ok(status("test"));
    assert_eq!(bearer(&m.requests[0]).as_deref(), Some("token-v1"));
    assert_eq!(current(&m).as_deref(), Some("token-v2"));
    assert_eq!(
        m.client.token_details().and_then(|t| t.client_id.clone()),
        Some("client-v2".into())
    );
}

/// rest/unit/RSA16d/null-with-basic-auth-0
#[test]
fn rsa16d_null_with_basic_auth_0() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![status_ok()]);
    m.ok(status("test"));
    assert_eq!(m.client.token_details(), None);
}

/// rest/unit/RSA16d/null-before-token-obtained-1
#[test]
fn rsa16d_null_before_token_obtained_1() {
    let m = Mock::new(callback_opts());
    assert_eq!(m.client.token_details(), None);
    assert!(m.token_calls.is_empty());
}

/// rest/unit/RSA16d/null-after-invalidation-2
///
/// The first token comes with a first request that succeeds; then the
/// service refuses it with 40142 and the renewal fails: no token remains.
#[test]
fn rsa16d_null_after_invalidation_2() {
    let mut m = Mock::new(callback_opts());
    let mut calls = 0;
    m.callback(move |_| {
        calls += 1;
        if calls == 1 {
            Ok(AuthResponse::Details(details("first-token")))
        } else {
            Err(ErrorInfo::new(40100, 401, "Cannot obtain new token"))
        }
    });
    let reject = Rc::new(Cell::new(false));
    let rejecting = reject.clone();
    m.respond(move |_| {
        if rejecting.get() {
            error(401, 40142, "Token expired")
        } else {
            status_ok()
        }
    });
    m.ok(status("test"));
    assert_eq!(current(&m).as_deref(), Some("first-token"));
    reject.set(true);
    m.err(status("test"));
    assert_eq!(m.client.token_details(), None);
}

/// rest/unit/RSA16d/null-after-switch-to-basic-3
///
/// `authorize()` with a key and `useTokenAuth: false` switches the client
/// to basic auth: no token in use, and requests carry the key.
#[test]
fn rsa16d_null_after_switch_to_basic_3() {
    let mut m = Mock::new(callback_opts());
    m.callback(|_| Ok(AuthResponse::Details(details("my-token"))));
    m.authorize(None).expect("authorize");
    assert!(m.client.token_details().is_some());
    let to_basic = AuthOptions {
        key: Some("appId.keyId:keySecret".into()),
        use_token_auth: Some(false),
        ..AuthOptions::default()
    };
    let done = m.authorize_with(None, Some(to_basic)).expect("basic");
    assert_eq!(done, Completion::Done);
    assert_eq!(m.client.token_details(), None);
    m.queue(vec![status_ok()]);
    m.ok(status("test"));
    assert_eq!(basic(m.last()).as_deref(), Some("appId.keyId:keySecret"));
    assert_eq!(m.token_calls.len(), 1, "no token obtained for the request");
}

/// rest/unit/RSA16a/preserved-across-requests-0
#[test]
fn rsa16a_preserved_across_requests_0() {
    let mut m = Mock::new(callback_opts());
    m.callback(|_| {
        Ok(AuthResponse::Details(TokenDetails {
            client_id: Some("stable-client".into()),
            ..details("stable-token")
        }))
    });
    m.queue(vec![status_ok()]);
    for _ in 0..3 {
        m.ok(status("test"));
        assert_eq!(current(&m).as_deref(), Some("stable-token"));
    }
    assert_eq!(m.token_calls.len(), 1, "not fetched again");
}

/// rest/unit/RSA16a/reflects-capability-1
#[test]
fn rsa16a_reflects_capability_1() {
    let capability = r#"{"channel1":["publish","subscribe"],"channel2":["subscribe"]}"#;
    let mut m = Mock::new(callback_opts());
    m.callback(move |_| {
        Ok(AuthResponse::Details(TokenDetails {
            capability: Some(capability.into()),
            ..details("capable-token")
        }))
    });
    m.queue(vec![status_ok()]);
    m.ok(status("test"));
    let t = m.client.token_details().expect("a token");
    assert_eq!(t.capability.as_deref(), Some(capability));
}

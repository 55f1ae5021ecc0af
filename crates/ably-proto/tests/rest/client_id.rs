//! The clientId of a REST client (RSA7, RSA12, RSA15). Ported from
//! `uts/rest/unit/auth/client_id.md`.

use serde_json::json;

use ably_proto::auth::TokenDetails;
use ably_proto::client::{AuthResponse, ClientOptions, HttpResponse};

use crate::harness::*;

fn status_ok() -> HttpResponse {
    json(
        200,
        json!({"channelId": "test", "status": {"isActive": true}}),
    )
}

/// A client with configured token details for `token_client` and a
/// configured `client_id`.
fn with_token(client_id: Option<&str>, token_client: Option<&str>) -> Mock {
    let mut m = Mock::new(ClientOptions {
        key: None,
        client_id: client_id.map(str::to_owned),
        token_details: Some(TokenDetails {
            client_id: token_client.map(str::to_owned),
            ..details("a-token")
        }),
        ..ClientOptions::default()
    });
    m.queue(vec![status_ok()]);
    m
}

/// rest/unit/RSA7a/clientid-from-options-0
#[test]
fn rsa7a_clientid_from_options_0() {
    let m = Mock::new(ClientOptions {
        client_id: Some("my-client-id".into()),
        ..key_opts()
    });
    assert_eq!(m.client.client_id(), Some("my-client-id"));
}

/// rest/unit/RSA7b/clientid-from-token-details-0
#[test]
fn rsa7b_clientid_from_token_details_0() {
    let m = with_token(None, Some("token-client-id"));
    assert_eq!(m.client.client_id(), Some("token-client-id"));
}

/// rest/unit/RSA7b/clientid-from-callback-token-1
#[test]
fn rsa7b_clientid_from_callback_token_1() {
    let mut m = Mock::new(callback_opts());
    m.callback(|_| {
        Ok(AuthResponse::Details(TokenDetails {
            client_id: Some("callback-client-id".into()),
            ..details("callback-token")
        }))
    });
    m.queue(vec![status_ok()]);
    assert_eq!(m.client.client_id(), None, "no token yet");
    m.ok(status("test"));
    assert_eq!(m.client.client_id(), Some("callback-client-id"));
}

/// rest/unit/RSA7c/clientid-null-unidentified-0
#[test]
fn rsa7c_clientid_null_unidentified_0() {
    let mut m = Mock::new(key_opts());
    assert_eq!(m.client.client_id(), None);
    m.ok(status("test"));
    assert_eq!(m.client.client_id(), None);
    assert_eq!(header(m.only(), "X-Ably-ClientId"), None);
}

/// rest/unit/RSA7c/clientid-null-unidentified-token-1
#[test]
fn rsa7c_clientid_null_unidentified_token_1() {
    let mut m = with_token(None, None);
    assert_eq!(m.client.client_id(), None);
    m.ok(status("test"));
    assert_eq!(m.client.client_id(), None);
}

/// rest/unit/RSA12a/clientid-passed-to-callback-0
#[test]
fn rsa12a_clientid_passed_to_callback_0() {
    let mut m = Mock::new(ClientOptions {
        client_id: Some("library-client-id".into()),
        ..callback_opts()
    });
    m.callback(|_| Ok(AuthResponse::Details(details("tok"))));
    m.queue(vec![status_ok()]);
    m.ok(status("test"));
    assert!(!m.token_calls.is_empty());
    assert_eq!(
        m.token_calls[0].client_id.as_deref(),
        Some("library-client-id")
    );
}

/// rest/unit/RSA12b/clientid-sent-to-authurl-0
#[test]
fn rsa12b_clientid_sent_to_authurl_0() {
    let mut m = Mock::new(ClientOptions {
        client_id: Some("url-client-id".into()),
        ..auth_url_opts("https://auth.example.com/token")
    });
    m.respond(|r| {
        if host(r) == "auth.example.com" {
            json(
                200,
                json!({"token": "url-token", "expires": START_WALL_MS + 3_600_000}),
            )
        } else {
            status_ok()
        }
    });
    m.ok(status("test"));
    let auth = &m.requests[0];
    assert_eq!(host(auth), "auth.example.com");
    assert_eq!(auth.method, "GET");
    assert_eq!(param(auth, "clientId").as_deref(), Some("url-client-id"));
}

/// rest/unit/RSA12/wildcard-clientid-0
#[test]
fn rsa12_wildcard_clientid_0() {
    let mut m = with_token(None, Some("*"));
    assert_eq!(m.client.client_id(), Some("*"));
    m.ok(status("test"));
    assert_eq!(bearer(m.only()).as_deref(), Some("a-token"));
}

/// rest/unit/RSA7/clientid-updated-after-authorize-0
#[test]
fn rsa7_clientid_updated_after_authorize_0() {
    let mut m = Mock::new(callback_opts());
    let mut n = 0;
    m.callback(move |_| {
        n += 1;
        Ok(AuthResponse::Details(TokenDetails {
            client_id: Some(format!("client-{n}")),
            ..details(&format!("token-{n}"))
        }))
    });
    m.queue(vec![status_ok()]);
    m.ok(status("test"));
    assert_eq!(m.client.client_id(), Some("client-1"));
    m.authorize(None).expect("authorize");
    assert_eq!(m.client.client_id(), Some("client-2"));
    assert_eq!(m.token_calls.len(), 2);
}

/// rest/unit/RSA7/clientid-mismatch-error-1
///
/// The mismatch is found at the first request that would use the token,
/// before it is sent.
#[test]
fn rsa7_clientid_mismatch_error_1() {
    for (mine, theirs, ok, expected) in [
        (Some("client-a"), Some("client-a"), true, Some("client-a")),
        (Some("client-a"), Some("client-b"), false, Some("client-a")),
        (Some("client-a"), None, true, Some("client-a")),
        (Some("client-a"), Some("*"), true, Some("client-a")),
        (None, Some("client-b"), true, Some("client-b")),
    ] {
        let mut m = with_token(mine, theirs);
        let result = m.rest(status("test"));
        assert_eq!(result.is_ok(), ok, "{mine:?} with a token for {theirs:?}");
        if let Err(e) = result {
            assert!(e.message.contains("clientId"), "{e}");
            assert!(m.requests.is_empty());
        }
        assert_eq!(m.client.client_id(), expected);
    }
}

/// rest/unit/RSA15a/token-clientid-must-match-0
#[test]
fn rsa15a_token_clientid_must_match_0() {
    let mut matching = with_token(Some("my-client"), Some("my-client"));
    matching.ok(status("test"));
    assert_eq!(matching.client.client_id(), Some("my-client"));

    let mut other = with_token(Some("my-client"), Some("other-client"));
    let e = other.err(status("test"));
    assert_eq!((e.code, e.status_code), (40102, Some(401)));
    assert!(other.requests.is_empty());
}

/// rest/unit/RSA15b/wildcard-token-permits-any-0
#[test]
fn rsa15b_wildcard_token_permits_any_0() {
    let mut m = with_token(Some("any-client"), Some("*"));
    m.ok(status("test"));
    assert_eq!(m.client.client_id(), Some("any-client"));
    // And unidentified.
    let mut m = with_token(None, Some("*"));
    m.ok(status("test"));
}

/// rest/unit/RSA15c/incompatible-clientid-error-0
///
/// A token obtained for another clientId is refused and the request fails
/// without being sent (the core gives 40012, as the realtime client does
/// for the same case, RSA15c); a configured one is RSA15a's 40102.
#[test]
fn rsa15c_incompatible_clientid_error_0() {
    let mut m = Mock::new(ClientOptions {
        client_id: Some("my-client".into()),
        ..callback_opts()
    });
    m.callback(|_| {
        Ok(AuthResponse::Details(TokenDetails {
            client_id: Some("other-client".into()),
            ..details("wrong-token")
        }))
    });
    let e = m.err(status("test"));
    assert_eq!(e.code, 40012);
    assert!(e.message.contains("clientId"));
    assert!(m.requests.is_empty());
    assert_eq!(m.client.client_id(), Some("my-client"));

    let mut m = with_token(Some("my-client"), Some("other-client"));
    assert_eq!(m.err(status("test")).code, 40102);
}

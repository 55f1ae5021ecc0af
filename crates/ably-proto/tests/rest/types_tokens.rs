//! TokenDetails (TD), TokenParams (TK) and TokenRequest (TE). Ported from
//! `uts/rest/unit/types/token_types.md`.

use serde_json::json;

use ably_proto::auth::{TokenDetails, TokenParams, TokenRequest};
use ably_proto::client::{AuthUrl, ClientOptions, TokenSource};

use crate::harness::*;

/// rest/unit/TD1/token-details-attributes-0
#[test]
fn td1_token_details_attributes_0() {
    let t = TokenDetails {
        token: "test-token".into(),
        expires: Some(1_234_567_890_000),
        issued: Some(1_234_567_800_000),
        capability: Some(r#"{"*":["*"]}"#.into()),
        client_id: Some("my-client".into()),
        ..TokenDetails::default()
    };
    assert_eq!(t.token, "test-token");
    assert_eq!(t.expires, Some(1_234_567_890_000));
    assert_eq!(t.issued, Some(1_234_567_800_000));
    assert_eq!(t.capability.as_deref(), Some(r#"{"*":["*"]}"#));
    assert_eq!(t.client_id.as_deref(), Some("my-client"));
}

/// rest/unit/TD/token-details-from-json-0
#[test]
fn td_token_details_from_json_0() {
    let t: TokenDetails = serde_json::from_value(json!({
        "token": "deserialized-token", "expires": 1_234_567_890_000_i64,
        "issued": 1_234_567_800_000_i64, "capability": "{\"channel-1\":[\"publish\"]}",
        "clientId": "json-client", "keyName": "appId.keyId"
    }))
    .expect("TokenDetails");
    assert_eq!(t.token, "deserialized-token");
    assert_eq!(t.expires, Some(1_234_567_890_000));
    assert_eq!(t.issued, Some(1_234_567_800_000));
    assert_eq!(
        t.capability.as_deref(),
        Some(r#"{"channel-1":["publish"]}"#)
    );
    assert_eq!(t.client_id.as_deref(), Some("json-client"));
    assert_eq!(t.key_name.as_deref(), Some("appId.keyId"));
}

/// rest/unit/TK1/token-params-attributes-0
#[test]
fn tk1_token_params_attributes_0() {
    let none = TokenParams::default();
    assert_eq!(none.ttl, None, "RSA5 depends on this");
    assert_eq!(none.capability, None, "RSA6 depends on this");
    let p = TokenParams {
        ttl: Some(7_200_000),
        capability: Some(r#"{"*":["*"]}"#.into()),
        client_id: Some("full-client".into()),
        timestamp: Some(1_234_567_890_000),
        nonce: Some("full-nonce".into()),
    };
    assert_eq!(p.ttl, Some(7_200_000));
    assert_eq!(p.capability.as_deref(), Some(r#"{"*":["*"]}"#));
    assert_eq!(p.client_id.as_deref(), Some("full-client"));
    assert_eq!(p.timestamp, Some(1_234_567_890_000));
    assert_eq!(p.nonce.as_deref(), Some("full-nonce"));
}

/// rest/unit/TK/token-params-to-query-string-0
///
/// The params become the query of an authUrl GET (RSA8c1).
#[test]
fn tk_token_params_to_query_string_0() {
    let mut m = Mock::new(ClientOptions {
        key: None,
        token_source: TokenSource::Url(AuthUrl {
            url: "https://auth.example.com/token".into(),
            ..AuthUrl::default()
        }),
        ..ClientOptions::default()
    });
    m.queue(vec![json(200, json!({"token": "t"}))]);
    let params = TokenParams {
        ttl: Some(3_600_000),
        client_id: Some("query-client".into()),
        capability: Some(r#"{"ch":["pub"]}"#.into()),
        ..TokenParams::default()
    };
    m.request_token(Some(params)).expect("token");
    let r = m.only();
    assert_eq!(param(r, "ttl").as_deref(), Some("3600000"));
    assert_eq!(param(r, "clientId").as_deref(), Some("query-client"));
    assert_eq!(param(r, "capability").as_deref(), Some(r#"{"ch":["pub"]}"#));
    assert_eq!(param(r, "nonce"), None, "unset params are left out");
}

/// rest/unit/TE1/token-request-attributes-0
#[test]
fn te1_token_request_attributes_0() {
    let bare = TokenRequest {
        key_name: "appId.keyId".into(),
        timestamp: 1_234_567_890_000,
        nonce: "nonce-1".into(),
        ..TokenRequest::default()
    };
    assert_eq!(bare.key_name, "appId.keyId");
    assert_eq!(bare.ttl, None);
    assert_eq!(bare.capability, None);
    assert_eq!(bare.timestamp, 1_234_567_890_000);
    assert_eq!(bare.nonce, "nonce-1");
    let full = TokenRequest {
        ttl: Some(3_600_000),
        capability: Some(r#"{"*":["*"]}"#.into()),
        client_id: Some("request-client".into()),
        ..bare
    };
    assert_eq!(full.ttl, Some(3_600_000));
    assert_eq!(full.capability.as_deref(), Some(r#"{"*":["*"]}"#));
    assert_eq!(full.client_id.as_deref(), Some("request-client"));
}

/// rest/unit/TE/token-request-mac-signature-0
#[test]
fn te_token_request_mac_signature_0() {
    let r = TokenRequest {
        key_name: "appId.keyId".into(),
        timestamp: 1_234_567_890_000,
        nonce: "nonce-value".into(),
        mac: "signature-base64".into(),
        ..TokenRequest::default()
    };
    assert_eq!(r.mac, "signature-base64");
}

/// rest/unit/TE/token-request-to-json-1
#[test]
fn te_token_request_to_json_1() {
    let r = TokenRequest {
        key_name: "appId.keyId".into(),
        ttl: Some(3_600_000),
        capability: Some(r#"{"*":["*"]}"#.into()),
        client_id: Some("json-client".into()),
        timestamp: 1_234_567_890_000,
        nonce: "json-nonce".into(),
        mac: "json-mac".into(),
    };
    let v = serde_json::to_value(&r).expect("json");
    assert_eq!(
        v,
        json!({"keyName": "appId.keyId", "ttl": 3_600_000, "capability": "{\"*\":[\"*\"]}",
               "clientId": "json-client", "timestamp": 1_234_567_890_000_i64,
               "nonce": "json-nonce", "mac": "json-mac"})
    );
}

/// rest/unit/TE/token-request-from-json-2
#[test]
fn te_token_request_from_json_2() {
    let r: TokenRequest = serde_json::from_value(json!({
        "keyName": "appId.keyId", "ttl": 7_200_000, "capability": "{\"ch\":[\"sub\"]}",
        "clientId": "from-json-client", "timestamp": 1_234_567_899_999_i64,
        "nonce": "from-json-nonce", "mac": "from-json-mac"
    }))
    .expect("TokenRequest");
    assert_eq!(r.key_name, "appId.keyId");
    assert_eq!(r.ttl, Some(7_200_000));
    assert_eq!(r.capability.as_deref(), Some(r#"{"ch":["sub"]}"#));
    assert_eq!(r.client_id.as_deref(), Some("from-json-client"));
    assert_eq!(r.timestamp, 1_234_567_899_999);
    assert_eq!(r.nonce, "from-json-nonce");
    assert_eq!(r.mac, "from-json-mac");
}

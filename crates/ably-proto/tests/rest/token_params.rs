//! `ttl` and `capability` of `createTokenRequest` (RSA5, RSA6, RSA9).
//! Ported from `uts/rest/unit/auth/token_request_params.md`.

use ably_proto::auth::{ApiKey, TokenParams, TokenRequest, verify_token_request};
use ably_proto::client::ClientOptions;
use ably_proto::rest::token_request;

use crate::harness::*;

fn create(opts: &ClientOptions, params: Option<TokenParams>) -> TokenRequest {
    let request =
        token_request(opts, params, START_WALL_MS, [1, 2, 3, 4, 5, 6, 7, 8]).expect("signed");
    // Every request is signed with the key's secret (RSA9g).
    let key = ApiKey::parse(opts.key.as_deref().unwrap_or_default()).expect("key");
    assert!(verify_token_request(&request, key.secret()));
    assert_eq!(request.key_name, "appId.keyId");
    assert_eq!(request.timestamp, START_WALL_MS);
    assert!(request.nonce.len() >= 16);
    request
}

fn with_defaults(defaults: TokenParams) -> ClientOptions {
    ClientOptions {
        default_token_params: defaults,
        ..key_opts()
    }
}

/// rest/unit/RSA5/ttl-null-when-unspecified-0
#[test]
fn rsa5_ttl_null_when_unspecified_0() {
    let request = create(&key_opts(), None);
    assert_eq!(request.ttl, None);
    let sent = serde_json::to_value(&request).expect("json");
    assert!(sent.get("ttl").is_none(), "omitted, not 0 or 3600000");
}

/// rest/unit/RSA5b/explicit-ttl-preserved-0
#[test]
fn rsa5b_explicit_ttl_preserved_0() {
    let params = TokenParams {
        ttl: Some(7_200_000),
        ..TokenParams::default()
    };
    assert_eq!(create(&key_opts(), Some(params)).ttl, Some(7_200_000));
}

/// rest/unit/RSA5c/ttl-from-default-params-0
#[test]
fn rsa5c_ttl_from_default_params_0() {
    let opts = with_defaults(TokenParams {
        ttl: Some(1_800_000),
        ..TokenParams::default()
    });
    assert_eq!(create(&opts, None).ttl, Some(1_800_000));
}

/// rest/unit/RSA5d/explicit-ttl-overrides-default-0
#[test]
fn rsa5d_explicit_ttl_overrides_default_0() {
    let opts = with_defaults(TokenParams {
        ttl: Some(1_800_000),
        ..TokenParams::default()
    });
    let params = TokenParams {
        ttl: Some(600_000),
        ..TokenParams::default()
    };
    assert_eq!(create(&opts, Some(params)).ttl, Some(600_000));
}

/// rest/unit/RSA6/capability-null-when-unspecified-0
#[test]
fn rsa6_capability_null_when_unspecified_0() {
    let request = create(&key_opts(), None);
    assert_eq!(request.capability, None);
    let sent = serde_json::to_value(&request).expect("json");
    assert!(
        sent.get("capability").is_none(),
        "not a default of {{\"*\":[\"*\"]}}"
    );
}

/// rest/unit/RSA6b/explicit-capability-preserved-0
#[test]
fn rsa6b_explicit_capability_preserved_0() {
    let capability = r#"{"channel-a":["publish","subscribe"]}"#;
    let params = TokenParams {
        capability: Some(capability.into()),
        ..TokenParams::default()
    };
    assert_eq!(
        create(&key_opts(), Some(params)).capability.as_deref(),
        Some(capability)
    );
}

/// rest/unit/RSA6c/capability-from-default-params-0
#[test]
fn rsa6c_capability_from_default_params_0() {
    let opts = with_defaults(TokenParams {
        capability: Some(r#"{"*":["subscribe"]}"#.into()),
        ..TokenParams::default()
    });
    assert_eq!(
        create(&opts, None).capability.as_deref(),
        Some(r#"{"*":["subscribe"]}"#)
    );
}

/// rest/unit/RSA6d/explicit-capability-overrides-default-0
///
/// Given params replace the defaults as a whole (RSA9h): the default ttl
/// is not merged in either.
#[test]
fn rsa6d_explicit_capability_overrides_default_0() {
    let opts = with_defaults(TokenParams {
        capability: Some(r#"{"*":["subscribe"]}"#.into()),
        ttl: Some(1_800_000),
        ..TokenParams::default()
    });
    let params = TokenParams {
        capability: Some(r#"{"channel-x":["publish"]}"#.into()),
        ..TokenParams::default()
    };
    let request = create(&opts, Some(params));
    assert_eq!(
        request.capability.as_deref(),
        Some(r#"{"channel-x":["publish"]}"#)
    );
    assert_eq!(request.ttl, None);
}

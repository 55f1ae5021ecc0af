//! `revokeTokens` (RSA17) and its results (BAR2, TRS2, TRF2). Ported from
//! `uts/rest/unit/auth/revoke_tokens.md`.

use serde_json::json;

use ably_proto::client::{ClientOptions, HttpResponse};
use ably_proto::rest::{
    BatchResult, RestOp, RestResult, TokenRevocationResult, TokenRevocationTarget,
};

use crate::harness::*;

fn opts() -> ClientOptions {
    ClientOptions {
        auto_connect: false,
        format: ably_proto::codec::Format::Json,
        ..ClientOptions::with_key("appId.keyName:keySecret")
    }
}

fn revoke(targets: &[(&str, &str)], issued_before: Option<i64>, margin: Option<bool>) -> RestOp {
    RestOp::RevokeTokens {
        targets: targets
            .iter()
            .map(|(k, v)| TokenRevocationTarget::new(*k, *v))
            .collect(),
        issued_before,
        allow_reauth_margin: margin,
    }
}

fn alice() -> RestOp {
    revoke(&[("clientId", "alice")], None, None)
}

fn alice_ok() -> HttpResponse {
    json(
        200,
        json!([{"target": "clientId:alice", "issuedBefore": 1_700_000_000_000_i64, "appliesAt": 1_700_000_001_000_i64}]),
    )
}

fn results(r: RestResult) -> BatchResult<TokenRevocationResult> {
    match r {
        RestResult::TokenRevocation(b) => b,
        other => panic!("expected revocation results, got {other:?}"),
    }
}

fn failure(target: &str) -> serde_json::Value {
    json!({"target": target, "error": {"code": 40000, "statusCode": 400, "message": "Invalid target type"}})
}

/// rest/unit/RSA17g/sends-post-correct-path-0
#[test]
fn rsa17g_sends_post_correct_path_0() {
    let mut m = Mock::new(opts());
    m.queue(vec![alice_ok()]);
    m.ok(alice());
    let r = m.only();
    assert_eq!(r.method, "POST");
    assert_eq!(path(r), "/keys/appId.keyName/revokeTokens");
}

/// rest/unit/RSA17b/single-specifier-targets-0
#[test]
fn rsa17b_single_specifier_targets_0() {
    let mut m = Mock::new(opts());
    m.queue(vec![alice_ok()]);
    m.ok(alice());
    assert_eq!(body(m.only())["targets"], json!(["clientId:alice"]));
}

/// rest/unit/RSA17b/multiple-specifier-types-1
#[test]
fn rsa17b_multiple_specifier_types_1() {
    let mut m = Mock::new(opts());
    m.ok(revoke(
        &[
            ("clientId", "alice"),
            ("revocationKey", "group-1"),
            ("channel", "secret"),
        ],
        None,
        None,
    ));
    assert_eq!(
        body(m.only())["targets"],
        json!(["clientId:alice", "revocationKey:group-1", "channel:secret"])
    );
}

/// rest/unit/RSA17c/all-success-result-0
#[test]
fn rsa17c_all_success_result_0() {
    let mut m = Mock::new(opts());
    m.queue(vec![json(
        200,
        json!([
            {"target": "clientId:alice", "issuedBefore": 1_700_000_000_000_i64, "appliesAt": 1_700_000_001_000_i64},
            {"target": "clientId:bob", "issuedBefore": 1_700_000_000_000_i64, "appliesAt": 1_700_000_002_000_i64}
        ]),
    )]);
    let r = results(m.ok(revoke(
        &[("clientId", "alice"), ("clientId", "bob")],
        None,
        None,
    )));
    assert_eq!((r.success_count, r.failure_count), (2, 0));
    assert_eq!(r.results.len(), 2);
}

/// rest/unit/RSA17c/mixed-success-failure-1
#[test]
fn rsa17c_mixed_success_failure_1() {
    let mut m = Mock::new(opts());
    m.queue(vec![json(
        200,
        json!({"successCount": 1, "failureCount": 1, "results": [
            {"target": "clientId:alice", "issuedBefore": 1_700_000_000_000_i64, "appliesAt": 1_700_000_001_000_i64},
            failure("invalidType:abc")
        ]}),
    )]);
    let r = results(m.ok(revoke(
        &[("clientId", "alice"), ("invalidType", "abc")],
        None,
        None,
    )));
    assert_eq!((r.success_count, r.failure_count), (1, 1));
    assert_eq!(r.results.len(), 2);
    assert!(matches!(
        r.results[0],
        TokenRevocationResult::Success { .. }
    ));
    assert!(matches!(
        r.results[1],
        TokenRevocationResult::Failure { .. }
    ));
}

/// rest/unit/RSA17c/all-failure-result-2
#[test]
fn rsa17c_all_failure_result_2() {
    let mut m = Mock::new(opts());
    m.queue(vec![json(
        200,
        json!({"successCount": 0, "failureCount": 2, "results": [
            failure("invalidType:foo"), failure("invalidType:bar")
        ]}),
    )]);
    let r = results(m.ok(revoke(
        &[("invalidType", "foo"), ("invalidType", "bar")],
        None,
        None,
    )));
    assert_eq!((r.success_count, r.failure_count), (0, 2));
    assert_eq!(r.results.len(), 2);
}

/// rest/unit/TRS2/success-result-attributes-0
#[test]
fn trs2_success_result_attributes_0() {
    let mut m = Mock::new(opts());
    m.queue(vec![alice_ok()]);
    let r = results(m.ok(alice()));
    assert_eq!(
        r.results[0],
        TokenRevocationResult::Success {
            target: "clientId:alice".into(),
            issued_before: Some(1_700_000_000_000),
            applies_at: Some(1_700_000_001_000),
        }
    );
}

/// rest/unit/TRF2/failure-result-attributes-0
#[test]
fn trf2_failure_result_attributes_0() {
    let mut m = Mock::new(opts());
    m.queue(vec![json(
        200,
        json!({"successCount": 0, "failureCount": 1, "results": [failure("invalidType:abc")]}),
    )]);
    let r = results(m.ok(revoke(&[("invalidType", "abc")], None, None)));
    let TokenRevocationResult::Failure { target, error } = &r.results[0] else {
        panic!("a failure expected: {:?}", r.results[0]);
    };
    assert_eq!(target, "invalidType:abc");
    assert_eq!((error.code, error.status_code), (40000, Some(400)));
    assert!(error.message.contains("Invalid target type"));
}

/// rest/unit/RSA17d/token-auth-revoke-rejected-0
#[test]
fn rsa17d_token_auth_revoke_rejected_0() {
    let mut m = Mock::new(ClientOptions::with_token("a.token.string"));
    let e = m.err(alice());
    assert_eq!((e.code, e.status_code), (40162, Some(401)));
    assert!(m.requests.is_empty());
}

/// rest/unit/RSA17d/use-token-auth-revoke-rejected-1
#[test]
fn rsa17d_use_token_auth_revoke_rejected_1() {
    let mut m = Mock::new(ClientOptions {
        use_token_auth: true,
        ..opts()
    });
    let e = m.err(alice());
    assert_eq!((e.code, e.status_code), (40162, Some(401)));
    assert!(m.requests.is_empty());
}

/// rest/unit/RSA17e/issued-before-included-0
#[test]
fn rsa17e_issued_before_included_0() {
    let mut m = Mock::new(opts());
    m.ok(revoke(
        &[("clientId", "alice")],
        Some(1_699_999_000_000),
        None,
    ));
    assert_eq!(body(m.only())["issuedBefore"], json!(1_699_999_000_000_i64));
}

/// rest/unit/RSA17e/issued-before-omitted-1
#[test]
fn rsa17e_issued_before_omitted_1() {
    let mut m = Mock::new(opts());
    m.ok(alice());
    assert!(body(m.only()).get("issuedBefore").is_none());
}

/// rest/unit/RSA17f/reauth-margin-included-0
#[test]
fn rsa17f_reauth_margin_included_0() {
    let mut m = Mock::new(opts());
    m.ok(revoke(&[("clientId", "alice")], None, Some(true)));
    assert_eq!(body(m.only())["allowReauthMargin"], json!(true));
}

/// rest/unit/RSA17f/reauth-margin-omitted-1
#[test]
fn rsa17f_reauth_margin_omitted_1() {
    let mut m = Mock::new(opts());
    m.ok(alice());
    assert!(body(m.only()).get("allowReauthMargin").is_none());
}

/// rest/unit/RSA17f/both-options-together-2
#[test]
fn rsa17f_both_options_together_2() {
    let mut m = Mock::new(opts());
    m.ok(revoke(
        &[("clientId", "alice")],
        Some(1_699_999_000_000),
        Some(true),
    ));
    let b = body(m.only());
    assert_eq!(b["targets"], json!(["clientId:alice"]));
    assert_eq!(b["issuedBefore"], json!(1_699_999_000_000_i64));
    assert_eq!(b["allowReauthMargin"], json!(true));
}

/// rest/unit/RSA17/server-error-propagated-0
#[test]
fn rsa17_server_error_propagated_0() {
    let mut m = Mock::new(ClientOptions {
        fallback_hosts: Some(Vec::new()),
        ..opts()
    });
    m.queue(vec![error(500, 50000, "Internal error")]);
    let e = m.err(alice());
    assert_eq!((e.code, e.status_code), (50000, Some(500)));
}

/// rest/unit/RSA17/request-uses-basic-auth-0
#[test]
fn rsa17_request_uses_basic_auth_0() {
    let mut m = Mock::new(opts());
    m.ok(alice());
    let r = m.only();
    assert!(header(r, "Authorization").is_some_and(|a| a.starts_with("Basic ")));
    assert_eq!(basic(r).as_deref(), Some("appId.keyName:keySecret"));
}

//! ErrorInfo (TI1-TI5). Ported from `uts/rest/unit/types/error_types.md`.
//! In Rust the error a call fails with is the `ErrorInfo` itself, in the
//! `Err` of a `Result`; it is a `std::error::Error`.

use ably_proto::ErrorInfo;
use ably_proto::rest::error_from_response;

use crate::harness::*;

/// rest/unit/TI1/errorinfo-attributes-0
#[test]
fn ti1_errorinfo_attributes_0() {
    let e = ErrorInfo::new(40000, 400, "Bad request: invalid parameter");
    assert_eq!(e.code, 40000); // TI1
    assert_eq!(e.status_code, Some(400)); // TI2
    assert_eq!(e.message, "Bad request: invalid parameter"); // TI3
    let linked = ErrorInfo {
        href: Some("https://help.ably.io/error/40000".into()),
        ..ErrorInfo::default()
    };
    assert_eq!(
        linked.href.as_deref(),
        Some("https://help.ably.io/error/40000")
    ); // TI4
    let original = ErrorInfo::new(80000, 503, "Network failure");
    let e = ErrorInfo::new(50003, 500, "Timeout").with_cause(original.clone());
    assert_eq!(e.cause.as_deref(), Some(&original)); // TI5
    // A bare error has no status, link or cause.
    let bare = ErrorInfo {
        code: 40000,
        ..ErrorInfo::default()
    };
    assert_eq!(
        (bare.status_code, bare.href, bare.cause),
        (None, None, None)
    );
}

/// rest/unit/TI/errorinfo-from-json-0
#[test]
fn ti_errorinfo_from_json_0() {
    let e = error_from_response(
        &json(
            401,
            serde_json::json!({"error": {"code": 40100, "statusCode": 401, "message": "Token expired", "href": "https://help.ably.io/error/40100"}}),
        ),
        ably_proto::codec::Format::Json,
    );
    assert_eq!(e.code, 40100);
    assert_eq!(e.status_code, Some(401));
    assert_eq!(e.message, "Token expired");
    assert_eq!(e.href.as_deref(), Some("https://help.ably.io/error/40100"));
}

/// rest/unit/TI/errorinfo-nested-cause-1
#[test]
fn ti_errorinfo_nested_cause_1() {
    let e: ErrorInfo = serde_json::from_value(serde_json::json!({
        "code": 50000, "statusCode": 500, "message": "Internal error",
        "cause": {"code": 50001, "message": "Database connection failed"}
    }))
    .expect("ErrorInfo");
    assert_eq!(e.code, 50000);
    let cause = e.cause.expect("a cause");
    assert_eq!(cause.code, 50001);
    assert_eq!(cause.message, "Database connection failed");
}

/// rest/unit/TI/ably-exception-wraps-errorinfo-2
///
/// The error value of a failed call is the ErrorInfo itself: as a
/// `Box<dyn Error>` it gives the same code, status and message back.
#[test]
fn ti_ably_exception_wraps_errorinfo_2() {
    let info = ErrorInfo::new(40000, 400, "Bad request");
    let boxed: Box<dyn std::error::Error> = Box::new(info.clone());
    let back = boxed.downcast_ref::<ErrorInfo>().expect("an ErrorInfo");
    assert_eq!(back.code, 40000);
    assert_eq!(back.status_code, Some(400));
    assert_eq!(back.message, "Bad request");
    assert_eq!(back, &info);
}

/// rest/unit/TI/common-error-codes-3
#[test]
fn ti_common_error_codes_3() {
    for (code, status, meaning) in [
        (40000, 400, "Bad request"),
        (40100, 401, "Unauthorized"),
        (40101, 401, "Invalid credentials"),
        (40140, 401, "Token error"),
        (40142, 401, "Token expired"),
        (40160, 401, "Invalid capability"),
        (40300, 403, "Forbidden"),
        (40400, 404, "Not found"),
        (50000, 500, "Internal server error"),
        (50003, 500, "Timeout"),
    ] {
        let e = ErrorInfo::new(code, status, meaning);
        assert_eq!((e.code, e.status_code), (code, Some(status)));
        assert_eq!(e.is_token_error(), (40140..40150).contains(&code), "{code}");
    }
}

/// rest/unit/TI/error-string-representation-4
#[test]
fn ti_error_string_representation_4() {
    let text = ErrorInfo::new(40100, 401, "Unauthorized: token expired").to_string();
    assert!(text.contains("40100"), "{text}");
    assert!(text.contains("401"), "{text}");
    assert!(text.contains("Unauthorized"), "{text}");
}

/// rest/unit/TI/error-equality-5
#[test]
fn ti_error_equality_5() {
    let e1 = ErrorInfo::new(40000, 400, "Bad request");
    let e2 = ErrorInfo::new(40000, 400, "Bad request");
    let e3 = ErrorInfo::new(40100, 401, "Unauthorized");
    assert_eq!(e1, e2);
    assert_ne!(e1, e3);
}

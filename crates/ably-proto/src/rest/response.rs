//! Reading answers: the body by its content type (RSC8d, RSC8e), and
//! errors from `{"error": ErrorInfo}` bodies or `X-Ably-Errorcode` headers.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::ErrorInfo;
use crate::client::HttpResponse;
use crate::codec::{self, Format, Wire};
use crate::error::codes;

/// The format of a response body by its `Content-Type` (RSC8d); `default`
/// when there is none. `None` for an empty body. A type the library cannot
/// read is an error (RSC8e).
pub fn body_format(response: &HttpResponse, default: Format) -> Result<Option<Format>, ErrorInfo> {
    if response.body.is_empty() {
        return Ok(None);
    }
    let content_type = response
        .header("content-type")
        .map(|t| t.to_ascii_lowercase());
    match content_type.as_deref() {
        None | Some("") => Ok(Some(default)),
        Some(t) if t.contains("msgpack") => Ok(Some(Format::MsgPack)),
        Some(t) if t.contains("json") => Ok(Some(Format::Json)),
        Some(t) => Err(unsupported(response, t)),
    }
}

/// RSC8e: an unreadable content type, with the start of the body in base64.
fn unsupported(response: &HttpResponse, content_type: &str) -> ErrorInfo {
    let head = &response.body[..response.body.len().min(512)];
    let message = format!(
        "unsupported content type '{content_type}' in a response with status {}; body (base64): {}",
        response.status,
        BASE64.encode(head)
    );
    if response.status >= 400 {
        // RSC8e1
        ErrorInfo::new(u32::from(response.status) * 100, response.status, message)
    } else {
        // RSC8e2
        ErrorInfo::new(codes::INVALID_DATA_OR_ENCODING, 400, message)
    }
}

/// An error for a body that does not decode.
fn unreadable(e: impl std::fmt::Display) -> ErrorInfo {
    ErrorInfo::new(
        codes::INTERNAL,
        500,
        format!("the response body could not be read: {e}"),
    )
}

/// Whether an encoded body is an array.
fn is_array(bytes: &[u8], format: Format) -> bool {
    match format {
        Format::Json => bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'['),
        Format::MsgPack => matches!(bytes.first(), Some(0x90..=0x9f | 0xdc | 0xdd)),
    }
}

/// The items of a body: an array's elements, or a single value as one
/// item; none for an empty body (HP3).
pub fn decode_items<T: Wire>(
    response: &HttpResponse,
    default: Format,
) -> Result<Vec<T>, ErrorInfo> {
    let Some(format) = body_format(response, default)? else {
        return Ok(Vec::new());
    };
    let body = &response.body;
    if is_array(body, format) {
        codec::decode::<Vec<T>>(body, format).map_err(unreadable)
    } else {
        codec::decode::<T>(body, format)
            .map(|v| vec![v])
            .map_err(unreadable)
    }
}

/// The body as one value, `None` when empty.
pub fn decode_one<T: Wire>(
    response: &HttpResponse,
    default: Format,
) -> Result<Option<T>, ErrorInfo> {
    match body_format(response, default)? {
        None => Ok(None),
        Some(format) => codec::decode::<T>(&response.body, format)
            .map(Some)
            .map_err(unreadable),
    }
}

/// The body as a JSON value (MessagePack is converted; binary becomes
/// base64 text); `Null` when empty.
pub fn decode_json(
    response: &HttpResponse,
    default: Format,
) -> Result<serde_json::Value, ErrorInfo> {
    match body_format(response, default)? {
        None => Ok(serde_json::Value::Null),
        Some(Format::Json) => serde_json::from_slice(&response.body).map_err(unreadable),
        Some(Format::MsgPack) => {
            let mut reader = &response.body[..];
            // The codec's nesting limit, not rmpv's deeper default: a deep
            // body must be an error, not a stack overflow.
            let value =
                rmpv::decode::read_value_with_max_depth(&mut reader, crate::codec::MAX_DEPTH)
                    .map_err(unreadable)?;
            if !reader.is_empty() {
                return Err(unreadable("trailing bytes after the value"));
            }
            Ok(msgpack_to_json(value))
        }
    }
}

/// The body's items as JSON values (HP3): an array's elements, an object
/// as one item, none for an empty body.
pub fn decode_json_items(
    response: &HttpResponse,
    default: Format,
) -> Result<Vec<serde_json::Value>, ErrorInfo> {
    Ok(match decode_json(response, default)? {
        serde_json::Value::Null => Vec::new(),
        serde_json::Value::Array(items) => items,
        other => vec![other],
    })
}

/// A MessagePack value as JSON: binary as base64 text, extension types as
/// `null`, non-string map keys as their JSON text.
pub fn msgpack_to_json(value: rmpv::Value) -> serde_json::Value {
    use rmpv::Value as M;
    use serde_json::Value as J;
    match value {
        M::Nil | M::Ext(..) => J::Null,
        M::Boolean(b) => J::Bool(b),
        M::Integer(i) => match (i.as_u64(), i.as_i64()) {
            (Some(u), _) => J::from(u),
            (None, Some(s)) => J::from(s),
            _ => J::Null,
        },
        M::F32(f) => serde_json::Number::from_f64(f64::from(f)).map_or(J::Null, J::Number),
        M::F64(f) => serde_json::Number::from_f64(f).map_or(J::Null, J::Number),
        M::String(s) => match s.into_str() {
            Some(s) => J::String(s),
            None => J::Null,
        },
        M::Binary(b) => J::String(BASE64.encode(b)),
        M::Array(items) => J::Array(items.into_iter().map(msgpack_to_json).collect()),
        M::Map(entries) => J::Object(
            entries
                .into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        M::String(s) => s.into_str().unwrap_or_default(),
                        other => msgpack_to_json(other).to_string(),
                    };
                    (key, msgpack_to_json(v))
                })
                .collect(),
        ),
    }
}

/// The error an answer carries: the `error` of its body (JSON or
/// MessagePack), else the `X-Ably-Errorcode` and `X-Ably-Errormessage`
/// headers, else one made from the status (`status * 100`). The status
/// code is the response's when the error has none.
pub fn error_from_response(response: &HttpResponse, default: Format) -> ErrorInfo {
    #[derive(serde::Deserialize, serde::Serialize)]
    struct Body {
        error: ErrorInfo,
    }
    impl Wire for Body {}
    let from_body = decode_one::<Body>(response, default)
        .ok()
        .flatten()
        .map(|b| b.error);
    let header_code = error_code_header(response);
    let header_message = response.header("x-ably-errormessage").map(str::to_owned);
    let mut error = match from_body {
        Some(e) => e,
        None => {
            let code = header_code.unwrap_or(u32::from(response.status) * 100);
            let message = header_message.unwrap_or_else(|| format!("HTTP {}", response.status));
            ErrorInfo::new(code, response.status, message)
        }
    };
    error.status_code.get_or_insert(response.status);
    if error.code == 0 {
        error.code = header_code.unwrap_or(u32::from(response.status) * 100);
    }
    error
}

/// The `X-Ably-Errorcode` header as a number (HP6).
pub fn error_code_header(response: &HttpResponse) -> Option<u32> {
    response
        .header("x-ably-errorcode")
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, content_type: Option<&str>, body: &[u8]) -> HttpResponse {
        HttpResponse {
            status,
            headers: content_type
                .map(|t| vec![("Content-Type".to_owned(), t.to_owned())])
                .unwrap_or_default(),
            body: body.to_vec(),
        }
    }

    #[test]
    fn body_follows_the_content_type_not_the_request() {
        let json = response(200, Some("application/json; charset=utf-8"), b"[1,2]");
        assert_eq!(
            decode_json_items(&json, Format::MsgPack).expect("json"),
            vec![serde_json::json!(1), serde_json::json!(2)]
        );
        let packed = rmp_serde::to_vec_named(&serde_json::json!({"id": "1"})).expect("encode");
        let msgpack = response(200, Some("application/x-msgpack"), &packed);
        assert_eq!(
            decode_json_items(&msgpack, Format::Json).expect("msgpack"),
            vec![serde_json::json!({"id": "1"})]
        );
        // No content type: the format asked for.
        let bare = response(200, None, b"{\"a\":true}");
        assert_eq!(
            decode_json_items(&bare, Format::Json).expect("bare"),
            vec![serde_json::json!({"a": true})]
        );
        assert!(
            decode_json_items(&response(204, None, b""), Format::Json)
                .expect("empty")
                .is_empty()
        );
    }

    #[test]
    fn a_msgpack_body_nested_too_deep_is_an_error_not_a_stack_overflow() {
        // 0x91: an array of one element, 600 deep, then nil.
        let mut body = vec![0x91u8; 600];
        body.push(0xc0);
        let deep = response(200, Some("application/x-msgpack"), &body);
        assert!(decode_json(&deep, Format::Json).is_err());
        let mut ok = vec![0x91u8; 60];
        ok.push(0xc0);
        let shallow = response(200, Some("application/x-msgpack"), &ok);
        assert!(decode_json(&shallow, Format::Json).is_ok());
    }

    #[test]
    fn unsupported_content_types_fail_as_rsc8e_says() {
        let ok = response(200, Some("text/html"), b"<html>");
        let err = decode_json(&ok, Format::Json).expect_err("html");
        assert_eq!((err.code, err.status_code), (40013, Some(400)));
        assert!(err.message.contains(&BASE64.encode(b"<html>")));
        let bad = response(503, Some("text/html"), b"<html>");
        let err = decode_json(&bad, Format::Json).expect_err("html");
        assert_eq!((err.code, err.status_code), (50300, Some(503)));
    }

    #[test]
    fn errors_come_from_the_body_then_the_headers_then_the_status() {
        let body = response(
            401,
            Some("application/json"),
            br#"{"error":{"code":40142,"message":"Token expired"}}"#,
        );
        let e = error_from_response(&body, Format::Json);
        assert_eq!(
            (e.code, e.status_code, e.message.as_str()),
            (40142, Some(401), "Token expired")
        );

        let packed = rmp_serde::to_vec_named(
            &serde_json::json!({"error": {"code": 40160, "statusCode": 401, "message": "denied"}}),
        )
        .expect("encode");
        let e = error_from_response(
            &response(401, Some("application/x-msgpack"), &packed),
            Format::Json,
        );
        assert_eq!((e.code, e.status_code), (40160, Some(401)));

        let mut headers_only = response(404, None, b"");
        headers_only.headers = vec![
            ("X-Ably-Errorcode".into(), "40400".into()),
            ("X-Ably-Errormessage".into(), "no such channel".into()),
        ];
        let e = error_from_response(&headers_only, Format::Json);
        assert_eq!(
            (e.code, e.status_code, e.message.as_str()),
            (40400, Some(404), "no such channel")
        );

        let e = error_from_response(
            &response(502, Some("text/html"), b"bad gateway"),
            Format::Json,
        );
        assert_eq!((e.code, e.status_code), (50200, Some(502)));
    }

    #[test]
    fn msgpack_binary_becomes_base64_text() {
        let value = rmpv::Value::Map(vec![(
            rmpv::Value::from("data"),
            rmpv::Value::Binary(b"hi".to_vec()),
        )]);
        assert_eq!(msgpack_to_json(value), serde_json::json!({"data": "aGk="}));
    }
}

//! Payload encoding of REST messages (RSL4) and decoding of what comes
//! back (RSL6). Ported from `uts/rest/unit/encoding/message_encoding.md`.
//!
//! Payloads are encoded with `Message::encode` (the pipeline the runtime
//! adapter applies before `RestOp::Publish`) and put on the wire by the
//! codec of the client's format; history answers are decoded by the core.

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use ably_proto::client::{ClientOptions, HttpResponse};
use ably_proto::codec::Format;
use ably_proto::rand_core::SeedableRng;
use ably_proto::rest::RestResult;
use ably_proto::{Data, Message};

use crate::harness::*;

/// Publishes one message with `data`, encoded per RSL4, in `format`;
/// returns the mock for the request.
fn publish_data(format: Format, data: Data) -> Result<Mock, ably_proto::ErrorInfo> {
    let mut message = Message::new("event", data);
    let mut rng = rand_chacha::ChaCha20Rng::from_seed([3; 32]);
    message.encode(None, &mut rng)?;
    let mut m = Mock::new(ClientOptions {
        format,
        ..key_opts()
    });
    m.queue(vec![json(201, json!({"serials": ["s1"]}))]);
    m.ok(publish("test-RSL4", vec![message]));
    Ok(m)
}

fn sent_json(data: Data) -> Value {
    let m = publish_data(Format::Json, data).expect("encodes");
    body_messages(m.only())[0].clone()
}

fn no_encoding(v: &Value) -> bool {
    v.get("encoding").is_none_or(Value::is_null)
}

/// The first message of a history answered with `body`.
fn first_of(body: Value) -> Message {
    let mut m = Mock::new(key_opts());
    m.queue(vec![json(200, body)]);
    match m.ok(history("test-RSL6")) {
        RestResult::Messages(mut page) => page.items.remove(0),
        other => panic!("expected messages, got {other:?}"),
    }
}

fn wire(data: &str, encoding: &str) -> Value {
    json!([{"id": "msg1", "name": "event", "data": data, "encoding": encoding, "timestamp": 1_234_567_890_000_i64}])
}

// ---- RSL4 -------------------------------------------------------------------------

/// rest/unit/RSL4a/string-data-no-encoding-0
#[test]
fn rsl4a_string_data_no_encoding_0() {
    let v = sent_json(Data::from("plain string data"));
    assert_eq!(v["data"], "plain string data");
    assert!(no_encoding(&v));
}

/// rest/unit/RSL4b/json-object-encoding-0
#[test]
fn rsl4b_json_object_encoding_0() {
    let value = json!({"key": "value", "nested": {"a": 1}});
    let v = sent_json(Data::json(value.clone()));
    let text = v["data"].as_str().expect("a JSON string");
    assert_eq!(serde_json::from_str::<Value>(text).ok(), Some(value));
    assert_eq!(v["encoding"], "json");
}

/// rest/unit/RSL4c/binary-base64-json-protocol-0
#[test]
fn rsl4c_binary_base64_json_protocol_0() {
    let bytes = vec![0x00u8, 0x01, 0x02, 0xFF, 0xFE];
    let v = sent_json(Data::Binary(bytes.clone().into()));
    assert_eq!(v["encoding"], "base64");
    assert_eq!(
        BASE64.decode(v["data"].as_str().unwrap_or_default()).ok(),
        Some(bytes)
    );
}

/// rest/unit/RSL4c/binary-direct-msgpack-protocol-1
#[test]
fn rsl4c_binary_direct_msgpack_protocol_1() {
    let bytes = vec![0x00u8, 0x01, 0x02, 0xFF, 0xFE];
    let m = publish_data(Format::MsgPack, Data::Binary(bytes.clone().into())).expect("encodes");
    let packed = msgpack_body(m.only());
    let map = packed.as_map().expect("one message, a map");
    let field = |k: &str| {
        map.iter()
            .find(|(key, _)| key.as_str() == Some(k))
            .map(|(_, v)| v)
    };
    assert_eq!(
        field("data").and_then(|d| d.as_slice()),
        Some(&bytes[..]),
        "msgpack bin"
    );
    assert!(field("encoding").is_none_or(rmpv::Value::is_nil));
}

/// rest/unit/RSL4d/array-json-encoding-0
#[test]
fn rsl4d_array_json_encoding_0() {
    let value = json!([1, 2, "three", {"four": 4}]);
    let v = sent_json(Data::json(value.clone()));
    assert_eq!(v["encoding"], "json");
    let text = v["data"].as_str().expect("a JSON string");
    assert_eq!(serde_json::from_str::<Value>(text).ok(), Some(value));
}

/// rest/unit/RSL4/encoding-fixtures-ably-common-0
///
/// Each payload of `ably-common/messages-encoding.json`, published from its
/// expected value, goes on the wire as the fixture has it: in JSON as its
/// data and encoding (JSON compared as values, key order aside), in
/// MessagePack with binary as raw bytes.
#[test]
fn rsl4_encoding_fixtures_ably_common_0() {
    let dir = std::env::var_os("ABLY_COMMON_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ably-common"),
        PathBuf::from,
    );
    let text = std::fs::read_to_string(dir.join("messages-encoding.json")).expect("fixtures");
    let fixtures: Value = serde_json::from_str(&text).expect("JSON");
    let fixtures = fixtures["messages"].as_array().expect("messages");
    assert!(fixtures.len() >= 5);
    for f in fixtures {
        let data = match f["expectedType"].as_str() {
            Some("string") => Data::from(f["expectedValue"].as_str().unwrap_or_default()),
            Some("jsonObject" | "jsonArray") => Data::json(f["expectedValue"].clone()),
            Some("binary") => {
                let hex = f["expectedHexValue"].as_str().unwrap_or_default();
                let bytes: Vec<u8> = (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
                    .collect();
                Data::Binary(bytes.into())
            }
            other => panic!("unknown fixture type {other:?}"),
        };
        let sent = sent_json(data.clone());
        assert_eq!(
            sent.get("encoding").unwrap_or(&Value::Null),
            &f["encoding"],
            "{f}"
        );
        if f["encoding"] == "json" {
            let parse =
                |v: &Value| serde_json::from_str::<Value>(v.as_str().unwrap_or_default()).ok();
            assert_eq!(parse(&sent["data"]), parse(&f["data"]), "{f}");
        } else {
            assert_eq!(sent["data"], f["data"], "{f}");
        }
        // In MessagePack, binary travels as bytes with no encoding.
        if let Data::Binary(bytes) = &data {
            let m = publish_data(Format::MsgPack, data.clone()).expect("encodes");
            let packed = msgpack_body(m.only());
            let map = packed.as_map().expect("a map");
            let field = map
                .iter()
                .find(|(k, _)| k.as_str() == Some("data"))
                .map(|(_, v)| v);
            assert_eq!(field.and_then(|d| d.as_slice()), Some(&bytes[..]));
        }
    }
}

/// rest/unit/RSL4/null-data-no-encoding-1
#[test]
fn rsl4_null_data_no_encoding_1() {
    let v = sent_json(Data::None);
    assert!(v.get("data").is_none_or(Value::is_null));
    assert!(no_encoding(&v));
}

/// rest/unit/RSL4a/number-type-rejected-1
#[test]
fn rsl4a_number_type_rejected_1() {
    let e = publish_data(Format::Json, Data::json(json!(42)))
        .err()
        .expect("refused");
    assert_eq!(e.code, 40013);
}

/// rest/unit/RSL4a/boolean-type-rejected-2
#[test]
fn rsl4a_boolean_type_rejected_2() {
    let e = publish_data(Format::Json, Data::json(json!(true)))
        .err()
        .expect("refused");
    assert_eq!(e.code, 40013);
}

/// rest/unit/RSL4/json-protocol-content-type-2
#[test]
fn rsl4_json_protocol_content_type_2() {
    let m = publish_data(Format::Json, Data::from("test")).expect("encodes");
    assert_eq!(header(m.only(), "Content-Type"), Some("application/json"));
    assert_eq!(header(m.only(), "Accept"), Some("application/json"));
}

/// rest/unit/RSL4/msgpack-protocol-content-type-3
#[test]
fn rsl4_msgpack_protocol_content_type_3() {
    let m = publish_data(Format::MsgPack, Data::from("test")).expect("encodes");
    assert_eq!(
        header(m.only(), "Content-Type"),
        Some("application/x-msgpack")
    );
    assert_eq!(header(m.only(), "Accept"), Some("application/x-msgpack"));
}

/// rest/unit/RSL4/empty-string-no-encoding-4
#[test]
fn rsl4_empty_string_no_encoding_4() {
    let v = sent_json(Data::from(""));
    assert_eq!(v["data"], "");
    assert!(no_encoding(&v));
}

/// rest/unit/RSL4/empty-array-json-encoding-5
///
/// And the empty object, the spec's untitled last case.
#[test]
fn rsl4_empty_array_json_encoding_5() {
    for empty in [json!([]), json!({})] {
        let v = sent_json(Data::json(empty.clone()));
        assert_eq!(v["encoding"], "json");
        assert_eq!(
            serde_json::from_str::<Value>(v["data"].as_str().unwrap_or_default()).ok(),
            Some(empty)
        );
    }
}

// ---- RSL6 -------------------------------------------------------------------------

/// rest/unit/RSL6a/decode-base64-to-binary-0
#[test]
fn rsl6a_decode_base64_to_binary_0() {
    let msg = first_of(wire("AAECAwQ=", "base64"));
    assert_eq!(msg.data.as_bytes(), Some(&[0u8, 1, 2, 3, 4][..]));
    assert_eq!(msg.encoding, None);
}

/// rest/unit/RSL6a/decode-json-to-object-1
#[test]
fn rsl6a_decode_json_to_object_1() {
    let msg = first_of(wire(r#"{"key":"value","number":42}"#, "json"));
    assert_eq!(
        msg.data.as_json(),
        Some(&json!({"key": "value", "number": 42}))
    );
    assert_eq!(msg.encoding, None);
}

/// rest/unit/RSL6a/decode-chained-encodings-2
#[test]
fn rsl6a_decode_chained_encodings_2() {
    let msg = first_of(wire(&BASE64.encode(r#"{"key":"value"}"#), "json/base64"));
    assert_eq!(msg.data.as_json(), Some(&json!({"key": "value"})));
    assert_eq!(msg.encoding, None);
}

/// rest/unit/RSL6b/unrecognized-encoding-preserved-0
#[test]
fn rsl6b_unrecognized_encoding_preserved_0() {
    let payload = BASE64.encode("encrypted-data-here");
    let msg = first_of(wire(&payload, "custom-encryption/base64"));
    assert_eq!(msg.encoding.as_deref(), Some("custom-encryption"));
    assert_eq!(msg.data.as_bytes(), Some(&b"encrypted-data-here"[..]));
}

fn msgpack_history(item: rmpv::Value) -> Message {
    let mut body = Vec::new();
    rmpv::encode::write_value(&mut body, &rmpv::Value::Array(vec![item])).expect("encode");
    let mut m = Mock::new(key_opts());
    m.queue(vec![HttpResponse {
        status: 200,
        headers: vec![("Content-Type".into(), "application/x-msgpack".into())],
        body,
    }]);
    match m.ok(history("test-RSL6")) {
        RestResult::Messages(mut page) => page.items.remove(0),
        other => panic!("expected messages, got {other:?}"),
    }
}

/// rest/unit/RSL6/msgpack-binary-stays-binary-0
#[test]
fn rsl6_msgpack_binary_stays_binary_0() {
    let msg = msgpack_history(rmpv::Value::Map(vec![
        ("name".into(), "event".into()),
        ("data".into(), rmpv::Value::Binary(b"Hello".to_vec())),
    ]));
    assert_eq!(msg.data, Data::Binary(b"Hello".to_vec().into()));
    assert_eq!(msg.encoding, None);
}

/// rest/unit/RSL6/msgpack-string-stays-string-1
#[test]
fn rsl6_msgpack_string_stays_string_1() {
    let msg = msgpack_history(rmpv::Value::Map(vec![
        ("name".into(), "event".into()),
        ("data".into(), "Hello World".into()),
    ]));
    assert_eq!(msg.data, Data::from("Hello World"));
    assert_eq!(msg.encoding, None);
}

/// rest/unit/RSL6/decode-utf8-base64-data-2
#[test]
fn rsl6_decode_utf8_base64_data_2() {
    let msg = first_of(wire("SGVsbG8gV29ybGQ=", "utf-8/base64"));
    assert_eq!(msg.data, Data::from("Hello World"));
    assert_eq!(msg.encoding, None);
}

/// rest/unit/RSL6/complex-chained-encoding-3
#[test]
fn rsl6_complex_chained_encoding_3() {
    let original = json!({"status": "active", "count": 5});
    let payload = BASE64.encode(original.to_string().as_bytes());
    let msg = first_of(wire(&payload, "json/utf-8/base64"));
    assert_eq!(msg.data.as_json(), Some(&original));
    assert_eq!(msg.encoding, None);
}

//! Message (TM), its mutable-message fields (TM2j-TM2u, TM5), the
//! MessageOperation (MOP2), UpdateDeleteResult (UDR2) and Annotation
//! (TAN2). Ported from `uts/rest/unit/types/{message_types,
//! mutable_message_types}.md`.
//!
//! `fromEncoded` (TM3) is the codec's decode followed by
//! `Message::decode` (RSL6); `toJson` is the codec's encode.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use ably_proto::codec::{self, Format};
use ably_proto::rest::{RestResult, UpdateDeleteResult};
use ably_proto::{Annotation, AnnotationAction, Data, Message, MessageAction, MessageVersion};

use crate::harness::*;

fn from_encoded(value: Value) -> Message {
    let mut m: Message =
        codec::decode(value.to_string().as_bytes(), Format::Json).expect("a message");
    m.decode(None).expect("RSL6");
    m
}

fn to_json(m: &Message) -> Value {
    serde_json::from_slice(&codec::encode(m, Format::Json).expect("encode")).expect("json")
}

/// rest/unit/TM2a/message-attributes-0
#[test]
fn tm2a_message_attributes_0() {
    let m = Message {
        id: Some("unique-id".into()),
        name: Some("event-name".into()),
        data: Data::from("string-data"),
        client_id: Some("message-client".into()),
        connection_id: Some("conn-id".into()),
        timestamp: Some(1_234_567_890_000),
        encoding: Some("json/base64".into()),
        extras: Some(json!({"push": {"notification": {"title": "Hello"}}})),
        serial: Some("serial-1".into()),
        ..Message::default()
    };
    assert_eq!(m.id.as_deref(), Some("unique-id"));
    assert_eq!(m.name.as_deref(), Some("event-name"));
    assert_eq!(m.data.as_str(), Some("string-data"));
    assert_eq!(m.client_id.as_deref(), Some("message-client"));
    assert_eq!(m.connection_id.as_deref(), Some("conn-id"));
    assert_eq!(m.timestamp, Some(1_234_567_890_000));
    assert_eq!(m.encoding.as_deref(), Some("json/base64"));
    assert_eq!(
        m.extras
            .as_ref()
            .map(|e| &e["push"]["notification"]["title"]),
        Some(&json!("Hello"))
    );
    assert_eq!(m.serial.as_deref(), Some("serial-1"));
    assert_eq!(
        Message::new("e", Data::json(json!({"key": "value"})))
            .data
            .as_json(),
        Some(&json!({"key": "value"}))
    );
    assert_eq!(
        Message::new("e", Data::Binary(vec![1u8, 2].into()))
            .data
            .as_bytes(),
        Some(&[1u8, 2][..])
    );
}

/// rest/unit/TM3/from-encoded-deserialization-0
#[test]
fn tm3_from_encoded_deserialization_0() {
    let m = from_encoded(json!({
        "id": "msg-123", "name": "test-event", "data": "hello world",
        "clientId": "sender-client", "connectionId": "conn-456",
        "timestamp": 1_234_567_890_000_i64, "encoding": null,
        "extras": {"headers": {"x-custom": "value"}}
    }));
    assert_eq!(m.id.as_deref(), Some("msg-123"));
    assert_eq!(m.name.as_deref(), Some("test-event"));
    assert_eq!(m.data, Data::from("hello world"));
    assert_eq!(m.client_id.as_deref(), Some("sender-client"));
    assert_eq!(m.connection_id.as_deref(), Some("conn-456"));
    assert_eq!(m.timestamp, Some(1_234_567_890_000));
    assert_eq!(
        m.extras.as_ref().map(|e| &e["headers"]["x-custom"]),
        Some(&json!("value"))
    );
}

/// rest/unit/TM3/from-encoded-decodes-encoding-1
#[test]
fn tm3_from_encoded_decodes_encoding_1() {
    for (encoding, wire, expected) in [
        (Value::Null, "plain text", Data::from("plain text")),
        (
            json!("json"),
            r#"{"key":"value"}"#,
            Data::json(json!({"key": "value"})),
        ),
        (
            json!("base64"),
            "SGVsbG8=",
            Data::Binary(b"Hello".to_vec().into()),
        ),
        (
            json!("json/base64"),
            "eyJrIjoidiJ9",
            Data::json(json!({"k": "v"})),
        ),
    ] {
        let m =
            from_encoded(json!({"id": "msg", "name": "event", "data": wire, "encoding": encoding}));
        assert_eq!(m.data, expected, "{encoding}");
        assert_eq!(m.encoding, None);
    }
}

/// rest/unit/TM4/message-constructors-0
#[test]
fn tm4_message_constructors_0() {
    let m = Message::new("event-name", "payload");
    assert_eq!(m.name.as_deref(), Some("event-name"));
    assert_eq!(m.data, Data::from("payload"));
    assert_eq!(m.client_id, None);
    let with_client = Message {
        client_id: Some("client-1".into()),
        ..Message::new("event-name", "payload")
    };
    assert_eq!(with_client.client_id.as_deref(), Some("client-1"));
    let empty = Message {
        name: None,
        data: Data::None,
        ..Message::default()
    };
    assert_eq!(empty.name, None);
    assert!(empty.data.is_none());
}

/// rest/unit/TM/null-missing-attributes-0
#[test]
fn tm_null_missing_attributes_0() {
    let m = Message::default();
    assert_eq!(
        (m.id, m.name, m.client_id, m.timestamp),
        (None, None, None, None)
    );
    assert!(m.data.is_none());
    // And nothing of them goes on the wire.
    assert_eq!(to_json(&Message::default()), json!({}));
}

/// rest/unit/TM/message-with-extras-1
#[test]
fn tm_message_with_extras_1() {
    let m = Message {
        extras: Some(
            json!({"push": {"notification": {"title": "New Message", "body": "You have a new notification"},
                                     "data": {"customKey": "customValue"}}}),
        ),
        ..Message::new("push-event", "payload")
    };
    let wire = to_json(&m);
    assert_eq!(
        wire["extras"]["push"]["notification"]["title"],
        "New Message"
    );
    assert_eq!(wire["extras"]["push"]["data"]["customKey"], "customValue");
}

/// rest/unit/TM5/message-action-enum-values-0
#[test]
fn tm5_message_action_enum_values_0() {
    let actions = [
        MessageAction::Create,
        MessageAction::Update,
        MessageAction::Delete,
        MessageAction::Meta,
        MessageAction::Summary,
        MessageAction::Append,
    ];
    for (n, action) in actions.iter().enumerate() {
        let m = Message {
            action: Some(*action),
            ..Message::default()
        };
        assert_eq!(to_json(&m)["action"], json!(n), "{action:?}");
        assert_eq!(from_encoded(json!({"action": n})).action, Some(*action));
    }
}

/// rest/unit/TM2j/action-and-serial-fields-0
#[test]
fn tm2j_action_and_serial_fields_0() {
    let m = Message {
        serial: Some("serial-1".into()),
        action: Some(MessageAction::Update),
        ..Message::new("test", "hello")
    };
    let wire = to_json(&m);
    assert_eq!(wire["serial"], "serial-1");
    assert_eq!(wire["action"], 1);
    assert_eq!(wire["name"], "test");
    assert_eq!(wire["data"], "hello");
}

/// rest/unit/TM2s/version-populated-from-wire-0
#[test]
fn tm2s_version_populated_from_wire_0() {
    let m = from_encoded(json!({
        "serial": "msg-serial-1", "name": "test", "data": "hello",
        "version": {"serial": "version-serial-1", "timestamp": 1_700_000_001_000_i64,
                    "clientId": "editor-1", "description": "fixed typo",
                    "metadata": {"reason": "typo", "tool": "editor"}}
    }));
    let v = m.version.expect("version");
    assert_eq!(v.serial.as_deref(), Some("version-serial-1"));
    assert_eq!(v.timestamp, Some(1_700_000_001_000));
    assert_eq!(v.client_id.as_deref(), Some("editor-1"));
    assert_eq!(v.description.as_deref(), Some("fixed typo"));
    let metadata = v.metadata.expect("metadata");
    assert_eq!(metadata.get("reason").map(String::as_str), Some("typo"));
    assert_eq!(metadata.get("tool").map(String::as_str), Some("editor"));
}

/// A message as REST history returns it for this wire JSON.
fn via_history(item: Value) -> Message {
    let mut m = Mock::new(key_opts());
    m.queue(vec![json(200, json!([item]))]);
    match m.ok(history("test-TM2s")) {
        RestResult::Messages(mut page) => page.items.remove(0),
        other => panic!("expected messages, got {other:?}"),
    }
}

/// rest/unit/TM2s1/version-defaults-from-message-0
///
/// The REST client fills in the version of messages it returns.
#[test]
fn tm2s1_version_defaults_from_message_0() {
    let m = via_history(
        json!({"serial": "msg-serial-1", "timestamp": 1_700_000_000_000_i64, "name": "test", "data": "hello"}),
    );
    let v = m.version.expect("a version is made");
    assert_eq!(v.serial.as_deref(), Some("msg-serial-1"));
    assert_eq!(v.timestamp, Some(1_700_000_000_000));
    assert_eq!((v.client_id, v.description, v.metadata), (None, None, None));
    // A version on the wire is kept as it is.
    let m = via_history(
        json!({"serial": "s", "timestamp": 1, "version": {"serial": "v2", "timestamp": 2}}),
    );
    let v = m.version.expect("version");
    assert_eq!((v.serial.as_deref(), v.timestamp), (Some("v2"), Some(2)));
}

/// rest/unit/TM2u/annotations-defaults-empty-0
///
/// The REST client fills in an empty annotations summary (TM8a).
#[test]
fn tm2u_annotations_defaults_empty_0() {
    let m = via_history(json!({"serial": "msg-serial-1", "name": "test"}));
    assert_eq!(m.annotations, Some(json!({"summary": {}})));
    let m = via_history(json!({"serial": "s", "annotations": {"summary": {"like": {"total": 1}}}}));
    assert_eq!(
        m.annotations,
        Some(json!({"summary": {"like": {"total": 1}}}))
    );
}

/// rest/unit/MOP2a/message-operation-fields-0
///
/// The MessageOperation is a MessageVersion with clientId, description
/// and metadata (MOP2a-c); unset fields are left off the wire.
#[test]
fn mop2a_message_operation_fields_0() {
    let op = MessageVersion {
        client_id: Some("user-1".into()),
        description: Some("edit description".into()),
        metadata: Some(BTreeMap::from([
            ("reason".to_owned(), "typo".to_owned()),
            ("tool".to_owned(), "editor".to_owned()),
        ])),
        ..MessageVersion::default()
    };
    let wire = serde_json::to_value(&op).expect("json");
    assert_eq!(
        wire,
        json!({"clientId": "user-1", "description": "edit description", "metadata": {"reason": "typo", "tool": "editor"}})
    );
    let empty = MessageVersion::default();
    assert_eq!(
        (
            empty.client_id.clone(),
            empty.description.clone(),
            empty.metadata.clone()
        ),
        (None, None, None)
    );
    assert_eq!(serde_json::to_value(&empty).expect("json"), json!({}));
}

/// rest/unit/UDR2a/update-delete-result-fields-0
#[test]
fn udr2a_update_delete_result_fields_0() {
    for (answer, expected) in [
        (
            json!({"versionSerial": "version-serial-abc"}),
            Some("version-serial-abc"),
        ),
        (json!({"versionSerial": null}), None),
        (json!({}), None),
    ] {
        let mut m = Mock::new(json_opts());
        m.queue(vec![json(200, answer.clone())]);
        let r = m.ok(ably_proto::rest::RestOp::EditMessage {
            channel: "c".into(),
            action: MessageAction::Update,
            message: Message {
                serial: Some("s".into()),
                ..Message::default()
            },
            operation: None,
            params: BTreeMap::new(),
        });
        assert_eq!(
            r,
            RestResult::UpdateDelete(UpdateDeleteResult {
                version_serial: expected.map(str::to_owned)
            }),
            "{answer}"
        );
    }
}

/// rest/unit/TAN2/annotation-attributes-and-action-0
#[test]
fn tan2_annotation_attributes_and_action_0() {
    let a: Annotation = serde_json::from_value(json!({
        "id": "ann-id-1", "action": 0, "clientId": "user-1", "name": "like", "count": 5,
        "data": "thumbs-up", "encoding": null, "timestamp": 1_700_000_000_000_i64,
        "serial": "ann-serial-1", "messageSerial": "msg-serial-1",
        "type": "com.example.reaction", "extras": {"custom": "metadata"}
    }))
    .expect("Annotation");
    assert_eq!(a.id.as_deref(), Some("ann-id-1"));
    assert_eq!(a.action, Some(AnnotationAction::Create));
    assert_eq!(a.client_id.as_deref(), Some("user-1"));
    assert_eq!(a.name.as_deref(), Some("like"));
    assert_eq!(a.count, Some(5));
    assert_eq!(a.data, Data::from("thumbs-up"));
    assert_eq!(a.timestamp, Some(1_700_000_000_000));
    assert_eq!(a.serial.as_deref(), Some("ann-serial-1"));
    assert_eq!(a.message_serial.as_deref(), Some("msg-serial-1"));
    assert_eq!(a.annotation_type.as_deref(), Some("com.example.reaction"));
    assert_eq!(a.extras, Some(json!({"custom": "metadata"})));
    for (n, action) in [(0, AnnotationAction::Create), (1, AnnotationAction::Delete)] {
        let wire = serde_json::to_value(Annotation {
            action: Some(action),
            ..Annotation::default()
        })
        .expect("json");
        assert_eq!(wire["action"], json!(n));
        let back: Annotation = serde_json::from_value(json!({"action": n})).expect("json");
        assert_eq!(back.action, Some(action));
    }
}

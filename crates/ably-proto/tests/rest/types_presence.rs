//! PresenceMessage (TP). Ported from
//! `uts/rest/unit/types/presence_message_types.md`. Actions travel as
//! numbers on the wire (TP2, TP3b), so the JSON here carries `2` where the
//! spec's pseudo-JSON writes `"enter"`. The fields a realtime
//! ProtocolMessage lends its presence messages (TP3a, TP3d, TP3g) are
//! checked on the realtime client, with the scripted service of the
//! realtime conformance tests.

use serde_json::{Value, json};

use ably_proto::codec::{self, Format};
use ably_proto::{Data, PresenceAction, PresenceMessage};

use crate::realtime::{attach_ok, connected_harness, cooperative_service, presence_frame};

fn from_encoded(value: Value) -> PresenceMessage {
    let mut p: PresenceMessage =
        codec::decode(value.to_string().as_bytes(), Format::Json).expect("a presence message");
    p.decode(None).expect("RSL6");
    p
}

fn to_json(p: &PresenceMessage) -> Value {
    serde_json::from_slice(&codec::encode(p, Format::Json).expect("encode")).expect("json")
}

/// rest/unit/TP2/presence-action-enum-values-0
#[test]
fn tp2_presence_action_enum_values_0() {
    let actions = [
        PresenceAction::Absent,
        PresenceAction::Present,
        PresenceAction::Enter,
        PresenceAction::Leave,
        PresenceAction::Update,
    ];
    for (n, action) in actions.into_iter().enumerate() {
        assert_eq!(action.number(), n as u64);
        assert_eq!(PresenceAction::from_number(n as u64), action);
    }
}

/// rest/unit/TP3a/presence-message-attributes-0
#[test]
fn tp3a_presence_message_attributes_0() {
    let p = PresenceMessage {
        id: Some("presence-123".into()),
        connection_id: Some("conn-1".into()),
        encoding: Some("json".into()),
        timestamp: Some(1_234_567_890_000),
        extras: Some(json!({"headers": {"x-custom": "value"}})),
        ..PresenceMessage::new(PresenceAction::Enter, Some("user-1".into()), "hello")
    };
    assert_eq!(p.id.as_deref(), Some("presence-123"));
    assert_eq!(p.action, PresenceAction::Enter);
    assert_eq!(p.client_id.as_deref(), Some("user-1"));
    assert_eq!(p.connection_id.as_deref(), Some("conn-1"));
    assert_eq!(p.data, Data::from("hello"));
    assert_eq!(p.encoding.as_deref(), Some("json"));
    assert_eq!(p.timestamp, Some(1_234_567_890_000));
    assert_eq!(
        p.extras.as_ref().map(|e| &e["headers"]["x-custom"]),
        Some(&json!("value"))
    );
    let object = PresenceMessage::new(
        PresenceAction::Enter,
        None,
        Data::json(json!({"status": "online"})),
    );
    assert_eq!(object.data.as_json(), Some(&json!({"status": "online"})));
}

/// rest/unit/TP3h/member-key-combines-ids-0
#[test]
fn tp3h_member_key_combines_ids_0() {
    let member = |conn: &str| PresenceMessage {
        connection_id: Some(conn.into()),
        ..PresenceMessage::new(PresenceAction::Present, Some("user-1".into()), Data::None)
    };
    let (a, b) = (member("conn-1"), member("conn-2"));
    assert_eq!(a.member_key(), "conn-1:user-1");
    assert_eq!(b.member_key(), "conn-2:user-1");
    assert_ne!(a.member_key(), b.member_key());
}

/// The presence messages delivered for one PRESENCE frame with these
/// ProtocolMessage fields and members without their own.
fn delivered(
    id: Option<&str>,
    connection_id: Option<&str>,
    timestamp: Option<i64>,
) -> Vec<PresenceMessage> {
    let mut h = connected_harness(cooperative_service());
    attach_ok(&mut h, "test-TP3");
    let members = vec![
        PresenceMessage::new(PresenceAction::Enter, Some("alice".into()), Data::None),
        PresenceMessage::new(PresenceAction::Enter, Some("bob".into()), Data::None),
    ];
    let mut pm = presence_frame("test-TP3", members);
    pm.id = id.map(str::to_owned);
    pm.connection_id = connection_id.map(str::to_owned);
    pm.timestamp = timestamp;
    h.send_to_client(pm);
    h.presence_events("test-TP3").into_iter().cloned().collect()
}

/// rest/unit/TP3d/connectionid-from-protocol-message-0
#[test]
fn tp3d_connectionid_from_protocol_message_0() {
    let got = delivered(Some("m"), Some("proto-conn-1"), Some(1));
    assert_eq!(got.len(), 2);
    assert!(
        got.iter()
            .all(|p| p.connection_id.as_deref() == Some("proto-conn-1"))
    );
}

/// rest/unit/TP3a/id-from-protocol-message-1
#[test]
fn tp3a_id_from_protocol_message_1() {
    let got = delivered(Some("proto-msg-42"), Some("c"), Some(1));
    assert_eq!(got[0].id.as_deref(), Some("proto-msg-42:0"));
    assert_eq!(got[1].id.as_deref(), Some("proto-msg-42:1"));
}

/// rest/unit/TP3g/timestamp-from-protocol-message-0
#[test]
fn tp3g_timestamp_from_protocol_message_0() {
    let got = delivered(Some("m"), Some("c"), Some(9_999_999));
    assert!(got.iter().all(|p| p.timestamp == Some(9_999_999)));
}

/// rest/unit/TP3/presence-from-json-0
#[test]
fn tp3_presence_from_json_0() {
    let p = from_encoded(json!({
        "id": "pm-123", "action": 2, "clientId": "user-1", "connectionId": "conn-1",
        "data": "hello", "encoding": null, "timestamp": 1_234_567_890_000_i64,
        "extras": {"headers": {"x-key": "x-value"}}
    }));
    assert_eq!(p.id.as_deref(), Some("pm-123"));
    assert_eq!(p.action, PresenceAction::Enter);
    assert_eq!(p.client_id.as_deref(), Some("user-1"));
    assert_eq!(p.connection_id.as_deref(), Some("conn-1"));
    assert_eq!(p.data, Data::from("hello"));
    assert_eq!(p.timestamp, Some(1_234_567_890_000));
    assert_eq!(
        p.extras.as_ref().map(|e| &e["headers"]["x-key"]),
        Some(&json!("x-value"))
    );
}

/// rest/unit/TP3/presence-encoded-data-from-json-1
#[test]
fn tp3_presence_encoded_data_from_json_1() {
    for (encoding, wire, expected) in [
        (Value::Null, "plain text", Data::from("plain text")),
        (
            json!("json"),
            r#"{"status":"online"}"#,
            Data::json(json!({"status": "online"})),
        ),
        (
            json!("base64"),
            "SGVsbG8=",
            Data::Binary(b"Hello".to_vec().into()),
        ),
    ] {
        let p = from_encoded(
            json!({"action": 2, "clientId": "user-1", "data": wire, "encoding": encoding}),
        );
        assert_eq!(p.data, expected, "{encoding}");
        assert_eq!(p.encoding, None);
    }
}

/// rest/unit/TP3/presence-to-json-2
#[test]
fn tp3_presence_to_json_2() {
    let p = PresenceMessage {
        extras: Some(json!({"headers": {"x-key": "x-value"}})),
        ..PresenceMessage::new(PresenceAction::Enter, Some("user-1".into()), "hello")
    };
    let wire = to_json(&p);
    assert_eq!(wire["action"], 2);
    assert_eq!(wire["clientId"], "user-1");
    assert_eq!(wire["data"], "hello");
    assert_eq!(wire["extras"]["headers"]["x-key"], "x-value");
}

/// rest/unit/TP3/null-attributes-omitted-3
#[test]
fn tp3_null_attributes_omitted_3() {
    let wire = to_json(&PresenceMessage::new(
        PresenceAction::Enter,
        Some("user-1".into()),
        Data::None,
    ));
    assert_eq!(wire, json!({"action": 2, "clientId": "user-1"}));
}

/// rest/unit/TP4/from-encoded-presence-0
#[test]
fn tp4_from_encoded_presence_0() {
    let p = from_encoded(
        json!({"action": 2, "clientId": "user-1", "data": "{\"status\":\"online\"}", "encoding": "json"}),
    );
    assert_eq!(p.action, PresenceAction::Enter);
    assert_eq!(p.client_id.as_deref(), Some("user-1"));
    assert_eq!(p.data.as_json(), Some(&json!({"status": "online"})));
    assert_eq!(p.encoding, None);
    let raw = json!([{"action": 2, "clientId": "alice", "data": "hello"},
                     {"action": 2, "clientId": "bob", "data": "world"}]);
    let mut all: Vec<PresenceMessage> =
        codec::decode(raw.to_string().as_bytes(), Format::Json).expect("an array");
    let errors = ably_proto::rest::decode_presence_payloads(&mut all, None);
    assert!(errors.is_empty());
    assert_eq!(all.len(), 2);
    assert_eq!(
        (all[0].client_id.as_deref(), all[0].data.as_str()),
        (Some("alice"), Some("hello"))
    );
    assert_eq!(
        (all[1].client_id.as_deref(), all[1].data.as_str()),
        (Some("bob"), Some("world"))
    );
}

/// rest/unit/TP5/presence-message-size-0
///
/// As for a Message (TM6): clientId, data (string bytes, or the length of
/// the JSON text) and the JSON length of extras; the action, id and
/// connectionId do not count.
#[test]
fn tp5_presence_message_size_0() {
    let mut msg = PresenceMessage::new(PresenceAction::Enter, Some("user-1".into()), "hello");
    assert_eq!(msg.size(), 11);
    msg.id = Some("id".into());
    msg.connection_id = Some("connection".into());
    msg.action = PresenceAction::Update;
    assert_eq!(msg.size(), 11);

    let object = json!({"key": "value"});
    let msg2 = PresenceMessage::new(PresenceAction::Enter, Some("u".into()), Data::json(object));
    assert_eq!(msg2.size(), 1 + r#"{"key":"value"}"#.len());

    let mut with_extras = PresenceMessage::new(PresenceAction::Enter, None, vec![1u8, 2, 3]);
    with_extras.extras = Some(json!({"a": 1}));
    assert_eq!(with_extras.size(), 3 + r#"{"a":1}"#.len());
}

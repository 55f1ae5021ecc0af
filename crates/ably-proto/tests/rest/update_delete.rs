//! `updateMessage`, `deleteMessage` and `appendMessage` (RSL15). Ported
//! from `uts/rest/unit/channel/update_delete_message.md`.

use std::collections::BTreeMap;

use serde_json::json;

use ably_proto::rand_core::SeedableRng;
use ably_proto::rest::{RestOp, RestResult, UpdateDeleteResult};
use ably_proto::{Data, Message, MessageAction, MessageVersion};

use crate::harness::*;

const CHANNEL: &str = "test-RSL15:edit";

fn edit(action: MessageAction, message: Message) -> RestOp {
    RestOp::EditMessage {
        channel: CHANNEL.into(),
        action,
        message,
        operation: None,
        params: BTreeMap::new(),
    }
}

fn with_serial(serial: &str, name: Option<&str>, data: Data) -> Message {
    Message {
        serial: Some(serial.into()),
        name: name.map(str::to_owned),
        data,
        ..Message::default()
    }
}

fn client() -> Mock {
    let mut m = Mock::new(json_opts());
    m.queue(vec![json(200, json!({"versionSerial": "vs1"}))]);
    m
}

fn expected_path(serial: &str) -> String {
    format!(
        "/channels/{}/messages/{}",
        encode_uri_component(CHANNEL),
        encode_uri_component(serial)
    )
}

/// rest/unit/RSL15b/update-sends-patch-update-0
#[test]
fn rsl15b_update_sends_patch_update_0() {
    let mut m = client();
    m.ok(edit(
        MessageAction::Update,
        with_serial("msg-serial-1", Some("updated"), Data::from("new-data")),
    ));
    let r = m.only();
    assert_eq!(r.method, "PATCH");
    assert_eq!(path(r), expected_path("msg-serial-1"));
    let b = body(r);
    assert_eq!(b["action"], 1);
    assert_eq!(b["name"], "updated");
    assert_eq!(b["data"], "new-data");
}

/// rest/unit/RSL15b/delete-sends-patch-delete-1
#[test]
fn rsl15b_delete_sends_patch_delete_1() {
    let mut m = client();
    m.ok(edit(
        MessageAction::Delete,
        with_serial("msg-serial-1", None, Data::None),
    ));
    let r = m.only();
    assert_eq!(
        (r.method, path(r)),
        ("PATCH", expected_path("msg-serial-1").as_str())
    );
    assert_eq!(body(r)["action"], 2);
}

/// rest/unit/RSL15b/append-sends-patch-append-2
#[test]
fn rsl15b_append_sends_patch_append_2() {
    let mut m = client();
    m.ok(edit(
        MessageAction::Append,
        with_serial("msg-serial-1", None, Data::from("appended-data")),
    ));
    let r = m.only();
    assert_eq!(
        (r.method, path(r)),
        ("PATCH", expected_path("msg-serial-1").as_str())
    );
    let b = body(r);
    assert_eq!(b["action"], 5);
    assert_eq!(b["data"], "appended-data");
}

/// rest/unit/RSL15b7/version-set-with-operation-0
#[test]
fn rsl15b7_version_set_with_operation_0() {
    let mut m = client();
    m.ok(RestOp::EditMessage {
        channel: CHANNEL.into(),
        action: MessageAction::Update,
        message: with_serial("s1", None, Data::from("updated")),
        operation: Some(MessageVersion {
            client_id: Some("user1".into()),
            description: Some("fixed typo".into()),
            metadata: Some(BTreeMap::from([("reason".to_owned(), "typo".to_owned())])),
            ..MessageVersion::default()
        }),
        params: BTreeMap::new(),
    });
    let version = body(m.only())["version"].clone();
    assert_eq!(version["clientId"], "user1");
    assert_eq!(version["description"], "fixed typo");
    assert_eq!(version["metadata"]["reason"], "typo");
}

/// rest/unit/RSL15b7/version-absent-no-operation-1
#[test]
fn rsl15b7_version_absent_no_operation_1() {
    let mut m = client();
    m.ok(edit(
        MessageAction::Update,
        with_serial("s1", None, Data::from("updated")),
    ));
    assert!(body(m.only()).get("version").is_none());
}

/// rest/unit/RSL15c/no-mutate-user-message-0
///
/// The operation takes a copy of the caller's message; the caller's own
/// value is untouched, and the body has the action.
#[test]
fn rsl15c_no_mutate_user_message_0() {
    let original = with_serial("s1", Some("orig"), Data::from("original-data"));
    let mut m = client();
    m.ok(edit(MessageAction::Update, original.clone()));
    assert_eq!(original.action, None);
    assert_eq!(original.name.as_deref(), Some("orig"));
    assert_eq!(original.data, Data::from("original-data"));
    assert_eq!(body(m.only())["action"], 1);
}

/// rest/unit/RSL15e/returns-update-delete-result-0
#[test]
fn rsl15e_returns_update_delete_result_0() {
    let mut m = Mock::new(json_opts());
    m.queue(vec![json(
        200,
        json!({"versionSerial": "version-serial-abc"}),
    )]);
    let r = m.ok(edit(
        MessageAction::Update,
        with_serial("s1", None, Data::from("updated")),
    ));
    assert_eq!(
        r,
        RestResult::UpdateDelete(UpdateDeleteResult {
            version_serial: Some("version-serial-abc".into())
        })
    );
}

/// rest/unit/RSL15e/null-version-serial-1
#[test]
fn rsl15e_null_version_serial_1() {
    let mut m = Mock::new(json_opts());
    m.queue(vec![json(200, json!({"versionSerial": null}))]);
    let r = m.ok(edit(
        MessageAction::Update,
        with_serial("s1", None, Data::from("updated")),
    ));
    assert_eq!(r, RestResult::UpdateDelete(UpdateDeleteResult::default()));
}

/// rest/unit/RSL15f/params-sent-as-querystring-0
#[test]
fn rsl15f_params_sent_as_querystring_0() {
    let mut m = client();
    m.ok(RestOp::EditMessage {
        channel: CHANNEL.into(),
        action: MessageAction::Update,
        message: with_serial("s1", None, Data::from("updated")),
        operation: None,
        params: BTreeMap::from([
            ("key".to_owned(), "value".to_owned()),
            ("num".to_owned(), "42".to_owned()),
        ]),
    });
    let r = m.only();
    assert_eq!(param(r, "key").as_deref(), Some("value"));
    assert_eq!(param(r, "num").as_deref(), Some("42"));
}

/// rest/unit/RSL15a/serial-required-throws-error-0
#[test]
fn rsl15a_serial_required_throws_error_0() {
    let mut m = client();
    for (action, message) in [
        (MessageAction::Update, Message::new("x", "y")),
        (
            MessageAction::Delete,
            Message {
                name: Some("x".into()),
                ..Message::default()
            },
        ),
        (
            MessageAction::Append,
            Message {
                data: Data::from("y"),
                ..Message::default()
            },
        ),
    ] {
        assert_eq!(m.err(edit(action, message)).code, 40003);
    }
    assert!(m.requests.is_empty());
}

/// rest/unit/RSL15d/body-encoded-per-rsl4-0
#[test]
fn rsl15d_body_encoded_per_rsl4_0() {
    let mut message = with_serial("s1", None, Data::json(json!({"key": "value"})));
    let mut rng = rand_chacha::ChaCha20Rng::from_seed([6; 32]);
    message.encode(None, &mut rng).expect("RSL4");
    let mut m = client();
    m.ok(edit(MessageAction::Update, message));
    let b = body(m.only());
    assert_eq!(b["encoding"], "json");
    let text = b["data"].as_str().expect("JSON text");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(text).ok(),
        Some(json!({"key": "value"}))
    );
    // MessagePack bodies are MessagePack (RSC8).
    let mut m = Mock::new(key_opts());
    m.ok(edit(
        MessageAction::Update,
        with_serial("s1", None, Data::from("x")),
    ));
    assert_eq!(
        header(m.only(), "Content-Type"),
        Some("application/x-msgpack")
    );
    assert_eq!(body(m.only())["action"], 1);
}

/// rest/unit/RSL15b/serial-url-encoded-path-3
#[test]
fn rsl15b_serial_url_encoded_path_3() {
    let serial = "serial/special:chars";
    let mut m = client();
    m.ok(edit(
        MessageAction::Update,
        with_serial(serial, None, Data::from("updated")),
    ));
    assert_eq!(path(m.only()), expected_path(serial));
}

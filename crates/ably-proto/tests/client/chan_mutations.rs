//! Annotations (RTAN1, RTAN2, RTAN4) and message updates, deletes and
//! appends (RTL32), from `channel_annotations.md` and
//! `channel_update_delete_message.md`.

use std::collections::BTreeMap;

use ably_proto::client::{ChannelState, Command, Completion, Event, OpId};
use ably_proto::encoding::encode_payload;
use ably_proto::{
    Action, Annotation, AnnotationAction, Data, ErrorInfo, Flags, Message, MessageAction,
    MessageVersion, ProtocolMessage,
};
use serde_json::{Value, json};

use crate::chan_subscribe_util::*;
use crate::harness::*;

// ---- annotations ----------------------------------------------------------------

/// `channel.annotations.publish(serial, annotation)` (Create) or
/// `.delete(serial, annotation)` (Delete).
fn annotate(
    h: &mut Harness,
    channel: &str,
    serial: &str,
    action: AnnotationAction,
    annotation: Annotation,
) -> OpId {
    h.command(Command::Annotate {
        channel: channel.into(),
        message_serial: serial.into(),
        action,
        annotation: Box::new(annotation),
    })
}

/// An annotation with a type and a name.
fn reaction(annotation_type: &str, name: &str) -> Annotation {
    Annotation {
        name: Some(name.into()),
        ..Annotation::new(annotation_type)
    }
}

/// The annotations of every ANNOTATION frame the client sent, as JSON.
fn sent_annotations(h: &Harness) -> Vec<(ProtocolMessage, Vec<Value>)> {
    h.sent_with(Action::Annotation)
        .into_iter()
        .map(|pm| {
            let anns = pm
                .annotations
                .iter()
                .map(|v| serde_json::to_value(v).expect("annotation as JSON"))
                .collect();
            (pm, anns)
        })
        .collect()
}

/// The annotations delivered on a channel.
fn annotations(h: &Harness, channel: &str) -> Vec<Annotation> {
    h.events
        .iter()
        .filter_map(|e| match e {
            Event::Annotation {
                channel: c,
                annotation,
            } if **c == *channel => Some((**annotation).clone()),
            _ => None,
        })
        .collect()
}

/// An ANNOTATION frame from the service with these annotations (JSON).
fn annotation_frame(channel: &str, anns: Vec<Value>) -> ProtocolMessage {
    let mut pm = ProtocolMessage::for_channel(Action::Annotation, channel);
    pm.annotations = anns
        .into_iter()
        .map(|a| rmpv::ext::to_value(a).expect("annotation value"))
        .collect();
    pm
}

/// Modes the service grants in these tests.
fn annotation_modes() -> Flags {
    Flags::PUBLISH | Flags::ANNOTATION_PUBLISH | Flags::ANNOTATION_SUBSCRIBE
}

/// A connected client whose service grants `flags` and ACKs (or NACKs
/// with 40160) every MESSAGE or ANNOTATION, with `channel` attached.
fn acking_harness(channel: &str, flags: Flags, nack: bool) -> Harness {
    let mut h = connected_harness(attach_flags_and(flags, move |pm| {
        let serial = pm.msg_serial.unwrap_or(0);
        Some(if nack {
            nack_frame(serial)
        } else {
            ack_with_serials(serial, &["version-serial-1"])
        })
    }));
    get_channel(&mut h, channel);
    attach_ok(&mut h, channel);
    h
}

fn nack_frame(serial: u64) -> ProtocolMessage {
    nack(serial, 1, ErrorInfo::new(40160, 401, "Not permitted"))
}

/// realtime/unit/RTAN1a/publish-sends-annotation-0
#[test]
fn rtan1a_publish_sends_annotation_0() {
    let ch = "test-RTAN1-publish";
    let mut h = acking_harness(ch, Flags::PUBLISH | Flags::ANNOTATION_PUBLISH, false);
    let op = annotate(
        &mut h,
        ch,
        "msg-serial-1",
        AnnotationAction::Create,
        reaction("com.example.reaction", "like"),
    );
    assert_eq!(h.completion(op), Some(Ok(Completion::Done)));
    let sent = sent_annotations(&h);
    let (pm, anns) = sent.last().expect("an ANNOTATION frame");
    assert_eq!(pm.channel.as_deref(), Some(ch));
    assert_eq!(anns.len(), 1);
    assert_eq!(anns[0]["action"], json!(0));
    assert_eq!(anns[0]["messageSerial"], json!("msg-serial-1"));
    assert_eq!(anns[0]["type"], json!("com.example.reaction"));
    assert_eq!(anns[0]["name"], json!("like"));
}

/// realtime/unit/RTAN1a/validates-type-required-1
#[test]
fn rtan1a_validates_type_required_1() {
    let ch = "test-RTAN1a-validate";
    let mut h = acking_harness(ch, Flags::PUBLISH | Flags::ANNOTATION_PUBLISH, false);
    let no_type = Annotation {
        name: Some("like".into()),
        ..Annotation::default()
    };
    let op = annotate(
        &mut h,
        ch,
        "msg-serial-1",
        AnnotationAction::Create,
        no_type,
    );
    assert!(result(&h, op).is_err());
    assert!(sent_annotations(&h).is_empty(), "nothing was sent");
}

/// realtime/unit/RTAN1a/encodes-data-json-2
#[test]
fn rtan1a_encodes_data_json_2() {
    let ch = "test-RTAN1a-encode";
    let mut h = acking_harness(ch, Flags::PUBLISH | Flags::ANNOTATION_PUBLISH, false);
    let value = json!({"key": "value", "nested": {"a": 1}});
    let mut ann = Annotation {
        data: Data::json(value.clone()),
        ..Annotation::new("com.example.data")
    };
    // RSAN1c3: the payload is encoded per RSL4 before it goes to the core.
    encode_payload(&mut ann.data, &mut ann.encoding, None, h.client.rng()).expect("encode");
    let op = annotate(&mut h, ch, "msg-serial-1", AnnotationAction::Create, ann);
    assert_eq!(h.completion(op), Some(Ok(Completion::Done)));
    let sent = sent_annotations(&h);
    let ann = &sent.last().expect("an ANNOTATION frame").1[0];
    let text = ann["data"].as_str().expect("data is a string");
    assert_eq!(ann["encoding"], json!("json"));
    assert_eq!(serde_json::from_str::<Value>(text).unwrap(), value);
}

/// realtime/unit/RTAN1b/publish-channel-state-0
#[test]
fn rtan1b_publish_channel_state_0() {
    let ch = "test-RTAN1b";
    let mut h = connected_harness(Box::new(|pm| match pm.action {
        Action::Attach => {
            let mut err = ProtocolMessage::for_channel(Action::Error, "test-RTAN1b");
            err.error = Some(ErrorInfo::new(40160, 401, "Not permitted"));
            vec![Reply::Send(err)]
        }
        _ => vec![],
    }));
    get_channel(&mut h, ch);
    let attach = h.attach(ch);
    assert!(result(&h, attach).is_err());
    assert_eq!(h.channel_state(ch), ChannelState::Failed);
    let op = annotate(
        &mut h,
        ch,
        "msg-serial-1",
        AnnotationAction::Create,
        reaction("com.example.reaction", "like"),
    );
    assert!(result(&h, op).is_err());
    assert!(sent_annotations(&h).is_empty());
}

/// realtime/unit/RTAN1d/publish-ack-nack-0
#[test]
fn rtan1d_publish_ack_nack_0() {
    let flags = Flags::PUBLISH | Flags::ANNOTATION_PUBLISH;
    // ACK: resolves.
    let ch = "test-RTAN1d-ack";
    let mut h = acking_harness(ch, flags, false);
    let op = annotate(
        &mut h,
        ch,
        "msg-serial-1",
        AnnotationAction::Create,
        reaction("com.example.reaction", "like"),
    );
    assert_eq!(h.completion(op), Some(Ok(Completion::Done)));
    // NACK: fails with the NACK's error.
    let ch = "test-RTAN1d-nack";
    let mut h = acking_harness(ch, flags, true);
    let op = annotate(
        &mut h,
        ch,
        "msg-serial-1",
        AnnotationAction::Create,
        reaction("com.example.reaction", "like"),
    );
    assert_eq!(result(&h, op).unwrap_err().code, 40160);
}

/// realtime/unit/RTAN2a/delete-sends-annotation-0
#[test]
fn rtan2a_delete_sends_annotation_0() {
    let ch = "test-RTAN2-delete";
    let mut h = acking_harness(ch, Flags::PUBLISH | Flags::ANNOTATION_PUBLISH, false);
    let op = annotate(
        &mut h,
        ch,
        "msg-serial-1",
        AnnotationAction::Delete,
        reaction("com.example.reaction", "like"),
    );
    assert_eq!(h.completion(op), Some(Ok(Completion::Done)));
    let sent = sent_annotations(&h);
    let ann = &sent.last().expect("an ANNOTATION frame").1[0];
    assert_eq!(ann["action"], json!(1));
    assert_eq!(ann["messageSerial"], json!("msg-serial-1"));
    assert_eq!(ann["type"], json!("com.example.reaction"));
    assert_eq!(ann["name"], json!("like"));
}

/// realtime/unit/RTAN4a/subscribe-delivers-annotations-0
#[test]
fn rtan4a_subscribe_delivers_annotations_0() {
    let ch = "test-RTAN4-subscribe";
    let mut h = acking_harness(ch, annotation_modes(), false);
    h.send_to_client(annotation_frame(
        ch,
        vec![
            json!({"id": "ann-1", "action": 0, "type": "com.example.reaction", "name": "like",
                   "clientId": "user-1", "serial": "ann-serial-1",
                   "messageSerial": "msg-serial-1", "timestamp": 1700000000000_i64}),
            json!({"id": "ann-2", "action": 0, "type": "com.example.reaction", "name": "heart",
                   "clientId": "user-2", "serial": "ann-serial-2",
                   "messageSerial": "msg-serial-1", "timestamp": 1700000001000_i64}),
        ],
    ));
    let got = annotations(&h, ch);
    assert_eq!(got.len(), 2);
    let a = &got[0];
    assert_eq!(a.id.as_deref(), Some("ann-1"));
    assert_eq!(a.action, Some(AnnotationAction::Create));
    assert_eq!(a.annotation_type.as_deref(), Some("com.example.reaction"));
    assert_eq!(a.name.as_deref(), Some("like"));
    assert_eq!(a.client_id.as_deref(), Some("user-1"));
    assert_eq!(a.serial.as_deref(), Some("ann-serial-1"));
    assert_eq!(a.message_serial.as_deref(), Some("msg-serial-1"));
    assert_eq!(a.timestamp, Some(1_700_000_000_000));
    assert_eq!(got[1].name.as_deref(), Some("heart"));
    assert_eq!(got[1].client_id.as_deref(), Some("user-2"));
}

/// realtime/unit/RTAN4c/subscribe-type-filter-0
///
/// The core delivers every annotation with its type; the adapter's
/// type-filtered listener keeps those whose type equals the one asked for.
#[test]
fn rtan4c_subscribe_type_filter_0() {
    let ch = "test-RTAN4c-filter";
    let mut h = acking_harness(ch, annotation_modes(), false);
    let ann = |ty: &str, name: &str, serial: &str| {
        json!({"action": 0, "type": ty, "name": name, "messageSerial": "msg-serial-1",
               "serial": serial, "timestamp": 1700000000000_i64})
    };
    h.send_to_client(annotation_frame(
        ch,
        vec![
            ann("com.example.reaction", "like", "ann-serial-1"),
            ann("com.example.comment", "text", "ann-serial-2"),
            ann("com.example.reaction", "heart", "ann-serial-3"),
        ],
    ));
    let all = annotations(&h, ch);
    assert_eq!(all.len(), 3);
    let reactions: Vec<_> = all
        .iter()
        .filter(|a| a.annotation_type.as_deref() == Some("com.example.reaction"))
        .map(|a| a.name.clone())
        .collect();
    assert_eq!(
        reactions,
        vec![Some("like".to_owned()), Some("heart".to_owned())]
    );
}

/// realtime/unit/RTAN4d/subscribe-implicit-attach-0
#[test]
fn rtan4d_subscribe_implicit_attach_0() {
    let ch = "test-RTAN4d-attach";
    let mut h = connected_harness(attach_flags_and(annotation_modes(), |_| None));
    get_channel(&mut h, ch);
    assert_eq!(h.channel_state(ch), ChannelState::Initialized);
    // annotations.subscribe() with attachOnSubscribe: the adapter attaches.
    h.attach(ch);
    assert_eq!(h.channel_state(ch), ChannelState::Attached);
}

// ---- updateMessage, deleteMessage, appendMessage -------------------------------------

/// `channel.updateMessage` / `deleteMessage` / `appendMessage`.
fn edit(
    h: &mut Harness,
    channel: &str,
    action: MessageAction,
    message: Message,
    operation: Option<MessageVersion>,
    params: BTreeMap<String, String>,
) -> OpId {
    h.command(Command::EditMessage {
        channel: channel.into(),
        action,
        message: Box::new(message),
        operation: operation.map(Box::new),
        params,
    })
}

/// A message with a serial, optional name and data.
fn with_serial(serial: &str, name: Option<&str>, data: Option<&str>) -> Message {
    Message {
        serial: Some(serial.into()),
        name: name.map(str::to_owned),
        data: data.map_or(Data::None, Data::from),
        ..Message::default()
    }
}

/// A connected client with the channel attached whose service ACKs every
/// MESSAGE with `res` serials `[serial]`.
fn edit_harness(channel: &str, serial: &'static str) -> Harness {
    let mut h = connected_harness(attach_flags_and(Flags::PUBLISH, move |pm| {
        Some(ack_with_serials(pm.msg_serial.unwrap_or(0), &[serial]))
    }));
    get_channel(&mut h, channel);
    attach_ok(&mut h, channel);
    h
}

/// The one message of the last MESSAGE frame sent.
fn last_sent_message(h: &Harness) -> (ProtocolMessage, Message) {
    let pm = h.sent_with(Action::Message).pop().expect("a MESSAGE frame");
    assert_eq!(pm.messages.len(), 1, "RTL32b: a single message");
    let m = pm.messages[0].clone();
    (pm, m)
}

/// realtime/unit/RTL32b/update-message-action-0
#[test]
fn rtl32b_update_message_action_0() {
    let ch = "test-RTL32-update";
    let mut h = edit_harness(ch, "version-serial-1");
    let op = edit(
        &mut h,
        ch,
        MessageAction::Update,
        with_serial("msg-serial-1", Some("updated"), Some("new-data")),
        None,
        BTreeMap::new(),
    );
    assert!(result(&h, op).is_ok());
    let (pm, m) = last_sent_message(&h);
    assert_eq!(pm.channel.as_deref(), Some(ch));
    assert_eq!(m.action, Some(MessageAction::Update));
    assert_eq!(m.action.map(|a| a.number()), Some(1));
    assert_eq!(m.serial.as_deref(), Some("msg-serial-1"));
    assert_eq!(m.name.as_deref(), Some("updated"));
    assert_eq!(m.data, Data::from("new-data"));
}

/// realtime/unit/RTL32b/delete-message-action-1
#[test]
fn rtl32b_delete_message_action_1() {
    let ch = "test-RTL32-delete";
    let mut h = edit_harness(ch, "version-serial-1");
    let op = edit(
        &mut h,
        ch,
        MessageAction::Delete,
        with_serial("msg-serial-1", None, None),
        None,
        BTreeMap::new(),
    );
    assert!(result(&h, op).is_ok());
    let (_, m) = last_sent_message(&h);
    assert_eq!(m.action.map(|a| a.number()), Some(2));
    assert_eq!(m.serial.as_deref(), Some("msg-serial-1"));
}

/// realtime/unit/RTL32b/append-message-action-2
#[test]
fn rtl32b_append_message_action_2() {
    let ch = "test-RTL32-append";
    let mut h = edit_harness(ch, "version-serial-1");
    let operation = MessageVersion {
        description: Some("appended content".into()),
        ..MessageVersion::default()
    };
    let op = edit(
        &mut h,
        ch,
        MessageAction::Append,
        with_serial("msg-serial-1", None, Some("appended-data")),
        Some(operation),
        BTreeMap::new(),
    );
    assert!(result(&h, op).is_ok());
    let (_, m) = last_sent_message(&h);
    assert_eq!(m.action.map(|a| a.number()), Some(5));
    assert_eq!(m.serial.as_deref(), Some("msg-serial-1"));
    assert_eq!(m.data, Data::from("appended-data"));
}

/// realtime/unit/RTL32b2/version-from-operation-0
#[test]
fn rtl32b2_version_from_operation_0() {
    let ch = "test-RTL32b2";
    let mut h = edit_harness(ch, "version-serial-1");
    let operation = MessageVersion {
        description: Some("edited content".into()),
        metadata: Some(BTreeMap::from([("reason".to_owned(), "typo".to_owned())])),
        ..MessageVersion::default()
    };
    let with_op = edit(
        &mut h,
        ch,
        MessageAction::Update,
        with_serial("msg-serial-1", None, Some("v2")),
        Some(operation),
        BTreeMap::new(),
    );
    let without_op = edit(
        &mut h,
        ch,
        MessageAction::Update,
        with_serial("msg-serial-2", None, Some("v2")),
        None,
        BTreeMap::new(),
    );
    assert!(result(&h, with_op).is_ok());
    assert!(result(&h, without_op).is_ok());
    let frames = h.sent_with(Action::Message);
    assert_eq!(frames.len(), 2);
    let version = frames[0].messages[0].version.clone().expect("version set");
    assert_eq!(version.description.as_deref(), Some("edited content"));
    assert_eq!(
        version.metadata.unwrap().get("reason").map(String::as_str),
        Some("typo")
    );
    assert_eq!(frames[1].messages[0].version, None);
}

/// realtime/unit/RTL32c/no-message-mutation-0
#[test]
fn rtl32c_no_message_mutation_0() {
    let ch = "test-RTL32c";
    let mut h = edit_harness(ch, "version-serial-1");
    let original = with_serial("msg-serial-1", Some("original"), Some("original-data"));
    // The command takes its own copy; the caller's message stays as it was.
    let op = edit(
        &mut h,
        ch,
        MessageAction::Update,
        original.clone(),
        None,
        BTreeMap::new(),
    );
    assert!(result(&h, op).is_ok());
    assert_eq!(original.name.as_deref(), Some("original"));
    assert_eq!(original.data, Data::from("original-data"));
    assert_eq!(original.serial.as_deref(), Some("msg-serial-1"));
    assert_eq!(original.action, None);
    assert_eq!(last_sent_message(&h).1.action, Some(MessageAction::Update));
}

/// realtime/unit/RTL32d/ack-returns-result-0
#[test]
fn rtl32d_ack_returns_result_0() {
    let ch = "test-RTL32d";
    let mut h = edit_harness(ch, "01770000000000-000@abcdef:000");
    let op = edit(
        &mut h,
        ch,
        MessageAction::Update,
        with_serial("msg-serial-1", None, Some("updated")),
        None,
        BTreeMap::new(),
    );
    // UpdateDeleteResult.versionSerial: the first serial of the ACK's res.
    match result(&h, op) {
        Ok(Completion::Published(serials)) => assert_eq!(
            serials.first().cloned().flatten().as_deref(),
            Some("01770000000000-000@abcdef:000")
        ),
        other => panic!("expected the version serial, got {other:?}"),
    }
}

/// realtime/unit/RTL32d/nack-returns-error-1
#[test]
fn rtl32d_nack_returns_error_1() {
    let ch = "test-RTL32d-nack";
    let mut h = connected_harness(attach_flags_and(Flags::PUBLISH, |pm| {
        Some(nack_frame(pm.msg_serial.unwrap_or(0)))
    }));
    get_channel(&mut h, ch);
    attach_ok(&mut h, ch);
    let op = edit(
        &mut h,
        ch,
        MessageAction::Update,
        with_serial("msg-serial-1", None, Some("updated")),
        None,
        BTreeMap::new(),
    );
    assert_eq!(result(&h, op).unwrap_err().code, 40160);
}

/// realtime/unit/RTL32e/params-in-protocol-message-0
#[test]
fn rtl32e_params_in_protocol_message_0() {
    let ch = "test-RTL32e";
    let mut h = edit_harness(ch, "version-serial-1");
    let params = BTreeMap::from([
        ("key1".to_owned(), "value1".to_owned()),
        ("key2".to_owned(), "value2".to_owned()),
    ]);
    let op = edit(
        &mut h,
        ch,
        MessageAction::Update,
        with_serial("msg-serial-1", None, Some("v2")),
        None,
        params,
    );
    assert!(result(&h, op).is_ok());
    let (pm, _) = last_sent_message(&h);
    let sent = pm.params.expect("params in the frame");
    assert_eq!(sent.get("key1").map(String::as_str), Some("value1"));
    assert_eq!(sent.get("key2").map(String::as_str), Some("value2"));
}

/// realtime/unit/RTL32a/serial-validation-required-0
#[test]
fn rtl32a_serial_validation_required_0() {
    let ch = "test-RTL32a";
    let mut h = edit_harness(ch, "version-serial-1");
    let empty = edit(
        &mut h,
        ch,
        MessageAction::Update,
        with_serial("", None, Some("v2")),
        None,
        BTreeMap::new(),
    );
    assert_eq!(result(&h, empty).unwrap_err().code, 40003);
    let missing = edit(
        &mut h,
        ch,
        MessageAction::Delete,
        Message {
            data: Data::from("v2"),
            ..Message::default()
        },
        None,
        BTreeMap::new(),
    );
    assert_eq!(result(&h, missing).unwrap_err().code, 40003);
    assert!(h.sent_with(Action::Message).is_empty(), "nothing was sent");
}

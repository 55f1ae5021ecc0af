//! REST annotations: publish (RSAN1), delete (RSAN2) and get (RSAN3).
//! Ported from `uts/rest/unit/channel/annotations.md`. Annotation payloads
//! are encoded by the caller (RSAN1c3), as message payloads are.

use std::collections::BTreeMap;

use serde_json::json;

use ably_proto::client::ClientOptions;
use ably_proto::encoding::encode_payload;
use ably_proto::rand_core::SeedableRng;
use ably_proto::rest::{RestOp, RestResult};
use ably_proto::{Annotation, AnnotationAction, Data};

use crate::harness::*;

const CHANNEL: &str = "test-RSAN1:publish";

fn annotate(action: AnnotationAction, annotation: Annotation) -> RestOp {
    RestOp::Annotate {
        channel: CHANNEL.into(),
        message_serial: "msg-serial-1".into(),
        action,
        annotation,
    }
}

fn like() -> Annotation {
    Annotation {
        name: Some("like".into()),
        ..Annotation::new("com.example.reaction")
    }
}

/// The one annotation of a captured body, which must be an array of one.
fn sent(m: &Mock) -> serde_json::Value {
    let b = body(m.only());
    let items = b.as_array().expect("an array");
    assert_eq!(items.len(), 1);
    items[0].clone()
}

fn expected_path() -> String {
    format!(
        "/channels/{}/messages/msg-serial-1/annotations",
        encode_uri_component(CHANNEL)
    )
}

/// rest/unit/RSAN1c6/publish-post-annotation-create-0
///
/// RSAN1c1 action ANNOTATION_CREATE (0), RSAN1c2 messageSerial; and RSAN2a:
/// delete is the same with ANNOTATION_DELETE (1).
#[test]
fn rsan1c6_publish_post_annotation_create_0() {
    let mut m = Mock::new(json_opts());
    m.queue(vec![json(201, json!({}))]);
    assert_eq!(
        m.ok(annotate(AnnotationAction::Create, like())),
        RestResult::Done
    );
    let r = m.only();
    assert_eq!(r.method, "POST");
    assert_eq!(path(r), expected_path());
    let a = sent(&m);
    assert_eq!(a["action"], 0);
    assert_eq!(a["messageSerial"], "msg-serial-1");
    assert_eq!(a["type"], "com.example.reaction");
    assert_eq!(a["name"], "like");

    let mut m = Mock::new(json_opts());
    m.ok(annotate(AnnotationAction::Delete, like()));
    assert_eq!(path(m.only()), expected_path());
    assert_eq!(sent(&m)["action"], 1);
}

/// rest/unit/RSAN1a3/publish-type-required-0
#[test]
fn rsan1a3_publish_type_required_0() {
    let mut m = Mock::new(json_opts());
    let untyped = Annotation {
        name: Some("like".into()),
        ..Annotation::default()
    };
    let e = m.err(annotate(AnnotationAction::Create, untyped));
    assert_eq!(e.code, 40003);
    assert!(m.requests.is_empty());
}

/// rest/unit/RSAN1c3/annotation-data-encoded-0
#[test]
fn rsan1c3_annotation_data_encoded_0() {
    let value = json!({"key": "value", "nested": {"a": 1}});
    let mut annotation = Annotation {
        data: Data::json(value.clone()),
        ..Annotation::new("com.example.data")
    };
    let mut rng = rand_chacha::ChaCha20Rng::from_seed([4; 32]);
    encode_payload(
        &mut annotation.data,
        &mut annotation.encoding,
        None,
        &mut rng,
    )
    .expect("RSL4");
    let mut m = Mock::new(json_opts());
    m.ok(annotate(AnnotationAction::Create, annotation));
    let a = sent(&m);
    let text = a["data"].as_str().expect("JSON text");
    assert_eq!(a["encoding"], "json");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(text).ok(),
        Some(value)
    );
}

/// rest/unit/RSAN1c4/idempotent-id-generated-0
#[test]
fn rsan1c4_idempotent_id_generated_0() {
    let mut m = Mock::new(json_opts());
    m.ok(annotate(
        AnnotationAction::Create,
        Annotation::new("com.example.reaction"),
    ));
    let id = sent(&m)["id"].as_str().expect("an id").to_owned();
    let parts: Vec<&str> = id.split(':').collect();
    assert_eq!(parts.len(), 2, "{id}");
    assert!(parts[0].len() >= 12);
    assert!(
        parts[0]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    );
    assert_eq!(parts[1], "0");
    // A given id is kept.
    let mut m = Mock::new(json_opts());
    let given = Annotation {
        id: Some("mine:0".into()),
        ..Annotation::new("com.example.reaction")
    };
    m.ok(annotate(AnnotationAction::Create, given));
    assert_eq!(sent(&m)["id"], "mine:0");
}

/// rest/unit/RSAN1c4/idempotent-id-not-generated-1
#[test]
fn rsan1c4_idempotent_id_not_generated_1() {
    let mut m = Mock::new(ClientOptions {
        idempotent_rest_publishing: false,
        ..json_opts()
    });
    m.ok(annotate(
        AnnotationAction::Create,
        Annotation::new("com.example.reaction"),
    ));
    assert!(sent(&m).get("id").is_none());
}

/// RSAN3b, RSAN3c: `get` reads a page of annotations of a message, with
/// its params in the query.
#[test]
fn rsan3_get_returns_annotations() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![json(
        200,
        json!([
            {"id": "ann-1", "action": 0, "type": "com.example.reaction", "name": "like",
             "clientId": "user-1", "count": 1, "data": "thumbs-up", "serial": "ann-serial-1",
             "messageSerial": "msg-serial-1", "timestamp": 1_700_000_000_000_i64,
             "extras": {"custom": "metadata"}},
            {"id": "ann-2", "action": 0, "type": "com.example.reaction", "name": "heart",
             "clientId": "user-2", "serial": "ann-serial-2", "messageSerial": "msg-serial-1",
             "timestamp": 1_700_000_001_000_i64}
        ]),
    )]);
    let result = m.ok(RestOp::GetAnnotations {
        channel: CHANNEL.into(),
        message_serial: "msg-serial-1".into(),
        params: BTreeMap::from([("limit".to_owned(), "50".to_owned())]),
    });
    let r = m.only();
    assert_eq!((r.method, path(r)), ("GET", expected_path().as_str()));
    assert_eq!(param(r, "limit").as_deref(), Some("50"));
    let RestResult::Annotations(page) = result else {
        panic!("annotations expected");
    };
    assert_eq!(page.items.len(), 2);
    let a = &page.items[0];
    assert_eq!(a.id.as_deref(), Some("ann-1"));
    assert_eq!(a.action, Some(AnnotationAction::Create));
    assert_eq!(a.annotation_type.as_deref(), Some("com.example.reaction"));
    assert_eq!(a.count, Some(1));
    assert_eq!(a.data, Data::from("thumbs-up"));
    assert_eq!(a.message_serial.as_deref(), Some("msg-serial-1"));
    assert_eq!(a.extras, Some(json!({"custom": "metadata"})));
    assert_eq!(page.items[1].name.as_deref(), Some("heart"));
}

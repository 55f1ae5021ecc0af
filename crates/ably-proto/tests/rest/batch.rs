//! `batchPublish` (RSC22; BSP2, BPR2, BPF2) and `batchPresence` (RSC24;
//! BAR2, BGR2, BGF2). Ported from `uts/rest/unit/{batch_publish,
//! batch_presence}.md`. Payloads are encoded by the caller with
//! `Message::encode` (RSL4), as for a channel publish.

use base64::Engine as _;
use serde_json::json;

use ably_proto::client::{ClientOptions, HttpResponse};
use ably_proto::rand_core::SeedableRng;
use ably_proto::rest::{
    BatchPresenceResult, BatchPublishResult, BatchPublishSpec, BatchResult, RestOp, RestResult,
};
use ably_proto::{Data, Message, PresenceAction};

use crate::harness::*;

fn spec(channels: &[&str], messages: Vec<Message>) -> BatchPublishSpec {
    BatchPublishSpec {
        channels: channels.iter().map(|c| (*c).to_owned()).collect(),
        messages,
    }
}

fn one(name: &str, data: &str) -> Vec<Message> {
    vec![Message::new(name, data)]
}

fn publish_results(r: RestResult) -> Vec<BatchResult<BatchPublishResult>> {
    match r {
        RestResult::BatchPublish(b) => b,
        other => panic!("expected batch publish results, got {other:?}"),
    }
}

fn presence_results(r: RestResult) -> BatchResult<BatchPresenceResult> {
    match r {
        RestResult::BatchPresence(b) => b,
        other => panic!("expected batch presence results, got {other:?}"),
    }
}

fn success(channel: &str, id: &str, serials: &[&str]) -> serde_json::Value {
    json!({"channel": channel, "messageId": id, "serials": serials})
}

fn denied(channel: &str) -> serde_json::Value {
    json!({"channel": channel, "error": {"code": 40160, "statusCode": 401, "message": "Channel operation not permitted", "href": "https://help.ably.io/error/40160"}})
}

/// The specs of a captured batch publish body.
fn sent_specs(m: &Mock) -> Vec<serde_json::Value> {
    let r = m.only();
    assert_eq!((r.method, path(r)), ("POST", "/messages"));
    body(r).as_array().expect("an array of specs").clone()
}

// ---- RSC22c -----------------------------------------------------------------------

/// rest/unit/RSC22c/single-spec-post-messages-0
#[test]
fn rsc22c_single_spec_post_messages_0() {
    let mut m = Mock::new(json_opts());
    m.queue(vec![json(
        201,
        json!([success("a", "m", &["s"]), success("b", "m", &["s"])]),
    )]);
    m.ok(RestOp::BatchPublish(vec![spec(
        &["a", "b"],
        one("event", "hello"),
    )]));
    let specs = sent_specs(&m);
    assert_eq!(specs.len(), 1);
    assert_eq!(specs[0]["channels"], json!(["a", "b"]));
    let messages = specs[0]["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["name"], "event");
    assert_eq!(messages[0]["data"], "hello");
}

/// rest/unit/RSC22/request-id-included-0
#[test]
fn rsc22_request_id_included_0() {
    let mut m = Mock::new(ClientOptions {
        add_request_ids: true,
        ..json_opts()
    });
    m.queue(vec![json(201, json!([success("a", "m", &["s"])]))]);
    m.ok(RestOp::BatchPublish(vec![spec(&["a"], one("e", "d"))]));
    m.ok(RestOp::BatchPublish(vec![spec(&["a"], one("e", "d"))]));
    let ids: Vec<String> = m.requests.iter().map(request_id).collect();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1], "a unique id per request");
}

/// rest/unit/RSC22c/array-specs-post-messages-0
#[test]
fn rsc22c_array_specs_post_messages_0() {
    let mut m = Mock::new(json_opts());
    m.ok(RestOp::BatchPublish(vec![
        spec(&["c1"], one("e1", "d1")),
        spec(&["c2"], one("e2", "d2")),
    ]));
    let specs = sent_specs(&m);
    assert_eq!(specs.len(), 2);
    assert_eq!(specs[0]["channels"], json!(["c1"]));
    assert_eq!(specs[0]["messages"][0]["name"], "e1");
    assert_eq!(specs[1]["channels"], json!(["c2"]));
    assert_eq!(specs[1]["messages"][0]["data"], "d2");
}

/// rest/unit/RSC22c/single-spec-single-result-0
#[test]
fn rsc22c_single_spec_single_result_0() {
    let mut m = Mock::new(json_opts());
    m.queue(vec![json(201, success("ch", "msg123", &["serial1"]))]);
    let results = publish_results(m.ok(RestOp::BatchPublish(vec![spec(&["ch"], one("e", "d"))])));
    assert_eq!(results.len(), 1, "one BatchResult for the one spec");
    assert_eq!((results[0].success_count, results[0].failure_count), (1, 0));
    assert_eq!(
        results[0].results,
        vec![BatchPublishResult::Success {
            channel: "ch".into(),
            message_id: Some("msg123".into()),
            serials: vec![Some("serial1".into())],
        }]
    );
}

/// rest/unit/RSC22c/array-specs-array-results-0
#[test]
fn rsc22c_array_specs_array_results_0() {
    let mut m = Mock::new(json_opts());
    m.queue(vec![json(
        201,
        json!([
            success("c1", "msg1", &["s1"]),
            success("c2", "msg2", &["s2"])
        ]),
    )]);
    let results = publish_results(m.ok(RestOp::BatchPublish(vec![
        spec(&["c1"], one("e1", "d1")),
        spec(&["c2"], one("e2", "d2")),
    ])));
    assert_eq!(results.len(), 2);
    for (result, channel) in results.iter().zip(["c1", "c2"]) {
        assert_eq!(result.results.len(), 1);
        assert!(matches!(&result.results[0],
            BatchPublishResult::Success { channel: c, .. } if c == channel));
    }
    // The service's own envelopes, one per spec, are read as they are.
    let mut m = Mock::new(json_opts());
    m.queue(vec![json(
        201,
        json!([
            {"successCount": 1, "failureCount": 0, "results": [success("c1", "msg1", &["s1"])]},
            {"successCount": 0, "failureCount": 1, "results": [denied("c2")]}
        ]),
    )]);
    let results = publish_results(m.ok(RestOp::BatchPublish(vec![
        spec(&["c1"], one("e1", "d1")),
        spec(&["c2"], one("e2", "d2")),
    ])));
    assert_eq!((results[1].success_count, results[1].failure_count), (0, 1));
}

/// rest/unit/RSC22c/multiple-channels-multiple-results-0
#[test]
fn rsc22c_multiple_channels_multiple_results_0() {
    let mut m = Mock::new(json_opts());
    m.queue(vec![json(
        201,
        json!([
            success("a", "m", &["1"]),
            success("b", "m", &["2"]),
            success("c", "m", &["3"])
        ]),
    )]);
    let results = publish_results(m.ok(RestOp::BatchPublish(vec![spec(
        &["a", "b", "c"],
        one("e", "d"),
    )])));
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].results.len(), 3);
    assert_eq!(results[0].success_count, 3);
}

/// rest/unit/RSC22c/messages-encoded-per-rsl4-0
#[test]
fn rsc22c_messages_encoded_per_rsl4_0() {
    let mut rng = rand_chacha::ChaCha20Rng::from_seed([1; 32]);
    let mut messages = vec![
        Message::new("s", "text"),
        Message::new("b", Data::Binary(vec![1u8, 2, 3].into())),
        Message::new("j", Data::json(json!({"key": "value"}))),
    ];
    for msg in &mut messages {
        msg.encode(None, &mut rng).expect("RSL4");
    }
    let mut m = Mock::new(json_opts());
    m.ok(RestOp::BatchPublish(vec![spec(&["ch"], messages)]));
    let sent = sent_specs(&m)[0]["messages"].clone();
    assert_eq!(sent[0]["data"], "text");
    assert!(sent[0].get("encoding").is_none());
    assert_eq!(sent[1]["encoding"], "base64");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(sent[1]["data"].as_str().unwrap_or_default())
        .expect("base64");
    assert_eq!(bytes, vec![1, 2, 3]);
    assert_eq!(sent[2]["encoding"], "json");
    let text = sent[2]["data"].as_str().expect("JSON text");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(text).ok(),
        Some(json!({"key": "value"}))
    );
}

/// rest/unit/RSC22c/uses-configured-auth-0
#[test]
fn rsc22c_uses_configured_auth_0() {
    let op = || RestOp::BatchPublish(vec![spec(&["ch"], one("e", "d"))]);
    let mut m = Mock::new(ClientOptions::with_token("batch-token"));
    m.ok(op());
    assert_eq!(bearer(m.only()).as_deref(), Some("batch-token"));
    let mut m = Mock::new(key_opts());
    m.ok(op());
    assert_eq!(basic(m.only()).as_deref(), Some("appId.keyId:keySecret"));
}

// ---- RSC22d -----------------------------------------------------------------------

fn ids(spec: &serde_json::Value) -> Vec<String> {
    spec["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// rest/unit/RSC22d/idempotent-ids-generated-0
#[test]
fn rsc22d_idempotent_ids_generated_0() {
    let mut m = Mock::new(json_opts());
    m.ok(RestOp::BatchPublish(vec![
        spec(&["a"], vec![Message::new("1", "x"), Message::new("2", "y")]),
        spec(&["b"], vec![Message::new("3", "z")]),
    ]));
    let specs = sent_specs(&m);
    let first = ids(&specs[0]);
    let second = ids(&specs[1]);
    let base = |id: &str| {
        id.rsplit_once(':')
            .map(|(b, _)| b.to_owned())
            .unwrap_or_default()
    };
    assert!(
        first[0].ends_with(":0") && first[1].ends_with(":1"),
        "{first:?}"
    );
    assert!(second[0].ends_with(":0"), "{second:?}");
    assert_eq!(base(&first[0]), base(&first[1]));
    assert_ne!(base(&first[0]), base(&second[0]), "a base per spec");
    assert!(base(&first[0]).len() >= 12);
}

/// rest/unit/RSC22d/explicit-ids-preserved-0
#[test]
fn rsc22d_explicit_ids_preserved_0() {
    let with_id = |id: &str| Message {
        id: Some(id.into()),
        ..Message::new("e", "d")
    };
    let mut m = Mock::new(json_opts());
    m.ok(RestOp::BatchPublish(vec![spec(
        &["a"],
        vec![with_id("my-id-1"), with_id("my-id-2")],
    )]));
    assert_eq!(ids(&sent_specs(&m)[0]), vec!["my-id-1", "my-id-2"]);
}

/// rest/unit/RSC22d/ids-not-generated-disabled-0
#[test]
fn rsc22d_ids_not_generated_disabled_0() {
    let mut m = Mock::new(ClientOptions {
        idempotent_rest_publishing: false,
        ..json_opts()
    });
    m.ok(RestOp::BatchPublish(vec![spec(&["a"], one("e", "d"))]));
    assert!(sent_specs(&m)[0]["messages"][0].get("id").is_none());
}

// ---- BSP, BPR, BPF ----------------------------------------------------------------

/// rest/unit/BSP2a/channels-array-strings-0
#[test]
fn bsp2a_channels_array_strings_0() {
    let mut m = Mock::new(json_opts());
    m.ok(RestOp::BatchPublish(vec![spec(
        &["x", "y", "z"],
        one("e", "d"),
    )]));
    let channels = &sent_specs(&m)[0]["channels"];
    assert_eq!(channels, &json!(["x", "y", "z"]));
}

/// rest/unit/BSP2b/messages-array-objects-0
#[test]
fn bsp2b_messages_array_objects_0() {
    let mut rng = rand_chacha::ChaCha20Rng::from_seed([2; 32]);
    let mut messages = vec![
        Message::new("event1", "data1"),
        Message::new("event2", Data::json(json!({"key": "value"}))),
    ];
    for msg in &mut messages {
        msg.encode(None, &mut rng).expect("RSL4");
    }
    let mut m = Mock::new(json_opts());
    m.ok(RestOp::BatchPublish(vec![spec(&["ch"], messages)]));
    let sent = sent_specs(&m)[0]["messages"].clone();
    assert_eq!(sent.as_array().map(Vec::len), Some(2));
    assert_eq!(sent[0]["name"], "event1");
    assert_eq!(sent[0]["data"], "data1");
    assert_eq!(sent[1]["name"], "event2");
    assert_eq!(sent[1]["encoding"], "json");
}

/// A single-spec batch publish answered with `answer`.
fn answered(answer: serde_json::Value) -> BatchResult<BatchPublishResult> {
    let mut m = Mock::new(json_opts());
    m.queue(vec![json(201, answer)]);
    let mut results = publish_results(m.ok(RestOp::BatchPublish(vec![spec(
        &["ch"],
        vec![
            Message::new("a", "1"),
            Message::new("b", "2"),
            Message::new("c", "3"),
        ],
    )])));
    assert_eq!(results.len(), 1);
    results.remove(0)
}

/// rest/unit/BPR2a/success-channel-name-0
#[test]
fn bpr2a_success_channel_name_0() {
    let r = answered(success("test-BPR2a", "msg123", &["s1"]));
    assert!(matches!(&r.results[0],
        BatchPublishResult::Success { channel, .. } if channel == "test-BPR2a"));
}

/// rest/unit/BPR2b/success-message-id-prefix-0
#[test]
fn bpr2b_success_message_id_prefix_0() {
    let r = answered(success("ch", "unique-id-prefix", &["s1", "s2"]));
    assert!(matches!(&r.results[0],
        BatchPublishResult::Success { message_id: Some(id), .. } if id == "unique-id-prefix"));
}

/// rest/unit/BPR2c/serials-array-0
#[test]
fn bpr2c_serials_array_0() {
    let r = answered(success("ch", "msg", &["serial1", "serial2", "serial3"]));
    let BatchPublishResult::Success { serials, .. } = &r.results[0] else {
        panic!("a success expected");
    };
    assert_eq!(
        serials,
        &vec![
            Some("serial1".to_owned()),
            Some("serial2".to_owned()),
            Some("serial3".to_owned())
        ]
    );
}

/// rest/unit/BPR2c/serials-null-conflated-0
#[test]
fn bpr2c_serials_null_conflated_0() {
    let r = answered(
        json!({"channel": "ch", "messageId": "msg", "serials": ["serial1", null, "serial3"]}),
    );
    let BatchPublishResult::Success { serials, .. } = &r.results[0] else {
        panic!("a success expected");
    };
    assert_eq!(
        serials,
        &vec![Some("serial1".to_owned()), None, Some("serial3".to_owned())]
    );
}

/// rest/unit/BPF2a/failure-channel-name-0
#[test]
fn bpf2a_failure_channel_name_0() {
    let r = answered(denied("test-BPF2a"));
    assert!(matches!(&r.results[0],
        BatchPublishResult::Failure { channel, .. } if channel == "test-BPF2a"));
    assert_eq!((r.success_count, r.failure_count), (0, 1));
}

/// rest/unit/BPF2b/failure-error-info-0
#[test]
fn bpf2b_failure_error_info_0() {
    let r = answered(denied("ch"));
    let BatchPublishResult::Failure { error, .. } = &r.results[0] else {
        panic!("a failure expected");
    };
    assert_eq!((error.code, error.status_code), (40160, Some(401)));
    assert!(error.message.to_lowercase().contains("not permitted"));
    assert_eq!(
        error.href.as_deref(),
        Some("https://help.ably.io/error/40160")
    );
}

/// rest/unit/RSC22c/partial-success-mixed-results-0
#[test]
fn rsc22c_partial_success_mixed_results_0() {
    let mut m = Mock::new(json_opts());
    m.queue(vec![json(
        201,
        json!([success("allowed", "msg1", &["s1"]), denied("restricted")]),
    )]);
    let results = publish_results(m.ok(RestOp::BatchPublish(vec![spec(
        &["allowed", "restricted"],
        one("e", "d"),
    )])));
    let r = &results[0];
    assert_eq!(r.results.len(), 2);
    assert!(matches!(r.results[0], BatchPublishResult::Success { .. }));
    assert!(matches!(r.results[1], BatchPublishResult::Failure { .. }));
    assert_eq!((r.success_count, r.failure_count), (1, 1));
}

/// rest/unit/RSC22c/distinguish-success-failure-0
#[test]
fn rsc22c_distinguish_success_failure_0() {
    let r = answered(json!([
        success("a", "m", &["s"]),
        denied("b"),
        success("c", "m", &["t"])
    ]));
    let kinds: Vec<&str> = r
        .results
        .iter()
        .map(|x| match x {
            BatchPublishResult::Success { .. } => "success",
            BatchPublishResult::Failure { .. } => "failure",
        })
        .collect();
    assert_eq!(kinds, vec!["success", "failure", "success"]);
}

// ---- RSC22 errors, headers, sizes -------------------------------------------------

/// rest/unit/RSC22/empty-channels-rejected-0
#[test]
fn rsc22_empty_channels_rejected_0() {
    let mut m = Mock::new(json_opts());
    let e = m.err(RestOp::BatchPublish(vec![spec(&[], one("e", "d"))]));
    assert_eq!(e.code, 40003);
    assert!(m.requests.is_empty());
    assert_eq!(m.err(RestOp::BatchPublish(Vec::new())).code, 40003);
}

/// rest/unit/RSC22/empty-messages-rejected-0
#[test]
fn rsc22_empty_messages_rejected_0() {
    let mut m = Mock::new(json_opts());
    let e = m.err(RestOp::BatchPublish(vec![spec(&["ch"], Vec::new())]));
    assert_eq!(e.code, 40003);
    assert!(m.requests.is_empty());
}

/// rest/unit/RSC22/server-error-propagated-0
#[test]
fn rsc22_server_error_propagated_0() {
    let mut m = Mock::new(json_opts());
    m.queue(vec![error(500, 50000, "Internal error")]);
    let e = m.err(RestOp::BatchPublish(vec![spec(&["ch"], one("e", "d"))]));
    assert_eq!((e.code, e.status_code), (50000, Some(500)));
}

/// rest/unit/RSC22/auth-error-propagated-0
#[test]
fn rsc22_auth_error_propagated_0() {
    let mut m = Mock::new(json_opts());
    m.queue(vec![error(401, 40101, "Invalid credentials")]);
    let e = m.err(RestOp::BatchPublish(vec![spec(&["ch"], one("e", "d"))]));
    assert_eq!((e.code, e.status_code), (40101, Some(401)));
    assert_eq!(m.requests.len(), 1);
}

/// rest/unit/RSC22/standard-headers-included-0
#[test]
fn rsc22_standard_headers_included_0() {
    let mut m = Mock::new(json_opts());
    m.ok(RestOp::BatchPublish(vec![spec(&["ch"], one("e", "d"))]));
    let r = m.only();
    assert_eq!(
        header(r, "X-Ably-Version"),
        Some(ably_proto::rest::PROTOCOL_VERSION.to_string().as_str())
    );
    assert!(header(r, "Ably-Agent").is_some_and(|a| a.starts_with("ably-")));
    assert_eq!(header(r, "Content-Type"), Some("application/json"));
}

/// rest/unit/RSC22/multiple-messages-per-channel-0
#[test]
fn rsc22_multiple_messages_per_channel_0() {
    let messages: Vec<Message> = (0..100)
        .map(|i| Message::new(format!("e{i}"), format!("d{i}")))
        .collect();
    let serials: Vec<String> = (0..100).map(|i| format!("s{i}")).collect();
    let mut m = Mock::new(json_opts());
    m.queue(vec![json(
        201,
        json!([{"channel": "ch", "messageId": "m", "serials": serials}]),
    )]);
    let results = publish_results(m.ok(RestOp::BatchPublish(vec![spec(&["ch"], messages)])));
    let sent = sent_specs(&m)[0]["messages"].clone();
    assert_eq!(sent.as_array().map(Vec::len), Some(100));
    assert_eq!(sent[99]["name"], "e99");
    let BatchPublishResult::Success { serials, .. } = &results[0].results[0] else {
        panic!("a success expected");
    };
    assert_eq!(serials.len(), 100);
}

/// rest/unit/RSC22/multiple-channels-multiple-messages-0
#[test]
fn rsc22_multiple_channels_multiple_messages_0() {
    let mut m = Mock::new(json_opts());
    m.queue(vec![json(
        201,
        json!([
            success("a", "m", &["1", "2", "3"]),
            success("b", "m", &["4", "5", "6"]),
            success("c", "m", &["7", "8", "9"])
        ]),
    )]);
    let messages = vec![
        Message::new("m1", "1"),
        Message::new("m2", "2"),
        Message::new("m3", "3"),
    ];
    let results =
        publish_results(m.ok(RestOp::BatchPublish(vec![spec(&["a", "b", "c"], messages)])));
    let specs = sent_specs(&m);
    assert_eq!(specs[0]["channels"].as_array().map(Vec::len), Some(3));
    assert_eq!(specs[0]["messages"].as_array().map(Vec::len), Some(3));
    assert_eq!(results[0].results.len(), 3);
    assert_eq!(results[0].success_count, 3);
    let published: usize = results[0]
        .results
        .iter()
        .map(|r| match r {
            BatchPublishResult::Success { serials, .. } => serials.len(),
            BatchPublishResult::Failure { .. } => 0,
        })
        .sum();
    assert_eq!(published, 9);
}

// ---- RSC24 ------------------------------------------------------------------------

fn envelope(successes: usize, failures: usize, results: serde_json::Value) -> HttpResponse {
    json(
        200,
        json!({"successCount": successes, "failureCount": failures, "results": results}),
    )
}

fn batch_presence(
    channels: &[&str],
    answer: HttpResponse,
) -> (Mock, BatchResult<BatchPresenceResult>) {
    let mut m = Mock::new(ClientOptions {
        auto_connect: false,
        ..ClientOptions::with_key("fake.key:secret")
    });
    m.queue(vec![answer]);
    let op = RestOp::BatchPresence(channels.iter().map(|c| (*c).to_owned()).collect());
    let r = presence_results(m.ok(op));
    (m, r)
}

/// rest/unit/RSC24/get-presence-channels-param-0
#[test]
fn rsc24_get_presence_channels_param_0() {
    let (m, r) = batch_presence(
        &["channel-a", "channel-b"],
        envelope(
            2,
            0,
            json!([{"channel": "channel-a", "presence": []}, {"channel": "channel-b", "presence": []}]),
        ),
    );
    let sent = m.only();
    assert_eq!((sent.method, path(sent)), ("GET", "/presence"));
    assert_eq!(
        param(sent, "channels").as_deref(),
        Some("channel-a,channel-b")
    );
    assert_eq!(r.results.len(), 2);
}

/// rest/unit/RSC24/single-channel-param-0
#[test]
fn rsc24_single_channel_param_0() {
    let (m, _) = batch_presence(
        &["my-channel"],
        envelope(1, 0, json!([{"channel": "my-channel", "presence": []}])),
    );
    assert_eq!(param(m.only(), "channels").as_deref(), Some("my-channel"));
}

/// rest/unit/RSC24/special-chars-comma-joined-0
#[test]
fn rsc24_special_chars_comma_joined_0() {
    let (m, _) = batch_presence(
        &["foo:bar", "baz/qux"],
        envelope(
            2,
            0,
            json!([{"channel": "foo:bar", "presence": []}, {"channel": "baz/qux", "presence": []}]),
        ),
    );
    assert_eq!(
        param(m.only(), "channels").as_deref(),
        Some("foo:bar,baz/qux")
    );
    // The query is percent-encoded on the wire.
    assert!(
        m.only().url.contains("channels=foo%3Abar%2Cbaz%2Fqux"),
        "{}",
        m.only().url
    );
}

fn not_permitted(channel: &str) -> serde_json::Value {
    json!({"channel": channel, "error": {"code": 40160, "statusCode": 401, "message": "Not permitted"}})
}

/// rest/unit/BAR2/mixed-success-failure-counts-0
#[test]
fn bar2_mixed_success_failure_counts_0() {
    let (_, r) = batch_presence(
        &["ch-1", "ch-2", "ch-3", "ch-4"],
        envelope(
            3,
            1,
            json!([
                {"channel": "ch-1", "presence": []},
                {"channel": "ch-2", "presence": []},
                {"channel": "ch-3", "presence": []},
                not_permitted("ch-4")
            ]),
        ),
    );
    assert_eq!((r.success_count, r.failure_count), (3, 1));
    assert_eq!(r.results.len(), 4);
}

/// rest/unit/BAR2/all-success-counts-0
#[test]
fn bar2_all_success_counts_0() {
    let (_, r) = batch_presence(
        &["ch-a", "ch-b"],
        envelope(
            2,
            0,
            json!([{"channel": "ch-a", "presence": []}, {"channel": "ch-b", "presence": []}]),
        ),
    );
    assert_eq!((r.success_count, r.failure_count), (2, 0));
    assert_eq!(r.results.len(), 2);
}

/// rest/unit/BAR2/all-failure-counts-0
#[test]
fn bar2_all_failure_counts_0() {
    let (_, r) = batch_presence(
        &["ch-a", "ch-b"],
        envelope(0, 2, json!([not_permitted("ch-a"), not_permitted("ch-b")])),
    );
    assert_eq!((r.success_count, r.failure_count), (0, 2));
    assert_eq!(r.results.len(), 2);
}

/// rest/unit/BGR2/success-with-members-0
#[test]
fn bgr2_success_with_members_0() {
    let (_, r) = batch_presence(
        &["my-channel"],
        envelope(
            1,
            0,
            json!([{"channel": "my-channel", "presence": [
                {"clientId": "client-1", "action": 1, "connectionId": "conn-abc", "id": "conn-abc:0:0", "timestamp": 1_700_000_000_000_i64, "data": "hello"},
                {"clientId": "client-2", "action": 1, "connectionId": "conn-def", "id": "conn-def:0:0", "timestamp": 1_700_000_000_000_i64, "data": {"key": "value"}}
            ]}]),
        ),
    );
    assert_eq!(r.results.len(), 1);
    let BatchPresenceResult::Success { channel, presence } = &r.results[0] else {
        panic!("a success expected");
    };
    assert_eq!(channel, "my-channel");
    assert_eq!(presence.len(), 2);
    assert_eq!(presence[0].client_id.as_deref(), Some("client-1"));
    assert_eq!(presence[0].action, PresenceAction::Present);
    assert_eq!(presence[0].connection_id.as_deref(), Some("conn-abc"));
    assert_eq!(presence[0].data, Data::from("hello"));
    assert_eq!(presence[1].client_id.as_deref(), Some("client-2"));
    assert_eq!(presence[1].data.as_json(), Some(&json!({"key": "value"})));
}

/// rest/unit/BGR2/success-empty-presence-0
#[test]
fn bgr2_success_empty_presence_0() {
    let (_, r) = batch_presence(
        &["empty-channel"],
        envelope(1, 0, json!([{"channel": "empty-channel", "presence": []}])),
    );
    assert_eq!(
        r.results,
        vec![BatchPresenceResult::Success {
            channel: "empty-channel".into(),
            presence: Vec::new(),
        }]
    );
}

/// rest/unit/BGF2/failure-error-details-0
#[test]
fn bgf2_failure_error_details_0() {
    let (_, r) = batch_presence(
        &["restricted-channel"],
        envelope(
            0,
            1,
            json!([{"channel": "restricted-channel", "error": {"code": 40160, "statusCode": 401, "message": "Channel operation not permitted"}}]),
        ),
    );
    let BatchPresenceResult::Failure { channel, error } = &r.results[0] else {
        panic!("a failure expected");
    };
    assert_eq!(channel, "restricted-channel");
    assert_eq!((error.code, error.status_code), (40160, Some(401)));
    assert!(error.message.contains("not permitted"));
}

/// rest/unit/RSC24/mixed-success-failure-results-0
#[test]
fn rsc24_mixed_success_failure_results_0() {
    let (_, r) = batch_presence(
        &["allowed-channel", "restricted-channel"],
        envelope(
            1,
            1,
            json!([
                {"channel": "allowed-channel", "presence": [
                    {"clientId": "user-1", "action": 1, "connectionId": "conn-1", "id": "conn-1:0:0", "timestamp": 1_700_000_000_000_i64}
                ]},
                not_permitted("restricted-channel")
            ]),
        ),
    );
    assert_eq!(r.results.len(), 2);
    let BatchPresenceResult::Success { channel, presence } = &r.results[0] else {
        panic!("a success first");
    };
    assert_eq!(channel, "allowed-channel");
    assert_eq!(presence.len(), 1);
    assert_eq!(presence[0].client_id.as_deref(), Some("user-1"));
    let BatchPresenceResult::Failure { channel, error } = &r.results[1] else {
        panic!("a failure second");
    };
    assert_eq!(channel, "restricted-channel");
    assert_eq!(error.code, 40160);
}

/// rest/unit/RSC24/server-error-propagated-0
#[test]
fn rsc24_server_error_propagated_0() {
    let mut m = Mock::new(ClientOptions::with_key("fake.key:secret"));
    m.queue(vec![error(500, 50000, "Internal error")]);
    let e = m.err(RestOp::BatchPresence(vec!["any-channel".into()]));
    assert_eq!((e.code, e.status_code), (50000, Some(500)));
}

/// rest/unit/RSC24/auth-error-propagated-0
#[test]
fn rsc24_auth_error_propagated_0() {
    let mut m = Mock::new(ClientOptions::with_key("fake.key:secret"));
    m.queue(vec![error(401, 40101, "Invalid credentials")]);
    let e = m.err(RestOp::BatchPresence(vec!["any-channel".into()]));
    assert_eq!((e.code, e.status_code), (40101, Some(401)));
    assert_eq!(m.requests.len(), 1);
}

/// rest/unit/RSC24/uses-configured-auth-0
#[test]
fn rsc24_uses_configured_auth_0() {
    let (m, _) = batch_presence(
        &["ch"],
        envelope(1, 0, json!([{"channel": "ch", "presence": []}])),
    );
    let auth = header(m.only(), "Authorization").unwrap_or_default();
    assert!(auth.starts_with("Basic "));
    let mut m = Mock::new(ClientOptions::with_token("presence-token"));
    m.ok(RestOp::BatchPresence(vec!["ch".into()]));
    assert_eq!(bearer(m.only()).as_deref(), Some("presence-token"));
}

//! Property tests: every ProtocolMessage survives encode then decode in both
//! formats, and transcoding between JSON and MessagePack keeps string,
//! binary and JSON data apart.

use ably_proto::codec::{self, Format};
use ably_proto::{
    Action, AuthDetails, ConnectionDetails, Data, ErrorInfo, Flags, Message, MessageAction,
    MessageVersion, PresenceAction, PresenceMessage, ProtocolMessage, PublishResult,
};
use bytes::Bytes;
use proptest::collection::{btree_map, vec};
use proptest::option::of;
use proptest::prelude::*;
use serde_json::Value;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9:_-]{0,12}",
        any::<String>(),
        Just("3q2+7w==".to_owned()), // looks like base64, must stay a string
    ]
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        text().prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn json_container() -> impl Strategy<Value = Value> {
    prop_oneof![
        vec(json_value(), 0..4).prop_map(Value::Array),
        btree_map("[a-z]{1,6}", json_value(), 0..4)
            .prop_map(|m| Value::Object(m.into_iter().collect())),
    ]
}

/// Data as it can appear on the wire. `Data::Json` never holds a string or
/// null: those are `Data::String` and `Data::None`.
fn data() -> impl Strategy<Value = Data> {
    prop_oneof![
        Just(Data::None),
        text().prop_map(Data::String),
        vec(any::<u8>(), 0..64).prop_map(|b| Data::Binary(Bytes::from(b))),
        json_container().prop_map(Data::json),
        any::<i64>().prop_map(|n| Data::json(serde_json::Value::from(n))),
        any::<bool>().prop_map(|b| Data::json(serde_json::Value::from(b))),
    ]
}

/// Encodings that a message may carry. A string never carries a trailing
/// `base64`: that is the transport form of binary, which decoding undoes.
fn encoding() -> impl Strategy<Value = Option<String>> {
    of(prop_oneof![
        Just("json".to_owned()),
        Just("utf-8/cipher+aes-128-cbc".to_owned()),
        Just("json/utf-8/cipher+aes-256-cbc".to_owned()),
        Just("custom".to_owned()),
    ])
}

fn opaque() -> impl Strategy<Value = rmpv::Value> {
    let leaf = prop_oneof![
        Just(rmpv::Value::Nil),
        any::<bool>().prop_map(rmpv::Value::from),
        any::<i64>().prop_map(rmpv::Value::from),
        any::<u64>().prop_map(rmpv::Value::from),
        "[a-z]{0,8}".prop_map(rmpv::Value::from),
    ];
    leaf.prop_recursive(2, 12, 3, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..3).prop_map(rmpv::Value::Array),
            vec(("[a-z]{1,4}", inner), 0..3).prop_map(|kv| {
                rmpv::Value::Map(kv.into_iter().map(|(k, v)| (k.into(), v)).collect())
            }),
        ]
    })
}

fn error_info() -> impl Strategy<Value = ErrorInfo> {
    (
        any::<u32>(),
        of(any::<u16>()),
        text(),
        of(text()),
        of((any::<u32>(), text())),
    )
        .prop_map(|(code, status_code, message, href, cause)| ErrorInfo {
            code,
            status_code,
            message,
            href,
            cause: cause.map(|(code, message)| {
                Box::new(ErrorInfo {
                    code,
                    message,
                    ..ErrorInfo::default()
                })
            }),
        })
}

fn message() -> impl Strategy<Value = Message> {
    (
        (of(text()), of(text()), of(text()), of(text()), of(text())),
        (encoding(), data(), of(json_container()), of(any::<i64>())),
        (
            of(any::<u64>().prop_map(MessageAction::from_number)),
            of(text()),
            of((
                of(text()),
                of(any::<i64>()),
                of(btree_map("[a-z]{1,4}", text(), 0..3)),
            )),
        ),
    )
        .prop_map(
            |(
                (id, client_id, connection_id, connection_key, name),
                (encoding, data, extras, timestamp),
                (action, serial, version),
            )| {
                Message {
                    id,
                    client_id,
                    connection_id,
                    connection_key,
                    name,
                    encoding,
                    data,
                    extras,
                    timestamp,
                    action,
                    serial,
                    version: version.map(|(serial, timestamp, metadata)| {
                        Box::new(MessageVersion {
                            serial,
                            timestamp,
                            metadata,
                            ..MessageVersion::default()
                        })
                    }),
                    annotations: None,
                }
            },
        )
}

fn presence() -> impl Strategy<Value = PresenceMessage> {
    (
        of(text()),
        any::<u64>().prop_map(PresenceAction::from_number),
        (of(text()), of(text())),
        (encoding(), data(), of(any::<i64>())),
    )
        .prop_map(
            |(id, action, (client_id, connection_id), (encoding, data, timestamp))| {
                PresenceMessage {
                    id,
                    action,
                    client_id,
                    connection_id,
                    encoding,
                    data,
                    extras: None,
                    timestamp,
                }
            },
        )
}

fn connection_details() -> impl Strategy<Value = ConnectionDetails> {
    (
        (of(text()), of(text()), of(any::<u64>()), of(any::<u64>())),
        (
            of(any::<u64>()),
            of(any::<u64>()),
            of(text()),
            of(any::<u64>()),
            of(text()),
        ),
    )
        .prop_map(
            |(
                (client_id, connection_key, max_message_size, max_frame_size),
                (max_inbound_rate, connection_state_ttl, server_id, max_idle_interval, site_code),
            )| {
                ConnectionDetails {
                    client_id,
                    connection_key,
                    max_message_size,
                    max_frame_size,
                    max_inbound_rate,
                    connection_state_ttl,
                    server_id,
                    max_idle_interval,
                    objects_gc_grace_period: None,
                    site_code,
                }
            },
        )
}

fn protocol_message() -> impl Strategy<Value = ProtocolMessage> {
    (
        (
            any::<u8>().prop_map(|n| Action::from_number(u64::from(n))),
            any::<u64>().prop_map(Flags),
            of(text()),
            of(any::<i64>()),
            of(any::<u32>()),
        ),
        (
            of(error_info()),
            of(text()),
            of(text()),
            of(text()),
            of(any::<u64>()),
        ),
        (
            vec(message(), 0..3),
            vec(presence(), 0..3),
            vec(opaque(), 0..2),
            vec(opaque(), 0..2),
        ),
        (
            of(text().prop_map(|access_token| AuthDetails { access_token })),
            of(connection_details()),
            of(btree_map("[a-z]{1,8}", text(), 0..3)),
            of(vec(
                vec(of(text()), 0..3).prop_map(|serials| PublishResult { serials }),
                0..3,
            )),
        ),
    )
        .prop_map(
            |(
                (action, flags, id, timestamp, count),
                (error, connection_id, channel, channel_serial, msg_serial),
                (messages, presence, annotations, state),
                (auth, connection_details, params, res),
            )| {
                ProtocolMessage {
                    action,
                    flags,
                    id,
                    timestamp,
                    count,
                    error,
                    connection_id,
                    channel,
                    channel_serial,
                    msg_serial,
                    messages,
                    presence,
                    annotations,
                    state,
                    auth,
                    connection_details,
                    params,
                    res,
                }
            },
        )
}

fn round_trip(pm: &ProtocolMessage, format: Format) -> ProtocolMessage {
    let bytes = codec::encode(pm, format).expect("encode");
    codec::decode_protocol_message(&bytes, format).expect("decode")
}

proptest! {
    // A fixed seed keeps the run deterministic; raise PROPTEST_CASES to explore more.
    #![proptest_config(ProptestConfig {
        cases: 512,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0xab1e),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn survives_json_round_trip(pm in protocol_message()) {
        prop_assert_eq!(round_trip(&pm, Format::Json), pm);
    }

    #[test]
    fn survives_msgpack_round_trip(pm in protocol_message()) {
        prop_assert_eq!(round_trip(&pm, Format::MsgPack), pm);
    }

    #[test]
    fn fast_msgpack_reader_agrees_with_serde(pm in protocol_message(), cut in any::<proptest::sample::Index>(), flip in any::<(proptest::sample::Index, u8)>()) {
        let bytes = codec::encode(&pm, Format::MsgPack).expect("encode");
        let agree = |b: &[u8]| {
            let fast = codec::decode_protocol_message(b, Format::MsgPack).ok();
            let slow = codec::decode_msgpack_via_serde(b).ok();
            (fast, slow)
        };
        let (fast, slow) = agree(&bytes);
        prop_assert_eq!(&fast, &slow);
        prop_assert_eq!(fast.as_ref(), Some(&pm));
        // Damaged frames: both paths accept or refuse alike.
        let (fast, slow) = agree(&bytes[..cut.index(bytes.len())]);
        prop_assert_eq!(fast, slow);
        let mut damaged = bytes.clone();
        let at = flip.0.index(damaged.len());
        damaged[at] ^= flip.1;
        let (fast, slow) = agree(&damaged);
        prop_assert_eq!(fast, slow);
    }

    #[test]
    fn fast_json_reader_agrees_with_serde(pm in protocol_message(), cut in any::<proptest::sample::Index>(), flip in any::<(proptest::sample::Index, u8)>()) {
        let bytes = codec::encode(&pm, Format::Json).expect("encode");
        let agree = |b: &[u8]| {
            let fast = codec::decode_protocol_message(b, Format::Json).ok();
            let slow = codec::decode_json_via_serde(b).ok();
            (fast, slow)
        };
        let (fast, slow) = agree(&bytes);
        prop_assert_eq!(&fast, &slow);
        prop_assert_eq!(fast.as_ref(), Some(&pm));
        // Damaged frames: both paths accept or refuse alike.
        let (fast, slow) = agree(&bytes[..cut.index(bytes.len())]);
        prop_assert_eq!(fast, slow);
        let mut damaged = bytes.clone();
        let at = flip.0.index(damaged.len());
        damaged[at] ^= flip.1;
        let (fast, slow) = agree(&damaged);
        prop_assert_eq!(fast, slow);
    }

    #[test]
    fn transcoding_keeps_data_kinds_apart(pm in protocol_message()) {
        // JSON -> MessagePack -> JSON, and the reverse.
        let via_msgpack = round_trip(&round_trip(&pm, Format::Json), Format::MsgPack);
        prop_assert_eq!(&via_msgpack, &pm);
        let via_json = round_trip(&round_trip(&pm, Format::MsgPack), Format::Json);
        prop_assert_eq!(&via_json, &pm);
    }
}

#[test]
fn string_binary_and_json_stay_apart_across_formats() {
    let mut pm = ProtocolMessage::for_channel(Action::Message, "c");
    pm.messages = vec![
        Message::new("s", "3q2+7w=="),
        Message::new("b", vec![0xde, 0xad, 0xbe, 0xef]),
        Message::new("j", serde_json::json!({"a": 1})),
    ];
    let json = codec::encode(&pm, Format::Json).expect("encode");
    let text = String::from_utf8(json.clone()).expect("utf-8");
    assert!(
        text.contains(r#""name":"b","encoding":"base64","data":"3q2+7w==""#),
        "{text}"
    );
    assert!(text.contains(r#""name":"s","data":"3q2+7w==""#), "{text}");
    let back = codec::decode_protocol_message(&json, Format::Json).expect("decode");
    let back = codec::decode_protocol_message(
        &codec::encode(&back, Format::MsgPack).expect("encode"),
        Format::MsgPack,
    )
    .expect("decode");
    assert_eq!(back.messages[0].data, Data::from("3q2+7w=="));
    assert_eq!(
        back.messages[1].data,
        Data::from(vec![0xde, 0xad, 0xbe, 0xef])
    );
    assert_eq!(back.messages[1].encoding, None);
    assert_eq!(
        back.messages[2].data,
        Data::json(serde_json::json!({"a": 1}))
    );
}

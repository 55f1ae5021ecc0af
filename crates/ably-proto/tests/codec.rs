//! Decoding rules: unknown values survive, unknown fields are ignored, wrong
//! types name the field, and other SDKs' number forms are accepted.

use ably_proto::codec::{self, Format};
use ably_proto::{Action, Data, Flags, ProtocolMessage};

fn msgpack(value: &rmpv::Value) -> Vec<u8> {
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, value).expect("write");
    out
}

fn map(entries: Vec<(&str, rmpv::Value)>) -> rmpv::Value {
    rmpv::Value::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
}

#[test]
fn unknown_actions_and_flag_bits_survive_a_round_trip_tr2_tr3() {
    let frame = br#"{"action":42,"flags":1099511627780}"#;
    for format in [Format::Json, Format::MsgPack] {
        let pm = codec::decode_protocol_message(frame, Format::Json).expect("decode");
        assert_eq!(pm.action, Action::Unknown(42));
        assert!(pm.flags.contains(Flags::RESUMED));
        let again =
            codec::decode_protocol_message(&codec::encode(&pm, format).expect("encode"), format)
                .expect("decode");
        assert_eq!(again.action.number(), 42);
        assert_eq!(again.flags, Flags((1 << 40) | 4));
    }
}

#[test]
fn unknown_fields_are_ignored() {
    let frame = br#"{"action":4,"connectionId":"c1","someFutureField":{"x":[1,2]},
        "connectionDetails":{"connectionKey":"k","newLimit":5,"maxIdleInterval":15000},
        "messages":[{"name":"n","futureMessageField":true}]}"#;
    let pm = codec::decode_protocol_message(frame, Format::Json).expect("decode");
    assert_eq!(pm.action, Action::Connected);
    let details = pm.connection_details.expect("details");
    assert_eq!(details.connection_key.as_deref(), Some("k"));
    assert_eq!(details.max_idle_interval, Some(15000));
    assert_eq!(pm.messages[0].name.as_deref(), Some("n"));

    let frame = msgpack(&map(vec![
        ("action", 15.into()),
        ("unknown", rmpv::Value::Binary(vec![1, 2, 3])),
        (
            "messages",
            rmpv::Value::Array(vec![map(vec![("data", rmpv::Value::Binary(vec![9]))])]),
        ),
    ]));
    let pm = codec::decode_protocol_message(&frame, Format::MsgPack).expect("decode");
    assert_eq!(pm.messages[0].data, Data::from(vec![9]));
}

#[test]
fn wrong_types_name_the_field() {
    let cases: [(&[u8], &str); 4] = [
        (br#"{"action":"fifteen"}"#, "action"),
        (
            br#"{"action":15,"messages":[{"timestamp":"soon"}]}"#,
            "messages[0].timestamp",
        ),
        (
            br#"{"action":4,"connectionDetails":{"maxMessageSize":-1}}"#,
            "connectionDetails.maxMessageSize",
        ),
        (
            br#"{"action":9,"error":{"code":40000,"statusCode":"bad"}}"#,
            "error.statusCode",
        ),
    ];
    for (frame, path) in cases {
        let err = codec::decode_protocol_message(frame, Format::Json).unwrap_err();
        assert_eq!(err.path, path, "{err}");
        let info = err.to_error_info();
        assert_eq!((info.code, info.status_code), (80013, Some(400)));
        assert!(info.message.contains(path), "{info}");
    }
    let frame = msgpack(&map(vec![("action", 15.into()), ("msgSerial", "x".into())]));
    let err = codec::decode_protocol_message(&frame, Format::MsgPack).unwrap_err();
    assert_eq!(err.path, "msgSerial", "{err}");
}

#[test]
fn garbage_and_trailing_bytes_are_errors() {
    for format in [Format::Json, Format::MsgPack] {
        for bad in [&b""[..], b"\xff\xff", b"[1,2", b"null", b"\x93\x01\x02\x03"] {
            assert!(
                codec::decode_protocol_message(bad, format).is_err(),
                "{format} {bad:?}"
            );
        }
    }
    assert!(codec::decode_protocol_message(br#"{"action":0} x"#, Format::Json).is_err());
    let mut frame = msgpack(&map(vec![("action", 0.into())]));
    frame.push(0xc0);
    let err = codec::decode_protocol_message(&frame, Format::MsgPack).unwrap_err();
    assert!(err.message.contains("trailing"), "{err}");
}

#[test]
fn integral_floats_and_nulls_are_accepted() {
    // Some SDKs write every number above 2^32 as a MessagePack float64.
    let frame = msgpack(&map(vec![
        ("action", rmpv::Value::F64(15.0)),
        ("timestamp", rmpv::Value::F64(1_700_000_000_123.0)),
        ("msgSerial", rmpv::Value::F32(3.0)),
        ("presence", rmpv::Value::Nil),
    ]));
    let pm = codec::decode_protocol_message(&frame, Format::MsgPack).expect("decode");
    assert_eq!(pm.action, Action::Message);
    assert_eq!(pm.timestamp, Some(1_700_000_000_123));
    assert_eq!(pm.msg_serial, Some(3));
    assert!(pm.presence.is_empty());

    let err = codec::decode_protocol_message(br#"{"action":1.5}"#, Format::Json).unwrap_err();
    assert_eq!(err.path, "action");
}

#[test]
fn inherited_fields_are_filled_tm2a_tm2c_tm2f() {
    let frame = br#"{"action":15,"id":"abc:7","connectionId":"abc","timestamp":99,
        "messages":[{"data":"x"},{"id":"own","connectionId":"other","timestamp":1}],
        "presence":[{"action":2,"clientId":"p"}]}"#;
    let mut pm: ProtocolMessage =
        codec::decode_protocol_message(frame, Format::Json).expect("decode");
    pm.fill_inherited_fields();
    let m = &pm.messages;
    assert_eq!(
        (
            m[0].id.as_deref(),
            m[0].connection_id.as_deref(),
            m[0].timestamp
        ),
        (Some("abc:7:0"), Some("abc"), Some(99))
    );
    assert_eq!(
        (
            m[1].id.as_deref(),
            m[1].connection_id.as_deref(),
            m[1].timestamp
        ),
        (Some("own"), Some("other"), Some(1))
    );
    let p = &pm.presence[0];
    assert_eq!(
        (p.id.as_deref(), p.connection_id.as_deref(), p.timestamp),
        (Some("abc:7:0"), Some("abc"), Some(99))
    );
    assert_eq!(p.member_key(), "abc:p");
}

#[test]
fn json_output_is_compact_utf8_with_camel_case_fields() {
    let mut pm = ProtocolMessage::for_channel(Action::Attach, "chat");
    pm.flags = Flags::PRESENCE | Flags::SUBSCRIBE;
    pm.channel_serial = Some("s1".into());
    let bytes = codec::encode(&pm, Format::Json).expect("encode");
    assert_eq!(
        String::from_utf8(bytes).expect("utf-8"),
        r#"{"action":10,"flags":327680,"channel":"chat","channelSerial":"s1"}"#
    );
}

#[test]
fn message_lists_take_the_room_they_need() {
    // One message gets room for one (not the four a growing list starts
    // with): for items this large, room for four is a size that the
    // allocator serves only after merging its free chunks.
    for format in [Format::Json, Format::MsgPack] {
        let mut pm = ProtocolMessage::for_channel(Action::Message, "ch");
        pm.messages = vec![ably_proto::Message::new("tick", "data")];
        let frame = codec::encode(&pm, format).expect("encode");
        let decoded = codec::decode_protocol_message(&frame, format).expect("decode");
        assert_eq!(decoded.messages, pm.messages, "{format}");
        assert_eq!(decoded.messages.capacity(), 1, "{format}");

        pm.messages = (0..5)
            .map(|i| ably_proto::Message::new("tick", format!("data {i}")))
            .collect();
        let frame = codec::encode(&pm, format).expect("encode");
        let decoded = codec::decode_protocol_message(&frame, format).expect("decode");
        assert_eq!(decoded.messages, pm.messages, "{format}");
    }
}

#[test]
fn a_list_longer_than_its_frame_is_refused() {
    // A MessagePack array header claiming 2^32 - 1 messages, with none
    // following: an error, not an allocation of that size.
    let mut frame = msgpack(&map(vec![("action", rmpv::Value::from(15))]));
    frame[0] += 1; // one more entry in the map
    frame.extend_from_slice(&[0xa8]);
    frame.extend_from_slice(b"messages");
    frame.extend_from_slice(&[0xdd, 0xff, 0xff, 0xff, 0xff]);
    let err = codec::decode_protocol_message(&frame, Format::MsgPack).unwrap_err();
    assert_eq!(err.to_error_info().code, 80013);
}

//! The shared interoperability vectors from ably-common (RSL5c, RSL6a1,
//! RSL6a3). They live in `../shared/ably-common/` beside the repo; set
//! `ABLY_COMMON_DIR` to use another copy. A missing file fails the test.

use std::path::PathBuf;

use ably_proto::codec::{self, Format};
use ably_proto::rand_core::{self, RngCore};
use ably_proto::{CipherParams, Data, Message, PresenceAction, PresenceMessage, ProtocolMessage};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

fn vector(name: &str) -> Value {
    let dir = std::env::var_os("ABLY_COMMON_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ably-common"),
        PathBuf::from,
    );
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read vector file {}: {e}", path.display()));
    serde_json::from_str(&text).expect("vector file is JSON")
}

/// An RNG that yields the vector file's fixed IV.
struct FixedIv(Vec<u8>);

impl RngCore for FixedIv {
    fn next_u32(&mut self) -> u32 {
        unimplemented!("only fill_bytes is used for IVs")
    }
    fn next_u64(&mut self) -> u64 {
        unimplemented!("only fill_bytes is used for IVs")
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        dest.copy_from_slice(&self.0);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

fn message_from_json(v: &Value) -> Message {
    codec::decode(&serde_json::to_vec(v).expect("json"), Format::Json).expect("decode message")
}

fn fully_decoded(mut m: Message, cipher: Option<&CipherParams>) -> Message {
    m.decode(cipher).expect("payload decodes");
    assert_eq!(m.encoding, None);
    m
}

/// A MessagePack map with its entries sorted by key, for comparing maps
/// whose key order differs.
fn sorted_msgpack_map(bytes: &[u8]) -> Vec<(String, rmpv::Value)> {
    let value = rmpv::decode::read_value(&mut &bytes[..]).expect("msgpack value");
    let rmpv::Value::Map(entries) = value else {
        panic!("not a map: {value}")
    };
    let mut entries: Vec<(String, rmpv::Value)> = entries
        .into_iter()
        .map(|(k, v)| (k.as_str().expect("string key").to_owned(), v))
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries
}

fn check_crypto_file(file: &str, key_bits: usize) {
    let v = vector(file);
    assert_eq!(v["keylength"], json!(key_bits));
    let cipher = CipherParams::from_base64_key(v["key"].as_str().expect("key")).expect("cipher");
    assert_eq!(cipher.key_length(), key_bits);
    let iv = BASE64
        .decode(v["iv"].as_str().expect("iv"))
        .expect("iv base64");
    let items = v["items"].as_array().expect("items");
    assert!(!items.is_empty());
    for (i, item) in items.iter().enumerate() {
        let expected_msgpack = BASE64
            .decode(item["msgpack"].as_str().expect("msgpack"))
            .expect("msgpack base64");

        // Encrypting the encoded form with the fixed IV gives the encrypted
        // form exactly: in JSON as a value, in MessagePack as the same map
        // with the same types (bin stays bin, str stays str). The vector
        // files list keys in varying order, so key order is not compared.
        let mut m = message_from_json(&item["encoded"]);
        m.encode(Some(&cipher), &mut FixedIv(iv.clone()))
            .expect("encrypt");
        let as_json: Value =
            serde_json::from_slice(&codec::encode(&m, Format::Json).expect("encode json"))
                .expect("json");
        assert_eq!(as_json, item["encrypted"], "{file} item {i}: JSON form");
        let as_msgpack = codec::encode(&m, Format::MsgPack).expect("encode msgpack");
        assert_eq!(
            sorted_msgpack_map(&as_msgpack),
            sorted_msgpack_map(&expected_msgpack),
            "{file} item {i}: MessagePack form"
        );

        // Decrypting the encrypted form, from JSON or from MessagePack,
        // gives what the encoded form decodes to.
        let plain = fully_decoded(message_from_json(&item["encoded"]), None);
        let from_json = fully_decoded(message_from_json(&item["encrypted"]), Some(&cipher));
        assert_eq!(from_json, plain, "{file} item {i}: decrypt from JSON");
        let from_msgpack: Message =
            codec::decode(&expected_msgpack, Format::MsgPack).expect("msgpack");
        let from_msgpack = fully_decoded(from_msgpack, Some(&cipher));
        assert_eq!(
            from_msgpack, plain,
            "{file} item {i}: decrypt from MessagePack"
        );
    }
}

#[test]
fn crypto_data_128_rsl5c() {
    check_crypto_file("crypto-data-128.json", 128);
}

#[test]
fn crypto_data_256_rsl5c() {
    check_crypto_file("crypto-data-256.json", 256);
}

/// The value a vector expects, as our Data.
fn expected_data(item: &Value) -> Data {
    match item["expectedType"].as_str().expect("expectedType") {
        "string" => Data::String(item["expectedValue"].as_str().expect("string").to_owned()),
        "jsonObject" | "jsonArray" => Data::json(item["expectedValue"].clone()),
        "binary" => {
            let hex = item["expectedHexValue"].as_str().expect("hex");
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digit"))
                .collect::<Vec<u8>>();
            Data::from(bytes)
        }
        other => panic!("unknown expectedType {other}"),
    }
}

/// Writes a MessagePack map of data and encoding, as another SDK would send.
fn msgpack_payload(item: &Value) -> Vec<u8> {
    let mut map = vec![(
        rmpv::Value::from("data"),
        rmpv::Value::from(item["data"].as_str().expect("data")),
    )];
    if let Some(enc) = item["encoding"].as_str() {
        map.push((rmpv::Value::from("encoding"), rmpv::Value::from(enc)));
    }
    if let Some(action) = item["action"].as_u64() {
        map.push((rmpv::Value::from("action"), rmpv::Value::from(action)));
    }
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, &rmpv::Value::Map(map)).expect("write msgpack");
    out
}

#[test]
fn messages_encoding_rsl6a1() {
    let v = vector("messages-encoding.json");
    let items = v["messages"].as_array().expect("messages");
    assert_eq!(items.len(), 5);
    for item in items {
        let expected = expected_data(item);
        let wire = json!({"data": item["data"], "encoding": item["encoding"]});

        // Received as JSON, and as MessagePack from another SDK.
        let from_json = fully_decoded(message_from_json(&wire), None);
        assert_eq!(from_json.data, expected, "JSON: {item}");
        let from_msgpack: Message =
            codec::decode(&msgpack_payload(item), Format::MsgPack).expect("msgpack");
        assert_eq!(
            fully_decoded(from_msgpack, None).data,
            expected,
            "MessagePack: {item}"
        );

        // Sent again, it is encoded the same way.
        let mut again = Message {
            data: expected.clone(),
            ..Message::default()
        };
        again
            .encode(None, &mut FixedIv(vec![0; 16]))
            .expect("encode");
        let sent: Value =
            serde_json::from_slice(&codec::encode(&again, Format::Json).expect("encode"))
                .expect("json");
        assert_eq!(
            sent.get("encoding").cloned().unwrap_or(Value::Null),
            item["encoding"],
            "{item}"
        );
        if let Data::Json(value) = &expected {
            let text = sent["data"].as_str().expect("json text");
            assert_eq!(&serde_json::from_str::<Value>(text).expect("json"), value);
        } else {
            assert_eq!(sent["data"], item["data"], "{item}");
        }
    }
}

#[test]
fn presence_messages_encoding_rsl6a1() {
    let v = vector("presence-messages-encoding.json");
    let items = v["messages"].as_array().expect("messages");
    assert_eq!(items.len(), 5);
    for item in items {
        let expected = expected_data(item);
        let action = PresenceAction::from_number(item["action"].as_u64().expect("action"));
        let wire =
            json!({"data": item["data"], "encoding": item["encoding"], "action": item["action"]});
        let mut p: PresenceMessage =
            codec::decode(&serde_json::to_vec(&wire).expect("json"), Format::Json).expect("decode");
        p.decode(None).expect("payload");
        assert_eq!(
            (p.action, &p.data, &p.encoding),
            (action, &expected, &None),
            "{item}"
        );

        let mut p: PresenceMessage =
            codec::decode(&msgpack_payload(item), Format::MsgPack).expect("msgpack");
        p.decode(None).expect("payload");
        assert_eq!((p.action, &p.data), (action, &expected), "{item}");
    }
}

#[test]
fn msgpack_fixtures_rsl6a3() {
    let v = vector("msgpack_test_fixtures.json");
    let items = v.as_array().expect("fixtures");
    assert!(items.len() >= 8);
    for item in items {
        let name = item["name"].as_str().expect("name");
        let bytes = BASE64
            .decode(item["msgpack"].as_str().expect("msgpack"))
            .expect("base64");
        let mut pm: ProtocolMessage =
            codec::decode(&bytes, Format::MsgPack).expect("decode fixture");
        assert_eq!(pm.msg_serial, Some(0), "{name}");
        assert_eq!(pm.messages.len(), 1, "{name}");
        let repeat = item["numRepeat"].as_u64().expect("numRepeat") as usize;
        let expected = match item["type"].as_str().expect("type") {
            "string" => Data::String(item["data"].as_str().expect("data").repeat(repeat)),
            "binary" => Data::from(
                item["data"]
                    .as_str()
                    .expect("data")
                    .repeat(repeat)
                    .into_bytes(),
            ),
            "jsonObject" | "jsonArray" => Data::json(item["data"].clone()),
            other => panic!("unknown type {other}"),
        };
        let msg = &mut pm.messages[0];
        msg.decode(None).expect("payload");
        assert_eq!(msg.data, expected, "{name}");

        // Our own encoding of the decoded message reads back the same in
        // both formats: binary as MessagePack bin, or base64 in JSON.
        let mut out = Message {
            data: expected.clone(),
            ..Message::default()
        };
        out.encode(None, &mut FixedIv(vec![0; 16])).expect("encode");
        for format in [Format::Json, Format::MsgPack] {
            let mut back: Message =
                codec::decode(&codec::encode(&out, format).expect("encode"), format)
                    .expect("decode");
            back.decode(None).expect("payload");
            assert_eq!(back.data, expected, "{name} via {format}");
        }
    }
}

//! Checks run by the fuzz targets in `fuzz/` and replayed over their seed
//! corpus by `tests/fuzz_corpus.rs`, so that plain `cargo test` on stable
//! Rust guards every input the fuzzers have kept.
//!
//! Each function takes arbitrary bytes, runs the code under test and checks
//! invariants. It returns normally for any input the code handles correctly
//! (including inputs it rightly refuses) and panics only when an invariant
//! is broken: that panic is the fuzzer's signal.
//!
//! Not part of the public API.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use rand_core::RngCore;

use crate::ErrorInfo;
use crate::codec::{self, Format};
use crate::crypto::CipherParams;
use crate::encoding;
use crate::error::codes;
use crate::wire::{Data, ProtocolMessage};

/// The fixed 128-bit key of the checks.
const KEY_128: [u8; 16] = *b"fuzz-key-128-bit";
/// The fixed 256-bit key of the checks.
const KEY_256: [u8; 32] = *b"fuzz-key-256-bit-fuzz-key-256bit";
/// The fixed IV used when the checks build encrypted payloads.
const IV: [u8; 16] = *b"fixed-iv-for-fuz";

/// The steps the payload check picks from, by `byte % STEPS.len()`.
///
/// Public so that corpus generators can name steps by index.
pub const STEPS: [&str; 10] = [
    "base64",
    "utf-8",
    "utf8",
    "json",
    "cipher+aes-128-cbc",
    "cipher+aes-256-cbc",
    "vcdiff",
    "",
    "x-custom",
    "cipher+aes-192-cbc",
];

/// No cipher, the fixed 128-bit cipher, the fixed 256-bit cipher.
fn ciphers() -> [Option<CipherParams>; 3] {
    [
        None,
        Some(CipherParams::from_key(&KEY_128).expect("a 128-bit key is valid")),
        Some(CipherParams::from_key(&KEY_256).expect("a 256-bit key is valid")),
    ]
}

/// Decodes `bytes` as a JSON ProtocolMessage frame and checks it; see
/// [`decode_frame_msgpack`].
pub fn decode_frame_json(bytes: &[u8]) {
    // The fast reader and serde agree on every input.
    let fast = codec::decode_protocol_message(bytes, Format::Json).ok();
    let slow = codec::decode_json_via_serde(bytes).ok();
    assert!(
        fast == slow || same_with_nan(&fast, &slow),
        "fast and serde JSON decoders disagree"
    );
    check_boxed_decode(bytes, Format::Json, &fast);
    decode_frame(bytes, Format::Json);
}

/// Decodes `bytes` as a MessagePack ProtocolMessage frame and checks it.
///
/// Invariants, when the frame decodes:
/// - re-encoding in the same format succeeds, decodes to an equal frame, and
///   encoding that frame again gives the same bytes;
/// - re-encoding in the other format succeeds and decodes to an equal frame
///   (from MessagePack to JSON, only when the frame holds nothing JSON
///   cannot carry, see [`json_can_carry`]);
/// - [`ProtocolMessage::fill_inherited_fields`] fills what it promises, and
///   decoding the payload of every message and presence message, with no
///   cipher and with either fixed cipher, keeps the RSL6b guarantees (see
///   [`decode_payload`]).
///
/// When it does not decode, the error converts to an 80013 [`ErrorInfo`].
pub fn decode_frame_msgpack(bytes: &[u8]) {
    // The fast reader and serde agree on every input: same frame or both
    // refuse.
    let fast = codec::decode_protocol_message(bytes, Format::MsgPack).ok();
    let slow = codec::decode_msgpack_via_serde(bytes).ok();
    assert!(
        fast == slow || (fast.is_some() && slow.is_some() && same_with_nan(&fast, &slow)),
        "fast and serde MessagePack decoders disagree"
    );
    check_boxed_decode(bytes, Format::MsgPack, &fast);
    decode_frame(bytes, Format::MsgPack);
}

/// The client's decoders (`decode_received` and its boxed form, which may
/// decode `json` payloads as they read the frame) give the same frame as
/// the plain decoder followed by the payload decode (RSL6), in a new box or
/// in the reused box of an earlier frame.
fn check_boxed_decode(bytes: &[u8], format: Format, plain: &Option<ProtocolMessage>) {
    let delivered = |pm: Option<ProtocolMessage>| {
        pm.map(|mut pm| {
            for m in &mut pm.messages {
                let _ = m.decode(None);
            }
            for p in &mut pm.presence {
                let _ = p.decode(None);
            }
            pm
        })
    };
    let expected = delivered(plain.clone());
    let received = delivered(codec::decode_received(bytes, format).ok());
    assert!(
        received == expected || same_with_nan(&received, &expected),
        "decode_received and the plain {format} decoder disagree"
    );
    let mut earlier = ProtocolMessage::for_channel(crate::Action::Message, "earlier");
    earlier.id = Some("earlier:0".into());
    earlier.msg_serial = Some(7);
    earlier.messages = vec![crate::Message::new("name", "data")];
    for spare in [None, Some(Box::new(earlier))] {
        let boxed = codec::decode_protocol_message_boxed(bytes, format, spare)
            .ok()
            .map(|pm| *pm);
        let boxed = delivered(boxed);
        assert!(
            boxed == expected || same_with_nan(&boxed, &expected),
            "the boxed and plain {format} decoders disagree"
        );
    }
}

/// Equal, except that NaN floats in opaque values compare equal.
fn same_with_nan(a: &Option<crate::ProtocolMessage>, b: &Option<crate::ProtocolMessage>) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

fn decode_frame(bytes: &[u8], format: Format) {
    let first = match codec::decode_protocol_message(bytes, format) {
        Ok(pm) => pm,
        Err(e) => {
            assert_eq!(e.direction, "decode");
            assert_eq!(e.to_error_info().code, codes::PROTOCOL_ERROR);
            return;
        }
    };

    // Same format: the decoded frame is a fixed point.
    let encoded = codec::encode(&first, format)
        .unwrap_or_else(|e| panic!("re-encoding a decoded {format} frame failed: {e}\n{first:?}"));
    let second = codec::decode_protocol_message(&encoded, format).unwrap_or_else(|e| {
        panic!("a re-encoded {format} frame does not decode: {e}\n{first:?}\n{encoded:?}")
    });
    assert!(
        same_frame(&first, &second),
        "{format} round trip changed the frame\nfirst:  {first:?}\nsecond: {second:?}"
    );
    let again = codec::encode(&second, format)
        .unwrap_or_else(|e| panic!("re-encoding a decoded {format} frame failed: {e}\n{second:?}"));
    assert!(
        again == encoded,
        "{format} encoding is not stable\nfirst:  {encoded:?}\nsecond: {again:?}"
    );

    // Other format.
    let other = match format {
        Format::Json => Format::MsgPack,
        Format::MsgPack => Format::Json,
    };
    let strict = format == Format::Json || json_can_carry(&first);
    match codec::encode(&first, other) {
        Ok(transcoded) => match codec::decode_protocol_message(&transcoded, other) {
            Ok(third) => assert!(
                !strict || same_frame(&first, &third),
                "{format} -> {other} changed the frame\nfirst: {first:?}\nthird: {third:?}"
            ),
            // JSON nests at most 128 deep; MessagePack 1024.
            Err(e) if other == Format::Json && e.message.contains("recursion limit") => {}
            Err(e) => assert!(
                !strict,
                "a frame transcoded {format} -> {other} does not decode: {e}\n{first:?}"
            ),
        },
        Err(e) => assert!(
            !strict,
            "transcoding a frame {format} -> {other} failed: {e}\n{first:?}"
        ),
    }

    check_received_payloads(first);
}

/// What a receiver does with a decoded frame: fill inherited fields, then
/// decode every payload.
fn check_received_payloads(mut pm: ProtocolMessage) {
    // Taking the frame's connectionId instead of copying it changes only
    // the frame, never what the messages inherit.
    let mut taken = pm.clone();
    taken.take_inherited_fields();
    pm.fill_inherited_fields();
    assert!(
        format!("{:?}{:?}", taken.messages, taken.presence)
            == format!("{:?}{:?}", pm.messages, pm.presence),
        "take_inherited_fields and fill_inherited_fields disagree"
    );
    for m in &pm.messages {
        assert!(pm.id.is_none() || m.id.is_some(), "TM2a: id not filled");
        assert!(pm.connection_id.is_none() || m.connection_id.is_some());
        assert!(pm.timestamp.is_none() || m.timestamp.is_some());
    }
    for p in &pm.presence {
        assert!(pm.id.is_none() || p.id.is_some(), "TP3a: id not filled");
        assert!(pm.connection_id.is_none() || p.connection_id.is_some());
        assert!(pm.timestamp.is_none() || p.timestamp.is_some());
    }
    for cipher in ciphers() {
        for m in &pm.messages {
            let mut decoded = m.clone();
            let result = decoded.decode(cipher.as_ref());
            check_decode_outcome(
                &m.data,
                &m.encoding,
                cipher.as_ref(),
                &decoded.data,
                &decoded.encoding,
                &result,
            );
            // Message::decode touches only data and encoding.
            decoded.data = m.data.clone();
            decoded.encoding = m.encoding.clone();
            assert!(
                decoded == *m,
                "Message::decode changed more than the payload"
            );
        }
        for p in &pm.presence {
            let mut decoded = p.clone();
            let result = decoded.decode(cipher.as_ref());
            check_decode_outcome(
                &p.data,
                &p.encoding,
                cipher.as_ref(),
                &decoded.data,
                &decoded.encoding,
                &result,
            );
            decoded.data = p.data.clone();
            decoded.encoding = p.encoding.clone();
            assert!(
                decoded == *p,
                "PresenceMessage::decode changed more than the payload"
            );
        }
    }
}

/// Whether two frames are equal, counting NaN floats in the opaque
/// MessagePack values as equal to themselves.
fn same_frame(a: &ProtocolMessage, b: &ProtocolMessage) -> bool {
    let without_opaque = |pm: &ProtocolMessage| ProtocolMessage {
        annotations: Vec::new(),
        state: Vec::new(),
        ..pm.clone()
    };
    without_opaque(a) == without_opaque(b)
        && same_values(&a.annotations, &b.annotations)
        && same_values(&a.state, &b.state)
}

fn same_values(a: &[rmpv::Value], b: &[rmpv::Value]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_value(x, y))
}

fn same_value(a: &rmpv::Value, b: &rmpv::Value) -> bool {
    use rmpv::Value as V;
    match (a, b) {
        (V::F32(x), V::F32(y)) => x == y || (x.is_nan() && y.is_nan()),
        (V::F64(x), V::F64(y)) => x == y || (x.is_nan() && y.is_nan()),
        (V::Array(x), V::Array(y)) => same_values(x, y),
        (V::Map(x), V::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((k1, v1), (k2, v2))| same_value(k1, k2) && same_value(v1, v2))
        }
        _ => a == b,
    }
}

/// Whether JSON can carry a frame decoded from MessagePack unchanged.
///
/// Every typed field can. The opaque `annotations` and `state` values are
/// kept as MessagePack values, and JSON has no binary, no extension types,
/// no 32-bit floats (they come back as 64-bit), no NaN or infinity (they
/// become `null`) and only string map keys; frames holding any of those
/// legitimately change when transcoded to JSON.
pub fn json_can_carry(pm: &ProtocolMessage) -> bool {
    fn carries(v: &rmpv::Value) -> bool {
        use rmpv::Value as V;
        match v {
            V::Nil | V::Boolean(_) | V::Integer(_) => true,
            V::F64(f) => f.is_finite(),
            V::String(s) => s.is_str(),
            V::Array(items) => items.iter().all(carries),
            V::Map(entries) => entries
                .iter()
                .all(|(k, v)| matches!(k, V::String(s) if s.is_str()) && carries(v)),
            V::F32(_) | V::Binary(_) | V::Ext(..) => false,
        }
    }
    pm.annotations.iter().all(carries) && pm.state.iter().all(carries)
}

/// Decodes a payload built from `bytes` and checks it.
///
/// Layout: a header byte, then step bytes, then the data.
/// - header bits 0-1, the data: 0 a string (the rest, lossy UTF-8), 1
///   binary, 2 JSON (the rest parsed as JSON, else a string), 3 none;
/// - header bit 2: build mode (below) instead of raw mode;
/// - header bit 3 (raw mode): no `encoding` at all;
/// - header bits 4-7: the number of step bytes `n`; each names
///   [`STEPS`]`[byte % 10]`. In raw mode, `n = 15` means instead that the
///   encoding is the text up to the first zero byte, the data after it.
///
/// Raw mode decodes the data with that encoding (RSL6) with no cipher and
/// with each fixed cipher. Invariants: on success `encoding` is `None`
/// (unless there is no data, when nothing changes); on failure the error is
/// 40013 or 40018, `encoding` is the original with steps removed only from
/// the right, the data is exactly what decoding the removed steps alone
/// gives (RSL6b), and decoding again fails the same way without change.
///
/// Build mode applies the steps forwards, skipping those that do not fit
/// the data (base64 on binary, utf-8 on a string, json on JSON data, a
/// cipher on binary), so the payload is valid. Decoding it must then give
/// back the original data exactly when the decoding cipher matches every
/// cipher step, and otherwise stop at the rightmost cipher step it cannot
/// undo. [`encoding::encode_payload`] followed by decoding with the same
/// cipher must also give back the original data (or refuse it up front:
/// RSL4a numbers and booleans).
///
/// Also, whatever the header: the JSON check of the `json` step
/// ([`crate::Json::from_text`]) accepts the data bytes, as text, exactly
/// when serde_json parses them, and gives the same value.
pub fn decode_payload(bytes: &[u8]) {
    let Some((&header, rest)) = bytes.split_first() else {
        return;
    };
    if let Ok(text) = std::str::from_utf8(rest) {
        check_json_text(text);
    }
    let kind = header & 0b11;
    let build = header & 0b100 != 0;
    let no_encoding = header & 0b1000 != 0;
    let n = usize::from(header >> 4);

    if !build && n == 15 {
        let (text, data) = match rest.iter().position(|&b| b == 0) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &[][..]),
        };
        let encoding = Some(String::from_utf8_lossy(text).into_owned());
        let data = make_data(kind, data);
        for cipher in ciphers() {
            let _ = check_decode(&data, &encoding, cipher.as_ref());
        }
        return;
    }

    let (step_bytes, data) = rest.split_at(n.min(rest.len()));
    let steps: Vec<&str> = step_bytes
        .iter()
        .map(|&b| STEPS[usize::from(b) % STEPS.len()])
        .collect();
    let data = make_data(kind, data);
    if build {
        check_built_payload(data, &steps);
    } else {
        let encoding = (!no_encoding).then(|| steps.join("/"));
        for cipher in ciphers() {
            let _ = check_decode(&data, &encoding, cipher.as_ref());
        }
    }
}

/// The lazy JSON payload agrees with serde_json on `text`: accepted
/// exactly when serde_json parses it, to the same value.
fn check_json_text(text: &str) {
    let parsed = serde_json::from_str::<serde_json::Value>(text).ok();
    match (crate::Json::from_text(text), parsed) {
        (Ok(json), Some(value)) => assert!(
            *json.value() == value,
            "the lazy JSON payload parses {text:?} differently"
        ),
        (Err(_), None) => {}
        (lazy, parsed) => panic!(
            "the JSON check and serde_json disagree on {text:?}: {:?} vs {}",
            lazy.err(),
            if parsed.is_some() {
                "parsed"
            } else {
                "refused"
            }
        ),
    }
}

fn make_data(kind: u8, bytes: &[u8]) -> Data {
    match kind {
        0 => Data::String(String::from_utf8_lossy(bytes).into_owned()),
        1 => Data::Binary(Bytes::copy_from_slice(bytes)),
        2 => match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(v) => Data::from(v),
            Err(_) => Data::String(String::from_utf8_lossy(bytes).into_owned()),
        },
        _ => Data::None,
    }
}

fn check_built_payload(original: Data, steps: &[&str]) {
    let [_, c128, c256] = ciphers();
    let (c128, c256) = (
        c128.expect("the 128-bit cipher"),
        c256.expect("the 256-bit cipher"),
    );
    let mut data = original.clone();
    let mut applied: Vec<&str> = Vec::new();
    for &step in steps {
        data = match (step, &data) {
            ("base64", Data::Binary(b)) => Data::String(BASE64.encode(b)),
            ("utf-8" | "utf8", Data::String(s)) => {
                Data::Binary(Bytes::from(s.clone().into_bytes()))
            }
            ("json", Data::Json(v)) => {
                Data::String(serde_json::to_string(v).expect("a JSON value serializes"))
            }
            ("cipher+aes-128-cbc", Data::Binary(b)) => {
                Data::Binary(Bytes::from(c128.encrypt_with_iv(b, &IV)))
            }
            ("cipher+aes-256-cbc", Data::Binary(b)) => {
                Data::Binary(Bytes::from(c256.encrypt_with_iv(b, &IV)))
            }
            _ => continue,
        };
        applied.push(step);
    }
    let encoding = (!applied.is_empty()).then(|| applied.join("/"));

    for cipher in ciphers() {
        let (decoded, remaining, result) = check_decode(&data, &encoding, cipher.as_ref());
        let usable = cipher.as_ref().map(CipherParams::encoding_step);
        let blocker = applied
            .iter()
            .rposition(|s| s.starts_with("cipher+") && Some(*s) != usable);
        match blocker {
            None => {
                assert!(
                    result.is_ok(),
                    "a valid payload failed to decode: {result:?}\nencoding {encoding:?}, cipher {cipher:?}"
                );
                assert!(
                    decoded == original,
                    "decoding did not undo encoding {encoding:?} (cipher {cipher:?})\noriginal {original:?}\ndecoded  {decoded:?}"
                );
            }
            Some(i) => {
                assert!(result.is_err(), "decrypted without the right cipher");
                assert_eq!(
                    remaining.as_deref(),
                    Some(applied[..=i].join("/").as_str()),
                    "decoding must stop at the cipher step it cannot undo"
                );
            }
        }

        // RSL4 then RSL6 with the same cipher is the identity.
        let mut encoded = original.clone();
        let mut enc = None;
        match encoding::encode_payload(&mut encoded, &mut enc, cipher.as_ref(), &mut CountingRng(0))
        {
            Ok(()) => {
                let (decoded, _, result) = check_decode(&encoded, &enc, cipher.as_ref());
                assert!(
                    result.is_ok() && decoded == original,
                    "encode_payload then decode_payload is not the identity: {result:?}\n\
                     original {original:?}\nencoded  {encoded:?} {enc:?}\ndecoded  {decoded:?}"
                );
            }
            Err(e) => {
                assert_eq!(e.code, codes::INVALID_DATA_OR_ENCODING);
                assert!(
                    matches!(&original, Data::Json(v) if !v.is_object() && !v.is_array()),
                    "encode_payload refused {original:?}: {e}"
                );
            }
        }
    }
}

/// Decodes a copy of `data` with `encoding` and checks the RSL6 guarantees;
/// returns the decoded data, the remaining encoding and the result.
fn check_decode(
    data: &Data,
    encoding: &Option<String>,
    cipher: Option<&CipherParams>,
) -> (Data, Option<String>, Result<(), ErrorInfo>) {
    let mut d = data.clone();
    let mut e = encoding.clone();
    let result = encoding::decode_payload(&mut d, &mut e, cipher);
    check_decode_outcome(data, encoding, cipher, &d, &e, &result);
    (d, e, result)
}

/// The invariants of one [`encoding::decode_payload`] call.
fn check_decode_outcome(
    data: &Data,
    encoding: &Option<String>,
    cipher: Option<&CipherParams>,
    decoded: &Data,
    remaining: &Option<String>,
    result: &Result<(), ErrorInfo>,
) {
    let err = match result {
        Ok(()) => {
            if data.is_none() {
                assert!(
                    decoded.is_none() && remaining == encoding,
                    "no data, nothing to change"
                );
            } else {
                assert!(
                    remaining.is_none(),
                    "decoding succeeded but left encoding {remaining:?} (from {encoding:?})"
                );
                assert!(!decoded.is_none(), "decoding lost the data");
            }
            // Text kept by the `json` step parses, to the value it gives.
            if let Data::Json(json) = decoded {
                if let Some(text) = json.text() {
                    check_json_text(text);
                }
            }
            return;
        }
        Err(err) => err,
    };
    assert!(
        matches!(
            err.code,
            codes::INVALID_DATA_OR_ENCODING | codes::DELTA_DECODING_FAILED
        ),
        "unexpected error code: {err}"
    );
    assert!(!data.is_none(), "no data, yet decoding failed: {err}");
    let original = encoding
        .as_deref()
        .unwrap_or_else(|| panic!("no encoding, yet decoding failed: {err}"));
    let left = remaining
        .as_deref()
        .unwrap_or_else(|| panic!("decoding failed ({err}) but the encoding is gone"));

    // RSL6b: steps are removed from the right only, and the data is what
    // decoding the removed steps alone gives.
    if left == original {
        assert!(decoded == data, "a failed first step changed the data");
    } else {
        let removed = original
            .strip_prefix(left)
            .and_then(|s| s.strip_prefix('/'))
            .unwrap_or_else(|| panic!("encoding {original:?} became {left:?}: not a prefix"));
        let mut d = data.clone();
        let mut e = Some(removed.to_owned());
        let r = encoding::decode_payload(&mut d, &mut e, cipher);
        assert!(
            r.is_ok() && e.is_none() && d == *decoded,
            "decoding the removed steps {removed:?} alone gives {r:?} {d:?}, not {decoded:?}"
        );
    }

    // Decoding what is left fails the same way and changes nothing.
    let mut d = decoded.clone();
    let mut e = remaining.clone();
    let again = encoding::decode_payload(&mut d, &mut e, cipher);
    assert!(
        again.as_ref().err() == Some(err) && d == *decoded && e == *remaining,
        "decoding the remainder again gives {again:?}, not the same error {err}"
    );
}

/// A deterministic RNG for the IVs of [`encoding::encode_payload`].
struct CountingRng(u8);

impl RngCore for CountingRng {
    fn next_u32(&mut self) -> u32 {
        u32::from_le_bytes([self.step(), self.step(), self.step(), self.step()])
    }

    fn next_u64(&mut self) -> u64 {
        u64::from(self.next_u32()) << 32 | u64::from(self.next_u32())
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        dest.iter_mut().for_each(|b| *b = self.step());
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CountingRng {
    fn step(&mut self) -> u8 {
        self.0 = self.0.wrapping_add(1);
        self.0
    }
}

// ---- client_reducer ------------------------------------------------------

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::client::{
    AuthResponse, ChannelState, Client, ClientOptions, Command, Completion, ConnectionState, Event,
    Generation, HttpResponse, INTERNAL_OP_BASE, Input, Instant, MAX_OUTSTANDING_FRAMES, Now, OpId,
    Output, PresenceQuery, PresenceRequest, RequestId, TokenSource, TransportEvent,
};
use crate::{Action, ChannelModes, ChannelOptions, ConnectionDetails, Flags, Message};
use crate::{PresenceAction, PresenceMessage};

/// The channels the reducer uses.
const CHANNELS: [&str; 3] = ["a", "b", "c"];
/// The clientIds of presence members.
const CLIENT_IDS: [&str; 3] = ["alice", "bob", "carol"];
/// At most this many steps per input, so that one input stays fast.
const MAX_STEPS: usize = 400;
/// At most this many consecutive `Input::Timeout`s at the same instant
/// before a deadline at or before `now` counts as a busy loop.
const MAX_REFIRES: usize = 8;

/// Drives the sans-IO client core ([`Client`]) with a script decoded from
/// `bytes` and checks its invariants after every step.
///
/// Layout: an options byte, a seed byte, then steps until the bytes run
/// out (at most `MAX_STEPS`); a byte that is missing reads as 0.
///
/// The options byte: bits 0-1 the credentials (0 a key; 1 a token string
/// with no means to renew; 2 an authCallback; 3 a key with useTokenAuth,
/// so tokens come from `requestToken` over HTTP), bit 2 JSON rather than
/// MessagePack, bit 3 queueMessages off, bit 4 echoMessages off, bit 5 a
/// clientId (`alice`), bit 6 no autoConnect, bit 7 no fallback hosts.
///
/// Each step is a byte `k` (`k % 32` picks the kind, see `Reducer::step`)
/// and its arguments: commands (connect, close, ping, authorize, publish,
/// attach, detach, setOptions, release, presence enter/update/leave/get,
/// a few REST operations), transport events of the current or an older
/// generation (opened, well-formed server frames from a small vocabulary,
/// raw bytes, closed, activity), answers to token and HTTP requests
/// (outstanding or stale), network changes, and time moving forward
/// (small, large, or to the next deadline) followed by `Input::Timeout`.
///
/// Invariants, checked after every step:
/// - nothing panics;
/// - every operation completes at most once, only operations that were
///   issued complete, and the core's own operations never surface;
/// - after draining `poll()`, `poll_timeout()` is `None` or after `now`,
///   or feeding `Input::Timeout` moves it within `MAX_REFIRES` re-fires;
/// - msgSerial never goes backwards except when the connection becomes
///   CONNECTED without resuming (RTN15c7) or connects from CLOSED or FAILED
///   (RTN11d);
/// - `outstanding_frames()` stays within [`MAX_OUTSTANDING_FRAMES`];
/// - every connection state change is legal (see [`legal_transition`]),
///   chains from the previous one, UPDATEs happen only while CONNECTED, and
///   the last one matches `Client::state`;
/// - every channel state change chains from the previous one and matches
///   `Client::channel(..).state()`; a channel becomes ATTACHED only while
///   the connection is CONNECTED (or CLOSING: an ATTACHED sent before our
///   CLOSE), and stays ATTACHED only while it is
///   CONNECTED, CONNECTING, DISCONNECTED or CLOSING (RTL3e, RTL3b);
/// - `presence.get()` never returns a member whose latest presence event
///   was a LEAVE.
///
/// At the end the script closes the client and moves time to each
/// deadline until none is left (or the connection is FAILED); every
/// operation issued must then have completed exactly once.
pub fn client_reducer(bytes: &[u8]) {
    let mut input = Script { bytes, pos: 0 };
    let Some(mut r) = Reducer::new(input.byte(), input.byte()) else {
        return;
    };
    let mut steps = 0;
    while !input.done() && steps < MAX_STEPS {
        r.step(&mut input);
        steps += 1;
    }
    r.finish();
}

/// The fuzz bytes, read one at a time; 0 once they run out.
struct Script<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Script<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.bytes.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    fn done(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn pick<'v, T>(&mut self, items: &'v [T]) -> &'v T {
        &items[usize::from(self.byte()) % items.len()]
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.byte()).collect()
    }
}

/// The driver of [`client_reducer`] and what it has seen.
struct Reducer {
    client: Client,
    now: Now,
    format: Format,
    next_op: u64,
    /// Application operations issued and not yet completed.
    outstanding: BTreeSet<u64>,
    /// Application operations completed.
    completed: BTreeSet<u64>,
    /// Outstanding presence gets: op -> channel.
    gets: BTreeMap<u64, String>,
    /// The connection state according to the events.
    conn: ConnectionState,
    /// Channel states according to the events.
    chans: BTreeMap<String, ChannelState>,
    /// Generations opened, oldest first.
    generations: Vec<Generation>,
    /// Outstanding FetchToken requests.
    token_requests: Vec<RequestId>,
    /// Outstanding HTTP requests and their URLs.
    http_requests: Vec<(RequestId, String)>,
    /// The highest request id seen, for stale answers.
    max_request: u64,
    /// Ids of HEARTBEATs the client sent.
    ping_ids: Vec<String>,
    /// (channel, memberKey) -> the action of the latest presence event.
    last_presence: BTreeMap<(String, String), PresenceAction>,
    /// msgSerial after the last step.
    msg_serial: u64,
    /// Connection ids handed out by CONNECTED frames.
    next_conn: u32,
    next_token: u32,
}

impl Reducer {
    fn new(opts_byte: u8, seed: u8) -> Option<Reducer> {
        let mut opts = ClientOptions::default();
        match opts_byte & 0b11 {
            0 => opts.key = Some("app.key:secret".into()),
            1 => opts.token = Some("tok-initial".into()),
            2 => opts.token_source = TokenSource::Callback,
            _ => {
                opts.key = Some("app.key:secret".into());
                opts.use_token_auth = true;
            }
        }
        opts.format = if opts_byte & 0b100 != 0 {
            Format::Json
        } else {
            Format::MsgPack
        };
        opts.queue_messages = opts_byte & 0b1000 == 0;
        opts.echo_messages = opts_byte & 0b1_0000 == 0;
        if opts_byte & 0b10_0000 != 0 {
            opts.client_id = Some("alice".into());
        }
        opts.auto_connect = opts_byte & 0b100_0000 == 0;
        if opts_byte & 0b1000_0000 != 0 {
            opts.fallback_hosts = Some(Vec::new());
        }
        let format = opts.format;
        let now = Now::new(Instant::from_millis(0), 1_700_000_000_000);
        let client = Client::new(opts, [seed; 32], now).ok()?;
        let mut r = Reducer {
            client,
            now,
            format,
            next_op: 0,
            outstanding: BTreeSet::new(),
            completed: BTreeSet::new(),
            gets: BTreeMap::new(),
            conn: ConnectionState::Initialized,
            chans: BTreeMap::new(),
            generations: Vec::new(),
            token_requests: Vec::new(),
            http_requests: Vec::new(),
            max_request: 0,
            ping_ids: Vec::new(),
            last_presence: BTreeMap::new(),
            msg_serial: 0,
            next_conn: 0,
            next_token: 0,
        };
        r.feed(Input::Timeout);
        Some(r)
    }

    /// One step of the script.
    fn step(&mut self, s: &mut Script) {
        match s.byte() % 32 {
            0 => self.command(Command::Connect),
            1 => self.command(Command::Close),
            2 => self.command(Command::Ping),
            3 => {
                let params = match s.byte() % 3 {
                    0 => None,
                    1 => Some(crate::auth::TokenParams::default()),
                    _ => Some(crate::auth::TokenParams {
                        client_id: Some("alice".into()),
                        ..Default::default()
                    }),
                };
                self.command(Command::Authorize(params))
            }
            4..=6 => {
                let channel = s.pick(&CHANNELS).to_string();
                let n = 1 + usize::from(s.byte() % 3);
                let big = s.byte() == 0xff;
                let messages = (0..n)
                    .map(|i| {
                        let data = if big {
                            "x".repeat(70_000)
                        } else {
                            format!("m{i}")
                        };
                        Message::new("ev", data)
                    })
                    .collect();
                self.command(Command::Publish { channel, messages })
            }
            7 => {
                let channel = s.pick(&CHANNELS).to_string();
                self.command(Command::Attach { channel })
            }
            8 => {
                let channel = s.pick(&CHANNELS).to_string();
                self.command(Command::Detach { channel })
            }
            9 => {
                let channel = s.pick(&CHANNELS).to_string();
                let b = s.byte();
                let mut options = ChannelOptions::default();
                if b & 1 != 0 {
                    options = options.param("rewind", "1");
                }
                if b & 2 != 0 {
                    options = options.modes(
                        ChannelModes::EMPTY
                            .with(crate::ChannelMode::Subscribe)
                            .with(crate::ChannelMode::Presence),
                    );
                }
                if b & 4 != 0 {
                    self.command(Command::GetChannel {
                        channel,
                        options: Some(options),
                    })
                } else {
                    self.command(Command::SetChannelOptions { channel, options })
                }
            }
            10 => {
                let channel = s.pick(&CHANNELS).to_string();
                self.command(Command::ReleaseChannel { channel })
            }
            11 | 12 => {
                let channel = s.pick(&CHANNELS).to_string();
                let b = s.byte();
                let action = [
                    PresenceAction::Enter,
                    PresenceAction::Update,
                    PresenceAction::Leave,
                ][usize::from(b % 3)];
                let client_id = match (b >> 2) % 3 {
                    0 => None,
                    i => Some(CLIENT_IDS[usize::from(i) - 1].to_owned()),
                };
                let request = PresenceRequest {
                    action,
                    client_id,
                    data: format!("d{}", b >> 4).into(),
                    extras: None,
                };
                self.command(Command::Presence { channel, request })
            }
            13 => {
                let channel = s.pick(&CHANNELS).to_string();
                let b = s.byte();
                let query = PresenceQuery {
                    wait_for_sync: b & 1 == 0,
                    client_id: (b & 2 != 0).then(|| "alice".to_owned()),
                    connection_id: None,
                };
                let op = self.next_op + 1;
                self.gets.insert(op, channel.clone());
                self.command(Command::PresenceGet { channel, query })
            }
            14 => {
                // REST, sparingly: only one byte value in eight.
                match s.byte() {
                    0 => self.command(Command::Rest(Box::new(crate::rest::RestOp::Time))),
                    1 => self.command(Command::Rest(Box::new(crate::rest::RestOp::History {
                        channel: "a".into(),
                        params: Default::default(),
                    }))),
                    2 => self.command(Command::RequestToken(None)),
                    _ => self.command(Command::Ping),
                }
            }
            15 => {
                let g = self.generation(s);
                self.feed(Input::Transport(g, TransportEvent::Opened))
            }
            16..=23 => {
                let g = self.generation(s);
                let pm = self.server_frame(s);
                let bytes = codec::encode(&pm, self.format)
                    .unwrap_or_else(|e| panic!("a server frame does not encode: {e}\n{pm:?}"));
                self.feed(Input::Transport(g, TransportEvent::Frame(bytes.into())))
            }
            24 => {
                let g = self.generation(s);
                let n = usize::from(s.byte() % 48);
                let raw = s.take(n);
                self.feed(Input::Transport(g, TransportEvent::Frame(raw.into())))
            }
            25 => {
                let g = self.generation(s);
                let error = match s.byte() % 3 {
                    0 => None,
                    1 => Some(ErrorInfo::new(80003, 400, "dropped")),
                    _ => Some(ErrorInfo::new(40142, 401, "token expired")),
                };
                self.feed(Input::Transport(g, TransportEvent::Closed(error)))
            }
            26 => {
                let g = self.generation(s);
                self.feed(Input::Transport(g, TransportEvent::Activity))
            }
            27 => self.token_answer(s),
            28 => self.http_answer(s),
            29 => {
                let online = s.byte() & 1 == 0;
                self.feed(Input::NetworkChanged { online })
            }
            30 => {
                // Small or large jumps.
                let b = s.byte();
                let d = if b & 0x80 == 0 {
                    Duration::from_millis(u64::from(b) * 100)
                } else {
                    Duration::from_secs(u64::from(b & 0x7f) * 5)
                };
                self.advance(d);
                self.feed(Input::Timeout)
            }
            _ => {
                // To the next deadline, or a little past it.
                let extra = Duration::from_millis(u64::from(s.byte() % 4));
                if let Some((at, _)) = self.client.poll_timeout() {
                    let d = at.saturating_since(self.now.instant) + extra;
                    self.advance(d);
                }
                self.feed(Input::Timeout)
            }
        }
    }

    fn advance(&mut self, d: Duration) {
        self.now = self.now.advanced(d);
    }

    /// The current generation mostly; sometimes an older or unknown one.
    fn generation(&mut self, s: &mut Script) -> Generation {
        let current = self.generations.last().copied().unwrap_or(Generation(1));
        match s.byte() % 8 {
            0..=5 => current,
            6 => Generation(current.0.saturating_sub(1)),
            _ => Generation(current.0 + 1),
        }
    }

    fn command(&mut self, command: Command) {
        self.next_op += 1;
        let op = self.next_op;
        self.outstanding.insert(op);
        self.feed(Input::Command(OpId(op), command));
    }

    fn conn_id(&self, s: &mut Script) -> String {
        match s.byte() % 4 {
            0 | 1 => self.client.connection_id().unwrap_or("conn-0").to_owned(),
            2 => "conn-0".to_owned(),
            _ => "conn-other".to_owned(),
        }
    }

    /// A well-formed server frame from a small vocabulary.
    fn server_frame(&mut self, s: &mut Script) -> ProtocolMessage {
        let kind = s.byte() % 16;
        match kind {
            0 | 1 => {
                let mut pm = ProtocolMessage::new(Action::Connected);
                let b = s.byte();
                let id = match b % 4 {
                    // A resume that works, or a fresh connection.
                    0 | 1 => self
                        .client
                        .connection_id()
                        .map(str::to_owned)
                        .unwrap_or_else(|| "conn-0".to_owned()),
                    _ => {
                        self.next_conn += 1;
                        format!("conn-{}", self.next_conn)
                    }
                };
                pm.connection_details = Some(ConnectionDetails {
                    connection_key: Some(format!("key-{id}")),
                    client_id: match (b >> 2) % 4 {
                        0 | 1 => None,
                        2 => Some("alice".into()),
                        _ => Some("*".into()),
                    },
                    max_idle_interval: [Some(15_000), None, Some(0), Some(1_000)]
                        [usize::from((b >> 4) % 4)],
                    connection_state_ttl: [None, Some(120_000), Some(2_000), Some(0)]
                        [usize::from(b >> 6)],
                    max_message_size: Some(65536),
                    ..Default::default()
                });
                pm.connection_id = Some(id);
                if s.byte() % 4 == 0 {
                    pm.error = Some(ErrorInfo::new(80008, 400, "unable to resume"));
                }
                pm
            }
            2 => {
                let mut pm = ProtocolMessage::new(Action::Disconnected);
                pm.error = self.error(s);
                pm
            }
            3 => {
                let mut pm = ProtocolMessage::new(Action::Error);
                pm.error = self.error(s);
                pm
            }
            4 => {
                let mut pm = ProtocolMessage::for_channel(Action::Error, *s.pick(&CHANNELS));
                pm.error = self.error(s);
                pm
            }
            5 | 6 => {
                let mut pm = ProtocolMessage::for_channel(Action::Attached, *s.pick(&CHANNELS));
                let b = s.byte();
                let mut flags = 0;
                if b & 1 != 0 {
                    flags |= Flags::HAS_PRESENCE.0;
                }
                if b & 2 != 0 {
                    flags |= Flags::RESUMED.0;
                }
                if b & 4 != 0 {
                    flags |= Flags::HAS_BACKLOG.0;
                }
                pm.flags = Flags(flags);
                if b & 8 != 0 {
                    pm.channel_serial = Some(format!("serial-{}", b >> 4));
                }
                if b & 0x80 != 0 {
                    pm.error = Some(ErrorInfo::new(91004, 400, "attached with an error"));
                }
                pm
            }
            7 => {
                let mut pm = ProtocolMessage::for_channel(Action::Detached, *s.pick(&CHANNELS));
                if s.byte() & 1 != 0 {
                    pm.error = Some(ErrorInfo::new(90198, 500, "detached by the service"));
                }
                pm
            }
            8 => {
                let mut pm = ProtocolMessage::for_channel(Action::Message, *s.pick(&CHANNELS));
                let b = s.byte();
                pm.id = Some(format!("{}:{}", self.conn_id(s), b));
                pm.connection_id = Some("conn-other".into());
                pm.channel_serial = (b & 1 != 0).then(|| format!("cs-{b}"));
                pm.messages = (0..=(b % 3))
                    .map(|i| Message::new("ev", format!("in{i}")))
                    .collect();
                pm
            }
            9 | 10 => {
                let action = if kind == 9 {
                    Action::Presence
                } else {
                    Action::Sync
                };
                let mut pm = ProtocolMessage::for_channel(action, *s.pick(&CHANNELS));
                let b = s.byte();
                if action == Action::Sync {
                    pm.channel_serial = match b % 4 {
                        0 => None,
                        1 => Some("seq1:".into()),
                        2 => Some(format!("seq1:cursor{}", b >> 4)),
                        _ => Some(format!("seq2:cursor{}", b >> 4)),
                    };
                }
                let n = 1 + usize::from((b >> 2) % 3);
                pm.presence = (0..n).map(|_| self.presence_message(s)).collect();
                pm
            }
            11 | 12 => {
                let mut pm = ProtocolMessage::new(if kind == 11 {
                    Action::Ack
                } else {
                    Action::Nack
                });
                let b = s.byte();
                pm.msg_serial = Some(self.client.msg_serial().saturating_sub(u64::from(b % 8)));
                pm.count = match b >> 3 {
                    0 => None,
                    c => Some(u32::from(c % 4)),
                };
                if kind == 12 && b & 0x80 != 0 {
                    pm.error = Some(ErrorInfo::new(40160, 401, "not permitted"));
                }
                pm
            }
            13 => {
                let mut pm = ProtocolMessage::new(Action::Heartbeat);
                let b = s.byte();
                pm.id = match b % 4 {
                    0 => None,
                    1 => Some("not-a-ping".into()),
                    _ => self
                        .ping_ids
                        .get(usize::from(b >> 2) % self.ping_ids.len().max(1))
                        .cloned(),
                };
                pm
            }
            14 => ProtocolMessage::new(Action::Auth),
            _ => ProtocolMessage::new(Action::Closed),
        }
    }

    fn error(&mut self, s: &mut Script) -> Option<ErrorInfo> {
        match s.byte() % 6 {
            0 => None,
            1 => Some(ErrorInfo::new(40142, 401, "token expired")),
            2 => Some(ErrorInfo::new(80003, 400, "disconnected")),
            3 => Some(ErrorInfo::new(50000, 500, "internal")),
            4 => Some(ErrorInfo::new(40160, 401, "not permitted")),
            _ => Some(ErrorInfo::new(80019, 403, "forbidden")),
        }
    }

    fn presence_message(&mut self, s: &mut Script) -> PresenceMessage {
        let b = s.byte();
        let action = [
            PresenceAction::Enter,
            PresenceAction::Update,
            PresenceAction::Leave,
            PresenceAction::Present,
        ][usize::from(b % 4)];
        let client_id = CLIENT_IDS[usize::from((b >> 2) % 3)].to_owned();
        let conn = self.conn_id(s);
        let mut m = PresenceMessage::new(action, Some(client_id), "p");
        let t = s.byte();
        m.id = match t % 4 {
            0 => None,
            _ => Some(format!("{conn}:{}:{}", t >> 4, (t >> 2) % 4)),
        };
        m.connection_id = Some(conn);
        m.timestamp = Some(1_700_000_000_000 + i64::from(t >> 3));
        m
    }

    fn token_answer(&mut self, s: &mut Script) {
        let b = s.byte();
        let request = if b & 1 == 0 && !self.token_requests.is_empty() {
            let i = usize::from(b >> 1) % self.token_requests.len();
            self.token_requests.remove(i)
        } else {
            RequestId(u64::from(b >> 1) % (self.max_request + 2))
        };
        let result = self.token_result(s);
        self.feed(Input::Token(request, result))
    }

    fn token_result(&mut self, s: &mut Script) -> Result<AuthResponse, ErrorInfo> {
        self.next_token += 1;
        let token = format!("tok-{}", self.next_token);
        let b = s.byte();
        match b % 6 {
            0 | 1 => Ok(AuthResponse::Token(token)),
            2 | 3 => {
                let expires = match (b >> 3) % 4 {
                    0 => 3_600_000,
                    1 => 20_000,
                    2 => 1_000,
                    _ => -1_000,
                };
                Ok(AuthResponse::Details(crate::auth::TokenDetails {
                    token,
                    expires: Some(self.now.wall_ms + expires),
                    issued: Some(self.now.wall_ms),
                    client_id: (b & 0x80 != 0).then(|| "bob".to_owned()),
                    ..Default::default()
                }))
            }
            4 => Err(ErrorInfo::new(40170, 401, "authCallback failed")),
            _ => Err(ErrorInfo::new(40300, 403, "forbidden")),
        }
    }

    fn http_answer(&mut self, s: &mut Script) {
        let b = s.byte();
        let (request, url) = if b & 1 == 0 && !self.http_requests.is_empty() {
            let i = usize::from(b >> 1) % self.http_requests.len();
            self.http_requests.remove(i)
        } else {
            (
                RequestId(u64::from(b >> 1) % (self.max_request + 2)),
                String::new(),
            )
        };
        let json = |status: u16, body: String| {
            Ok(HttpResponse {
                status,
                headers: vec![("content-type".into(), "application/json".into())],
                body: body.into_bytes(),
            })
        };
        let result = match s.byte() % 6 {
            0 => Err(ErrorInfo::new(80000, 500, "network error")),
            1 => json(
                500,
                r#"{"error":{"code":50000,"statusCode":500,"message":"x"}}"#.into(),
            ),
            2 => json(
                401,
                r#"{"error":{"code":40142,"statusCode":401,"message":"token expired"}}"#.into(),
            ),
            _ if url.contains("is-the-internet-up") => Ok(HttpResponse {
                status: 200,
                headers: Vec::new(),
                body: b"yes".to_vec(),
            }),
            _ if url.contains("requestToken") => {
                self.next_token += 1;
                json(
                    200,
                    format!(
                        r#"{{"token":"tok-{}","expires":{},"issued":{}}}"#,
                        self.next_token,
                        self.now.wall_ms + 3_600_000,
                        self.now.wall_ms
                    ),
                )
            }
            3 => json(200, format!("[{}]", self.now.wall_ms)),
            _ => json(200, "[]".into()),
        };
        self.feed(Input::Http(request, result))
    }

    /// Feeds one input, drains the outputs, checks, and fires deadlines
    /// that are already due.
    fn feed(&mut self, input: Input) {
        self.handle(input);
        let mut refires = 0;
        while let Some((at, kind)) = self.client.poll_timeout() {
            if at > self.now.instant {
                break;
            }
            refires += 1;
            assert!(
                refires <= MAX_REFIRES,
                "busy loop: the {kind:?} deadline {at:?} stays at or before now {:?}",
                self.now.instant
            );
            self.handle(Input::Timeout);
        }
    }

    fn handle(&mut self, input: Input) {
        let trace = tracing();
        if trace {
            eprintln!("@{:?} <- {input:?}", self.now.instant.since_origin());
        }
        let before_id = self.client.connection_id().map(str::to_owned);
        self.client.handle(self.now, input);
        let mut serial_reset = false;
        while let Some(output) = self.client.poll() {
            if trace {
                eprintln!("    -> {output:?}");
            }
            match output {
                Output::OpenTransport { generation, .. } => {
                    if let Some(last) = self.generations.last() {
                        assert!(generation > *last, "generations must grow");
                    }
                    self.generations.push(generation);
                }
                Output::Send { frame, .. } => {
                    let pm = codec::decode_protocol_message(&frame.bytes, self.format)
                        .unwrap_or_else(|e| panic!("the client sent a frame it cannot read: {e}"));
                    if pm.action == Action::Heartbeat {
                        if let Some(id) = pm.id {
                            self.ping_ids.push(id);
                        }
                    }
                }
                Output::CloseTransport { .. } => {}
                Output::FetchToken { request, .. } => {
                    self.max_request = self.max_request.max(request.0);
                    self.token_requests.push(request);
                }
                Output::Http { request, http } => {
                    self.max_request = self.max_request.max(request.0);
                    self.http_requests.push((request, http.url));
                }
                Output::Event(event) => {
                    if self.on_event(event, before_id.as_deref()) {
                        serial_reset = true;
                    }
                }
            }
        }
        self.check_state(serial_reset);
    }

    /// Checks one event; returns whether it allows msgSerial to reset.
    fn on_event(&mut self, event: Event, before_id: Option<&str>) -> bool {
        match event {
            Event::Connection(change) => {
                assert_eq!(
                    change.previous, self.conn,
                    "a connection change does not chain: {change:?}"
                );
                if change.update {
                    assert!(
                        change.previous == ConnectionState::Connected
                            && change.current == ConnectionState::Connected,
                        "UPDATE while not connected: {change:?}"
                    );
                    return false;
                }
                assert!(
                    legal_transition(change.previous, change.current),
                    "illegal connection transition {} -> {}",
                    change.previous,
                    change.current
                );
                self.conn = change.current;
                match (change.previous, change.current) {
                    // RTN11d
                    (ConnectionState::Closed | ConnectionState::Failed, _) => true,
                    // RTN15c7: a new connection, not a resume.
                    (_, ConnectionState::Connected) => {
                        before_id.is_none() || before_id != self.client.connection_id()
                    }
                    _ => false,
                }
            }
            Event::Channel(change) => {
                let tracked = self
                    .chans
                    .get(&change.channel)
                    .copied()
                    .unwrap_or(ChannelState::Initialized);
                if change.update {
                    assert_eq!(
                        change.previous, change.current,
                        "a channel UPDATE changes the state: {change:?}"
                    );
                } else {
                    assert_ne!(change.previous, change.current, "no-op change: {change:?}");
                    if change.current == ChannelState::Attached {
                        // While closing, an ATTACHED the service sent before
                        // our CLOSE still counts (RTL3b acts on CLOSED).
                        assert!(
                            matches!(
                                self.conn,
                                ConnectionState::Connected | ConnectionState::Closing
                            ),
                            "channel {} became ATTACHED while the connection is {}",
                            change.channel,
                            self.conn
                        );
                    }
                }
                // A released channel is forgotten and starts again from
                // INITIALIZED (see check_state).
                assert_eq!(
                    change.previous, tracked,
                    "a channel change does not chain: {change:?}"
                );
                self.chans.insert(change.channel, change.current);
                false
            }
            Event::Presence { channel, message } => {
                self.last_presence
                    .insert((channel.to_string(), message.member_key()), message.action);
                false
            }
            Event::Completed(OpId(op), result) => {
                assert!(
                    op < INTERNAL_OP_BASE,
                    "an internal operation {op:#x} surfaced"
                );
                assert!(self.completed.insert(op), "operation {op} completed twice");
                assert!(
                    self.outstanding.remove(&op),
                    "operation {op} completed but was never issued"
                );
                if let Some(channel) = self.gets.remove(&op) {
                    if let Ok(Completion::Members(members)) = &result {
                        for m in members {
                            let key = (channel.clone(), m.member_key());
                            assert!(
                                self.last_presence.get(&key) != Some(&PresenceAction::Leave),
                                "presence get on {channel} returned {}, whose latest event was LEAVE",
                                m.member_key()
                            );
                        }
                    }
                }
                false
            }
            Event::Log(_) | Event::Message { .. } | Event::Annotation { .. } => false,
        }
    }

    fn check_state(&mut self, serial_reset: bool) {
        let state = self.client.state();
        assert_eq!(state, self.conn, "Client::state disagrees with the events");
        for name in CHANNELS {
            let actual = self.client.channel(name).map(|c| c.state());
            match actual {
                None => {
                    // Released (or never made): the next change starts over.
                    self.chans.remove(name);
                }
                Some(actual) => {
                    let tracked = self
                        .chans
                        .get(name)
                        .copied()
                        .unwrap_or(ChannelState::Initialized);
                    assert_eq!(
                        actual, tracked,
                        "channel {name} state disagrees with the events"
                    );
                    if actual == ChannelState::Attached {
                        assert!(
                            matches!(
                                state,
                                ConnectionState::Connected
                                    | ConnectionState::Connecting
                                    | ConnectionState::Disconnected
                                    | ConnectionState::Closing
                            ),
                            "channel {name} is ATTACHED while the connection is {state}"
                        );
                    }
                }
            }
        }
        let serial = self.client.msg_serial();
        assert!(
            serial >= self.msg_serial || serial_reset,
            "msgSerial went back from {} to {serial} without a reset",
            self.msg_serial
        );
        self.msg_serial = serial;
        assert!(
            self.client.outstanding_frames() <= MAX_OUTSTANDING_FRAMES,
            "{} outstanding frames",
            self.client.outstanding_frames()
        );
    }

    /// Closes, then moves time to each deadline until none is left; every
    /// operation must have completed by then.
    fn finish(mut self) {
        self.command(Command::Close);
        for _ in 0..200 {
            match self.client.poll_timeout() {
                Some((at, _)) => {
                    let d = at.saturating_since(self.now.instant);
                    self.advance(d);
                    self.feed(Input::Timeout);
                }
                None => break,
            }
        }
        assert!(
            matches!(
                self.client.state(),
                ConnectionState::Closed | ConnectionState::Failed
            ),
            "close did not end in CLOSED or FAILED but {}",
            self.client.state()
        );
        assert!(
            self.client.poll_timeout().is_none(),
            "deadlines remain after closing: {:?}",
            self.client.poll_timeout()
        );
        assert!(
            self.outstanding.is_empty(),
            "operations never completed: {:?}",
            self.outstanding
        );
    }
}

/// Whether `CLIENT_REDUCER_TRACE` is set: print every input and output,
/// for reading what a corpus file or a finding does.
fn tracing() -> bool {
    static TRACE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("CLIENT_REDUCER_TRACE").is_some())
}

/// The legal connection state changes (RTN4, the table in
/// `client/connection.rs`). Any state may fail: a fatal ERROR (RTN14g,
/// RTN15j) or a 403 from the token source (RSA4d); nothing goes back to
/// INITIALIZED.
pub fn legal_transition(from: ConnectionState, to: ConnectionState) -> bool {
    use ConnectionState as S;
    if from == to || to == S::Initialized {
        return false;
    }
    matches!(
        (from, to),
        (S::Failed, S::Connecting)
            | (_, S::Failed)
            | (S::Initialized, S::Connecting | S::Closed)
            | (
                S::Connecting,
                S::Connected | S::Disconnected | S::Suspended | S::Closing | S::Closed
            )
            | (S::Connected, S::Disconnected | S::Closing | S::Closed)
            | (S::Disconnected, S::Connecting | S::Suspended | S::Closed)
            | (S::Suspended, S::Connecting | S::Closed)
            | (S::Closing, S::Closed | S::Connecting)
            | (S::Closed, S::Connecting)
    )
}

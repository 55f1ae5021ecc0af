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
    decode_frame(bytes, Format::MsgPack);
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
    pm.fill_inherited_fields();
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
pub fn decode_payload(bytes: &[u8]) {
    let Some((&header, rest)) = bytes.split_first() else {
        return;
    };
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

//! The payload encoding pipeline (RSL4 encode, RSL6 decode).
//!
//! `encoding` lists the transforms applied to `data`, left to right, joined
//! by `/`, e.g. `json/utf-8/cipher+aes-128-cbc/base64`. Encoding appends
//! steps; decoding undoes them from the right. A step that fails to decode
//! stops the pipeline: the data is left as the last step produced it and
//! `encoding` keeps the steps not undone (RSL6b), and the error is returned
//! for the caller to report. The message is never dropped.
//!
//! The `base64` step of JSON transport is handled by [`crate::codec`]; it
//! is also decoded here for messages that arrive by other routes.

use std::sync::LazyLock;

use base64::Engine as _;
use bytes::Bytes;
use rand_core::RngCore;

use crate::ErrorInfo;
use crate::crypto::CipherParams;
use crate::error::codes;
use crate::wire::{Data, Json, Message, PresenceMessage};

/// The base64 engine for payloads (RSL6 `base64` step, and binary data in
/// JSON frames): the standard alphabet with padding, strict about padding
/// and trailing bits. Where the CPU has SIMD (AVX2, NEON; detected once at
/// run time) the `base64` crate's SIMD engine decodes several times faster
/// than its scalar one, with the same results and errors.
#[cfg(any(
    target_arch = "x86_64",
    all(target_arch = "aarch64", target_feature = "neon")
))]
pub(crate) static BASE64: LazyLock<base64::engine::Simd> =
    LazyLock::new(|| base64::engine::Simd::standard(base64::engine::general_purpose::PAD));

/// The base64 engine for payloads (see above); scalar on this target.
#[cfg(not(any(
    target_arch = "x86_64",
    all(target_arch = "aarch64", target_feature = "neon")
)))]
pub(crate) static BASE64: LazyLock<base64::engine::GeneralPurpose> =
    LazyLock::new(|| base64::engine::general_purpose::STANDARD);

/// Encodes `data` for the wire (RSL4): JSON objects and arrays become JSON
/// text with `json`; with a cipher, strings become UTF-8 (`utf-8`) and the
/// bytes are encrypted (`cipher+aes-...-cbc`, RSL5). Other JSON values
/// (numbers, booleans) are refused with 40013 (RSL4a).
pub fn encode_payload(
    data: &mut Data,
    encoding: &mut Option<String>,
    cipher: Option<&CipherParams>,
    rng: &mut dyn RngCore,
) -> Result<(), ErrorInfo> {
    if let Data::Json(json) = data {
        if !json.is_object_or_array() {
            return Err(ErrorInfo::new(
                codes::INVALID_DATA_OR_ENCODING,
                400,
                "data must be a string, binary, a JSON object or a JSON array",
            ));
        }
        // Received text is sent as it came, without serializing again.
        if let Data::Json(json) = std::mem::take(data) {
            *data = Data::String(json.into_text());
        }
        push_step(encoding, "json");
    }
    let Some(cipher) = cipher else {
        return Ok(());
    };
    let plaintext = match std::mem::take(data) {
        Data::None => return Ok(()),
        Data::String(s) => {
            push_step(encoding, "utf-8");
            s.into_bytes()
        }
        Data::Binary(b) => b.to_vec(),
        Data::Json(_) => unreachable!("JSON data was turned into text above"),
    };
    *data = Data::Binary(Bytes::from(cipher.encrypt(&plaintext, rng)));
    push_step(encoding, cipher.encoding_step());
    Ok(())
}

/// Decodes `data` in place by undoing `encoding` from the right (RSL6).
///
/// On failure, `data` and `encoding` hold the state after the last step
/// that succeeded (RSL6b), and the error says which step failed.
pub fn decode_payload(
    data: &mut Data,
    encoding: &mut Option<String>,
    cipher: Option<&CipherParams>,
) -> Result<(), ErrorInfo> {
    if data.is_none() {
        return Ok(());
    }
    while let Some(enc) = encoding.as_deref() {
        let (rest, step) = match enc.rsplit_once('/') {
            Some((rest, step)) => (Some(rest), step),
            None => (None, enc),
        };
        let decoded = decode_step(std::mem::take(data), step, cipher);
        match decoded {
            Ok(next) => *data = next,
            Err((original, err)) => {
                *data = original;
                return Err(err);
            }
        }
        *encoding = rest.filter(|r| !r.is_empty()).map(str::to_owned);
    }
    Ok(())
}

/// Undoes one step. On failure gives the data back unchanged.
fn decode_step(
    data: Data,
    step: &str,
    cipher: Option<&CipherParams>,
) -> Result<Data, (Data, ErrorInfo)> {
    let invalid = |data: Data, why: String| {
        Err((
            data,
            ErrorInfo::new(
                codes::INVALID_DATA_OR_ENCODING,
                400,
                format!("could not decode '{step}': {why}"),
            ),
        ))
    };
    match step {
        "" => Ok(data),
        "base64" => {
            let decoded = match &data {
                Data::String(s) => BASE64.decode(s.as_bytes()),
                Data::Binary(b) => BASE64.decode(b),
                _ => return invalid(data, "data is not text".into()),
            };
            match decoded {
                Ok(bytes) => Ok(Data::Binary(Bytes::from(bytes))),
                Err(e) => invalid(data, e.to_string()),
            }
        }
        "utf-8" | "utf8" => match data {
            Data::String(_) => Ok(data),
            Data::Binary(b) => match std::str::from_utf8(&b) {
                Ok(s) => Ok(Data::String(s.to_owned())),
                Err(e) => invalid(Data::Binary(b), e.to_string()),
            },
            other => invalid(other, "data is not binary".into()),
        },
        // The text is checked here but parsed only when the value is looked
        // at (see `Json`).
        "json" => match data {
            Data::String(s) => match Json::try_from_text(s) {
                Ok(json) => Ok(Data::Json(json)),
                Err((s, e)) => invalid(Data::String(s), e.to_string()),
            },
            Data::Binary(b) => match std::str::from_utf8(&b) {
                Ok(s) => match Json::try_from_text(s.to_owned()) {
                    Ok(json) => Ok(Data::Json(json)),
                    Err((_, e)) => invalid(Data::Binary(b), e.to_string()),
                },
                Err(e) => invalid(Data::Binary(b), e.to_string()),
            },
            Data::Json(_) | Data::None => Ok(data),
        },
        "vcdiff" => Err((
            data,
            ErrorInfo::new(
                codes::DELTA_DECODING_FAILED,
                400,
                "vcdiff deltas need a vcdiff decoder (realtime channels take one, see Client::set_vcdiff_decoder); the payload decoder alone can not apply them",
            ),
        )),
        cipher_step if cipher_step.starts_with("cipher+") => {
            let Some(cipher) = cipher else {
                return invalid(data, "the channel has no cipher configured".into());
            };
            if cipher.encoding_step() != cipher_step {
                return invalid(
                    data,
                    format!("the channel cipher is {}", cipher.algorithm()),
                );
            }
            let Data::Binary(bytes) = &data else {
                return invalid(data, "data is not binary".into());
            };
            match cipher.decrypt(bytes) {
                Ok(plain) => Ok(Data::Binary(Bytes::from(plain))),
                Err(e) => Err((data, e)),
            }
        }
        other => {
            let why = format!("unknown encoding step '{other}'");
            invalid(data, why)
        }
    }
}

fn push_step(encoding: &mut Option<String>, step: &str) {
    match encoding {
        Some(e) if !e.is_empty() => {
            e.push('/');
            e.push_str(step);
        }
        _ => *encoding = Some(step.to_owned()),
    }
}

impl Message {
    /// Encodes the payload for publishing (RSL4, RSL5).
    pub fn encode(
        &mut self,
        cipher: Option<&CipherParams>,
        rng: &mut dyn RngCore,
    ) -> Result<(), ErrorInfo> {
        encode_payload(&mut self.data, &mut self.encoding, cipher, rng)
    }

    /// Decodes the payload of a received message (RSL6); see [`decode_payload`].
    pub fn decode(&mut self, cipher: Option<&CipherParams>) -> Result<(), ErrorInfo> {
        decode_payload(&mut self.data, &mut self.encoding, cipher)
    }
}

impl PresenceMessage {
    /// Encodes the payload for sending (RSL4, RSL5).
    pub fn encode(
        &mut self,
        cipher: Option<&CipherParams>,
        rng: &mut dyn RngCore,
    ) -> Result<(), ErrorInfo> {
        encode_payload(&mut self.data, &mut self.encoding, cipher, rng)
    }

    /// Decodes the payload of a received presence message (RSL6).
    pub fn decode(&mut self, cipher: Option<&CipherParams>) -> Result<(), ErrorInfo> {
        decode_payload(&mut self.data, &mut self.encoding, cipher)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Counter(u8);
    impl RngCore for Counter {
        fn next_u32(&mut self) -> u32 {
            self.next_u64() as u32
        }
        fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(1);
            u64::from(self.0)
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            for b in dest {
                self.0 = self.0.wrapping_add(1);
                *b = self.0;
            }
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }

    #[test]
    fn json_string_and_binary_round_trip_with_cipher() {
        let cipher = CipherParams::from_key(&[3; 16]).expect("key");
        for data in [
            Data::from("héllo"),
            Data::from(vec![0, 1, 2, 255]),
            Data::json(json!({"a": [1, 2, {"b": null}]})),
            Data::json(json!([1, "x"])),
        ] {
            for cipher in [None, Some(&cipher)] {
                let mut d = data.clone();
                let mut enc = None;
                encode_payload(&mut d, &mut enc, cipher, &mut Counter(0)).expect("encode");
                decode_payload(&mut d, &mut enc, cipher).expect("decode");
                assert_eq!(d, data);
                assert_eq!(enc, None);
            }
        }
    }

    #[test]
    fn numbers_and_booleans_are_refused_rsl4a() {
        let mut d = Data::json(json!(42));
        let err = encode_payload(&mut d, &mut None, None, &mut Counter(0)).unwrap_err();
        assert_eq!(err.code, 40013);
    }

    #[test]
    fn failed_decrypt_keeps_the_rest_rsl6b() {
        let cipher = CipherParams::from_key(&[3; 16]).expect("key");
        let mut d = Data::from("secret");
        let mut enc = None;
        encode_payload(&mut d, &mut enc, Some(&cipher), &mut Counter(0)).expect("encode");
        let encrypted = d.clone();
        // No cipher on the receiving side: the binary stays, encoding keeps both steps.
        let err = decode_payload(&mut d, &mut enc, None).unwrap_err();
        assert_eq!(err.code, 40013);
        assert_eq!(d, encrypted);
        assert_eq!(enc.as_deref(), Some("utf-8/cipher+aes-128-cbc"));
        // A cipher of the other length is refused the same way.
        let wrong = CipherParams::from_key(&[3; 32]).expect("key");
        assert!(decode_payload(&mut d, &mut enc, Some(&wrong)).is_err());
        assert_eq!(enc.as_deref(), Some("utf-8/cipher+aes-128-cbc"));
    }

    #[test]
    fn bad_base64_and_bad_json_stop_the_pipeline() {
        let mut d = Data::from("%%%");
        let mut enc = Some("json/base64".to_owned());
        assert_eq!(
            decode_payload(&mut d, &mut enc, None).unwrap_err().code,
            40013
        );
        assert_eq!(
            (d, enc.as_deref()),
            (Data::from("%%%"), Some("json/base64"))
        );

        let mut d = Data::from("{not json");
        let mut enc = Some("json".to_owned());
        assert!(decode_payload(&mut d, &mut enc, None).is_err());
        assert_eq!(enc.as_deref(), Some("json"));
    }

    #[test]
    fn base64_engine_decodes_like_the_scalar_one() {
        // Text long enough for the SIMD loop, damaged at every position
        // (inserted or replaced): same bytes, same errors, including
        // non-zero trailing bits and bad padding.
        use base64::engine::general_purpose::STANDARD as SCALAR;
        let bytes: Vec<u8> = (0..120u32).map(|i| (i * 37 + 11) as u8).collect();
        for len in [0, 1, 2, 3, 31, 47, 48, 49, 120] {
            let text = SCALAR.encode(&bytes[..len]);
            assert_eq!(BASE64.decode(&text), Ok(bytes[..len].to_vec()));
            for at in 0..=text.len() {
                for damage in ["!", "=", "A", "R", "-", "_", "\n", "\u{e9}"] {
                    let mut inserted = text.clone();
                    inserted.insert_str(at, damage);
                    assert_eq!(
                        BASE64.decode(&inserted),
                        SCALAR.decode(&inserted),
                        "{inserted}"
                    );
                    if at < text.len() {
                        let mut replaced = text.clone();
                        replaced.replace_range(at..at + 1, damage);
                        assert_eq!(
                            BASE64.decode(&replaced),
                            SCALAR.decode(&replaced),
                            "{replaced}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn json_text_is_checked_on_decode_and_sent_back_as_it_came() {
        let text = "{ \"b\": [1, 2.50], \"a\": \"\\u00e9\" }";
        let mut d = Data::from(text);
        let mut enc = Some("json".to_owned());
        decode_payload(&mut d, &mut enc, None).expect("decode");
        assert_eq!(enc, None);
        let Data::Json(json) = &d else {
            panic!("not JSON: {d:?}")
        };
        assert_eq!(json.text(), Some(text));
        assert_eq!(d, Data::json(json!({"a": "é", "b": [1, 2.5]})));
        // RSL4: the received text goes out unchanged.
        encode_payload(&mut d, &mut enc, None, &mut Counter(0)).expect("encode");
        assert_eq!((d, enc.as_deref()), (Data::from(text), Some("json")));
    }

    #[test]
    fn json_from_binary_must_be_utf8_rsl6b() {
        let mut d = Data::from(b"[1, \"x\"]".to_vec());
        let mut enc = Some("json".to_owned());
        decode_payload(&mut d, &mut enc, None).expect("decode");
        assert_eq!(d, Data::json(json!([1, "x"])));

        let bad = Data::from(b"[\"\xff\"]".to_vec());
        let mut d = bad.clone();
        let mut enc = Some("json".to_owned());
        let err = decode_payload(&mut d, &mut enc, None).unwrap_err();
        assert_eq!(err.code, 40013);
        assert_eq!((d, enc.as_deref()), (bad, Some("json")));
    }

    #[test]
    fn json_the_parser_refuses_fails_at_decode_time_rsl6b() {
        // serde_json refuses each of these, so decoding must too, even
        // though nothing is parsed yet.
        for text in ["1e400", "[\"\\ud800\"]", "[1,]", "{\"a\":1} x"] {
            let mut d = Data::from(text);
            let mut enc = Some("utf-8/json".to_owned());
            let err = decode_payload(&mut d, &mut enc, None).unwrap_err();
            assert_eq!(err.code, 40013, "{text}");
            assert!(err.message.starts_with("could not decode 'json'"), "{err}");
            assert_eq!((d, enc.as_deref()), (Data::from(text), Some("utf-8/json")));
        }
    }

    #[test]
    fn received_json_scalars_decode_but_are_refused_on_encode_rsl4a() {
        let mut d = Data::from(" 42 ");
        let mut enc = Some("json".to_owned());
        decode_payload(&mut d, &mut enc, None).expect("decode");
        assert_eq!(d, Data::json(json!(42)));
        let err = encode_payload(&mut d, &mut enc, None, &mut Counter(0)).unwrap_err();
        assert_eq!(err.code, 40013);
        assert_eq!(d, Data::json(json!(42)));
    }

    #[test]
    fn vcdiff_is_reported_as_unsupported() {
        let mut d = Data::from(vec![1, 2, 3]);
        let mut enc = Some("utf-8/vcdiff".to_owned());
        let err = decode_payload(&mut d, &mut enc, None).unwrap_err();
        assert_eq!(err.code, 40018);
        assert!(err.message.contains("vcdiff"));
        assert_eq!(enc.as_deref(), Some("utf-8/vcdiff"));
    }

    #[test]
    fn unknown_step_is_kept() {
        let mut d = Data::from("x");
        let mut enc = Some("custom-thing".to_owned());
        assert!(decode_payload(&mut d, &mut enc, None).is_err());
        assert_eq!(enc.as_deref(), Some("custom-thing"));
    }
}

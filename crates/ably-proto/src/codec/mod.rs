//! JSON and MessagePack codecs for the wire model.
//!
//! A realtime connection uses one [`Format`]: JSON text frames or
//! MessagePack binary frames, one ProtocolMessage per frame. Both formats
//! carry the same model; they differ only in how binary data travels:
//! MessagePack has a `bin` type, JSON carries base64 text and appends
//! `base64` to the message's `encoding`. Decoding undoes that, so a
//! [`ProtocolMessage`] survives an encode/decode round trip in either format.
//!
//! Decoding ignores unknown fields, accepts integral floats for integer
//! fields, and reports a wrong type with the path of the field, e.g.
//! `messages[0].timestamp: invalid type: string "x", expected ...`.

mod fast;
mod fast_json;
mod fast_msgpack;
mod json_in_json;

use std::borrow::BorrowMut;
use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ErrorInfo;
use crate::error::codes;
use crate::wire::{Action, Message, PresenceMessage, ProtocolMessage};

/// A wire format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Format {
    /// JSON; text WebSocket frames; `application/json`.
    #[default]
    Json,
    /// MessagePack; binary WebSocket frames; `application/x-msgpack`.
    MsgPack,
}

impl Format {
    /// The value of the `format` connection param.
    pub fn param(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::MsgPack => "msgpack",
        }
    }

    /// The HTTP content type.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::MsgPack => "application/x-msgpack",
        }
    }

    /// The format for a `format` param value (absent means JSON).
    pub fn from_param(value: Option<&str>) -> Option<Format> {
        match value {
            None | Some("json") => Some(Format::Json),
            Some("msgpack") => Some(Format::MsgPack),
            Some(_) => None,
        }
    }

    /// Whether frames in this format are binary WebSocket frames.
    pub fn is_binary(self) -> bool {
        self == Format::MsgPack
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.param())
    }
}

/// A value could not be encoded or decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{format} {direction} error at {path}: {message}")]
pub struct CodecError {
    /// The format in use.
    pub format: Format,
    /// `"decode"` or `"encode"`.
    pub direction: &'static str,
    /// Where in the value the problem is, e.g. `messages[0].timestamp`;
    /// `.` for the value as a whole.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl CodecError {
    /// The Ably error for a frame that could not be read: 80013 (protocol
    /// error) with status 400.
    pub fn to_error_info(&self) -> ErrorInfo {
        ErrorInfo::new(codes::PROTOCOL_ERROR, 400, self.to_string())
    }
}

/// A type that travels on the wire. `after_decode` undoes transport-only
/// representations (base64 text for binary data).
pub trait Wire: Serialize + DeserializeOwned {
    /// Called once after a successful decode.
    fn after_decode(&mut self) {}

    /// A faster MessagePack decoder for this type, if there is one; `None`
    /// means "use serde", which has the last word on every input.
    fn fast_msgpack(_bytes: &[u8]) -> Option<Self> {
        None
    }

    /// A faster JSON decoder for this type, if there is one; `None` means
    /// "use serde".
    fn fast_json(_text: &str) -> Option<Self> {
        None
    }
}

impl Wire for ProtocolMessage {
    fn after_decode(&mut self) {
        self.unwrap_base64();
    }

    fn fast_msgpack(bytes: &[u8]) -> Option<Self> {
        fast_msgpack::protocol_message(bytes, ProtocolMessage::new(Action::Heartbeat))
    }

    fn fast_json(text: &str) -> Option<Self> {
        fast_json::protocol_message(text, ProtocolMessage::new(Action::Heartbeat), false)
    }
}

impl Wire for Message {
    fn after_decode(&mut self) {
        self.unwrap_base64();
    }
}

impl Wire for PresenceMessage {
    fn after_decode(&mut self) {
        self.unwrap_base64();
    }
}

impl<T: Wire> Wire for Vec<T> {
    fn after_decode(&mut self) {
        self.iter_mut().for_each(T::after_decode);
    }
}

impl Wire for ErrorInfo {}
impl Wire for serde_json::Value {}
impl Wire for crate::auth::TokenDetails {}
impl Wire for crate::auth::TokenRequest {}
impl Wire for crate::auth::TokenParams {}

/// Encodes a value. JSON output is UTF-8 text.
pub fn encode<T: Wire>(value: &T, format: Format) -> Result<Vec<u8>, CodecError> {
    let result = match format {
        Format::Json => serde_json::to_vec(value).map_err(|e| e.to_string()),
        Format::MsgPack => rmp_serde::to_vec_named(value).map_err(|e| e.to_string()),
    };
    result.map_err(|message| CodecError {
        format,
        direction: "encode",
        path: ".".into(),
        message,
    })
}

/// Decodes a value. The whole input must be one value.
pub fn decode<T: Wire>(bytes: &[u8], format: Format) -> Result<T, CodecError> {
    decode_with(bytes, format, |input| match input {
        FastInput::Json(text) => T::fast_json(text),
        FastInput::MsgPack(bytes) => T::fast_msgpack(bytes),
    })
}

/// What a fast reader reads: validated JSON text or MessagePack bytes.
enum FastInput<'a> {
    Json(&'a str),
    MsgPack(&'a [u8]),
}

/// Decodes a `T`, or a box of one (`F`), with the `fast` reader when it
/// can and with serde otherwise.
fn decode_with<T: Wire, F: From<T> + BorrowMut<T>>(
    bytes: &[u8],
    format: Format,
    fast: impl FnOnce(FastInput<'_>) -> Option<F>,
) -> Result<F, CodecError> {
    let slow = match format {
        // Validating UTF-8 once up front lets serde_json skip it per string.
        // simdutf8 checks a frame with SIMD (AVX2, SSE4.2 or NEON, chosen at
        // run time), about twice as fast as the standard library on large
        // frames; same answer.
        Format::Json => match simdutf8::basic::from_utf8(bytes) {
            Ok(text) => {
                if let Some(mut v) = fast(FastInput::Json(text)) {
                    v.borrow_mut().after_decode();
                    return Ok(v);
                }
                serde_json::from_str::<T>(text).ok()
            }
            Err(_) => None,
        },
        Format::MsgPack => {
            if let Some(mut v) = fast(FastInput::MsgPack(bytes)) {
                v.borrow_mut().after_decode();
                return Ok(v);
            }
            let mut de = msgpack_deserializer(bytes);
            match serde::Deserialize::deserialize(&mut de) {
                Ok(v) if msgpack_value_len(bytes) == Some(bytes.len()) => Some(v),
                Ok(_) => {
                    return Err(CodecError {
                        format,
                        direction: "decode",
                        path: ".".into(),
                        message: "trailing bytes after the value".into(),
                    });
                }
                Err(_) => None,
            }
        }
    };
    match slow {
        Some(mut v) => {
            v.after_decode();
            Ok(F::from(v))
        }
        None => Err(explain_decode_error::<T>(bytes, format)),
    }
}

/// How deep MessagePack values may nest: the same as serde_json's limit,
/// and shallow enough that decoding and dropping never exhaust a 2 MiB
/// thread stack, even in debug builds.
pub(crate) const MAX_DEPTH: usize = 128;

/// A MessagePack deserializer over `bytes` with the depth limit applied.
pub(crate) fn msgpack_deserializer(
    bytes: &[u8],
) -> rmp_serde::Deserializer<rmp_serde::decode::ReadRefReader<'_, [u8]>> {
    let mut de = rmp_serde::Deserializer::from_read_ref(bytes);
    de.set_max_depth(MAX_DEPTH);
    de
}

/// The length of the first MessagePack value in `bytes`, or `None` if it is
/// cut short or malformed. Iterative, so nesting depth costs no stack.
pub(crate) fn msgpack_value_len(bytes: &[u8]) -> Option<usize> {
    fn be(bytes: &[u8], at: usize, n: usize) -> Option<usize> {
        let slice = bytes.get(at..at.checked_add(n)?)?;
        Some(
            slice
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b)),
        )
    }
    let mut pos = 0usize;
    let mut pending = 1usize; // values still to skip
    while pending > 0 {
        pending -= 1;
        let b = *bytes.get(pos)?;
        pos += 1;
        let (skip, items) = match b {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => (0, 0),
            0x80..=0x8f => (0, 2 * usize::from(b & 0x0f)),
            0x90..=0x9f => (0, usize::from(b & 0x0f)),
            0xa0..=0xbf => (usize::from(b & 0x1f), 0),
            0xc4 | 0xd9 => (1 + be(bytes, pos, 1)?, 0),
            0xc5 | 0xda => (2 + be(bytes, pos, 2)?, 0),
            0xc6 | 0xdb => (4 + be(bytes, pos, 4)?, 0),
            0xc7 => (2 + be(bytes, pos, 1)?, 0),
            0xc8 => (3 + be(bytes, pos, 2)?, 0),
            0xc9 => (5 + be(bytes, pos, 4)?, 0),
            0xcc | 0xd0 => (1, 0),
            0xcd | 0xd1 => (2, 0),
            0xca | 0xce | 0xd2 => (4, 0),
            0xcb | 0xcf | 0xd3 => (8, 0),
            0xd4 => (2, 0),
            0xd5 => (3, 0),
            0xd6 => (5, 0),
            0xd7 => (9, 0),
            0xd8 => (17, 0),
            0xdc => (2, be(bytes, pos, 2)?),
            0xdd => (4, be(bytes, pos, 4)?),
            0xde => (2, 2 * be(bytes, pos, 2)?),
            0xdf => (4, be(bytes, pos, 4)?.checked_mul(2)?),
            0xc1 => return None,
        };
        pos = pos.checked_add(skip)?;
        if pos > bytes.len() {
            return None;
        }
        // Every value takes at least one byte: more than that is malformed.
        pending = pending.checked_add(items)?;
        if pending > bytes.len() - pos {
            return None;
        }
    }
    Some(pos)
}

/// Decodes a frame of the realtime protocol.
pub fn decode_protocol_message(
    bytes: &[u8],
    format: Format,
) -> Result<ProtocolMessage, CodecError> {
    decode(bytes, format)
}

/// Decodes a frame that is about to be delivered: as
/// [`decode_protocol_message`], and in a JSON frame the `data` of a message
/// or presence message whose whole `encoding` is `json` is also decoded
/// (RSL6) into [`crate::Data::Json`] with no encoding left, as
/// [`Message::decode`] would do next. Unescaping that text out of the frame
/// and checking it are one pass (see `json_in_json`), where the payload
/// decoder would read it again. Text that is not JSON, or that the pass
/// does not take, stays a string with its `json` encoding for the payload
/// decoder, which reports the error (RSL6b).
///
/// This is the client's receive path, with [`ProtocolMessage::fill_inherited_fields`]
/// and the payload decode of each message after it.
pub fn decode_received(bytes: &[u8], format: Format) -> Result<ProtocolMessage, CodecError> {
    decode_with::<ProtocolMessage, _>(bytes, format, |input| match input {
        FastInput::Json(text) => {
            fast_json::protocol_message(text, ProtocolMessage::new(Action::Heartbeat), true)
        }
        FastInput::MsgPack(bytes) => {
            fast_msgpack::protocol_message(bytes, ProtocolMessage::new(Action::Heartbeat))
        }
    })
}

/// [`decode_received`] into a box: the client's receive path hands
/// the frame on through several calls, and moving a pointer is cheaper
/// than moving the whole frame each time. The box of an earlier frame,
/// `spare`, is reused when given (one allocation less per frame).
pub(crate) fn decode_protocol_message_boxed(
    bytes: &[u8],
    format: Format,
    spare: Option<Box<ProtocolMessage>>,
) -> Result<Box<ProtocolMessage>, CodecError> {
    let out = match spare {
        Some(mut frame) => {
            *frame = ProtocolMessage::new(Action::Heartbeat);
            frame
        }
        None => Box::new(ProtocolMessage::new(Action::Heartbeat)),
    };
    decode_with::<ProtocolMessage, _>(bytes, format, |input| match input {
        FastInput::Json(text) => fast_json::protocol_message(text, out, true),
        FastInput::MsgPack(bytes) => fast_msgpack::protocol_message(bytes, out),
    })
}

/// Decodes a MessagePack frame with serde only, skipping the fast reader;
/// for tests and fuzzing, which check that both paths agree.
#[doc(hidden)]
pub fn decode_msgpack_via_serde(bytes: &[u8]) -> Result<ProtocolMessage, CodecError> {
    let mut de = msgpack_deserializer(bytes);
    match <ProtocolMessage as serde::Deserialize>::deserialize(&mut de) {
        Ok(mut v) if msgpack_value_len(bytes) == Some(bytes.len()) => {
            v.after_decode();
            Ok(v)
        }
        _ => Err(explain_decode_error::<ProtocolMessage>(
            bytes,
            Format::MsgPack,
        )),
    }
}

/// Decodes a JSON frame with serde only, skipping the fast reader; for
/// tests and fuzzing, which check that both paths agree.
#[doc(hidden)]
pub fn decode_json_via_serde(bytes: &[u8]) -> Result<ProtocolMessage, CodecError> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|text| serde_json::from_str::<ProtocolMessage>(text).ok())
        .map(|mut v| {
            v.after_decode();
            v
        })
        .ok_or_else(|| explain_decode_error::<ProtocolMessage>(bytes, Format::Json))
}

/// Decodes again, slowly, tracking the path, to say where decoding failed.
fn explain_decode_error<T: Wire>(bytes: &[u8], format: Format) -> CodecError {
    let (path, message) = match format {
        Format::Json => {
            let mut de = serde_json::Deserializer::from_slice(bytes);
            match serde_path_to_error::deserialize::<_, T>(&mut de) {
                Ok(_) => (
                    ".".to_string(),
                    "trailing characters after the value".to_string(),
                ),
                Err(e) => (e.path().to_string(), e.into_inner().to_string()),
            }
        }
        Format::MsgPack => {
            let mut de = msgpack_deserializer(bytes);
            match serde_path_to_error::deserialize::<_, T>(&mut de) {
                Ok(_) => (".".to_string(), "undecodable value".to_string()),
                Err(e) => (e.path().to_string(), e.into_inner().to_string()),
            }
        }
    };
    CodecError {
        format,
        direction: "decode",
        path,
        message,
    }
}

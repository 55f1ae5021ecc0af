//! Message payloads: string, binary, or structured JSON.

use std::fmt;

use base64::Engine as _;
use bytes::Bytes;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::Json;
use crate::encoding::BASE64;

/// The `data` of a Message or PresenceMessage.
///
/// On the wire, after encoding (RSL4), data is a string or binary; `Json`
/// holds structured data before it is encoded, after it is decoded, or when
/// a producer sent it unencoded. Decoded `json` data keeps its text and is
/// parsed only when looked at (see [`Json`]).
///
/// The size of `Data` (40 bytes on 64-bit targets) counts in every
/// `Message` and `PresenceMessage`; a test keeps it from growing.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Data {
    /// No data.
    #[default]
    None,
    /// A string.
    String(String),
    /// Binary data. MessagePack carries it as `bin`; JSON as base64 text
    /// with `base64` appended to the encoding.
    Binary(Bytes),
    /// Structured data: an object, array, number or boolean.
    Json(Json),
}

impl Data {
    /// Structured data holding `value` as it is (no mapping of `null` or
    /// strings, unlike `From<serde_json::Value>`).
    pub fn json(value: impl Into<Json>) -> Data {
        Data::Json(value.into())
    }

    /// Whether there is no data.
    pub fn is_none(&self) -> bool {
        matches!(self, Data::None)
    }

    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Data::String(s) => Some(s),
            _ => None,
        }
    }

    /// The bytes, if this is binary.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Data::Binary(b) => Some(b),
            _ => None,
        }
    }

    /// The JSON value, if this is structured data; received JSON text is
    /// parsed on the first call (see [`Json::value`]).
    pub fn as_json(&self) -> Option<&serde_json::Value> {
        match self {
            Data::Json(v) => Some(v.value()),
            _ => None,
        }
    }

    /// The size that counts towards maxMessageSize (TO3l8): string bytes,
    /// binary bytes, or the length of the JSON text.
    pub fn size(&self) -> usize {
        match self {
            Data::None => 0,
            Data::String(s) => s.len(),
            Data::Binary(b) => b.len(),
            Data::Json(v) => v.text_len(),
        }
    }
}

impl From<&str> for Data {
    fn from(s: &str) -> Data {
        Data::String(s.to_owned())
    }
}

impl From<String> for Data {
    fn from(s: String) -> Data {
        Data::String(s)
    }
}

impl From<Bytes> for Data {
    fn from(b: Bytes) -> Data {
        Data::Binary(b)
    }
}

impl From<Vec<u8>> for Data {
    fn from(b: Vec<u8>) -> Data {
        Data::Binary(Bytes::from(b))
    }
}

impl From<&[u8]> for Data {
    fn from(b: &[u8]) -> Data {
        Data::Binary(Bytes::copy_from_slice(b))
    }
}

impl From<serde_json::Value> for Data {
    fn from(v: serde_json::Value) -> Data {
        match v {
            serde_json::Value::Null => Data::None,
            serde_json::Value::String(s) => Data::String(s),
            v => Data::Json(v.into()),
        }
    }
}

impl From<Json> for Data {
    fn from(j: Json) -> Data {
        Data::Json(j)
    }
}

impl Serialize for Data {
    /// Binary becomes a base64 string in human-readable formats (JSON); the
    /// enclosing message appends `base64` to its encoding (see
    /// `wire_encoding`).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Data::None => s.serialize_unit(),
            Data::String(v) => s.serialize_str(v),
            Data::Binary(b) if s.is_human_readable() => s.serialize_str(&BASE64.encode(b)),
            Data::Binary(b) => s.serialize_bytes(b),
            Data::Json(v) => v.serialize(s),
        }
    }
}

/// The encoding to write next to `data` in a format: JSON carries binary as
/// base64, so `base64` is appended.
pub(crate) fn wire_encoding<'a>(
    data: &Data,
    encoding: Option<&'a str>,
    human_readable: bool,
) -> Option<std::borrow::Cow<'a, str>> {
    use std::borrow::Cow;
    match (data, encoding) {
        (Data::Binary(_), None) if human_readable => Some(Cow::Borrowed("base64")),
        (Data::Binary(_), Some(e)) if human_readable => Some(Cow::Owned(format!("{e}/base64"))),
        (_, e) => e.map(Cow::Borrowed),
    }
}

/// Undoes the transport form of binary: data that is a string whose encoding
/// ends in `base64` becomes binary and the step is removed. A string that is
/// not valid base64 is left as it is, for the payload decoder to report.
pub(crate) fn unwrap_base64(data: &mut Data, encoding: &mut Option<String>) {
    let Some(enc) = encoding.as_deref() else {
        return;
    };
    let Data::String(text) = data else {
        return;
    };
    let rest = match enc.rsplit_once('/') {
        Some((rest, "base64")) => Some(rest),
        None if enc == "base64" => None,
        _ => return,
    };
    if let Ok(bytes) = BASE64.decode(text.as_bytes()) {
        *data = Data::Binary(Bytes::from(bytes));
        *encoding = rest.map(str::to_owned);
    }
}

struct DataVisitor;

impl<'de> Visitor<'de> for DataVisitor {
    type Value = Data;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string, binary, or JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Data, E> {
        Ok(Data::None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Data, E> {
        Ok(Data::None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Data, D::Error> {
        d.deserialize_any(DataVisitor)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Data, E> {
        Ok(Data::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Data, E> {
        Ok(Data::String(v))
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Data, E> {
        Ok(Data::Binary(Bytes::copy_from_slice(v)))
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Data, E> {
        Ok(Data::Binary(Bytes::from(v)))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Data, E> {
        Ok(Data::json(serde_json::Value::from(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Data, E> {
        Ok(Data::json(serde_json::Value::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Data, E> {
        Ok(Data::json(serde_json::Value::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Data, E> {
        serde_json::Number::from_f64(v)
            .map(|n| Data::json(serde_json::Value::Number(n)))
            .ok_or_else(|| E::invalid_value(de::Unexpected::Float(v), &self))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Data, A::Error> {
        serde_json::Value::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(Data::json)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Data, A::Error> {
        serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(map)).map(Data::json)
    }
}

impl<'de> Deserialize<'de> for Data {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Data, D::Error> {
        d.deserialize_any(DataVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn data_is_no_larger_than_with_a_plain_json_value() {
        // 40 bytes before `Json` replaced `serde_json::Value`.
        assert!(std::mem::size_of::<Data>() <= 40);
        assert!(std::mem::size_of::<crate::Message>() <= 424);
        assert!(std::mem::size_of::<crate::PresenceMessage>() <= 200);
    }

    #[test]
    fn size_of_json_data_is_its_text_length_to3l8() {
        let received = Data::Json(Json::from_text("{ \"a\": 1 }").expect("valid"));
        assert_eq!(received.size(), 10);
        assert_eq!(Data::json(serde_json::json!({"a": 1})).size(), 7);
    }

    #[test]
    fn unwrap_base64_strips_only_a_trailing_step() {
        let mut data = Data::from("3q2+7w==");
        let mut enc = Some("utf-8/cipher+aes-128-cbc/base64".to_owned());
        unwrap_base64(&mut data, &mut enc);
        assert_eq!(data, Data::from(vec![0xde, 0xad, 0xbe, 0xef]));
        assert_eq!(enc.as_deref(), Some("utf-8/cipher+aes-128-cbc"));

        let mut data = Data::from("3q2+7w==");
        let mut enc = Some("base64".to_owned());
        unwrap_base64(&mut data, &mut enc);
        assert!(data.as_bytes().is_some());
        assert_eq!(enc, None);

        let mut data = Data::from("not base64!");
        let mut enc = Some("base64".to_owned());
        unwrap_base64(&mut data, &mut enc);
        assert_eq!(data, Data::from("not base64!"));
        assert_eq!(enc.as_deref(), Some("base64"));

        let mut data = Data::from("abc");
        let mut enc = Some("base64/json".to_owned());
        unwrap_base64(&mut data, &mut enc);
        assert_eq!(data, Data::from("abc"));
    }
}

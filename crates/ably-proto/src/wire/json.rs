//! Structured payloads (`Data::Json`), parsed lazily when they come from
//! the wire.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;
use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::json_validate::{self, JsonSyntaxError};

/// Structured message data: a JSON object, array, number or boolean.
///
/// Either a value given by the caller ([`From<serde_json::Value>`]), or JSON
/// text received with the `json` encoding (RSL6), checked when it was
/// decoded but not parsed into a tree. Received text is parsed at most
/// once, on the first call of [`Json::value`] (or of anything that goes
/// through it, like `Deref`); [`Json::deserialize`] reads the text straight
/// into a type of the caller's, with no tree in between, and
/// [`Json::to_text`] gives the received text back as it was, so forwarding
/// or republishing the data (RSL4) is a copy.
///
/// Equality is by value: `{"a":1}` and `{ "a": 1 }` are equal. `Debug`,
/// `Serialize` and `Deserialize` also work on the value.
///
/// ```
/// use ably_proto::Json;
/// use serde_json::json;
///
/// let received = Json::from_text(r#"{"sku": "A-1", "qty": 2}"#).unwrap();
/// assert_eq!(received.text(), Some(r#"{"sku": "A-1", "qty": 2}"#));
/// assert_eq!(received["qty"], 2); // parsed here, once
/// assert_eq!(received, Json::from(json!({"qty": 2, "sku": "A-1"})));
///
/// #[derive(serde::Deserialize)]
/// struct Line { sku: String, qty: u32 }
/// let line: Line = received.deserialize().unwrap();
/// assert_eq!((line.sku.as_str(), line.qty), ("A-1", 2));
/// ```
#[derive(Clone)]
pub struct Json(Repr);

#[derive(Clone)]
enum Repr {
    /// A value given by the caller.
    Value(Value),
    /// Validated text, and its value once parsed. The value is boxed so
    /// that [`super::Data`] stays as small as it was with a plain
    /// `serde_json::Value` (40 bytes), with no allocation beyond the text's
    /// until the value is needed.
    Text {
        text: String,
        value: OnceLock<Box<Value>>,
    },
}

impl Json {
    /// Takes JSON text as it is, after checking that it is one JSON value
    /// that `serde_json` can parse (see [`JsonSyntaxError`]).
    pub fn from_text(text: impl Into<String>) -> Result<Json, JsonSyntaxError> {
        Json::try_from_text(text.into()).map_err(|(_, e)| e)
    }

    /// [`Json::from_text`], giving the text back when it is not JSON.
    pub(crate) fn try_from_text(text: String) -> Result<Json, (String, JsonSyntaxError)> {
        match json_validate::validate(&text) {
            Ok(()) => Ok(Json(Repr::Text {
                text,
                value: OnceLock::new(),
            })),
            Err(e) => Err((text, e)),
        }
    }

    /// Takes text that [`json_validate::validate`] accepts, without checking
    /// it again (checked in debug builds).
    pub(crate) fn from_checked_text(text: String) -> Json {
        debug_assert!(json_validate::validate(&text).is_ok(), "{text}");
        Json(Repr::Text {
            text,
            value: OnceLock::new(),
        })
    }

    /// Whether the data is an object or an array, the structured data RSL4a
    /// allows; for received text, told from its first byte without parsing.
    pub(crate) fn is_object_or_array(&self) -> bool {
        match &self.0 {
            Repr::Value(v) => v.is_object() || v.is_array(),
            Repr::Text { text, .. } => matches!(
                text.trim_start_matches([' ', '\t', '\n', '\r'])
                    .as_bytes()
                    .first(),
                Some(b'{' | b'[')
            ),
        }
    }

    /// The value, parsed from the text on the first call when this holds
    /// received text.
    pub fn value(&self) -> &Value {
        match &self.0 {
            Repr::Value(v) => v,
            Repr::Text { text, value } => value.get_or_init(|| Box::new(parse(text))),
        }
    }

    /// Deserializes the data into `T`: straight from the text when this
    /// holds received text not parsed yet, else from the value.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        match &self.0 {
            Repr::Text { text, value } => match value.get() {
                Some(v) => T::deserialize(&**v),
                None => serde_json::from_str(text),
            },
            Repr::Value(v) => T::deserialize(v),
        }
    }

    /// The JSON text as received, if this came from text.
    pub fn text(&self) -> Option<&str> {
        match &self.0 {
            Repr::Text { text, .. } => Some(text),
            Repr::Value(_) => None,
        }
    }

    /// The JSON text: as received, or the value serialized compactly.
    pub fn to_text(&self) -> Cow<'_, str> {
        match &self.0 {
            Repr::Text { text, .. } => Cow::Borrowed(text),
            Repr::Value(v) => Cow::Owned(compact(v)),
        }
    }

    /// The JSON text, without a copy when this holds received text.
    pub fn into_text(self) -> String {
        match self.0 {
            Repr::Text { text, .. } => text,
            Repr::Value(v) => compact(&v),
        }
    }

    /// The value, parsed from the text if it was not yet.
    pub fn into_value(self) -> Value {
        match self.0 {
            Repr::Value(v) => v,
            Repr::Text { text, value } => value.into_inner().map_or_else(|| parse(&text), |v| *v),
        }
    }

    /// The length in bytes of [`Json::to_text`], without building the text
    /// when this holds received text (TO3l8).
    pub fn text_len(&self) -> usize {
        match &self.0 {
            Repr::Text { text, .. } => text.len(),
            Repr::Value(v) => compact(v).len(),
        }
    }
}

/// A value as compact JSON text. `serde_json::to_string` writes into a
/// byte buffer; `Value`'s `Display` goes through `fmt::Write`, which is
/// about half as fast. Serializing a `Value` cannot fail (its keys are
/// strings).
fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Parses validated text. Validation accepts exactly what serde_json
/// parses, so the fallback is never taken.
fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

impl From<Value> for Json {
    fn from(v: Value) -> Json {
        Json(Repr::Value(v))
    }
}

impl From<Json> for Value {
    fn from(j: Json) -> Value {
        j.into_value()
    }
}

impl Deref for Json {
    type Target = Value;

    fn deref(&self) -> &Value {
        self.value()
    }
}

impl AsRef<Value> for Json {
    fn as_ref(&self) -> &Value {
        self.value()
    }
}

impl PartialEq for Json {
    fn eq(&self, other: &Json) -> bool {
        match (self.text(), other.text()) {
            (Some(a), Some(b)) if a == b => true,
            _ => self.value() == other.value(),
        }
    }
}

impl PartialEq<Value> for Json {
    fn eq(&self, other: &Value) -> bool {
        self.value() == other
    }
}

impl PartialEq<Json> for Value {
    fn eq(&self, other: &Json) -> bool {
        self == other.value()
    }
}

impl fmt::Debug for Json {
    /// The value's `Debug`, so that a received and a built payload of the
    /// same value print alike.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.value(), f)
    }
}

impl fmt::Display for Json {
    /// The JSON text (see [`Json::to_text`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Json, D::Error> {
        Value::deserialize(d).map(Json::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn received_text_is_kept_and_parsed_once() {
        let j = Json::from_text("{ \"a\": [1, 2] }").expect("valid");
        assert_eq!(j.text(), Some("{ \"a\": [1, 2] }"));
        assert_eq!(j.text_len(), 15);
        let first: *const Value = j.value();
        let second: *const Value = j.value();
        assert_eq!(first, second);
        assert_eq!(j["a"][1], 2);
        assert_eq!(j.to_text(), "{ \"a\": [1, 2] }");
        assert_eq!(j.clone().into_text(), "{ \"a\": [1, 2] }");
        assert_eq!(j.into_value(), json!({"a": [1, 2]}));
    }

    #[test]
    fn a_value_serializes_compactly() {
        let j = Json::from(json!({"a": [1, "x"]}));
        assert_eq!(j.text(), None);
        assert_eq!(j.to_text(), r#"{"a":[1,"x"]}"#);
        assert_eq!(j.text_len(), 13);
        assert_eq!(j.to_string(), r#"{"a":[1,"x"]}"#);
    }

    #[test]
    fn equality_is_by_value() {
        let text = Json::from_text("{\"b\": 2, \"a\": 1}").expect("valid");
        let other_text = Json::from_text("{\"a\":1,\"b\":2}").expect("valid");
        let value = Json::from(json!({"a": 1, "b": 2}));
        assert_eq!(text, value);
        assert_eq!(value, text);
        assert_eq!(text, other_text);
        assert_eq!(text, json!({"a": 1, "b": 2}));
        assert_ne!(text, Json::from(json!({"a": 1})));
        assert_eq!(format!("{text:?}"), format!("{value:?}"));
    }

    #[test]
    fn deserializes_from_text_or_value() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Order {
            id: String,
            qty: u32,
        }
        let want = Order {
            id: "o-1".into(),
            qty: 3,
        };
        let text = Json::from_text(r#"{"id":"o-1","qty":3}"#).expect("valid");
        assert_eq!(text.deserialize::<Order>().expect("from text"), want);
        let _ = text.value();
        assert_eq!(text.deserialize::<Order>().expect("from value"), want);
        let value = Json::from(json!({"id": "o-1", "qty": 3}));
        assert_eq!(value.deserialize::<Order>().expect("from value"), want);
        assert!(value.deserialize::<Vec<u8>>().is_err());
    }

    #[test]
    fn invalid_text_is_refused() {
        let e = Json::from_text("{\"a\":").unwrap_err();
        assert_eq!(e.to_string(), "unexpected end, expected a value at byte 5");
        assert!(Json::from_text("1e999").is_err());
    }

    #[test]
    fn serde_goes_through_the_value() {
        let j = Json::from_text("[1, {\"x\": null}]").expect("valid");
        assert_eq!(
            serde_json::to_string(&j).expect("serialize"),
            r#"[1,{"x":null}]"#
        );
        let back: Json = serde_json::from_str(r#"[1,{"x":null}]"#).expect("deserialize");
        assert_eq!(back, j);
        assert_eq!(back.text(), None);
    }

    #[test]
    fn is_send_and_sync() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Json>();
    }
}

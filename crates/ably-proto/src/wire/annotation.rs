//! Annotation (TAN).
//!
//! [`ProtocolMessage::annotations`](super::ProtocolMessage::annotations)
//! keeps annotations as opaque values so that frames round-trip exactly;
//! [`Annotation::from_value`] and [`Annotation::to_value`] convert.

use serde::{Deserialize, Serialize, Serializer};

use super::data::{Data, wire_encoding};
use super::lenient;
use super::present::serialize_present;
use super::wire_enum::wire_enum;

wire_enum! {
    /// The action of an Annotation (TAN2b).
    pub enum AnnotationAction {
        /// An annotation was added.
        Create = 0,
        /// An annotation was removed.
        Delete = 1,
    }
}

/// An annotation of a message (TAN1, TAN2).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Annotation {
    /// Unique id (TAN2a).
    #[serde(default)]
    pub id: Option<String>,
    /// Create or delete (TAN2b).
    #[serde(default)]
    pub action: Option<AnnotationAction>,
    /// The publisher's clientId (TAN2c).
    #[serde(default)]
    pub client_id: Option<String>,
    /// A name (TAN2d).
    #[serde(default)]
    pub name: Option<String>,
    /// A count (TAN2e).
    #[serde(default, deserialize_with = "lenient::opt_int")]
    pub count: Option<i64>,
    /// The payload, encoded per RSL4 (TAN2f).
    #[serde(default)]
    pub data: Data,
    /// Transforms applied to `data` (TAN2g).
    #[serde(default)]
    pub encoding: Option<String>,
    /// When the service received it, ms since the epoch (TAN2h).
    #[serde(default, deserialize_with = "lenient::opt_int")]
    pub timestamp: Option<i64>,
    /// Assigned by the service (TAN2i).
    #[serde(default)]
    pub serial: Option<String>,
    /// The serial of the annotated message (TAN2j).
    #[serde(default)]
    pub message_serial: Option<String>,
    /// The annotation type, opaque to the SDK (TAN2k).
    #[serde(default, rename = "type")]
    pub annotation_type: Option<String>,
    /// Arbitrary metadata (TAN2l).
    #[serde(default)]
    pub extras: Option<serde_json::Value>,
}

impl Annotation {
    /// An annotation of a type, to publish.
    pub fn new(annotation_type: impl Into<String>) -> Annotation {
        Annotation {
            annotation_type: Some(annotation_type.into()),
            ..Annotation::default()
        }
    }

    /// The size that counts towards maxMessageSize, as for a message
    /// (RSAN1a4, TO3l8): name, data, clientId and the JSON length of extras.
    pub fn size(&self) -> usize {
        let extras = self
            .extras
            .as_ref()
            .map_or(0, |e| serde_json::to_string(e).map_or(0, |s| s.len()));
        self.name.as_ref().map_or(0, String::len)
            + self.data.size()
            + self.client_id.as_ref().map_or(0, String::len)
            + extras
    }

    /// Reads an annotation from the opaque form a ProtocolMessage carries.
    pub fn from_value(value: rmpv::Value) -> Result<Annotation, rmpv::ext::Error> {
        rmpv::ext::from_value(value)
    }

    /// The opaque form a ProtocolMessage carries. Binary data becomes base64
    /// text with `base64` appended to the encoding, which both formats carry.
    pub fn to_value(&self) -> Result<rmpv::Value, rmpv::ext::Error> {
        rmpv::ext::to_value(self)
    }
}

impl Serialize for Annotation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let encoding = wire_encoding(&self.data, self.encoding.as_deref(), s.is_human_readable());
        serialize_present!(s, {
            "id" => &self.id,
            "action" => &self.action,
            "clientId" => &self.client_id,
            "name" => &self.name,
            "count" => &self.count,
            "encoding" => &encoding,
            "data" => &self.data,
            "timestamp" => &self.timestamp,
            "serial" => &self.serial,
            "messageSerial" => &self.message_serial,
            "type" => &self.annotation_type,
            "extras" => &self.extras,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_the_opaque_form() {
        let a = Annotation {
            action: Some(AnnotationAction::Delete),
            message_serial: Some("m1".into()),
            count: Some(3),
            data: Data::from("x"),
            ..Annotation::new("com.example.reaction")
        };
        let v = a.to_value().expect("to value");
        assert_eq!(Annotation::from_value(v).expect("from value"), a);
    }
}

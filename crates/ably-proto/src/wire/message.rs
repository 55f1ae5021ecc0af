//! Message (TM2).

use serde::{Deserialize, Serialize, Serializer};

use super::data::{Data, wire_encoding};
use super::lenient;
use super::present::serialize_present;
use super::wire_enum::wire_enum;

wire_enum! {
    /// The action of a Message (TM5).
    pub enum MessageAction {
        /// A new message.
        Create = 0,
        /// An update of an earlier message.
        Update = 1,
        /// A deletion of an earlier message.
        Delete = 2,
        /// Metadata.
        Meta = 3,
        /// A summary of annotations.
        Summary = 4,
        /// An append to an earlier message.
        Append = 5,
    }
}

/// A message published on a channel (TM2).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// Unique id (TM2a); filled from the ProtocolMessage id when missing.
    #[serde(default)]
    pub id: Option<String>,
    /// The publisher's clientId (TM2b).
    #[serde(default)]
    pub client_id: Option<String>,
    /// The publisher's connectionId (TM2c).
    #[serde(default)]
    pub connection_id: Option<String>,
    /// Set only when publishing on behalf of another connection (TM2h).
    #[serde(default)]
    pub connection_key: Option<String>,
    /// Event name (TM2g).
    #[serde(default)]
    pub name: Option<String>,
    /// Transforms applied to `data`, left to right (TM2e, RSL4).
    #[serde(default)]
    pub encoding: Option<String>,
    /// The payload (TM2d).
    #[serde(default)]
    pub data: Data,
    /// Opaque metadata: push, headers, ref, delta (TM2i).
    #[serde(default)]
    pub extras: Option<serde_json::Value>,
    /// Milliseconds since the epoch (TM2f).
    #[serde(default, deserialize_with = "lenient::opt_int")]
    pub timestamp: Option<i64>,
    /// What the message does to the message identified by `serial` (TM2j).
    #[serde(default)]
    pub action: Option<MessageAction>,
    /// Opaque identifier assigned by the service (TM2r).
    #[serde(default)]
    pub serial: Option<String>,
    /// The latest version of the message (TM2s); boxed, as few messages
    /// have one, to keep `Message` small.
    #[serde(default)]
    pub version: Option<Box<MessageVersion>>,
    /// Annotation summaries (TM2u); opaque here.
    #[serde(default)]
    pub annotations: Option<serde_json::Value>,
}

/// The version of a message (TM2s).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageVersion {
    /// Identifies this version (TM2s1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// When this version was made (TM2s2).
    #[serde(
        default,
        deserialize_with = "lenient::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub timestamp: Option<i64>,
    /// Who made this version (TM2s3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Why (TM2s4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Arbitrary string pairs (TM2s5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<std::collections::BTreeMap<String, String>>,
}

impl Message {
    /// A message with a name and data, to publish.
    pub fn new(name: impl Into<String>, data: impl Into<Data>) -> Message {
        Message {
            name: Some(name.into()),
            data: data.into(),
            ..Message::default()
        }
    }

    /// The size that counts towards maxMessageSize (TM6): name, data,
    /// clientId and the JSON length of extras.
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

    /// Undoes the transport form of binary data (see [`Data`]).
    pub(crate) fn unwrap_base64(&mut self) {
        super::data::unwrap_base64(&mut self.data, &mut self.encoding);
    }
}

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Binary data in JSON is base64 text, so the encoding gains a step.
        let encoding = wire_encoding(&self.data, self.encoding.as_deref(), s.is_human_readable());
        serialize_present!(s, {
            "id" => &self.id,
            "clientId" => &self.client_id,
            "connectionId" => &self.connection_id,
            "connectionKey" => &self.connection_key,
            "name" => &self.name,
            "encoding" => &encoding,
            "data" => &self.data,
            "extras" => &self.extras,
            "timestamp" => &self.timestamp,
            "action" => &self.action,
            "serial" => &self.serial,
            "version" => &self.version,
            "annotations" => &self.annotations,
        })
    }
}

//! PresenceMessage (TP3).

use serde::{Deserialize, Serialize, Serializer};

use super::data::{Data, wire_encoding};
use super::lenient;
use super::present::serialize_present;
use super::wire_enum::wire_enum;

wire_enum! {
    /// The action of a PresenceMessage (TP2).
    pub enum PresenceAction {
        /// Not present (used in queries).
        Absent = 0,
        /// Present: a member reported by SYNC or get.
        Present = 1,
        /// A member entered.
        Enter = 2,
        /// A member left.
        Leave = 3,
        /// A member updated its data.
        Update = 4,
    }
}

/// A presence event or member (TP3).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceMessage {
    /// Unique id, `connectionId:msgSerial:index` when assigned by the
    /// service (TP3a).
    #[serde(default)]
    pub id: Option<String>,
    /// What happened (TP3b).
    #[serde(default = "default_action")]
    pub action: PresenceAction,
    /// The member's clientId (TP3c).
    #[serde(default)]
    pub client_id: Option<String>,
    /// The member's connectionId (TP3d).
    #[serde(default)]
    pub connection_id: Option<String>,
    /// Transforms applied to `data` (TP3f).
    #[serde(default)]
    pub encoding: Option<String>,
    /// The member's data (TP3e).
    #[serde(default)]
    pub data: Data,
    /// Opaque metadata (TP3i).
    #[serde(default)]
    pub extras: Option<serde_json::Value>,
    /// Milliseconds since the epoch (TP3g).
    #[serde(default, deserialize_with = "lenient::opt_int")]
    pub timestamp: Option<i64>,
}

fn default_action() -> PresenceAction {
    PresenceAction::Absent
}

impl PresenceMessage {
    /// A presence message with an action, clientId and data.
    pub fn new(action: PresenceAction, client_id: Option<String>, data: impl Into<Data>) -> Self {
        PresenceMessage {
            id: None,
            action,
            client_id,
            connection_id: None,
            encoding: None,
            data: data.into(),
            extras: None,
            timestamp: None,
        }
    }

    /// The key of this member in a presence set: connectionId and clientId
    /// (TP3h).
    pub fn member_key(&self) -> String {
        format!(
            "{}:{}",
            self.connection_id.as_deref().unwrap_or(""),
            self.client_id.as_deref().unwrap_or("")
        )
    }

    /// The size that counts towards maxMessageSize (TP5), computed as for
    /// a Message (TM6): data, clientId and the JSON length of extras.
    pub fn size(&self) -> usize {
        let extras = self
            .extras
            .as_ref()
            .map_or(0, |e| serde_json::to_string(e).map_or(0, |s| s.len()));
        self.data.size() + self.client_id.as_ref().map_or(0, String::len) + extras
    }

    /// Undoes the transport form of binary data (see [`Data`]).
    pub(crate) fn unwrap_base64(&mut self) {
        super::data::unwrap_base64(&mut self.data, &mut self.encoding);
    }
}

impl Serialize for PresenceMessage {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let encoding = wire_encoding(&self.data, self.encoding.as_deref(), s.is_human_readable());
        let action = Some(self.action);
        serialize_present!(s, {
            "id" => &self.id,
            "action" => &action,
            "clientId" => &self.client_id,
            "connectionId" => &self.connection_id,
            "encoding" => &encoding,
            "data" => &self.data,
            "extras" => &self.extras,
            "timestamp" => &self.timestamp,
        })
    }
}

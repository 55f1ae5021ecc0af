//! ProtocolMessage (TR4): the unit of the realtime protocol, one per frame.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::lenient;
use super::{Action, AuthDetails, ConnectionDetails, Flags, Message, PresenceMessage};
use crate::ErrorInfo;

/// One frame of the realtime protocol (TR4).
///
/// Every field of protocol v6 is here; unknown fields are ignored on decode.
/// Lists that are absent decode as empty, and empty lists are not written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProtocolMessage {
    /// What the frame does (TR4a). An absent action reads as 0 (HEARTBEAT),
    /// the zero value in every SDK.
    #[serde(default = "heartbeat")]
    pub action: Action,
    /// Bit flags (TR4i, TR3).
    #[serde(default, skip_serializing_if = "Flags::is_empty")]
    pub flags: Flags,
    /// Usually `connectionId:msgSerial` (TR4n).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Milliseconds since the epoch (TR4m).
    #[serde(
        default,
        deserialize_with = "lenient::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub timestamp: Option<i64>,
    /// Number of messages an ACK or NACK covers (TR4g).
    #[serde(
        default,
        deserialize_with = "lenient::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub count: Option<u32>,
    /// The error, in ERROR, NACK, DETACHED, DISCONNECTED and more (TR4h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    /// The connection's public id (TR4d).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    /// The channel this frame is about (TR4b).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Position in the channel, for resuming an attachment (TR4c, RTL15b).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_serial: Option<String>,
    /// Serial of a published frame, echoed in ACK/NACK (TR4j).
    #[serde(
        default,
        deserialize_with = "lenient::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub msg_serial: Option<u64>,
    /// Messages (TR4k).
    #[serde(
        default,
        deserialize_with = "lenient::nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub messages: Vec<Message>,
    /// Presence messages (TR4l).
    #[serde(
        default,
        deserialize_with = "lenient::nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub presence: Vec<PresenceMessage>,
    /// Annotations, kept opaque.
    #[serde(
        default,
        deserialize_with = "lenient::nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub annotations: Vec<rmpv::Value>,
    /// LiveObjects messages, kept opaque (TR4r).
    #[serde(
        default,
        deserialize_with = "lenient::nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub state: Vec<rmpv::Value>,
    /// Credentials for in-band re-authentication (TR4p, RTC8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthDetails>,
    /// Connection limits and identity, in CONNECTED (TR4o).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_details: Option<ConnectionDetails>,
    /// Channel params requested in ATTACH and granted in ATTACHED (TR4q).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<BTreeMap<String, String>>,
    /// Per published frame, the serials assigned to its messages (TR4s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub res: Option<Vec<PublishResult>>,
}

/// `<id>:<index>`, built without the formatting machinery (hot path).
fn indexed_id(id: &str, index: usize) -> String {
    let mut digits = [0u8; 20];
    let mut n = index;
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let mut out = String::with_capacity(id.len() + 1 + digits.len() - at);
    out.push_str(id);
    out.push(':');
    for d in &digits[at..] {
        out.push(char::from(*d));
    }
    out
}

fn heartbeat() -> Action {
    Action::Heartbeat
}

/// The serials the service gave the messages of one published frame (PBR2).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishResult {
    /// One per message; `None` when a message was conflated away (PBR2a).
    #[serde(default, deserialize_with = "lenient::nullable")]
    pub serials: Vec<Option<String>>,
}

impl ProtocolMessage {
    /// A frame with only an action.
    pub fn new(action: Action) -> ProtocolMessage {
        ProtocolMessage {
            action,
            flags: Flags::NONE,
            id: None,
            timestamp: None,
            count: None,
            error: None,
            connection_id: None,
            channel: None,
            channel_serial: None,
            msg_serial: None,
            messages: Vec::new(),
            presence: Vec::new(),
            annotations: Vec::new(),
            state: Vec::new(),
            auth: None,
            connection_details: None,
            params: None,
            res: None,
        }
    }

    /// A frame about a channel.
    pub fn for_channel(action: Action, channel: impl Into<String>) -> ProtocolMessage {
        ProtocolMessage {
            channel: Some(channel.into()),
            ..ProtocolMessage::new(action)
        }
    }

    /// Whether a flag is set.
    pub fn has_flag(&self, flag: Flags) -> bool {
        self.flags.contains(flag)
    }

    /// Fills the fields that received messages inherit from their frame
    /// (TM2a, TM2c, TM2f, TP3a, TP3d, TP3g): a missing id becomes
    /// `<frame id>:<index>`, a missing connectionId and timestamp come from
    /// the frame.
    pub fn fill_inherited_fields(&mut self) {
        self.fill_inherited(false);
    }

    /// As [`ProtocolMessage::fill_inherited_fields`], for a frame about to
    /// be taken apart: the last message that inherits the connectionId
    /// takes the frame's own (one copy less), leaving the frame's empty.
    pub(crate) fn take_inherited_fields(&mut self) {
        self.fill_inherited(true);
    }

    fn fill_inherited(&mut self, take: bool) {
        let id = self.id.as_deref();
        let mut connection_id = self.connection_id.take();
        let timestamp = self.timestamp;
        let mut left = self.messages.len() + self.presence.len();
        let mut inherit = |own: &mut Option<String>| {
            left -= 1;
            if own.is_none() {
                *own = if take && left == 0 {
                    connection_id.take()
                } else {
                    connection_id.clone()
                };
            }
        };
        for (i, m) in self.messages.iter_mut().enumerate() {
            if m.id.is_none() {
                m.id = id.map(|id| indexed_id(id, i));
            }
            inherit(&mut m.connection_id);
            if m.timestamp.is_none() {
                m.timestamp = timestamp;
            }
        }
        for (i, p) in self.presence.iter_mut().enumerate() {
            if p.id.is_none() {
                p.id = id.map(|id| indexed_id(id, i));
            }
            inherit(&mut p.connection_id);
            if p.timestamp.is_none() {
                p.timestamp = timestamp;
            }
        }
        self.connection_id = connection_id;
    }

    /// Undoes the transport form of binary data in every message.
    pub(crate) fn unwrap_base64(&mut self) {
        self.messages.iter_mut().for_each(Message::unwrap_base64);
        self.presence
            .iter_mut()
            .for_each(PresenceMessage::unwrap_base64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_heir_takes_the_connection_id_tm2c() {
        let mut pm = ProtocolMessage::new(Action::Message);
        pm.id = Some("f".into());
        pm.connection_id = Some("conn".into());
        pm.messages = vec![Message::default(), Message::default()];
        let mut filled = pm.clone();
        filled.fill_inherited_fields();
        pm.take_inherited_fields();
        assert_eq!(pm.messages, filled.messages);
        assert_eq!(pm.messages[1].connection_id.as_deref(), Some("conn"));
        assert_eq!(pm.messages[1].id.as_deref(), Some("f:1"));
        assert_eq!(pm.connection_id, None, "taken by the last message");
        assert_eq!(filled.connection_id.as_deref(), Some("conn"), "kept");
    }

    #[test]
    fn a_last_message_with_its_own_connection_id_takes_nothing() {
        let mut pm = ProtocolMessage::new(Action::Message);
        pm.connection_id = Some("conn".into());
        pm.messages = vec![
            Message::default(),
            Message {
                connection_id: Some("own".into()),
                ..Message::default()
            },
        ];
        pm.take_inherited_fields();
        assert_eq!(pm.messages[0].connection_id.as_deref(), Some("conn"));
        assert_eq!(pm.messages[1].connection_id.as_deref(), Some("own"));
        assert_eq!(pm.connection_id.as_deref(), Some("conn"));
    }
}

//! MessageFilter (MFI): the criteria of a filtered subscription (RTL22).
//!
//! The core delivers every message of an attached channel
//! ([`Event::Message`](super::Event::Message)); listeners and their
//! filters live in the adapter, which uses [`MessageFilter::matches`] so
//! that every adapter filters alike.

use crate::Message;

/// Criteria a message must all meet (MFI1, MFI2, RTL22c). Empty criteria
/// match every message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MessageFilter {
    /// Whether the message must (`true`) or must not (`false`) have
    /// `extras.ref` (MFI2a, RTL22b).
    pub is_ref: Option<bool>,
    /// `extras.ref.timeserial` must equal this (MFI2b).
    pub ref_timeserial: Option<String>,
    /// `extras.ref.type` must equal this (MFI2c).
    pub ref_type: Option<String>,
    /// `name` must equal this (MFI2d); also what a name-only subscription
    /// checks (RTL7b).
    pub name: Option<String>,
    /// `clientId` must equal this (MFI2e).
    pub client_id: Option<String>,
}

impl MessageFilter {
    /// A filter on the name only (RTL7b).
    pub fn name(name: impl Into<String>) -> MessageFilter {
        MessageFilter {
            name: Some(name.into()),
            ..MessageFilter::default()
        }
    }

    /// Whether a message meets every criterion given (RTL22a, RTL22c).
    pub fn matches(&self, message: &Message) -> bool {
        let reference = message.extras.as_ref().and_then(|e| e.get("ref"));
        let ref_field = |key: &str| reference.and_then(|r| r.get(key)).and_then(|v| v.as_str());
        let same = |want: &Option<String>, have: Option<&str>| {
            want.as_deref().is_none_or(|w| have == Some(w))
        };
        self.is_ref.is_none_or(|want| want == reference.is_some())
            && same(&self.ref_timeserial, ref_field("timeserial"))
            && same(&self.ref_type, ref_field("type"))
            && same(&self.name, message.name.as_deref())
            && same(&self.client_id, message.client_id.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn all_criteria_must_hold() {
        let mut m = Message::new("comment", "x");
        m.extras = Some(json!({"ref": {"timeserial": "t1", "type": "com.ably.reply"}}));
        let f = MessageFilter {
            name: Some("comment".into()),
            ref_type: Some("com.ably.reply".into()),
            ..MessageFilter::default()
        };
        assert!(f.matches(&m));
        assert!(!MessageFilter::name("other").matches(&m));
        let no_ref = MessageFilter {
            is_ref: Some(false),
            ..MessageFilter::default()
        };
        assert!(!no_ref.matches(&m));
        assert!(no_ref.matches(&Message::new("plain", "y")));
        assert!(MessageFilter::default().matches(&m));
    }
}

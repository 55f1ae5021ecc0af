//! Per-app limits: the `limits` object of a `POST /apps` spec, applied
//! over the hub-wide limits of [`super::HubConfig`].
//!
//! ```json
//! "limits": {
//!   "presence": {"maxMembers": 250},
//!   "message": {"maxSize": 65536},
//!   "history": {"maxAge": 120000, "maxMessages": 1000}
//! }
//! ```
//!
//! Every value is a non-negative integer (sizes in bytes, ages in ms).
//! Unknown sections and keys are ignored; a known one of the wrong type is
//! refused with 40000.

use ably_proto::ErrorInfo;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The limits of one app; `None` means the hub-wide value applies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppLimits {
    /// `presence.maxMembers`: members per channel; an enter beyond it is
    /// refused with 91003.
    pub max_presence_members: Option<usize>,
    /// `message.maxSize`: bytes of the messages of one publish (40009
    /// beyond); reported to connections as `maxMessageSize`.
    pub max_message_size: Option<usize>,
    /// `history.maxAge` (ms): how long channels outside persisted
    /// namespaces keep history.
    pub history_max_age_ms: Option<i64>,
    /// `history.maxMessages`: messages kept per channel outside persisted
    /// namespaces.
    pub history_max_messages: Option<usize>,
}

fn invalid(why: String) -> ErrorInfo {
    ErrorInfo::new(40000, 400, format!("invalid app spec: {why}"))
}

/// A known section: absent, or an object.
fn section<'a>(
    limits: &'a serde_json::Map<String, Value>,
    name: &str,
) -> Result<Option<&'a serde_json::Map<String, Value>>, ErrorInfo> {
    match limits.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(_) => Err(invalid(format!("'limits.{name}' must be an object"))),
    }
}

/// A known key: absent, or a non-negative integer.
fn count(
    section: Option<&serde_json::Map<String, Value>>,
    path: &str,
    key: &str,
) -> Result<Option<u64>, ErrorInfo> {
    match section.and_then(|s| s.get(key)) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| {
            invalid(format!(
                "'limits.{path}.{key}' must be a non-negative integer, not {v}"
            ))
        }),
    }
}

fn size(n: Option<u64>) -> Option<usize> {
    n.map(|n| usize::try_from(n).unwrap_or(usize::MAX))
}

impl AppLimits {
    /// Reads the `limits` of an app spec (absent or `null`: none).
    pub fn parse(limits: Option<&Value>) -> Result<AppLimits, ErrorInfo> {
        let limits = match limits {
            None | Some(Value::Null) => return Ok(AppLimits::default()),
            Some(Value::Object(o)) => o,
            Some(_) => return Err(invalid("'limits' must be an object".into())),
        };
        let presence = section(limits, "presence")?;
        let message = section(limits, "message")?;
        let history = section(limits, "history")?;
        Ok(AppLimits {
            max_presence_members: size(count(presence, "presence", "maxMembers")?),
            max_message_size: size(count(message, "message", "maxSize")?),
            history_max_age_ms: count(history, "history", "maxAge")?
                .map(|ms| i64::try_from(ms).unwrap_or(i64::MAX)),
            history_max_messages: size(count(history, "history", "maxMessages")?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn limits_are_read_and_unknown_keys_ignored() {
        let l = AppLimits::parse(Some(&json!({
            "presence": {"maxMembers": 250, "other": "x"},
            "message": {"maxSize": 1024},
            "history": {"maxAge": 5000, "maxMessages": 10},
            "connection": {"max": "anything"},
            "unknown": 7
        })))
        .expect("limits");
        assert_eq!(
            l,
            AppLimits {
                max_presence_members: Some(250),
                max_message_size: Some(1024),
                history_max_age_ms: Some(5000),
                history_max_messages: Some(10),
            }
        );
        assert_eq!(AppLimits::parse(None), Ok(AppLimits::default()));
        assert_eq!(
            AppLimits::parse(Some(&json!({"presence": {}}))),
            Ok(AppLimits::default())
        );
    }

    #[test]
    fn wrong_types_get_40000() {
        for bad in [
            json!([]),
            json!("x"),
            json!({"presence": 5}),
            json!({"presence": {"maxMembers": "250"}}),
            json!({"presence": {"maxMembers": -1}}),
            json!({"presence": {"maxMembers": 2.5}}),
            json!({"message": {"maxSize": true}}),
            json!({"history": {"maxAge": "2m"}}),
            json!({"history": []}),
        ] {
            let e = AppLimits::parse(Some(&bad)).expect_err("refused");
            assert_eq!((e.code, e.status_code), (40000, Some(400)), "{bad}");
        }
    }
}

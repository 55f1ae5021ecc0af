//! Capabilities: which operations a key or token allows on which channels.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::ErrorInfo;
use crate::error::codes;

/// A capability: channel name or pattern -> allowed operations, e.g.
/// `{"chat:*":["publish","subscribe"],"[*]*":["*"]}`.
///
/// Kept sorted, so [`Capability::to_canonical_json`] gives the canonical text
/// that TokenRequest signatures cover (RSA9): no spaces, keys and operation
/// lists sorted, operations unique.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capability(BTreeMap<String, BTreeSet<String>>);

impl Capability {
    /// Every operation on every channel: `{"*":["*"]}`.
    pub fn all() -> Capability {
        let mut c = Capability::default();
        c.allow("*", "*");
        c
    }

    /// Parses capability JSON text.
    pub fn parse(text: &str) -> Result<Capability, ErrorInfo> {
        let invalid = |why: String| {
            ErrorInfo::new(
                codes::BAD_REQUEST,
                400,
                format!("invalid capability: {why}"),
            )
        };
        let map: BTreeMap<String, Vec<String>> =
            serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let mut cap = Capability::default();
        for (resource, ops) in map {
            if ops.is_empty() {
                return Err(invalid(format!("no operations for '{resource}'")));
            }
            for op in ops {
                cap.allow(&resource, &op);
            }
        }
        Ok(cap)
    }

    /// Adds an operation on a resource.
    pub fn allow(&mut self, resource: &str, operation: &str) {
        self.0
            .entry(resource.to_owned())
            .or_default()
            .insert(operation.to_owned());
    }

    /// The resources and their operations, sorted.
    pub fn entries(&self) -> impl Iterator<Item = (&str, impl Iterator<Item = &str>)> {
        self.0
            .iter()
            .map(|(r, ops)| (r.as_str(), ops.iter().map(String::as_str)))
    }

    /// The canonical JSON text (RSA9).
    pub fn to_canonical_json(&self) -> String {
        // Serializing a BTreeMap of BTreeSets is sorted and compact.
        serde_json::to_string(&self.0).unwrap_or_else(|_| "{}".to_owned())
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_canonical_json())
    }
}

/// Canonicalises capability JSON text; text that does not parse is kept as
/// it is, so that a signature still covers exactly what is sent.
pub fn canonical_capability(text: &str) -> String {
    Capability::parse(text).map_or_else(|_| text.to_owned(), |c| c.to_canonical_json())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_and_dedupes() {
        let c = Capability::parse(
            r#"{ "channel2":["subscribe", "publish", "publish"], "*":["subscribe"], "[*]*":["*"] }"#,
        )
        .expect("parse");
        assert_eq!(
            c.to_canonical_json(),
            r#"{"*":["subscribe"],"[*]*":["*"],"channel2":["publish","subscribe"]}"#
        );
        assert_eq!(Capability::all().to_string(), r#"{"*":["*"]}"#);
    }

    #[test]
    fn bad_capabilities_are_refused() {
        for bad in [
            "",
            "[]",
            r#"{"a":"publish"}"#,
            r#"{"a":[]}"#,
            r#"{"a":[1]}"#,
        ] {
            assert_eq!(Capability::parse(bad).unwrap_err().code, 40000, "{bad}");
        }
    }
}

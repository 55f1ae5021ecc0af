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

    /// The operations this capability allows on a channel: the union of the
    /// operations of every resource that matches it (see
    /// `resource_matches`). `*` among them means every operation.
    pub fn operations_for(&self, channel: &str) -> BTreeSet<&str> {
        self.0
            .iter()
            .filter(|(resource, _)| resource_matches(resource, channel))
            .flat_map(|(_, ops)| ops.iter().map(String::as_str))
            .collect()
    }

    /// Whether a capability resource (a channel name or pattern) matches a
    /// channel name: segments split at `:`, a `*` segment matches one
    /// segment (one or more when last), `[*]` matches any qualifier or none,
    /// a `[?params]` prefix on the channel is ignored. So `*` matches every
    /// plain channel, `ns:*` every channel in namespace `ns`, `[meta]*`
    /// every meta channel and `[*]*` every channel.
    pub fn resource_matches(resource: &str, channel: &str) -> bool {
        resource_matches(resource, channel)
    }

    /// Whether any operation is allowed on a channel.
    pub fn allows_any(&self, channel: &str) -> bool {
        self.0
            .keys()
            .any(|resource| resource_matches(resource, channel))
    }

    /// Whether an operation (`publish`, `subscribe`, `presence`, `history`,
    /// ...) is allowed on a channel; a resource granting `*` allows all.
    pub fn allows(&self, channel: &str, operation: &str) -> bool {
        self.0.iter().any(|(resource, ops)| {
            (ops.contains("*") || ops.contains(operation)) && resource_matches(resource, channel)
        })
    }
}

/// Whether a capability resource (a channel name or pattern) matches a
/// channel name, by Ably's rules (public as [`Capability::resource_matches`]):
///
/// - names are split into segments at `:`; a `*` segment matches any one
///   segment, and a `*` as the last segment matches one or more, so `*`
///   matches every plain channel and `ns:*` matches `ns:a` and `ns:a:b`;
/// - `*` inside a segment is literal: `foo*` matches only `foo*`;
/// - a qualified name such as `[meta]log` is matched only by a resource with
///   the same qualifier (`[meta]*`) or the `[*]` qualifier, which matches any
///   qualifier and none: `[*]*` matches every channel;
/// - a `[?params]` prefix on the channel (channel params) is ignored.
fn resource_matches(resource: &str, channel: &str) -> bool {
    let (res_qualifier, res_name) = split_qualifier(resource);
    let (chan_qualifier, chan_name) = split_qualifier(strip_params(channel));
    let qualifier_ok = match res_qualifier {
        Some("*") => true,
        q => q == chan_qualifier,
    };
    qualifier_ok && segments_match(res_name, chan_name)
}

/// Removes a leading `[?params]` qualifier.
fn strip_params(channel: &str) -> &str {
    match split_qualifier(channel) {
        (Some(q), rest) if q.starts_with('?') => rest,
        _ => channel,
    }
}

/// Splits `[qualifier]rest` into its parts; a name without one has `None`.
fn split_qualifier(name: &str) -> (Option<&str>, &str) {
    if let Some(inner) = name.strip_prefix('[') {
        if let Some(end) = inner.find(']') {
            return (Some(&inner[..end]), &inner[end + 1..]);
        }
    }
    (None, name)
}

fn segments_match(pattern: &str, name: &str) -> bool {
    let pattern: Vec<&str> = pattern.split(':').collect();
    let name: Vec<&str> = name.split(':').collect();
    for (i, seg) in pattern.iter().enumerate() {
        let last = i + 1 == pattern.len();
        match name.get(i) {
            None => return false,
            Some(_) if *seg == "*" && last => return true,
            Some(_) if *seg == "*" => {}
            Some(n) if n == seg => {}
            Some(_) => return false,
        }
    }
    pattern.len() == name.len()
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

    #[test]
    fn wildcards_replace_whole_segments() {
        for (resource, channel, expected) in [
            ("chat", "chat", true),
            ("chat", "chat2", false),
            ("*", "chat", true),
            ("*", "ns:chat:x", true),
            ("*", "[meta]log", false),
            ("ns:*", "ns:a", true),
            ("ns:*", "ns:a:b", true),
            ("ns:*", "ns", false),
            ("ns:*", "other:a", false),
            ("foo:*:baz", "foo:bar:baz", true),
            ("foo:*:baz", "foo:bar:bam:baz", false),
            ("foo*", "foo*", true),
            ("foo*", "foobar", false),
            ("[meta]*", "[meta]log", true),
            ("[meta]*", "log", false),
            ("[*]*", "[meta]log", true),
            ("[*]*", "plain", true),
            ("[*]*", "ns:a", true),
            ("*", "[?rewind=1]chat", true),
            ("chat", "[?rewind=1]chat", true),
        ] {
            assert_eq!(
                resource_matches(resource, channel),
                expected,
                "{resource} vs {channel}"
            );
        }
    }

    #[test]
    fn operations_are_the_union_of_matching_resources() {
        let c = Capability::parse(r#"{"chat:*":["subscribe"],"chat:room":["publish"],"x":["*"]}"#)
            .expect("parse");
        assert!(c.allows("chat:room", "publish"));
        assert!(c.allows("chat:room", "subscribe"));
        assert!(!c.allows("chat:other", "publish"));
        assert!(c.allows("x", "presence"));
        assert!(!c.allows("y", "subscribe"));
        assert!(c.allows_any("chat:other"));
        assert!(!c.allows_any("y"));
        assert_eq!(
            c.operations_for("chat:room")
                .into_iter()
                .collect::<Vec<_>>(),
            ["publish", "subscribe"]
        );
    }
}

//! ProtocolMessage flags (TR3) and channel modes.

use std::fmt;
use std::ops::{BitAnd, BitOr, BitOrAssign};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The `flags` bit set of a ProtocolMessage (TR3).
///
/// Bits this crate does not name are kept as they are, so they survive a
/// decode/encode round trip.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Flags(pub u64);

impl Flags {
    /// No flags.
    pub const NONE: Flags = Flags(0);
    /// ATTACHED: a presence SYNC follows (RTP1).
    pub const HAS_PRESENCE: Flags = Flags(1 << 0);
    /// ATTACHED: the channel has a backlog to deliver.
    pub const HAS_BACKLOG: Flags = Flags(1 << 1);
    /// ATTACHED: the attachment continues without a gap (RTL12).
    pub const RESUMED: Flags = Flags(1 << 2);
    /// ATTACH: attach only for the duration of a publish.
    pub const TRANSIENT: Flags = Flags(1 << 4);
    /// ATTACH: resume the earlier attachment (deprecated in spec 6.1.0).
    pub const ATTACH_RESUME: Flags = Flags(1 << 5);
    /// ATTACHED: LiveObjects state follows.
    pub const HAS_OBJECTS: Flags = Flags(1 << 7);
    /// Channel mode: enter presence.
    pub const PRESENCE: Flags = Flags(1 << 16);
    /// Channel mode: publish messages.
    pub const PUBLISH: Flags = Flags(1 << 17);
    /// Channel mode: receive messages.
    pub const SUBSCRIBE: Flags = Flags(1 << 18);
    /// Channel mode: receive presence events.
    pub const PRESENCE_SUBSCRIBE: Flags = Flags(1 << 19);
    /// Channel mode: publish annotations.
    pub const ANNOTATION_PUBLISH: Flags = Flags(1 << 21);
    /// Channel mode: receive annotations.
    pub const ANNOTATION_SUBSCRIBE: Flags = Flags(1 << 22);
    /// Channel mode: receive LiveObjects updates.
    pub const OBJECT_SUBSCRIBE: Flags = Flags(1 << 24);
    /// Channel mode: publish LiveObjects operations.
    pub const OBJECT_PUBLISH: Flags = Flags(1 << 25);

    /// Every bit that is a channel mode.
    pub const MODES: Flags = Flags(
        Self::PRESENCE.0
            | Self::PUBLISH.0
            | Self::SUBSCRIBE.0
            | Self::PRESENCE_SUBSCRIBE.0
            | Self::ANNOTATION_PUBLISH.0
            | Self::ANNOTATION_SUBSCRIBE.0
            | Self::OBJECT_SUBSCRIBE.0
            | Self::OBJECT_PUBLISH.0,
    );

    /// Whether every bit of `other` is set.
    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no bit is set.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// The channel-mode bits only.
    pub fn modes(self) -> ChannelModes {
        ChannelModes(self.0 & Self::MODES.0)
    }
}

impl BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl BitOrAssign for Flags {
    fn bitor_assign(&mut self, rhs: Flags) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for Flags {
    type Output = Flags;
    fn bitand(self, rhs: Flags) -> Flags {
        Flags(self.0 & rhs.0)
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [(Flags, &str); 15] = [
            (Flags::HAS_PRESENCE, "HAS_PRESENCE"),
            (Flags::HAS_BACKLOG, "HAS_BACKLOG"),
            (Flags::RESUMED, "RESUMED"),
            (Flags::TRANSIENT, "TRANSIENT"),
            (Flags::ATTACH_RESUME, "ATTACH_RESUME"),
            (Flags::HAS_OBJECTS, "HAS_OBJECTS"),
            (Flags::PRESENCE, "PRESENCE"),
            (Flags::PUBLISH, "PUBLISH"),
            (Flags::SUBSCRIBE, "SUBSCRIBE"),
            (Flags::PRESENCE_SUBSCRIBE, "PRESENCE_SUBSCRIBE"),
            (Flags::ANNOTATION_PUBLISH, "ANNOTATION_PUBLISH"),
            (Flags::ANNOTATION_SUBSCRIBE, "ANNOTATION_SUBSCRIBE"),
            (Flags::OBJECT_SUBSCRIBE, "OBJECT_SUBSCRIBE"),
            (Flags::OBJECT_PUBLISH, "OBJECT_PUBLISH"),
            (Flags::NONE, ""),
        ];
        let mut rest = self.0;
        let mut parts = Vec::new();
        for (flag, name) in NAMES.iter().filter(|(f, _)| f.0 != 0) {
            if self.contains(*flag) {
                parts.push((*name).to_string());
                rest &= !flag.0;
            }
        }
        if rest != 0 {
            parts.push(format!("{rest:#x}"));
        }
        write!(f, "Flags({})", parts.join("|"))
    }
}

impl Serialize for Flags {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for Flags {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        super::lenient::int::<D, u64>(d).map(Flags)
    }
}

/// A set of channel modes (RTL4l), a subset of [`Flags`].
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ChannelModes(u64);

/// One channel mode, as named in ChannelOptions (TB2d).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChannelMode {
    /// Enter presence.
    Presence,
    /// Publish messages.
    Publish,
    /// Receive messages.
    Subscribe,
    /// Receive presence events.
    PresenceSubscribe,
    /// Publish annotations.
    AnnotationPublish,
    /// Receive annotations.
    AnnotationSubscribe,
    /// Receive LiveObjects updates.
    ObjectSubscribe,
    /// Publish LiveObjects operations.
    ObjectPublish,
}

impl ChannelMode {
    /// Every mode, in flag-bit order.
    pub const ALL: [ChannelMode; 8] = [
        ChannelMode::Presence,
        ChannelMode::Publish,
        ChannelMode::Subscribe,
        ChannelMode::PresenceSubscribe,
        ChannelMode::AnnotationPublish,
        ChannelMode::AnnotationSubscribe,
        ChannelMode::ObjectSubscribe,
        ChannelMode::ObjectPublish,
    ];

    /// The flag bit of this mode.
    pub fn flag(self) -> Flags {
        match self {
            ChannelMode::Presence => Flags::PRESENCE,
            ChannelMode::Publish => Flags::PUBLISH,
            ChannelMode::Subscribe => Flags::SUBSCRIBE,
            ChannelMode::PresenceSubscribe => Flags::PRESENCE_SUBSCRIBE,
            ChannelMode::AnnotationPublish => Flags::ANNOTATION_PUBLISH,
            ChannelMode::AnnotationSubscribe => Flags::ANNOTATION_SUBSCRIBE,
            ChannelMode::ObjectSubscribe => Flags::OBJECT_SUBSCRIBE,
            ChannelMode::ObjectPublish => Flags::OBJECT_PUBLISH,
        }
    }

    /// The lower-case name used in APIs and params (`presence_subscribe`).
    pub fn name(self) -> &'static str {
        match self {
            ChannelMode::Presence => "presence",
            ChannelMode::Publish => "publish",
            ChannelMode::Subscribe => "subscribe",
            ChannelMode::PresenceSubscribe => "presence_subscribe",
            ChannelMode::AnnotationPublish => "annotation_publish",
            ChannelMode::AnnotationSubscribe => "annotation_subscribe",
            ChannelMode::ObjectSubscribe => "object_subscribe",
            ChannelMode::ObjectPublish => "object_publish",
        }
    }

    /// The mode for a name, case-insensitive.
    pub fn from_name(name: &str) -> Option<ChannelMode> {
        ChannelMode::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name))
    }
}

impl ChannelModes {
    /// No modes: the server grants its defaults.
    pub const EMPTY: ChannelModes = ChannelModes(0);

    /// Whether no mode is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Adds a mode.
    pub fn with(self, mode: ChannelMode) -> ChannelModes {
        ChannelModes(self.0 | mode.flag().0)
    }

    /// Whether a mode is set.
    pub fn contains(self, mode: ChannelMode) -> bool {
        self.0 & mode.flag().0 != 0
    }

    /// The modes that are set, in flag-bit order.
    pub fn iter(self) -> impl Iterator<Item = ChannelMode> {
        ChannelMode::ALL
            .into_iter()
            .filter(move |m| self.contains(*m))
    }

    /// These modes as ProtocolMessage flag bits.
    pub fn flags(self) -> Flags {
        Flags(self.0)
    }
}

impl FromIterator<ChannelMode> for ChannelModes {
    fn from_iter<I: IntoIterator<Item = ChannelMode>>(iter: I) -> Self {
        iter.into_iter()
            .fold(ChannelModes::EMPTY, ChannelModes::with)
    }
}

impl fmt::Debug for ChannelModes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_bits_are_kept_and_shown() {
        let f = Flags(Flags::RESUMED.0 | (1 << 40));
        assert!(f.contains(Flags::RESUMED));
        assert_eq!(format!("{f:?}"), "Flags(RESUMED|0x10000000000)");
    }

    #[test]
    fn modes_map_to_flag_bits() {
        let modes: ChannelModes = [ChannelMode::Publish, ChannelMode::PresenceSubscribe]
            .into_iter()
            .collect();
        assert_eq!(modes.flags().0, (1 << 17) | (1 << 19));
        let from_flags = (modes.flags() | Flags::RESUMED).modes();
        assert_eq!(from_flags, modes);
        assert_eq!(
            ChannelMode::from_name("PRESENCE_SUBSCRIBE"),
            Some(ChannelMode::PresenceSubscribe)
        );
    }
}

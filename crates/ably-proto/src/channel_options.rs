//! ChannelOptions (TB2): params, modes and cipher of a channel.

use std::collections::BTreeMap;

use crate::crypto::CipherParams;
use crate::wire::ChannelModes;

/// Options of a realtime channel (TB2).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChannelOptions {
    /// Params sent in ATTACH, e.g. `rewind`, `delta`, `occupancy` (TB2c, RTL4k).
    pub params: BTreeMap<String, String>,
    /// Modes requested in ATTACH; empty means the service default (TB2d, RTL4l).
    pub modes: ChannelModes,
    /// The cipher for payloads on this channel (TB2b, RSL5).
    pub cipher: Option<CipherParams>,
}

impl ChannelOptions {
    /// Adds a param.
    pub fn param(mut self, key: impl Into<String>, value: impl Into<String>) -> ChannelOptions {
        self.params.insert(key.into(), value.into());
        self
    }

    /// Sets the modes.
    pub fn modes(mut self, modes: ChannelModes) -> ChannelOptions {
        self.modes = modes;
        self
    }

    /// Sets the cipher.
    pub fn cipher(mut self, cipher: CipherParams) -> ChannelOptions {
        self.cipher = Some(cipher);
        self
    }
}

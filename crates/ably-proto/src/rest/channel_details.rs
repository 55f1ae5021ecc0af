//! The answer of a channel's `status()` (RSL8a): ChannelDetails (CHD2),
//! ChannelStatus (CHS2), ChannelOccupancy (CHO2) and ChannelMetrics
//! (CHM2). Metrics the service leaves out (older services have no object
//! metrics) are 0.

use serde::Deserialize;

/// A channel and its status (CHD2).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ChannelDetails {
    /// The channel's name (CHD2a).
    pub channel_id: String,
    /// Its status (CHD2b).
    pub status: ChannelStatus,
}

/// Whether a channel is active, and its occupancy (CHS2).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ChannelStatus {
    /// Whether the channel is active (CHS2a).
    pub is_active: bool,
    /// Who is on it (CHS2b).
    pub occupancy: ChannelOccupancy,
}

/// The occupancy of a channel (CHO2).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ChannelOccupancy {
    /// The metrics (CHO2a).
    pub metrics: ChannelMetrics,
}

/// Counts of the attachments to a channel (CHM2).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ChannelMetrics {
    /// Realtime attachments (CHM2a).
    pub connections: u64,
    /// Attachments permitted to enter presence (CHM2b).
    pub presence_connections: u64,
    /// Members of the presence set (CHM2c).
    pub presence_members: u64,
    /// Attachments receiving presence messages (CHM2d).
    pub presence_subscribers: u64,
    /// Attachments able to publish (CHM2e).
    pub publishers: u64,
    /// Attachments receiving messages (CHM2f).
    pub subscribers: u64,
    /// Attachments able to publish object messages (CHM2g).
    pub object_publishers: u64,
    /// Attachments receiving object messages (CHM2h).
    pub object_subscribers: u64,
}

impl ChannelDetails {
    /// The details in the JSON of a `status()` answer
    /// ([`RestResult::Json`](super::RestResult::Json)); `None` when the
    /// answer is not ChannelDetails.
    pub fn from_json(value: &serde_json::Value) -> Option<ChannelDetails> {
        ChannelDetails::deserialize(value).ok()
    }
}

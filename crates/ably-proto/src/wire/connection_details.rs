//! ConnectionDetails (CD2) and AuthDetails (AD2).

use serde::{Deserialize, Serialize};

use super::lenient;

/// Limits and identity of a connection, sent in CONNECTED (CD2).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionDetails {
    /// The clientId the connection is identified as (CD2a).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The secret to resume this connection with (CD2b).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_key: Option<String>,
    /// Maximum size of a message in bytes (CD2c, TO3l8).
    #[serde(
        default,
        deserialize_with = "lenient::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_message_size: Option<u64>,
    /// Maximum size of a frame in bytes (CD2d).
    #[serde(
        default,
        deserialize_with = "lenient::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_frame_size: Option<u64>,
    /// Maximum inbound protocol messages per second (CD2e).
    #[serde(
        default,
        deserialize_with = "lenient::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_inbound_rate: Option<u64>,
    /// How long the service keeps connection state after a drop, in ms (CD2f).
    #[serde(
        default,
        deserialize_with = "lenient::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub connection_state_ttl: Option<u64>,
    /// The front-end server, for debugging (CD2g).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_id: Option<String>,
    /// Longest silence from the service, in ms; 0 means none (CD2h).
    #[serde(
        default,
        deserialize_with = "lenient::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_idle_interval: Option<u64>,
    /// LiveObjects tombstone grace period, in ms (CD2i).
    #[serde(
        default,
        rename = "objectsGCGracePeriod",
        deserialize_with = "lenient::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub objects_gc_grace_period: Option<u64>,
    /// The site the connection landed on (CD2j).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_code: Option<String>,
}

/// Credentials sent in an AUTH ProtocolMessage (AD2, RTN22).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthDetails {
    /// The token string (AD2).
    #[serde(default)]
    pub access_token: String,
}

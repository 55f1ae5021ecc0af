//! Recovery keys (RTN16g): what a new client instance needs to continue a
//! connection. JSON `{"connectionKey":..,"msgSerial":..,"channelSerials":{..}}`,
//! the same shape ably-js uses, so any channel name survives (RTN16g1).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The contents of a recovery key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryKey {
    /// The key of the connection to recover (RTN16k).
    pub connection_key: String,
    /// The next msgSerial (RTN16f).
    pub msg_serial: u64,
    /// channel name -> channelSerial of each attached channel (RTN16j).
    #[serde(default)]
    pub channel_serials: BTreeMap<String, String>,
}

impl RecoveryKey {
    /// The key as text.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a key; a malformed key gives `None`, and the client connects
    /// as if it had none (RTN16f1).
    pub fn decode(text: &str) -> Option<RecoveryKey> {
        serde_json::from_str(text).ok()
    }
}

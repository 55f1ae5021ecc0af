//! Token types: TokenParams (TK2), TokenRequest (TE), TokenDetails (TD).

use serde::{Deserialize, Serialize};

use crate::wire::lenient;

/// What a token should allow (TK2). Every field is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenParams {
    /// Time to live in ms; the service defaults to 60 minutes (TK2a).
    #[serde(
        default,
        deserialize_with = "lenient::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub ttl: Option<u64>,
    /// Capability JSON text; defaults to the key's (TK2b).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capability: Option<String>,
    /// The clientId the token is for; `*` allows any (TK2c).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Milliseconds since the epoch (TK2d).
    #[serde(
        default,
        deserialize_with = "lenient::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub timestamp: Option<i64>,
    /// A unique string of 16 or more characters (TK2e).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

/// A signed request for a token, exchanged at
/// `POST /keys/{keyName}/requestToken` (TE1-TE5).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenRequest {
    /// `appId.keyId` of the signing key (TE2).
    pub key_name: String,
    /// Time to live in ms (TE4).
    #[serde(
        default,
        deserialize_with = "lenient::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub ttl: Option<u64>,
    /// Capability JSON text (TE3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capability: Option<String>,
    /// The clientId the token is for (TE2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Milliseconds since the epoch (TE5).
    #[serde(deserialize_with = "lenient::int")]
    pub timestamp: i64,
    /// Unique, 16 or more characters (TE2, RSA9c).
    pub nonce: String,
    /// base64 HMAC-SHA256 of the fields with the key secret (TE2, RSA9g).
    pub mac: String,
}

/// An issued token (TD1-TD6).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenDetails {
    /// The token string (TD2).
    pub token: String,
    /// Expiry, ms since the epoch (TD3).
    #[serde(
        default,
        deserialize_with = "lenient::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires: Option<i64>,
    /// Issue time, ms since the epoch (TD4).
    #[serde(
        default,
        deserialize_with = "lenient::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub issued: Option<i64>,
    /// Capability JSON text (TD5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capability: Option<String>,
    /// The clientId bound to the token; `*` allows any (TD6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The key that issued it, as the service reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
}

impl TokenDetails {
    /// Token details for a bare token string.
    pub fn from_token(token: impl Into<String>) -> TokenDetails {
        TokenDetails {
            token: token.into(),
            ..TokenDetails::default()
        }
    }
}

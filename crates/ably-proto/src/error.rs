//! ErrorInfo (TI1) and the Ably error codes this crate produces.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::wire::lenient;

/// An Ably error: a code from the shared error list, an HTTP-like status
/// code and a message (TI1).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorInfo {
    /// The Ably error code, e.g. 40140.
    #[serde(default, deserialize_with = "lenient::int")]
    pub code: u32,
    /// The HTTP status code that goes with it, e.g. 401.
    #[serde(
        default,
        deserialize_with = "lenient::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub status_code: Option<u16>,
    /// A human-readable description.
    #[serde(default)]
    pub message: String,
    /// A link to the help page for the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    /// The error that led to this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<Box<ErrorInfo>>,
}

impl ErrorInfo {
    /// An error with a code, a status code and a message; `href` points to
    /// the help page of the code.
    pub fn new(code: u32, status_code: u16, message: impl Into<String>) -> ErrorInfo {
        ErrorInfo {
            code,
            status_code: Some(status_code),
            message: message.into(),
            href: Some(format!("https://help.ably.io/error/{code}")),
            cause: None,
        }
    }

    /// The same error with a cause attached.
    pub fn with_cause(mut self, cause: ErrorInfo) -> ErrorInfo {
        self.cause = Some(Box::new(cause));
        self
    }

    /// Whether this is a token error that a renewal may fix (40140-40149, RSA4b).
    pub fn is_token_error(&self) -> bool {
        (40140..40150).contains(&self.code)
    }
}

impl fmt::Display for ErrorInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}", self.code)?;
        if let Some(status) = self.status_code {
            write!(f, " {status}")?;
        }
        write!(f, "] {}", self.message)?;
        if let Some(href) = &self.href {
            write!(f, " (see {href})")?;
        }
        if let Some(cause) = &self.cause {
            write!(f, "; cause: {cause}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ErrorInfo {}

/// Ably error codes used by this crate (from the shared `errors.json`).
pub mod codes {
    /// The request was invalid.
    pub const BAD_REQUEST: u32 = 40000;
    /// A message exceeded maxMessageSize.
    pub const MESSAGE_TOO_LARGE: u32 = 40009;
    /// The channel name is invalid.
    pub const INVALID_CHANNEL_NAME: u32 = 40010;
    /// The clientId is invalid or conflicts with the credentials.
    pub const INVALID_CLIENT_ID: u32 = 40012;
    /// Message data or encoding is invalid, or a payload failed to decode.
    pub const INVALID_DATA_OR_ENCODING: u32 = 40013;
    /// A delta (vcdiff) could not be applied.
    pub const DELTA_DECODING_FAILED: u32 = 40018;
    /// Credentials are invalid.
    pub const INVALID_CREDENTIALS: u32 = 40101;
    /// The TokenRequest timestamp is outside the permitted window.
    pub const TOKEN_REQUEST_TIMESTAMP_INVALID: u32 = 40104;
    /// The TokenRequest nonce was used before.
    pub const NONCE_REPLAYED: u32 = 40105;
    /// No means of authentication were given.
    pub const NO_AUTH_METHOD: u32 = 40106;
    /// The token has expired.
    pub const TOKEN_EXPIRED: u32 = 40142;
    /// The operation is not permitted by the capability.
    pub const CAPABILITY_DENIED: u32 = 40160;
    /// The authCallback or authUrl failed.
    pub const AUTH_CALLBACK_FAILED: u32 = 40170;
    /// A token is needed but there is no means to renew it.
    pub const NO_MEANS_TO_RENEW: u32 = 40171;
    /// Internal error.
    pub const INTERNAL: u32 = 50000;
    /// A frame did not conform to the protocol.
    pub const PROTOCOL_ERROR: u32 = 80013;
    /// Requesting a token failed.
    pub const TOKEN_REQUEST_FAILED: u32 = 80019;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_shows_code_status_and_help() {
        let e = ErrorInfo::new(40142, 401, "Token expired");
        assert_eq!(
            e.to_string(),
            "[40142 401] Token expired (see https://help.ably.io/error/40142)"
        );
        assert!(e.is_token_error());
        assert!(!ErrorInfo::new(40160, 401, "denied").is_token_error());
    }
}

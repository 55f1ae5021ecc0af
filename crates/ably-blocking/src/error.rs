//! The one error type of this crate.

use ably_proto::ErrorInfo;

/// An error from the client: always an Ably [`ErrorInfo`] with its code,
/// status code and message, as the service or the core reported it.
///
/// Failures that happen in this crate rather than in the protocol use
/// Ably codes too: 80017 when the client has shut down, 50003 when a
/// blocking wait timed out, 80000 for network errors.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{info}")]
pub struct Error {
    info: ErrorInfo,
}

/// `Result<T, Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The Ably error code, e.g. 40140 (TI1).
    pub fn code(&self) -> u32 {
        self.info.code
    }

    /// The HTTP-like status code, e.g. 401 (TI1).
    pub fn status_code(&self) -> Option<u16> {
        self.info.status_code
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.info.message
    }

    /// The whole ErrorInfo, with `href` and `cause`.
    pub fn info(&self) -> &ErrorInfo {
        &self.info
    }

    /// The ErrorInfo, by value.
    pub fn into_info(self) -> ErrorInfo {
        self.info
    }

    /// The client's driver thread is gone (the client was shut down).
    pub(crate) fn gone() -> Error {
        ErrorInfo::new(80017, 400, "the client has shut down").into()
    }

    /// A blocking wait ran out of time.
    pub(crate) fn timeout(what: &str) -> Error {
        ErrorInfo::new(50003, 504, format!("timed out waiting for {what}")).into()
    }
}

impl From<ErrorInfo> for Error {
    fn from(info: ErrorInfo) -> Error {
        Error { info }
    }
}

impl From<Error> for ErrorInfo {
    fn from(e: Error) -> ErrorInfo {
        e.info
    }
}

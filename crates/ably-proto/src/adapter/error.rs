//! [`Error`]: the one error type of every adapter's API.

use crate::ErrorInfo;

/// An error from the client: always an Ably [`ErrorInfo`] with its code,
/// status code and message, as the service or the core reported it.
///
/// Failures that happen in an adapter rather than in the protocol use
/// Ably codes too: 80017 when the client has shut down, 50003 when a
/// wait timed out, 80000 for network errors.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{info}")]
pub struct Error {
    info: ErrorInfo,
}

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

    /// The client's driver is gone (the client was shut down): 80017.
    pub fn gone() -> Error {
        ErrorInfo::new(80017, 400, "the client has shut down").into()
    }

    /// A subscription found full with `capacity` unread events, and so
    /// ended: 80020, continuity lost (see
    /// [`Options::subscription_capacity`](super::Options::subscription_capacity)).
    pub fn fell_behind(capacity: usize) -> Error {
        ErrorInfo::new(
            80020,
            400,
            format!(
                "the subscription held {capacity} unread events when another came, so it was \
                 ended there; later events were not queued for it"
            ),
        )
        .into()
    }

    /// A wait for `what` ran out of time: 50003.
    pub fn timeout(what: &str) -> Error {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carries_the_error_info_and_the_adapter_codes() {
        let e = Error::from(ErrorInfo::new(40140, 401, "token expired"));
        assert_eq!((e.code(), e.status_code()), (40140, Some(401)));
        assert_eq!(e.message(), "token expired");
        assert_eq!(ErrorInfo::from(e.clone()), e.into_info());
        assert_eq!(Error::gone().code(), 80017);
        let t = Error::timeout("an event");
        assert_eq!((t.code(), t.status_code()), (50003, Some(504)));
        assert!(t.message().contains("an event"), "{t}");
        let full = Error::fell_behind(3);
        assert_eq!(full.code(), 80020);
        assert!(full.message().contains("3 unread events"), "{full}");
    }
}

//! The one error type of this crate: the one every adapter shares
//! ([`ably_proto::adapter::Error`]), carrying Ably's `ErrorInfo`.

pub use ably_proto::adapter::Error;

/// `Result<T, Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

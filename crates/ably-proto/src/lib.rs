//! The sans-IO core of an Ably realtime client.
//!
//! This crate does no I/O, reads no clock, starts no thread and draws no
//! randomness of its own: callers pass time and an RNG in. That lets the
//! same core run under tokio, async-std, a plain thread, or a deterministic
//! fuzzer.
//!
//! What is here so far, the wire layer:
//! - [`wire`]: the protocol v6 model: [`ProtocolMessage`], [`Message`],
//!   [`PresenceMessage`], [`ConnectionDetails`], actions and flags that keep
//!   unknown values;
//! - [`codec`]: JSON and MessagePack frames, both directions;
//! - [`encoding`]: the payload pipeline (RSL4, RSL6);
//! - [`crypto`]: AES-CBC payload encryption (RSL5);
//! - [`auth`]: token types, capabilities, TokenRequest signing (RSA9);
//! - [`rest`]: the REST API as plain request and response values, host
//!   fallback and pagination (RSC, RSL, RSP);
//! - [`sse`]: the SSE and raw HTTP streaming API: parsers of both
//!   renderings, envelope decoding, stream URLs, and a session that
//!   resumes by event id across reconnections;
//! - [`ErrorInfo`] and the Ably error codes.
//!
//! Receiving a frame:
//!
//! ```
//! use ably_proto::codec::{decode_protocol_message, Format};
//! use ably_proto::{Action, Data};
//!
//! let frame = br#"{"action":15,"channel":"chat","id":"conn:1","timestamp":1700000000000,
//!   "messages":[{"name":"greeting","data":"aGk=","encoding":"base64"}]}"#;
//! let mut pm = decode_protocol_message(frame, Format::Json).unwrap();
//! assert_eq!(pm.action, Action::Message);
//! pm.fill_inherited_fields(); // TM2a, TM2c, TM2f
//! let msg = &mut pm.messages[0];
//! msg.decode(None).unwrap(); // RSL6; pass the channel cipher if it has one
//! assert_eq!(msg.data, Data::from(b"hi".to_vec()));
//! assert_eq!(msg.id.as_deref(), Some("conn:1:0"));
//! ```

#![forbid(unsafe_code)]

pub mod adapter;
pub mod auth;
pub mod channel_options;
pub mod client;
pub mod codec;
pub mod crypto;
pub mod encoding;
pub mod error;
#[doc(hidden)]
pub mod fuzz_checks;
#[cfg(test)]
mod proptest_config;
pub mod rest;
pub mod sse;
pub mod wire;

pub use channel_options::ChannelOptions;
pub use crypto::CipherParams;
pub use error::ErrorInfo;
pub use wire::{
    Action, Annotation, AnnotationAction, AuthDetails, ChannelMode, ChannelModes,
    ConnectionDetails, Data, Flags, Json, Message, MessageAction, MessageVersion, PresenceAction,
    PresenceMessage, ProtocolMessage, PublishResult,
};

/// Re-exported so that callers can pass any RNG.
pub use rand_core;

//! The protocol v6 wire model: ProtocolMessage and what it carries.
//!
//! These are plain data types with serde implementations for JSON and
//! MessagePack; [`crate::codec`] turns them into frames and back.

mod action;
mod annotation;
mod connection_details;
mod data;
mod flags;
mod json;
pub(crate) mod json_validate;
pub(crate) mod lenient;
mod message;
mod presence;
pub(crate) mod present;
mod protocol_message;
mod wire_enum;

pub use action::Action;
pub use annotation::{Annotation, AnnotationAction};
pub use connection_details::{AuthDetails, ConnectionDetails};
pub use data::Data;
pub use flags::{ChannelMode, ChannelModes, Flags};
pub use json::Json;
pub use json_validate::JsonSyntaxError;
pub use message::{Message, MessageAction, MessageVersion};
pub use presence::{PresenceAction, PresenceMessage};
pub use protocol_message::{ProtocolMessage, PublishResult};

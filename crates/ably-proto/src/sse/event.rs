//! The events of a stream and their decoding: envelopes into
//! [`Message`]s and [`PresenceMessage`]s with their payloads decoded
//! (RSL6, with the channel's cipher when it has one), `error` events into
//! [`ErrorInfo`].
//!
//! With `enveloped=true` (the default, and what [`super::SseSession`]
//! asks for) an event's data is the message or presence message as JSON,
//! with its `channel`; its `encoding` says how to decode `data`.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::crypto::CipherParams;
use crate::error::codes;
use crate::{ErrorInfo, Message, PresenceMessage};

use super::parser::SseEvent;

/// The data of an event as it came: SSE data is text, an event-stream
/// envelope holds JSON.
#[derive(Clone, Debug, PartialEq)]
pub enum RawData {
    /// SSE `data:` lines.
    Text(String),
    /// The `data` of a JSON envelope.
    Json(Value),
}

/// An event before decoding, from either parser.
#[derive(Clone, Debug, PartialEq)]
pub struct RawEvent {
    /// `message`, `presence`, `error`, `heartbeat`, ...
    pub event: String,
    /// The data.
    pub data: RawData,
    /// The event id, to resume after (`lastEvent`).
    pub id: Option<String>,
}

impl From<SseEvent> for RawEvent {
    fn from(e: SseEvent) -> RawEvent {
        RawEvent {
            event: e.event,
            data: RawData::Text(e.data),
            id: e.id,
        }
    }
}

/// A message or presence event of a stream, decoded.
#[derive(Clone, Debug, PartialEq)]
pub struct Received {
    /// The channel it was published on.
    pub channel: String,
    /// The stream's id of this event: give it as `lastEvent` to resume
    /// right after it.
    pub id: Option<String>,
    /// The message or presence event.
    pub item: Item,
    /// Why the payload could not be fully decoded, if it could not: the
    /// item is delivered as far as it decoded, its `encoding` naming the
    /// steps left (RSL6b).
    pub decode_error: Option<ErrorInfo>,
}

/// What a [`Received`] carries.
// Unboxed so that users match on the message directly; every Received
// holds one of the two anyway.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// A message (event `message`).
    Message(Message),
    /// A presence event (event `presence`).
    Presence(PresenceMessage),
}

impl Received {
    /// The payload, of the message or the presence event.
    pub fn data(&self) -> &crate::Data {
        match &self.item {
            Item::Message(m) => &m.data,
            Item::Presence(p) => &p.data,
        }
    }

    /// The message, if this is one.
    pub fn message(&self) -> Option<&Message> {
        match &self.item {
            Item::Message(m) => Some(m),
            Item::Presence(_) => None,
        }
    }

    /// The presence event, if this is one.
    pub fn presence(&self) -> Option<&PresenceMessage> {
        match &self.item {
            Item::Presence(p) => Some(p),
            Item::Message(_) => None,
        }
    }
}

/// What an event means.
#[derive(Clone, Debug, PartialEq)]
pub enum Decoded {
    /// A message or presence event.
    Received(Box<Received>),
    /// An `error` event: the service ends the stream after it.
    Error(ErrorInfo),
    /// A `heartbeat` event (`heartbeats=true`).
    Heartbeat,
    /// An event of another name; ignored by the session.
    Other(String),
}

/// The ciphers of a stream's channels: one for every channel, and
/// overrides per channel (RSL5).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ciphers {
    /// The cipher of every channel without its own.
    pub all: Option<CipherParams>,
    /// Ciphers by channel name.
    pub channels: BTreeMap<String, CipherParams>,
}

impl Ciphers {
    /// The cipher of a channel, if it has one.
    pub fn get(&self, channel: &str) -> Option<&CipherParams> {
        self.channels.get(channel).or(self.all.as_ref())
    }
}

fn protocol_error(what: &str, e: impl std::fmt::Display) -> ErrorInfo {
    ErrorInfo::new(
        codes::PROTOCOL_ERROR,
        400,
        format!("a stream {what} event is not valid: {e}"),
    )
}

/// The JSON value of the data: parsed from SSE text, as it is from an
/// envelope.
fn json(data: RawData, what: &str) -> Result<Value, ErrorInfo> {
    match data {
        RawData::Json(v) => Ok(v),
        RawData::Text(t) => serde_json::from_str(&t).map_err(|e| protocol_error(what, e)),
    }
}

/// An enveloped message or presence message and its channel.
fn envelope<T: DeserializeOwned>(data: RawData, what: &str) -> Result<(String, T), ErrorInfo> {
    let mut value = json(data, what)?;
    let Value::Object(map) = &mut value else {
        return Err(protocol_error(what, "the data is not a JSON object"));
    };
    let channel = match map.remove("channel") {
        Some(Value::String(c)) => c,
        _ => return Err(protocol_error(what, "the data has no channel")),
    };
    let item = serde_json::from_value(value).map_err(|e| protocol_error(what, e))?;
    Ok((channel, item))
}

/// Decodes an event: envelopes into messages and presence events with
/// their payloads decoded (RSL6) with the channel's cipher; `error` data
/// into an [`ErrorInfo`]. An envelope that cannot be read is an error
/// (80013); a payload that cannot be decoded is not (see
/// [`Received::decode_error`]).
pub fn decode_event(raw: RawEvent, ciphers: &Ciphers) -> Result<Decoded, ErrorInfo> {
    let RawEvent { event, data, id } = raw;
    match event.as_str() {
        "message" => {
            let (channel, mut message): (String, Message) = envelope(data, "message")?;
            let decode_error = message.decode(ciphers.get(&channel)).err();
            Ok(Decoded::Received(Box::new(Received {
                channel,
                id,
                item: Item::Message(message),
                decode_error,
            })))
        }
        "presence" => {
            let (channel, mut presence): (String, PresenceMessage) = envelope(data, "presence")?;
            let decode_error = presence.decode(ciphers.get(&channel)).err();
            Ok(Decoded::Received(Box::new(Received {
                channel,
                id,
                item: Item::Presence(presence),
                decode_error,
            })))
        }
        "error" => {
            let mut value = json(data, "error")?;
            // Also accept the `{"error": ErrorInfo}` form of HTTP error bodies.
            if let Some(inner) = value.get_mut("error").filter(|e| e.is_object()) {
                value = inner.take();
            }
            let mut error: ErrorInfo =
                serde_json::from_value(value).map_err(|e| protocol_error("error", e))?;
            if error.code == 0 {
                error.code = codes::INTERNAL;
            }
            Ok(Decoded::Error(error))
        }
        "heartbeat" => Ok(Decoded::Heartbeat),
        _ => Ok(Decoded::Other(event)),
    }
}

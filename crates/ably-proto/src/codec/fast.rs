//! Fast readers for the hot path: ProtocolMessage frames with their
//! messages and presence, read without serde's per-field machinery, from
//! MessagePack ([`super::fast_msgpack`]) or JSON ([`super::fast_json`]).
//!
//! They read the common shapes only and give up (return `None`) on
//! anything else: a duplicate or unusual key, a value of an unexpected
//! type, a JSON string with escapes, a float where an integer goes. The
//! caller then decodes the frame with serde, which accepts or rejects it
//! with a precise error, so both paths agree on every input
//! (property-tested and fuzzed). Nested values the core treats as data
//! (`error`, `connectionDetails`, `extras`, ...) are cut out whole and
//! handed to serde. The field mapping below is shared by both formats.

use std::borrow::BorrowMut;

use serde::de::DeserializeOwned;

use crate::wire::{
    Action, Data, Flags, Message, MessageAction, PresenceAction, PresenceMessage, ProtocolMessage,
};

/// What a format's reader offers the shared field mapping. Every method
/// returns `None` to give up.
pub(super) trait FrameReader<'a> {
    /// The iteration state of a map or list.
    type Seq;
    /// Starts a map.
    fn map_begin(&mut self) -> Option<Self::Seq>;
    /// The next key of the map, or `Some(None)` at its end.
    fn map_next_key(&mut self, seq: &mut Self::Seq) -> Option<Option<&'a [u8]>>;
    /// Starts a list; nil/null is an empty list.
    fn list_begin_or_nil(&mut self) -> Option<Self::Seq>;
    /// Whether another item follows.
    fn list_next(&mut self, seq: &mut Self::Seq) -> Option<bool>;
    /// How many items the list says it holds, when the format tells
    /// (MessagePack does, JSON does not); a hint only.
    fn list_len_hint(&self, _seq: &Self::Seq) -> usize {
        0
    }
    /// An integer (integral floats where the format has them).
    fn int(&mut self) -> Option<i128>;
    /// nil/null or a string.
    fn opt_string(&mut self) -> Option<Option<String>>;
    /// A payload: string, binary, nil; other values through serde.
    fn data(&mut self) -> Option<Data>;
    /// A payload whose `encoding` so far ends in `base64`: a string that is
    /// valid base64 comes back decoded, with `true` (saving a copy of the
    /// text); anything else as [`Self::data`] reads it, with `false`.
    fn data_base64(&mut self) -> Option<(Data, bool)> {
        Some((self.data()?, false))
    }
    /// A payload whose whole `encoding` so far is `json`: when the reader
    /// decodes payloads (see [`super::decode_received`]) and the value is
    /// a string of JSON text, that text comes back checked, as
    /// `Data::Json`, with `true`; anything else as [`Self::data`] reads it,
    /// with `false`.
    fn data_json(&mut self) -> Option<(Data, bool)> {
        Some((self.data()?, false))
    }
    /// The next value decoded by serde.
    fn serde<T: DeserializeOwned>(&mut self) -> Option<T>;
    /// Skips the next value.
    fn skip(&mut self) -> Option<()>;
    /// nil/null or an integer in range for `T`.
    fn opt_int<T: TryFrom<i128>>(&mut self) -> Option<Option<T>>;
}

/// Marks a field as seen; a second sighting gives up (serde reports it).
fn first(seen: &mut u64, bit: u32) -> Option<()> {
    let mask = 1u64 << bit;
    if *seen & mask != 0 {
        return None;
    }
    *seen |= mask;
    Some(())
}

/// Reads a list of items into `items`, each read in place (`fill`) into a
/// `fresh` one at the end of the list, as moving them costs more than
/// reading small ones. The list is sized from the format's length hint
/// (bounded: the length comes from the network) and otherwise grows by
/// doubling from one: a list of one message, the usual case, takes one
/// small allocation rather than room for four, which for items this large
/// is a size that glibc serves only after merging its free chunks.
fn list<'a, R: FrameReader<'a>, T>(
    r: &mut R,
    items: &mut Vec<T>,
    fresh: impl Fn() -> T,
    fill: impl Fn(&mut R, &mut T) -> Option<()>,
) -> Option<()> {
    /// The most items allocated ahead of reading them.
    const MAX_HINT: usize = 128;
    let mut list = r.list_begin_or_nil()?;
    items.reserve_exact(r.list_len_hint(&list).min(MAX_HINT));
    while r.list_next(&mut list)? {
        if items.len() == items.capacity() {
            items.reserve_exact(items.len().max(1));
        }
        items.push(fresh());
        fill(r, items.last_mut()?)?;
    }
    Some(())
}

/// Reads a frame's fields into `out`, a `ProtocolMessage` or a box of one
/// (see [`super::decode_protocol_message_boxed`]), as
/// `ProtocolMessage::new(Action::Heartbeat)` makes it; `None` means "let
/// serde decide".
pub(super) fn protocol_message<'a, R, P>(r: &mut R, mut out: P) -> Option<P>
where
    R: FrameReader<'a>,
    P: BorrowMut<ProtocolMessage>,
{
    let pm = out.borrow_mut();
    let mut seen = 0u64;
    let mut map = r.map_begin()?;
    while let Some(key) = r.map_next_key(&mut map)? {
        match key {
            b"action" => {
                first(&mut seen, 0)?;
                pm.action = Action::from_number(u64::try_from(r.int()?).ok()?);
            }
            b"flags" => {
                first(&mut seen, 1)?;
                pm.flags = Flags(u64::try_from(r.int()?).ok()?);
            }
            b"id" => {
                first(&mut seen, 2)?;
                pm.id = r.opt_string()?;
            }
            b"timestamp" => {
                first(&mut seen, 3)?;
                pm.timestamp = r.opt_int()?;
            }
            b"count" => {
                first(&mut seen, 4)?;
                pm.count = r.opt_int()?;
            }
            b"error" => {
                first(&mut seen, 5)?;
                pm.error = r.serde()?;
            }
            b"connectionId" => {
                first(&mut seen, 6)?;
                pm.connection_id = r.opt_string()?;
            }
            b"channel" => {
                first(&mut seen, 7)?;
                pm.channel = r.opt_string()?;
            }
            b"channelSerial" => {
                first(&mut seen, 8)?;
                pm.channel_serial = r.opt_string()?;
            }
            b"msgSerial" => {
                first(&mut seen, 9)?;
                pm.msg_serial = r.opt_int()?;
            }
            b"messages" => {
                first(&mut seen, 10)?;
                list(r, &mut pm.messages, Message::default, message)?;
            }
            b"presence" => {
                first(&mut seen, 11)?;
                list(r, &mut pm.presence, absent, presence)?;
            }
            b"annotations" => {
                first(&mut seen, 12)?;
                pm.annotations = r.serde::<Option<_>>()?.unwrap_or_default();
            }
            b"state" => {
                first(&mut seen, 13)?;
                pm.state = r.serde::<Option<_>>()?.unwrap_or_default();
            }
            b"auth" => {
                first(&mut seen, 14)?;
                pm.auth = r.serde()?;
            }
            b"connectionDetails" => {
                first(&mut seen, 15)?;
                pm.connection_details = r.serde()?;
            }
            b"params" => {
                first(&mut seen, 16)?;
                pm.params = r.serde()?;
            }
            b"res" => {
                first(&mut seen, 17)?;
                pm.res = r.serde()?;
            }
            _ => r.skip()?, // unknown fields are ignored
        }
    }
    Some(out)
}

/// A payload. Binary data that travels as base64 text (a string whose
/// encoding, as read so far, ends in `base64`) is decoded here and the step
/// dropped, as `unwrap_base64` would do after the decode (RSL6).
///
/// A payload whose whole encoding is `json` may be decoded here too, when
/// the reader is asked to (see [`super::decode_received`]).
fn data<'a, R: FrameReader<'a>>(r: &mut R, encoding: &mut Option<String>) -> Option<Data> {
    if encoding.as_deref() == Some("json") {
        let (data, decoded) = r.data_json()?;
        if decoded {
            *encoding = None;
        }
        return Some(data);
    }
    let rest = match encoding.as_deref().and_then(|e| e.strip_suffix("base64")) {
        Some("") => None,
        Some(head) => match head.strip_suffix('/') {
            Some(rest) => Some(rest),
            None => return r.data(),
        },
        None => return r.data(),
    };
    let (data, decoded) = r.data_base64()?;
    if decoded {
        *encoding = rest.map(str::to_owned);
    }
    Some(data)
}

fn message<'a, R: FrameReader<'a>>(r: &mut R, m: &mut Message) -> Option<()> {
    let mut seen = 0u64;
    let mut map = r.map_begin()?;
    while let Some(key) = r.map_next_key(&mut map)? {
        match key {
            b"id" => {
                first(&mut seen, 0)?;
                m.id = r.opt_string()?;
            }
            b"clientId" => {
                first(&mut seen, 1)?;
                m.client_id = r.opt_string()?;
            }
            b"connectionId" => {
                first(&mut seen, 2)?;
                m.connection_id = r.opt_string()?;
            }
            b"connectionKey" => {
                first(&mut seen, 3)?;
                m.connection_key = r.opt_string()?;
            }
            b"name" => {
                first(&mut seen, 4)?;
                m.name = r.opt_string()?;
            }
            b"encoding" => {
                first(&mut seen, 5)?;
                m.encoding = r.opt_string()?;
            }
            b"data" => {
                first(&mut seen, 6)?;
                m.data = data(r, &mut m.encoding)?;
            }
            b"extras" => {
                first(&mut seen, 7)?;
                m.extras = r.serde()?;
            }
            b"timestamp" => {
                first(&mut seen, 8)?;
                m.timestamp = r.opt_int()?;
            }
            b"action" => {
                first(&mut seen, 9)?;
                m.action = r.opt_int::<u64>()?.map(MessageAction::from_number);
            }
            b"serial" => {
                first(&mut seen, 10)?;
                m.serial = r.opt_string()?;
            }
            b"version" => {
                first(&mut seen, 11)?;
                m.version = r.serde()?;
            }
            b"annotations" => {
                first(&mut seen, 12)?;
                m.annotations = r.serde()?;
            }
            _ => r.skip()?,
        }
    }
    Some(())
}

/// A presence message with nothing read into it yet.
fn absent() -> PresenceMessage {
    PresenceMessage::new(PresenceAction::Absent, None, Data::None)
}

fn presence<'a, R: FrameReader<'a>>(r: &mut R, p: &mut PresenceMessage) -> Option<()> {
    let mut seen = 0u64;
    let mut map = r.map_begin()?;
    while let Some(key) = r.map_next_key(&mut map)? {
        match key {
            b"id" => {
                first(&mut seen, 0)?;
                p.id = r.opt_string()?;
            }
            b"action" => {
                first(&mut seen, 1)?;
                p.action = PresenceAction::from_number(u64::try_from(r.int()?).ok()?);
            }
            b"clientId" => {
                first(&mut seen, 2)?;
                p.client_id = r.opt_string()?;
            }
            b"connectionId" => {
                first(&mut seen, 3)?;
                p.connection_id = r.opt_string()?;
            }
            b"encoding" => {
                first(&mut seen, 4)?;
                p.encoding = r.opt_string()?;
            }
            b"data" => {
                first(&mut seen, 5)?;
                p.data = data(r, &mut p.encoding)?;
            }
            b"extras" => {
                first(&mut seen, 6)?;
                p.extras = r.serde()?;
            }
            b"timestamp" => {
                first(&mut seen, 7)?;
                p.timestamp = r.opt_int()?;
            }
            _ => r.skip()?,
        }
    }
    Some(())
}

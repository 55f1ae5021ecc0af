//! A direct MessagePack reader for the hot path: ProtocolMessage frames with
//! their messages and presence, read without serde's per-field machinery.
//!
//! It reads the common shapes only and gives up (returns `None`) on
//! anything else: a duplicate or non-string key, a value of an unexpected
//! type, a binary string. The caller then decodes the frame with serde,
//! which accepts or rejects it with a precise error, so both paths agree on
//! every input (property-tested and fuzzed). Nested values the core treats
//! as data (`error`, `connectionDetails`, `extras`, ...) are cut out whole
//! and handed to serde.

use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::msgpack_value_len;
use crate::wire::{
    Action, Data, Flags, Message, MessageAction, PresenceAction, PresenceMessage, ProtocolMessage,
};

/// A cursor over the frame.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let slice = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(slice)
    }

    fn be(&mut self, n: usize) -> Option<u64> {
        Some(
            self.take(n)?
                .iter()
                .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)),
        )
    }

    /// A map header: the number of entries.
    fn map_len(&mut self) -> Option<usize> {
        match self.byte()? {
            b @ 0x80..=0x8f => Some(usize::from(b & 0x0f)),
            0xde => Some(self.be(2)? as usize),
            0xdf => Some(self.be(4)? as usize),
            _ => None,
        }
    }

    /// An array header, or nil (an absent list).
    fn array_len_or_nil(&mut self) -> Option<usize> {
        match self.byte()? {
            b @ 0x90..=0x9f => Some(usize::from(b & 0x0f)),
            0xdc => Some(self.be(2)? as usize),
            0xdd => Some(self.be(4)? as usize),
            0xc0 => Some(0),
            _ => None,
        }
    }

    /// The bytes of a str; `None` for any other type.
    fn str_bytes(&mut self) -> Option<&'a [u8]> {
        let len = match self.byte()? {
            b @ 0xa0..=0xbf => usize::from(b & 0x1f),
            0xd9 => self.be(1)? as usize,
            0xda => self.be(2)? as usize,
            0xdb => self.be(4)? as usize,
            _ => return None,
        };
        self.take(len)
    }

    /// A str; `None` for any other type or invalid UTF-8.
    fn str(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.str_bytes()?).ok()
    }

    /// A map key, compared as bytes against the known names: a key that
    /// is not valid UTF-8 can only be an unknown one, which is skipped, as
    /// serde's field matching does. (Invalid UTF-8 in a key would make
    /// serde fail; so a key must be valid to pass.)
    fn key(&mut self) -> Option<&'a [u8]> {
        let key = self.str_bytes()?;
        if key.is_ascii() || std::str::from_utf8(key).is_ok() {
            Some(key)
        } else {
            None
        }
    }

    /// nil or a str.
    fn opt_string(&mut self) -> Option<Option<String>> {
        if self.peek()? == 0xc0 {
            self.pos += 1;
            return Some(None);
        }
        self.str().map(|s| Some(s.to_owned()))
    }

    /// An integer, or an integral float as the lenient decoders accept.
    fn int(&mut self) -> Option<i128> {
        let v: i128 = match self.byte()? {
            b @ 0x00..=0x7f => i128::from(b),
            b @ 0xe0..=0xff => i128::from(b as i8),
            0xcc => i128::from(self.be(1)?),
            0xcd => i128::from(self.be(2)?),
            0xce => i128::from(self.be(4)?),
            0xcf => i128::from(self.be(8)?),
            0xd0 => i128::from(self.be(1)? as u8 as i8),
            0xd1 => i128::from(self.be(2)? as u16 as i16),
            0xd2 => i128::from(self.be(4)? as u32 as i32),
            0xd3 => i128::from(self.be(8)? as i64),
            0xca => float(f64::from(f32::from_bits(self.be(4)? as u32)))?,
            0xcb => float(f64::from_bits(self.be(8)?))?,
            _ => return None,
        };
        Some(v)
    }

    /// nil or an integer in range for `T`.
    fn opt_int<T: TryFrom<i128>>(&mut self) -> Option<Option<T>> {
        if self.peek()? == 0xc0 {
            self.pos += 1;
            return Some(None);
        }
        T::try_from(self.int()?).ok().map(Some)
    }

    /// The next value as raw bytes, for serde.
    fn raw(&mut self) -> Option<&'a [u8]> {
        let len = msgpack_value_len(&self.bytes[self.pos..])?;
        self.take(len)
    }

    /// The next value decoded by serde.
    fn serde<T: DeserializeOwned>(&mut self) -> Option<T> {
        // A nested value sits a few levels down in the frame; with a
        // smaller limit here, whatever this accepts serde accepts too.
        let raw = self.raw()?;
        let mut de = rmp_serde::Deserializer::from_read_ref(raw);
        de.set_max_depth(super::MAX_DEPTH - 8);
        T::deserialize(&mut de).ok()
    }

    /// A payload: str, bin or nil; structured data goes through serde.
    fn data(&mut self) -> Option<Data> {
        match self.peek()? {
            0xc0 => {
                self.pos += 1;
                Some(Data::None)
            }
            0xa0..=0xbf | 0xd9..=0xdb => self.str().map(|s| Data::String(s.to_owned())),
            0xc4..=0xc6 => {
                let len = match self.byte()? {
                    0xc4 => self.be(1)?,
                    0xc5 => self.be(2)?,
                    _ => self.be(4)?,
                } as usize;
                Some(Data::Binary(Bytes::copy_from_slice(self.take(len)?)))
            }
            _ => self.serde(),
        }
    }
}

/// An integral float in the range f64 represents exactly.
fn float(v: f64) -> Option<i128> {
    (v.fract() == 0.0 && v.abs() <= 9_007_199_254_740_992.0).then_some(v as i128)
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

/// Reads a whole frame; `None` means "let serde decide".
pub(super) fn protocol_message(bytes: &[u8]) -> Option<ProtocolMessage> {
    let mut r = Reader { bytes, pos: 0 };
    let mut pm = ProtocolMessage::new(Action::Heartbeat);
    let mut seen = 0u64;
    for _ in 0..r.map_len()? {
        match r.key()? {
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
                let n = r.array_len_or_nil()?;
                pm.messages = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    pm.messages.push(message(&mut r)?);
                }
            }
            b"presence" => {
                first(&mut seen, 11)?;
                let n = r.array_len_or_nil()?;
                pm.presence = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    pm.presence.push(presence(&mut r)?);
                }
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
            _ => {
                r.raw()?; // unknown fields are ignored
            }
        }
    }
    (r.pos == bytes.len()).then_some(pm)
}

fn message(r: &mut Reader<'_>) -> Option<Message> {
    let mut m = Message::default();
    let mut seen = 0u64;
    for _ in 0..r.map_len()? {
        match r.key()? {
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
                m.data = r.data()?;
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
            _ => {
                r.raw()?;
            }
        }
    }
    Some(m)
}

fn presence(r: &mut Reader<'_>) -> Option<PresenceMessage> {
    let mut p = PresenceMessage::new(PresenceAction::Absent, None, Data::None);
    let mut seen = 0u64;
    for _ in 0..r.map_len()? {
        match r.key()? {
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
                p.data = r.data()?;
            }
            b"extras" => {
                first(&mut seen, 6)?;
                p.extras = r.serde()?;
            }
            b"timestamp" => {
                first(&mut seen, 7)?;
                p.timestamp = r.opt_int()?;
            }
            _ => {
                r.raw()?;
            }
        }
    }
    Some(p)
}

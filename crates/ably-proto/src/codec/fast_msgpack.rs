//! The MessagePack side of the fast frame reader (see [`super::fast`]).

use std::borrow::BorrowMut;

use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::fast::FrameReader;
use super::msgpack_value_len;
use crate::wire::{Data, ProtocolMessage};

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
    fn opt_string_(&mut self) -> Option<Option<String>> {
        if self.peek()? == 0xc0 {
            self.pos += 1;
            return Some(None);
        }
        self.str().map(|s| Some(s.to_owned()))
    }

    /// An integer, or an integral float as the lenient decoders accept.
    fn int_(&mut self) -> Option<i128> {
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
    fn opt_int_<T: TryFrom<i128>>(&mut self) -> Option<Option<T>> {
        if self.peek()? == 0xc0 {
            self.pos += 1;
            return Some(None);
        }
        T::try_from(self.int_()?).ok().map(Some)
    }

    /// The next value as raw bytes, for serde.
    fn raw(&mut self) -> Option<&'a [u8]> {
        let len = msgpack_value_len(&self.bytes[self.pos..])?;
        self.take(len)
    }

    /// The next value decoded by serde.
    fn serde_<T: DeserializeOwned>(&mut self) -> Option<T> {
        // A nested value sits a few levels down in the frame; with a
        // smaller limit here, whatever this accepts serde accepts too.
        let raw = self.raw()?;
        let mut de = rmp_serde::Deserializer::from_read_ref(raw);
        de.set_max_depth(super::MAX_DEPTH - 8);
        T::deserialize(&mut de).ok()
    }

    /// A payload: str, bin or nil; structured data goes through serde.
    fn data_(&mut self) -> Option<Data> {
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
            _ => self.serde_(),
        }
    }
}

/// An integral float in the range f64 represents exactly.
fn float(v: f64) -> Option<i128> {
    (v.fract() == 0.0 && v.abs() <= 9_007_199_254_740_992.0).then_some(v as i128)
}

impl<'a> FrameReader<'a> for Reader<'a> {
    type Seq = usize;

    fn map_begin(&mut self) -> Option<usize> {
        self.map_len()
    }

    fn map_next_key(&mut self, left: &mut usize) -> Option<Option<&'a [u8]>> {
        if *left == 0 {
            return Some(None);
        }
        *left -= 1;
        self.key().map(Some)
    }

    fn list_begin_or_nil(&mut self) -> Option<usize> {
        self.array_len_or_nil()
    }

    fn list_next(&mut self, left: &mut usize) -> Option<bool> {
        if *left == 0 {
            return Some(false);
        }
        *left -= 1;
        Some(true)
    }

    fn list_len_hint(&self, left: &usize) -> usize {
        *left
    }

    fn int(&mut self) -> Option<i128> {
        self.int_()
    }

    fn opt_string(&mut self) -> Option<Option<String>> {
        self.opt_string_()
    }

    fn data(&mut self) -> Option<Data> {
        self.data_()
    }

    fn serde<T: DeserializeOwned>(&mut self) -> Option<T> {
        self.serde_()
    }

    fn skip(&mut self) -> Option<()> {
        self.raw().map(|_| ())
    }

    fn opt_int<T: TryFrom<i128>>(&mut self) -> Option<Option<T>> {
        self.opt_int_()
    }
}

/// Reads a whole frame into `out`, a new `ProtocolMessage` or a box of
/// one; `None` means "let serde decide".
pub(super) fn protocol_message<P: BorrowMut<ProtocolMessage>>(bytes: &[u8], out: P) -> Option<P> {
    let mut r = Reader { bytes, pos: 0 };
    let pm = super::fast::protocol_message(&mut r, out)?;
    (r.pos == bytes.len()).then_some(pm)
}

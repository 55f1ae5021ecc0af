//! The JSON side of the fast frame reader (see [`super::fast`]): strings
//! without escapes are taken as they are, integers are read directly, and
//! anything else (an escape, a float, an unusual value) gives up so that
//! serde_json decides.

use serde::de::DeserializeOwned;

use super::fast::FrameReader;
use crate::wire::{Data, ProtocolMessage};

/// How deep [`Reader::skip_value`] follows nesting before giving up; serde
/// has the last word on deeper values.
const SKIP_DEPTH: usize = super::MAX_DEPTH - 8;

/// A cursor over the frame's text.
struct Reader<'a> {
    text: &'a str,
    pos: usize,
}

/// Where a map or list is.
struct Seq {
    first: bool,
    done: bool,
}

impl<'a> Reader<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn ws(&mut self) {
        while matches!(
            self.bytes().get(self.pos),
            Some(b' ' | b'\t' | b'\n' | b'\r')
        ) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.bytes().get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.peek()? == b).then(|| self.pos += 1)
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        self.ws();
        let end = self.pos.checked_add(word.len())?;
        (self.bytes().get(self.pos..end)? == word.as_bytes()).then(|| self.pos = end)
    }

    /// A string without escapes or control characters, as a slice of the
    /// text (so it is valid UTF-8 and ends on a character boundary).
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.pos;
        let rest = &self.bytes()[start..];
        let len = find_special(rest)?;
        if rest[len] != b'"' {
            return None; // an escape or a control character: serde decides
        }
        self.pos = start + len + 1;
        self.text.get(start..start + len)
    }

    fn is_null(&mut self) -> Option<bool> {
        if self.peek()? == b'n' {
            self.literal("null")?;
            Some(true)
        } else {
            Some(false)
        }
    }

    /// The span of the next value, following strings and nesting.
    fn skip_value(&mut self) -> Option<&'a str> {
        self.ws();
        let start = self.pos;
        let b = self.bytes();
        let mut depth = 0usize;
        loop {
            match *b.get(self.pos)? {
                b'"' => {
                    self.pos += 1;
                    loop {
                        match *b.get(self.pos)? {
                            b'\\' => self.pos += 2,
                            b'"' => {
                                self.pos += 1;
                                break;
                            }
                            _ => self.pos += 1,
                        }
                    }
                }
                b'{' | b'[' => {
                    depth += 1;
                    if depth > SKIP_DEPTH {
                        return None;
                    }
                    self.pos += 1;
                }
                b'}' | b']' => {
                    depth = depth.checked_sub(1)?;
                    self.pos += 1;
                }
                b',' | b':' if depth > 0 => self.pos += 1,
                b' ' | b'\t' | b'\n' | b'\r' => self.pos += 1,
                b',' | b':' => return None,
                _ => {
                    // A number or a literal: up to the next delimiter.
                    while let Some(&c) = b.get(self.pos) {
                        if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r' | b':') {
                            break;
                        }
                        self.pos += 1;
                    }
                }
            }
            if depth == 0 {
                return self.text.get(start..self.pos);
            }
        }
    }
}

/// The position of the first `"`, `\` or control character, eight bytes at
/// a time (the usual zero-byte bit tricks on a `u64`).
fn find_special(s: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |v: u64| v.wrapping_sub(LO) & !v;
    let mut i = 0;
    while let Some(chunk) = s.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        let quote = zero_byte(x ^ (LO * u64::from(b'"')));
        let backslash = zero_byte(x ^ (LO * u64::from(b'\\')));
        let control = x.wrapping_sub(LO * 0x20) & !x;
        let found = (quote | backslash | control) & HI;
        if found != 0 {
            // A borrow can only flag bytes above a real match, so the
            // lowest flagged byte is the first special one.
            return Some(i + (found.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    let tail = s.get(i..)?;
    let at = tail
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
    Some(i + at)
}

impl<'a> FrameReader<'a> for Reader<'a> {
    type Seq = Seq;

    fn map_begin(&mut self) -> Option<Seq> {
        self.eat(b'{')?;
        Some(Seq {
            first: true,
            done: false,
        })
    }

    fn map_next_key(&mut self, seq: &mut Seq) -> Option<Option<&'a [u8]>> {
        if self.peek()? == b'}' {
            self.pos += 1;
            return Some(None);
        }
        if !seq.first {
            self.eat(b',')?;
        }
        seq.first = false;
        let key = self.string()?;
        self.eat(b':')?;
        Some(Some(key.as_bytes()))
    }

    fn list_begin_or_nil(&mut self) -> Option<Seq> {
        if self.is_null()? {
            return Some(Seq {
                first: true,
                done: true,
            });
        }
        self.eat(b'[')?;
        Some(Seq {
            first: true,
            done: false,
        })
    }

    fn list_next(&mut self, seq: &mut Seq) -> Option<bool> {
        if seq.done {
            return Some(false);
        }
        if self.peek()? == b']' {
            self.pos += 1;
            seq.done = true;
            return Some(false);
        }
        if !seq.first {
            self.eat(b',')?;
        }
        seq.first = false;
        Some(true)
    }

    /// An integer: optional minus, digits, no leading zero, no fraction or
    /// exponent (those go to serde, which accepts integral floats).
    fn int(&mut self) -> Option<i128> {
        self.ws();
        let b = self.bytes();
        let start = self.pos;
        let negative = b.get(self.pos) == Some(&b'-');
        if negative {
            self.pos += 1;
        }
        let digits_start = self.pos;
        let mut value: i128 = 0;
        while let Some(&c) = b.get(self.pos) {
            if !c.is_ascii_digit() {
                break;
            }
            value = value.checked_mul(10)?.checked_add(i128::from(c - b'0'))?;
            self.pos += 1;
        }
        let digits = self.pos - digits_start;
        if digits == 0 || digits > 38 || (digits > 1 && b[digits_start] == b'0') {
            self.pos = start;
            return None;
        }
        if matches!(b.get(self.pos), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        Some(if negative { -value } else { value })
    }

    fn opt_string(&mut self) -> Option<Option<String>> {
        if self.is_null()? {
            return Some(None);
        }
        self.string().map(|s| Some(s.to_owned()))
    }

    fn data(&mut self) -> Option<Data> {
        match self.peek()? {
            b'n' => {
                self.literal("null")?;
                Some(Data::None)
            }
            b'"' => self.string().map(|s| Data::String(s.to_owned())),
            _ => self.serde(),
        }
    }

    fn serde<T: DeserializeOwned>(&mut self) -> Option<T> {
        serde_json::from_str(self.skip_value()?).ok()
    }

    fn skip(&mut self) -> Option<()> {
        // The span is only delimited above; serde checks that it is JSON.
        serde_json::from_str::<serde::de::IgnoredAny>(self.skip_value()?)
            .ok()
            .map(|_| ())
    }

    fn opt_int<T: TryFrom<i128>>(&mut self) -> Option<Option<T>> {
        if self.is_null()? {
            return Some(None);
        }
        T::try_from(self.int()?).ok().map(Some)
    }
}

/// Reads a whole frame; `None` means "let serde decide".
pub(super) fn protocol_message(text: &str) -> Option<ProtocolMessage> {
    let mut r = Reader { text, pos: 0 };
    let pm = super::fast::protocol_message(&mut r)?;
    r.ws();
    (r.pos == text.len()).then_some(pm)
}

#[cfg(test)]
mod tests {
    use super::find_special;

    #[test]
    fn find_special_matches_a_plain_scan() {
        let naive = |s: &[u8]| s.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20);
        // Every position of every special byte, in strings of 0 to 40 bytes,
        // among ordinary bytes that sit next to the special values.
        for len in 0..40 {
            for filler in [b'a', b'!', b'#', b'[', b']', 0x7f, 0xc3, b' '] {
                let base = vec![filler; len];
                assert_eq!(find_special(&base), naive(&base));
                for at in 0..len {
                    for special in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
                        let mut s = base.clone();
                        s[at] = special;
                        assert_eq!(find_special(&s), naive(&s), "{s:?}");
                    }
                }
            }
        }
    }
}

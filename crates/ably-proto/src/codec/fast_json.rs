//! The JSON side of the fast frame reader (see [`super::fast`]): strings
//! are taken as they are or unescaped, integers are read directly, and
//! anything else (an escaped key, a float, an unusual value) gives up so
//! that serde_json decides.

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

    /// A string value, unescaping it if needed: the common escapes and
    /// `\uXXXX` (with surrogate pairs). A control character or a bad
    /// escape gives up, so that serde reports the error.
    fn string_owned(&mut self) -> Option<String> {
        self.eat(b'"')?;
        let b = self.bytes();
        let mut out = String::new();
        let mut from = self.pos;
        loop {
            let len = find_special(b.get(from..)?)?;
            let at = from + len;
            out.push_str(self.text.get(from..at)?);
            match b[at] {
                b'"' => {
                    self.pos = at + 1;
                    return Some(out);
                }
                b'\\' => {
                    let (c, used) = unescape(b.get(at + 1..)?)?;
                    out.push(c);
                    from = at + 1 + used;
                }
                _ => return None, // a raw control character
            }
        }
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
/// The character of the escape after a backslash, and how many bytes it
/// used; `None` if it is not a JSON escape.
fn unescape(s: &[u8]) -> Option<(char, usize)> {
    let hex4 = |s: &[u8]| -> Option<u32> {
        let digits = std::str::from_utf8(s.get(..4)?).ok()?;
        if !digits.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(digits, 16).ok()
    };
    Some(match *s.first()? {
        b'"' => ('"', 1),
        b'\\' => ('\\', 1),
        b'/' => ('/', 1),
        b'b' => ('\u{8}', 1),
        b'f' => ('\u{c}', 1),
        b'n' => ('\n', 1),
        b'r' => ('\r', 1),
        b't' => ('\t', 1),
        b'u' => {
            let first = hex4(&s[1..])?;
            match first {
                0xD800..=0xDBFF => {
                    // A high surrogate must be followed by a low one.
                    if s.get(5..7)? != b"\\u" {
                        return None;
                    }
                    let second = hex4(&s[7..])?;
                    if !(0xDC00..=0xDFFF).contains(&second) {
                        return None;
                    }
                    let c = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                    (char::from_u32(c)?, 11)
                }
                0xDC00..=0xDFFF => return None,
                c => (char::from_u32(c)?, 5),
            }
        }
        _ => return None,
    })
}

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
    /// exponent (those go to serde, which accepts integral floats). The
    /// digits are summed in a `u64` (cheaper than `i128` arithmetic): a
    /// larger magnitude fits no integer field, so serde decides.
    fn int(&mut self) -> Option<i128> {
        self.ws();
        let b = self.bytes();
        let start = self.pos;
        let negative = b.get(self.pos) == Some(&b'-');
        if negative {
            self.pos += 1;
        }
        let digits_start = self.pos;
        let mut value: u64 = 0;
        while let Some(&c) = b.get(self.pos) {
            if !c.is_ascii_digit() {
                break;
            }
            value = value.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
            self.pos += 1;
        }
        let digits = self.pos - digits_start;
        if digits == 0 || (digits > 1 && b[digits_start] == b'0') {
            self.pos = start;
            return None;
        }
        if matches!(b.get(self.pos), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        let value = i128::from(value);
        Some(if negative { -value } else { value })
    }

    fn opt_string(&mut self) -> Option<Option<String>> {
        if self.is_null()? {
            return Some(None);
        }
        self.string_owned().map(Some)
    }

    fn data(&mut self) -> Option<Data> {
        match self.peek()? {
            b'n' => {
                self.literal("null")?;
                Some(Data::None)
            }
            b'"' => self.string_owned().map(Data::String),
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

/// Reads a whole frame into `out`, a new `ProtocolMessage` or a box of
/// one; `None` means "let serde decide".
pub(super) fn protocol_message<P>(text: &str, out: P) -> Option<P>
where
    P: std::borrow::BorrowMut<ProtocolMessage>,
{
    let mut r = Reader { text, pos: 0 };
    let pm = super::fast::protocol_message(&mut r, out)?;
    r.ws();
    (r.pos == text.len()).then_some(pm)
}

#[cfg(test)]
mod tests {
    use super::find_special;

    #[test]
    fn escaped_strings_read_like_serde() {
        let cases = [
            r#""plain""#,
            r#""a \"quoted\" word""#,
            r#""slash \/ back \\ tab \t nl \n cr \r bs \b ff \f""#,
            r#""\u00e9\u20ac and a pair \ud83d\ude00""#,
            r#""{\"order\":1,\"note\":\"xx\"}""#,
        ];
        for case in cases {
            let mut r = super::Reader { text: case, pos: 0 };
            let ours = r.string_owned().expect(case);
            let theirs: String = serde_json::from_str(case).expect(case);
            assert_eq!(ours, theirs);
            assert_eq!(r.pos, case.len());
        }
        // Left to serde, which rejects them.
        for bad in [
            r#""\ud800""#,
            r#""\udc00""#,
            r#""\x""#,
            "\"\u{1}\"",
            r#""\u12g4""#,
            r#""open"#,
        ] {
            let mut r = super::Reader { text: bad, pos: 0 };
            assert_eq!(r.string_owned(), None, "{bad}");
            assert!(serde_json::from_str::<String>(bad).is_err(), "{bad}");
        }
    }

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

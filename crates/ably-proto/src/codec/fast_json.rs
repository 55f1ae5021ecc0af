//! The JSON side of the fast frame reader (see [`super::fast`]): strings
//! are taken as they are or unescaped, integers are read directly, and
//! anything else (an escaped key, a float, an unusual value) gives up so
//! that serde_json decides.

use base64::Engine as _;
use serde::de::DeserializeOwned;

use super::fast::FrameReader;
use super::json_in_json::unescape_json;
use crate::encoding::BASE64;
use crate::wire::{Data, Json, ProtocolMessage};

/// How deep [`Reader::skip_value`] follows nesting before giving up; serde
/// has the last word on deeper values.
const SKIP_DEPTH: usize = super::MAX_DEPTH - 8;

/// A cursor over the frame's text.
struct Reader<'a> {
    text: &'a str,
    pos: usize,
    /// Whether `data` strings whose whole encoding is `json` are decoded
    /// here (see [`super::decode_received`]).
    json_payloads: bool,
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

    /// A string value, unescaping it if needed: the common escapes and
    /// `\uXXXX` (with surrogate pairs). A control character or a bad
    /// escape gives up, so that serde reports the error.
    fn string_owned(&mut self) -> Option<String> {
        self.eat(b'"')?;
        let b = self.bytes();
        let start = self.pos;
        let len = find_special(b.get(start..)?)?;
        if b[start + len] == b'"' {
            // The common case, no escapes: one search, one copy.
            self.pos = start + len + 1;
            return self.text.get(start..start + len).map(str::to_owned);
        }
        // Escapes: copy eight bytes at a time and keep those before the
        // first special one, so the short runs between the escapes of JSON
        // text in JSON cost no search call and no copy call each. The
        // output is never longer than the rest of the text.
        let mut out: Vec<u8> = Vec::with_capacity((b.len() - start).min(len + 1024));
        out.extend_from_slice(b.get(start..start + len)?);
        let mut at = start + len;
        loop {
            // Invariant: `at` is at a special byte.
            match b[at] {
                b'"' => {
                    self.pos = at + 1;
                    // The string lives as long as its message: no more
                    // than a little room to spare.
                    if out.capacity() - out.len() > out.len() / 8 + 64 {
                        out.shrink_to_fit();
                    }
                    // Whole runs of a `&str` and whole escapes: valid UTF-8,
                    // which this checks again (fast for ASCII) to stay safe.
                    return String::from_utf8(out).ok();
                }
                b'\\' => {
                    at = match *b.get(at + 1)? {
                        // The usual escape of JSON text in JSON, first.
                        b'"' => {
                            out.push(b'"');
                            at + 2
                        }
                        _ => {
                            let (c, used) = unescape(b.get(at + 1..)?)?;
                            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                            at + 1 + used
                        }
                    };
                }
                _ => return None, // a raw control character
            }
            // Up to the next special byte.
            loop {
                match b.get(at..at + 8) {
                    Some(chunk) => {
                        let mut word = [0u8; 8];
                        word.copy_from_slice(chunk);
                        out.extend_from_slice(&word);
                        match special_in_word(&word) {
                            None => at += 8,
                            Some(k) => {
                                out.truncate(out.len() - 8 + k);
                                at += k;
                                break;
                            }
                        }
                    }
                    None => {
                        let c = *b.get(at)?;
                        if c == b'"' || c == b'\\' || c < 0x20 {
                            break;
                        }
                        out.push(c);
                        at += 1;
                    }
                }
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

/// The character of the escape after a backslash, and how many bytes it
/// used; `None` if it is not a JSON escape.
pub(super) fn unescape(s: &[u8]) -> Option<(char, usize)> {
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

/// The position of the first `"`, `\` or control character (below 0x20).
///
/// The first 32 bytes are tested eight at a time (the usual zero-byte bit
/// tricks on a `u64`), which ends most strings: keys, ids, names. Past
/// that, the quote or backslash is found with `memchr2` (SIMD where the CPU
/// has it) and the bytes before it are checked for control characters in
/// one branch-free pass, which the compiler vectorises. The text is a
/// `&str` already, so nothing here needs to look at UTF-8.
#[inline]
pub(super) fn find_special(s: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < 32 {
        let Some(chunk) = s.get(i..i + 8) else { break };
        if let Some(at) = special_in_word(chunk) {
            return Some(i + at);
        }
        i += 8;
    }
    find_special_long(s, i)
}

/// [`find_special`] past `from`, for long strings and the end of the text.
#[inline(never)]
fn find_special_long(s: &[u8], from: usize) -> Option<usize> {
    let rest = s.get(from..)?;
    let end = memchr::memchr2(b'"', b'\\', rest).unwrap_or(rest.len());
    let span = &rest[..end];
    if span.iter().fold(u8::MAX, |low, &c| low.min(c)) < 0x20 {
        return span.iter().position(|&c| c < 0x20).map(|at| from + at);
    }
    (end < rest.len()).then_some(from + end)
}

/// The position of the first special byte (see [`find_special`]) among
/// eight.
fn special_in_word(chunk: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |v: u64| v.wrapping_sub(LO) & !v;
    let mut word = [0u8; 8];
    word.copy_from_slice(chunk);
    let x = u64::from_le_bytes(word);
    let quote = zero_byte(x ^ (LO * u64::from(b'"')));
    let backslash = zero_byte(x ^ (LO * u64::from(b'\\')));
    let control = x.wrapping_sub(LO * 0x20) & !x;
    let found = (quote | backslash | control) & HI;
    // A borrow can only flag bytes above a real match, so the lowest
    // flagged byte is the first special one.
    (found != 0).then(|| (found.trailing_zeros() / 8) as usize)
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
        let mut c = self.peek()?;
        if c == b'}' {
            self.pos += 1;
            return Some(None);
        }
        if !seq.first {
            if c != b',' {
                return None;
            }
            self.pos += 1;
            c = self.peek()?;
        }
        seq.first = false;
        if c != b'"' {
            return None;
        }
        // Keys are compared as bytes, so they need no `&str` slice.
        let b = self.bytes();
        let start = self.pos + 1;
        let end = start + find_special(b.get(start..)?)?;
        if b[end] != b'"' {
            return None; // an escaped key: serde decides
        }
        self.pos = end + 1;
        self.eat(b':')?;
        Some(Some(&b[start..end]))
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
        let negative = b.get(self.pos) == Some(&b'-');
        let digits_start = self.pos + usize::from(negative);
        let digits = b.get(digits_start..)?;
        // Up to 19 digits fit a `u64`, which is cheaper than `i128`
        // arithmetic; 38 digits always fit an `i128`.
        let mut count = 0;
        let mut small = 0u64;
        while let Some(d) = digits.get(count).map(|c| c.wrapping_sub(b'0')) {
            if d > 9 {
                break;
            }
            if count < 19 {
                small = small * 10 + u64::from(d);
            }
            count += 1;
        }
        if count == 0 || count > 38 || (count > 1 && digits[0] == b'0') {
            return None;
        }
        let end = digits_start + count;
        if matches!(b.get(end), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        let value = if count <= 19 {
            i128::from(small)
        } else {
            let digits = &digits[..count];
            digits
                .iter()
                .fold(0i128, |v, &c| v * 10 + i128::from(c - b'0'))
        };
        self.pos = end;
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

    fn data_json(&mut self) -> Option<(Data, bool)> {
        if self.json_payloads && self.peek()? == b'"' {
            if let Some((text, end)) = unescape_json(self.text, self.pos + 1) {
                self.pos = end;
                return Some((Data::Json(Json::from_checked_text(text)), true));
            }
        }
        Some((self.data()?, false))
    }

    fn data_base64(&mut self) -> Option<(Data, bool)> {
        if self.peek()? == b'"' {
            // Base64 text has no escapes, and the decoder refuses control
            // characters, so the closing quote is all there is to find; the
            // text is decoded straight from the frame.
            let start = self.pos + 1;
            let b = self.bytes();
            if let Some(len) = memchr::memchr2(b'"', b'\\', b.get(start..)?) {
                let end = start + len;
                if b[end] == b'"' {
                    if let Ok(bytes) = BASE64.decode(&b[start..end]) {
                        self.pos = end + 1;
                        return Some((Data::Binary(bytes.into()), true));
                    }
                }
            }
        }
        // Anything else, including text that is not base64, is left for
        // the payload decoder to report.
        Some((self.data()?, false))
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
/// Reads a frame; with `json_payloads`, `json` data is decoded too (see
/// [`super::decode_received`]).
pub(super) fn protocol_message<P>(text: &str, out: P, json_payloads: bool) -> Option<P>
where
    P: std::borrow::BorrowMut<ProtocolMessage>,
{
    let mut r = Reader {
        text,
        pos: 0,
        json_payloads,
    };
    let pm = super::fast::protocol_message(&mut r, out)?;
    r.ws();
    (r.pos == text.len()).then_some(pm)
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::find_special;
    use crate::codec::{self, Format};

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
            let mut r = super::Reader {
                text: case,
                pos: 0,
                json_payloads: false,
            };
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
            let mut r = super::Reader {
                text: bad,
                pos: 0,
                json_payloads: false,
            };
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

    /// A piece of a JSON string literal's body: plain text (ASCII or not,
    /// short or long enough for the `memchr2` path), an escape, or
    /// something JSON refuses (a raw control character, a bad escape).
    fn piece() -> impl Strategy<Value = String> {
        let plain = |s: String| {
            s.chars()
                .filter(|&c| c >= ' ' && c != '"' && c != '\\')
                .collect()
        };
        prop_oneof![
            4 => "[a-zA-Z0-9 +/=]{0,80}",
            2 => any::<String>().prop_map(plain),
            1 => "[é€😀a]{1,40}",
            3 => prop::sample::select(vec![
                r#"\""#, r"\\", r"\/", r"\b", r"\f", r"\n", r"\r", r"\t",
                r"\u00e9", r"\u20AC", r"\ud83d\ude00", r"\u0000",
            ])
            .prop_map(str::to_owned),
            1 => any::<u16>().prop_map(|u| format!("\\u{u:04x}")),
            1 => prop::sample::select(vec!["\u{1}", "\n", "\u{1f}", r"\x", r"\u12g4", r"\ud800x"])
                .prop_map(str::to_owned),
        ]
    }

    /// The bytes and the encoding a frame's message should decode to.
    type Expected = Option<(Vec<u8>, Option<String>)>;

    /// A message frame whose data is base64 text, possibly damaged, with
    /// `encoding` before or after `data`; and, when the text is intact and
    /// the encoding ends in `base64`, the bytes and encoding expected.
    fn base64_frame() -> impl Strategy<Value = (String, Expected)> {
        let damage = prop::sample::select(vec!["", "", "!", "=", "A", "==", r"\/", r"\u0041", " "]);
        let encoding = prop::sample::select(vec![
            ("base64", Some(None)),
            ("utf-8/base64", Some(Some("utf-8"))),
            ("/base64", Some(Some(""))),
            ("base64/base64", Some(Some("base64"))),
            ("xbase64", None),
            ("base64/utf-8", None),
        ]);
        (
            vec(any::<u8>(), 0..2000),
            any::<prop::sample::Index>(),
            damage,
            encoding,
            any::<bool>(),
        )
            .prop_map(|(bytes, at, damage, (encoding, rest), data_first)| {
                let mut text = base64::engine::general_purpose::STANDARD.encode(&bytes);
                text.insert_str(at.index(text.len() + 1), damage);
                let data = format!(r#""data":"{text}""#);
                let enc = format!(r#""encoding":"{encoding}""#);
                let (a, b) = if data_first { (data, enc) } else { (enc, data) };
                let frame =
                    format!(r#"{{"action":15,"channel":"c","messages":[{{"name":"n",{a},{b}}}]}}"#);
                let expected = rest
                    .filter(|_| damage.is_empty())
                    .map(|rest| (bytes, rest.map(str::to_owned)));
                (frame, expected)
            })
    }

    proptest! {
        #![proptest_config(crate::proptest_config::fixed_seed())]

        /// Any string literal, with or without escapes and non-ASCII text,
        /// reads as serde_json reads it, or is left to serde when serde
        /// refuses it.
        #[test]
        fn any_string_reads_like_serde(pieces in vec(piece(), 0..8)) {
            let text = format!("\"{}\"", pieces.concat());
            let mut r = super::Reader { text: &text, pos: 0, json_payloads: false };
            let ours = r.string_owned();
            let theirs = serde_json::from_str::<String>(&text).ok();
            prop_assert_eq!(&ours, &theirs);
            if ours.is_some() {
                prop_assert_eq!(r.pos, text.len());
            }
        }

        /// `find_special` finds the first quote, backslash or control
        /// character at any position of texts up to 200 bytes.
        #[test]
        fn find_special_matches_a_plain_scan_anywhere(
            s in vec(prop_oneof![8 => 0x20u8..=0xff, 1 => Just(b'"'), 1 => Just(b'\\'), 1 => 0u8..0x20], 0..200)
        ) {
            let naive = s.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20);
            prop_assert_eq!(find_special(&s), naive);
        }

        /// Base64 data decoded straight from the frame (RSL6, binary in
        /// JSON) gives the frame serde gives, damaged text and all.
        #[test]
        fn base64_data_reads_like_serde((frame, expected) in base64_frame()) {
            let fast = codec::decode_protocol_message(frame.as_bytes(), Format::Json);
            let slow = codec::decode_json_via_serde(frame.as_bytes());
            prop_assert_eq!(fast.as_ref().ok(), slow.as_ref().ok());
            let pm = fast.map_err(|e| TestCaseError::fail(format!("{e}: {frame}")))?;
            if let Some((bytes, encoding)) = expected {
                prop_assert_eq!(&pm.messages[0].data, &crate::Data::Binary(bytes.into()));
                prop_assert_eq!(&pm.messages[0].encoding, &encoding);
            }
        }
    }
}

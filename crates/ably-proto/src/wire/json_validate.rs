//! Checks that text is JSON without building a value.
//!
//! [`validate`] accepts exactly the texts that
//! `serde_json::from_str::<serde_json::Value>` accepts, so that a payload
//! validated when it is received (RSL6, the `json` step) always parses
//! later. That is stricter than serde_json's `IgnoredAny`, which accepts
//! numbers out of the `f64` range, lone UTF-16 surrogates in `\u` escapes
//! and any nesting depth. The rules, as serde_json applies them:
//!
//! - RFC 8259 syntax: no trailing commas, no leading zeros, no comments;
//!   whitespace is space, tab, CR and LF only;
//! - strings: no control characters (below U+0020); escapes are `\"`, `\\`,
//!   `\/`, `\b`, `\f`, `\n`, `\r`, `\t` and `\uXXXX`, where a leading
//!   surrogate must be followed by a `\u` trailing surrogate and a trailing
//!   surrogate may not stand alone;
//! - numbers whose magnitude rounds to infinity as an `f64` are refused;
//! - arrays and objects nest at most [`MAX_DEPTH`] deep.

use std::fmt;

/// The deepest nesting of arrays and objects serde_json parses (its
/// recursion limit of 128 counts the container that fails).
pub(crate) const MAX_DEPTH: u32 = 127;

/// Why text is not JSON: what was wrong and at which byte offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonSyntaxError {
    at: usize,
    what: &'static str,
}

impl JsonSyntaxError {
    /// The byte offset in the text where the problem was found.
    pub fn offset(&self) -> usize {
        self.at
    }
}

impl fmt::Display for JsonSyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.what, self.at)
    }
}

impl std::error::Error for JsonSyntaxError {}

/// Checks that `text` is one JSON value, optionally surrounded by
/// whitespace, that serde_json parses into a `serde_json::Value`.
///
/// The grammar runs as a loop with an explicit stack: bit `d` of `objects`
/// is set when the container at depth `d` is an object. Positions are byte
/// offsets passed along by value, so that they stay in registers.
pub(crate) fn validate(text: &str) -> Result<(), JsonSyntaxError> {
    let b = text.as_bytes();
    let mut i = 0;
    let mut objects: u128 = 0;
    let mut depth: u32 = 0;
    'value: loop {
        // A value is expected here.
        i = skip_whitespace(b, i);
        match b.get(i) {
            Some(&open @ (b'[' | b'{')) => {
                if depth == MAX_DEPTH {
                    return fail(i, "nesting too deep");
                }
                let is_object = open == b'{';
                objects = (objects & !(1 << depth)) | (u128::from(is_object) << depth);
                depth += 1;
                i = skip_whitespace(b, i + 1);
                let close = if is_object { b'}' } else { b']' };
                if b.get(i) == Some(&close) {
                    i += 1;
                    depth -= 1;
                } else if is_object {
                    i = key(b, i)?;
                    continue 'value;
                } else {
                    continue 'value;
                }
            }
            Some(b'"') => i = string(b, i + 1)?,
            Some(b'-' | b'0'..=b'9') => i = number(text, i)?,
            Some(b't') => i = literal(b, i, b"true")?,
            Some(b'f') => i = literal(b, i, b"false")?,
            Some(b'n') => i = literal(b, i, b"null")?,
            Some(_) => return fail(i, "expected a value"),
            None => return fail(i, "unexpected end, expected a value"),
        }
        // A value ended: close containers until one continues.
        loop {
            i = skip_whitespace(b, i);
            if depth == 0 {
                return match b.get(i) {
                    None => Ok(()),
                    Some(_) => fail(i, "trailing characters"),
                };
            }
            let is_object = objects & (1 << (depth - 1)) != 0;
            match (b.get(i), is_object) {
                (Some(b','), false) => {
                    i += 1;
                    continue 'value;
                }
                (Some(b','), true) => {
                    i = key(b, skip_whitespace(b, i + 1))?;
                    continue 'value;
                }
                (Some(b']'), false) | (Some(b'}'), true) => {
                    i += 1;
                    depth -= 1;
                }
                (_, false) => return fail(i, "expected ',' or ']'"),
                (_, true) => return fail(i, "expected ',' or '}'"),
            }
        }
    }
}

#[cold]
fn fail<T>(at: usize, what: &'static str) -> Result<T, JsonSyntaxError> {
    Err(JsonSyntaxError { at, what })
}

#[inline]
fn skip_whitespace(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(i) {
        i += 1;
    }
    i
}

/// An object key and its colon, at the opening quote; gives the offset
/// after the colon.
#[inline]
fn key(b: &[u8], i: usize) -> Result<usize, JsonSyntaxError> {
    if b.get(i) != Some(&b'"') {
        return fail(i, "expected a string key");
    }
    let i = skip_whitespace(b, string(b, i + 1)?);
    if b.get(i) != Some(&b':') {
        return fail(i, "expected ':'");
    }
    Ok(i + 1)
}

fn literal(b: &[u8], i: usize, word: &[u8]) -> Result<usize, JsonSyntaxError> {
    if b[i..].starts_with(word) {
        Ok(i + word.len())
    } else {
        fail(i, "invalid literal")
    }
}

/// The rest of a string, from after its opening quote; gives the offset
/// after the closing quote. The text is UTF-8 already, so only quotes,
/// escapes and control characters matter.
#[inline(always)]
fn string(b: &[u8], mut i: usize) -> Result<usize, JsonSyntaxError> {
    loop {
        i = skip_plain_bytes(b, i);
        match b.get(i) {
            Some(b'"') => return Ok(i + 1),
            Some(b'\\') => i = escape(b, i + 1)?,
            Some(_) => return fail(i, "control character in a string"),
            None => return fail(i, "unexpected end of a string"),
        }
    }
}

/// The offset of the first byte from `i` on that is `"`, `\` or a control
/// character (or the end), looking at eight bytes at a time.
#[inline(always)]
fn skip_plain_bytes(b: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = b.get(i..i + 8) {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let mask = special_bytes(u64::from_le_bytes(word));
        if mask != 0 {
            return i + (mask.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            break;
        }
        i += 1;
    }
    i
}

/// The high bit of each byte of `x` (read little-endian) that is `"`, `\`
/// or below 0x20, exact up to the first such byte (above it, a borrow may
/// flag more), so the lowest set bit finds the first.
#[inline]
fn special_bytes(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let quote = x ^ (ONES * u64::from(b'"'));
    let backslash = x ^ (ONES * u64::from(b'\\'));
    let zero_quote = quote.wrapping_sub(ONES) & !quote;
    let zero_backslash = backslash.wrapping_sub(ONES) & !backslash;
    let control = x.wrapping_sub(ONES * 0x20) & !x;
    (zero_quote | zero_backslash | control) & HIGH
}

/// One escape, from after its backslash; gives the offset after it.
fn escape(b: &[u8], i: usize) -> Result<usize, JsonSyntaxError> {
    match b.get(i) {
        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(i + 1),
        Some(b'u') => {
            let (unit, i) = hex4(b, i + 1)?;
            match unit {
                0xDC00..=0xDFFF => fail(i, "lone trailing surrogate in a \\u escape"),
                0xD800..=0xDBFF => {
                    if !b[i..].starts_with(b"\\u") {
                        return fail(i, "lone leading surrogate in a \\u escape");
                    }
                    match hex4(b, i + 2)? {
                        (0xDC00..=0xDFFF, i) => Ok(i),
                        (_, i) => fail(i, "lone leading surrogate in a \\u escape"),
                    }
                }
                _ => Ok(i),
            }
        }
        Some(_) => fail(i, "invalid escape"),
        None => fail(i, "unexpected end of a string"),
    }
}

/// Four hex digits of a `\u` escape: the code unit and the offset after.
fn hex4(b: &[u8], i: usize) -> Result<(u16, usize), JsonSyntaxError> {
    let Some(digits) = b.get(i..i + 4) else {
        return fail(i, "unexpected end of a \\u escape");
    };
    let mut unit = 0u16;
    for &d in digits {
        let v = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            b'A'..=b'F' => d - b'A' + 10,
            _ => return fail(i, "invalid \\u escape"),
        };
        unit = unit << 4 | u16::from(v);
    }
    Ok((unit, i + 4))
}

/// The offset of the first byte from `i` on that is not a digit.
#[inline]
fn digits(b: &[u8], mut i: usize) -> usize {
    while let Some(b'0'..=b'9') = b.get(i) {
        i += 1;
    }
    i
}

/// A number, `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`;
/// gives the offset after it.
///
/// A number whose magnitude is below 10^300 is always in range; a larger
/// one is rare and handed to serde_json, whose `f64` rounding decides.
pub(crate) fn number(text: &str, start: usize) -> Result<usize, JsonSyntaxError> {
    let b = text.as_bytes();
    let mut i = start;
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    // Digits before the point, a lone zero not counted.
    let int_digits = match b.get(i) {
        Some(b'0') => {
            i += 1;
            0
        }
        Some(b'1'..=b'9') => {
            let end = digits(b, i);
            let n = end - i;
            i = end;
            n
        }
        _ => return fail(i, "invalid number"),
    };
    if b.get(i) == Some(&b'.') {
        let end = digits(b, i + 1);
        if end == i + 1 {
            return fail(end, "invalid number");
        }
        i = end;
    }
    let mut exponent: i64 = 0;
    if let Some(b'e' | b'E') = b.get(i) {
        i += 1;
        let negative = match b.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let end = digits(b, i);
        if end == i {
            return fail(i, "invalid number");
        }
        for &d in &b[i..end] {
            exponent = exponent
                .saturating_mul(10)
                .saturating_add(i64::from(d - b'0'));
        }
        if negative {
            exponent = -exponent;
        }
        i = end;
    }
    let magnitude = i64::try_from(int_digits)
        .unwrap_or(i64::MAX)
        .saturating_add(exponent);
    if magnitude > 300 && serde_json::from_str::<serde_json::Value>(&text[start..i]).is_err() {
        return fail(start, "number out of range");
    }
    Ok(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// serde_json, the referee.
    fn serde_accepts(text: &str) -> bool {
        serde_json::from_str::<serde_json::Value>(text).is_ok()
    }

    fn agree(text: &str) {
        assert_eq!(
            validate(text).is_ok(),
            serde_accepts(text),
            "validate and serde_json disagree on {text:?}: {:?}",
            validate(text)
        );
    }

    #[test]
    fn accepts_and_refuses_what_serde_json_does() {
        let cases = [
            "{}",
            "[]",
            " {\"a\" : [1, 2.5, -0, 1e3, 1E-3, 0.0e+0, true, false, null, \"x\"]} \r\n\t",
            "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00\"",
            "\"héllo ☃ 😀\"",
            "{\"a\":{\"b\":{}},\"a\":1}",
            "0",
            "-1",
            "123456789012345678901234567890",
            "",
            " ",
            "{",
            "[1,]",
            "{\"a\":1,}",
            "[1 2]",
            "{\"a\" 1}",
            "{1:2}",
            "{\"a\":}",
            "[,1]",
            "01",
            "-",
            "-01",
            "1.",
            ".5",
            "+1",
            "1e",
            "1e+",
            "1.e3",
            "NaN",
            "Infinity",
            "tru",
            "nulll",
            "[true false]",
            "\"a\nb\"",
            "\"a\u{1f}b\"",
            "\"\\x\"",
            "\"\\u12\"",
            "\"\\u12G4\"",
            "\"\\uD800\"",
            "\"\\uD800x\"",
            "\"\\uD800\\n\"",
            "\"\\uD800\\u0041\"",
            "\"\\uDC00\"",
            "\"\\uDBFF\\uDFFF\"",
            "\"unterminated",
            "\"ends in a backslash\\",
            "1e400",
            "-1e400",
            "1e308",
            "1.7976931348623157e308",
            "1.7976931348623159e308",
            "1e-400",
            "0e999999999999999999999",
            "1e-999999999999999999999",
            "1e999999999999999999999",
            "{} {}",
            "[] x",
            "\u{feff}{}",
            "[1]\u{a0}",
        ];
        for text in cases {
            agree(text);
        }
        let long_int = "9".repeat(400);
        agree(&long_int);
        agree(&format!("0.{long_int}"));
        agree(&format!("{long_int}e-100"));
        agree(&format!("1{}e-100", "0".repeat(407)));
        agree(&format!("1{}e-100", "0".repeat(408)));
        agree(&format!("1{}", "0".repeat(308)));
        agree(&format!("1{}", "0".repeat(309)));
    }

    #[test]
    fn depth_limit_matches_serde_json() {
        for depth in [1, 126, 127, 128, 129, 500] {
            for (open, close) in [("[", "]"), ("{\"k\":", "}"), ("[{\"k\":", "}]")] {
                let text = format!("{}1{}", open.repeat(depth), close.repeat(depth));
                agree(&text);
            }
        }
        let ok = format!("{}{}", "[".repeat(127), "]".repeat(127));
        assert!(validate(&ok).is_ok());
        let deep = format!("{}{}", "[".repeat(128), "]".repeat(128));
        assert_eq!(validate(&deep).unwrap_err().what, "nesting too deep");
    }

    #[test]
    fn errors_say_where() {
        assert_eq!(
            validate("[1,]"),
            Err(JsonSyntaxError {
                at: 3,
                what: "expected a value"
            })
        );
        assert_eq!(
            validate("{\"a\":1} x").unwrap_err().to_string(),
            "trailing characters at byte 8"
        );
    }

    #[test]
    fn special_bytes_finds_the_first() {
        for len in 0..20 {
            for at in 0..len {
                for special in [b'"', b'\\', 0, 0x1f, b'\n'] {
                    for filler in [b'a', 0x20, 0x7f, 0x80, 0xe9, 0xff] {
                        let mut bytes = vec![filler; len];
                        bytes[at] = special;
                        // A second special byte later must not hide the first.
                        if at + 2 < len {
                            bytes[at + 2] = b'"';
                        }
                        let text = String::from_utf8_lossy(&bytes).into_owned();
                        let got = skip_plain_bytes(text.as_bytes(), 0);
                        let want = text
                            .bytes()
                            .position(|b| b == b'"' || b == b'\\' || b < 0x20)
                            .unwrap_or(text.len());
                        assert_eq!(got, want, "{text:?}");
                    }
                }
            }
        }
    }

    /// A JSON-ish token soup: mostly valid pieces, sometimes broken ones.
    fn soup() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("{".to_owned()),
            Just("}".to_owned()),
            Just("[".to_owned()),
            Just("]".to_owned()),
            Just(",".to_owned()),
            Just(":".to_owned()),
            Just(" ".to_owned()),
            Just("\"".to_owned()),
            Just("\\".to_owned()),
            Just("\"k\"".to_owned()),
            Just("\"k\":".to_owned()),
            Just("true".to_owned()),
            Just("null".to_owned()),
            Just("\\u".to_owned()),
            Just("\\uD83D".to_owned()),
            Just("\\uDE00".to_owned()),
            "[0-9a-fA-F]{1,4}",
            "-?[0-9]{0,3}(\\.[0-9]{0,2})?([eE][+-]?[0-9]{0,3})?",
            "\"[ -~é\u{1}\n]{0,12}\"",
            any::<char>().prop_map(String::from),
        ];
        prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
    }

    /// Arbitrary JSON values, printed compactly or prettily.
    fn json_text() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            any::<String>().prop_map(serde_json::Value::from),
        ];
        let value = leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
                prop::collection::btree_map(any::<String>(), inner, 0..6)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        });
        (value, any::<bool>()).prop_map(|(v, pretty)| {
            if pretty {
                serde_json::to_string_pretty(&v).unwrap_or_default()
            } else {
                v.to_string()
            }
        })
    }

    proptest! {
        #[test]
        fn agrees_with_serde_json_on_soup(text in soup()) {
            prop_assert_eq!(validate(&text).is_ok(), serde_accepts(&text), "{:?}", text);
        }

        #[test]
        fn accepts_serialized_values(text in json_text()) {
            prop_assert!(validate(&text).is_ok(), "{:?}: {:?}", text, validate(&text));
        }

        #[test]
        fn agrees_on_cut_values(text in json_text(), cut in any::<prop::sample::Index>()) {
            let mut end = cut.index(text.len() + 1);
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            let part = &text[..end];
            prop_assert_eq!(validate(part).is_ok(), serde_accepts(part), "{:?}", part);
        }
    }
}

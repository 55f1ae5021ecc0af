//! JSON text carried in a JSON string: the `data` of a message whose whole
//! `encoding` is `json` (RSL4), in a JSON frame. The frame reader has to
//! unescape that string and the payload decoder has to check the text in
//! it (RSL6); [`unescape_json`] does both in one pass over the frame, which
//! reads each inner string once rather than twice and needs no search for
//! the escapes between them: the grammar says where they are.
//!
//! Only the usual writing is taken: structure, numbers and literals as
//! plain bytes; whitespace as spaces or the `\n`, `\r`, `\t` escapes; inner
//! strings between `\"` escapes. Anything else, valid or not, gives `None`
//! and the caller takes the general path (unescape, then
//! [`json_validate`]), which has the last word. So what this pass accepts
//! is always what the validator accepts, while it may refuse more.

use super::fast_json::{find_special, unescape};
use crate::wire::json_validate::{self, MAX_DEPTH};

/// The JSON text in the string body that starts at `text[at]` (just after
/// its opening quote), unescaped, when it is one JSON value that
/// `serde_json` parses; with the offset after the closing quote.
pub(super) fn unescape_json(text: &str, at: usize) -> Option<(String, usize)> {
    let mut r = Unescaper {
        text,
        b: text.as_bytes(),
        i: at,
        flushed: at,
        out: Vec::with_capacity((text.len() - at).min(4096)),
    };
    r.value()?;
    // The closing quote of the outer string.
    if r.b.get(r.i) != Some(&b'"') {
        return None;
    }
    r.flush(r.i);
    // The text is kept as long as the message: no more than a little
    // room to spare (the buffer was sized from the rest of the frame).
    if r.out.capacity() - r.out.len() > r.out.len() / 8 + 64 {
        r.out.shrink_to_fit();
    }
    // Whole runs of a `&str` and whole characters: valid UTF-8, which this
    // checks again (fast for ASCII) to stay safe.
    let out = String::from_utf8(r.out).ok()?;
    Some((out, r.i + 1))
}

/// The pass: a cursor over the outer text, and the output so far.
struct Unescaper<'a> {
    text: &'a str,
    b: &'a [u8],
    /// The next byte to read.
    i: usize,
    /// The bytes from here to `i` are plain and not yet in `out`.
    flushed: usize,
    out: Vec<u8>,
}

impl Unescaper<'_> {
    /// Copies the plain bytes up to `to` into the output: a short run as
    /// one eight-byte word cut to length, which costs no copy call.
    #[inline(always)]
    fn flush(&mut self, to: usize) {
        let (from, b) = (self.flushed, self.b);
        let run = to - from;
        match b.get(from..from + 8) {
            Some(chunk) if run <= 8 => {
                let len = self.out.len();
                let mut word = [0u8; 8];
                word.copy_from_slice(chunk);
                self.out.extend_from_slice(&word);
                self.out.truncate(len + run);
            }
            _ => self.out.extend_from_slice(&b[from..to]),
        }
        self.flushed = to;
    }

    /// Puts `byte` in the output for the escape of `len` bytes at `i`, and
    /// moves past it.
    #[inline(always)]
    fn replace(&mut self, len: usize, byte: u8) {
        self.flush(self.i);
        self.out.push(byte);
        self.i += len;
        self.flushed = self.i;
    }

    /// Skips whitespace: spaces, and newlines, returns and tabs written as
    /// escapes (raw ones are not allowed in the outer string).
    #[inline(always)]
    fn whitespace(&mut self) {
        loop {
            match self.b.get(self.i) {
                Some(b' ') => self.i += 1,
                Some(b'\\') => match self.b.get(self.i + 1) {
                    Some(b'n') => self.replace(2, b'\n'),
                    Some(b'r') => self.replace(2, b'\r'),
                    Some(b't') => self.replace(2, b'\t'),
                    _ => return,
                },
                _ => return,
            }
        }
    }

    /// Whether an inner string starts here: `\"`.
    #[inline(always)]
    fn at_string(&self) -> bool {
        self.b.get(self.i..self.i + 2) == Some(b"\\\"")
    }

    /// One JSON value with its nesting, as `json_validate::validate` reads
    /// it: a loop with an explicit stack, bit `d` of `objects` set when the
    /// container at depth `d` is an object.
    fn value(&mut self) -> Option<()> {
        let mut objects: u128 = 0;
        let mut depth: u32 = 0;
        let mut in_object = false;
        'value: loop {
            self.whitespace();
            match *self.b.get(self.i)? {
                open @ (b'[' | b'{') => {
                    if depth == MAX_DEPTH {
                        return None;
                    }
                    in_object = open == b'{';
                    objects = (objects & !(1 << depth)) | (u128::from(in_object) << depth);
                    depth += 1;
                    self.i += 1;
                    self.whitespace();
                    let close = if in_object { b'}' } else { b']' };
                    if self.b.get(self.i) == Some(&close) {
                        self.i += 1;
                        depth -= 1;
                        in_object = depth > 0 && objects & (1 << (depth - 1)) != 0;
                    } else if in_object {
                        self.key()?;
                        continue 'value;
                    } else {
                        continue 'value;
                    }
                }
                b'\\' if self.at_string() => self.string()?,
                b'-' | b'0'..=b'9' => self.i = json_validate::number(self.text, self.i).ok()?,
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                _ => return None,
            }
            // A value ended: close containers until one continues.
            loop {
                self.whitespace();
                if depth == 0 {
                    return Some(());
                }
                match (*self.b.get(self.i)?, in_object) {
                    (b',', false) => {
                        self.i += 1;
                        continue 'value;
                    }
                    (b',', true) => {
                        self.i += 1;
                        self.whitespace();
                        self.key()?;
                        continue 'value;
                    }
                    (b']', false) | (b'}', true) => {
                        self.i += 1;
                        depth -= 1;
                        in_object = depth > 0 && objects & (1 << (depth - 1)) != 0;
                    }
                    _ => return None,
                }
            }
        }
    }

    /// An object key and its colon.
    #[inline(always)]
    fn key(&mut self) -> Option<()> {
        if !self.at_string() {
            return None;
        }
        self.string()?;
        self.whitespace();
        (self.b.get(self.i) == Some(&b':')).then(|| self.i += 1)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.b[self.i..]
            .starts_with(word)
            .then(|| self.i += word.len())
    }

    /// An inner string, at its opening `\"`.
    fn string(&mut self) -> Option<()> {
        self.replace(2, b'"');
        loop {
            // Plain bytes up to the next quote, backslash or control
            // character of the outer text.
            self.i += find_special(self.b.get(self.i..)?)?;
            if self.b[self.i] != b'\\' {
                return None; // the outer string ends, or a raw control character
            }
            match *self.b.get(self.i + 1)? {
                // The inner closing quote.
                b'"' => {
                    self.replace(2, b'"');
                    return Some(());
                }
                // An inner escape: its backslash, then what it escapes.
                b'\\' => {
                    self.replace(2, b'\\');
                    match *self.b.get(self.i)? {
                        b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.i += 1,
                        b'u' => {
                            let hex = self.b.get(self.i + 1..self.i + 5)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit)
                                || matches!(hex[0], b'd' | b'D') && hex[1] > b'7'
                            {
                                return None; // not hex, or a surrogate: the general path
                            }
                            self.i += 5;
                        }
                        b'\\' => match *self.b.get(self.i + 1)? {
                            c @ (b'"' | b'\\') => self.replace(2, c),
                            _ => return None,
                        },
                        _ => return None,
                    }
                }
                b'/' => self.replace(2, b'/'),
                b'u' => {
                    let (c, used) = unescape(self.b.get(self.i + 1..)?)?;
                    if c < ' ' || c == '"' || c == '\\' {
                        return None;
                    }
                    self.flush(self.i);
                    self.out
                        .extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                    self.i += 1 + used;
                    self.flushed = self.i;
                }
                // `\b`, `\f`, `\n`, `\r`, `\t`: a control character in an
                // inner string, which JSON does not allow.
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::unescape_json;
    use crate::wire::json_validate;

    /// The JSON string literal of `inner`, as a frame carries it.
    fn outer(inner: &str) -> String {
        serde_json::to_string(inner).expect("a string serializes")
    }

    /// What the pass gives for `inner` carried in a string, checked against
    /// the general path whenever it takes the text.
    fn pass(inner: &str) -> Option<String> {
        let text = outer(inner);
        let (got, end) = unescape_json(&text, 1)?;
        assert_eq!(end, text.len(), "{text}");
        assert_eq!(got, inner, "{text}");
        assert!(
            json_validate::validate(inner).is_ok(),
            "took invalid {inner:?}"
        );
        Some(got)
    }

    #[test]
    fn takes_usual_json_text() {
        for value in [
            json!({"a": 1, "b": [true, false, null], "c": {"d": "e\"f\\g/h\u{e9}\u{1F600}"}}),
            json!([1.5, -2e10, 0, "", {}, []]),
            json!("just a string \n with an escape"),
            json!(12),
            json!({"deep": [[[[{"x": [1, {"y": "z"}]}]]]]}),
        ] {
            let compact = value.to_string();
            assert_eq!(pass(&compact).as_deref(), Some(compact.as_str()));
            let pretty = serde_json::to_string_pretty(&value).expect("pretty");
            assert_eq!(pass(&pretty).as_deref(), Some(pretty.as_str()));
        }
        // Escapes of the outer string that serializers other than serde's
        // write: `\/` and `\u` for plain characters.
        let text = r#""{\"a\/b\":\"\u00e9\u20ac\"}""#;
        assert_eq!(
            unescape_json(text, 1),
            Some(("{\"a/b\":\"é€\"}".to_owned(), text.len()))
        );
    }

    #[test]
    fn the_text_keeps_little_spare_room_in_a_large_frame() {
        // A small payload early in a large frame: the buffer starts at the
        // size of the rest of the frame (up to 4 KiB), the text does not
        // keep it.
        let inner = r#"{"status":"online"}"#;
        let text = format!("{}{}", outer(inner), " ".repeat(20_000));
        let (got, _) = unescape_json(&text, 1).expect("taken");
        assert_eq!(got, inner);
        assert!(
            got.capacity() <= got.len() + got.len() / 8 + 64,
            "{}",
            got.capacity()
        );
    }

    #[test]
    fn leaves_the_rest_to_the_general_path() {
        for inner in [
            "{\"a\":1,}",
            "{\"a\" 1}",
            "[1 2]",
            "01",
            "\"tab\tin a string\"",
            "{\"a\":1} trailing",
            "",
            " ",
            "nul",
            "\"\\ud83d\\ude00\"", // a surrogate pair: valid, but not this pass's
            "\"\\x\"",
            "[\"unterminated",
            "{\"a\":1",
        ] {
            assert_eq!(pass(inner), None, "{inner:?}");
        }
        // Cut texts end without a closing quote.
        let text = outer("{\"a\":[1,2,3]}");
        for cut in 1..text.len() - 1 {
            assert_eq!(unescape_json(&text[..cut], 1), None, "{cut}");
        }
        // Nesting beyond serde_json's limit.
        let deep = format!("{}{}", "[".repeat(128), "]".repeat(128));
        assert_eq!(pass(&deep), None);
        let limit = format!("{}{}", "[".repeat(127), "]".repeat(127));
        assert_eq!(pass(&limit).as_deref(), Some(limit.as_str()));
    }

    /// Arbitrary JSON values.
    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            any::<String>().prop_map(Value::from),
            "[ -~\\n\\t\"\\\\/é€😀]{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(5, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map("[a-z\"\\\\]{0,6}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Text that is mostly JSON-like bytes: often valid, often not.
    fn soup() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![
                Just("{"),
                Just("}"),
                Just("["),
                Just("]"),
                Just(","),
                Just(":"),
                Just("\""),
                Just("\\"),
                Just("\\\""),
                Just("\\u00e9"),
                Just("\\ud800"),
                Just(" "),
                Just("\n"),
                Just("\t"),
                Just("\u{1}"),
                Just("1"),
                Just("-0.5e3"),
                Just("01"),
                Just("true"),
                Just("nul"),
                Just("a"),
                Just("é"),
            ],
            0..24,
        )
        .prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #![proptest_config(crate::proptest_config::fixed_seed())]

        #[test]
        fn takes_every_value_as_serde_json_writes_it(v in value()) {
            let compact = v.to_string();
            prop_assert_eq!(pass(&compact), Some(compact.clone()));
            let pretty = serde_json::to_string_pretty(&v).expect("pretty");
            prop_assert_eq!(pass(&pretty), Some(pretty.clone()));
        }

        #[test]
        fn never_takes_what_the_validator_refuses(inner in soup()) {
            // `pass` asserts the agreement whenever the text is taken.
            let _ = pass(&inner);
        }
    }
}

//! An incremental parser of the raw HTTP event stream (`GET
//! /event-stream` without `Accept: text/event-stream`): one JSON envelope
//! `{"event", "data", "id"}` per line, empty lines as keepalives.
//!
//! The delimiter is `\n` unless the stream was opened with another
//! `separator`; whitespace around an envelope (a `\r` before the `\n`) is
//! allowed. A line longer than `max_line` bytes is refused with 40009, a
//! line that is not an envelope with 80013; either way the parser stays
//! failed until [`LinesParser::reset`].

use serde::Deserialize;

use super::event::{RawData, RawEvent};
use super::parser::DEFAULT_MAX_LINE;
use crate::ErrorInfo;
use crate::error::codes;

/// What a line holds.
#[derive(Clone, Debug, PartialEq)]
pub enum LineItem {
    /// An envelope.
    Event(RawEvent),
    /// An empty line: the stream is alive.
    Keepalive,
}

/// The incremental parser; see the module docs.
#[derive(Clone, Debug)]
pub struct LinesParser {
    separator: Vec<u8>,
    max_line: usize,
    line: Vec<u8>,
    failed: Option<ErrorInfo>,
}

impl Default for LinesParser {
    fn default() -> Self {
        LinesParser::new()
    }
}

#[derive(Deserialize)]
struct Envelope {
    event: String,
    #[serde(default)]
    data: serde_json::Value,
    #[serde(default)]
    id: Option<String>,
}

impl LinesParser {
    /// A parser of `\n`-delimited lines of at most 1 MiB.
    pub fn new() -> LinesParser {
        LinesParser::with_separator("\n", DEFAULT_MAX_LINE)
    }

    /// A parser for another delimiter (the stream's `separator` param; an
    /// empty one means `\n`) and line limit in bytes.
    pub fn with_separator(separator: &str, max_line: usize) -> LinesParser {
        let separator = if separator.is_empty() {
            "\n"
        } else {
            separator
        };
        LinesParser {
            separator: separator.as_bytes().to_vec(),
            max_line,
            line: Vec::new(),
            failed: None,
        }
    }

    /// The bytes held for a line not yet ended: less than `max_line` plus
    /// the separator's length after every call.
    pub fn buffered(&self) -> usize {
        self.line.len()
    }

    /// Forgets everything, for a new stream.
    pub fn reset(&mut self) {
        self.line.clear();
        self.failed = None;
    }

    /// Parses `bytes`, appending what they complete to `out`. An error is
    /// returned again by every later call until [`LinesParser::reset`].
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<LineItem>) -> Result<(), ErrorInfo> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        // The separator may start in the bytes kept from the last call.
        let from = self.line.len().saturating_sub(self.separator.len() - 1);
        self.line.extend_from_slice(bytes);
        let result = self.drain(from, out);
        // What is left is one unfinished line, perhaps with the start of
        // a separator.
        if result.is_ok() && self.line.len() >= self.max_line + self.separator.len() {
            return Err(self.fail(self.too_long()));
        }
        result
    }

    fn too_long(&self) -> ErrorInfo {
        ErrorInfo::new(
            codes::MESSAGE_TOO_LARGE,
            400,
            format!(
                "an event-stream line is longer than {} bytes",
                self.max_line
            ),
        )
    }

    /// Takes the complete lines out of the buffer, looking for separators
    /// from `from` on.
    fn drain(&mut self, mut from: usize, out: &mut Vec<LineItem>) -> Result<(), ErrorInfo> {
        let mut start = 0;
        while let Some(at) = find(&self.line[from..], &self.separator) {
            let end = from + at;
            let parsed = if end - start > self.max_line {
                Err(self.too_long())
            } else {
                parse_line(&self.line[start..end])
            };
            match parsed {
                Ok(item) => out.push(item),
                Err(e) => return Err(self.fail(e)),
            }
            start = end + self.separator.len();
            from = start;
        }
        self.line.drain(..start);
        Ok(())
    }

    fn fail(&mut self, e: ErrorInfo) -> ErrorInfo {
        self.failed = Some(e.clone());
        self.line = Vec::new();
        e
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.len() == 1 {
        return haystack.iter().position(|&b| b == needle[0]);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn parse_line(line: &[u8]) -> Result<LineItem, ErrorInfo> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(LineItem::Keepalive);
    }
    let envelope: Envelope = serde_json::from_slice(line).map_err(|e| {
        ErrorInfo::new(
            codes::PROTOCOL_ERROR,
            400,
            format!("an event-stream line is not an {{event, data, id}} envelope: {e}"),
        )
    })?;
    Ok(LineItem::Event(RawEvent {
        event: envelope.event,
        data: RawData::Json(envelope.data),
        id: envelope.id.filter(|id| !id.is_empty()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_anywhere_and_custom_separators() {
        let text = b"{\"event\":\"message\",\"data\":{\"name\":\"a\"},\"id\":\"1\"}\r\n\n{\"event\":\"error\",\"data\":{}}\n";
        let mut want = None;
        for i in 0..text.len() {
            let mut p = LinesParser::new();
            let mut out = Vec::new();
            p.feed(&text[..i], &mut out).expect("first part");
            p.feed(&text[i..], &mut out).expect("second part");
            assert_eq!(out.len(), 3, "split at {i}");
            assert_eq!(out[1], LineItem::Keepalive);
            if let Some(w) = &want {
                assert_eq!(&out, w);
            }
            want = Some(out);
        }
        let mut p = LinesParser::with_separator("||", 100);
        let mut out = Vec::new();
        p.feed(b"{\"event\":\"message\"}|", &mut out).expect("part");
        assert!(out.is_empty());
        p.feed(b"|  ||", &mut out).expect("rest");
        assert_eq!(out.len(), 2);
        assert_eq!(out[1], LineItem::Keepalive);
    }
}

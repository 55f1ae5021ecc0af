//! An incremental parser of `text/event-stream` (Server-Sent Events, as
//! the HTML standard defines the format): bytes in, events out.
//!
//! Lines end with `\n`, `\r\n` or `\r`, also when a chunk boundary falls
//! between the `\r` and the `\n`. A line starting with `:` is a comment;
//! otherwise `field: value` (one space after the colon is dropped) or a
//! bare `field`. `data` lines are joined with `\n`, `event` names the event
//! (`message` when absent), `id` sets the last event id (ignored when it
//! holds a NUL), `retry` (digits only) the reconnection delay; other fields
//! are ignored. An empty line dispatches the event when it has data. A UTF-8
//! byte order mark at the start is dropped; invalid UTF-8 becomes U+FFFD.
//!
//! Memory is bounded: a line longer than `max_line` bytes, or an event
//! whose data grows past `max_event` bytes, is refused with error 40009
//! and the parser stays failed until [`SseParser::reset`].

use crate::ErrorInfo;
use crate::error::codes;

/// The default longest line, in bytes (1 MiB).
pub const DEFAULT_MAX_LINE: usize = 1 << 20;
/// The default largest event data, in bytes (1 MiB).
pub const DEFAULT_MAX_EVENT: usize = 1 << 20;

/// An event of the stream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The event name (`event:`), `message` when the event had none.
    pub event: String,
    /// The data lines joined with `\n`.
    pub data: String,
    /// The last event id when the event was dispatched (`id:`, kept from
    /// earlier events as the standard says), `None` when empty.
    pub id: Option<String>,
}

/// What the parser found in the bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SseItem {
    /// A complete event.
    Event(SseEvent),
    /// A comment line (such as `:keepalive`), without the colon.
    Comment(String),
    /// A `retry:` field: the reconnection delay in milliseconds.
    Retry(u64),
}

/// The incremental parser; see the module docs.
#[derive(Clone, Debug)]
pub struct SseParser {
    max_line: usize,
    max_event: usize,
    /// The bytes of the line not yet ended.
    line: Vec<u8>,
    /// The last byte seen was `\r`: a `\n` right after it ends nothing.
    after_cr: bool,
    /// The first line has been read (the BOM check is done).
    started: bool,
    event: String,
    data: String,
    /// Whether any `data` field was seen since the last dispatch.
    has_data: bool,
    last_id: String,
    failed: Option<ErrorInfo>,
}

impl Default for SseParser {
    fn default() -> Self {
        SseParser::new()
    }
}

impl SseParser {
    /// A parser with the default limits (1 MiB lines and events).
    pub fn new() -> SseParser {
        SseParser::with_limits(DEFAULT_MAX_LINE, DEFAULT_MAX_EVENT)
    }

    /// A parser with these limits, in bytes.
    pub fn with_limits(max_line: usize, max_event: usize) -> SseParser {
        SseParser {
            max_line,
            max_event,
            line: Vec::new(),
            after_cr: false,
            started: false,
            event: String::new(),
            data: String::new(),
            has_data: false,
            last_id: String::new(),
            failed: None,
        }
    }

    /// Forgets everything, for a new stream; the limits stay.
    pub fn reset(&mut self) {
        *self = SseParser::with_limits(self.max_line, self.max_event);
    }

    /// The bytes held for a line not yet ended: at most `max_line`.
    pub fn buffered(&self) -> usize {
        self.line.len()
    }

    /// The last event id seen so far (`id:`), `None` when empty.
    pub fn last_event_id(&self) -> Option<&str> {
        Some(self.last_id.as_str()).filter(|s| !s.is_empty())
    }

    /// Parses `bytes`, appending what they complete to `out`. An error
    /// (40009, over a limit) is returned again by every later call until
    /// [`SseParser::reset`]; items completed before it are in `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<SseItem>) -> Result<(), ErrorInfo> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let mut rest = bytes;
        if self.after_cr {
            if let Some(b'\n') = rest.first() {
                rest = &rest[1..];
            }
            self.after_cr = false;
        }
        while !rest.is_empty() {
            let Some(end) = rest.iter().position(|&b| b == b'\n' || b == b'\r') else {
                self.extend_line(rest)?;
                break;
            };
            let (text, ending) = (&rest[..end], rest[end]);
            rest = &rest[end + 1..];
            if ending == b'\r' {
                match rest.first() {
                    Some(b'\n') => rest = &rest[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            if self.line.is_empty() {
                self.check_line(text.len())?;
                self.process_line(text, out)?;
            } else {
                self.extend_line(text)?;
                let line = std::mem::take(&mut self.line);
                let result = self.process_line(&line, out);
                self.line = line;
                self.line.clear();
                result?;
            }
        }
        Ok(())
    }

    fn check_line(&mut self, len: usize) -> Result<(), ErrorInfo> {
        if len > self.max_line {
            return Err(self.fail(format!(
                "an SSE line is longer than {} bytes",
                self.max_line
            )));
        }
        Ok(())
    }

    fn extend_line(&mut self, bytes: &[u8]) -> Result<(), ErrorInfo> {
        self.check_line(self.line.len() + bytes.len())?;
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    fn fail(&mut self, why: String) -> ErrorInfo {
        let e = ErrorInfo::new(codes::MESSAGE_TOO_LARGE, 400, why);
        self.failed = Some(e.clone());
        self.line = Vec::new();
        self.data = String::new();
        e
    }

    fn process_line(&mut self, mut line: &[u8], out: &mut Vec<SseItem>) -> Result<(), ErrorInfo> {
        if !self.started {
            self.started = true;
            line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        }
        if line.is_empty() {
            self.dispatch(out);
            return Ok(());
        }
        if let Some(comment) = line.strip_prefix(b":") {
            out.push(SseItem::Comment(
                String::from_utf8_lossy(comment).into_owned(),
            ));
            return Ok(());
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                let value = String::from_utf8_lossy(value);
                if self.data.len() + value.len() + 1 > self.max_event {
                    return Err(self.fail(format!(
                        "an SSE event has more than {} bytes of data",
                        self.max_event
                    )));
                }
                self.data.push_str(&value);
                self.data.push('\n');
                self.has_data = true;
            }
            b"event" => self.event = String::from_utf8_lossy(value).into_owned(),
            b"id" if !value.contains(&0) => {
                self.last_id = String::from_utf8_lossy(value).into_owned();
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                // Digits only; a value too large for u64 is ignored.
                if let Ok(ms) = std::str::from_utf8(value).unwrap_or("").parse() {
                    out.push(SseItem::Retry(ms));
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn dispatch(&mut self, out: &mut Vec<SseItem>) {
        let event = std::mem::take(&mut self.event);
        if !self.has_data {
            return;
        }
        self.has_data = false;
        let mut data = std::mem::take(&mut self.data);
        data.pop(); // the `\n` after the last data line
        out.push(SseItem::Event(SseEvent {
            event: if event.is_empty() {
                "message".to_owned()
            } else {
                event
            },
            data,
            id: self.last_event_id().map(str::to_owned),
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_chunks(chunks: &[&[u8]]) -> Vec<SseItem> {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for c in chunks {
            p.feed(c, &mut out).expect("parses");
        }
        out
    }

    fn event(event: &str, data: &str, id: Option<&str>) -> SseItem {
        SseItem::Event(SseEvent {
            event: event.into(),
            data: data.into(),
            id: id.map(Into::into),
        })
    }

    #[test]
    fn every_split_of_a_crlf_stream_gives_the_same_events() {
        let text =
            b"\xEF\xBB\xBFid: 1\r\nevent: presence\r\ndata: a\r\ndata:b\r\n\r\n:c\r\rdata\r\n\r\n";
        let want = vec![
            event("presence", "a\nb", Some("1")),
            SseItem::Comment("c".into()),
            event("message", "", Some("1")),
        ];
        assert_eq!(parse_chunks(&[text]), want);
        for i in 0..text.len() {
            let (a, b) = text.split_at(i);
            assert_eq!(parse_chunks(&[a, b]), want, "split at {i}");
        }
        let bytes: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(parse_chunks(&bytes), want);
    }
}

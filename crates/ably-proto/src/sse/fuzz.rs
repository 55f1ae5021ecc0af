//! The checks of the `sse_parser` fuzz target (`fuzz/fuzz_targets/`),
//! also replayed over the committed corpus by
//! `crates/ably-proto/tests/fuzz_corpus.rs`.
//!
//! Input layout: byte 0 picks the parser (bit 0: SSE or JSON lines), the
//! line limit (bits 1-2: 16, 64, 512 bytes or 1 MiB) and the JSON-lines
//! separator (bits 3-4: `\n`, `\r\n`, `||`, `\n`); byte 1 seeds the chunk
//! sizes (1 to 16 bytes); the rest is the stream.
//!
//! Invariants, beyond "no panic": feeding the stream in one piece or in
//! chunks gives the same items and the same error; a parser never holds
//! more than its line limit (plus a separator) between calls; errors are
//! 40009 or 80013 and stick; SSE events always have a name and no `\r`
//! in their data; the session's last event id is the id of the last item
//! it delivered that had one; after an error the session stops exactly
//! when the error is fatal, and otherwise waits at most twice the retry
//! delay.

use std::time::Duration;

use super::event::Ciphers;
use super::lines::{LineItem, LinesParser};
use super::parser::{SseItem, SseParser};
use super::session::{Next, SessionConfig, SseSession, is_fatal};
use super::url::{StreamAuth, StreamFormat};
use crate::ErrorInfo;
use crate::client::{ClientOptions, HttpResponse, Instant};
use crate::crypto::CipherParams;

const LIMITS: [usize; 4] = [16, 64, 512, 1 << 20];
const SEPARATORS: [&str; 4] = ["\n", "\r\n", "||", "\n"];

/// Splits `bytes` into chunks of 1 to 16 bytes from `seed`.
fn chunks(bytes: &[u8], seed: u8) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut state = u32::from(seed) | 1;
    let mut rest = bytes;
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let n = (state % 16 + 1) as usize;
        let (a, b) = rest.split_at(n.min(rest.len()));
        out.push(a);
        rest = b;
    }
    out
}

fn check_error(e: &ErrorInfo) {
    assert!(
        e.code == 40009 || e.code == 80013,
        "unexpected parser error {e}"
    );
}

fn sse(stream: &[u8], pieces: &[&[u8]], max_line: usize) {
    let feed_all = |pieces: &[&[u8]]| {
        let mut p = SseParser::with_limits(max_line, max_line * 2);
        let mut out = Vec::new();
        let mut error = None;
        for piece in pieces {
            if let Err(e) = p.feed(piece, &mut out) {
                check_error(&e);
                assert_eq!(
                    p.feed(b"\n\n", &mut Vec::new()),
                    Err(e.clone()),
                    "errors stick"
                );
                error = Some(e);
                break;
            }
            assert!(p.buffered() <= max_line, "holds {} bytes", p.buffered());
        }
        (out, error)
    };
    let whole = feed_all(&[stream]);
    let split = feed_all(pieces);
    assert_eq!(whole, split, "one piece and chunks differ");
    for item in &whole.0 {
        if let SseItem::Event(e) = item {
            assert!(!e.event.is_empty());
            assert!(!e.data.contains('\r'));
            assert!(e.data.len() < max_line * 2);
        }
    }
}

fn lines(stream: &[u8], pieces: &[&[u8]], max_line: usize, separator: &str) {
    let feed_all = |pieces: &[&[u8]]| {
        let mut p = LinesParser::with_separator(separator, max_line);
        let mut out: Vec<LineItem> = Vec::new();
        let mut error = None;
        for piece in pieces {
            if let Err(e) = p.feed(piece, &mut out) {
                check_error(&e);
                assert_eq!(
                    p.feed(b"\n", &mut Vec::new()),
                    Err(e.clone()),
                    "errors stick"
                );
                error = Some(e);
                break;
            }
            assert!(
                p.buffered() < max_line + separator.len(),
                "holds {} bytes",
                p.buffered()
            );
        }
        (out, error)
    };
    let whole = feed_all(&[stream]);
    let split = feed_all(pieces);
    assert_eq!(whole, split, "one piece and chunks differ");
}

fn session(pieces: &[&[u8]], format: StreamFormat, max_line: usize) {
    let opts = ClientOptions::with_key("app.key:secret");
    let mut config = SessionConfig::new(["a", "b"]);
    config.format = format;
    config.max_line = max_line;
    config.max_event = max_line * 2;
    config.last_event = Some("start".into());
    config.ciphers = Ciphers {
        all: CipherParams::from_key(&[7; 16]).ok(),
        ..Ciphers::default()
    };
    config.channels.sort();
    let Ok(mut s) = SseSession::new(
        &opts,
        StreamAuth::Key("app.key:secret".into()),
        config,
        [1; 32],
    ) else {
        panic!("a valid session config was refused");
    };
    let ok = HttpResponse {
        status: 200,
        ..HttpResponse::default()
    };
    assert!(s.on_response(&ok, Instant::from_millis(0)).is_ok());
    let mut expected = Some("start".to_owned());
    let mut error = None;
    for piece in pieces {
        let mut out = Vec::new();
        let result = s.on_bytes(piece, &mut out);
        for r in &out {
            if let Some(id) = &r.id {
                expected = Some(id.clone());
            }
            assert_eq!(r.message().is_some(), r.presence().is_none());
        }
        assert_eq!(s.last_event_id(), expected.as_deref());
        if let Err(e) = result {
            error = Some(e);
            break;
        }
    }
    let fatal = error.as_ref().is_some_and(is_fatal);
    let next = s.on_closed(None, Instant::from_millis(10));
    match next {
        Next::Stop(e) => assert!(fatal, "stopped on {e}"),
        Next::Reconnect(d) => {
            assert!(!fatal, "reconnects after {error:?}");
            assert!(d <= Duration::from_secs(4));
        }
    }
    assert!(s.request().url.contains("lastEvent="));
}

/// Runs every check on one input; panics when an invariant breaks.
pub fn check(bytes: &[u8]) {
    let (Some(&mode), Some(&seed)) = (bytes.first(), bytes.get(1)) else {
        return;
    };
    let stream = &bytes[2..];
    let max_line = LIMITS[usize::from(mode >> 1) & 3];
    let separator = SEPARATORS[usize::from(mode >> 3) & 3];
    let pieces = chunks(stream, seed);
    if mode & 1 == 0 {
        sse(stream, &pieces, max_line);
        session(&pieces, StreamFormat::Sse, max_line);
    } else {
        lines(stream, &pieces, max_line, separator);
        session(&pieces, StreamFormat::JsonLines, max_line);
    }
}

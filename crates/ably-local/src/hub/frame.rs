//! Encoding the frames the hub sends, without copying what they carry.
//!
//! [`EventFrame`] is the MESSAGE or PRESENCE frame of a stored event: it
//! borrows the event's messages instead of cloning them into a
//! [`ProtocolMessage`](ably_proto::ProtocolMessage), and writes the same
//! bytes that `ably_proto::codec::encode` writes for the equivalent
//! ProtocolMessage (the same fields, in the same order, through the same
//! serde impls). A MESSAGE frame in JSON, the one every delivery of a
//! publish needs, is written directly ([`write_json_messages`]): the same
//! text, without serde's per-byte string escaping.

use ably_proto::codec::Format;
use ably_proto::{Action, Data, Message, PresenceMessage};
use bytes::Bytes;
use serde::Serialize;

use super::history::{EventBody, StoredEvent};

/// Room for a typical frame, so that encoding rarely grows the buffer.
const FRAME_CAPACITY: usize = 512;

/// Encodes a frame as `ably_proto::codec::encode` does (JSON text, or a
/// MessagePack map), into one buffer sized up front.
pub(crate) fn encode_frame<T: Serialize>(value: &T, format: Format) -> Option<Bytes> {
    let mut buf = Vec::with_capacity(FRAME_CAPACITY);
    let ok = match format {
        Format::Json => serde_json::to_writer(&mut buf, value).is_ok(),
        Format::MsgPack => rmp_serde::encode::write_named(&mut buf, value).is_ok(),
    };
    ok.then(|| Bytes::from(buf))
}

/// The frame that carries a stored event, or its messages from `skip` on
/// (TR4: the fields a ProtocolMessage writes, in its order).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EventFrame<'a> {
    action: Action,
    timestamp: i64,
    channel: &'a str,
    channel_serial: String,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    messages: &'a [Message],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    presence: &'a [PresenceMessage],
}

impl<'a> EventFrame<'a> {
    /// Encodes the frame, as [`encode_frame`] would.
    pub fn encode(&self, format: Format) -> Option<Bytes> {
        if format == Format::Json && self.presence.is_empty() {
            let mut buf = Vec::with_capacity(FRAME_CAPACITY);
            write_json_messages(&mut buf, self).ok()?;
            return Some(Bytes::from(buf));
        }
        encode_frame(self, format)
    }

    /// The frame of `event` on `channel`, without its first `skip` items.
    pub fn new(channel: &'a str, event: &'a StoredEvent, skip: usize) -> EventFrame<'a> {
        let (action, messages, presence): (_, &[Message], &[PresenceMessage]) = match &event.body {
            EventBody::Messages(m) => (Action::Message, &m[skip.min(m.len())..], &[]),
            EventBody::Presence(p) => (Action::Presence, &[], &p[skip.min(p.len())..]),
        };
        EventFrame {
            action,
            timestamp: event.timestamp,
            channel,
            channel_serial: event.serial.text(),
            messages,
            presence,
        }
    }
}

/// Writes a MESSAGE frame as serde_json writes [`EventFrame`]: the frame's
/// fields, then each message as `Message`'s Serialize impl writes it
/// (`id`, `clientId`, `connectionId`, `connectionKey`, `name`, `encoding`,
/// `data`, ..., `timestamp`, `serial`: those present, in that order). A
/// message with anything but string data or the plain fields goes through
/// serde.
fn write_json_messages(buf: &mut Vec<u8>, frame: &EventFrame<'_>) -> serde_json::Result<()> {
    buf.extend_from_slice(b"{\"action\":");
    push_int(buf, frame.action.number() as i64);
    buf.extend_from_slice(b",\"timestamp\":");
    push_int(buf, frame.timestamp);
    buf.extend_from_slice(b",\"channel\":");
    push_json_str(buf, frame.channel);
    buf.extend_from_slice(b",\"channelSerial\":");
    push_json_str(buf, &frame.channel_serial);
    if !frame.messages.is_empty() {
        buf.extend_from_slice(b",\"messages\":[");
        for (i, m) in frame.messages.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            write_json_message(buf, m)?;
        }
        buf.push(b']');
    }
    buf.push(b'}');
    Ok(())
}

fn write_json_message(buf: &mut Vec<u8>, m: &Message) -> serde_json::Result<()> {
    let plain = matches!(m.data, Data::None | Data::String(_))
        && m.extras.is_none()
        && m.action.is_none()
        && m.version.is_none()
        && m.annotations.is_none();
    if !plain {
        return serde_json::to_writer(&mut *buf, m);
    }
    let mut first = true;
    let mut key = |buf: &mut Vec<u8>, key: &[u8]| {
        buf.push(if first { b'{' } else { b',' });
        first = false;
        buf.extend_from_slice(key);
    };
    let strings: [(&[u8], Option<&str>); 6] = [
        (b"\"id\":", m.id.as_deref()),
        (b"\"clientId\":", m.client_id.as_deref()),
        (b"\"connectionId\":", m.connection_id.as_deref()),
        (b"\"connectionKey\":", m.connection_key.as_deref()),
        (b"\"name\":", m.name.as_deref()),
        (b"\"encoding\":", m.encoding.as_deref()),
    ];
    for (name, value) in strings {
        if let Some(v) = value {
            key(buf, name);
            push_json_str(buf, v);
        }
    }
    if let Data::String(data) = &m.data {
        key(buf, b"\"data\":");
        push_json_str(buf, data);
    }
    if let Some(ts) = m.timestamp {
        key(buf, b"\"timestamp\":");
        push_int(buf, ts);
    }
    if let Some(serial) = m.serial.as_deref() {
        key(buf, b"\"serial\":");
        push_json_str(buf, serial);
    }
    if first {
        buf.push(b'{');
    }
    buf.push(b'}');
    Ok(())
}

/// Appends an integer in decimal.
fn push_int(buf: &mut Vec<u8>, n: i64) {
    if n < 0 {
        buf.push(b'-');
    }
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut v = n.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[at..]);
}

/// Whether any of 8 bytes needs escaping in a JSON string: a byte below
/// 0x20, a quote or a backslash (bit tricks over a u64, so plain text is
/// scanned 8 bytes at a time; exact for "any").
fn needs_escape(chunk: [u8; 8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let v = u64::from_le_bytes(chunk);
    let zero_in = |x: u64| x.wrapping_sub(ONES) & !x & HIGH != 0;
    // A byte below 0x20: subtracting 0x20 borrows into its high bit.
    let below_space = v.wrapping_sub(ONES * 0x20) & !v & HIGH != 0;
    below_space || zero_in(v ^ (ONES * u64::from(b'"'))) || zero_in(v ^ (ONES * u64::from(b'\\')))
}

/// Appends a JSON string as serde_json writes it: quotes and backslashes
/// escaped with a backslash, control characters as `\b`, `\t`, `\n`,
/// `\f`, `\r` or `\u00xx`, everything else (non-ASCII too) as it is.
fn push_json_str(buf: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = text.as_bytes();
    buf.reserve(bytes.len() + 2);
    buf.push(b'"');
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(chunk) = bytes.get(i..i + 8) {
            let mut eight = [0u8; 8];
            eight.copy_from_slice(chunk);
            if !needs_escape(eight) {
                i += 8;
                continue;
            }
        }
        let b = bytes[i];
        let escape: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            0x08 => Some(b"\\b"),
            0x09 => Some(b"\\t"),
            0x0A => Some(b"\\n"),
            0x0C => Some(b"\\f"),
            0x0D => Some(b"\\r"),
            0x00..=0x1F => Some(&[]),
            _ => None,
        };
        if let Some(escape) = escape {
            buf.extend_from_slice(&bytes[start..i]);
            if escape.is_empty() {
                buf.extend_from_slice(b"\\u00");
                buf.push(HEX[usize::from(b >> 4)]);
                buf.push(HEX[usize::from(b & 0xf)]);
            } else {
                buf.extend_from_slice(escape);
            }
            start = i + 1;
        }
        i += 1;
    }
    buf.extend_from_slice(&bytes[start..]);
    buf.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::Serial;
    use ably_proto::{PresenceAction, ProtocolMessage};

    /// The ProtocolMessage the hub used to build for an event.
    fn as_protocol_message(channel: &str, event: &StoredEvent, skip: usize) -> ProtocolMessage {
        let mut pm = match &event.body {
            EventBody::Messages(m) => {
                let mut pm = ProtocolMessage::for_channel(Action::Message, channel);
                pm.messages = m[skip..].to_vec();
                pm
            }
            EventBody::Presence(p) => {
                let mut pm = ProtocolMessage::for_channel(Action::Presence, channel);
                pm.presence = p[skip..].to_vec();
                pm
            }
        };
        pm.channel_serial = Some(event.serial.to_string());
        pm.timestamp = Some(event.timestamp);
        pm
    }

    #[test]
    fn event_frames_are_the_bytes_of_the_protocol_message() {
        let mut with_all = Message::new("name", serde_json::json!({"a": [1, 2]}));
        with_all.id = Some("c:1:0".into());
        with_all.client_id = Some("bob".into());
        with_all.connection_id = Some("c".into());
        with_all.timestamp = Some(1_700_000_000_123);
        with_all.serial = Some("1f@0000000002:000".into());
        with_all.encoding = Some("json".into());
        let binary = Message::new("bin", vec![0u8, 1, 255]);
        let messages = EventBody::Messages(vec![with_all, binary, Message::new("s", "text")]);
        let presence = EventBody::Presence(vec![PresenceMessage::new(
            PresenceAction::Enter,
            Some("alice".into()),
            "here",
        )]);
        for body in [messages, presence] {
            let event = StoredEvent {
                serial: Serial { epoch: 31, seq: 2 },
                timestamp: 1_700_000_000_000,
                origin: "c".into(),
                body,
            };
            for format in [Format::Json, Format::MsgPack] {
                for skip in 0..event.body.len() {
                    let frame = EventFrame::new("ch", &event, skip);
                    let ours = frame.encode(format).expect("encodes");
                    let generic = encode_frame(&frame, format).expect("encodes");
                    assert_eq!(ours, generic, "{format:?} skip {skip}");
                    let theirs =
                        ably_proto::codec::encode(&as_protocol_message("ch", &event, skip), format)
                            .expect("encodes");
                    assert_eq!(&ours[..], &theirs[..], "{format:?} skip {skip}");
                }
            }
        }
    }

    #[test]
    fn json_message_frames_match_serde_for_awkward_text_and_fields() {
        let every_ascii: String = (0u8..=127).map(char::from).collect();
        let texts = [
            String::new(),
            "plain".to_owned(),
            "x".repeat(100),
            every_ascii.clone(),
            format!("{every_ascii}{every_ascii}"),
            "quote \" and backslash \\ at ends\"".to_owned(),
            "\u{7f}\u{80} ümlaut 日本語 🎉 \u{2028}".to_owned(),
            "12345678\n".to_owned(),
            "\t".repeat(9),
        ];
        let mut messages = Vec::new();
        for text in &texts {
            let mut m = Message::new(text.clone(), text.as_str());
            m.id = Some(text.clone());
            m.serial = Some("1@0000000001:000".into());
            messages.push(m);
        }
        messages.push(Message {
            timestamp: Some(-1_234),
            ..Message::default()
        });
        messages.push(Message::default());
        let mut keyed = Message::new("k", "v");
        keyed.connection_key = Some("key!x".into());
        keyed.client_id = Some("c".into());
        keyed.encoding = Some("utf-8".into());
        keyed.timestamp = Some(i64::MIN);
        messages.push(keyed);
        messages.push(Message::new("bin", vec![1u8, 2, 3]));
        messages.push(Message::new("json", serde_json::json!({"a": "\u{1}"})));
        let mut extras = Message::new("e", "d");
        extras.extras = Some(serde_json::json!({"headers": {"h": "v"}}));
        messages.push(extras);
        let event = StoredEvent {
            serial: Serial {
                epoch: 0xabc,
                seq: 12,
            },
            timestamp: 1_700_000_000_000,
            origin: String::new(),
            body: EventBody::Messages(messages),
        };
        for channel in ["ch", "with \"quote\" and \\", "日本"] {
            let frame = EventFrame::new(channel, &event, 0);
            let ours = frame.encode(Format::Json).expect("encodes");
            let theirs =
                ably_proto::codec::encode(&as_protocol_message(channel, &event, 0), Format::Json)
                    .expect("encodes");
            assert_eq!(
                std::str::from_utf8(&ours).expect("utf-8"),
                std::str::from_utf8(&theirs).expect("utf-8")
            );
        }
    }

    #[test]
    fn the_escape_scan_finds_every_byte_that_needs_escaping() {
        for b in 0u8..=255 {
            for at in 0..8 {
                let mut chunk = [b'a'; 8];
                chunk[at] = b;
                let expected = b < 0x20 || b == b'"' || b == b'\\';
                assert_eq!(needs_escape(chunk), expected, "byte {b:#x} at {at}");
            }
        }
        // Neighbours that borrow in the arithmetic do not hide one.
        assert!(needs_escape(*b"\x00\x00\x00\x00\x00\x00\x00\x00"));
        assert!(needs_escape([
            0xff, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
        ]));
        assert!(!needs_escape([
            0x20, 0xff, 0x7f, 0x80, 0x21, 0x5b, 0x5d, 0x23
        ]));
    }
}

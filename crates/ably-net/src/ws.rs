//! WebSocket messages to and from the core's frames and transport events.
//! All three adapters use tungstenite's [`Message`] type (directly, or
//! through tokio-tungstenite and async-tungstenite).

use ably_proto::ErrorInfo;
use ably_proto::client::{Frame, TransportEvent};
pub use tungstenite::Message;
use tungstenite::protocol::WebSocketConfig;

/// The most tungstenite reads from the socket at once. It zeroes that
/// much of its buffer before every read, and every wake-up ends with a
/// read that finds nothing (or, in the async adapters, reads once), so
/// its default (128 KiB) costs more than the frames; larger frames take
/// several reads.
pub const READ_CHUNK: usize = 16 * 1024;

/// The WebSocket settings of every adapter: tungstenite's defaults with
/// reads of [`READ_CHUNK`].
pub fn config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(READ_CHUNK)
}

/// The WebSocket message carrying a frame: text for JSON, binary for
/// MessagePack.
pub fn to_message(frame: Frame) -> Message {
    if frame.text {
        match String::from_utf8(frame.bytes.to_vec()) {
            Ok(text) => Message::Text(text.into()),
            Err(_) => Message::Binary(frame.bytes),
        }
    } else {
        Message::Binary(frame.bytes)
    }
}

/// What a received WebSocket message means to the core; `None` for raw
/// frames, which carry nothing for it.
pub fn to_event(message: Message) -> Option<TransportEvent> {
    match message {
        Message::Text(text) => Some(TransportEvent::Frame(text.into())),
        Message::Binary(data) => Some(TransportEvent::Frame(data)),
        Message::Ping(_) | Message::Pong(_) => Some(TransportEvent::Activity),
        Message::Close(_) => Some(TransportEvent::Closed(None)),
        Message::Frame(_) => None,
    }
}

/// The event for a read or write that failed: the transport is gone
/// (80003, RTN15).
pub fn lost(error: &dyn std::fmt::Display) -> TransportEvent {
    TransportEvent::Closed(Some(ErrorInfo::new(
        80003,
        400,
        format!("connection lost: {error}"),
    )))
}

/// The error for a socket that could not be opened (80000, 503): DNS,
/// TCP, TLS or the WebSocket handshake.
pub fn connect_failed(error: &dyn std::fmt::Display) -> ErrorInfo {
    ErrorInfo::new(80000, 503, format!("could not connect: {error}"))
}

/// The host and port to dial for a `ws://` or `wss://` URL (port 80 or
/// 443 when the URL gives none). IPv6 hosts keep their brackets off.
pub fn host_port(url: &str) -> Result<(String, u16), ErrorInfo> {
    let bad = || connect_failed(&format!("not a WebSocket URL: {url}"));
    let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
    let default_port = match scheme {
        "wss" => 443,
        "ws" => 80,
        _ => return Err(bad()),
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6.split_once(']').ok_or_else(bad)?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| bad())?,
                None if after.is_empty() => default_port,
                None => return Err(bad()),
            };
            (host, port)
        }
        None => match authority.rsplit_once(':') {
            Some((host, p)) => (host, p.parse().map_err(|_| bad())?),
            None => (authority, default_port),
        },
    };
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port_of_urls() {
        let hp = host_port;
        assert_eq!(
            hp("ws://127.0.0.1:8080/?v=6"),
            Ok(("127.0.0.1".into(), 8080))
        );
        assert_eq!(
            hp("wss://main.realtime.ably.net?v=6"),
            Ok(("main.realtime.ably.net".into(), 443))
        );
        assert_eq!(hp("ws://localhost/"), Ok(("localhost".into(), 80)));
        assert_eq!(hp("ws://[::1]:9000/"), Ok(("::1".into(), 9000)));
        assert_eq!(hp("ws://[::1]"), Ok(("::1".into(), 80)));
        assert_eq!(host_port("http://x").map_err(|e| e.code), Err(80000));
        assert_eq!(host_port("ws://:80").map_err(|e| e.code), Err(80000));
        assert_eq!(host_port("ws://h:port").map_err(|e| e.code), Err(80000));
    }

    #[test]
    fn frames_become_messages_of_the_right_kind() {
        let text = Frame {
            bytes: bytes::Bytes::from_static(b"{}"),
            text: true,
        };
        assert!(matches!(to_message(text), Message::Text(t) if t.as_str() == "{}"));
        let bin = Frame {
            bytes: bytes::Bytes::from_static(&[0x80]),
            text: false,
        };
        assert!(matches!(to_message(bin), Message::Binary(b) if b[..] == [0x80]));
        // Invalid UTF-8 marked as text still goes out, as binary.
        let odd = Frame {
            bytes: bytes::Bytes::from_static(&[0xff]),
            text: true,
        };
        assert!(matches!(to_message(odd), Message::Binary(_)));
    }

    #[test]
    fn messages_become_events() {
        assert_eq!(
            to_event(Message::Text("{}".into())),
            Some(TransportEvent::Frame(bytes::Bytes::from_static(b"{}")))
        );
        assert_eq!(
            to_event(Message::Ping(Default::default())),
            Some(TransportEvent::Activity)
        );
        assert_eq!(
            to_event(Message::Close(None)),
            Some(TransportEvent::Closed(None))
        );
    }
}

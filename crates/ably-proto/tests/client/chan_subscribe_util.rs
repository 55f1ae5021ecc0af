//! Helpers shared by the subscribe, delta and message-operation tests:
//! scripted services, frame builders and the mock vcdiff codec of
//! `uts/realtime/unit/helpers/mock_vcdiff.md`.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ably_proto::client::{
    ChannelStateChange, Command, Completion, Event, LogRecord, OpId, VcdiffDecoder,
};
use ably_proto::{Action, Data, ErrorInfo, Flags, Message, ProtocolMessage, PublishResult};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;

use crate::harness::*;

/// One second of fake time, the usual limit for reaching a state.
pub const SEC: Duration = Duration::from_secs(1);

/// A service that answers ATTACH with ATTACHED and DETACH with DETACHED,
/// and records everything else.
pub fn attach_detach() -> MessageHandler {
    Box::new(|pm| {
        let channel = pm.channel.as_deref().unwrap_or_default();
        match pm.action {
            Action::Attach => vec![Reply::Send(attached(channel))],
            Action::Detach => vec![Reply::Send(detached(channel, None))],
            _ => vec![],
        }
    })
}

/// A service that answers ATTACH with ATTACHED carrying these flags (modes),
/// and every MESSAGE or ANNOTATION with what `ack` makes of it.
pub fn attach_flags_and(
    flags: Flags,
    mut ack: impl FnMut(&ProtocolMessage) -> Option<ProtocolMessage> + 'static,
) -> MessageHandler {
    Box::new(move |pm| {
        let channel = pm.channel.as_deref().unwrap_or_default();
        match pm.action {
            Action::Attach => vec![Reply::Send(attached_with(channel, flags, None))],
            Action::Message | Action::Annotation => ack(pm).map(Reply::Send).into_iter().collect(),
            _ => vec![],
        }
    })
}

/// A service that never answers ATTACH.
pub fn silent() -> MessageHandler {
    Box::new(|_| vec![])
}

/// `client.channels.get(name)`.
pub fn get_channel(h: &mut Harness, channel: &str) {
    let op = h.command(Command::GetChannel {
        channel: channel.into(),
        options: None,
    });
    assert_eq!(h.completion(op), Some(Ok(Completion::Done)), "channels.get");
}

/// `channel.detach()`, asserting it succeeds.
pub fn detach_ok(h: &mut Harness, channel: &str) {
    let op = h.detach(channel);
    assert_eq!(h.completion(op), Some(Ok(Completion::Done)), "detach");
}

/// A message with an optional name and string data.
pub fn msg(name: Option<&str>, data: &str) -> Message {
    Message {
        name: name.map(str::to_owned),
        data: Data::from(data),
        ..Message::default()
    }
}

/// A message with a name, data and extras.
pub fn msg_extras(name: &str, data: &str, extras: serde_json::Value) -> Message {
    Message {
        extras: Some(extras),
        ..msg(Some(name), data)
    }
}

/// The service sends one MESSAGE frame with these messages.
pub fn send_messages(h: &mut Harness, channel: &str, messages: Vec<Message>) {
    h.send_to_client(message_frame(channel, messages));
}

/// ATTACH frames the client sent.
pub fn attaches(h: &Harness) -> Vec<ProtocolMessage> {
    h.sent_with(Action::Attach)
}

/// The data of the messages delivered on a channel.
pub fn delivered_data(h: &Harness, channel: &str) -> Vec<Data> {
    h.messages(channel)
        .into_iter()
        .map(|m| m.data.clone())
        .collect()
}

/// Every log record.
pub fn logs(h: &Harness) -> Vec<&LogRecord> {
    h.events
        .iter()
        .filter_map(|e| match e {
            Event::Log(r) => Some(r),
            _ => None,
        })
        .collect()
}

/// Channel state changes from index `from` on.
pub fn changes_since<'a>(
    h: &'a Harness,
    channel: &str,
    from: usize,
) -> Vec<&'a ChannelStateChange> {
    h.channel_changes(channel).into_iter().skip(from).collect()
}

/// An ACK for one frame with these serials in `res` (TR4s).
pub fn ack_with_serials(msg_serial: u64, serials: &[&str]) -> ProtocolMessage {
    let mut pm = ack(msg_serial, 1);
    pm.res = Some(vec![PublishResult {
        serials: serials.iter().map(|s| Some((*s).to_owned())).collect(),
    }]);
    pm
}

/// The result of an operation; panics if it has not completed.
pub fn result(h: &Harness, op: OpId) -> Result<Completion, ErrorInfo> {
    h.completion(op).expect("the operation completed")
}

// ---- mock vcdiff (helpers/mock_vcdiff.md) ------------------------------------

/// `encode_uri_component`: everything but `A-Z a-z 0-9 - _ . ! ~ * ' ( )`
/// is percent-encoded as UTF-8.
fn encode_uri_component(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn decode_uri_component(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// The mock encoder for strings: `uri(base) + "/" + uri(value)`.
pub fn encode_str(base: &str, value: &str) -> Vec<u8> {
    format!(
        "{}/{}",
        encode_uri_component(base),
        encode_uri_component(value)
    )
    .into_bytes()
}

/// The mock encoder for binary: `utf8(b64url(base) + "/" + b64url(value))`.
pub fn encode_bin(base: &[u8], value: &[u8]) -> Vec<u8> {
    format!("{}/{}", B64URL.encode(base), B64URL.encode(value)).into_bytes()
}

/// The `(delta, base)` arguments of decoder calls.
pub type Calls = Arc<Mutex<Vec<(Vec<u8>, Vec<u8>)>>>;

/// The mock decoder (VD2a): accepts deltas of either encoder form, checks
/// the base it is given against the one the delta was made from, and
/// records every call. `fail_calls` lists 1-based calls that throw.
#[derive(Clone, Default)]
pub struct MockVcdiff {
    /// `(delta, base)` of every call.
    pub calls: Calls,
    /// Calls that throw; `None` for every call (FailingMockVCDiffDecoder).
    pub fail_calls: Option<Vec<usize>>,
}

impl MockVcdiff {
    /// A decoder that always throws.
    pub fn failing() -> MockVcdiff {
        MockVcdiff {
            fail_calls: None,
            ..MockVcdiff::default()
        }
    }

    /// A decoder that works, except on these calls.
    pub fn failing_on(calls: &[usize]) -> MockVcdiff {
        MockVcdiff {
            fail_calls: Some(calls.to_vec()),
            ..MockVcdiff::default()
        }
    }

    /// A decoder that always works.
    pub fn working() -> MockVcdiff {
        MockVcdiff::failing_on(&[])
    }

    /// The `(delta, base)` of every call so far.
    pub fn calls(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.calls.lock().expect("lock").clone()
    }
}

impl VcdiffDecoder for MockVcdiff {
    fn decode(&mut self, delta: &[u8], base: &[u8]) -> Result<Vec<u8>, String> {
        let n = {
            let mut calls = self.calls.lock().expect("lock");
            calls.push((delta.to_vec(), base.to_vec()));
            calls.len()
        };
        match &self.fail_calls {
            None => return Err("Simulated vcdiff decode failure".into()),
            Some(fail) if fail.contains(&n) => return Err("Simulated decode failure".into()),
            Some(_) => {}
        }
        let text = std::str::from_utf8(delta).map_err(|e| e.to_string())?;
        let parts: Vec<&str> = text.split('/').collect();
        let [encoded_base, encoded_value] = parts[..] else {
            return Err("Invalid delta format".into());
        };
        if decode_uri_component(encoded_base).as_deref() == Some(base) {
            return decode_uri_component(encoded_value).ok_or_else(|| "bad value".into());
        }
        if B64URL.decode(encoded_base).ok().as_deref() == Some(base) {
            return B64URL.decode(encoded_value).map_err(|e| e.to_string());
        }
        Err("Base mismatch: expected base does not match delta".into())
    }
}

/// A message of a delta frame: `id`, payload, encoding and
/// `extras.delta.from`. Binary payloads travel as base64 on JSON with
/// `/base64` appended, as the spec's transport note says.
pub fn wire_msg(id: &str, data: Data, encoding: Option<&str>, from: Option<&str>) -> Message {
    Message {
        id: Some(id.into()),
        data,
        encoding: encoding.map(str::to_owned),
        extras: from.map(|f| serde_json::json!({"delta": {"from": f, "format": "vcdiff"}})),
        ..Message::default()
    }
}

/// A MESSAGE frame with an id and optional channelSerial.
pub fn delta_frame(
    channel: &str,
    id: &str,
    channel_serial: Option<&str>,
    messages: Vec<Message>,
) -> ProtocolMessage {
    let mut pm = message_frame(channel, messages);
    pm.id = Some(id.into());
    pm.channel_serial = channel_serial.map(str::to_owned);
    pm
}

//! Helpers shared by the publish and message-field tests.

#![allow(dead_code)]

use std::time::Duration;

use ably_proto::client::{Command, Frame, Input, OpId, Output};
use ably_proto::{Action, ErrorInfo, Message, ProtocolMessage, PublishResult};

use crate::harness::*;

/// One second of fake time, the usual limit for reaching a state.
pub const SEC: Duration = Duration::from_secs(1);

/// A service that answers ATTACH with ATTACHED and nothing else: MESSAGE
/// frames are only recorded (by the harness).
pub fn attach_only() -> MessageHandler {
    Box::new(|pm| match pm.action {
        Action::Attach => vec![Reply::Send(attached(
            pm.channel.as_deref().unwrap_or_default(),
        ))],
        _ => vec![],
    })
}

/// `channel.publish(messages)`.
pub fn publish(h: &mut Harness, channel: &str, messages: Vec<Message>) -> OpId {
    h.command(Command::Publish {
        channel: channel.into(),
        messages,
    })
}

/// `channel.publish(name, data)`.
pub fn publish_one(h: &mut Harness, channel: &str, name: &str, data: &str) -> OpId {
    publish(h, channel, vec![Message::new(name, data)])
}

/// The error a publish failed with; panics if it did not fail.
pub fn failed(h: &Harness, op: OpId) -> ErrorInfo {
    match h.completion(op) {
        Some(Err(e)) => e,
        other => panic!("expected the publish to fail, got {other:?}"),
    }
}

/// MESSAGE frames the client sent on the transport with this index.
pub fn messages_on(h: &Harness, transport: usize) -> Vec<ProtocolMessage> {
    h.transports[transport]
        .sent
        .iter()
        .filter(|pm| pm.action == Action::Message)
        .cloned()
        .collect()
}

/// Frames of an action the client sent on the transport with this index.
pub fn sent_on(h: &Harness, transport: usize, action: Action) -> Vec<ProtocolMessage> {
    h.transports[transport]
        .sent
        .iter()
        .filter(|pm| pm.action == action)
        .cloned()
        .collect()
}

/// An ACK of one frame carrying the serials of its messages (TR4s).
pub fn ack_serials(msg_serial: u64, serials: &[Option<&str>]) -> ProtocolMessage {
    let mut pm = ack(msg_serial, 1);
    pm.res = Some(vec![PublishResult {
        serials: serials.iter().map(|s| s.map(str::to_owned)).collect(),
    }]);
    pm
}

/// A connection-wide ERROR frame.
pub fn error_frame(code: u32, status: Option<u16>, message: &str) -> ProtocolMessage {
    let mut pm = ProtocolMessage::new(Action::Error);
    pm.error = Some(ErrorInfo {
        code,
        status_code: status,
        message: message.into(),
        ..ErrorInfo::default()
    });
    pm
}

/// Sends a publish straight to the client and returns the raw frames it
/// writes, so a test can look at the bytes on the wire; other outputs go to
/// the harness's events as usual.
pub fn publish_raw(h: &mut Harness, op: u64, channel: &str, messages: Vec<Message>) -> Vec<Frame> {
    let command = Command::Publish {
        channel: channel.into(),
        messages,
    };
    h.client.handle(h.now, Input::Command(OpId(op), command));
    let mut frames = Vec::new();
    while let Some(out) = h.client.poll() {
        match out {
            Output::Send { frame, .. } => frames.push(frame),
            Output::Event(e) => h.events.push(e),
            other => panic!("unexpected output {other:?}"),
        }
    }
    frames
}

//! Helpers shared by the channel lifecycle tests.

#![allow(dead_code)]

use std::time::Duration;

use ably_proto::client::{
    ChannelState, ChannelStateChange, ClientOptions, Command, Completion, ConnectionState, OpId,
};
use ably_proto::{Action, ChannelOptions, ErrorInfo, ProtocolMessage};

use crate::harness::*;

/// Generous fake-time limit for AWAIT_STATE.
pub const WAIT: Duration = Duration::from_secs(5);

/// A scripted service: `on_attach(n, channel)` answers the n-th ATTACH (from
/// 1), `on_detach(n, channel)` the n-th DETACH; CLOSE is answered with CLOSED.
pub fn service(
    mut on_attach: impl FnMut(usize, &str) -> Vec<Reply> + 'static,
    mut on_detach: impl FnMut(usize, &str) -> Vec<Reply> + 'static,
) -> MessageHandler {
    let mut attaches = 0;
    let mut detaches = 0;
    Box::new(move |pm| {
        let channel = pm.channel.as_deref().unwrap_or_default();
        match pm.action {
            Action::Attach => {
                attaches += 1;
                on_attach(attaches, channel)
            }
            Action::Detach => {
                detaches += 1;
                on_detach(detaches, channel)
            }
            Action::Close => vec![Reply::Send(ProtocolMessage::new(Action::Closed))],
            _ => vec![],
        }
    })
}

/// Answers with ATTACHED for the channel.
pub fn reply_attached(channel: &str) -> Vec<Reply> {
    vec![Reply::Send(attached(channel))]
}

/// Answers with DETACHED for the channel.
pub fn reply_detached(channel: &str) -> Vec<Reply> {
    vec![Reply::Send(detached(channel, None))]
}

/// No answer.
pub fn silent() -> Vec<Reply> {
    vec![]
}

/// ATTACH answered with ATTACHED, DETACH with DETACHED, CLOSE with CLOSED.
pub fn answering() -> MessageHandler {
    service(|_, ch| reply_attached(ch), |_, ch| reply_detached(ch))
}

/// ATTACH answered with ATTACHED; DETACH ignored.
pub fn attach_only() -> MessageHandler {
    service(|_, ch| reply_attached(ch), |_, _| silent())
}

/// Nothing answered but CLOSE.
pub fn ignoring() -> MessageHandler {
    service(|_, _| silent(), |_, _| silent())
}

/// A connected harness (every connection attempt succeeds) with `handler`
/// as the service.
pub fn connected_with_service(opts: ClientOptions, handler: MessageHandler) -> Harness {
    let mut h = Harness::connecting_ok(opts);
    h.on_message = Some(handler);
    h.connect();
    h.await_state(ConnectionState::Connected, WAIT);
    h
}

/// `channels.get(name)`: the channel exists, untouched (RTS3a).
pub fn get_channel(h: &mut Harness, name: &str) {
    let op = h.command(Command::GetChannel {
        channel: name.into(),
        options: None,
    });
    assert_eq!(h.completion(op), Some(Ok(Completion::Done)));
}

/// `channels.get(name, options)` (RTS3b).
pub fn get_channel_with(h: &mut Harness, name: &str, options: ChannelOptions) {
    let op = h.command(Command::GetChannel {
        channel: name.into(),
        options: Some(options),
    });
    assert_eq!(h.completion(op), Some(Ok(Completion::Done)));
}

/// The operation succeeded.
pub fn assert_done(h: &Harness, op: OpId) {
    assert_eq!(h.completion(op), Some(Ok(Completion::Done)), "{op:?}");
}

/// The operation failed; returns its error.
pub fn failed(h: &Harness, op: OpId) -> ErrorInfo {
    match h.completion(op) {
        Some(Err(e)) => e,
        other => panic!("{op:?} should have failed, got {other:?}"),
    }
}

/// AWAIT_STATE for a channel, firing deadlines in order up to `limit`.
pub fn await_channel(h: &mut Harness, name: &str, state: ChannelState, limit: Duration) {
    let ok = h.run_until(limit, |h| h.channel_state(name) == state);
    assert!(
        ok,
        "channel {name} not {state} within {limit:?}; now {}; states {:?}",
        h.channel_state(name),
        h.channel_states(name)
    );
}

/// Frames of an action the client sent for a channel.
pub fn sent_for(h: &Harness, action: Action, channel: &str) -> Vec<ProtocolMessage> {
    h.sent_with(action)
        .into_iter()
        .filter(|pm| pm.channel.as_deref() == Some(channel))
        .collect()
}

/// A channel-scoped ERROR frame.
pub fn channel_error(channel: &str, code: u32, status: u16, message: &str) -> ProtocolMessage {
    let mut pm = ProtocolMessage::for_channel(Action::Error, channel);
    pm.error = Some(ErrorInfo::new(code, status, message));
    pm
}

/// A connection-level ERROR frame.
pub fn connection_error(code: u32, status: u16, message: &str) -> ProtocolMessage {
    let mut pm = ProtocolMessage::new(Action::Error);
    pm.error = Some(ErrorInfo::new(code, status, message));
    pm
}

/// A DETACHED frame with an error.
pub fn detached_error(channel: &str, code: u32, status: u16, message: &str) -> ProtocolMessage {
    detached(channel, Some(ErrorInfo::new(code, status, message)))
}

/// Channel changes (and UPDATEs) after the first `mark`.
pub fn changes_after<'a>(h: &'a Harness, name: &str, mark: usize) -> Vec<&'a ChannelStateChange> {
    h.channel_changes(name).into_iter().skip(mark).collect()
}

/// The states entered after the first `mark` changes.
pub fn states_after(h: &Harness, name: &str, mark: usize) -> Vec<ChannelState> {
    changes_after(h, name, mark)
        .into_iter()
        .filter(|c| !c.update)
        .map(|c| c.current)
        .collect()
}

/// Key options with millisecond timeouts.
pub fn opts_ms(realtime_request_timeout: u64, channel_retry_timeout: u64) -> ClientOptions {
    ClientOptions {
        realtime_request_timeout: Duration::from_millis(realtime_request_timeout),
        channel_retry_timeout: Duration::from_millis(channel_retry_timeout),
        ..key_options()
    }
}

/// The channel's errorReason (RTL24); panics if the channel does not exist.
pub fn reason(h: &Harness, name: &str) -> Option<ErrorInfo> {
    h.client
        .channel(name)
        .expect("the channel exists")
        .error_reason()
        .cloned()
}

//! Helpers shared by the channel state and options modules: the
//! `Channels#get` / `setOptions` / `release` commands, a connected harness,
//! channel events as the UTS name them, and a driver-side whenState.

#![allow(dead_code)]

use std::time::Duration;

use ably_proto::client::{ChannelState, ChannelStateChange, Command, Completion, Event, OpId};
use ably_proto::{Action, ChannelOptions, ErrorInfo, ProtocolMessage};

use crate::harness::*;

pub const SEC: Duration = Duration::from_secs(1);

/// `client.channels.get(name)`: creates the channel if needed (RTS3a).
pub fn get(h: &mut Harness, name: &str) {
    let op = h.command(Command::GetChannel {
        channel: name.into(),
        options: None,
    });
    assert_eq!(h.completion(op), Some(Ok(Completion::Done)));
}

/// `client.channels.get(name, options)`: its outcome, which is immediate.
pub fn get_with(
    h: &mut Harness,
    name: &str,
    options: ChannelOptions,
) -> Result<Completion, ErrorInfo> {
    let op = h.command(Command::GetChannel {
        channel: name.into(),
        options: Some(options),
    });
    h.completion(op).expect("get completes at once")
}

/// `channel.setOptions(options)` (RTL16); returns the operation id.
pub fn set_options(h: &mut Harness, name: &str, options: ChannelOptions) -> OpId {
    h.command(Command::SetChannelOptions {
        channel: name.into(),
        options,
    })
}

/// `client.channels.release(name)` (RTS4); returns the operation id.
pub fn release(h: &mut Harness, name: &str) -> OpId {
    h.command(Command::ReleaseChannel {
        channel: name.into(),
    })
}

/// `client.channels.exists(name)` (RTS2).
pub fn exists(h: &Harness, name: &str) -> bool {
    h.client.channel(name).is_some()
}

/// A service that answers ATTACH with this frame (its channel filled in
/// from the ATTACH) and DETACH with DETACHED.
pub fn answering_attach(reply: ProtocolMessage) -> MessageHandler {
    Box::new(move |pm| {
        let channel = pm.channel.clone();
        match pm.action {
            Action::Attach => {
                let mut out = reply.clone();
                out.channel = channel;
                vec![Reply::Send(out)]
            }
            Action::Detach => vec![Reply::Send(detached(
                channel.as_deref().unwrap_or_default(),
                None,
            ))],
            _ => vec![],
        }
    })
}

/// A channel ERROR frame (RTL14).
pub fn channel_error(channel: &str, code: u32, status: u16, message: &str) -> ProtocolMessage {
    let mut pm = ProtocolMessage::for_channel(Action::Error, channel);
    pm.error = Some(ErrorInfo::new(code, status, message));
    pm
}

/// The outcome of an operation, which must have completed.
pub fn outcome(h: &Harness, op: OpId) -> Result<Completion, ErrorInfo> {
    h.completion(op)
        .unwrap_or_else(|| panic!("operation {op:?} has not completed"))
}

/// The `ChannelEvent` a change is emitted as (RTL2a, RTL2g): the state
/// entered, or UPDATE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelEvent {
    /// A state change to this state.
    State(ChannelState),
    /// An UPDATE (RTL2g, RTL12).
    Update,
}

/// The event of a change (TH5).
pub fn event(change: &ChannelStateChange) -> ChannelEvent {
    if change.update {
        ChannelEvent::Update
    } else {
        ChannelEvent::State(change.current)
    }
}

/// `channel.on(event)`: the changes of a channel emitted as `event`.
pub fn changes_as(h: &Harness, channel: &str, ev: ChannelEvent) -> Vec<ChannelStateChange> {
    h.channel_changes(channel)
        .into_iter()
        .filter(|c| event(c) == ev)
        .cloned()
        .collect()
}

/// Channel changes of one channel after the first `mark` events.
pub fn channel_changes_since(h: &Harness, channel: &str, mark: usize) -> Vec<ChannelStateChange> {
    h.events[mark..]
        .iter()
        .filter_map(|e| match e {
            Event::Channel(c) if c.channel == channel => Some(c.clone()),
            _ => None,
        })
        .collect()
}

// whenState (RTL25) is a function of the adapter over what the core gives:
// the channel's current state (`Client::channel`) and its stream of state
// changes. RTL25a reads the state at call time; RTL25b is `once(state)` over
// the changes that follow. `WhenState` is that helper, as a driver builds it.

/// A `channel.whenState(state)` registration.
pub struct WhenState {
    channel: String,
    state: ChannelState,
    /// RTL25a: already in the state when called.
    immediate: bool,
    /// The number of events when called; RTL25b looks only after it.
    mark: usize,
}

impl WhenState {
    pub fn new(h: &Harness, channel: &str, state: ChannelState) -> WhenState {
        WhenState {
            channel: channel.into(),
            state,
            immediate: h.channel_state(channel) == state,
            mark: h.events.len(),
        }
    }

    /// `None` if not resolved; `Some(None)` when resolved at once (RTL25a);
    /// `Some(Some(change))` for the first change into the state after the
    /// call (RTL25b, once).
    pub fn resolved(&self, h: &Harness) -> Option<Option<ChannelStateChange>> {
        if self.immediate {
            return Some(None);
        }
        self.resolved_at(h).map(|i| match &h.events[i] {
            Event::Channel(c) => Some(c.clone()),
            _ => unreachable!(),
        })
    }

    /// The index in `h.events` of the change that resolved it (RTL25b).
    pub fn resolved_at(&self, h: &Harness) -> Option<usize> {
        h.events
            .iter()
            .enumerate()
            .skip(self.mark)
            .find(|(_, e)| {
                matches!(e, Event::Channel(c)
                    if c.channel == self.channel && !c.update && c.current == self.state)
            })
            .map(|(i, _)| i)
    }
}

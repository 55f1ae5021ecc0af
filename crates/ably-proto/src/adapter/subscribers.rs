//! Subscriber lists: who receives messages, presence events and state
//! changes. Each subscriber is a [`Sink`], a closure that hands an item
//! to the application's queue and says whether that queue still exists.

use std::collections::HashMap;

use crate::client::{ChannelStateChange, ConnectionStateChange, Event};
use crate::{Message, PresenceMessage};

/// Hands an item to a subscriber; returns `false` once the subscriber has
/// gone (its receiving end was dropped), which removes it.
pub type Sink<T> = Box<dyn FnMut(T) -> bool + Send>;

/// A subscriber to register with [`Dispatcher::subscribe`](super::Dispatcher::subscribe).
pub enum Subscriber {
    /// Messages of a channel, all or only those named `name` (RTL7).
    Messages {
        /// The channel.
        channel: String,
        /// Only messages of this name, if set.
        name: Option<String>,
        /// Where they go.
        sink: Sink<Message>,
    },
    /// Presence events of a channel (RTP6).
    Presence {
        /// The channel.
        channel: String,
        /// Where they go.
        sink: Sink<PresenceMessage>,
    },
    /// Connection state changes (RTN4).
    Connection(Sink<ConnectionStateChange>),
    /// State changes of a channel (RTL2).
    Channel {
        /// The channel.
        channel: String,
        /// Where they go.
        sink: Sink<ChannelStateChange>,
    },
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subscriber::Messages { channel, name, .. } => f
                .debug_struct("Messages")
                .field("channel", channel)
                .field("name", name)
                .finish_non_exhaustive(),
            Subscriber::Presence { channel, .. } => f
                .debug_struct("Presence")
                .field("channel", channel)
                .finish_non_exhaustive(),
            Subscriber::Connection(_) => f.write_str("Connection"),
            Subscriber::Channel { channel, .. } => f
                .debug_struct("Channel")
                .field("channel", channel)
                .finish_non_exhaustive(),
        }
    }
}

/// A message subscriber with its name filter.
type NamedSink = (Option<String>, Sink<Message>);

/// Every subscriber of one client.
#[derive(Default)]
pub(super) struct Subscribers {
    messages: HashMap<String, Vec<NamedSink>>,
    presence: HashMap<String, Vec<Sink<PresenceMessage>>>,
    connection: Vec<Sink<ConnectionStateChange>>,
    channel: HashMap<String, Vec<Sink<ChannelStateChange>>>,
}

impl Subscribers {
    pub(super) fn add(&mut self, sub: Subscriber) {
        match sub {
            Subscriber::Messages {
                channel,
                name,
                sink,
            } => self.messages.entry(channel).or_default().push((name, sink)),
            Subscriber::Presence { channel, sink } => {
                self.presence.entry(channel).or_default().push(sink)
            }
            Subscriber::Connection(sink) => self.connection.push(sink),
            Subscriber::Channel { channel, sink } => {
                self.channel.entry(channel).or_default().push(sink)
            }
        }
    }

    /// Delivers an event to its subscribers, dropping those that have
    /// gone. Completions and logs are not for subscribers.
    pub(super) fn deliver(&mut self, event: Event) {
        match event {
            Event::Connection(change) => self.connection.retain_mut(|s| s(change.clone())),
            Event::Channel(change) => {
                if let Some(list) = self.channel.get_mut(&change.channel) {
                    list.retain_mut(|s| s(change.clone()));
                }
            }
            Event::Message { channel, message } => {
                if let Some(list) = self.messages.get_mut(&*channel) {
                    deliver_message(list, *message);
                }
            }
            Event::Presence { channel, message } => {
                if let Some(list) = self.presence.get_mut(&*channel) {
                    list.retain_mut(|s| s((*message).clone()));
                }
            }
            Event::Completed(..) | Event::Log(_) | Event::Annotation { .. } => {}
        }
    }
}

/// Gives `message` to every subscriber whose name filter matches (RTL7b);
/// the last one gets it without a copy.
fn deliver_message(list: &mut Vec<NamedSink>, message: Message) {
    let wants = |name: &Option<String>| match name {
        Some(n) => message.name.as_deref() == Some(n.as_str()),
        None => true,
    };
    let Some(last) = list.iter().rposition(|(name, _)| wants(name)) else {
        return;
    };
    let mut gone = Vec::new();
    for (i, (name, sink)) in list.iter_mut().enumerate().take(last) {
        if wants(name) && !sink(message.clone()) {
            gone.push(i);
        }
    }
    if !(list[last].1)(message) {
        gone.push(last);
    }
    for i in gone.into_iter().rev() {
        drop(list.remove(i));
    }
}

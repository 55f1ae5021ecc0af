//! [`Dispatcher`]: the client core plus the bookkeeping every driver
//! needs around it (see the module docs for the loop).

use std::collections::{HashMap, VecDeque};

use crate::auth::TokenParams;
use crate::client::{
    Client, Command, Completion, Event, Frame, Generation, HttpRequest, Input, Instant, Now, OpId,
    Output, RequestId, TransportEvent,
};
use crate::rest::RestOp;
use crate::{ErrorInfo, Message};

use super::snapshot::{SharedSnapshot, Snapshot};
use super::subscribers::{Subscriber, Subscribers};

/// Where the result of an operation goes: called exactly once.
pub type Reply = Box<dyn FnOnce(Result<Completion, ErrorInfo>) + Send>;

/// I/O for the driver to carry out, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Io {
    /// Open a WebSocket to `url` (off the driver), then report the result
    /// with [`Dispatcher::opened`] and this generation.
    Open {
        /// Tag for the result and the socket's events.
        generation: Generation,
        /// The `ws://` or `wss://` URL with its query.
        url: String,
    },
    /// Write a frame on the open socket.
    Send(Frame),
    /// Close the socket (if any) and forget it; a socket still being
    /// opened is discarded when it arrives.
    Close,
    /// Call the authCallback (off the driver) and answer with
    /// `Input::Token(request, ..)` (RSA8d).
    FetchToken {
        /// Answer with this id.
        request: RequestId,
        /// The token params to pass.
        params: TokenParams,
    },
    /// Make an HTTP request (off the driver) and answer with
    /// `Input::Http(request, ..)`.
    Http {
        /// Answer with this id.
        request: RequestId,
        /// The request.
        http: HttpRequest,
    },
}

/// Which transport the driver has, as far as the core is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transport {
    None,
    Opening(Generation),
    Open(Generation),
}

/// The client core with its operation ids, waiting callers, subscribers
/// and snapshot. A driver owns one per client.
pub struct Dispatcher {
    client: Client,
    shared: SharedSnapshot,
    next_op: u64,
    replies: HashMap<OpId, Reply>,
    subscribers: Subscribers,
    transport: Transport,
    io: VecDeque<Io>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("state", &self.client.state())
            .field("waiting", &self.replies.len())
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl Dispatcher {
    /// Wraps a client.
    pub fn new(client: Client) -> Dispatcher {
        let shared = SharedSnapshot::new(Snapshot::of(&client));
        Dispatcher {
            client,
            shared,
            next_op: 0,
            replies: HashMap::new(),
            subscribers: Subscribers::default(),
            transport: Transport::None,
            io: VecDeque::new(),
        }
    }

    /// The snapshot the handles read.
    pub fn snapshot(&self) -> SharedSnapshot {
        self.shared.clone()
    }

    /// The client, for reads of its state.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The client, for queries that need it mutably (e.g. its RNG).
    pub fn client_mut(&mut self) -> &mut Client {
        &mut self.client
    }

    /// When the core next needs `Input::Timeout`.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.client.poll_timeout().map(|(at, _)| at)
    }

    /// Starts an operation; `reply` gets its result. Published payloads
    /// are encoded here with the channel's cipher (RSL4, RSL5), since the
    /// core takes them encoded; an encoding failure is the result.
    pub fn command(&mut self, now: Now, command: Command, reply: Reply) {
        let command = match self.prepare(command) {
            Ok(c) => c,
            Err(e) => return reply(Err(e)),
        };
        self.next_op += 1;
        let op = OpId(self.next_op);
        self.replies.insert(op, reply);
        self.client.handle(now, Input::Command(op, command));
    }

    /// Registers a subscriber: every event from the next step on reaches it.
    pub fn subscribe(&mut self, subscriber: Subscriber) {
        self.subscribers.add(subscriber);
    }

    /// Feeds any other input in: tokens, HTTP answers, `Input::Timeout`,
    /// network changes. Socket results go through [`Dispatcher::opened`]
    /// and [`Dispatcher::transport`].
    pub fn handle(&mut self, now: Now, input: Input) {
        self.client.handle(now, input);
    }

    /// Reports the result of an [`Io::Open`]. Returns whether the driver
    /// should keep the socket: `false` when the core has given up on that
    /// generation meanwhile (drop the socket then).
    pub fn opened(
        &mut self,
        now: Now,
        generation: Generation,
        result: Result<(), ErrorInfo>,
    ) -> bool {
        if self.transport != Transport::Opening(generation) {
            return false;
        }
        let event = match result {
            Ok(()) => {
                self.transport = Transport::Open(generation);
                TransportEvent::Opened
            }
            Err(e) => {
                self.transport = Transport::None;
                TransportEvent::Closed(Some(e))
            }
        };
        self.client.handle(now, Input::Transport(generation, event));
        self.transport == Transport::Open(generation)
    }

    /// Reports an event of the open socket: a frame, activity, or its end
    /// (after which the driver drops the socket).
    pub fn transport(&mut self, now: Now, event: TransportEvent) {
        let Transport::Open(generation) = self.transport else {
            return;
        };
        if matches!(event, TransportEvent::Closed(_)) {
            self.transport = Transport::None;
        }
        self.client.handle(now, Input::Transport(generation, event));
    }

    /// Writing to the socket failed: the transport is gone (RTN15).
    pub fn send_failed(&mut self, now: Now, error: &dyn std::fmt::Display) {
        let err = ErrorInfo::new(80003, 400, format!("connection lost: {error}"));
        self.transport(now, TransportEvent::Closed(Some(err)));
    }

    /// The client is being dropped: close the connection politely (RTN12);
    /// nobody waits for CLOSED. Callers still waiting get 80017 from
    /// their own side when the driver ends.
    pub fn close(&mut self, now: Now) {
        self.next_op += 1;
        let op = OpId(self.next_op);
        self.client.handle(now, Input::Command(op, Command::Close));
    }

    /// The next I/O to carry out, or `None` when the core has nothing more
    /// to say. Events of each step reach subscribers and waiting callers
    /// here, completions after the other events: when a call returns, the
    /// state changes and messages that led to it have been delivered, and
    /// the snapshot already shows the new state.
    pub fn next_io(&mut self) -> Option<Io> {
        loop {
            if let Some(io) = self.io.pop_front() {
                return Some(io);
            }
            let mut completions = Vec::new();
            let mut fresh = false;
            let mut any = false;
            while let Some(output) = self.client.poll() {
                any = true;
                match output {
                    Output::Event(Event::Completed(op, result)) => completions.push((op, result)),
                    Output::Event(event @ (Event::Message { .. } | Event::Presence { .. })) => {
                        self.subscribers.deliver(event);
                    }
                    Output::Event(event) => {
                        // The snapshot must be current before a state
                        // change reaches anyone. The core's state is final
                        // for the whole batch, so once is enough.
                        if !fresh {
                            *self.shared.lock() = Snapshot::of(&self.client);
                            fresh = true;
                        }
                        self.subscribers.deliver(event);
                    }
                    other => self.queue_io(other),
                }
            }
            if !any {
                return None;
            }
            if !completions.is_empty() && !fresh {
                *self.shared.lock() = Snapshot::of(&self.client);
            }
            for (op, result) in completions {
                if let Some(reply) = self.replies.remove(&op) {
                    reply(result);
                }
            }
        }
    }

    fn queue_io(&mut self, output: Output) {
        match output {
            Output::OpenTransport { generation, url } => {
                if self.transport != Transport::None {
                    self.io.push_back(Io::Close);
                }
                self.transport = Transport::Opening(generation);
                self.io.push_back(Io::Open { generation, url });
            }
            Output::Send { generation, frame } => {
                if self.transport == Transport::Open(generation) {
                    self.io.push_back(Io::Send(frame));
                }
            }
            Output::CloseTransport { generation } => {
                if matches!(self.transport, Transport::Open(g) | Transport::Opening(g) if g == generation)
                {
                    self.transport = Transport::None;
                    self.io.push_back(Io::Close);
                }
            }
            Output::FetchToken { request, params } => {
                self.io.push_back(Io::FetchToken { request, params })
            }
            Output::Http { request, http } => self.io.push_back(Io::Http { request, http }),
            Output::Event(_) => {}
        }
    }

    /// Encodes the payloads of publishes (RSL4, RSL5).
    fn prepare(&mut self, mut command: Command) -> Result<Command, ErrorInfo> {
        match &mut command {
            Command::Publish { channel, messages } => self.encode(channel, messages)?,
            Command::Rest(op) => {
                if let RestOp::Publish {
                    channel, messages, ..
                } = &mut **op
                {
                    self.encode(channel, messages)?;
                }
            }
            _ => {}
        }
        Ok(command)
    }

    fn encode(&mut self, channel: &str, messages: &mut [Message]) -> Result<(), ErrorInfo> {
        let cipher = self
            .client
            .channel(channel)
            .and_then(|c| c.options().cipher.clone());
        for m in messages {
            m.encode(cipher.as_ref(), self.client.rng())?;
        }
        Ok(())
    }
}

//! A scripted service and fake clock around the sans-IO client, in the
//! shape of the UTS mock WebSocket (`uts/realtime/unit/helpers/mock_websocket.md`):
//! connection attempts are answered by a handler or by hand, frames from the
//! client are recorded and may be answered, and time only moves when a test
//! moves it.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::time::Duration;

use ably_proto::auth::TokenParams;
use ably_proto::client::{
    AuthResponse, Client, ClientOptions, Command, Completion, ConnectionState,
    ConnectionStateChange, Event, Generation, HttpRequest, HttpResponse, Input, Instant, Now, OpId,
    Output, RequestId, TransportEvent,
};
use ably_proto::codec::{self, Format};
use ably_proto::{Action, ConnectionDetails, ErrorInfo, ProtocolMessage};

/// How the scripted service answers a connection attempt.
#[derive(Clone, Debug)]
pub enum Attempt {
    /// Open the WebSocket and send this (usually CONNECTED).
    Success(ProtocolMessage),
    /// Connection refused at the network level.
    Refused,
    /// No answer at all; the client's own timeout must fire.
    Timeout,
    /// Open, send this ERROR or DISCONNECTED, and close.
    ErrorAndClose(ProtocolMessage),
    /// Leave it to the test (see [`Harness::respond`]).
    Pending,
}

/// What the scripted service does when the client sends a frame.
#[derive(Clone, Debug)]
pub enum Reply {
    /// Send a frame to the client.
    Send(ProtocolMessage),
    /// Send a frame and close the transport.
    SendAndClose(ProtocolMessage),
    /// Close the transport without a frame.
    Drop,
}

/// One transport the client opened.
#[derive(Clone, Debug)]
pub struct Transport {
    pub generation: Generation,
    pub url: String,
    /// Frames the client sent, decoded.
    pub sent: Vec<ProtocolMessage>,
    /// Whether the client closed it.
    pub closed_by_client: bool,
    /// Whether it is open from the service's side.
    pub open: bool,
}

impl Transport {
    /// A query param of the URL.
    pub fn param(&self, name: &str) -> Option<String> {
        ably_proto::client::query_param(&self.url, name)
    }
}

/// A handler of connection attempts: attempt number and URL in, answer out.
pub type AttemptHandler = Box<dyn FnMut(usize, &str) -> Attempt>;
type TokenHandler = Box<dyn FnMut(usize, &TokenParams) -> Option<Result<AuthResponse, ErrorInfo>>>;
type HttpHandler = Box<dyn FnMut(&HttpRequest) -> Option<Result<HttpResponse, ErrorInfo>>>;

/// The client, a fake clock and a scripted service.
pub struct Harness {
    pub client: Client,
    pub now: Now,
    pub format: Format,
    next_op: u64,
    pub transports: Vec<Transport>,
    pub events: Vec<Event>,
    pub token_requests: Vec<(RequestId, TokenParams)>,
    pub http_requests: Vec<(RequestId, HttpRequest)>,
    pending: VecDeque<Input>,
    pub on_attempt: Option<AttemptHandler>,
    pub on_message: Option<MessageHandler>,
    pub on_token: Option<TokenHandler>,
    pub on_http: Option<HttpHandler>,
}

/// The wall clock at the start of every test.
pub const START_WALL_MS: i64 = 1_700_000_000_000;

/// A CONNECTED frame with id, key and usual details.
pub fn connected(id: &str, key: &str) -> ProtocolMessage {
    connected_with(
        id,
        key,
        ConnectionDetails {
            connection_key: Some(key.into()),
            max_idle_interval: Some(15_000),
            connection_state_ttl: Some(120_000),
            max_message_size: Some(65_536),
            ..ConnectionDetails::default()
        },
    )
}

/// A CONNECTED frame with these details.
pub fn connected_with(id: &str, key: &str, mut details: ConnectionDetails) -> ProtocolMessage {
    if details.connection_key.is_none() {
        details.connection_key = Some(key.into());
    }
    let mut pm = ProtocolMessage::new(Action::Connected);
    pm.connection_id = Some(id.into());
    pm.connection_details = Some(details);
    pm
}

/// A frame with an action and an error.
pub fn with_error(action: Action, code: u32, status: u16) -> ProtocolMessage {
    let mut pm = ProtocolMessage::new(action);
    pm.error = Some(ErrorInfo::new(code, status, format!("test error {code}")));
    pm
}

/// Options with a key, JSON and no auto-connect, as most UTS tests use.
pub fn key_options() -> ClientOptions {
    ClientOptions {
        key: Some("appId.keyId:keySecret".into()),
        auto_connect: false,
        format: Format::Json,
        fallback_hosts: Some(Vec::new()),
        ..ClientOptions::default()
    }
}

impl Harness {
    /// A harness around a new client.
    pub fn new(opts: ClientOptions) -> Harness {
        let format = opts.format;
        let now = Now::new(Instant::from_millis(0), START_WALL_MS);
        let client = Client::new(opts, [7; 32], now).expect("valid options");
        let mut h = Harness {
            client,
            now,
            format,
            next_op: 0,
            transports: Vec::new(),
            events: Vec::new(),
            token_requests: Vec::new(),
            http_requests: Vec::new(),
            pending: VecDeque::new(),
            on_attempt: None,
            on_message: None,
            on_token: None,
            on_http: None,
        };
        h.pump();
        h
    }

    /// A harness whose every connection attempt succeeds with `connected`.
    pub fn connecting_ok(opts: ClientOptions) -> Harness {
        let mut h = Harness::new(opts);
        h.on_attempt = Some(Box::new(|n, _| {
            Attempt::Success(connected("connection-id", &format!("connection-key-{n}")))
        }));
        h
    }

    // ---- driving ----------------------------------------------------------

    /// Feeds an input at the current time and processes every output.
    pub fn input(&mut self, input: Input) {
        self.client.handle(self.now, input);
        self.pump();
    }

    /// Sends a command; returns its id.
    pub fn command(&mut self, command: Command) -> OpId {
        self.next_op += 1;
        let op = OpId(self.next_op);
        self.input(Input::Command(op, command));
        op
    }

    /// `connect()`.
    pub fn connect(&mut self) {
        self.command(Command::Connect);
    }

    /// `close()`.
    pub fn close(&mut self) {
        self.command(Command::Close);
    }

    /// Moves the clock forward by `d`, firing every deadline on the way in
    /// order.
    pub fn advance(&mut self, d: Duration) {
        let target = self.now.instant + d;
        while let Some((at, _)) = self.client.poll_timeout() {
            if at > target {
                break;
            }
            self.set_time(at.max(self.now.instant));
            self.input(Input::Timeout);
        }
        self.set_time(target);
        self.input(Input::Timeout);
    }

    /// Moves the clock forward by `ms` milliseconds.
    pub fn advance_ms(&mut self, ms: u64) {
        self.advance(Duration::from_millis(ms));
    }

    /// Moves time deadline by deadline until `done` holds or `limit` passes;
    /// returns whether `done` held.
    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Harness) -> bool) -> bool {
        let end = self.now.instant + limit;
        loop {
            if done(self) {
                return true;
            }
            match self.client.poll_timeout() {
                Some((at, _)) if at <= end => {
                    self.set_time(at.max(self.now.instant));
                    self.input(Input::Timeout);
                }
                _ => {
                    self.set_time(end);
                    self.input(Input::Timeout);
                    return done(self);
                }
            }
        }
    }

    /// Runs until the connection is in `state`, within `limit` of fake time.
    pub fn await_state(&mut self, state: ConnectionState, limit: Duration) {
        let ok = self.run_until(limit, |h| h.client.state() == state);
        assert!(
            ok,
            "state {state} not reached within {limit:?}; now {}; changes: {:?}",
            self.client.state(),
            self.states()
        );
    }

    fn set_time(&mut self, at: Instant) {
        let delta = at.saturating_since(self.now.instant);
        self.now = self.now.advanced(delta);
    }

    fn pump(&mut self) {
        loop {
            while let Some(out) = self.client.poll() {
                self.process(out);
            }
            match self.pending.pop_front() {
                Some(input) => self.client.handle(self.now, input),
                None => break,
            }
        }
    }

    fn process(&mut self, out: Output) {
        match out {
            Output::OpenTransport { generation, url } => {
                self.transports.push(Transport {
                    generation,
                    url: url.clone(),
                    sent: Vec::new(),
                    closed_by_client: false,
                    open: false,
                });
                let n = self.transports.len();
                let attempt = match &mut self.on_attempt {
                    Some(f) => f(n, &url),
                    None => Attempt::Pending,
                };
                self.answer(generation, attempt);
            }
            Output::Send { generation, frame } => {
                assert_eq!(
                    frame.text,
                    self.format == Format::Json,
                    "frame type matches the format"
                );
                let pm = codec::decode_protocol_message(&frame.bytes, self.format)
                    .expect("client frames decode");
                let Some(t) = self
                    .transports
                    .iter_mut()
                    .find(|t| t.generation == generation)
                else {
                    panic!("send on unknown transport {generation:?}");
                };
                assert!(!t.closed_by_client, "send on a transport the client closed");
                t.sent.push(pm.clone());
                if let Some(f) = &mut self.on_message {
                    for reply in f(&pm) {
                        self.reply(generation, reply);
                    }
                }
            }
            Output::CloseTransport { generation } => {
                if let Some(t) = self
                    .transports
                    .iter_mut()
                    .find(|t| t.generation == generation)
                {
                    t.closed_by_client = true;
                    t.open = false;
                }
            }
            Output::FetchToken { request, params } => {
                self.token_requests.push((request, params.clone()));
                let n = self.token_requests.len();
                if let Some(f) = &mut self.on_token {
                    if let Some(result) = f(n, &params) {
                        self.pending.push_back(Input::Token(request, result));
                    }
                }
            }
            Output::Http { request, http } => {
                self.http_requests.push((request, http.clone()));
                if let Some(f) = &mut self.on_http {
                    if let Some(result) = f(&http) {
                        self.pending.push_back(Input::Http(request, result));
                    }
                }
            }
            Output::Event(event) => self.events.push(event),
        }
    }

    fn encode(&self, pm: &ProtocolMessage) -> bytes::Bytes {
        codec::encode(pm, self.format).expect("encode").into()
    }

    fn answer(&mut self, generation: Generation, attempt: Attempt) {
        match attempt {
            Attempt::Success(pm) => {
                self.pending
                    .push_back(Input::Transport(generation, TransportEvent::Opened));
                self.pending.push_back(Input::Transport(
                    generation,
                    TransportEvent::Frame(self.encode(&pm)),
                ));
                self.mark_open(generation);
            }
            Attempt::Refused => {
                let err = ErrorInfo::new(80000, 503, "connection refused");
                self.pending.push_back(Input::Transport(
                    generation,
                    TransportEvent::Closed(Some(err)),
                ));
            }
            Attempt::Timeout | Attempt::Pending => {}
            Attempt::ErrorAndClose(pm) => {
                self.pending
                    .push_back(Input::Transport(generation, TransportEvent::Opened));
                self.pending.push_back(Input::Transport(
                    generation,
                    TransportEvent::Frame(self.encode(&pm)),
                ));
                self.pending
                    .push_back(Input::Transport(generation, TransportEvent::Closed(None)));
            }
        }
    }

    fn mark_open(&mut self, generation: Generation) {
        if let Some(t) = self
            .transports
            .iter_mut()
            .find(|t| t.generation == generation)
        {
            t.open = true;
        }
    }

    fn reply(&mut self, generation: Generation, reply: Reply) {
        match reply {
            Reply::Send(pm) => self.pending.push_back(Input::Transport(
                generation,
                TransportEvent::Frame(self.encode(&pm)),
            )),
            Reply::SendAndClose(pm) => {
                self.pending.push_back(Input::Transport(
                    generation,
                    TransportEvent::Frame(self.encode(&pm)),
                ));
                self.pending
                    .push_back(Input::Transport(generation, TransportEvent::Closed(None)));
            }
            Reply::Drop => self
                .pending
                .push_back(Input::Transport(generation, TransportEvent::Closed(None))),
        }
    }

    // ---- the service's side ----------------------------------------------------

    /// The latest transport.
    pub fn last(&self) -> &Transport {
        self.transports
            .last()
            .expect("a connection attempt was made")
    }

    /// Answers the latest connection attempt by hand.
    pub fn respond(&mut self, attempt: Attempt) {
        let generation = self.last().generation;
        self.answer(generation, attempt);
        self.pump();
    }

    /// Sends a frame to the client on the latest transport.
    pub fn send_to_client(&mut self, pm: ProtocolMessage) {
        let generation = self.last().generation;
        self.reply(generation, Reply::Send(pm));
        self.pump();
    }

    /// Sends a frame and closes the latest transport.
    pub fn send_to_client_and_close(&mut self, pm: ProtocolMessage) {
        let generation = self.last().generation;
        self.reply(generation, Reply::SendAndClose(pm));
        self.pump();
    }

    /// Drops the latest transport without a frame.
    pub fn simulate_disconnect(&mut self) {
        let generation = self.last().generation;
        if let Some(t) = self.transports.last_mut() {
            t.open = false;
        }
        self.reply(generation, Reply::Drop);
        self.pump();
    }

    /// A WebSocket ping from the service (RTN23b).
    pub fn send_ping_frame(&mut self) {
        let generation = self.last().generation;
        self.input(Input::Transport(generation, TransportEvent::Activity));
    }

    // ---- what happened --------------------------------------------------------

    /// Every connection state change and UPDATE.
    pub fn changes(&self) -> Vec<&ConnectionStateChange> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Connection(c) => Some(c),
                _ => None,
            })
            .collect()
    }

    /// The states entered, in order (no UPDATEs).
    pub fn states(&self) -> Vec<ConnectionState> {
        self.changes()
            .iter()
            .filter(|c| !c.update)
            .map(|c| c.current)
            .collect()
    }

    /// The completion of an operation, if it completed; panics if it
    /// completed more than once.
    pub fn completion(&self, op: OpId) -> Option<Result<Completion, ErrorInfo>> {
        let all: Vec<_> = self
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Completed(id, r) if *id == op => Some(r.clone()),
                _ => None,
            })
            .collect();
        assert!(
            all.len() <= 1,
            "operation {op:?} completed {} times",
            all.len()
        );
        all.into_iter().next()
    }

    /// Frames the client sent on every transport, in order.
    pub fn sent(&self) -> Vec<ProtocolMessage> {
        self.transports
            .iter()
            .flat_map(|t| t.sent.clone())
            .collect()
    }

    /// Frames of an action the client sent.
    pub fn sent_with(&self, action: Action) -> Vec<ProtocolMessage> {
        self.sent()
            .into_iter()
            .filter(|pm| pm.action == action)
            .collect()
    }
}

// ---- channels and presence -------------------------------------------------------

use ably_proto::client::{ChannelState, ChannelStateChange};
use ably_proto::{Flags, Message, PresenceMessage};

/// An ATTACHED frame for a channel.
pub fn attached(channel: &str) -> ProtocolMessage {
    ProtocolMessage::for_channel(Action::Attached, channel)
}

/// An ATTACHED frame with flags (e.g. `Flags::HAS_PRESENCE`, `Flags::RESUMED`).
pub fn attached_with(channel: &str, flags: Flags, channel_serial: Option<&str>) -> ProtocolMessage {
    let mut pm = attached(channel);
    pm.flags = flags;
    pm.channel_serial = channel_serial.map(str::to_owned);
    pm
}

/// A DETACHED frame for a channel, with an optional error.
pub fn detached(channel: &str, error: Option<ErrorInfo>) -> ProtocolMessage {
    let mut pm = ProtocolMessage::for_channel(Action::Detached, channel);
    pm.error = error;
    pm
}

/// A MESSAGE frame for a channel.
pub fn message_frame(channel: &str, messages: Vec<Message>) -> ProtocolMessage {
    let mut pm = ProtocolMessage::for_channel(Action::Message, channel);
    pm.messages = messages;
    pm
}

/// A PRESENCE frame for a channel.
pub fn presence_frame(channel: &str, presence: Vec<PresenceMessage>) -> ProtocolMessage {
    let mut pm = ProtocolMessage::for_channel(Action::Presence, channel);
    pm.presence = presence;
    pm
}

/// A SYNC frame for a channel with a `<sequence>:<cursor>` channelSerial.
pub fn sync_frame(
    channel: &str,
    channel_serial: Option<&str>,
    presence: Vec<PresenceMessage>,
) -> ProtocolMessage {
    let mut pm = ProtocolMessage::for_channel(Action::Sync, channel);
    pm.channel_serial = channel_serial.map(str::to_owned);
    pm.presence = presence;
    pm
}

/// An ACK for `count` frames from `msg_serial`.
pub fn ack(msg_serial: u64, count: u32) -> ProtocolMessage {
    let mut pm = ProtocolMessage::new(Action::Ack);
    pm.msg_serial = Some(msg_serial);
    pm.count = Some(count);
    pm
}

/// A NACK for `count` frames from `msg_serial`, with an error.
pub fn nack(msg_serial: u64, count: u32, error: ErrorInfo) -> ProtocolMessage {
    let mut pm = ack(msg_serial, count);
    pm.action = Action::Nack;
    pm.error = Some(error);
    pm
}

/// A service that answers ATTACH with ATTACHED, DETACH with DETACHED, and
/// every MESSAGE or PRESENCE with an ACK: the usual happy path.
pub fn cooperative_service() -> MessageHandler {
    Box::new(|pm| match pm.action {
        Action::Attach => vec![Reply::Send(attached(
            pm.channel.as_deref().unwrap_or_default(),
        ))],
        Action::Detach => vec![Reply::Send(detached(
            pm.channel.as_deref().unwrap_or_default(),
            None,
        ))],
        Action::Message | Action::Presence => vec![Reply::Send(ack(pm.msg_serial.unwrap_or(0), 1))],
        _ => vec![],
    })
}

/// A handler of frames from the client: frame in, replies out.
pub type MessageHandler = Box<dyn FnMut(&ProtocolMessage) -> Vec<Reply>>;

impl Harness {
    /// `channel.attach()`; returns the operation id.
    pub fn attach(&mut self, channel: &str) -> OpId {
        self.command(Command::Attach {
            channel: channel.into(),
        })
    }

    /// `channel.detach()`; returns the operation id.
    pub fn detach(&mut self, channel: &str) -> OpId {
        self.command(Command::Detach {
            channel: channel.into(),
        })
    }

    /// The state of a channel (`Initialized` if it does not exist).
    pub fn channel_state(&self, channel: &str) -> ChannelState {
        self.client
            .channel(channel)
            .map_or(ChannelState::Initialized, |c| c.state())
    }

    /// Every state change and UPDATE of a channel.
    pub fn channel_changes(&self, channel: &str) -> Vec<&ChannelStateChange> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Channel(c) if c.channel == channel => Some(c),
                _ => None,
            })
            .collect()
    }

    /// The states a channel entered, in order (no UPDATEs).
    pub fn channel_states(&self, channel: &str) -> Vec<ChannelState> {
        self.channel_changes(channel)
            .iter()
            .filter(|c| !c.update)
            .map(|c| c.current)
            .collect()
    }

    /// Messages delivered on a channel.
    pub fn messages(&self, channel: &str) -> Vec<&Message> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Message {
                    channel: c,
                    message,
                } if **c == *channel => Some(&**message),
                _ => None,
            })
            .collect()
    }

    /// Presence events delivered on a channel.
    pub fn presence_events(&self, channel: &str) -> Vec<&PresenceMessage> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Presence {
                    channel: c,
                    message,
                } if **c == *channel => Some(&**message),
                _ => None,
            })
            .collect()
    }
}

// ---- scenario helpers shared by the conformance modules -----------------------------

/// Whether `expected` appears in `items` in order, not necessarily adjacent
/// (the UTS `CONTAINS_IN_ORDER`).
pub fn contains_in_order<T: PartialEq>(items: &[T], expected: &[T]) -> bool {
    let mut it = items.iter();
    expected.iter().all(|e| it.any(|x| x == e))
}

/// A harness with key options whose service answers with `handler`,
/// already CONNECTED.
pub fn connected_harness(handler: MessageHandler) -> Harness {
    connected_harness_with(key_options(), handler)
}

/// As [`connected_harness`], with these options.
pub fn connected_harness_with(opts: ClientOptions, handler: MessageHandler) -> Harness {
    let mut h = Harness::connecting_ok(opts);
    h.on_message = Some(handler);
    h.connect();
    h.await_state(ConnectionState::Connected, Duration::from_secs(1));
    h
}

/// `channel.attach()`, requiring success.
pub fn attach_ok(h: &mut Harness, channel: &str) {
    let op = h.attach(channel);
    assert_eq!(
        h.completion(op),
        Some(Ok(Completion::Done)),
        "attach {channel}"
    );
}

/// Connection events (state changes and UPDATEs) after the first `mark`
/// events.
pub fn connection_changes_since(h: &Harness, mark: usize) -> Vec<ConnectionStateChange> {
    h.events[mark..]
        .iter()
        .filter_map(|e| match e {
            Event::Connection(c) => Some(c.clone()),
            _ => None,
        })
        .collect()
}

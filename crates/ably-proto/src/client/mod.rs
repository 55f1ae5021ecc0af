//! The sans-IO realtime client: one [`Client`] value that owns the
//! connection state machine, auth, timers and the publish queues.
//!
//! # The driving loop
//!
//! A driver (a runtime adapter, a test, a fuzzer) owns the `Client`, a
//! WebSocket, and one timer, and repeats:
//!
//! 1. Wait for the first of: an application command, a transport event, a
//!    token or HTTP answer, or the deadline from [`Client::poll_timeout`].
//! 2. Feed it in with [`Client::handle`], passing [`Now`]: a
//!    [`Command`] tagged with an [`OpId`]; a [`TransportEvent`] tagged with
//!    the [`Generation`] of the transport it happened on (stale ones are
//!    ignored); a token ([`Input::Token`]) or HTTP answer ([`Input::Http`]);
//!    or [`Input::Timeout`] when the deadline passed.
//! 3. Drain [`Client::poll`] until it returns `None`, carrying out each
//!    [`Output`]: open, write to or close the transport of a generation;
//!    run the authCallback; make an HTTP request; deliver an [`Event`] to
//!    the application (state changes, completed operations).
//! 4. Re-arm the timer from [`Client::poll_timeout`] and go to 1.
//!
//! The client never blocks, never reads a clock and draws randomness only
//! from its own seeded RNG, so the same inputs and seed give the same
//! outputs. Every operation completes exactly once, with
//! [`Event::Completed`].
//!
//! A complete driver over `std::net` and tungstenite is
//! `crates/ably-proto/examples/blocking_client.rs`.

pub(crate) mod auth;
mod auth_options;
mod channel;
mod connection;
mod delta;
mod filter;
mod io;
mod message_ops;
mod options;
mod presence;
mod publish;
mod recovery;
mod rest_proxy;
mod time;
mod timers;
pub(crate) mod url;

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use rand_core::{RngCore, SeedableRng};

use crate::codec::{self, Format};
use crate::{Action, ConnectionDetails, ErrorInfo, Message, ProtocolMessage};

pub use auth_options::AuthOptions;
pub use channel::{
    ChannelState, ChannelStateChange, ChannelView, DeriveOptions, derived_channel_name,
};
pub use connection::{backoff_coefficient, jitter_coefficient};
pub use delta::{NO_VCDIFF_DECODER, VcdiffDecoder};
pub use filter::MessageFilter;
pub use io::{
    AuthResponse, Command, Completion, ConnectionState, ConnectionStateChange, Event, Frame,
    Generation, HttpRequest, HttpResponse, Input, LogLevel, LogRecord, OpId, Output, RequestId,
    TimerKind, TransportEvent,
};
pub use options::{AuthUrl, ClientOptions, DEFAULT_CONNECTIVITY_CHECK_URL, TokenSource};
pub use presence::{LocalPresenceMap, PresenceMap, PresenceQuery, PresenceRequest};
pub use publish::MAX_OUTSTANDING_FRAMES;
pub use recovery::RecoveryKey;
pub use time::{Instant, Now};
pub use url::query_param;

use auth::Auth;
use channel::Channel;
use publish::{Outgoing, PublishQueue};
use timers::Timers;

/// The transport in use.
#[derive(Clone, Debug)]
struct Transport {
    generation: Generation,
    /// Whether the WebSocket reported open.
    opened: bool,
}

/// A ping awaiting its echo (RTN13).
#[derive(Clone, Debug)]
struct Ping {
    op: OpId,
    /// The HEARTBEAT id; `None` until sent (deferred while connecting, RTN13d).
    id: Option<String>,
    sent_at: Option<Instant>,
}

/// An `authorize()` in progress (RTC8).
#[derive(Clone, Debug)]
struct Authorize {
    ops: Vec<OpId>,
    /// Waiting for CONNECTED or ERROR after sending AUTH (RTC8a3), rather
    /// than for the token.
    awaiting_service: bool,
}

/// The sans-IO realtime client. See the [module docs](self) for the
/// driving loop.
#[derive(Debug)]
pub struct Client {
    opts: ClientOptions,
    rng: rand_chacha::ChaCha20Rng,
    now: Now,
    outputs: VecDeque<Output>,
    timers: Timers,

    state: ConnectionState,
    error_reason: Option<ErrorInfo>,
    connection_id: Option<String>,
    connection_key: Option<String>,
    details: ConnectionDetails,
    transport: Option<Transport>,
    next_generation: u64,
    next_request: u64,

    /// Hosts for the current connection attempt, primary first (RTN17i).
    hosts: Vec<String>,
    host_index: usize,
    /// The fallback awaiting a connectivity check (RTN17j).
    connectivity_check: Option<RequestId>,
    /// Failed attempts since the last CONNECTED, for backoff (RTB1).
    retry_count: u32,
    /// When the connection was last connected or first disconnected, for
    /// suspension after connectionStateTtl (RTN14e).
    disconnected_since: Option<Instant>,
    /// A token renewal was tried in this connection attempt (RTN14b).
    renewed_in_attempt: bool,
    /// Key and serial state from a recovery key, for the first connect (RTN16).
    recover: Option<RecoveryKey>,

    auth: Auth,
    authorize: Option<Authorize>,
    pings: Vec<Ping>,
    publish: PublishQueue,
    /// The channels, by name; ordered so runs are deterministic.
    channels: BTreeMap<String, Channel>,
    /// Operations the core started itself (e.g. presence re-entry).
    internal_ops: BTreeMap<OpId, InternalOp>,
    next_internal_op: u64,
    /// A lower bound of every channel's deadline (see `run_channel_timers`).
    channel_timer_floor: Option<Instant>,
    /// The vcdiff decoder plugin, if given (PC3).
    vcdiff: Option<delta::Plugin>,
    /// REST requests in progress and the fallback host to prefer (RSC15f).
    rest: rest_proxy::RestProxy,
    /// The box of the last MESSAGE frame, to decode the next frame into.
    spare_frame: Option<Box<ProtocolMessage>>,
}

/// An operation the core started itself; its completion is handled inside.
#[derive(Clone, Debug)]
enum InternalOp {
    /// An automatic presence re-entry (RTP17g).
    Reenter { channel: String, client_id: String },
}

/// Operation ids from this value up are the core's own; applications use
/// smaller ones.
pub const INTERNAL_OP_BASE: u64 = 1 << 63;

impl Client {
    /// A client with these options. `seed` seeds the RNG used for jitter,
    /// ping ids, nonces and IVs: give it OS randomness in production and a
    /// fixed value in tests. With `auto_connect`, the first
    /// [`Client::handle`] of any input starts connecting (RTN3); drivers
    /// usually send [`Input::Timeout`] right away.
    pub fn new(opts: ClientOptions, seed: [u8; 32], now: Now) -> Result<Client, ErrorInfo> {
        let key = opts.validate()?;
        let recover = opts.recover.as_deref().and_then(RecoveryKey::decode);
        let auth = Auth::new(&opts, key);
        let mut client = Client {
            rng: rand_chacha::ChaCha20Rng::from_seed(seed),
            now,
            outputs: VecDeque::new(),
            timers: Timers::default(),
            state: ConnectionState::Initialized,
            error_reason: None,
            connection_id: None,
            connection_key: None,
            details: ConnectionDetails::default(),
            transport: None,
            next_generation: 0,
            next_request: 0,
            hosts: Vec::new(),
            host_index: 0,
            connectivity_check: None,
            retry_count: 0,
            disconnected_since: None,
            renewed_in_attempt: false,
            publish: PublishQueue::default(),
            channels: BTreeMap::new(),
            internal_ops: BTreeMap::new(),
            next_internal_op: 0,
            channel_timer_floor: None,
            vcdiff: None,
            rest: rest_proxy::RestProxy::default(),
            spare_frame: None,
            recover,
            auth,
            authorize: None,
            pings: Vec::new(),
            opts,
        };
        if let Some(recover) = &client.recover {
            // RTN16f, RTN16j
            client.publish.msg_serial = recover.msg_serial;
            for (name, serial) in recover.channel_serials.clone() {
                client.chan(&name).channel_serial = Some(serial);
            }
        }
        if client.auth.uses_token() && !client.auth.can_renew() {
            // RSA4a1: say at once that the token cannot be renewed.
            let error = ErrorInfo::new(
                crate::error::codes::NO_MEANS_TO_RENEW,
                401,
                "a token was given with no means to renew it (no key, authCallback or authUrl)",
            );
            client.emit(Event::Log(LogRecord {
                level: LogLevel::Info,
                message: error.to_string(),
                error: Some(error),
            }));
        }
        if client.opts.auto_connect && !client.opts.rest_client {
            client.on_command_connect();
        }
        Ok(client)
    }

    /// Feeds one input. Outputs are queued for [`Client::poll`].
    pub fn handle(&mut self, now: Now, input: Input) {
        if now.instant > self.now.instant {
            self.now = now;
        } else {
            // Time never goes backwards inside the core.
            self.now.wall_ms = now.wall_ms;
        }
        match input {
            Input::Command(op, command) => self.on_command(op, command),
            Input::Transport(generation, event) => self.on_transport(generation, event),
            Input::Token(request, result) if self.rest.owns(request) => {
                self.on_rest_token(request, result)
            }
            Input::Token(request, result) => {
                let mut out = Vec::new();
                let outcome = self.auth.on_token(&self.opts, request, result, &mut out);
                self.outputs.extend(out);
                if let Some(outcome) = outcome {
                    self.on_token_outcome(outcome);
                }
            }
            Input::Http(request, result) => self.on_http(request, result),
            Input::Timeout => {}
            Input::NetworkChanged { online } => self.on_network_changed(online),
        }
        self.run_timers();
    }

    /// The next output, if any.
    pub fn poll(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// The next deadline and why. Feed [`Input::Timeout`] once it passes.
    pub fn poll_timeout(&self) -> Option<(Instant, TimerKind)> {
        let own = self.timers.next();
        let channel = self.channel_deadline().map(|at| (at, TimerKind::Channel));
        let rest = self.rest.deadline().map(|at| (at, TimerKind::Rest));
        [own, channel, rest].into_iter().flatten().min()
    }

    /// The connection state (RTN4d).
    pub fn state(&self) -> ConnectionState {
        self.state
    }

    /// The last connection error (RTN25).
    pub fn error_reason(&self) -> Option<&ErrorInfo> {
        self.error_reason.as_ref()
    }

    /// The connection id (RTN8).
    pub fn connection_id(&self) -> Option<&str> {
        self.connection_id.as_deref()
    }

    /// The connection key (RTN9).
    pub fn connection_key(&self) -> Option<&str> {
        self.connection_key.as_deref()
    }

    /// The connection details from the last CONNECTED (RTN21).
    pub fn connection_details(&self) -> &ConnectionDetails {
        &self.details
    }

    /// The clientId as known now (RSA7, RSA12, RTC17).
    pub fn client_id(&self) -> Option<&str> {
        self.auth.client_id()
    }

    /// The token in use (RSA16).
    pub fn token_details(&self) -> Option<&crate::auth::TokenDetails> {
        self.auth.token_details()
    }

    /// The options.
    pub fn options(&self) -> &ClientOptions {
        &self.opts
    }

    /// The next msgSerial (RTN7b).
    pub fn msg_serial(&self) -> u64 {
        self.publish.msg_serial
    }

    /// The number of frames queued or awaiting ACK.
    pub fn outstanding_frames(&self) -> usize {
        self.publish.in_flight.len() + self.publish.queued.len()
    }

    /// A recovery key for this connection, or `None` when there is nothing
    /// to recover (RTN16g, RTN16g2).
    pub fn create_recovery_key(&self) -> Option<String> {
        match self.state {
            ConnectionState::Closed
            | ConnectionState::Closing
            | ConnectionState::Failed
            | ConnectionState::Suspended => None,
            _ => self.connection_key.as_ref().map(|key| {
                RecoveryKey {
                    connection_key: key.clone(),
                    msg_serial: self.publish.msg_serial,
                    channel_serials: self
                        .channels
                        .values()
                        .filter(|c| c.state == ChannelState::Attached)
                        .filter_map(|c| c.channel_serial.clone().map(|s| (c.name.to_string(), s)))
                        .collect(),
                }
                .encode()
            }),
        }
    }

    /// Random bytes from the client's RNG, e.g. for IVs when encrypting.
    pub fn rng(&mut self) -> &mut dyn RngCore {
        &mut self.rng
    }

    // ---- inputs --------------------------------------------------------

    fn on_command(&mut self, op: OpId, command: Command) {
        match command {
            Command::Connect => {
                self.on_command_connect();
                self.complete(op, Ok(Completion::Done));
            }
            Command::Close => {
                self.on_command_close();
                self.complete(op, Ok(Completion::Done));
            }
            Command::Ping => self.on_command_ping(op),
            Command::Authorize(params) => self.on_command_authorize(op, params, None),
            Command::AuthorizeWith { params, options } => {
                self.on_command_authorize(op, params, options.map(|o| *o))
            }
            Command::Publish { channel, messages } => {
                self.on_command_publish(op, channel, messages)
            }
            Command::Attach { channel } => {
                self.channel_step(&channel, channel::ChanEvent::Attach(vec![op]))
            }
            Command::Detach { channel } => {
                if self.channels.contains_key(&channel) {
                    self.channel_step(&channel, channel::ChanEvent::Detach(vec![op]));
                } else {
                    self.complete(op, Ok(Completion::Done)); // RTL5a
                }
            }
            Command::SetChannelOptions { channel, options } => {
                self.set_channel_options(op, &channel, options)
            }
            Command::GetChannel { channel, options } => self.get_channel(op, &channel, options),
            Command::ReleaseChannel { channel } => self.release_channel(op, &channel),
            Command::Presence { channel, request } => {
                self.on_command_presence(op, &channel, request)
            }
            Command::PresenceGet { channel, query } => {
                self.on_command_presence_get(op, &channel, query)
            }
            Command::Annotate {
                channel,
                message_serial,
                action,
                annotation,
            } => self.on_command_annotate(op, channel, message_serial, action, *annotation),
            Command::EditMessage {
                channel,
                action,
                message,
                operation,
                params,
            } => self.on_command_edit_message(op, channel, action, *message, operation, params),
            Command::Rest(rest) => self.on_command_rest(op, *rest),
            Command::RequestToken(params) => self.on_command_request_token(op, params, None),
            Command::RequestTokenWith { params, options } => {
                self.on_command_request_token(op, params, options.map(|o| *o))
            }
        }
    }

    fn on_transport(&mut self, generation: Generation, event: TransportEvent) {
        let current = matches!(&self.transport, Some(t) if t.generation == generation);
        if !current {
            return; // stale: an older transport
        }
        match event {
            TransportEvent::Opened => {
                if let Some(t) = &mut self.transport {
                    t.opened = true;
                }
                self.note_activity();
            }
            TransportEvent::Activity => self.note_activity(),
            TransportEvent::Frame(bytes) => {
                self.note_activity();
                let spare = self.spare_frame.take();
                match codec::decode_protocol_message_boxed(&bytes, self.opts.format, spare) {
                    Ok(pm) => self.on_protocol_message(pm),
                    Err(e) => {
                        // A frame we cannot read: drop this transport and
                        // reconnect (the service may resume us).
                        self.transport_failed(Some(e.to_error_info()));
                    }
                }
            }
            TransportEvent::Closed(error) => {
                self.transport = None;
                self.transport_failed(error);
            }
        }
    }

    /// A frame from the service; boxed, as it is handed on by value.
    fn on_protocol_message(&mut self, pm: Box<ProtocolMessage>) {
        match pm.action {
            Action::Heartbeat => self.on_heartbeat(*pm),
            Action::Connected => self.on_connected(*pm),
            Action::Disconnected => self.on_disconnected_message(pm.error),
            Action::Error if pm.channel.is_none() => {
                self.on_error_message(pm.error.unwrap_or_else(|| {
                    ErrorInfo::new(crate::error::codes::INTERNAL, 500, "ERROR without details")
                }))
            }
            Action::Closed => self.on_closed_message(),
            Action::Ack => self.on_ack(&pm, true),
            Action::Nack => self.on_ack(&pm, false),
            Action::Auth => self.on_auth_requested(),
            Action::Error
            | Action::Message
            | Action::Presence
            | Action::Attached
            | Action::Detached
            | Action::Sync
            | Action::Annotation
            | Action::Object => {
                // Channel frames belong to a connection the service has
                // confirmed with CONNECTED (RTN4b, RTL3d); before that, on a
                // transport still connecting, they are out of protocol and
                // would attach a channel of a connection that is not
                // connected. While closing the connection still exists
                // (RTL3b acts on CLOSED).
                if matches!(
                    self.state,
                    ConnectionState::Connected | ConnectionState::Closing
                ) {
                    self.on_channel_message(pm)
                }
            }
            _ => {} // unknown actions are ignored (RTF1)
        }
    }

    fn on_http(&mut self, request: RequestId, result: Result<HttpResponse, ErrorInfo>) {
        if self.rest.owns(request) {
            self.on_rest_http(request, result);
            return;
        }
        if self.connectivity_check == Some(request) {
            self.connectivity_check = None;
            // REC3: the default URL answers `yes`; a configured one (REC3b)
            // passes with any success status.
            let up = match &result {
                Ok(r) if self.opts.connectivity_check_url.is_some() => {
                    (200..300).contains(&r.status)
                }
                Ok(r) => r.status == 200 && String::from_utf8_lossy(&r.body).contains("yes"),
                Err(_) => false,
            };
            self.on_connectivity_checked(up);
            return;
        }
        let mut out = Vec::new();
        let wall_ms = self.now.wall_ms;
        let outcome = self
            .auth
            .on_http(&self.opts, request, result, wall_ms, &mut out);
        self.outputs.extend(out);
        if let Some(outcome) = outcome {
            self.on_token_outcome(outcome);
        }
    }

    fn run_timers(&mut self) {
        for kind in self.timers.expire(self.now.instant) {
            self.on_timer(kind);
        }
        self.run_channel_timers();
        self.run_rest_timers();
    }

    // ---- helpers used by the state machine -----------------------------

    fn emit(&mut self, event: Event) {
        self.outputs.push_back(Output::Event(event));
    }

    fn complete(&mut self, op: OpId, result: Result<Completion, ErrorInfo>) {
        match self.internal_ops.remove(&op) {
            Some(InternalOp::Reenter { channel, client_id }) => {
                if let Err(err) = result {
                    self.reenter_failed(&channel, &client_id, err);
                }
            }
            None => self.emit(Event::Completed(op, result)),
        }
    }

    /// An id for an operation the core starts itself.
    fn internal_op(&mut self, what: InternalOp) -> OpId {
        self.next_internal_op += 1;
        let op = OpId(INTERNAL_OP_BASE | self.next_internal_op);
        self.internal_ops.insert(op, what);
        op
    }

    fn next_request_id(&mut self) -> RequestId {
        self.next_request += 1;
        RequestId(self.next_request)
    }

    fn random_id(&mut self) -> String {
        let mut bytes = [0u8; 9];
        self.rng.fill_bytes(&mut bytes);
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Encodes and sends a frame on the current transport.
    fn send(&mut self, pm: &ProtocolMessage) {
        let encoded = codec::encode(pm, self.opts.format);
        self.send_encoded(encoded);
    }

    /// Sends a frame [`send`](Self::send) has encoded (split so that a
    /// frame borrowed from the client's own state needs no copy).
    fn send_encoded(&mut self, encoded: Result<Vec<u8>, codec::CodecError>) {
        let Some(t) = &self.transport else { return };
        let generation = t.generation;
        match encoded {
            Ok(bytes) => self.outputs.push_back(Output::Send {
                generation,
                frame: Frame {
                    bytes: bytes.into(),
                    text: self.opts.format == Format::Json,
                },
            }),
            Err(e) => {
                // Our own frames always encode; report rather than panic.
                self.error_reason = Some(ErrorInfo::new(
                    crate::error::codes::INTERNAL,
                    500,
                    e.to_string(),
                ));
            }
        }
    }

    /// Closes the current transport, if any.
    fn close_transport(&mut self) {
        if let Some(t) = self.transport.take() {
            self.outputs.push_back(Output::CloseTransport {
                generation: t.generation,
            });
        }
        self.timers.cancel(TimerKind::Idle);
    }

    fn note_activity(&mut self) {
        if self.state == ConnectionState::Connected {
            self.arm_idle_timer();
        }
    }

    /// RTN23a: maxIdleInterval + realtimeRequestTimeout without activity.
    fn arm_idle_timer(&mut self) {
        match self.details.max_idle_interval {
            Some(ms) if ms > 0 => {
                let d = Duration::from_millis(ms) + self.opts.realtime_request_timeout;
                self.timers.set(TimerKind::Idle, self.now.instant + d);
            }
            _ => self.timers.cancel(TimerKind::Idle),
        }
    }

    /// The connectionStateTtl in force (RTN21).
    fn connection_state_ttl(&self) -> Duration {
        self.details
            .connection_state_ttl
            .map(Duration::from_millis)
            .unwrap_or(self.opts.connection_state_ttl)
    }

    /// The maxMessageSize in force (TO3l8, RTN21).
    pub fn max_message_size(&self) -> usize {
        self.details
            .max_message_size
            .map(|n| n as usize)
            .unwrap_or(self.opts.max_message_size)
    }

    /// Checks the size (TO3l8) and submits a MESSAGE frame.
    fn on_command_publish(&mut self, op: OpId, channel: String, messages: Vec<Message>) {
        let size: usize = messages.iter().map(Message::size).sum();
        if size > self.max_message_size() {
            self.complete(
                op,
                Err(ErrorInfo::new(
                    crate::error::codes::MESSAGE_TOO_LARGE,
                    400,
                    format!(
                        "message size {size} exceeds maxMessageSize {}",
                        self.max_message_size()
                    ),
                )),
            );
            return;
        }
        // RTL6c1, RTL6c2, RTL6c4: a suspended or failed channel refuses.
        if let Some(state) = self.channels.get(&channel).map(|c| c.state) {
            if matches!(state, ChannelState::Suspended | ChannelState::Failed) {
                let err = ErrorInfo::new(
                    90001,
                    400,
                    format!("can not publish while the channel is {state} (RTL6c4)"),
                );
                self.complete(op, Err(err));
                return;
            }
        }
        let mut frame = ProtocolMessage::for_channel(Action::Message, channel);
        frame.messages = messages;
        self.submit(Outgoing { frame, op });
    }

    /// Sends, queues or refuses a frame that expects an ACK (RTL6c).
    fn submit(&mut self, out: Outgoing) {
        if !self.publish.has_room() {
            self.complete(
                out.op,
                Err(ErrorInfo::new(
                    crate::error::codes::BAD_REQUEST,
                    400,
                    format!(
                        "too many messages awaiting the connection (limit {MAX_OUTSTANDING_FRAMES})"
                    ),
                )),
            );
            return;
        }
        match self.state {
            ConnectionState::Connected => {
                let encoded = codec::encode(self.publish.send(out), self.opts.format);
                self.send_encoded(encoded);
            }
            ConnectionState::Initialized
            | ConnectionState::Connecting
            | ConnectionState::Disconnected
                if self.opts.queue_messages =>
            {
                self.publish.queued.push_back(out)
            }
            state => {
                let error = self.state_error(state);
                self.complete(out.op, Err(error));
            }
        }
    }

    fn on_ack(&mut self, pm: &ProtocolMessage, ok: bool) {
        let serial = pm.msg_serial.unwrap_or(0);
        let count = u64::from(pm.count.unwrap_or(1));
        for out in self.publish.acknowledge(serial, count) {
            let result = if !ok {
                Err(PublishQueue::nack_error(pm.error.clone()))
            } else if out.frame.action == Action::Message {
                // RTL6j, TR4s: `res` holds one PublishResult per frame the
                // ACK covers, in msgSerial order from `serial`.
                let serials = out
                    .frame
                    .msg_serial
                    .and_then(|s| s.checked_sub(serial))
                    .and_then(|i| pm.res.as_ref()?.get(usize::try_from(i).ok()?))
                    .map(|r| r.serials.clone())
                    .unwrap_or_else(|| vec![None; out.frame.messages.len()]);
                Ok(Completion::Published(serials))
            } else {
                Ok(Completion::Done)
            };
            self.complete(out.op, result);
        }
    }

    /// The error for an operation refused in a state (RTL6c4, RTN13b).
    fn state_error(&self, state: ConnectionState) -> ErrorInfo {
        let reason = self.error_reason.clone();
        let base = match state {
            ConnectionState::Suspended => ErrorInfo::new(80002, 400, "connection suspended"),
            ConnectionState::Closing | ConnectionState::Closed => {
                ErrorInfo::new(80017, 400, "connection closed")
            }
            ConnectionState::Failed => ErrorInfo::new(80000, 400, "connection failed"),
            ConnectionState::Disconnected => ErrorInfo::new(80003, 400, "connection disconnected"),
            ConnectionState::Initialized => {
                ErrorInfo::new(80002, 400, "connection not yet started")
            }
            _ => ErrorInfo::new(80000, 400, format!("connection {state}")),
        };
        match reason {
            Some(r) if matches!(state, ConnectionState::Failed | ConnectionState::Suspended) => {
                base.with_cause(r)
            }
            _ => base,
        }
    }
}

//! The sans-IO hub: the whole realtime service as one value.
//!
//! [`Hub`] holds the apps and their keys, the connections, the channels
//! with their presence sets, and (through a [`Broker`]) the channel logs
//! that give serials, fan-out order and recent history. It does no I/O,
//! reads no clock, starts no thread and draws no randomness of its own: the
//! caller passes the time in, and ids come from a seeded generator. So a
//! simulator can run a hub and many clients in one process on a fake clock,
//! and the same inputs always give the same outputs.
//!
//! # The driving loop
//!
//! A driver (the tokio shell in [`crate::server`], a test, a simulator)
//! owns the hub and the transports, each with a [`TransportId`] it chooses:
//!
//! 1. When a WebSocket upgrade completes, call
//!    `hub.handle(now, Input::Open { transport, request })` with the query
//!    string and `Authorization` header of the upgrade request.
//! 2. For each data frame (text or binary) received, call
//!    `hub.handle(now, Input::Frame { transport, data })`.
//! 3. When a transport closes or fails, call
//!    `hub.handle(now, Input::Closed { transport })`.
//! 4. After any input, drain [`Hub::poll_output`] until it returns `None`:
//!    [`Output::Send`] a frame (text or binary as it says) on a transport,
//!    [`Output::Ping`] a WebSocket ping, [`Output::Close`] a transport (after
//!    sending what was queued before it). The hub has then forgotten that
//!    transport; a later `Closed` for it is ignored.
//! 5. Sleep until [`Hub::poll_timeout`] (or the next input), then call
//!    `hub.handle(now, Input::Timeout)`. A timeout that comes early or
//!    twice is harmless.
//! 6. To stop, call `hub.handle(now, Input::Shutdown)` and deliver the
//!    outputs: every client is told DISCONNECTED, so it reconnects (to
//!    this service when it is back, or elsewhere).
//!
//! ```
//! use ably_local::hub::{ConnectRequest, Hub, HubConfig, Input, Now, Output, TransportId};
//!
//! let mut hub = Hub::new(HubConfig::default());
//! let key = hub.add_app_with_key("app", "app.k:secret").unwrap();
//! let now = Now { mono_ms: 0, wall_ms: 1_700_000_000_000 };
//! let t = TransportId(1);
//! hub.handle(now, Input::Open {
//!     transport: t,
//!     request: ConnectRequest { query: format!("key={key}&v=6&format=json"), authorization: None },
//! });
//! let Some(Output::Send { data, binary: false, .. }) = hub.poll_output() else { panic!() };
//! assert!(std::str::from_utf8(&data).unwrap().contains(r#""action":4"#)); // CONNECTED
//! hub.handle(now, Input::Frame { transport: t, data: br#"{"action":10,"channel":"chat"}"#.to_vec().into() });
//! let Some(Output::Send { data, .. }) = hub.poll_output() else { panic!() };
//! assert!(std::str::from_utf8(&data).unwrap().contains(r#""action":11"#)); // ATTACHED
//! assert!(hub.poll_timeout().is_some()); // the next heartbeat
//! ```
//!
//! # Errors and bugs
//! Bad input from a client (undecodable frames, wrong types, unknown
//! actions, oversized frames or messages, floods, denied operations) is
//! answered on that client's transport, with ERROR, NACK or a channel
//! ERROR carrying an Ably error code; it never affects another connection.
//! A panic is a bug; the `hub_frames` fuzz target looks for them.

mod auth;
mod channel;
mod connection;
mod frame;
#[doc(hidden)]
pub mod fuzz;
mod history;
mod limits;
mod params;
mod presence;
mod rest;
mod rng;
mod stream;
mod text;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use ably_proto::auth::{ApiKey, Capability, TokenDetails, TokenRequest};
use ably_proto::codec::{self, Format};
use ably_proto::{Action, ErrorInfo, ProtocolMessage, PublishResult};
use bytes::Bytes;

pub use auth::{App, DEFAULT_TOKEN_TTL_MS, MAX_TOKEN_TTL_MS};
pub use channel::{DEFAULT_MODES, MAX_CHANNEL_NAME, MAX_REWIND};
pub use history::{
    Broker, ChannelKey, EventBody, HistoryKind, HistoryPage, HistoryQuery, LocalBroker, LogState,
    Retention, SavedApp, Serial, Since, StoredEvent, namespace_of,
};
pub use limits::AppLimits;
pub use params::PROTOCOL_VERSIONS;
pub use rest::{DEFAULT_LIMIT, MAX_LIMIT, RestCredentials, RestPage};
pub use stream::{StreamEvent, StreamEventKind, StreamItem, StreamRequest};

pub(crate) use params::query_pairs;

use channel::Channel;
use connection::{ConnEvent, Connection};
use rng::Rng;

/// The time, as the driver sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Now {
    /// A monotonic clock in ms, for timers (any origin).
    pub mono_ms: u64,
    /// The wall clock in ms since the Unix epoch, for timestamps and tokens.
    pub wall_ms: i64,
}

/// A transport (one WebSocket), numbered by the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TransportId(pub u64);

/// The upgrade request of a transport.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnectRequest {
    /// The raw query string (without `?`).
    pub query: String,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
}

/// What the driver tells the hub.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A WebSocket upgrade completed.
    Open {
        /// The new transport.
        transport: TransportId,
        /// Its request.
        request: ConnectRequest,
    },
    /// An SSE or event-stream request arrived (a one-way transport).
    OpenStream {
        /// The new transport.
        transport: TransportId,
        /// Its request.
        request: StreamRequest,
    },
    /// A data frame arrived (text or binary alike).
    Frame {
        /// From this transport.
        transport: TransportId,
        /// The frame's payload.
        data: Bytes,
    },
    /// The transport closed or failed.
    Closed {
        /// This transport.
        transport: TransportId,
    },
    /// Time passed; run the timers that are due.
    Timeout,
    /// The service is stopping: tell every client DISCONNECTED.
    Shutdown,
}

/// What the hub asks the driver to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Send a frame.
    Send {
        /// On this transport.
        transport: TransportId,
        /// The encoded ProtocolMessage.
        data: Bytes,
        /// A binary frame (MessagePack) rather than text (JSON).
        binary: bool,
    },
    /// Send a WebSocket ping (for clients that asked for `heartbeats=false`).
    Ping {
        /// On this transport.
        transport: TransportId,
    },
    /// Something for a stream (SSE or event-stream) to write.
    Stream {
        /// On this transport.
        transport: TransportId,
        /// What.
        item: StreamItem,
    },
    /// Close the transport once what was queued before is sent.
    Close {
        /// This transport.
        transport: TransportId,
    },
}

/// Limits and defaults of a hub. The defaults are Ably's.
#[derive(Clone, Debug)]
pub struct HubConfig {
    /// `serverId` in connectionDetails.
    pub server_id: String,
    /// maxMessageSize (bytes of name, data, clientId and extras of the
    /// messages of one publish).
    pub max_message_size: usize,
    /// maxFrameSize: larger frames are refused with ERROR 40009.
    pub max_frame_size: usize,
    /// maxInboundRate: frames per second per transport (bursts of twice
    /// that are allowed); a flood beyond it ends the connection (42924).
    pub max_inbound_rate: u32,
    /// connectionStateTtl (ms): how long a dropped connection can resume.
    pub connection_state_ttl_ms: u64,
    /// Heartbeat interval and maxIdleInterval (ms), unless the client asks
    /// for another with the `heartbeatInterval` transport param.
    pub heartbeat_interval_ms: u64,
    /// How long members of a dropped connection stay present (ms), unless
    /// the client asks with `remainPresentFor`.
    pub remain_present_for_ms: u64,
    /// History kept per channel.
    pub retention: Retention,
    /// Members per SYNC page.
    pub sync_page_size: usize,
    /// Members per channel.
    pub max_presence_members: usize,
    /// Seed of the id generator.
    pub seed: u64,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            server_id: "ably-local".into(),
            max_message_size: 65_536,
            max_frame_size: 524_288,
            max_inbound_rate: 1000,
            connection_state_ttl_ms: 120_000,
            heartbeat_interval_ms: 15_000,
            remain_present_for_ms: 15_000,
            retention: Retention::default(),
            sync_page_size: 50,
            max_presence_members: 2000,
            seed: 0x5EED,
        }
    }
}

/// How often the hub trims history and forgets idle channels (ms).
const HOUSEKEEPING_MS: u64 = 10_000;
/// ACKs remembered per connection, to answer a repeated msgSerial.
const RECENT_ACKS: usize = 256;
/// Most frames one merged ACK covers.
const MAX_ACK_COUNT: u32 = 1024;
/// Message ids remembered per channel for idempotent publishing.
const RECENT_IDS: usize = 10_000;

/// Timers, ordered by deadline in [`Hub::timers`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    Heartbeat(TransportId),
    TokenExpiry(String),
    PresenceGrace(String),
    StateTtl(String),
    StreamKeepalive(TransportId),
    StreamExpiry(TransportId),
    Housekeeping,
}

/// One transport as the hub sees it.
#[derive(Debug)]
struct Transport {
    format: Format,
    connection: Option<String>,
    protocol_heartbeats: bool,
    heartbeat_interval: u64,
    heartbeat_due: u64,
    /// Inbound token bucket, in thousandths of a frame.
    bucket: u64,
    bucket_at: u64,
}

impl Transport {
    fn new(format: Format, interval: u64, now: u64, config: &HubConfig) -> Transport {
        Transport {
            format,
            connection: None,
            protocol_heartbeats: true,
            heartbeat_interval: interval,
            heartbeat_due: now + interval,
            bucket: u64::from(config.max_inbound_rate) * 2 * 1000,
            bucket_at: now,
        }
    }

    /// Takes one frame from the bucket; false when flooding.
    fn take_frame(&mut self, now: u64, rate: u32) -> bool {
        let rate = u64::from(rate.max(1));
        let elapsed = now.saturating_sub(self.bucket_at);
        self.bucket_at = now;
        self.bucket = (self.bucket + elapsed * rate).min(rate * 2 * 1000);
        if self.bucket >= 1000 {
            self.bucket -= 1000;
            true
        } else {
            false
        }
    }
}

/// The realtime service, sans IO. See the [module docs](self).
pub struct Hub {
    config: HubConfig,
    now: Now,
    rng: Rng,
    auth: auth::Auth,
    broker: Box<dyn Broker>,
    transports: BTreeMap<TransportId, Transport>,
    connections: BTreeMap<String, Connection>,
    /// connectionKey -> connectionId.
    keys: BTreeMap<String, String>,
    channels: BTreeMap<ChannelKey, Channel>,
    streams: BTreeMap<TransportId, stream::Stream>,
    timers: BTreeSet<(u64, Timer)>,
    outputs: VecDeque<Output>,
    /// The ACK being built per transport: consecutive msgSerials answered
    /// by one frame (RTN7b), sent before anything else for that transport
    /// and once the other outputs are taken.
    pending_acks: BTreeMap<TransportId, ProtocolMessage>,
    housekeeping: bool,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("apps", &self.auth.apps.len())
            .field("transports", &self.transports.len())
            .field("connections", &self.connections.len())
            .field("channels", &self.channels.len())
            .finish_non_exhaustive()
    }
}

impl Hub {
    /// A hub with no apps and an in-memory broker.
    pub fn new(config: HubConfig) -> Hub {
        let broker = LocalBroker::new(config.retention, config.seed);
        Hub::with_broker(config, Box::new(broker))
    }

    /// A hub with another broker. The apps the broker saved
    /// ([`Broker::saved_apps`]) are recreated with their keys.
    pub fn with_broker(config: HubConfig, mut broker: Box<dyn Broker>) -> Hub {
        let mut auth = auth::Auth::default();
        for saved in broker.saved_apps() {
            let mut app = App::new(saved.id.clone());
            app.limits = saved.limits;
            broker.set_limits(&saved.id, &saved.limits);
            for (key, capability) in &saved.keys {
                if let (Ok(key), Ok(capability)) =
                    (ApiKey::parse(key), Capability::parse(capability))
                {
                    app.add_key(key, capability);
                }
            }
            auth.apps.insert(saved.id, app);
        }
        Hub {
            rng: Rng::new(config.seed),
            config,
            now: Now::default(),
            auth,
            broker,
            transports: BTreeMap::new(),
            connections: BTreeMap::new(),
            keys: BTreeMap::new(),
            channels: BTreeMap::new(),
            streams: BTreeMap::new(),
            timers: BTreeSet::new(),
            outputs: VecDeque::new(),
            pending_acks: BTreeMap::new(),
            housekeeping: false,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &HubConfig {
        &self.config
    }

    /// Adds an app, or replaces one with the same id.
    pub fn add_app(&mut self, app: App) {
        let id = app.id.clone();
        self.broker.set_limits(&id, &app.limits);
        self.auth.apps.insert(id.clone(), app);
        self.save_app(&id);
    }

    /// The limits of an app (hub-wide values where it has none).
    fn app_limits(&self, app: &str) -> AppLimits {
        self.auth
            .apps
            .get(app)
            .map_or_else(AppLimits::default, |a| a.limits)
    }

    /// maxMessageSize for an app's connections and publishes.
    pub(crate) fn max_message_size(&self, app: &str) -> usize {
        self.app_limits(app)
            .max_message_size
            .unwrap_or(self.config.max_message_size)
    }

    /// Presence members per channel of an app.
    pub(crate) fn max_presence_members(&self, app: &str) -> usize {
        self.app_limits(app)
            .max_presence_members
            .unwrap_or(self.config.max_presence_members)
    }

    /// Hands an app's keys to the broker to keep.
    pub(crate) fn save_app(&mut self, id: &str) {
        let Some(app) = self.auth.apps.get(id) else {
            return;
        };
        let saved = SavedApp {
            id: id.to_owned(),
            keys: app
                .keys()
                .map(|(k, c)| (k.to_key_string(), c.to_canonical_json()))
                .collect(),
            limits: app.limits,
        };
        self.broker.save_app(&saved);
    }

    /// Adds a full-access key (`{"*":["*"]}`) given as `appId.keyId:secret`
    /// to its app, creating the app if needed; returns the key text.
    pub fn add_app_with_key(&mut self, app_id: &str, key: &str) -> Result<String, ErrorInfo> {
        let key = ApiKey::parse(key)?;
        if key.app_id() != app_id {
            return Err(ErrorInfo::new(40000, 400, "the key belongs to another app"));
        }
        let app = self
            .auth
            .apps
            .entry(app_id.to_owned())
            .or_insert_with(|| App::new(app_id));
        let text = key.to_key_string();
        app.add_key(key, Capability::all());
        self.save_app(app_id);
        Ok(text)
    }

    /// The app with this id.
    pub fn app(&self, id: &str) -> Option<&App> {
        self.auth.apps.get(id)
    }

    /// Exchanges a TokenRequest for a token:
    /// `POST /keys/{key_name}/requestToken` (RSA9).
    pub fn request_token(
        &mut self,
        now: Now,
        key_name: &str,
        request: &TokenRequest,
    ) -> Result<TokenDetails, ErrorInfo> {
        self.now = now;
        self.auth.request_token(key_name, request, now.wall_ms)
    }

    /// Issues a token directly for a key given in full (`appId.keyId:secret`),
    /// as `POST /keys/{key_name}/requestToken` does with Basic auth and
    /// TokenParams.
    pub fn issue_token(
        &mut self,
        now: Now,
        key: &str,
        params: &ably_proto::auth::TokenParams,
    ) -> Result<TokenDetails, ErrorInfo> {
        self.now = now;
        let grant = self.auth.authenticate_key(key)?;
        self.auth.issue_token(
            &grant.key_name,
            now.wall_ms,
            params.ttl,
            params.capability.as_deref(),
            params.client_id.clone(),
        )
    }

    /// Feeds one input. Then drain [`Hub::poll_output`].
    pub fn handle(&mut self, now: Now, input: Input) {
        self.now = Now {
            mono_ms: now.mono_ms.max(self.now.mono_ms),
            wall_ms: now.wall_ms,
        };
        if !self.housekeeping {
            self.housekeeping = true;
            self.timers
                .insert((self.now.mono_ms + HOUSEKEEPING_MS, Timer::Housekeeping));
        }
        match input {
            Input::Open { transport, request } => {
                if self.transports.contains_key(&transport) {
                    return;
                }
                self.on_open(transport, request);
            }
            Input::OpenStream { transport, request } => self.on_open_stream(transport, request),
            Input::Frame { transport, data } => self.on_frame(transport, &data),
            Input::Closed { transport } => {
                self.pending_acks.remove(&transport);
                self.remove_stream(transport);
                if let Some(tr) = self.transports.remove(&transport) {
                    if let Some(conn) = tr.connection {
                        self.apply(&conn, ConnEvent::TransportLost);
                    }
                }
            }
            Input::Timeout => self.on_timeout(),
            Input::Shutdown => {
                let ids: Vec<String> = self.connections.keys().cloned().collect();
                for id in ids {
                    self.apply(&id, ConnEvent::Shutdown);
                }
                let rest: Vec<TransportId> = self.transports.keys().copied().collect();
                for t in rest {
                    self.close_transport(t);
                }
                let streams: Vec<TransportId> = self.streams.keys().copied().collect();
                for t in streams {
                    self.end_stream(t, None);
                }
            }
        }
    }

    /// The next thing for the driver to do.
    pub fn poll_output(&mut self) -> Option<Output> {
        if self.outputs.is_empty() {
            // The ACKs built up while handling the inputs go last: an ACK
            // follows the delivery of what it acknowledges.
            while let Some((t, ack)) = self.pending_acks.pop_first() {
                self.push_frame(t, &ack);
            }
        }
        self.outputs.pop_front()
    }

    /// When to call `handle(now, Input::Timeout)` next (monotonic ms).
    pub fn poll_timeout(&self) -> Option<u64> {
        self.timers.first().map(|(at, _)| *at)
    }

    /// How many connections exist (live or resumable).
    pub fn connection_count(&self) -> usize {
        self.connections.len()
    }

    /// The members present on a channel, as PRESENT messages.
    pub fn presence_members(&self, app: &str, channel: &str) -> Vec<ably_proto::PresenceMessage> {
        let key = ChannelKey {
            app: app.into(),
            channel: channel.into(),
        };
        self.channels
            .get(&key)
            .map(|c| c.presence.present())
            .unwrap_or_default()
    }

    fn on_timeout(&mut self) {
        let now = self.now;
        while let Some((at, _)) = self.timers.first() {
            if *at > now.mono_ms {
                break;
            }
            let Some((_, timer)) = self.timers.pop_first() else {
                break;
            };
            match timer {
                Timer::Heartbeat(t) => self.heartbeat(t),
                Timer::TokenExpiry(id) => {
                    let expired = self
                        .connections
                        .get(&id)
                        .is_some_and(|c| c.grant.expires.is_some_and(|x| x <= now.wall_ms));
                    if expired {
                        self.apply(&id, ConnEvent::TokenExpired);
                    }
                }
                Timer::PresenceGrace(id) => {
                    let due = self.connections.get(&id).is_some_and(|c| {
                        c.dropped_at
                            .is_some_and(|d| d + c.remain_present_for <= now.mono_ms)
                    });
                    if due {
                        self.apply(&id, ConnEvent::PresenceGraceOver);
                    }
                }
                Timer::StateTtl(id) => {
                    let ttl = self.config.connection_state_ttl_ms;
                    let due = self
                        .connections
                        .get(&id)
                        .is_some_and(|c| c.dropped_at.is_some_and(|d| d + ttl <= now.mono_ms));
                    if due {
                        self.apply(&id, ConnEvent::StateTtlOver);
                    }
                }
                Timer::StreamKeepalive(t) => self.stream_keepalive(t),
                Timer::StreamExpiry(t) => self.stream_token_check(t),
                Timer::Housekeeping => {
                    self.housekeep();
                    self.timers
                        .insert((now.mono_ms + HOUSEKEEPING_MS, Timer::Housekeeping));
                }
            }
        }
    }

    fn heartbeat(&mut self, t: TransportId) {
        let now = self.now.mono_ms;
        let Some(tr) = self.transports.get_mut(&t) else {
            return;
        };
        if tr.heartbeat_due > now {
            return;
        }
        tr.heartbeat_due = now + tr.heartbeat_interval;
        let (due, protocol) = (tr.heartbeat_due, tr.protocol_heartbeats);
        self.timers.insert((due, Timer::Heartbeat(t)));
        if protocol {
            self.send(t, &ProtocolMessage::new(Action::Heartbeat));
        } else {
            self.outputs.push_back(Output::Ping { transport: t });
        }
    }

    fn housekeep(&mut self) {
        let now = self.now;
        self.broker.expire(now);
        let cutoff = now.wall_ms - self.config.retention.max_age_ms;
        for ch in self.channels.values_mut() {
            ch.prune_ids(cutoff, RECENT_IDS);
        }
        self.channels.retain(|_, ch| !ch.is_idle());
    }

    fn on_frame(&mut self, t: TransportId, data: &[u8]) {
        let rate = self.config.max_inbound_rate;
        let max_frame = self.config.max_frame_size;
        let now = self.now.mono_ms;
        let Some(tr) = self.transports.get_mut(&t) else {
            return;
        };
        let format = tr.format;
        let Some(conn_id) = tr.connection.clone() else {
            return;
        };
        if !tr.take_frame(now, rate) {
            let e = ErrorInfo::new(
                42924,
                429,
                "inbound frame rate exceeded maxInboundRate; connection closed",
            );
            return self.apply(&conn_id, ConnEvent::Fail(e));
        }
        if data.len() > max_frame {
            return self.send_error(
                t,
                None,
                ErrorInfo::new(
                    ably_proto::error::codes::MESSAGE_TOO_LARGE,
                    400,
                    format!(
                        "frame of {} bytes exceeds maxFrameSize {max_frame}",
                        data.len()
                    ),
                ),
            );
        }
        let pm = match codec::decode_protocol_message(data, format) {
            Ok(pm) => pm,
            Err(e) => {
                return self.send_error(
                    t,
                    None,
                    ErrorInfo::new(40000, 400, format!("malformed frame: {e}")),
                );
            }
        };
        match pm.action {
            Action::Heartbeat => {
                let mut echo = ProtocolMessage::new(Action::Heartbeat);
                echo.id = pm.id;
                self.send(t, &echo);
            }
            Action::Attach => self.on_attach(&conn_id, t, pm),
            Action::Detach => self.on_detach(&conn_id, t, pm),
            Action::Message => self.on_message(&conn_id, t, pm),
            Action::Presence => self.on_presence(&conn_id, t, pm),
            Action::Auth => self.on_auth(&conn_id, t, pm),
            Action::Close => self.apply(&conn_id, ConnEvent::Close),
            Action::Disconnect => self.apply(&conn_id, ConnEvent::Disconnect),
            Action::Sync => {
                // A client asking for the presence set again.
                if let (Some(channel), Some(conn)) = (pm.channel, self.connections.get(&conn_id)) {
                    if conn.attachments.contains_key(&channel) {
                        let key = ChannelKey {
                            app: conn.app.clone(),
                            channel,
                        };
                        self.send_sync(t, &key);
                    }
                }
            }
            other => {
                let mut e = ErrorInfo::new(
                    40000,
                    400,
                    format!("unexpected action {} from a client", other.number()),
                );
                if pm.msg_serial.is_some() {
                    e.message.push_str("; not processed");
                    return self.nack(&conn_id, t, pm.msg_serial, e);
                }
                self.send_error(t, pm.channel.as_deref(), e);
            }
        }
    }

    /// Encodes and queues a frame for a transport, after the ACK pending
    /// for it, if any.
    fn send<T: serde::Serialize>(&mut self, t: TransportId, frame: &T) {
        self.flush_ack(t);
        self.push_frame(t, frame);
    }

    /// Encodes and queues a frame for a transport.
    fn push_frame<T: serde::Serialize>(&mut self, t: TransportId, frame: &T) {
        let Some(tr) = self.transports.get(&t) else {
            return;
        };
        if let Some(data) = frame::encode_frame(frame, tr.format) {
            self.outputs.push_back(Output::Send {
                transport: t,
                data,
                binary: tr.format.is_binary(),
            });
        }
    }

    /// Queues the ACK pending for a transport.
    fn flush_ack(&mut self, t: TransportId) {
        if self.pending_acks.is_empty() {
            return;
        }
        if let Some(ack) = self.pending_acks.remove(&t) {
            self.push_frame(t, &ack);
        }
    }

    /// ERROR for the connection, or for a channel (which fails it).
    fn send_error(&mut self, t: TransportId, channel: Option<&str>, error: ErrorInfo) {
        let mut pm = ProtocolMessage::new(Action::Error);
        pm.channel = channel.map(str::to_owned);
        pm.error = Some(error);
        self.send(t, &pm);
    }

    fn close_transport(&mut self, t: TransportId) {
        self.flush_ack(t);
        if self.transports.remove(&t).is_some() {
            self.outputs.push_back(Output::Close { transport: t });
        }
    }

    /// Whether a msgSerial was handled before; if so, answers it again.
    fn is_duplicate(&mut self, conn_id: &str, t: TransportId, serial: Option<u64>) -> bool {
        let Some(serial) = serial else {
            return false;
        };
        let Some(conn) = self.connections.get_mut(conn_id) else {
            return true;
        };
        if serial >= conn.next_msg_serial {
            conn.next_msg_serial = serial.saturating_add(1);
            return false;
        }
        let answer = conn
            .recent_acks
            .iter()
            .find(|(s, _)| *s == serial)
            .map(|(_, a)| a.clone());
        match answer {
            Some(Answer::Nack(e)) => self.send(t, &nack_frame(serial, e)),
            Some(Answer::Ack(res)) => self.queue_ack(t, serial, res),
            None => self.queue_ack(t, serial, None),
        }
        true
    }

    fn remember(&mut self, conn_id: &str, serial: u64, answer: Answer) {
        if let Some(conn) = self.connections.get_mut(conn_id) {
            if conn.recent_acks.len() >= RECENT_ACKS {
                conn.recent_acks.pop_front();
            }
            conn.recent_acks.push_back((serial, answer));
        }
    }

    fn ack(
        &mut self,
        conn_id: &str,
        t: TransportId,
        serial: Option<u64>,
        res: Option<PublishResult>,
    ) {
        let Some(serial) = serial else {
            return;
        };
        self.remember(conn_id, serial, Answer::Ack(res.clone()));
        self.queue_ack(t, serial, res);
    }

    /// ACKs a msgSerial, in the ACK pending for the transport when it
    /// follows it (RTN7b: one ACK covers `count` frames from its msgSerial;
    /// TR4s: `res` holds one PublishResult per MESSAGE frame, so frames
    /// with and without one are not mixed).
    fn queue_ack(&mut self, t: TransportId, serial: u64, res: Option<PublishResult>) {
        if !self.transports.contains_key(&t) {
            return;
        }
        if let Some(ack) = self.pending_acks.get_mut(&t) {
            let count = ack.count.unwrap_or(1);
            let next = ack.msg_serial.unwrap_or(0).saturating_add(u64::from(count));
            if next == serial && ack.res.is_some() == res.is_some() && count < MAX_ACK_COUNT {
                ack.count = Some(count + 1);
                if let (Some(all), Some(res)) = (ack.res.as_mut(), res) {
                    all.push(res);
                }
                return;
            }
            self.flush_ack(t);
        }
        let mut ack = ProtocolMessage::new(Action::Ack);
        ack.msg_serial = Some(serial);
        ack.count = Some(1);
        ack.res = res.map(|r| vec![r]);
        self.pending_acks.insert(t, ack);
    }

    fn nack(&mut self, conn_id: &str, t: TransportId, serial: Option<u64>, error: ErrorInfo) {
        let Some(serial) = serial else {
            // Nothing to NACK: report it as an error on the connection.
            return self.send_error(t, None, error);
        };
        self.remember(conn_id, serial, Answer::Nack(error.clone()));
        self.send(t, &nack_frame(serial, error));
    }
}

/// How a msgSerial was answered, to answer a repeat the same way.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Answer {
    /// ACK, with the serials of a MESSAGE frame's messages.
    Ack(Option<PublishResult>),
    /// NACK with this error.
    Nack(ErrorInfo),
}

fn nack_frame(serial: u64, error: ErrorInfo) -> ProtocolMessage {
    let mut pm = ProtocolMessage::new(Action::Nack);
    pm.msg_serial = Some(serial);
    pm.count = Some(1);
    pm.error = Some(error);
    pm
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hub_can_move_between_threads() {
        fn is_send<T: Send>() {}
        is_send::<Hub>();
    }
}

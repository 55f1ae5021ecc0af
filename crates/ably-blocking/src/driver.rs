//! The driver: one thread per client owning the sans-IO [`Client`], the
//! WebSocket, one timer, the map from operation id to reply channel, and
//! the subscriber lists. It runs the driving loop of
//! `ably_proto::client` (see the crate docs for the loop in numbered
//! steps). Everything here is I/O plumbing; protocol decisions are the
//! core's.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ably_proto::client::{
    ChannelState, ChannelStateChange, Client, Command, Completion, ConnectionState,
    ConnectionStateChange, Event, Frame, Generation, HttpRequest, HttpResponse, Input, Instant,
    Now, OpId, Output, RequestId, TransportEvent,
};
use ably_proto::rest::RestOp;
use ably_proto::{ErrorInfo, Message, PresenceMessage};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message as WsMessage, WebSocket};

use crate::options::AuthCallback;

/// How long a read on the socket blocks at most before the driver looks
/// at its command channel again. See "Waking up" in the crate docs.
pub const POLL_INTERVAL: Duration = Duration::from_millis(5);

/// The longest the driver sleeps when the core has no deadline.
const IDLE_WAIT: Duration = Duration::from_secs(60);

pub(crate) type Socket = WebSocket<MaybeTlsStream<TcpStream>>;

/// Where a finished operation's result goes.
pub(crate) type Reply = Sender<Result<Completion, ErrorInfo>>;

/// A subscriber: the sending half of a [`Subscription`](crate::Subscription).
pub(crate) enum Subscriber {
    Messages {
        channel: String,
        name: Option<String>,
        tx: Sender<Message>,
    },
    Presence {
        channel: String,
        tx: Sender<PresenceMessage>,
    },
    Connection(Sender<ConnectionStateChange>),
    Channel {
        channel: String,
        tx: Sender<ChannelStateChange>,
    },
}

/// A closure run on the driver thread with the client, for reads that
/// need the core's current state (e.g. a recovery key).
pub(crate) type Query = Box<dyn FnOnce(&mut Client) + Send>;

/// What reaches the driver thread: from API handles, and from the helper
/// threads that open sockets, make HTTP requests and run the authCallback.
// Moved once through the channel; boxing commands would cost an
// allocation per publish for no gain.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Msg {
    Command(Command, Reply),
    Subscribe(Subscriber, Sender<()>),
    Query(Query),
    Opened(Generation, Result<Box<Socket>, ErrorInfo>),
    Token(
        RequestId,
        Result<ably_proto::client::AuthResponse, ErrorInfo>,
    ),
    Http(RequestId, Result<HttpResponse, ErrorInfo>),
    Shutdown,
}

/// What API handles read without a round trip to the driver. Updated by
/// the driver before it delivers the events of a step, so a caller woken
/// by a completion sees the state that goes with it.
#[derive(Clone, Debug)]
pub(crate) struct Snapshot {
    pub state: ConnectionState,
    pub error_reason: Option<ErrorInfo>,
    pub id: Option<String>,
    pub key: Option<String>,
    pub client_id: Option<String>,
    pub channels: HashMap<String, (ChannelState, Option<ErrorInfo>)>,
}

impl Snapshot {
    fn of(client: &Client) -> Snapshot {
        let channels = client
            .channel_names()
            .filter_map(|n| client.channel(n))
            .map(|c| (c.name().to_owned(), (c.state(), c.error_reason().cloned())))
            .collect();
        Snapshot {
            state: client.state(),
            error_reason: client.error_reason().cloned(),
            id: client.connection_id().map(str::to_owned),
            key: client.connection_key().map(str::to_owned),
            client_id: client.client_id().map(str::to_owned),
            channels,
        }
    }
}

/// Locks the snapshot, ignoring poisoning (the driver never panics while
/// holding it; if it did, the data is still the last complete copy).
pub(crate) fn lock(shared: &Mutex<Snapshot>) -> MutexGuard<'_, Snapshot> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// Message subscribers of one channel, each with its name filter.
type MessageSubscribers = Vec<(Option<String>, Sender<Message>)>;

#[derive(Default)]
struct Subscribers {
    messages: HashMap<String, MessageSubscribers>,
    presence: HashMap<String, Vec<Sender<PresenceMessage>>>,
    connection: Vec<Sender<ConnectionStateChange>>,
    channel: HashMap<String, Vec<Sender<ChannelStateChange>>>,
}

pub(crate) struct Driver {
    client: Client,
    origin: std::time::Instant,
    rx: Receiver<Msg>,
    /// Cloned into helper threads so that their results come back here.
    tx: Sender<Msg>,
    shared: Arc<Mutex<Snapshot>>,
    socket: Option<(Generation, Box<Socket>)>,
    /// The generation a helper thread is opening a socket for.
    opening: Option<Generation>,
    next_op: u64,
    replies: HashMap<OpId, Reply>,
    subs: Subscribers,
    auth_callback: Option<AuthCallback>,
    http: ureq::Agent,
    running: bool,
}

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A 32-byte seed from the operating system for the core's RNG.
pub(crate) fn os_seed() -> [u8; 32] {
    use ably_proto::rand_core::{OsRng, RngCore};
    let mut seed = [0u8; 32];
    OsRng.fill_bytes(&mut seed);
    seed
}

/// Creates the core (so that invalid options fail here, synchronously),
/// starts the driver thread, and returns the channel into it.
pub(crate) fn start(opts: &crate::ClientOptions) -> Result<Started, ErrorInfo> {
    let origin = std::time::Instant::now();
    let now = Now::new(Instant::from_origin(origin.elapsed()), wall_ms());
    let client = Client::new(opts.core.clone(), os_seed(), now)?;
    let shared = Arc::new(Mutex::new(Snapshot::of(&client)));
    let (tx, rx) = mpsc::channel();
    let http: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(opts.core.http_open_timeout))
        .timeout_global(Some(opts.core.http_request_timeout))
        .build()
        .into();
    let driver = Driver {
        client,
        origin,
        rx,
        tx: tx.clone(),
        shared: shared.clone(),
        socket: None,
        opening: None,
        next_op: 0,
        replies: HashMap::new(),
        subs: Subscribers::default(),
        auth_callback: opts.auth_callback.clone(),
        http,
        running: true,
    };
    let thread = std::thread::Builder::new()
        .name("ably-driver".into())
        .spawn(move || driver.run())
        .map_err(|e| ErrorInfo::new(50000, 500, format!("could not start a thread: {e}")))?;
    Ok(Started { tx, shared, thread })
}

/// A running driver, as [`start`] returns it.
pub(crate) struct Started {
    pub tx: Sender<Msg>,
    pub shared: Arc<Mutex<Snapshot>>,
    pub thread: std::thread::JoinHandle<()>,
}

impl Driver {
    fn now(&self) -> Now {
        Now::new(Instant::from_origin(self.origin.elapsed()), wall_ms())
    }

    fn handle(&mut self, input: Input) {
        let now = self.now();
        self.client.handle(now, input);
    }

    fn run(mut self) {
        // With autoConnect the core is already connecting; a first input
        // lets it emit its outputs.
        self.handle(Input::Timeout);
        while self.running {
            self.flush();
            loop {
                match self.rx.try_recv() {
                    Ok(msg) => {
                        self.on_msg(msg);
                        self.flush();
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        self.shutdown();
                        break;
                    }
                }
                if !self.running {
                    break;
                }
            }
            if self.running {
                self.wait();
            }
        }
    }

    /// Step 1 of the loop: wait for a frame, a message from the handles or
    /// helpers, or the core's deadline, and feed it in.
    fn wait(&mut self) {
        let deadline = self.client.poll_timeout().map(|(at, _)| at);
        let wait = deadline
            .map(|at| at.saturating_since(self.now().instant))
            .unwrap_or(IDLE_WAIT);
        if !wait.is_zero() {
            match &mut self.socket {
                Some((generation, ws)) => {
                    let generation = *generation;
                    set_read_timeout(ws, wait.min(POLL_INTERVAL));
                    let event = match ws.read() {
                        Ok(WsMessage::Text(text)) => Some(TransportEvent::Frame(
                            bytes::Bytes::copy_from_slice(text.as_bytes()),
                        )),
                        Ok(WsMessage::Binary(data)) => Some(TransportEvent::Frame(data)),
                        Ok(WsMessage::Ping(_) | WsMessage::Pong(_)) => {
                            Some(TransportEvent::Activity)
                        }
                        Ok(WsMessage::Close(_)) => Some(TransportEvent::Closed(None)),
                        Ok(WsMessage::Frame(_)) => None,
                        Err(tungstenite::Error::Io(e))
                            if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                        {
                            None
                        }
                        Err(e) => Some(TransportEvent::Closed(Some(ErrorInfo::new(
                            80003,
                            400,
                            format!("connection lost: {e}"),
                        )))),
                    };
                    if let Some(event) = event {
                        if matches!(event, TransportEvent::Closed(_)) {
                            self.socket = None;
                        }
                        self.handle(Input::Transport(generation, event));
                    }
                }
                None => match self.rx.recv_timeout(wait) {
                    Ok(msg) => self.on_msg(msg),
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => self.shutdown(),
                },
            }
        }
        if let Some(at) = deadline {
            if self.now().instant >= at {
                self.handle(Input::Timeout);
            }
        }
    }

    fn on_msg(&mut self, msg: Msg) {
        match msg {
            Msg::Command(command, reply) => {
                let command = match self.prepare(command) {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = reply.send(Err(e));
                        return;
                    }
                };
                self.next_op += 1;
                let op = OpId(self.next_op);
                self.replies.insert(op, reply);
                self.handle(Input::Command(op, command));
            }
            Msg::Subscribe(sub, ack) => {
                match sub {
                    Subscriber::Messages { channel, name, tx } => self
                        .subs
                        .messages
                        .entry(channel)
                        .or_default()
                        .push((name, tx)),
                    Subscriber::Presence { channel, tx } => {
                        self.subs.presence.entry(channel).or_default().push(tx)
                    }
                    Subscriber::Connection(tx) => self.subs.connection.push(tx),
                    Subscriber::Channel { channel, tx } => {
                        self.subs.channel.entry(channel).or_default().push(tx)
                    }
                }
                let _ = ack.send(());
            }
            Msg::Query(query) => query(&mut self.client),
            Msg::Opened(generation, result) => {
                if self.opening != Some(generation) {
                    return; // the core gave up on this transport meanwhile
                }
                self.opening = None;
                let event = match result {
                    Ok(ws) => {
                        self.socket = Some((generation, ws));
                        TransportEvent::Opened
                    }
                    Err(e) => TransportEvent::Closed(Some(e)),
                };
                self.handle(Input::Transport(generation, event));
            }
            Msg::Token(request, result) => self.handle(Input::Token(request, result)),
            Msg::Http(request, result) => self.handle(Input::Http(request, result)),
            Msg::Shutdown => self.shutdown(),
        }
    }

    /// Encodes message payloads with the channel's cipher (RSL4, RSL5):
    /// the core takes published messages already encoded.
    fn prepare(&mut self, command: Command) -> Result<Command, ErrorInfo> {
        Ok(match command {
            Command::Publish {
                channel,
                mut messages,
            } => {
                self.encode(&channel, &mut messages)?;
                Command::Publish { channel, messages }
            }
            Command::Rest(RestOp::Publish {
                channel,
                mut messages,
                params,
            }) => {
                self.encode(&channel, &mut messages)?;
                Command::Rest(RestOp::Publish {
                    channel,
                    messages,
                    params,
                })
            }
            other => other,
        })
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

    fn shutdown(&mut self) {
        if !self.running {
            return;
        }
        self.running = false;
        // Say goodbye to the service if connected; nobody waits for CLOSED.
        self.next_op += 1;
        self.handle(Input::Command(OpId(self.next_op), Command::Close));
        self.flush();
        if let Some((_, mut ws)) = self.socket.take() {
            let _ = ws.close(None);
            let _ = ws.flush();
        }
    }

    /// Steps 2 and 3 of the loop: drain the core's outputs and carry them
    /// out, until it has nothing more to say.
    fn flush(&mut self) {
        loop {
            let outputs: Vec<Output> = std::iter::from_fn(|| self.client.poll()).collect();
            if outputs.is_empty() {
                return;
            }
            *lock(&self.shared) = Snapshot::of(&self.client);
            // Completions last: when a blocking call returns, the events
            // that led to its result have reached the subscribers.
            let (completions, others): (Vec<Output>, Vec<Output>) = outputs
                .into_iter()
                .partition(|o| matches!(o, Output::Event(Event::Completed(..))));
            for output in others.into_iter().chain(completions) {
                self.carry_out(output);
            }
        }
    }

    fn carry_out(&mut self, output: Output) {
        match output {
            Output::OpenTransport { generation, url } => {
                self.socket = None;
                self.opening = Some(generation);
                let tx = self.tx.clone();
                let opts = self.client.options();
                let (open_timeout, handshake_timeout) =
                    (opts.http_open_timeout, opts.realtime_request_timeout);
                std::thread::spawn(move || {
                    let result = open(&url, open_timeout, handshake_timeout).map(Box::new);
                    let _ = tx.send(Msg::Opened(generation, result));
                });
            }
            Output::Send { generation, frame } => self.send(generation, frame),
            Output::CloseTransport { generation } => {
                if self.opening == Some(generation) {
                    self.opening = None;
                }
                if matches!(&self.socket, Some((g, _)) if *g == generation) {
                    if let Some((_, mut ws)) = self.socket.take() {
                        let _ = ws.close(None);
                        let _ = ws.flush();
                    }
                }
            }
            Output::FetchToken { request, params } => {
                let tx = self.tx.clone();
                let callback = self.auth_callback.clone();
                std::thread::spawn(move || {
                    let result = match callback {
                        Some(cb) => cb(&params),
                        None => Err(ErrorInfo::new(40170, 401, "no authCallback was given")),
                    };
                    let _ = tx.send(Msg::Token(request, result));
                });
            }
            Output::Http { request, http } => {
                let tx = self.tx.clone();
                let agent = self.http.clone();
                std::thread::spawn(move || {
                    let _ = tx.send(Msg::Http(request, execute(&agent, http)));
                });
            }
            Output::Event(event) => self.deliver(event),
        }
    }

    fn send(&mut self, generation: Generation, frame: Frame) {
        let Some((g, ws)) = &mut self.socket else {
            return;
        };
        if *g != generation {
            return;
        }
        let msg = if frame.text {
            match String::from_utf8(frame.bytes.to_vec()) {
                Ok(text) => WsMessage::Text(text.into()),
                Err(_) => WsMessage::Binary(frame.bytes),
            }
        } else {
            WsMessage::Binary(frame.bytes)
        };
        if let Err(e) = ws.send(msg) {
            self.socket = None;
            let err = ErrorInfo::new(80003, 400, format!("connection lost: {e}"));
            self.handle(Input::Transport(
                generation,
                TransportEvent::Closed(Some(err)),
            ));
        }
    }

    /// Step 3 for events: to the waiting caller or the subscribers. A
    /// subscriber whose [`Subscription`](crate::Subscription) was dropped
    /// is removed.
    fn deliver(&mut self, event: Event) {
        match event {
            Event::Completed(op, result) => {
                if let Some(reply) = self.replies.remove(&op) {
                    let _ = reply.send(result);
                }
            }
            Event::Connection(change) => self
                .subs
                .connection
                .retain(|tx| tx.send(change.clone()).is_ok()),
            Event::Channel(change) => {
                if let Some(list) = self.subs.channel.get_mut(&change.channel) {
                    list.retain(|tx| tx.send(change.clone()).is_ok());
                }
            }
            Event::Message { channel, message } => {
                if let Some(list) = self.subs.messages.get_mut(&channel) {
                    list.retain(|(name, tx)| match name {
                        Some(n) if message.name.as_deref() != Some(n.as_str()) => {
                            // Not for this subscriber; keep it while its
                            // receiver lives (checked on its next match).
                            true
                        }
                        _ => tx.send(message.clone()).is_ok(),
                    });
                }
            }
            Event::Presence { channel, message } => {
                if let Some(list) = self.subs.presence.get_mut(&channel) {
                    list.retain(|tx| tx.send(message.clone()).is_ok());
                }
            }
            Event::Log(_) | Event::Annotation { .. } => {}
        }
    }
}

/// Opens a WebSocket on a helper thread: TCP with a connect timeout, then
/// the handshake (TLS by rustls with the webpki roots for `wss://`).
fn open(url: &str, connect_timeout: Duration, handshake: Duration) -> Result<Socket, ErrorInfo> {
    let fail = |e: String| ErrorInfo::new(80000, 503, format!("could not connect: {e}"));
    let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = without_scheme.split(['/', '?']).next().unwrap_or_default();
    let default_port = if url.starts_with("wss:") { 443 } else { 80 };
    let addrs: Vec<_> = if authority.contains(':') && !authority.ends_with(']') {
        authority.to_socket_addrs()
    } else {
        (authority, default_port).to_socket_addrs()
    }
    .map_err(|e| fail(e.to_string()))?
    .collect();
    let mut last = fail(format!("no address for {authority}"));
    let mut stream = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, connect_timeout) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = fail(e.to_string()),
        }
    }
    let stream = stream.ok_or(last)?;
    let _ = stream.set_nodelay(true);
    stream
        .set_read_timeout(Some(handshake))
        .map_err(|e| fail(e.to_string()))?;
    stream
        .set_write_timeout(Some(handshake))
        .map_err(|e| fail(e.to_string()))?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (ws, _response) = tungstenite::client_tls(url, stream).map_err(|e| fail(e.to_string()))?;
    Ok(ws)
}

fn set_read_timeout(ws: &mut Socket, d: Duration) {
    let tcp = match ws.get_mut() {
        MaybeTlsStream::Plain(s) => s,
        MaybeTlsStream::Rustls(s) => s.get_mut(),
        _ => return,
    };
    let _ = tcp.set_read_timeout(Some(d.max(Duration::from_millis(1))));
}

/// Executes one HTTP request with ureq on a helper thread. Any status is a
/// response for the core to read; only network failures are errors.
fn execute(agent: &ureq::Agent, request: HttpRequest) -> Result<HttpResponse, ErrorInfo> {
    let bad = |e: String| ErrorInfo::new(40000, 400, format!("invalid HTTP request: {e}"));
    let mut builder = ureq::http::Request::builder()
        .method(request.method)
        .uri(&request.url);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let result = match request.body {
        Some(body) => agent.run(builder.body(body).map_err(|e| bad(e.to_string()))?),
        None => agent.run(builder.body(()).map_err(|e| bad(e.to_string()))?),
    };
    let network = |e: ureq::Error| match e {
        ureq::Error::Timeout(_) => {
            ErrorInfo::new(50003, 504, format!("HTTP request timed out: {e}"))
        }
        e => ErrorInfo::new(80000, 503, format!("HTTP request failed: {e}")),
    };
    let mut response = result.map_err(network)?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let body = response.body_mut().read_to_vec().map_err(network)?;
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

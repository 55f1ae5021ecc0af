//! The driver: one thread per client running the loop of
//! `ably_proto::adapter` (see the crate docs for this adapter's version)
//! over the [`Dispatcher`](ably_proto::adapter::Dispatcher) (the sans-IO
//! client with its waiting callers, subscribers and snapshot) and the
//! WebSocket. Both sit in [`State`], behind a lock that the thread holds
//! for a turn and lets go of while it sleeps; a handle that finds the lock
//! free takes a turn itself ([`Post`]). Everything here is I/O plumbing;
//! protocol decisions are the core's.

use std::io::ErrorKind;
use std::net::{TcpStream as StdTcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, TryRecvError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ably_net::clock::{Clock, os_seed};
use ably_net::tls::Trust;
use ably_net::ws;
use ably_proto::ErrorInfo;
use ably_proto::adapter::{Dispatcher, Io, Reply, SharedSnapshot, Subscriber};
use ably_proto::client::{
    AuthResponse, Client, Command, Generation, HttpResponse, Input, RequestId, TransportEvent,
};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Registry, Token};
use socket2::SockRef;
use tungstenite::WebSocket;
use tungstenite::stream::MaybeTlsStream;

use crate::mailbox::{self, Mailbox};
use crate::options::{AuthCallback, ClientOptions};

/// The most messages (from the mailbox, or from the socket) the driver
/// takes in one wake-up before it flushes the socket and looks at the
/// other source.
const BATCH: usize = 64;

/// How long closing a socket may block on writing its close frame.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// The poller's event for a message in the mailbox.
const WAKE: Token = Token(0);
/// The poller's event for the socket.
const SOCKET: Token = Token(1);

pub(crate) type Socket = WebSocket<MaybeTlsStream<TcpStream>>;

/// The sending side of the driver's mailbox.
pub(crate) type Sender = mailbox::Sender<Msg>;

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
    Subscribe(Subscriber, mpsc::Sender<()>),
    Query(Query),
    Opened(Generation, Result<Box<Socket>, ErrorInfo>),
    Token(RequestId, Result<AuthResponse, ErrorInfo>),
    Http(RequestId, Result<HttpResponse, ErrorInfo>),
    Shutdown,
}

/// The open socket, registered with the poller, and its readiness.
struct Conn {
    ws: Box<Socket>,
    /// A read may find something: set by a readiness event (and for a
    /// new socket), cleared when a read would block. The poller reports
    /// only changes, so everything readable is read before sleeping.
    readable: bool,
    /// The poller said the socket could take more since the last flush:
    /// waiting writes made progress.
    writable: bool,
    /// Writes wait for the socket: since when, with no progress.
    blocked_since: Option<Instant>,
    /// The poller watches for writability too (only while blocked).
    watching_writes: bool,
}

/// The driver thread: its poller, and the state it shares with the
/// handles (see [`Post`]).
pub(crate) struct Driver {
    poll: Poll,
    events: Events,
    state: Arc<Mutex<State>>,
    /// How many times the poller has returned (for tests).
    wakeups: Arc<AtomicU64>,
}

/// Everything but the poller: the core, the socket and the bookkeeping of
/// the loop. The driver thread holds the lock for a turn and lets go of
/// it while it sleeps, so a handle can take a turn itself meanwhile.
pub(crate) struct State {
    dispatcher: Dispatcher,
    clock: Clock,
    /// The poller's registry, to (de)register sockets from any thread.
    registry: Registry,
    mailbox: Mailbox<Msg>,
    /// Cloned into helper threads so that their results come back here.
    tx: Sender,
    socket: Option<Conn>,
    auth_callback: Option<AuthCallback>,
    http: ably_net::http::Agent,
    /// The roots the WebSocket's TLS trusts.
    trust: Trust,
    /// How long writes may wait for the socket without progress before
    /// the connection counts as lost (the realtime request timeout).
    write_timeout: Duration,
    /// A batch was cut short: look again before sleeping.
    more: bool,
    /// The mailbox was left alone while writes waited for the socket;
    /// its wake-up is spent, so look at it as soon as they no longer wait.
    mail_held: bool,
    running: bool,
    /// The core's deadline the sleeping driver thread will wake for
    /// (`None`: none). A turn taken by a handle that brings the core's
    /// deadline earlier wakes it. Compared in the core's clock, exactly:
    /// the sleep's timeout is rounded, the deadline itself is not.
    sleeps_for: Option<ably_proto::client::Instant>,
}

/// How handles reach the driver: a turn of their own when the driver
/// thread sleeps, the mailbox otherwise. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Post {
    state: Arc<Mutex<State>>,
    tx: Sender,
}

impl Post {
    /// Hands `msg` to the core. If no one holds the state (the driver
    /// thread sleeps), the calling thread takes the turn itself: it
    /// drains the mailbox first (so that order is kept), handles `msg`,
    /// writes the frames out and wakes the driver thread only if the
    /// turn left it something to do. This spares a thread hand-off per
    /// publish. Fails only when the driver is gone.
    pub(crate) fn send(&self, msg: Msg) -> Result<(), ()> {
        let Ok(mut state) = self.state.try_lock() else {
            return self.tx.send(msg).map_err(|_| ());
        };
        if !state.running || state.writes_wait() {
            drop(state);
            return self.tx.send(msg).map_err(|_| ());
        }
        state.take_messages();
        if state.running {
            state.on_msg(msg);
            state.carry_out();
        }
        state.flush_socket();
        let wake = state.driver_needed();
        drop(state);
        if wake {
            self.tx.wake();
        }
        Ok(())
    }

    /// Queues `msg` for the driver thread, without taking a turn.
    pub(crate) fn queue(&self, msg: Msg) -> Result<(), ()> {
        self.tx.send(msg).map_err(|_| ())
    }
}
/// Creates the core (so that invalid options fail here, synchronously),
/// starts the driver thread, and returns the channel into it.
pub(crate) fn start(opts: &ClientOptions) -> Result<Started, ErrorInfo> {
    let clock = Clock::new();
    let client = Client::new(opts.core.clone(), os_seed(), clock.now())?;
    let trust = Trust::with_extra_roots(&opts.tls_root_certificates)?;
    let dispatcher = Dispatcher::new(client);
    let shared = dispatcher.snapshot();
    let failed = |e: std::io::Error| ErrorInfo::new(50000, 500, format!("could not poll: {e}"));
    let poll = Poll::new().map_err(failed)?;
    let (tx, mailbox) = mailbox::mailbox(poll.registry(), WAKE).map_err(failed)?;
    let http = ably_net::http::agent(
        opts.core.http_open_timeout,
        opts.core.http_request_timeout,
        &trust,
    );
    let wakeups = Arc::new(AtomicU64::new(0));
    let registry = poll.registry().try_clone().map_err(failed)?;
    let state = Arc::new(Mutex::new(State {
        dispatcher,
        clock,
        registry,
        mailbox,
        tx: tx.clone(),
        socket: None,
        auth_callback: opts.auth_callback.clone(),
        http,
        trust,
        write_timeout: opts.core.realtime_request_timeout,
        more: false,
        mail_held: false,
        running: true,
        sleeps_for: None,
    }));
    let driver = Driver {
        poll,
        events: Events::with_capacity(8),
        state: state.clone(),
        wakeups: wakeups.clone(),
    };
    let thread = std::thread::Builder::new()
        .name("ably-driver".into())
        .spawn(move || driver.run())
        .map_err(|e| ErrorInfo::new(50000, 500, format!("could not start a thread: {e}")))?;
    Ok(Started {
        post: Post { state, tx },
        shared,
        thread,
        wakeups,
    })
}

/// A running driver, as [`start`] returns it.
pub(crate) struct Started {
    pub post: Post,
    pub shared: SharedSnapshot,
    pub thread: std::thread::JoinHandle<()>,
    /// How many times the driver has returned from waiting.
    pub wakeups: Arc<AtomicU64>,
}

/// Locks the state; a panic in a subscriber's callback while another
/// thread held it leaves nothing half-done that the loop cannot go on
/// from.
fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

impl Driver {
    fn run(mut self) {
        {
            // With autoConnect the core is already connecting; a first
            // input lets it emit its outputs.
            let mut state = lock(&self.state);
            let now = state.clock.now();
            state.dispatcher.handle(now, Input::Timeout);
            state.carry_out();
        }
        loop {
            let timeout = {
                let mut state = lock(&self.state);
                state.mark_ready(&self.events);
                state.turn();
                if !state.running {
                    break;
                }
                state.plan_sleep()
            };
            self.wait(timeout);
        }
        let conn = lock(&self.state).take_socket();
        if let Some(conn) = conn {
            close(conn);
        }
    }

    /// Step 1 of the loop: sleep (without the state's lock) until a
    /// message arrives in the mailbox, the socket becomes readable (or
    /// writable, while writes wait for it), or `timeout` passes.
    fn wait(&mut self, timeout: Option<Duration>) {
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => self.events.clear(),
            // Only a bug can get here (a bad poller); end the client
            // rather than spin. Callers then get 80017.
            Err(_) => {
                self.events.clear();
                lock(&self.state).shutdown();
            }
        }
        self.wakeups.fetch_add(1, Ordering::Relaxed);
    }
}

impl State {
    /// Steps 2 to 4 of the loop, once the driver thread is awake.
    fn turn(&mut self) {
        self.sleeps_for = None;
        self.take_messages();
        self.read_socket();
        self.on_deadline();
        self.flush_socket();
        self.note_tls_data();
    }

    /// Takes the poller's news about the socket. A WAKE event needs no
    /// handling: every turn drains the mailbox.
    fn mark_ready(&mut self, events: &Events) {
        for event in events.iter() {
            if let (SOCKET, Some(conn)) = (event.token(), &mut self.socket) {
                conn.readable |= event.is_readable() || event.is_read_closed() || event.is_error();
                conn.writable |= event.is_writable() || event.is_write_closed();
            }
        }
    }

    /// A write that found the socket full may have read from it instead
    /// (rustls does so); what it read is no news to the poller.
    fn note_tls_data(&mut self) {
        if let Some(conn) = self.socket.as_mut().filter(|c| tls_holds_data(&c.ws)) {
            conn.readable = true;
            self.more = true;
        }
    }

    /// Writes wait for the socket to take more.
    fn writes_wait(&self) -> bool {
        self.socket
            .as_ref()
            .is_some_and(|c| c.blocked_since.is_some())
    }

    /// How long the driver thread may sleep; notes the deadline in
    /// `sleeps_for`.
    fn plan_sleep(&mut self) -> Option<Duration> {
        let look_again = self.more || (self.mail_held && !self.writes_wait());
        self.more = false;
        let timeout = if look_again {
            Some(Duration::ZERO)
        } else {
            self.next_wait()
        };
        self.sleeps_for = self.dispatcher.poll_timeout();
        timeout
    }

    /// After a turn taken by a handle: whether the sleeping driver thread
    /// must wake for what the turn left (more to read or take, writes
    /// waiting for the socket, the end of the client, or a deadline
    /// earlier than the one it sleeps until).
    fn driver_needed(&mut self) -> bool {
        self.note_tls_data();
        if self.more || self.mail_held || !self.running || self.writes_wait() {
            return true;
        }
        match (self.dispatcher.poll_timeout(), self.sleeps_for) {
            (Some(next), Some(planned)) => next < planned,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }

    /// How long [`wait`](Self::wait) may sleep; `None` for as long as it
    /// takes.
    fn next_wait(&self) -> Option<Duration> {
        let now = self.clock.now();
        let core = self
            .dispatcher
            .poll_timeout()
            .map(|at| at.saturating_since(now.instant));
        let writes = self
            .socket
            .as_ref()
            .and_then(|conn| conn.blocked_since)
            .map(|since| (since + self.write_timeout).saturating_duration_since(Instant::now()));
        match (core, writes) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Step 2, the mailbox: everything queued (up to [`BATCH`]) goes to
    /// the dispatcher, each followed by the I/O it caused. Publishes
    /// queued together are thus written together and flushed once.
    /// While writes wait for the socket, messages stay queued (their
    /// callers wait, as they would on a blocking write).
    fn take_messages(&mut self) {
        if self.writes_wait() {
            self.mail_held = true;
            return;
        }
        self.mail_held = false;
        self.mailbox.begin_drain();
        for _ in 0..BATCH {
            match self.mailbox.try_recv() {
                Ok(msg) => {
                    self.on_msg(msg);
                    self.carry_out();
                    if !self.running {
                        return;
                    }
                }
                Err(TryRecvError::Empty) => return,
                // Cannot happen while the driver holds a sender.
                Err(TryRecvError::Disconnected) => {
                    self.shutdown();
                    return;
                }
            }
        }
        self.more = true;
    }

    /// Step 2, the socket: read frames until a read would block (up to
    /// [`BATCH`]), each followed by the I/O it caused. TLS may hold
    /// decrypted data the poller knows nothing of, so reading goes on
    /// until the socket itself has nothing.
    fn read_socket(&mut self) {
        for _ in 0..BATCH {
            let Some(conn) = self.socket.as_mut().filter(|c| c.readable) else {
                return;
            };
            let event = match conn.ws.read() {
                Ok(message) => ws::to_event(message),
                Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => {
                    conn.readable = false;
                    return;
                }
                Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::Interrupted => None,
                Err(e) => Some(ws::lost(&e)),
            };
            if let Some(event) = event {
                if matches!(event, TransportEvent::Closed(_)) {
                    self.take_socket();
                }
                self.dispatcher.transport(self.clock.now(), event);
                self.carry_out();
            }
        }
        self.more = true;
    }

    /// Step 2, the clock: `Input::Timeout` once the core's deadline has
    /// passed.
    fn on_deadline(&mut self) {
        let now = self.clock.now();
        if self
            .dispatcher
            .poll_timeout()
            .is_some_and(|at| now.instant >= at)
        {
            self.dispatcher.handle(now, Input::Timeout);
            self.carry_out();
        }
    }

    /// Step 4: write out the frames of this turn. If the socket cannot
    /// take them all, watch it for writability until it has; if it takes
    /// nothing for the write timeout, the connection is lost (RTN15).
    fn flush_socket(&mut self) {
        let Some(conn) = &mut self.socket else {
            return;
        };
        let failure = match conn.ws.flush() {
            Ok(()) => {
                conn.blocked_since = None;
                None
            }
            Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => {
                let now = Instant::now();
                match conn.blocked_since {
                    Some(since) if !conn.writable => {
                        let stalled = now.saturating_duration_since(since);
                        (stalled >= self.write_timeout).then(|| {
                            format!("the socket took no data for {} ms", stalled.as_millis())
                        })
                    }
                    _ => {
                        conn.blocked_since = Some(now);
                        None
                    }
                }
            }
            Err(e) => Some(e.to_string()),
        };
        conn.writable = false;
        if let Some(error) = failure {
            self.take_socket();
            self.dispatcher.send_failed(self.clock.now(), &error);
            self.carry_out();
            return;
        }
        let watch = conn.blocked_since.is_some();
        if watch != conn.watching_writes {
            let interest = if watch {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            // On failure the write timeout ends a connection left waiting.
            if let Some(tcp) = tcp_of(&mut conn.ws) {
                if self.registry.reregister(tcp, SOCKET, interest).is_ok() {
                    conn.watching_writes = watch;
                }
            }
        }
    }

    fn on_msg(&mut self, msg: Msg) {
        let now = self.clock.now();
        match msg {
            Msg::Command(command, reply) => self.dispatcher.command(now, command, reply),
            Msg::Subscribe(sub, ack) => {
                self.dispatcher.subscribe(sub);
                let _ = ack.send(());
            }
            Msg::Query(query) => query(self.dispatcher.client_mut()),
            Msg::Opened(generation, result) => {
                let (conn, result) = match result.and_then(|ws| self.register(ws)) {
                    Ok(conn) => (Some(conn), Ok(())),
                    Err(e) => (None, Err(e)),
                };
                if self.dispatcher.opened(now, generation, result) {
                    self.take_socket();
                    self.socket = conn;
                } else if let Some(mut conn) = conn {
                    if let Some(tcp) = tcp_of(&mut conn.ws) {
                        let _ = self.registry.deregister(tcp);
                    }
                }
            }
            Msg::Token(request, result) => {
                self.dispatcher.handle(now, Input::Token(request, result))
            }
            Msg::Http(request, result) => self.dispatcher.handle(now, Input::Http(request, result)),
            Msg::Shutdown => self.shutdown(),
        }
    }

    /// Registers a newly opened socket with the poller.
    fn register(&self, mut ws: Box<Socket>) -> Result<Conn, ErrorInfo> {
        let tcp = tcp_of(&mut ws).ok_or_else(|| ws::connect_failed(&"unknown stream"))?;
        self.registry
            .register(tcp, SOCKET, Interest::READABLE)
            .map_err(|e| ws::connect_failed(&e))?;
        Ok(Conn {
            ws,
            readable: true,
            writable: false,
            blocked_since: None,
            watching_writes: false,
        })
    }

    /// Takes the socket out of the driver and the poller.
    fn take_socket(&mut self) -> Option<Conn> {
        let mut conn = self.socket.take()?;
        if let Some(tcp) = tcp_of(&mut conn.ws) {
            let _ = self.registry.deregister(tcp);
        }
        Some(conn)
    }

    /// The last handle is gone: say goodbye to the service if connected
    /// (the frame is written when the loop ends); nobody waits for CLOSED.
    fn shutdown(&mut self) {
        if self.running {
            self.running = false;
            self.dispatcher.close(self.clock.now());
            self.carry_out();
        }
    }

    /// Step 3 of the loop: carry out the I/O the core asks for (the
    /// dispatcher has delivered the events already). Frames go into the
    /// socket's buffer; [`flush_socket`](Self::flush_socket) writes them
    /// out once per turn.
    fn carry_out(&mut self) {
        while let Some(io) = self.dispatcher.next_io() {
            match io {
                Io::Open { generation, url } => {
                    self.take_socket();
                    let tx = self.tx.clone();
                    let opts = self.dispatcher.client().options();
                    let (open_timeout, handshake_timeout) =
                        (opts.http_open_timeout, opts.realtime_request_timeout);
                    let tls = self.trust.client_config();
                    std::thread::spawn(move || {
                        let result = open(&url, tls, open_timeout, handshake_timeout).map(Box::new);
                        let _ = tx.send(Msg::Opened(generation, result));
                    });
                }
                Io::Send(frame) => {
                    if let Some(conn) = &mut self.socket {
                        match conn.ws.write(ws::to_message(frame)) {
                            // Queued; a full buffer is written out when the
                            // socket is writable again.
                            Ok(()) => {}
                            Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => {
                            }
                            Err(e) => {
                                self.take_socket();
                                self.dispatcher.send_failed(self.clock.now(), &e);
                            }
                        }
                    }
                }
                Io::Close => {
                    if let Some(conn) = self.take_socket() {
                        close(conn);
                    }
                }
                Io::FetchToken { request, params } => {
                    let tx = self.tx.clone();
                    let callback = self.auth_callback.clone();
                    std::thread::spawn(move || {
                        let result = match callback {
                            Some(cb) => (cb.0)(&params),
                            None => Err(ErrorInfo::new(40170, 401, "no authCallback was given")),
                        };
                        let _ = tx.send(Msg::Token(request, result));
                    });
                }
                Io::Http { request, http } => {
                    let tx = self.tx.clone();
                    let agent = self.http.clone();
                    std::thread::spawn(move || {
                        let result = ably_net::http::execute(&agent, http);
                        let _ = tx.send(Msg::Http(request, result));
                    });
                }
            }
        }
    }
}

/// Closes a socket the driver has let go of: the close frame (after any
/// frames still buffered) is written blocking, for at most
/// [`CLOSE_WAIT`] per write. A socket whose writes were already waiting
/// is dropped as it is.
fn close(mut conn: Conn) {
    if conn.blocked_since.is_some() {
        return;
    }
    if let Some(tcp) = tcp_of(&mut conn.ws) {
        let sock = SockRef::from(&*tcp);
        if sock.set_nonblocking(false).is_err() || sock.set_write_timeout(Some(CLOSE_WAIT)).is_err()
        {
            return;
        }
    }
    let _ = conn.ws.close(None);
}

/// Opens a WebSocket on a helper thread: TCP with a connect timeout, then
/// the handshake (TLS by rustls with `tls` for `wss://`), both blocking
/// with timeouts. The socket is handed over non-blocking.
fn open(
    url: &str,
    tls: Arc<ably_net::tls::ClientConfig>,
    connect_timeout: Duration,
    handshake: Duration,
) -> Result<Socket, ErrorInfo> {
    let fail = |e: &dyn std::fmt::Display| ws::connect_failed(e);
    let (host, port) = ws::host_port(url)?;
    let addrs: Vec<_> = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|e| fail(&e))?
        .collect();
    let mut last = fail(&format!("no address for {host}"));
    let mut stream = None;
    for addr in addrs {
        match StdTcpStream::connect_timeout(&addr, connect_timeout) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = fail(&e),
        }
    }
    let stream = stream.ok_or(last)?;
    let _ = stream.set_nodelay(true);
    stream
        .set_read_timeout(Some(handshake))
        .map_err(|e| fail(&e))?;
    stream
        .set_write_timeout(Some(handshake))
        .map_err(|e| fail(&e))?;
    // mio's stream reads and writes like std's; in blocking mode (until
    // the end of the handshake) the timeouts above apply.
    let stream = TcpStream::from_std(stream);
    let config = ws::config();
    let connector = tungstenite::Connector::Rustls(tls);
    let (mut socket, _response) =
        tungstenite::client_tls_with_config(url, stream, Some(config), Some(connector))
            .map_err(|e| fail(&e))?;
    if let MaybeTlsStream::Rustls(tls) = socket.get_mut() {
        // rustls caps its buffer of unsent records, and with the socket
        // full it would then take nothing, which tungstenite reads as a
        // reset. The driver bounds what it writes while the socket is
        // full instead (it takes no new commands).
        tls.conn.set_buffer_limit(None);
    }
    let tcp = tcp_of(&mut socket).ok_or_else(|| fail(&"unknown stream"))?;
    SockRef::from(&*tcp)
        .set_nonblocking(true)
        .map_err(|e| fail(&e))?;
    Ok(socket)
}

/// Whether rustls holds decrypted data (or the peer's close) that no
/// read has taken yet.
fn tls_holds_data(socket: &Socket) -> bool {
    match socket.get_ref() {
        MaybeTlsStream::Rustls(tls) => !tls.conn.wants_read(),
        _ => false,
    }
}

/// The TCP stream under the WebSocket (and TLS).
fn tcp_of(socket: &mut Socket) -> Option<&mut TcpStream> {
    match socket.get_mut() {
        MaybeTlsStream::Plain(s) => Some(s),
        MaybeTlsStream::Rustls(s) => Some(&mut s.sock),
        _ => None,
    }
}

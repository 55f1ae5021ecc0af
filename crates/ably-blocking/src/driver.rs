//! The driver: one thread per client owning the
//! [`Dispatcher`](ably_proto::adapter::Dispatcher) (the sans-IO client
//! with its waiting callers, subscribers and snapshot) and the WebSocket.
//! It runs the loop of `ably_proto::adapter` (see the crate docs for this
//! adapter's version). Everything here is I/O plumbing; protocol
//! decisions are the core's.

use std::io::ErrorKind;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::time::Duration;

use ably_net::clock::{Clock, os_seed};
use ably_net::ws;
use ably_proto::ErrorInfo;
use ably_proto::adapter::{Dispatcher, Io, Reply, SharedSnapshot, Subscriber};
use ably_proto::client::{
    AuthResponse, Client, Command, Generation, HttpResponse, Input, RequestId,
};
use tungstenite::WebSocket;
use tungstenite::stream::MaybeTlsStream;

use crate::options::{AuthCallback, ClientOptions};

/// How long a read on the socket blocks at most before the driver looks
/// at its command channel again. See "Waking up" in the crate docs.
pub const POLL_INTERVAL: Duration = Duration::from_millis(5);

/// The longest the driver sleeps when the core has no deadline.
const IDLE_WAIT: Duration = Duration::from_secs(60);

pub(crate) type Socket = WebSocket<MaybeTlsStream<TcpStream>>;

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
    Token(RequestId, Result<AuthResponse, ErrorInfo>),
    Http(RequestId, Result<HttpResponse, ErrorInfo>),
    Shutdown,
}

pub(crate) struct Driver {
    dispatcher: Dispatcher,
    clock: Clock,
    rx: Receiver<Msg>,
    /// Cloned into helper threads so that their results come back here.
    tx: Sender<Msg>,
    socket: Option<Box<Socket>>,
    auth_callback: Option<AuthCallback>,
    http: ably_net::http::Agent,
    running: bool,
}

/// Creates the core (so that invalid options fail here, synchronously),
/// starts the driver thread, and returns the channel into it.
pub(crate) fn start(opts: &ClientOptions) -> Result<Started, ErrorInfo> {
    let clock = Clock::new();
    let client = Client::new(opts.core.clone(), os_seed(), clock.now())?;
    let dispatcher = Dispatcher::new(client);
    let shared = dispatcher.snapshot();
    let (tx, rx) = mpsc::channel();
    let http = ably_net::http::agent(opts.core.http_open_timeout, opts.core.http_request_timeout);
    let driver = Driver {
        dispatcher,
        clock,
        rx,
        tx: tx.clone(),
        socket: None,
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
    pub shared: SharedSnapshot,
    pub thread: std::thread::JoinHandle<()>,
}

impl Driver {
    fn run(mut self) {
        // With autoConnect the core is already connecting; a first input
        // lets it emit its outputs.
        self.dispatcher.handle(self.clock.now(), Input::Timeout);
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
        let deadline = self.dispatcher.poll_timeout();
        let wait = deadline
            .map(|at| at.saturating_since(self.clock.now().instant))
            .unwrap_or(IDLE_WAIT);
        if !wait.is_zero() {
            match &mut self.socket {
                Some(socket) => {
                    set_read_timeout(socket, wait.min(POLL_INTERVAL));
                    let event = match socket.read() {
                        Ok(message) => ws::to_event(message),
                        Err(tungstenite::Error::Io(e))
                            if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                        {
                            None
                        }
                        Err(e) => Some(ws::lost(&e)),
                    };
                    if let Some(event) = event {
                        if matches!(event, ably_proto::client::TransportEvent::Closed(_)) {
                            self.socket = None;
                        }
                        self.dispatcher.transport(self.clock.now(), event);
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
            if self.clock.now().instant >= at {
                self.dispatcher.handle(self.clock.now(), Input::Timeout);
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
                let (socket, result) = match result {
                    Ok(s) => (Some(s), Ok(())),
                    Err(e) => (None, Err(e)),
                };
                if self.dispatcher.opened(now, generation, result) {
                    self.socket = socket;
                }
            }
            Msg::Token(request, result) => {
                self.dispatcher.handle(now, Input::Token(request, result))
            }
            Msg::Http(request, result) => self.dispatcher.handle(now, Input::Http(request, result)),
            Msg::Shutdown => self.shutdown(),
        }
    }

    fn shutdown(&mut self) {
        if !self.running {
            return;
        }
        self.running = false;
        // Say goodbye to the service if connected; nobody waits for CLOSED.
        self.dispatcher.close(self.clock.now());
        self.flush();
        if let Some(mut socket) = self.socket.take() {
            let _ = socket.close(None);
            let _ = socket.flush();
        }
    }

    /// Steps 2 and 3 of the loop: carry out the I/O the core asks for
    /// (the dispatcher has delivered the events already).
    fn flush(&mut self) {
        while let Some(io) = self.dispatcher.next_io() {
            match io {
                Io::Open { generation, url } => {
                    self.socket = None;
                    let tx = self.tx.clone();
                    let opts = self.dispatcher.client().options();
                    let (open_timeout, handshake_timeout) =
                        (opts.http_open_timeout, opts.realtime_request_timeout);
                    std::thread::spawn(move || {
                        let result = open(&url, open_timeout, handshake_timeout).map(Box::new);
                        let _ = tx.send(Msg::Opened(generation, result));
                    });
                }
                Io::Send(frame) => {
                    if let Some(socket) = &mut self.socket {
                        if let Err(e) = socket.send(ws::to_message(frame)) {
                            self.socket = None;
                            self.dispatcher.send_failed(self.clock.now(), &e);
                        }
                    }
                }
                Io::Close => {
                    if let Some(mut socket) = self.socket.take() {
                        let _ = socket.close(None);
                        let _ = socket.flush();
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

/// Opens a WebSocket on a helper thread: TCP with a connect timeout, then
/// the handshake (TLS by rustls with the webpki roots for `wss://`).
fn open(url: &str, connect_timeout: Duration, handshake: Duration) -> Result<Socket, ErrorInfo> {
    let fail = |e: &dyn std::fmt::Display| ws::connect_failed(e);
    let (host, port) = ws::host_port(url)?;
    let addrs: Vec<_> = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|e| fail(&e))?
        .collect();
    let mut last = fail(&format!("no address for {host}"));
    let mut stream = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, connect_timeout) {
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
    ably_net::tls::install_provider();
    let (socket, _response) = tungstenite::client_tls(url, stream).map_err(|e| fail(&e))?;
    Ok(socket)
}

fn set_read_timeout(socket: &mut Socket, d: Duration) {
    let tcp = match socket.get_mut() {
        MaybeTlsStream::Plain(s) => s,
        MaybeTlsStream::Rustls(s) => s.get_mut(),
        _ => return,
    };
    let _ = tcp.set_read_timeout(Some(d.max(Duration::from_millis(1))));
}

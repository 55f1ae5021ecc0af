//! The driver: one task per client owning the
//! [`Dispatcher`](ably_proto::adapter::Dispatcher) and the WebSocket. It
//! runs the loop of `ably_proto::adapter` (see the crate docs for how it
//! waits). Everything here is I/O plumbing; protocol decisions are the
//! core's.

use std::future::poll_fn;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use ably_net::clock::{Clock, os_seed};
use ably_net::ws;
use ably_proto::ErrorInfo;
use ably_proto::adapter::{Dispatcher, Io, Reply, SharedSnapshot, Subscriber};
use ably_proto::client::{
    AuthResponse, Client, Command, Generation, HttpResponse, Input, Instant, RequestId,
    TransportEvent,
};
use futures_channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use futures_channel::oneshot;
use futures_util::{FutureExt, SinkExt, StreamExt};
use tungstenite::{Error as WsError, Message};

use crate::options::{AuthCallback, ClientOptions};
use crate::read_wake::ReadWake;
use crate::runtime::{BoxFuture, BoxSocket, Runtime, unblock, until};

/// The most messages (from the handles, or from the socket) the driver
/// takes in one wake-up before it carries out the I/O they caused and
/// flushes the socket once.
const BATCH: usize = 64;

/// How long closing a socket may take (sending the close frame) before it
/// is simply dropped.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// A closure run on the driver with the client, for reads that need the
/// core's current state (e.g. a recovery key).
pub(crate) type Query = Box<dyn FnOnce(&mut Client) + Send>;

/// What reaches the driver: from API handles, and from the helper tasks
/// that open sockets, make HTTP requests and run the authCallback.
// Moved once through the channel; boxing commands would cost an
// allocation per publish for no gain.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Msg {
    Command(Command, Reply),
    Subscribe(Subscriber, oneshot::Sender<()>),
    Query(Query),
    Opened(Generation, Result<BoxSocket, ErrorInfo>),
    Token(RequestId, Result<AuthResponse, ErrorInfo>),
    Http(RequestId, Result<HttpResponse, ErrorInfo>),
    Shutdown,
}

/// What woke the driver up.
#[derive(Default)]
struct Wake {
    msgs: Vec<Msg>,
    reads: Vec<Result<Message, WsError>>,
    /// The socket's stream ended.
    ended: bool,
    /// Every sender is gone (cannot happen while the driver holds one).
    orphaned: bool,
    timer: bool,
}

struct Driver<R: Runtime> {
    dispatcher: Dispatcher,
    clock: Clock,
    rx: UnboundedReceiver<Msg>,
    /// Cloned into helper tasks so that their results come back here.
    tx: UnboundedSender<Msg>,
    socket: Option<BoxSocket>,
    /// Whether the socket is to be polled, and the waker it is polled with.
    read_wake: Arc<ReadWake>,
    read_waker: Waker,
    /// The armed timer and the deadline it is for (the core's deadline or
    /// an earlier one it has since moved from).
    timer: Option<(Instant, BoxFuture<()>)>,
    auth_callback: Option<AuthCallback>,
    http: ably_net::http::Agent,
    /// The rustls configuration of `wss://` connections (the options'
    /// roots).
    tls: Arc<ably_net::tls::ClientConfig>,
    runtime: Arc<R>,
    running: bool,
}

/// A running driver, as [`start`] returns it.
pub(crate) struct Started {
    pub tx: UnboundedSender<Msg>,
    pub shared: SharedSnapshot,
    /// The driver's loop: it ends when the client shuts down.
    pub task: BoxFuture<()>,
}

/// Creates the core (so that invalid options fail here, synchronously),
/// and returns the channel into it and the driver task, for the caller to
/// spawn (or to poll where it likes).
pub(crate) fn start<R: Runtime>(
    opts: &ClientOptions,
    runtime: Arc<R>,
) -> Result<Started, ErrorInfo> {
    let clock = Clock::new();
    let client = Client::new(opts.core.clone(), os_seed(), clock.now())?;
    let trust = ably_net::tls::Trust::with_extra_roots(&opts.tls_root_certificates)?;
    let dispatcher = Dispatcher::new(client);
    let shared = dispatcher.snapshot();
    let (tx, rx) = unbounded();
    let http = ably_net::http::agent(
        opts.core.http_open_timeout,
        opts.core.http_request_timeout,
        &trust,
    );
    let (read_wake, read_waker) = ReadWake::new();
    let driver = Driver {
        dispatcher,
        clock,
        rx,
        tx: tx.clone(),
        socket: None,
        read_wake,
        read_waker,
        timer: None,
        auth_callback: opts.auth_callback.clone(),
        http,
        tls: trust.client_config(),
        runtime: runtime.clone(),
        running: true,
    };
    Ok(Started {
        tx,
        shared,
        task: Box::pin(driver.run()),
    })
}

impl<R: Runtime> Driver<R> {
    async fn run(mut self) {
        // With autoConnect the core is already connecting; a first input
        // lets it emit its outputs.
        self.dispatcher.handle(self.clock.now(), Input::Timeout);
        self.carry_out().await;
        while self.running {
            let wake = self.wait().await;
            self.take(wake).await;
            self.flush_socket().await;
        }
    }

    /// Step 1 of the loop: wait for the first of a message from the
    /// handles or helpers, a socket read, or the core's deadline; take
    /// whatever else is ready too, up to [`BATCH`] of each.
    async fn wait(&mut self) -> Wake {
        // The timer is re-armed only for an earlier deadline. A later one
        // (the idle timer, pushed back by every frame received, RTN23a)
        // waits for the armed timer to fire and find nothing due, which
        // spares a new timer per message.
        let deadline = self.dispatcher.poll_timeout();
        let armed = self.timer.as_ref().map(|(at, _)| *at);
        if let Some(at) = deadline.filter(|at| armed.is_none_or(|armed| at < &armed)) {
            self.timer = Some((at, self.runtime.sleep_until(self.clock.to_std(at))));
        }
        let mut wake = Wake::default();
        poll_fn(|cx| {
            while wake.msgs.len() < BATCH {
                match self.rx.poll_next_unpin(cx) {
                    Poll::Ready(Some(msg)) => wake.msgs.push(msg),
                    Poll::Ready(None) => {
                        wake.orphaned = true;
                        break;
                    }
                    Poll::Pending => break,
                }
            }
            // The socket only when it woke the task (see `ReadWake`).
            self.read_wake.register(cx.waker());
            if let Some(socket) = &mut self.socket
                && self.read_wake.take()
            {
                let mut read_cx = Context::from_waker(&self.read_waker);
                loop {
                    if wake.reads.len() == BATCH {
                        self.read_wake.set(); // more may be buffered
                        break;
                    }
                    match socket.poll_next_unpin(&mut read_cx) {
                        Poll::Ready(Some(read)) => {
                            wake.reads.push(read);
                            if wake.reads.last().is_some_and(Result::is_err) {
                                wake.ended = true;
                                break;
                            }
                        }
                        Poll::Ready(None) => {
                            wake.ended = true;
                            break;
                        }
                        Poll::Pending => break,
                    }
                }
            }
            if let Some((_, timer)) = &mut self.timer {
                wake.timer = timer.as_mut().poll(cx).is_ready();
            }
            let woken = !wake.msgs.is_empty()
                || !wake.reads.is_empty()
                || wake.ended
                || wake.orphaned
                || wake.timer;
            if woken {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
        wake
    }

    /// Step 2: feed what woke the driver into the dispatcher, one input
    /// at a time, each followed by the I/O it caused (step 3).
    async fn take(&mut self, wake: Wake) {
        if wake.timer {
            self.timer = None;
        }
        for read in wake.reads {
            if self.socket.is_none() {
                break; // closed or replaced meanwhile
            }
            let event = match read {
                Ok(message) => ws::to_event(message),
                Err(e) => Some(ws::lost(&e)),
            };
            if let Some(event) = event {
                self.transport(event);
                self.carry_out().await;
            }
        }
        if wake.ended && self.socket.is_some() {
            self.transport(ws::lost(&"the socket closed"));
            self.carry_out().await;
        }
        for msg in wake.msgs {
            self.on_msg(msg);
            self.carry_out().await;
        }
        if wake.orphaned {
            self.shutdown();
            self.carry_out().await;
        }
        if self.running {
            let now = self.clock.now();
            if self
                .dispatcher
                .poll_timeout()
                .is_some_and(|at| now.instant >= at)
            {
                self.dispatcher.handle(now, Input::Timeout);
                self.carry_out().await;
            }
        }
        if !self.running {
            self.flush_socket().await;
            if let Some(socket) = self.socket.take() {
                self.close_socket(socket);
            }
        }
    }

    /// An event of the open socket; its end drops the socket.
    fn transport(&mut self, event: TransportEvent) {
        if matches!(event, TransportEvent::Closed(_)) {
            self.socket = None;
        }
        self.dispatcher.transport(self.clock.now(), event);
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
                    self.read_wake.set();
                } else if let Some(socket) = socket {
                    self.close_socket(socket);
                }
            }
            Msg::Token(request, result) => {
                self.dispatcher.handle(now, Input::Token(request, result))
            }
            Msg::Http(request, result) => self.dispatcher.handle(now, Input::Http(request, result)),
            Msg::Shutdown => self.shutdown(),
        }
    }

    /// The last handle is gone: say goodbye to the service if connected;
    /// nobody waits for CLOSED.
    fn shutdown(&mut self) {
        if self.running {
            self.running = false;
            self.dispatcher.close(self.clock.now());
        }
    }

    /// Step 3: carry out the I/O the core asks for (the dispatcher has
    /// delivered the events already). Frames are fed to the socket here
    /// and flushed once per wake-up.
    async fn carry_out(&mut self) {
        while let Some(io) = self.dispatcher.next_io() {
            match io {
                Io::Open { generation, url } => {
                    if let Some(old) = self.socket.take() {
                        self.close_socket(old);
                    }
                    let tx = self.tx.clone();
                    let opts = self.dispatcher.client().options();
                    let (open, handshake) = (opts.http_open_timeout, opts.realtime_request_timeout);
                    let tls = self.tls.clone();
                    let connecting = self.runtime.connect(url, tls, open, handshake);
                    self.runtime.spawn(Box::pin(async move {
                        let result = connecting.await;
                        let _ = tx.unbounded_send(Msg::Opened(generation, result));
                    }));
                }
                Io::Send(frame) => {
                    if let Some(socket) = &mut self.socket {
                        if let Err(e) = socket.feed(ws::to_message(frame)).await {
                            self.socket = None;
                            self.dispatcher.send_failed(self.clock.now(), &e);
                        }
                    }
                }
                Io::Close => {
                    if let Some(socket) = self.socket.take() {
                        self.close_socket(socket);
                    }
                }
                Io::FetchToken { request, params } => {
                    let tx = self.tx.clone();
                    let callback = self.auth_callback.clone();
                    self.runtime.spawn(Box::pin(async move {
                        let result = match callback {
                            Some(cb) => AssertUnwindSafe((cb.0)(params))
                                .catch_unwind()
                                .await
                                .unwrap_or_else(|_| {
                                    Err(ErrorInfo::new(40170, 401, "the authCallback panicked"))
                                }),
                            None => Err(ErrorInfo::new(40170, 401, "no authCallback was given")),
                        };
                        let _ = tx.unbounded_send(Msg::Token(request, result));
                    }));
                }
                Io::Http { request, http } => {
                    let tx = self.tx.clone();
                    let agent = self.http.clone();
                    let runtime = self.runtime.clone();
                    self.runtime.spawn(Box::pin(async move {
                        let job = move || ably_net::http::execute(&agent, http);
                        let result = unblock(&*runtime, job).await.unwrap_or_else(|| {
                            Err(ErrorInfo::new(50000, 500, "the HTTP request panicked"))
                        });
                        let _ = tx.unbounded_send(Msg::Http(request, result));
                    }));
                }
            }
        }
    }

    /// Sends the frames fed since the last flush.
    async fn flush_socket(&mut self) {
        if let Some(socket) = &mut self.socket {
            if let Err(e) = socket.flush().await {
                self.socket = None;
                self.dispatcher.send_failed(self.clock.now(), &e);
                self.carry_out().await;
            }
        }
    }

    /// Closes a socket the driver no longer reads, in a task of its own,
    /// giving up after [`CLOSE_WAIT`].
    fn close_socket(&self, mut socket: BoxSocket) {
        let runtime = self.runtime.clone();
        self.runtime.spawn(Box::pin(async move {
            let deadline = std::time::Instant::now() + CLOSE_WAIT;
            let _ = until(&*runtime, deadline, socket.close()).await;
        }));
    }
}

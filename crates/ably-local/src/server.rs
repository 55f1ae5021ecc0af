//! The tokio shell: one HTTP port serving the hub over WebSocket at `/`,
//! plus the REST endpoints clients need to connect (`GET /time`,
//! `POST /keys/{keyName}/requestToken`). With [`Config::tls`] the port
//! speaks HTTPS and WSS (see [`crate::tls`]).
//!
//! One task (the driver) owns the [`Hub`] and runs the loop described in
//! [`crate::hub`]; each WebSocket has a task that forwards its frames to the
//! driver and writes what the driver sends it. Queues are bounded: a
//! transport whose outbound queue fills (a client that does not read) is
//! dropped, as if its network failed, and can resume.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ably_proto::ErrorInfo;
use ably_proto::auth::{ApiKey, TokenDetails, TokenParams, TokenRequest};
use ably_proto::codec::{self, Format};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rand_core::{OsRng, RngCore};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::hub::{ConnectRequest, Hub, HubConfig, Input, Now, Output, StreamRequest, TransportId};
use crate::store::PersistentBroker;
use crate::tls::{TlsIdentity, TlsListener};
use crate::ws::{self, WsOut};
use crate::{rest, sse};

/// Frames queued per transport before it counts as stalled and is dropped.
pub const OUTBOUND_QUEUE: usize = 8192;
/// Inputs queued to the driver; readers wait when it is full.
pub const INBOUND_QUEUE: usize = 4096;
/// Events the driver handles before routing the hub's outputs.
const EVENT_BATCH: usize = 256;
/// The largest REST request body (bytes); larger ones get 413 (40009).
pub const MAX_BODY: usize = 2 << 20;
/// How long shutdown waits for DISCONNECTED to reach clients.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// How to run the service.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where to listen; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Full-access keys `appId.keyId:secret`; the app of each is created.
    /// With none, app `local` is created with a random key.
    pub keys: Vec<String>,
    /// Limits and defaults of the hub (its seed is drawn from the OS).
    pub hub: HubConfig,
    /// Where history, channel serials and apps are kept across restarts
    /// (see [`crate::store`]); `None` keeps everything in memory.
    pub data_dir: Option<std::path::PathBuf>,
    /// The certificate and key to serve HTTPS and WSS with; `None` serves
    /// plain HTTP and WS.
    pub tls: Option<TlsIdentity>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            keys: Vec::new(),
            hub: HubConfig::default(),
            data_dir: None,
            tls: None,
        }
    }
}

/// A REST call run by the driver against the hub.
pub(crate) type HubCall = Box<dyn FnOnce(&mut Hub, Now) + Send>;

/// What the transport and REST tasks tell the driver.
pub(crate) enum Event {
    Open {
        id: TransportId,
        request: ConnectRequest,
        out: mpsc::Sender<WsOut>,
    },
    Frame {
        id: TransportId,
        data: Bytes,
    },
    Closed {
        id: TransportId,
    },
    RequestToken {
        key_name: String,
        request: Box<TokenRequest>,
        reply: oneshot::Sender<Result<TokenDetails, ErrorInfo>>,
    },
    IssueToken {
        key: String,
        params: Box<TokenParams>,
        reply: oneshot::Sender<Result<TokenDetails, ErrorInfo>>,
    },
    /// An SSE or event-stream request.
    OpenStream {
        id: TransportId,
        request: StreamRequest,
        out: mpsc::Sender<WsOut>,
    },
    /// A REST call: runs against the hub, answers through its own channel.
    Call(HubCall),
    Shutdown {
        done: oneshot::Sender<()>,
    },
    DropTransports {
        done: oneshot::Sender<usize>,
    },
}

/// Shared by the HTTP handlers.
#[derive(Clone)]
pub(crate) struct AppState {
    pub events: mpsc::Sender<Event>,
    pub next_id: Arc<AtomicU64>,
    pub max_frame_size: usize,
    /// Held by every WebSocket task; shutdown waits until all are dropped.
    pub alive: mpsc::Sender<()>,
}

/// A running service. Dropping it leaves the service running until the
/// runtime ends; call [`Server::shutdown`] to stop it gracefully.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    keys: Vec<String>,
    events: mpsc::Sender<Event>,
    stop: Option<oneshot::Sender<()>>,
    alive_rx: Option<mpsc::Receiver<()>>,
    http: Option<JoinHandle<io::Result<()>>>,
    driver: Option<JoinHandle<()>>,
}

pub(crate) fn now_wall() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn random_text(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..len)
        .map(|_| ALPHABET[(OsRng.next_u32() as usize) % ALPHABET.len()] as char)
        .collect()
}

impl Server {
    /// Binds, creates the apps, and serves in the current tokio runtime.
    pub async fn start(config: Config) -> io::Result<Server> {
        let invalid = |e: ErrorInfo| io::Error::new(io::ErrorKind::InvalidInput, e.to_string());
        let tls = config.tls.as_ref().map(|t| t.server_config()).transpose()?;
        let mut hub_config = config.hub.clone();
        hub_config.seed = OsRng.next_u64();
        let max_frame_size = hub_config.max_frame_size;
        let mut hub = match &config.data_dir {
            None => Hub::new(hub_config),
            Some(dir) => {
                let now = Now {
                    mono_ms: 0,
                    wall_ms: now_wall(),
                };
                let broker =
                    PersistentBroker::open(dir, hub_config.retention, hub_config.seed, now)
                        .map_err(|e| {
                            io::Error::other(format!("data dir {}: {e}", dir.display()))
                        })?;
                Hub::with_broker(hub_config, Box::new(broker))
            }
        };
        let mut keys = config.keys.clone();
        if keys.is_empty() {
            // A key generated before (kept in the data dir) is used again.
            if let Some(app) = hub.app("local") {
                keys.extend(app.keys().map(|(k, _)| k.to_key_string()));
            }
        }
        if keys.is_empty() {
            keys.push(format!("local.{}:{}", random_text(6), random_text(32)));
        }
        for key in &keys {
            let parsed = ApiKey::parse(key).map_err(invalid)?;
            hub.add_app_with_key(parsed.app_id(), key)
                .map_err(invalid)?;
        }
        let listener = TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let (events, events_rx) = mpsc::channel(INBOUND_QUEUE);
        let (alive, alive_rx) = mpsc::channel(1);
        let driver = tokio::spawn(drive(hub, events_rx));
        let state = AppState {
            events: events.clone(),
            next_id: Arc::new(AtomicU64::new(1)),
            max_frame_size,
            alive,
        };
        let app = Router::new()
            .route("/", get(ws::upgrade))
            .route("/time", get(time))
            .route("/keys/{key_name}/requestToken", post(request_token))
            .route(
                "/channels/{channel}/messages",
                post(rest::publish).get(rest::history),
            )
            .route("/channels/{channel}/history", get(rest::history))
            .route("/channels/{channel}/presence", get(rest::presence))
            .route(
                "/channels/{channel}/presence/history",
                get(rest::presence_history),
            )
            .route("/apps", post(rest::create_app))
            .route("/apps/{app_id}", axum::routing::delete(rest::delete_app))
            .route("/sse", get(sse::sse))
            .route("/event-stream", get(sse::event_stream))
            .fallback(rest::not_found)
            .method_not_allowed_fallback(rest::method_not_allowed)
            .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
            .with_state(state);
        let (stop, stop_rx) = oneshot::channel::<()>();
        let http = match tls {
            None => {
                // Small frames go out at once rather than waiting for the
                // peer's delayed ACK (Nagle), which would add tens of ms.
                let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                    let _ = tcp.set_nodelay(true);
                });
                tokio::spawn(serve(listener, app, stop_rx))
            }
            Some(tls) => tokio::spawn(serve(TlsListener::new(listener, tls), app, stop_rx)),
        };
        Ok(Server {
            addr,
            keys,
            events,
            stop: Some(stop),
            alive_rx: Some(alive_rx),
            http: Some(http),
            driver: Some(driver),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The full-access keys, `appId.keyId:secret`.
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// For tests: drops every transport at once, as a network failure
    /// would (the socket closes, no DISCONNECTED), keeping each connection
    /// resumable. Returns how many were dropped.
    pub async fn drop_connections(&self) -> usize {
        let (done, done_rx) = oneshot::channel();
        if self
            .events
            .send(Event::DropTransports { done })
            .await
            .is_err()
        {
            return 0;
        }
        done_rx.await.unwrap_or(0)
    }

    /// Tells every client DISCONNECTED (so that it resumes elsewhere),
    /// waits briefly for that to be sent, and stops.
    pub async fn shutdown(mut self) {
        let (done, done_rx) = oneshot::channel();
        if self.events.send(Event::Shutdown { done }).await.is_ok() {
            let _ = done_rx.await;
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(http) = self.http.take() {
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, http).await;
        }
        // The HTTP state (holding the `alive` sender) is gone with the
        // server; wait for the WebSocket tasks to flush and end.
        if let Some(mut alive) = self.alive_rx.take() {
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, alive.recv()).await;
        }
        if let Some(driver) = self.driver.take() {
            driver.abort();
            // Waits until the hub (and any data store it holds) is dropped.
            let _ = driver.await;
        }
    }
}

/// Serves `app` on `listener` until `stop`, then lets the open connections
/// finish.
async fn serve<L>(listener: L, app: Router, stop: oneshot::Receiver<()>) -> io::Result<()>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = stop.await;
        })
        .await
}

/// The driver: owns the hub, feeds it events and timeouts, routes outputs.
async fn drive(mut hub: Hub, mut events: mpsc::Receiver<Event>) {
    let start = Instant::now();
    let now = || Now {
        mono_ms: start.elapsed().as_millis() as u64,
        wall_ms: now_wall(),
    };
    let mut outs: BTreeMap<TransportId, mpsc::Sender<WsOut>> = BTreeMap::new();
    let mut shutting_down: Option<oneshot::Sender<()>> = None;
    loop {
        let event = match hub.poll_timeout() {
            Some(at) => {
                let deadline = tokio::time::Instant::from_std(start + Duration::from_millis(at));
                tokio::select! {
                    e = events.recv() => e,
                    _ = tokio::time::sleep_until(deadline) => {
                        hub.handle(now(), Input::Timeout);
                        route(&mut hub, &mut outs);
                        continue;
                    }
                }
            }
            None => events.recv().await,
        };
        let Some(event) = event else {
            break;
        };
        // Every event already queued is handled (up to a bound) before the
        // outputs are routed: one clock read and one wake-up of each
        // transport task per batch rather than per frame.
        let at = now();
        handle_event(&mut hub, at, event, &mut outs, &mut shutting_down);
        for _ in 1..EVENT_BATCH {
            if shutting_down.is_some() {
                break;
            }
            match events.try_recv() {
                Ok(event) => handle_event(&mut hub, at, event, &mut outs, &mut shutting_down),
                Err(_) => break,
            }
        }
        route(&mut hub, &mut outs);
        if let Some(done) = shutting_down.take() {
            // Every transport has its DISCONNECTED and Close queued.
            outs.clear();
            let _ = done.send(());
            shutting_down = None;
            // Keep answering (nothing) until the shell goes away.
        }
    }
}

/// One event from the shell, applied to the hub (outputs are routed by
/// the caller).
fn handle_event(
    hub: &mut Hub,
    now: Now,
    event: Event,
    outs: &mut BTreeMap<TransportId, mpsc::Sender<WsOut>>,
    shutting_down: &mut Option<oneshot::Sender<()>>,
) {
    match event {
        Event::Open { id, request, out } => {
            if shutting_down.is_some() {
                return;
            }
            outs.insert(id, out);
            hub.handle(
                now,
                Input::Open {
                    transport: id,
                    request,
                },
            );
        }
        Event::Frame { id, data } => hub.handle(
            now,
            Input::Frame {
                transport: id,
                data,
            },
        ),
        Event::Closed { id } => {
            outs.remove(&id);
            hub.handle(now, Input::Closed { transport: id });
        }
        Event::RequestToken {
            key_name,
            request,
            reply,
        } => {
            let _ = reply.send(hub.request_token(now, &key_name, &request));
        }
        Event::IssueToken { key, params, reply } => {
            let _ = reply.send(hub.issue_token(now, &key, &params));
        }
        Event::OpenStream { id, request, out } => {
            if shutting_down.is_some() {
                return;
            }
            outs.insert(id, out);
            hub.handle(
                now,
                Input::OpenStream {
                    transport: id,
                    request,
                },
            );
        }
        Event::Call(call) => call(hub, now),
        Event::Shutdown { done } => {
            hub.handle(now, Input::Shutdown);
            *shutting_down = Some(done);
        }
        Event::DropTransports { done } => {
            // What earlier events of the batch queued goes out first.
            route(hub, outs);
            // Dropping a sender ends its task, which closes the socket.
            let ids: Vec<TransportId> = std::mem::take(outs).into_keys().collect();
            for transport in &ids {
                hub.handle(
                    now,
                    Input::Closed {
                        transport: *transport,
                    },
                );
            }
            let _ = done.send(ids.len());
        }
    }
}

/// Hands the hub's outputs to the transport tasks. A transport whose queue
/// is full or gone is dropped and the hub told so.
fn route(hub: &mut Hub, outs: &mut BTreeMap<TransportId, mpsc::Sender<WsOut>>) {
    loop {
        let mut lost = Vec::new();
        while let Some(out) = hub.poll_output() {
            let (t, msg, close) = match out {
                Output::Send {
                    transport,
                    data,
                    binary,
                } => (transport, WsOut::Frame { data, binary }, false),
                Output::Ping { transport } => (transport, WsOut::Ping, false),
                Output::Stream { transport, item } => (transport, WsOut::Stream(item), false),
                Output::Close { transport } => (transport, WsOut::Close, true),
            };
            let Some(tx) = outs.get(&t) else {
                continue;
            };
            if tx.try_send(msg).is_err() {
                outs.remove(&t);
                if !close {
                    lost.push(t);
                }
            } else if close {
                outs.remove(&t);
            }
        }
        if lost.is_empty() {
            return;
        }
        let now = Now {
            mono_ms: 0,
            wall_ms: now_wall(),
        };
        for t in lost {
            hub.handle(now, Input::Closed { transport: t });
        }
    }
}

/// The format a REST client wants back.
pub(crate) fn response_format(headers: &HeaderMap) -> Format {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if accept.contains("application/x-msgpack") {
        Format::MsgPack
    } else {
        Format::Json
    }
}

pub(crate) fn request_format(headers: &HeaderMap) -> Format {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct.contains("application/x-msgpack") {
        Format::MsgPack
    } else {
        Format::Json
    }
}

pub(crate) fn encoded<T: codec::Wire>(status: StatusCode, value: &T, format: Format) -> Response {
    match codec::encode(value, format) {
        Ok(body) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            )],
            body,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// An Ably error response: the status, and `{"error": ErrorInfo}`.
pub(crate) fn error_response(e: ErrorInfo, format: Format) -> Response {
    let status = e
        .status_code
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::json!({ "error": e });
    let mut resp = encoded(status, &body, format);
    if let Ok(v) = HeaderValue::from_str(&e.code.to_string()) {
        resp.headers_mut().insert("x-ably-errorcode", v);
    }
    resp
}

/// `GET /time`: `[ms since the epoch]`.
async fn time(headers: HeaderMap) -> Response {
    let body = serde_json::json!([now_wall()]);
    encoded(StatusCode::OK, &body, response_format(&headers))
}

/// `POST /keys/{keyName}/requestToken`: a signed TokenRequest, or
/// TokenParams with the key in Basic auth, for a TokenDetails.
async fn request_token(
    State(state): State<AppState>,
    Path(key_name): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let format = response_format(&headers);
    let body = match rest::body(body, &headers, format) {
        Ok(b) => b,
        Err(resp) => return *resp,
    };
    let bad = |why: String| ErrorInfo::new(40000, 400, why);
    let value: serde_json::Value = match codec::decode(&body, request_format(&headers)) {
        Ok(v) => v,
        Err(e) => return error_response(bad(format!("unreadable body: {e}")), format),
    };
    let (reply, answer) = oneshot::channel();
    let event = if value.get("mac").is_some() {
        match serde_json::from_value::<TokenRequest>(value) {
            Ok(request) => Event::RequestToken {
                key_name,
                request: Box::new(request),
                reply,
            },
            Err(e) => return error_response(bad(format!("invalid TokenRequest: {e}")), format),
        }
    } else {
        let basic = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b| {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD
                    .decode(b.trim())
                    .ok()
            })
            .and_then(|b| String::from_utf8(b).ok());
        let Some(key) = basic.filter(|k| k.starts_with(&format!("{key_name}:"))) else {
            return error_response(
                ErrorInfo::new(
                    40101,
                    401,
                    "a TokenRequest with a mac, or Basic auth with this key, is needed",
                ),
                format,
            );
        };
        match serde_json::from_value::<TokenParams>(value) {
            Ok(params) => Event::IssueToken {
                key,
                params: Box::new(params),
                reply,
            },
            Err(e) => return error_response(bad(format!("invalid TokenParams: {e}")), format),
        }
    };
    if state.events.send(event).await.is_err() {
        return error_response(
            ErrorInfo::new(50000, 500, "the service is stopping"),
            format,
        );
    }
    match answer.await {
        Ok(Ok(details)) => encoded(StatusCode::OK, &details, format),
        Ok(Err(e)) => error_response(e, format),
        Err(_) => error_response(
            ErrorInfo::new(50000, 500, "the service is stopping"),
            format,
        ),
    }
}

/// A service running on its own thread and runtime, for code that is not
/// async (blocking clients, plain `#[test]`s). Dropping it shuts it down.
#[derive(Debug)]
pub struct BackgroundServer {
    addr: SocketAddr,
    keys: Vec<String>,
    events: mpsc::Sender<Event>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BackgroundServer {
    /// Starts the service on a new thread.
    pub fn start(config: Config) -> io::Result<BackgroundServer> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let server = runtime.block_on(Server::start(config))?;
        let (addr, keys) = (server.addr(), server.keys().to_vec());
        let events = server.events.clone();
        let (stop, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let _ = stop_rx.await;
                server.shutdown().await;
            });
        });
        Ok(BackgroundServer {
            addr,
            keys,
            events,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The full-access keys.
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// For tests: drops every transport at once, as a network failure
    /// would, keeping each connection resumable (see
    /// [`Server::drop_connections`]). Returns how many were dropped.
    pub fn drop_connections(&self) -> usize {
        let (done, done_rx) = oneshot::channel();
        if self
            .events
            .blocking_send(Event::DropTransports { done })
            .is_err()
        {
            return 0;
        }
        done_rx.blocking_recv().unwrap_or(0)
    }
}

impl Drop for BackgroundServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Allocates a transport id.
pub(crate) fn next_transport(state: &AppState) -> TransportId {
    TransportId(state.next_id.fetch_add(1, Ordering::Relaxed))
}

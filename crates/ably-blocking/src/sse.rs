//! Subscribing over Ably's SSE and raw HTTP streaming API, for places
//! where WebSocket is blocked: [`subscribe`] opens `GET /sse` (or `GET
//! /event-stream`) with ureq on a thread of its own and hands out the
//! decoded messages and presence events as an [`SseStream`].
//!
//! ```no_run
//! use ably_blocking::ClientOptions;
//! use ably_blocking::sse::{self, SseOptions};
//! let options = ClientOptions::new("appId.keyId:secret");
//! let stream = sse::subscribe(&options, ["chat"], SseOptions::new())?;
//! for event in stream {
//!     let event = event?; // Err: the stream has ended, and why
//!     if let Some(message) = event.message() {
//!         println!("{}: {:?}", event.channel, message.data);
//!     }
//! }
//! # Ok::<(), ably_blocking::Error>(())
//! ```
//!
//! The protocol is `ably_proto::sse::SseSession`'s: after a drop the
//! thread reconnects with `lastEvent` set to the last event it decoded,
//! so the service replays exactly what was missed (nothing lost, nothing
//! twice), backing off between failed attempts; it stops on an `error`
//! event such as 40142 (token expired) or a refusal such as 40101, and
//! the stream's last item is that error.

use std::io::Read;
use std::sync::Mutex;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::time::Duration;

use ably_net::clock::{Clock, os_seed};
use ably_net::http::Agent;
use ably_proto::ErrorInfo;
use ably_proto::client::{HttpRequest, HttpResponse, TokenSource};
use ably_proto::error::codes;
use ably_proto::sse::{Next, SessionConfig, SseSession, StreamAuth};

pub use ably_proto::sse::{Item, Received, Rewind, StreamFormat};

use crate::CipherParams;
use crate::error::{Error, Result};
use crate::options::ClientOptions;
use crate::rest::Rest;

/// The most of an error body that is read.
const MAX_ERROR_BODY: u64 = 64 << 10;
/// The size of each read of the stream.
const READ_CHUNK: usize = 16 << 10;

/// How to subscribe: the format, where to start, ciphers, and the
/// reconnection policy. Built like [`ClientOptions`]:
///
/// ```
/// use std::time::Duration;
/// use ably_blocking::CipherParams;
/// use ably_blocking::sse::{Rewind, SseOptions, StreamFormat};
/// let key = CipherParams::from_key(&[1; 32])?;
/// let options = SseOptions::new()
///     .rewind(Rewind::Count(10))
///     .cipher(key)
///     .format(StreamFormat::JsonLines)
///     .retry_delay(Duration::from_millis(500));
/// # Ok::<(), ably_blocking::ErrorInfo>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SseOptions {
    config: SessionConfig,
    buffer: usize,
}

impl Default for SseOptions {
    fn default() -> Self {
        SseOptions::new()
    }
}

impl SseOptions {
    /// The defaults: SSE, live from now, no cipher, reconnect after 2 s
    /// (backing off to 4 s), give up after 2 minutes without a stream, a
    /// stream silent for 25 s is dropped, 1 MiB lines, 1024 events
    /// buffered.
    pub fn new() -> SseOptions {
        SseOptions {
            config: SessionConfig::new(Vec::<String>::new()),
            buffer: 1024,
        }
    }

    /// SSE (`GET /sse`, the default) or JSON lines (`GET /event-stream`).
    pub fn format(mut self, format: StreamFormat) -> Self {
        self.config.format = format;
        self
    }

    /// Start right after this event id ([`Received::id`] or
    /// [`SseStream::last_event_id`] of an earlier stream).
    pub fn last_event(mut self, id: impl Into<String>) -> Self {
        self.config.last_event = Some(id.into());
        self
    }

    /// Replay recent messages when starting without an event id.
    pub fn rewind(mut self, rewind: Rewind) -> Self {
        self.config.rewind = Some(rewind);
        self
    }

    /// Ask for `heartbeat` events rather than keepalive comments.
    pub fn heartbeats(mut self, yes: bool) -> Self {
        self.config.heartbeats = yes;
        self
    }

    /// Decrypt the payloads of every channel with this cipher (RSL5).
    pub fn cipher(mut self, cipher: CipherParams) -> Self {
        self.config.ciphers.all = Some(cipher);
        self
    }

    /// Decrypt the payloads of one channel with this cipher.
    pub fn channel_cipher(mut self, channel: impl Into<String>, cipher: CipherParams) -> Self {
        self.config.ciphers.channels.insert(channel.into(), cipher);
        self
    }

    /// The base delay between reconnection attempts (default 2 s).
    pub fn retry_delay(mut self, delay: Duration) -> Self {
        self.config.retry_delay = delay;
        self
    }

    /// Stop after failing to reconnect for this long (default 2 minutes,
    /// the history the service keeps; `None`: never).
    pub fn give_up_after(mut self, limit: Option<Duration>) -> Self {
        self.config.give_up_after = limit;
        self
    }

    /// Drop a stream that sends nothing for this long (default 25 s; the
    /// service sends a keepalive every 15 s).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.idle_timeout = timeout;
        self
    }

    /// The longest line and the largest event, in bytes (default 1 MiB).
    pub fn max_sizes(mut self, line: usize, event: usize) -> Self {
        self.config.max_line = line;
        self.config.max_event = event;
        self
    }

    /// How many events may wait for [`SseStream::recv`] (default 1024);
    /// when full, the thread stops reading until there is room.
    pub fn buffer(mut self, events: usize) -> Self {
        self.buffer = events.max(1);
        self
    }
}

/// A running subscription: a blocking iterator of decoded messages and
/// presence events, in the order of each channel. Its last item is the
/// error that ended it. Dropping it stops the thread (at its next read;
/// a stream that is quiet ends within the keepalive interval).
#[derive(Debug)]
pub struct SseStream {
    rx: Receiver<Result<Received>>,
    /// Dropped with the stream: wakes the thread from a backoff wait.
    _stop: SyncSender<()>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    last_event: Option<String>,
    ended: Option<Error>,
}

/// Subscribes to `channels` (RSL, over SSE): checks the options, gets a
/// token if the options need one (authCallback, authUrl, or a key with
/// `use_token_auth`), and returns once the first stream is open; its
/// refusal is the error (e.g. 40101 bad key, 40160 not permitted).
pub fn subscribe(
    options: &ClientOptions,
    channels: impl IntoIterator<Item = impl Into<String>>,
    sse: SseOptions,
) -> Result<SseStream> {
    let mut config = sse.config;
    config.channels = channels.into_iter().map(Into::into).collect();
    let session = SseSession::new(&options.core, stream_auth(options)?, config, os_seed())?;
    let (tx, rx) = mpsc::sync_channel(sse.buffer);
    let (stop, stop_rx) = mpsc::sync_channel(0);
    let (opened_tx, opened_rx) = mpsc::sync_channel(1);
    let open_timeout = options.core.http_open_timeout;
    let request_timeout = options.core.http_request_timeout;
    std::thread::Builder::new()
        .name("ably-sse".into())
        .spawn(move || {
            let reader = Reader {
                session,
                agent: stream_agent(open_timeout, request_timeout),
                tx,
                stop: stop_rx,
                clock: Clock::new(),
            };
            reader.run(opened_tx);
        })
        .map_err(|e| ErrorInfo::new(50000, 500, format!("cannot start a thread: {e}")))?;
    match opened_rx.recv() {
        Ok(Ok(())) => Ok(SseStream {
            rx,
            _stop: stop,
            state: Mutex::new(State::default()),
        }),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(Error::gone()),
    }
}

/// The credentials to stream with: the key for basic auth, else a token
/// (given, or obtained through a REST client from the options' key,
/// authCallback or authUrl).
fn stream_auth(options: &ClientOptions) -> Result<StreamAuth> {
    let core = &options.core;
    let basic = core.token_source == TokenSource::None
        && options.auth_callback.is_none()
        && !core.use_token_auth
        && core.token.is_none()
        && core.token_details.is_none();
    if let (true, Some(key)) = (basic, &core.key) {
        return Ok(StreamAuth::Key(key.clone()));
    }
    if let Some(details) = &core.token_details {
        return Ok(StreamAuth::Token(details.token.clone()));
    }
    if let Some(token) = &core.token {
        return Ok(StreamAuth::Token(token.clone()));
    }
    if core.key.is_none()
        && options.auth_callback.is_none()
        && core.token_source == TokenSource::None
    {
        return Err(ErrorInfo::new(
            codes::NO_AUTH_METHOD,
            401,
            "no credentials: give a key, a token, an authCallback or an authUrl",
        )
        .into());
    }
    let token = Rest::new(options.clone())?.auth().request_token(None)?;
    Ok(StreamAuth::Token(token.token))
}

/// An agent for streams: the open and response timeouts of the options,
/// no limit on the whole body, and `idle` between reads set per request.
fn stream_agent(open_timeout: Duration, request_timeout: Duration) -> Agent {
    ably_net::tls::install_provider();
    Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(open_timeout))
        .timeout_recv_response(Some(request_timeout))
        .build()
        .into()
}

/// What ended one stream.
enum Ended {
    /// The stream ended (`None`: the body ended) or could not be opened.
    Closed(Option<ErrorInfo>),
    /// The [`SseStream`] was dropped.
    Dropped,
}

/// The thread's state.
struct Reader {
    session: SseSession,
    agent: Agent,
    tx: SyncSender<Result<Received>>,
    stop: Receiver<()>,
    clock: Clock,
}

impl Reader {
    fn run(mut self, opened: SyncSender<Result<()>>) {
        let mut opened = Some(opened);
        loop {
            let reason = match self.stream(&mut opened) {
                Ended::Closed(reason) => reason,
                Ended::Dropped => return,
            };
            if let Some(first) = opened.take() {
                // The first attempt failed: subscribe() reports it.
                let e = reason.unwrap_or_else(|| ErrorInfo::new(80003, 400, "the stream ended"));
                let _ = first.send(Err(e.into()));
                return;
            }
            match self.session.on_closed(reason, self.clock.now().instant) {
                Next::Reconnect(delay) => match self.stop.recv_timeout(delay) {
                    Err(RecvTimeoutError::Timeout) => {}
                    _ => return,
                },
                Next::Stop(e) => {
                    let _ = self.tx.send(Err(e.into()));
                    return;
                }
            }
        }
    }

    /// Opens one stream and reads it to its end.
    fn stream(&mut self, opened: &mut Option<SyncSender<Result<()>>>) -> Ended {
        let HttpRequest { url, headers, .. } = self.session.request();
        let idle = self.session.config().idle_timeout;
        let mut request = self.agent.get(&url);
        for (name, value) in &headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let response = request.config().timeout_per_read(Some(idle)).build().call();
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                return Ended::Closed(Some(ErrorInfo::new(
                    80000,
                    503,
                    format!("stream request failed: {e}"),
                )));
            }
        };
        let status = response.status().as_u16();
        let response_headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let mut body = response.into_body().into_reader();
        let mut answer = HttpResponse {
            status,
            headers: response_headers,
            body: Vec::new(),
        };
        if !(200..300).contains(&status) {
            let _ = (&mut body)
                .take(MAX_ERROR_BODY)
                .read_to_end(&mut answer.body);
        }
        let now = self.clock.now().instant;
        if let Err(e) = self.session.on_response(&answer, now) {
            return Ended::Closed(Some(e));
        }
        if let Some(first) = opened.take() {
            if first.send(Ok(())).is_err() {
                return Ended::Dropped;
            }
        }
        let mut buf = vec![0; READ_CHUNK];
        let mut received = Vec::new();
        loop {
            let n = match body.read(&mut buf) {
                Ok(0) => return Ended::Closed(None),
                Ok(n) => n,
                Err(e) => {
                    let why = if e.kind() == std::io::ErrorKind::TimedOut {
                        format!("the stream was silent for {} s", idle.as_secs_f64())
                    } else {
                        format!("the stream broke: {e}")
                    };
                    return Ended::Closed(Some(ErrorInfo::new(80003, 400, why)));
                }
            };
            let result = self.session.on_bytes(&buf[..n], &mut received);
            for r in received.drain(..) {
                if self.tx.send(Ok(r)).is_err() {
                    return Ended::Dropped;
                }
            }
            if let Err(e) = result {
                return Ended::Closed(Some(e));
            }
            if let Err(TryRecvError::Disconnected) = self.stop.try_recv() {
                return Ended::Dropped;
            }
        }
    }
}

impl SseStream {
    /// Notes what is handed out (`Err(())`: the thread is gone).
    fn hand_out(&self, item: std::result::Result<Result<Received>, ()>) -> Result<Received> {
        let mut state = self.lock();
        match item {
            Ok(Ok(r)) => {
                if let Some(id) = &r.id {
                    state.last_event = Some(id.clone());
                }
                Ok(r)
            }
            Ok(Err(e)) => {
                state.ended = Some(e.clone());
                Err(e)
            }
            Err(()) => {
                let e = Error::from(ErrorInfo::new(80017, 400, "the stream has stopped"));
                state.ended = Some(e.clone());
                Err(e)
            }
        }
    }

    /// The next message or presence event; `Err` once the stream has
    /// ended, with the reason (the same error on every later call).
    pub fn recv(&self) -> Result<Received> {
        if let Some(e) = self.ended() {
            return Err(e);
        }
        let item = self.rx.recv().map_err(|_| ());
        self.hand_out(item)
    }

    /// The next item, waiting at most `timeout`: error 50003 when nothing
    /// came (the stream goes on), or the reason it ended.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Received> {
        if let Some(e) = self.ended() {
            return Err(e);
        }
        match self.rx.recv_timeout(timeout) {
            Ok(item) => self.hand_out(Ok(item)),
            Err(RecvTimeoutError::Timeout) => Err(Error::timeout("a stream event")),
            Err(RecvTimeoutError::Disconnected) => self.hand_out(Err(())),
        }
    }

    /// The next item if one is waiting.
    pub fn try_recv(&self) -> Option<Result<Received>> {
        if let Some(e) = self.ended() {
            return Some(Err(e));
        }
        match self.rx.try_recv() {
            Ok(item) => Some(self.hand_out(Ok(item))),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(self.hand_out(Err(()))),
        }
    }

    /// The id of the last item handed out: give it to
    /// [`SseOptions::last_event`] to continue from there later.
    pub fn last_event_id(&self) -> Option<String> {
        self.lock().last_event.clone()
    }

    /// Why the stream ended, once it has (as handed out).
    pub fn ended(&self) -> Option<Error> {
        self.lock().ended.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Iterator for SseStream {
    type Item = Result<Received>;

    /// Blocks for the next item; once the error that ends the stream has
    /// been handed out (here or by `recv`), `None`.
    fn next(&mut self) -> Option<Result<Received>> {
        if self.ended().is_some() {
            return None;
        }
        Some(self.recv())
    }
}

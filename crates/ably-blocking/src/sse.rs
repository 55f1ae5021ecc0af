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
//! The protocol is `ably_proto::sse::SseSession`'s and the reading thread
//! is `ably_net::sse`'s, shared with the async adapters: after a drop the
//! thread reconnects with `lastEvent` set to the last event it decoded,
//! so the service replays exactly what was missed (nothing lost, nothing
//! twice), backing off between failed attempts; it stops on an `error`
//! event such as 40142 (token expired) or a refusal such as 40101, and
//! the stream's last item is that error.

use std::sync::Mutex;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::time::Duration;

use ably_net::clock::os_seed;
use ably_proto::sse::{Delivered, SseSession, StreamAuth, stream_auth};

pub use ably_proto::sse::{Item, Received, Rewind, SseOptions, StreamFormat};

use crate::error::{Error, Result};
use crate::options::ClientOptions;
use crate::rest::Rest;

/// A running subscription: a blocking iterator of decoded messages and
/// presence events, in the order of each channel. Its last item is the
/// error that ended it. Dropping it stops the thread (at its next read;
/// a stream that is quiet ends within the keepalive interval).
#[derive(Debug)]
pub struct SseStream {
    rx: Receiver<Result<Received>>,
    /// Dropped with the stream: stops the reader.
    _stop: ably_net::sse::Stop,
    delivered: Mutex<Delivered>,
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
    let (config, buffer) = sse.into_parts(channels)?;
    let auth = match stream_auth(options)? {
        Some(auth) => auth,
        None => StreamAuth::Token(
            Rest::new(options.clone())?
                .auth()
                .request_token(None)?
                .token,
        ),
    };
    let session = SseSession::new(&options.core, auth, config, os_seed())?;
    let (tx, rx) = mpsc::sync_channel(buffer);
    let (opened, opened_rx) = mpsc::sync_channel(1);
    let outlet = Outlet {
        tx,
        opened: Some(opened),
    };
    let trust = ably_net::tls::Trust::with_extra_roots(&options.tls_root_certificates)?;
    let stop = ably_net::sse::start(session, &options.core, &trust, outlet)?;
    match opened_rx.recv() {
        Ok(Ok(())) => Ok(SseStream {
            rx,
            _stop: stop,
            delivered: Mutex::default(),
        }),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(Error::gone()),
    }
}

/// The reader's outlet: the bounded queue to the [`SseStream`], and the
/// answer [`subscribe`] waits for.
struct Outlet {
    tx: SyncSender<Result<Received>>,
    opened: Option<SyncSender<Result<()>>>,
}

impl ably_net::sse::Outlet for Outlet {
    fn opened(&mut self, result: Result<()>) -> bool {
        self.opened.take().is_some_and(|tx| tx.send(result).is_ok())
    }

    fn send(&mut self, item: Result<Received>) -> bool {
        self.tx.send(item).is_ok()
    }
}

impl SseStream {
    /// Notes what is handed out (`None`: the thread is gone).
    fn hand_out(&self, item: Option<Result<Received>>) -> Result<Received> {
        self.lock().hand_out(item)
    }

    /// The next message or presence event; `Err` once the stream has
    /// ended, with the reason (the same error on every later call).
    pub fn recv(&self) -> Result<Received> {
        if let Some(e) = self.ended() {
            return Err(e);
        }
        let item = self.rx.recv().ok();
        self.hand_out(item)
    }

    /// The next item, waiting at most `timeout`: error 50003 when nothing
    /// came (the stream goes on), or the reason it ended.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Received> {
        if let Some(e) = self.ended() {
            return Err(e);
        }
        match self.rx.recv_timeout(timeout) {
            Ok(item) => self.hand_out(Some(item)),
            Err(RecvTimeoutError::Timeout) => Err(Error::timeout("a stream event")),
            Err(RecvTimeoutError::Disconnected) => self.hand_out(None),
        }
    }

    /// The next item if one is waiting.
    pub fn try_recv(&self) -> Option<Result<Received>> {
        if let Some(e) = self.ended() {
            return Some(Err(e));
        }
        match self.rx.try_recv() {
            Ok(item) => Some(self.hand_out(Some(item))),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(self.hand_out(None)),
        }
    }

    /// The id of the last item handed out: give it to
    /// [`SseOptions::last_event`] to continue from there later.
    pub fn last_event_id(&self) -> Option<String> {
        self.lock().last_event_id().map(str::to_owned)
    }

    /// Why the stream ended, once it has (as handed out).
    pub fn ended(&self) -> Option<Error> {
        self.lock().ended().cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Delivered> {
        self.delivered.lock().unwrap_or_else(|e| e.into_inner())
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

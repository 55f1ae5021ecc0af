//! Subscribing over Ably's SSE and raw HTTP streaming API, for places
//! where WebSocket is blocked: [`subscribe`] opens `GET /sse` (or `GET
//! /event-stream`) and hands out the decoded messages and presence
//! events as an [`SseStream`], a [`Stream`].
//!
//! ```no_run
//! # async fn sse<R: ably_async::Runtime>() -> ably_async::Result<()> {
//! use ably_async::ClientOptions;
//! use ably_async::sse::{self, SseOptions};
//! use futures_util::StreamExt;
//! let options = ClientOptions::new("appId.keyId:secret");
//! let mut stream = sse::subscribe::<R>(&options, ["chat"], SseOptions::new()).await?;
//! while let Some(event) = stream.next().await {
//!     let event = event?; // Err: the stream has ended, and why
//!     if let Some(message) = event.message() {
//!         println!("{}: {:?}", event.channel, message.data);
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! The same consumer as `ably_blocking::sse`: the protocol is
//! `ably_proto::sse::SseSession`'s and the reader is `ably_net::sse`'s,
//! a plain thread that reads the stream with ureq (a long blocking read
//! has no place on the runtime's blocking pool) and puts what it decodes
//! in a bounded channel, waiting while it is full. After a drop it
//! reconnects with `lastEvent` set to the last event it decoded, so the
//! service replays exactly what was missed (nothing lost, nothing twice),
//! backing off between failed attempts; it stops on an `error` event such
//! as 40142 (token expired) or a refusal such as 40101, and the stream's
//! last item is that error.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use ably_net::clock::os_seed;
use ably_proto::sse::{Delivered, SseSession, StreamAuth, stream_auth};
use futures_channel::mpsc::{self, Receiver, Sender};
use futures_channel::oneshot;
use futures_util::{SinkExt, Stream, StreamExt};

pub use ably_proto::sse::{Item, Received, Rewind, SseOptions, StreamFormat};

use crate::runtime::{Runtime, until};
use crate::{ClientOptions, Error, Rest, Result};

/// A running subscription: a [`Stream`] of decoded messages and presence
/// events, in the order of each channel, with [`recv`](SseStream::recv)
/// and friends for use without `StreamExt`. Its last item is the error
/// that ended it. Dropping it stops the reader thread (at its next read;
/// a stream that is quiet ends within the keepalive interval).
pub struct SseStream {
    rx: Receiver<Result<Received>>,
    runtime: Arc<dyn Runtime>,
    delivered: Delivered,
    /// Dropped with the stream: stops the reader.
    _stop: ably_net::sse::Stop,
}

impl std::fmt::Debug for SseStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SseStream")
            .field("delivered", &self.delivered)
            .finish_non_exhaustive()
    }
}

/// Subscribes to `channels` (RSL, over SSE) from a task of runtime `R`:
/// checks the options, gets a token with a [`Rest`] client if the options
/// need one (authCallback, authUrl, or a key with `use_token_auth`), and
/// returns once the first stream is open; its refusal is the error (e.g.
/// 40101 bad key, 40160 not permitted).
pub async fn subscribe<R: Runtime>(
    options: &ClientOptions,
    channels: impl IntoIterator<Item = impl Into<String>>,
    sse: SseOptions,
) -> Result<SseStream> {
    let runtime: Arc<dyn Runtime> = Arc::new(R::current()?);
    let (config, buffer) = sse.into_parts(channels)?;
    let auth = match stream_auth(options)? {
        Some(auth) => auth,
        None => {
            let rest = Rest::<R>::new(options.clone())?;
            StreamAuth::Token(rest.auth().request_token(None).await?.token)
        }
    };
    let session = SseSession::new(&options.core, auth, config, os_seed())?;
    let (tx, rx) = mpsc::channel(buffer);
    let (opened, opened_rx) = oneshot::channel();
    let outlet = Outlet {
        tx,
        opened: Some(opened),
    };
    let trust = ably_net::tls::Trust::with_extra_roots(&options.tls_root_certificates)?;
    let stop = ably_net::sse::start(session, &options.core, &trust, outlet)?;
    match opened_rx.await {
        Ok(Ok(())) => Ok(SseStream {
            rx,
            runtime,
            delivered: Delivered::default(),
            _stop: stop,
        }),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(Error::gone()),
    }
}

/// The reader's outlet: the bounded channel to the [`SseStream`], fed
/// from the reader's thread (which waits there while it is full), and
/// the answer [`subscribe`] awaits.
struct Outlet {
    tx: Sender<Result<Received>>,
    opened: Option<oneshot::Sender<Result<()>>>,
}

impl ably_net::sse::Outlet for Outlet {
    fn opened(&mut self, result: Result<()>) -> bool {
        self.opened.take().is_some_and(|tx| tx.send(result).is_ok())
    }

    fn send(&mut self, item: Result<Received>) -> bool {
        futures_executor::block_on(self.tx.send(item)).is_ok()
    }
}

impl SseStream {
    /// The next message or presence event; `Err` once the stream has
    /// ended, with the reason (the same error on every later call).
    pub async fn recv(&mut self) -> Result<Received> {
        if let Some(e) = self.ended() {
            return Err(e);
        }
        let item = self.rx.next().await;
        self.delivered.hand_out(item)
    }

    /// The next item as [`Stream`]'s `next` gives it: `None` after the
    /// error that ended the stream has been handed out.
    pub async fn next(&mut self) -> Option<Result<Received>> {
        std::future::poll_fn(|cx| self.poll_next_unpin(cx)).await
    }

    /// The next item, waiting at most `timeout`: error 50003 when nothing
    /// came (the stream goes on), or the reason it ended.
    pub async fn recv_timeout(&mut self, timeout: Duration) -> Result<Received> {
        if let Some(e) = self.ended() {
            return Err(e);
        }
        let runtime = self.runtime.clone();
        let deadline = Instant::now() + timeout;
        match until(&*runtime, deadline, self.rx.next()).await {
            Some(item) => self.delivered.hand_out(item),
            None => Err(Error::timeout("a stream event")),
        }
    }

    /// The next item if one is waiting.
    pub fn try_recv(&mut self) -> Option<Result<Received>> {
        if let Some(e) = self.ended() {
            return Some(Err(e));
        }
        match self.rx.try_recv() {
            Ok(item) => Some(self.delivered.hand_out(Some(item))),
            Err(e) if e.is_closed() => Some(self.delivered.hand_out(None)),
            Err(_) => None,
        }
    }

    /// The id of the last item handed out: give it to
    /// [`SseOptions::last_event`] to continue from there later.
    pub fn last_event_id(&self) -> Option<String> {
        self.delivered.last_event_id().map(str::to_owned)
    }

    /// Why the stream ended, once it has (as handed out).
    pub fn ended(&self) -> Option<Error> {
        self.delivered.ended().cloned()
    }
}

impl Stream for SseStream {
    type Item = Result<Received>;

    /// The next item; once the error that ends the stream has been handed
    /// out (here or by `recv`), `None`.
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Received>>> {
        let this = &mut *self;
        if this.delivered.ended().is_some() {
            return Poll::Ready(None);
        }
        this.rx
            .poll_next_unpin(cx)
            .map(|item| Some(this.delivered.hand_out(item)))
    }
}

//! The reader of an SSE or HTTP stream subscription, shared by every
//! adapter's `sse::subscribe`: [`start`] runs an
//! [`SseSession`] on a thread of its own,
//! reading each stream with ureq, and hands what it decodes to an
//! [`Outlet`], the adapter's queue to its consumer.
//!
//! The thread is a plain `std` thread in every adapter: it spends its
//! life in blocking reads, which do not belong on an async runtime's
//! blocking pool. It does what the session asks (the request to make,
//! the delay before the next one) and decides nothing itself. It ends
//! when the session stops (its error is the last item), when the outlet
//! refuses an item, or when the [`Stop`] is dropped: at once during a
//! backoff wait, after the current read otherwise (a blocking read can
//! not be interrupted; a quiet stream ends within the keepalive
//! interval).

use std::io::Read;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::time::Duration;

use ably_proto::ErrorInfo;
use ably_proto::adapter::Error;
use ably_proto::client::{ClientOptions, HttpRequest, HttpResponse};
use ably_proto::sse::{Next, Received, SseSession};

use crate::clock::Clock;
use crate::http::Agent;
use crate::tls::Trust;

/// The most of an error body that is read.
const MAX_ERROR_BODY: u64 = 64 << 10;
/// The size of each read of the stream.
const READ_CHUNK: usize = 16 << 10;

/// Where the reader puts what it has: the adapter's bounded queue to the
/// consumer, and the answer `subscribe` waits for. Both are called on
/// the reader's thread and may block it.
pub trait Outlet: Send + 'static {
    /// How the first attempt went, once: `Ok` when the first stream is
    /// open, else why not (the reader then ends). `false`: nobody waits
    /// for the answer any more.
    fn opened(&mut self, result: Result<(), Error>) -> bool;

    /// Hands an item over, waiting while the queue is full (so that the
    /// reader stops reading, and TCP pushes back); `false` once the
    /// consumer is gone.
    fn send(&mut self, item: Result<Received, Error>) -> bool;
}

/// Stops the reader when dropped (the adapter's stream holds it).
#[derive(Debug)]
pub struct Stop {
    _tx: SyncSender<()>,
}

/// Starts the reader thread (`ably-sse`) for `session`, with the open
/// and response timeouts of `options`, trusting `trust`'s roots.
pub fn start(
    session: SseSession,
    options: &ClientOptions,
    trust: &Trust,
    outlet: impl Outlet,
) -> Result<Stop, Error> {
    let (tx, stop) = mpsc::sync_channel(0);
    let agent = stream_agent(
        options.http_open_timeout,
        options.http_request_timeout,
        trust,
    );
    let reader = Reader {
        session,
        agent,
        outlet,
        stop,
        clock: Clock::new(),
        opening: true,
    };
    std::thread::Builder::new()
        .name("ably-sse".into())
        .spawn(move || reader.run())
        .map_err(|e| ErrorInfo::new(50000, 500, format!("cannot start a thread: {e}")))?;
    Ok(Stop { _tx: tx })
}

/// An agent for streams: the open and response timeouts of the options,
/// no limit on the whole body, and `idle` between reads set per request.
fn stream_agent(open_timeout: Duration, request_timeout: Duration, trust: &Trust) -> Agent {
    crate::tls::install_provider();
    Agent::config_builder()
        .tls_config(crate::http::tls_config(trust))
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
    /// The consumer is gone.
    Dropped,
}

/// The thread's state.
struct Reader<O> {
    session: SseSession,
    agent: Agent,
    outlet: O,
    stop: Receiver<()>,
    clock: Clock,
    /// Whether the first attempt is yet to be reported.
    opening: bool,
}

impl<O: Outlet> Reader<O> {
    fn run(mut self) {
        loop {
            let reason = match self.stream() {
                Ended::Closed(reason) => reason,
                Ended::Dropped => return,
            };
            if self.opening {
                // The first attempt failed: subscribe() reports it.
                let e = reason.unwrap_or_else(|| ErrorInfo::new(80003, 400, "the stream ended"));
                self.outlet.opened(Err(e.into()));
                return;
            }
            match self.session.on_closed(reason, self.clock.now().instant) {
                Next::Reconnect(delay) => match self.stop.recv_timeout(delay) {
                    Err(RecvTimeoutError::Timeout) => {}
                    _ => return,
                },
                Next::Stop(e) => {
                    self.outlet.send(Err(e.into()));
                    return;
                }
            }
        }
    }

    /// Opens one stream and reads it to its end.
    fn stream(&mut self) -> Ended {
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
        if self.opening {
            self.opening = false;
            if !self.outlet.opened(Ok(())) {
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
                if !self.outlet.send(Ok(r)) {
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

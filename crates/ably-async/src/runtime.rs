//! [`Runtime`]: what the driver needs from an async runtime, and the
//! helpers built on it.

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ably_net::tls::ClientConfig;
use ably_proto::ErrorInfo;
use futures_util::future::{Either, select};
use futures_util::{Sink, Stream};
use tungstenite::{Error as WsError, Message};

/// A boxed, sendable future: what [`Runtime`] methods return.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// An open WebSocket: a stream of received messages and a sink for
/// messages to send, with tungstenite's types (tokio-tungstenite's and
/// async-tungstenite's `WebSocketStream` are both).
pub trait WebSocket:
    Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Send + Unpin
{
}

impl<S> WebSocket for S where
    S: Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Send + Unpin
{
}

/// A WebSocket of any runtime.
pub type BoxSocket = Box<dyn WebSocket>;

/// An async runtime, as the driver uses it: spawn a task, run blocking
/// code off the executor, sleep until an instant, open a WebSocket.
///
/// `ably-tokio` and `ably-async-std` implement it; every other part of
/// the async clients is written once, in this crate, against it.
pub trait Runtime: Send + Sync + 'static {
    /// The runtime of the calling context (a handle to it), or an error
    /// saying why there is none. `Realtime::new` and `Rest::new` call it.
    fn current() -> Result<Self, ErrorInfo>
    where
        Self: Sized;

    /// Runs `task` to completion in the background.
    fn spawn(&self, task: BoxFuture<()>);

    /// Runs `job` on the runtime's pool for blocking code.
    fn spawn_blocking(&self, job: Box<dyn FnOnce() + Send + 'static>);

    /// Completes at `at` (at once if it has passed).
    fn sleep_until(&self, at: Instant) -> BoxFuture<()>;

    /// Opens a WebSocket to a `ws://` or `wss://` URL (TLS by rustls with
    /// `tls`, the client's [`Trust`](ably_net::tls::Trust)): TCP within
    /// `open_timeout`, then the TLS and WebSocket handshakes within
    /// `handshake_timeout`. Failures are 80000 errors (see
    /// [`ably_net::ws::connect_failed`]). The driver polls this future in
    /// a task of its own.
    fn connect(
        &self,
        url: String,
        tls: Arc<ClientConfig>,
        open_timeout: Duration,
        handshake_timeout: Duration,
    ) -> BoxFuture<Result<BoxSocket, ErrorInfo>>;
}

/// Runs `f` on the runtime's blocking pool and waits for its result;
/// `None` if it panicked.
pub async fn unblock<T: Send + 'static>(
    runtime: &dyn Runtime,
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (tx, rx) = futures_channel::oneshot::channel();
    runtime.spawn_blocking(Box::new(move || {
        let _ = tx.send(f());
    }));
    rx.await.ok()
}

/// `future`'s output, or `None` if `deadline` comes first.
pub async fn until<F: Future>(
    runtime: &dyn Runtime,
    deadline: Instant,
    future: F,
) -> Option<F::Output> {
    let future = pin!(future);
    match select(future, runtime.sleep_until(deadline)).await {
        Either::Left((output, _)) => Some(output),
        Either::Right(_) => None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A runtime made of threads, enough for the unit tests: tasks and
    /// blocking jobs get a thread each, a sleep is a thread that sleeps.
    pub(crate) struct Threads;

    impl Runtime for Threads {
        fn current() -> Result<Self, ErrorInfo> {
            Ok(Threads)
        }

        fn spawn(&self, task: BoxFuture<()>) {
            std::thread::spawn(move || futures_executor::block_on(task));
        }

        fn spawn_blocking(&self, job: Box<dyn FnOnce() + Send + 'static>) {
            std::thread::spawn(job);
        }

        fn sleep_until(&self, at: Instant) -> BoxFuture<()> {
            let (tx, rx) = futures_channel::oneshot::channel::<()>();
            std::thread::spawn(move || {
                std::thread::sleep(at.saturating_duration_since(Instant::now()));
                let _ = tx.send(());
            });
            Box::pin(async move {
                let _ = rx.await;
            })
        }

        fn connect(
            &self,
            _: String,
            _: Arc<ClientConfig>,
            _: Duration,
            _: Duration,
        ) -> BoxFuture<Result<BoxSocket, ErrorInfo>> {
            Box::pin(async { Err(ably_net::ws::connect_failed(&"no network in unit tests")) })
        }
    }

    #[test]
    fn unblock_returns_the_result_or_none_after_a_panic() {
        let rt: Arc<dyn Runtime> = Arc::new(Threads);
        assert_eq!(
            futures_executor::block_on(unblock(&*rt, || 6 * 7)),
            Some(42)
        );
        let panicked = futures_executor::block_on(unblock(&*rt, || -> u8 { panic!("on purpose") }));
        assert_eq!(panicked, None);
    }

    #[test]
    fn until_gives_the_output_or_none_at_the_deadline() {
        let rt = Threads;
        let soon = Instant::now() + Duration::from_secs(30);
        assert_eq!(
            futures_executor::block_on(until(&rt, soon, async { 1 })),
            Some(1)
        );
        let past = Instant::now();
        let never = futures_util::future::pending::<()>();
        assert_eq!(futures_executor::block_on(until(&rt, past, never)), None);
    }
}

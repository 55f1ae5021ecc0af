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

/// The steps of every [`Runtime::connect`], with the runtime's own parts
/// passed in: `tcp` opens a TCP connection to (host, port), which must
/// be done within `open_timeout`; `handshake` takes the URL, the host
/// and that connection through TLS (for `wss://`) and the WebSocket
/// handshake, which must be done within `handshake_timeout`. Failures
/// are 80000 errors ([`ably_net::ws::connect_failed`]).
pub async fn connect_in_steps<T, Tcp, Handshake>(
    runtime: &dyn Runtime,
    url: String,
    open_timeout: Duration,
    handshake_timeout: Duration,
    tcp: impl FnOnce(String, u16) -> Tcp,
    handshake: impl FnOnce(String, String, T) -> Handshake,
) -> Result<BoxSocket, ErrorInfo>
where
    Tcp: Future<Output = std::io::Result<T>>,
    Handshake: Future<Output = Result<BoxSocket, ErrorInfo>>,
{
    let fail = |e: &dyn std::fmt::Display| ably_net::ws::connect_failed(e);
    let (host, port) = ably_net::ws::host_port(&url)?;
    let opened = until(
        runtime,
        Instant::now() + open_timeout,
        tcp(host.clone(), port),
    )
    .await
    .ok_or_else(|| fail(&format!("no TCP connection to {host} in {open_timeout:?}")))?
    .map_err(|e| fail(&e))?;
    until(
        runtime,
        Instant::now() + handshake_timeout,
        handshake(url, host, opened),
    )
    .await
    .ok_or_else(|| fail(&format!("no handshake in {handshake_timeout:?}")))?
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

    #[test]
    fn connecting_in_steps_fails_with_80000_at_each_step() {
        let rt = Threads;
        let long = Duration::from_secs(30);
        let connect = |url: &str, open, tcp: BoxFuture<std::io::Result<u8>>| {
            let handshake = |_url: String, host: String, _tcp: u8| async move {
                Err(ably_net::ws::connect_failed(&format!("refused by {host}")))
            };
            let run = connect_in_steps(&rt, url.to_owned(), open, long, |_, _| tcp, handshake);
            futures_executor::block_on(run).err().expect("fails")
        };
        let url = "ws://example.test:8080/";
        // The URL first.
        let e = connect("nonsense", long, Box::pin(async { Ok(1) }));
        assert_eq!(e.code, 80000, "{e:?}");
        // TCP that never connects, with no time for it.
        let never: BoxFuture<std::io::Result<u8>> = Box::pin(futures_util::future::pending());
        let e = connect(url, Duration::ZERO, never);
        assert_eq!(e.code, 80000);
        assert!(
            e.message.contains("no TCP connection to example.test"),
            "{e:?}"
        );
        // TCP refused.
        let refused = Box::pin(async { Err(std::io::ErrorKind::ConnectionRefused.into()) });
        let e = connect(url, long, refused);
        assert_eq!(e.code, 80000);
        // The handshake's own error, with the host it was given.
        let e = connect(url, long, Box::pin(async { Ok(1) }));
        assert!(e.message.contains("refused by example.test"), "{e:?}");
    }

    #[test]
    fn a_handshake_that_never_ends_times_out() {
        let rt = Threads;
        let handshake = |_: String, _: String, _: u8| async {
            futures_util::future::pending::<Result<BoxSocket, ErrorInfo>>().await
        };
        let run = connect_in_steps(
            &rt,
            "wss://example.test/".to_owned(),
            Duration::from_secs(30),
            Duration::ZERO,
            |_, _| async { Ok(1) },
            handshake,
        );
        let e = futures_executor::block_on(run).err().expect("times out");
        assert_eq!(e.code, 80000);
        assert!(e.message.contains("no handshake"), "{e:?}");
    }
}

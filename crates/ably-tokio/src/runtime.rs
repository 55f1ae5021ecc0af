//! [`Tokio`]: the [`Runtime`] of tokio.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ably_async::{BoxFuture, BoxSocket, Runtime, connect_in_steps};
use ably_net::tls::ClientConfig;
use ably_net::ws;
use ably_proto::ErrorInfo;
use tokio::net::TcpStream;
use tokio::runtime::Handle;
use tokio_tungstenite::Connector;

/// The tokio runtime, by a handle to it: tasks, the blocking pool, timers
/// and TCP sockets are that runtime's.
#[derive(Clone, Debug)]
pub struct Tokio(pub Handle);

impl From<Handle> for Tokio {
    fn from(handle: Handle) -> Tokio {
        Tokio(handle)
    }
}

impl Runtime for Tokio {
    /// The runtime the caller runs in; 40000 outside any.
    fn current() -> Result<Tokio, ErrorInfo> {
        Handle::try_current().map(Tokio).map_err(|e| {
            ErrorInfo::new(
                40000,
                400,
                format!("ably-tokio clients are created inside a tokio runtime: {e}"),
            )
        })
    }

    fn spawn(&self, task: BoxFuture<()>) {
        drop(self.0.spawn(task));
    }

    fn spawn_blocking(&self, job: Box<dyn FnOnce() + Send + 'static>) {
        drop(self.0.spawn_blocking(job));
    }

    fn sleep_until(&self, at: Instant) -> BoxFuture<()> {
        // The timer is created inside the runtime even when the caller
        // polls from elsewhere.
        let sleep = {
            let _inside = self.0.enter();
            tokio::time::sleep_until(at.into())
        };
        Box::pin(sleep)
    }

    fn connect(
        &self,
        url: String,
        tls: Arc<ClientConfig>,
        open_timeout: Duration,
        handshake_timeout: Duration,
    ) -> BoxFuture<Result<BoxSocket, ErrorInfo>> {
        let runtime = self.clone();
        Box::pin(async move {
            let tcp = |host: String, port| async move {
                let tcp = TcpStream::connect((host.as_str(), port)).await?;
                let _ = tcp.set_nodelay(true);
                Ok(tcp)
            };
            let handshake = |url: String, _host, tcp| async move {
                let connector = Connector::Rustls(tls);
                let (socket, _response) = tokio_tungstenite::client_async_tls_with_config(
                    url.as_str(),
                    tcp,
                    Some(ws::config()),
                    Some(connector),
                )
                .await
                .map_err(|e| ws::connect_failed(&e))?;
                Ok(Box::new(socket) as BoxSocket)
            };
            connect_in_steps(
                &runtime,
                url,
                open_timeout,
                handshake_timeout,
                tcp,
                handshake,
            )
            .await
        })
    }
}

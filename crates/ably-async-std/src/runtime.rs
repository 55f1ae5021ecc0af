//! [`AsyncStd`]: the [`Runtime`] of async-std.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ably_async::{BoxFuture, BoxSocket, Runtime, connect_in_steps};
use ably_net::tls::ClientConfig;
use ably_net::ws;
use ably_proto::ErrorInfo;
use async_std::net::TcpStream;
use futures_rustls::TlsConnector;
use rustls::pki_types::ServerName;

/// async-std's global executor and blocking pool, with async-io's timers
/// and sockets. None of it needs to be polled from async-std's own
/// `block_on`: the executor and the reactor run on threads of their own,
/// so the clients work under `smol::block_on` or any other executor.
#[derive(Clone, Copy, Debug, Default)]
pub struct AsyncStd;

impl Runtime for AsyncStd {
    /// Always there.
    fn current() -> Result<AsyncStd, ErrorInfo> {
        Ok(AsyncStd)
    }

    fn spawn(&self, task: BoxFuture<()>) {
        drop(async_std::task::spawn(task));
    }

    fn spawn_blocking(&self, job: Box<dyn FnOnce() + Send + 'static>) {
        drop(async_std::task::spawn_blocking(job));
    }

    fn sleep_until(&self, at: Instant) -> BoxFuture<()> {
        let timer = async_io::Timer::at(at);
        Box::pin(async move {
            timer.await;
        })
    }

    fn connect(
        &self,
        url: String,
        tls: Arc<ClientConfig>,
        open_timeout: Duration,
        handshake_timeout: Duration,
    ) -> BoxFuture<Result<BoxSocket, ErrorInfo>> {
        Box::pin(async move {
            let tcp = |host: String, port| async move {
                let tcp = TcpStream::connect((host.as_str(), port)).await?;
                let _ = tcp.set_nodelay(true);
                Ok(tcp)
            };
            let handshake = |url, host, tcp| handshake(url, host, tls, tcp);
            connect_in_steps(
                &AsyncStd,
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

/// TLS (by rustls with `tls`, for `wss://`) and the WebSocket handshake.
async fn handshake(
    url: String,
    host: String,
    tls: Arc<ClientConfig>,
    tcp: TcpStream,
) -> Result<BoxSocket, ErrorInfo> {
    let fail = |e: &dyn std::fmt::Display| ws::connect_failed(e);
    if url.starts_with("wss:") {
        let name = ServerName::try_from(host).map_err(|e| fail(&e))?;
        let tls = TlsConnector::from(tls)
            .connect(name, tcp)
            .await
            .map_err(|e| fail(&e))?;
        let (socket, _response) =
            async_tungstenite::client_async_with_config(url.as_str(), tls, Some(ws::config()))
                .await
                .map_err(|e| fail(&e))?;
        Ok(Box::new(socket))
    } else {
        let (socket, _response) =
            async_tungstenite::client_async_with_config(url.as_str(), tcp, Some(ws::config()))
                .await
                .map_err(|e| fail(&e))?;
        Ok(Box::new(socket))
    }
}

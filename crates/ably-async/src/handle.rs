//! The handle every API object holds: the channel into the driver task
//! and the snapshot it keeps. The last handle dropped stops the driver.

use std::sync::Arc;

use ably_proto::adapter::{Call, Error, SharedSnapshot, Sink, Snapshot, Subscriber};
use ably_proto::auth::{TokenDetails, TokenParams, TokenRequest};
use ably_proto::client::Client;
use ably_proto::rest::{HttpPaginatedResponse, Stats, StatsParams};
use futures_channel::mpsc::UnboundedSender;
use futures_channel::oneshot;

use crate::Result;
use crate::driver::{self, Msg};
use crate::options::ClientOptions;
use crate::runtime::{BoxFuture, Runtime};
use crate::subscription::{Page, Subscription};

pub(crate) struct Inner<R: Runtime> {
    tx: UnboundedSender<Msg>,
    shared: SharedSnapshot,
    pub(crate) opts: ClientOptions,
    pub(crate) runtime: Arc<R>,
}

impl<R: Runtime> Inner<R> {
    pub(crate) fn start(opts: ClientOptions, runtime: R) -> Result<Arc<Inner<R>>> {
        let (inner, task) = Inner::start_unspawned(opts, runtime)?;
        inner.runtime.spawn(task);
        Ok(inner)
    }

    /// [`start`](Self::start), with the driver task returned rather than
    /// spawned.
    pub(crate) fn start_unspawned(
        opts: ClientOptions,
        runtime: R,
    ) -> Result<(Arc<Inner<R>>, BoxFuture<()>)> {
        let runtime = Arc::new(runtime);
        let driver::Started { tx, shared, task } = driver::start(&opts, runtime.clone())?;
        let inner = Arc::new(Inner {
            tx,
            shared,
            opts,
            runtime,
        });
        Ok((inner, task))
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        self.shared.get()
    }

    /// Sends an operation and waits until the core completes it. The core
    /// completes every operation exactly once, so this needs no timeout
    /// of its own; if the driver is gone the wait ends with 80017.
    /// Dropping the future does not cancel the operation.
    pub(crate) async fn call<T: Send + 'static>(&self, call: Call<T>) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        let (command, reply) = call.with_reply(move |result| {
            let _ = tx.send(result);
        });
        self.tx
            .unbounded_send(Msg::Command(command, reply))
            .map_err(|_| Error::gone())?;
        rx.await.map_err(|_| Error::gone())?.map_err(Error::from)
    }

    /// A new subscription of one kind; `make` builds the subscriber from
    /// its sink. Returns once the driver has it, so every event after
    /// this call reaches it.
    pub(crate) async fn subscription<T: Send + 'static>(
        &self,
        make: impl FnOnce(Sink<T>) -> Subscriber,
    ) -> Subscription<T> {
        let (sink, subscription) =
            Subscription::bounded(self.opts.subscription_capacity, self.runtime.clone());
        let (ack, done) = oneshot::channel();
        if self
            .tx
            .unbounded_send(Msg::Subscribe(make(sink), ack))
            .is_ok()
        {
            let _ = done.await;
        }
        subscription
    }

    /// Runs a closure on the driver with the core, for reads of its
    /// current state.
    pub(crate) async fn query<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Client) -> T + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        let query: driver::Query = Box::new(move |client| {
            let _ = tx.send(f(client));
        });
        self.tx
            .unbounded_send(Msg::Query(query))
            .map_err(|_| Error::gone())?;
        rx.await.map_err(|_| Error::gone())
    }
}

impl<R: Runtime> Drop for Inner<R> {
    fn drop(&mut self) {
        let _ = self.tx.unbounded_send(Msg::Shutdown);
    }
}

/// Token auth (RSA): obtain tokens, sign TokenRequests, re-authorize.
/// The same for [`Realtime`](crate::Realtime) and [`Rest`](crate::Rest).
pub struct Auth<R: Runtime> {
    pub(crate) inner: Arc<Inner<R>>,
}

impl<R: Runtime> Clone for Auth<R> {
    fn clone(&self) -> Self {
        Auth {
            inner: self.inner.clone(),
        }
    }
}

impl<R: Runtime> std::fmt::Debug for Auth<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").finish_non_exhaustive()
    }
}

impl<R: Runtime> Auth<R> {
    /// The clientId as known now (RSA7, RSA12).
    pub fn client_id(&self) -> Option<String> {
        self.inner.snapshot().client_id
    }

    /// Obtains a new token and uses it, on the live connection too (RSA10,
    /// RTC8); `None` keeps the stored token params.
    pub async fn authorize(&self, params: Option<TokenParams>) -> Result<TokenDetails> {
        self.inner.call(Call::authorize(params)).await
    }

    /// Obtains a token by the configured means without using it (RSA8).
    pub async fn request_token(&self, params: Option<TokenParams>) -> Result<TokenDetails> {
        self.inner.call(Call::request_token(params)).await
    }

    /// A TokenRequest signed with the client's key (RSA9), for an auth
    /// server to hand to clients whose authCallback returns it. Uses the
    /// default token params where `params` is `None`; fails with 40101
    /// without a key. No I/O, so not `async`.
    pub fn create_token_request(&self, params: Option<TokenParams>) -> Result<TokenRequest> {
        Ok(ably_proto::adapter::create_token_request(
            &self.inner.opts.core,
            params,
            ably_net::clock::wall_ms(),
            ably_net::clock::os_nonce(),
        )?)
    }
}

/// The REST calls both clients have.
pub(crate) async fn time<R: Runtime>(inner: &Arc<Inner<R>>) -> Result<i64> {
    inner.call(Call::time()).await
}

pub(crate) async fn stats<R: Runtime>(
    inner: &Arc<Inner<R>>,
    params: StatsParams,
) -> Result<Page<Stats, R>> {
    let page = inner.call(Call::stats(params)).await?;
    Ok(Page::new(inner, page))
}

pub(crate) async fn request<R: Runtime>(
    inner: &Arc<Inner<R>>,
    method: &str,
    path: &str,
    params: Vec<(String, String)>,
    body: Option<serde_json::Value>,
    headers: Vec<(String, String)>,
) -> Result<HttpPaginatedResponse> {
    inner
        .call(Call::request(method, path, params, body, headers))
        .await
}

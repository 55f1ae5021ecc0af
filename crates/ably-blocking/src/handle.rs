//! The handle every API object holds: the channel into the driver thread
//! and the snapshot it keeps. The last handle dropped stops the driver.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;

use ably_proto::adapter::{Call, SharedSnapshot, Snapshot, Subscriber};
use ably_proto::auth::{TokenDetails, TokenParams, TokenRequest};
use ably_proto::client::Client;
use ably_proto::rest::{HttpPaginatedResponse, Stats, StatsParams};

use crate::driver::{self, Msg};
use crate::error::{Error, Result};
use crate::options::ClientOptions;
use crate::queue;
use crate::subscription::{Page, Subscription};

pub(crate) struct Inner {
    post: driver::Post,
    shared: SharedSnapshot,
    pub(crate) opts: ClientOptions,
    thread: Mutex<Option<JoinHandle<()>>>,
    wakeups: Arc<AtomicU64>,
}

impl Inner {
    pub(crate) fn start(opts: ClientOptions) -> Result<Arc<Inner>> {
        let driver::Started {
            post,
            shared,
            thread,
            wakeups,
        } = driver::start(&opts)?;
        Ok(Arc::new(Inner {
            post,
            shared,
            opts,
            thread: Mutex::new(Some(thread)),
            wakeups,
        }))
    }

    /// How many times the driver thread has woken up so far.
    pub(crate) fn wakeups(&self) -> u64 {
        self.wakeups.load(Ordering::Relaxed)
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        self.shared.get()
    }

    /// Sends an operation and blocks until the core completes it. The core
    /// completes every operation exactly once, so this needs no timeout
    /// of its own; if the driver thread is gone the wait ends with 80017.
    pub(crate) fn call<T: Send + 'static>(&self, call: Call<T>) -> Result<T> {
        self.send_call(call).wait()
    }

    /// Sends an operation without waiting for it.
    pub(crate) fn send_call<T: Send + 'static>(&self, call: Call<T>) -> Pending<T> {
        let (tx, rx) = queue::queue();
        let (command, reply) = call.with_reply(move |result| {
            tx.send(result);
        });
        // If the driver is gone, the reply (and `tx`) are dropped with
        // the message and the wait ends with 80017.
        let _ = self.post.send(Msg::Command(command, reply));
        Pending { rx }
    }

    /// Registers a subscriber; returns once the driver has it, so every
    /// event after this call reaches it.
    pub(crate) fn subscribe(&self, sub: Subscriber) {
        let (ack, done) = mpsc::channel();
        if self.post.send(Msg::Subscribe(sub, ack)).is_ok() {
            let _ = done.recv();
        }
    }

    /// A new subscription of one kind; `make` builds the subscriber from
    /// its sink.
    pub(crate) fn subscription<T: Send + 'static>(
        &self,
        make: impl FnOnce(ably_proto::adapter::Sink<T>) -> Subscriber,
    ) -> Subscription<T> {
        let (tx, rx) = queue::bounded(self.opts.subscription_capacity);
        self.subscribe(make(Box::new(move |item| tx.send(item))));
        Subscription::new(rx)
    }

    /// Runs a closure on the driver thread with the core, for reads of its
    /// current state.
    pub(crate) fn query<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Client) -> T + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = mpsc::channel();
        let query: driver::Query = Box::new(move |client| {
            let _ = tx.send(f(client));
        });
        self.post
            .send(Msg::Query(query))
            .map_err(|_| Error::gone())?;
        rx.recv().map_err(|_| Error::gone())
    }
}

/// An operation sent to the driver, whose result is still to come.
pub(crate) struct Pending<T> {
    rx: queue::Receiver<std::result::Result<T, ably_proto::ErrorInfo>>,
}

impl<T> Pending<T> {
    /// Blocks until the core completes the operation (80017 if the driver
    /// thread is gone).
    pub(crate) fn wait(self) -> Result<T> {
        self.rx.recv().ok_or_else(Error::gone)?.map_err(Error::from)
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let _ = self.post.queue(Msg::Shutdown);
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        // The last handle may be dropped on the driver thread itself (an
        // authCallback holding its own client); it then ends by itself.
        if let Some(thread) = thread {
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

/// Token auth (RSA): obtain tokens, sign TokenRequests, re-authorize.
/// The same for [`Realtime`](crate::Realtime) and [`Rest`](crate::Rest).
#[derive(Clone)]
pub struct Auth {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").finish_non_exhaustive()
    }
}

impl Auth {
    /// The clientId as known now (RSA7, RSA12).
    pub fn client_id(&self) -> Option<String> {
        self.inner.snapshot().client_id
    }

    /// Obtains a new token and uses it, on the live connection too (RSA10,
    /// RTC8); `None` keeps the stored token params.
    pub fn authorize(&self, params: Option<TokenParams>) -> Result<TokenDetails> {
        self.inner.call(Call::authorize(params))
    }

    /// Obtains a token by the configured means without using it (RSA8).
    pub fn request_token(&self, params: Option<TokenParams>) -> Result<TokenDetails> {
        self.inner.call(Call::request_token(params))
    }

    /// A TokenRequest signed with the client's key (RSA9), for an auth
    /// server to hand to clients whose authCallback returns it. Uses the
    /// default token params where `params` is `None`; fails with 40101
    /// without a key.
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
pub(crate) fn time(inner: &Arc<Inner>) -> Result<i64> {
    inner.call(Call::time())
}

pub(crate) fn stats(inner: &Arc<Inner>, params: StatsParams) -> Result<Page<Stats>> {
    Ok(Page::new(inner, inner.call(Call::stats(params))?))
}

pub(crate) fn request(
    inner: &Arc<Inner>,
    method: &str,
    path: &str,
    params: Vec<(String, String)>,
    body: Option<serde_json::Value>,
    headers: Vec<(String, String)>,
) -> Result<HttpPaginatedResponse> {
    inner.call(Call::request(method, path, params, body, headers))
}

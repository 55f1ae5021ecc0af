//! The handle every API object holds: the channel into the driver thread
//! and the snapshot it keeps. The last handle dropped stops the driver.

use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use ably_proto::ErrorInfo;
use ably_proto::auth::{ApiKey, TokenDetails, TokenParams, TokenRequest, create_token_request};
use ably_proto::client::{Client, Command, Completion};
use ably_proto::rest::{HttpPaginatedResponse, RestOp, RestResult, Stats, StatsParams};

use crate::driver::{self, Msg, Snapshot, Subscriber};
use crate::error::{Error, Result};
use crate::options::ClientOptions;
use crate::subscription::{Page, Subscription};

pub(crate) struct Inner {
    tx: Sender<Msg>,
    shared: Arc<Mutex<Snapshot>>,
    pub(crate) opts: ClientOptions,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Inner {
    pub(crate) fn start(opts: ClientOptions) -> Result<Arc<Inner>> {
        let driver::Started { tx, shared, thread } = driver::start(&opts)?;
        Ok(Arc::new(Inner {
            tx,
            shared,
            opts,
            thread: Mutex::new(Some(thread)),
        }))
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        driver::lock(&self.shared).clone()
    }

    /// Sends a command and blocks until the core completes it. The core
    /// completes every operation exactly once, so this needs no timeout
    /// of its own; if the driver thread is gone the wait ends with 80017.
    pub(crate) fn call(&self, command: Command) -> Result<Completion> {
        let (tx, rx) = mpsc::channel();
        self.tx
            .send(Msg::Command(command, tx))
            .map_err(|_| Error::gone())?;
        rx.recv().map_err(|_| Error::gone())?.map_err(Error::from)
    }

    /// Sends a command expecting [`Completion::Done`].
    pub(crate) fn call_done(&self, command: Command) -> Result<()> {
        match self.call(command)? {
            Completion::Done => Ok(()),
            other => Err(Error::unexpected(other)),
        }
    }

    /// A REST operation through the core (`Command::Rest`).
    pub(crate) fn rest(&self, op: RestOp) -> Result<RestResult> {
        match self.call(Command::Rest(op))? {
            Completion::Rest(result) => Ok(*result),
            other => Err(Error::unexpected(other)),
        }
    }

    /// Registers a subscriber; returns once the driver has it, so every
    /// event after this call reaches it.
    pub(crate) fn subscribe(&self, sub: Subscriber) {
        let (ack, done) = mpsc::channel();
        if self.tx.send(Msg::Subscribe(sub, ack)).is_ok() {
            let _ = done.recv();
        }
    }

    /// A new subscription of one kind.
    pub(crate) fn subscription<T>(
        &self,
        make: impl FnOnce(Sender<T>) -> Subscriber,
    ) -> Subscription<T> {
        let (tx, rx) = mpsc::channel();
        self.subscribe(make(tx));
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
        self.tx.send(Msg::Query(query)).map_err(|_| Error::gone())?;
        rx.recv().map_err(|_| Error::gone())
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let _ = self.tx.send(Msg::Shutdown);
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
        match self.inner.call(Command::Authorize(params))? {
            Completion::Authorized(details) => Ok(details),
            other => Err(Error::unexpected(other)),
        }
    }

    /// Obtains a token by the configured means without using it (RSA8).
    pub fn request_token(&self, params: Option<TokenParams>) -> Result<TokenDetails> {
        match self.inner.call(Command::RequestToken(params))? {
            Completion::Rest(result) => match *result {
                RestResult::Token(details) => Ok(details),
                other => Err(Error::unexpected(other)),
            },
            other => Err(Error::unexpected(other)),
        }
    }

    /// A TokenRequest signed with the client's key (RSA9), for an auth
    /// server to hand to clients whose authCallback returns it. Uses the
    /// default token params where `params` is `None`; fails with 40101
    /// without a key.
    pub fn create_token_request(&self, params: Option<TokenParams>) -> Result<TokenRequest> {
        let opts = &self.inner.opts.core;
        let key = opts
            .key
            .as_deref()
            .ok_or_else(|| ErrorInfo::new(40101, 401, "a key is needed to sign a TokenRequest"))?;
        let key = ApiKey::parse(key)?;
        let mut params = params.unwrap_or_else(|| opts.default_token_params.clone());
        if params.client_id.is_none() {
            params.client_id = opts.client_id.clone();
        }
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let seed = driver::os_seed();
        let mut nonce = [0u8; 8];
        nonce.copy_from_slice(&seed[..8]);
        Ok(create_token_request(
            &key,
            &params,
            now_ms,
            ably_proto::auth::nonce_from_bytes(nonce),
        ))
    }
}

/// The REST calls both clients have.
pub(crate) fn time(inner: &Arc<Inner>) -> Result<i64> {
    match inner.rest(RestOp::Time)? {
        RestResult::Time(ms) => Ok(ms),
        other => Err(Error::unexpected(other)),
    }
}

pub(crate) fn stats(inner: &Arc<Inner>, params: StatsParams) -> Result<Page<Stats>> {
    let result = inner.rest(RestOp::Stats(params))?;
    Page::from_result(inner, result)
}

pub(crate) fn request(
    inner: &Arc<Inner>,
    method: &str,
    path: &str,
    params: Vec<(String, String)>,
    body: Option<serde_json::Value>,
    headers: Vec<(String, String)>,
) -> Result<HttpPaginatedResponse> {
    let op = RestOp::Request {
        method: method.to_owned(),
        path: path.to_owned(),
        version: ably_proto::rest::PROTOCOL_VERSION,
        params,
        body,
        headers,
    };
    match inner.rest(op)? {
        RestResult::Http(response) => Ok(response),
        other => Err(Error::unexpected(other)),
    }
}

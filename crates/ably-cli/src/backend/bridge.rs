//! The backend on the async API (`ably-async`, which `ably-tokio` and
//! `ably-async-std` instantiate): each call runs its future to completion
//! with the runtime's `block_on`, and subscriptions wait with the
//! subscription's own `recv_timeout`. Written once; a runtime supplies
//! only its [`Runtime`] value and a [`BlockOn`].

use std::future::Future;
use std::time::Duration;

use ably_async::{ClientOptions as AsyncOptions, PresenceQuery, Realtime, Runtime, Subscription};
use ably_proto::ErrorInfo;
use ably_proto::auth::{TokenDetails, TokenParams};
use ably_proto::client::{ClientOptions, ConnectionStateChange};
use ably_proto::rest::HistoryParams;
use ably_proto::{ChannelOptions, Data, Message, PresenceMessage};

use super::{Backend, Client, ConnectionInfo, Events, Next, Result};

/// Runs a future to completion on the calling (plain) thread.
pub trait BlockOn: Clone + Send + Sync + 'static {
    /// Blocks until `future` is done.
    fn block_on<F: Future>(&self, future: F) -> F::Output;
}

/// A backend on an async runtime `R`, entered through `B`.
pub struct AsyncBackend<R, B> {
    runtime: R,
    block: B,
}

impl<R: Runtime + Clone, B: BlockOn> AsyncBackend<R, B> {
    /// Clients run their driver tasks on `runtime`; calls wait with `block`.
    pub fn new(runtime: R, block: B) -> Self {
        AsyncBackend { runtime, block }
    }
}

impl<R: Runtime + Clone, B: BlockOn> Backend for AsyncBackend<R, B> {
    fn client(&self, options: ClientOptions, tls_roots: &[Vec<u8>]) -> Result<Box<dyn Client>> {
        let options = AsyncOptions::from_core(options).tls_root_certificates(tls_roots.to_vec());
        let client =
            Realtime::with_runtime(options, self.runtime.clone()).map_err(ErrorInfo::from)?;
        Ok(Box::new(AsyncClient {
            client,
            block: self.block.clone(),
        }))
    }
}

struct AsyncClient<R: Runtime, B> {
    client: Realtime<R>,
    block: B,
}

impl<R: Runtime, B: BlockOn> AsyncClient<R, B> {
    /// Runs one call of the API.
    fn run<T>(&self, call: impl Future<Output = ably_async::Result<T>>) -> Result<T> {
        self.block.block_on(call).map_err(ErrorInfo::from)
    }

    fn events<T: Send + 'static>(&self, sub: Subscription<T>) -> Box<dyn Events<T>> {
        Box::new(AsyncEvents {
            sub,
            block: self.block.clone(),
        })
    }
}

impl<R: Runtime, B: BlockOn> Client for AsyncClient<R, B> {
    fn connection_changes(&self) -> Box<dyn Events<ConnectionStateChange>> {
        let sub = self
            .block
            .block_on(self.client.connection().on_state_change());
        self.events(sub)
    }

    fn connection(&self) -> ConnectionInfo {
        let c = self.client.connection();
        ConnectionInfo {
            state: c.state(),
            id: c.id(),
            key: c.key(),
            client_id: self.client.auth().client_id(),
        }
    }

    fn connect(&self) -> Result<()> {
        self.run(self.client.connection().connect())
    }

    fn ping(&self) -> Result<Duration> {
        self.run(self.client.connection().ping())
    }

    fn time(&self) -> Result<i64> {
        self.run(self.client.time())
    }

    fn set_channel_options(&self, channel: &str, options: ChannelOptions) -> Result<()> {
        self.run(self.client.channels().get_with_options(channel, options))
            .map(drop)
    }

    fn subscribe(&self, channel: &str) -> Result<Box<dyn Events<Message>>> {
        let sub = self.run(self.client.channels().get(channel).subscribe())?;
        Ok(self.events(sub))
    }

    fn publish(&self, channel: &str, messages: Vec<Message>) -> Result<Vec<Option<String>>> {
        self.run(
            self.client
                .channels()
                .get(channel)
                .publish_messages(messages),
        )
    }

    fn history(&self, channel: &str, params: HistoryParams) -> Result<Vec<Message>> {
        self.run(self.client.channels().get(channel).history(params))
            .map(|page| page.items)
    }

    fn presence_enter(&self, channel: &str, data: Data) -> Result<()> {
        self.run(self.client.channels().get(channel).presence().enter(data))
    }

    fn presence_leave(&self, channel: &str, data: Data) -> Result<()> {
        self.run(self.client.channels().get(channel).presence().leave(data))
    }

    fn presence_get(&self, channel: &str) -> Result<Vec<PresenceMessage>> {
        let presence = self.client.channels().get(channel).presence();
        self.run(presence.get(PresenceQuery::default()))
    }

    fn presence_subscribe(&self, channel: &str) -> Result<Box<dyn Events<PresenceMessage>>> {
        let sub = self.run(self.client.channels().get(channel).presence().subscribe())?;
        Ok(self.events(sub))
    }

    fn request_token(&self, params: TokenParams) -> Result<TokenDetails> {
        self.run(self.client.auth().request_token(Some(params)))
    }

    fn close(&self) -> Result<()> {
        self.run(self.client.close())
    }
}

/// A subscription of the async API, waited on from a plain thread.
struct AsyncEvents<T, B> {
    sub: Subscription<T>,
    block: B,
}

impl<T: Send + 'static, B: BlockOn> Events<T> for AsyncEvents<T, B> {
    fn next_within(&mut self, timeout: Duration) -> Next<T> {
        match self.block.block_on(self.sub.recv_timeout(timeout)) {
            Ok(item) => Next::Item(item),
            // As in ably-blocking: 50003 is a wait that timed out; anything
            // else is the end (80017 or 80020).
            Err(e) if e.code() == 50003 => Next::Timeout,
            Err(e) => Next::Ended(e.into_info()),
        }
    }

    fn try_next(&mut self) -> Option<T> {
        self.sub.try_recv()
    }
}

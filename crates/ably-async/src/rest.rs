//! The REST client: [`Rest`], [`RestChannels`], [`RestChannel`],
//! [`RestPresence`].
//!
//! It runs on the same driver as the realtime client, with a core that
//! never connects: every call is a `Command::Rest` whose HTTP requests the
//! driver executes with ureq on the runtime's blocking pool, so calls
//! from several tasks run concurrently.

use std::sync::Arc;

use ably_proto::adapter::Call;
use ably_proto::rest::{HistoryParams, HttpPaginatedResponse, PresenceParams, Stats, StatsParams};
use ably_proto::{ChannelOptions, Data, Message, PresenceMessage};

use crate::Result;
use crate::handle::{self, Auth, Inner};
use crate::options::ClientOptions;
use crate::runtime::Runtime;
use crate::subscription::Page;

/// A REST client (RSC). Cheap to clone.
pub struct Rest<R: Runtime> {
    inner: Arc<Inner<R>>,
}

impl<R: Runtime> Clone for Rest<R> {
    fn clone(&self) -> Self {
        Rest {
            inner: self.inner.clone(),
        }
    }
}

impl<R: Runtime> std::fmt::Debug for Rest<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rest").finish_non_exhaustive()
    }
}

impl<R: Runtime> Rest<R> {
    /// Checks the options and starts the client on the current runtime
    /// (autoConnect is ignored: a REST client never opens a realtime
    /// connection).
    pub fn new(options: ClientOptions) -> Result<Rest<R>> {
        Rest::with_runtime(options, R::current()?)
    }

    /// [`Rest::new`] on the given runtime.
    pub fn with_runtime(mut options: ClientOptions, runtime: R) -> Result<Rest<R>> {
        options.core.auto_connect = false;
        options.core.rest_client = true;
        Ok(Rest {
            inner: Inner::start(options, runtime)?,
        })
    }

    /// The service's time in ms since the epoch (RSC16).
    pub async fn time(&self) -> Result<i64> {
        handle::time(&self.inner).await
    }

    /// Application statistics (RSC6).
    pub async fn stats(&self, params: StatsParams) -> Result<Page<Stats, R>> {
        handle::stats(&self.inner, params).await
    }

    /// Any REST request (RSC19).
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        params: Vec<(String, String)>,
        body: Option<serde_json::Value>,
        headers: Vec<(String, String)>,
    ) -> Result<HttpPaginatedResponse> {
        handle::request(&self.inner, method, path, params, body, headers).await
    }

    /// Token auth (RSA).
    pub fn auth(&self) -> Auth<R> {
        Auth {
            inner: self.inner.clone(),
        }
    }

    /// The channels.
    pub fn channels(&self) -> RestChannels<R> {
        RestChannels {
            inner: self.inner.clone(),
        }
    }
}

/// The channels of a [`Rest`] client (RSN).
pub struct RestChannels<R: Runtime> {
    inner: Arc<Inner<R>>,
}

impl<R: Runtime> Clone for RestChannels<R> {
    fn clone(&self) -> Self {
        RestChannels {
            inner: self.inner.clone(),
        }
    }
}

impl<R: Runtime> std::fmt::Debug for RestChannels<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestChannels").finish_non_exhaustive()
    }
}

impl<R: Runtime> RestChannels<R> {
    /// The channel of this name (RSN3a).
    pub fn get(&self, name: impl Into<String>) -> RestChannel<R> {
        RestChannel {
            name: name.into(),
            inner: self.inner.clone(),
        }
    }
}

/// A REST channel (RSL).
pub struct RestChannel<R: Runtime> {
    name: String,
    inner: Arc<Inner<R>>,
}

impl<R: Runtime> Clone for RestChannel<R> {
    fn clone(&self) -> Self {
        RestChannel {
            name: self.name.clone(),
            inner: self.inner.clone(),
        }
    }
}

impl<R: Runtime> std::fmt::Debug for RestChannel<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestChannel")
            .field("name", &self.name)
            .finish()
    }
}

impl<R: Runtime> RestChannel<R> {
    /// The channel name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sets the cipher (and params) used for this channel's payloads (RSL7).
    pub async fn set_options(&self, options: ChannelOptions) -> Result<()> {
        self.inner
            .call(Call::set_options(&self.name, options))
            .await
    }

    /// Publishes one message (RSL1); returns its serial.
    pub async fn publish(
        &self,
        name: impl Into<String>,
        data: impl Into<Data>,
    ) -> Result<Option<String>> {
        let serials = self
            .publish_messages(vec![Message::new(name, data)])
            .await?;
        Ok(serials.into_iter().next().flatten())
    }

    /// Publishes messages in one request (RSL1); returns their serials.
    pub async fn publish_messages(&self, messages: Vec<Message>) -> Result<Vec<Option<String>>> {
        self.inner
            .call(Call::rest_publish(&self.name, messages))
            .await
    }

    /// Message history (RSL2).
    pub async fn history(&self, params: HistoryParams) -> Result<Page<Message, R>> {
        let page = self.inner.call(Call::history(&self.name, params)).await?;
        Ok(Page::new(&self.inner, page))
    }

    /// The channel's presence (RSP).
    pub fn presence(&self) -> RestPresence<R> {
        RestPresence {
            channel: self.name.clone(),
            inner: self.inner.clone(),
        }
    }
}

/// The presence of a [`RestChannel`] (RSP).
pub struct RestPresence<R: Runtime> {
    channel: String,
    inner: Arc<Inner<R>>,
}

impl<R: Runtime> Clone for RestPresence<R> {
    fn clone(&self) -> Self {
        RestPresence {
            channel: self.channel.clone(),
            inner: self.inner.clone(),
        }
    }
}

impl<R: Runtime> std::fmt::Debug for RestPresence<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestPresence")
            .field("channel", &self.channel)
            .finish()
    }
}

impl<R: Runtime> RestPresence<R> {
    /// The members present now (RSP3).
    pub async fn get(&self, params: PresenceParams) -> Result<Page<PresenceMessage, R>> {
        let page = self
            .inner
            .call(Call::rest_presence_get(&self.channel, params))
            .await?;
        Ok(Page::new(&self.inner, page))
    }

    /// Presence history (RSP4).
    pub async fn history(&self, params: HistoryParams) -> Result<Page<PresenceMessage, R>> {
        let page = self
            .inner
            .call(Call::presence_history(&self.channel, params))
            .await?;
        Ok(Page::new(&self.inner, page))
    }
}

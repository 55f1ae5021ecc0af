//! The REST client: [`Rest`], [`RestChannel`], [`RestPresence`].
//!
//! It runs on the same driver as the realtime client, with a core that
//! never connects: every call is a `Command::Rest` whose HTTP requests the
//! driver executes with ureq on helper threads, so calls from several
//! threads run concurrently.

use std::sync::Arc;

use ably_proto::adapter::Call;
use ably_proto::rest::{HistoryParams, HttpPaginatedResponse, PresenceParams, Stats, StatsParams};
use ably_proto::{ChannelOptions, Data, Message, PresenceMessage};

use crate::error::Result;
use crate::handle::{self, Auth, Inner};
use crate::options::ClientOptions;
use crate::subscription::Page;

/// A REST client (RSC). Cheap to clone.
#[derive(Clone)]
pub struct Rest {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Rest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rest").finish_non_exhaustive()
    }
}

impl Rest {
    /// Checks the options and starts the client (autoConnect is ignored:
    /// a REST client never opens a realtime connection).
    pub fn new(mut options: ClientOptions) -> Result<Rest> {
        options.core.auto_connect = false;
        options.core.rest_client = true;
        Ok(Rest {
            inner: Inner::start(options)?,
        })
    }

    /// The service's time in ms since the epoch (RSC16).
    pub fn time(&self) -> Result<i64> {
        handle::time(&self.inner)
    }

    /// Application statistics (RSC6).
    pub fn stats(&self, params: StatsParams) -> Result<Page<Stats>> {
        handle::stats(&self.inner, params)
    }

    /// Any REST request (RSC19).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        params: Vec<(String, String)>,
        body: Option<serde_json::Value>,
        headers: Vec<(String, String)>,
    ) -> Result<HttpPaginatedResponse> {
        handle::request(&self.inner, method, path, params, body, headers)
    }

    /// Token auth (RSA).
    pub fn auth(&self) -> Auth {
        Auth {
            inner: self.inner.clone(),
        }
    }

    /// The channels.
    pub fn channels(&self) -> RestChannels {
        RestChannels {
            inner: self.inner.clone(),
        }
    }
}

/// The channels of a [`Rest`] client (RSN).
#[derive(Clone)]
pub struct RestChannels {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RestChannels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestChannels").finish_non_exhaustive()
    }
}

impl RestChannels {
    /// The channel of this name (RSN3a).
    pub fn get(&self, name: impl Into<String>) -> RestChannel {
        RestChannel {
            name: name.into(),
            inner: self.inner.clone(),
        }
    }
}

/// A REST channel (RSL).
#[derive(Clone)]
pub struct RestChannel {
    name: String,
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RestChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestChannel")
            .field("name", &self.name)
            .finish()
    }
}

impl RestChannel {
    /// The channel name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sets the cipher (and params) used for this channel's payloads (RSL7).
    pub fn set_options(&self, options: ChannelOptions) -> Result<()> {
        self.inner.call(Call::set_options(&self.name, options))
    }

    /// Publishes one message (RSL1); returns its serial.
    pub fn publish(
        &self,
        name: impl Into<String>,
        data: impl Into<Data>,
    ) -> Result<Option<String>> {
        let serials = self.publish_messages(vec![Message::new(name, data)])?;
        Ok(serials.into_iter().next().flatten())
    }

    /// Publishes messages in one request (RSL1); returns their serials.
    pub fn publish_messages(&self, messages: Vec<Message>) -> Result<Vec<Option<String>>> {
        self.inner.call(Call::rest_publish(&self.name, messages))
    }

    /// Message history (RSL2).
    pub fn history(&self, params: HistoryParams) -> Result<Page<Message>> {
        let page = self.inner.call(Call::history(&self.name, params))?;
        Ok(Page::new(&self.inner, page))
    }

    /// The channel's presence (RSP).
    pub fn presence(&self) -> RestPresence {
        RestPresence {
            channel: self.name.clone(),
            inner: self.inner.clone(),
        }
    }
}

/// The presence of a [`RestChannel`] (RSP).
#[derive(Clone)]
pub struct RestPresence {
    channel: String,
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RestPresence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestPresence")
            .field("channel", &self.channel)
            .finish()
    }
}

impl RestPresence {
    /// The members present now (RSP3).
    pub fn get(&self, params: PresenceParams) -> Result<Page<PresenceMessage>> {
        let page = self
            .inner
            .call(Call::rest_presence_get(&self.channel, params))?;
        Ok(Page::new(&self.inner, page))
    }

    /// Presence history (RSP4).
    pub fn history(&self, params: HistoryParams) -> Result<Page<PresenceMessage>> {
        let page = self
            .inner
            .call(Call::presence_history(&self.channel, params))?;
        Ok(Page::new(&self.inner, page))
    }
}

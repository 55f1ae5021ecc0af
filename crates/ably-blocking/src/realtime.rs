//! The realtime client: [`Realtime`], its [`Connection`], [`Channels`],
//! [`Channel`] and [`Presence`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use ably_proto::adapter::{Call, Subscriber, wait_outcome};
use ably_proto::client::{
    ChannelState, ChannelStateChange, ConnectionState, ConnectionStateChange, PresenceQuery,
};
use ably_proto::rest::{HistoryParams, HttpPaginatedResponse, Stats, StatsParams};
use ably_proto::{ChannelOptions, Data, ErrorInfo, Message, PresenceAction, PresenceMessage};

use crate::error::{Error, Result};
use crate::handle::{self, Auth, Inner, Pending};
use crate::options::ClientOptions;
use crate::subscription::{Listener, Page, Subscription};

/// A realtime client (RTC): one connection to Ably, driven by its own
/// thread. Cheap to clone; the connection closes when the last clone (and
/// every handle taken from it) is dropped.
#[derive(Clone)]
pub struct Realtime {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Realtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Realtime")
            .field("state", &self.inner.snapshot().state)
            .finish_non_exhaustive()
    }
}

impl Realtime {
    /// Checks the options, starts the driver thread and, with autoConnect
    /// (the default), starts connecting. Does not wait for the connection:
    /// use [`Connection::wait_for`] or just go ahead (publishes are queued).
    pub fn new(options: ClientOptions) -> Result<Realtime> {
        Ok(Realtime {
            inner: Inner::start(options)?,
        })
    }

    /// The connection (RTN).
    pub fn connection(&self) -> Connection {
        Connection {
            inner: self.inner.clone(),
        }
    }

    /// The channels (RTS).
    pub fn channels(&self) -> Channels {
        Channels {
            inner: self.inner.clone(),
        }
    }

    /// Token auth (RTC4).
    pub fn auth(&self) -> Auth {
        Auth {
            inner: self.inner.clone(),
        }
    }

    /// The service's time in ms since the epoch (RTC6a).
    pub fn time(&self) -> Result<i64> {
        handle::time(&self.inner)
    }

    /// Application statistics (RTC5).
    pub fn stats(&self, params: StatsParams) -> Result<Page<Stats>> {
        handle::stats(&self.inner, params)
    }

    /// Any REST request (RTC9): `method`, `path`, query params, an
    /// optional JSON body and extra headers.
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

    /// Closes the connection (RTN12); same as `connection().close()`.
    pub fn close(&self) -> Result<()> {
        self.connection().close()
    }
}

/// The connection of a [`Realtime`] client (RTN).
#[derive(Clone)]
pub struct Connection {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("state", &self.state())
            .field("id", &self.id())
            .finish()
    }
}

impl Connection {
    /// The state now (RTN4d).
    pub fn state(&self) -> ConnectionState {
        self.inner.snapshot().state
    }

    /// The connection id once connected (RTN8).
    pub fn id(&self) -> Option<String> {
        self.inner.snapshot().id
    }

    /// The connection key once connected (RTN9).
    pub fn key(&self) -> Option<String> {
        self.inner.snapshot().key
    }

    /// The last error (RTN25).
    pub fn error_reason(&self) -> Option<ErrorInfo> {
        self.inner.snapshot().error_reason
    }

    /// How many times the client's driver thread has woken up so far:
    /// for tests that an idle client sleeps.
    #[doc(hidden)]
    pub fn driver_wakeups(&self) -> u64 {
        self.inner.wakeups()
    }

    /// Every state change and UPDATE from now on (RTN4).
    pub fn on_state_change(&self) -> Subscription<ConnectionStateChange> {
        self.inner.subscription(Subscriber::Connection)
    }

    /// Waits until the connection is in `state`. Fails with the reason if
    /// it reaches `failed` (or `closed`, unless that is what is awaited)
    /// first, and with 50003 after `timeout`.
    pub fn wait_for(&self, state: ConnectionState, timeout: Duration) -> Result<()> {
        let changes = self.on_state_change();
        let deadline = Instant::now() + timeout;
        let mut current = self.inner.snapshot();
        loop {
            if let Some(outcome) = wait_outcome(state, current.state, current.error_reason.as_ref())
            {
                return outcome.map_err(Error::from);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let change = changes
                .recv_timeout(left)
                .map_err(|_| Error::timeout(&format!("connection state {state}")))?;
            current.state = change.current;
            current.error_reason = change.reason.or(current.error_reason);
        }
    }

    /// Connects, or reconnects now (RTN11). Does not wait.
    pub fn connect(&self) -> Result<()> {
        self.inner.call(Call::connect())
    }

    /// Closes the connection (RTN12) and waits until it is closed (or
    /// failed), at most realtimeRequestTimeout.
    pub fn close(&self) -> Result<()> {
        let changes = self.on_state_change();
        self.inner.call(Call::close())?;
        let timeout = self.inner.opts.core.realtime_request_timeout;
        let deadline = Instant::now() + timeout;
        loop {
            if matches!(
                self.state(),
                ConnectionState::Closed | ConnectionState::Failed
            ) {
                return Ok(());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            changes.recv_timeout(left)?;
        }
    }

    /// Measures the round trip to the service (RTN13).
    pub fn ping(&self) -> Result<Duration> {
        self.inner.call(Call::ping())
    }

    /// A key to recover this connection in another client with
    /// [`ClientOptions::recover`] (RTN16g); `None` when there is nothing
    /// to recover.
    pub fn create_recovery_key(&self) -> Result<Option<String>> {
        self.inner.query(|client| client.create_recovery_key())
    }
}

/// The channels of a [`Realtime`] client (RTS).
#[derive(Clone)]
pub struct Channels {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Channels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channels").finish_non_exhaustive()
    }
}

impl Channels {
    /// The channel of this name (RTS3a). Nothing is sent until it is used.
    pub fn get(&self, name: impl Into<String>) -> Channel {
        Channel {
            name: name.into(),
            inner: self.inner.clone(),
        }
    }

    /// The channel with these options (RTS3b, RTS3c); fails with 40000 if
    /// new params or modes would need a reattach (RTS3c1).
    pub fn get_with_options(
        &self,
        name: impl Into<String>,
        options: ChannelOptions,
    ) -> Result<Channel> {
        let channel = self.get(name);
        self.inner
            .call(Call::get_channel(&channel.name, Some(options)))?;
        Ok(channel)
    }

    /// Whether a channel of this name exists in the client (RTS2).
    pub fn exists(&self, name: &str) -> bool {
        self.inner.snapshot().channels.contains_key(name)
    }

    /// Detaches and forgets a channel (RTS4).
    pub fn release(&self, name: &str) -> Result<()> {
        self.inner.call(Call::release(name))
    }
}

/// A realtime channel (RTL).
#[derive(Clone)]
pub struct Channel {
    name: String,
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("name", &self.name)
            .field("state", &self.state())
            .finish()
    }
}

impl Channel {
    /// The channel name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The state now (RTL2b).
    pub fn state(&self) -> ChannelState {
        self.inner.snapshot().channel_state(&self.name)
    }

    /// The last error of this channel (RTL4e).
    pub fn error_reason(&self) -> Option<ErrorInfo> {
        self.inner.snapshot().channel_error(&self.name)
    }

    /// Every state change and UPDATE of this channel from now on (RTL2).
    pub fn on_state_change(&self) -> Subscription<ChannelStateChange> {
        let channel = self.name.clone();
        self.inner
            .subscription(|sink| Subscriber::Channel { channel, sink })
    }

    /// Attaches and waits for ATTACHED (RTL4).
    pub fn attach(&self) -> Result<()> {
        self.inner.call(Call::attach(&self.name))
    }

    /// Detaches and waits for DETACHED (RTL5).
    pub fn detach(&self) -> Result<()> {
        self.inner.call(Call::detach(&self.name))
    }

    /// Sets params, modes and cipher (RTL16); reattaches if params or
    /// modes change on an attached channel, and waits for that.
    pub fn set_options(&self, options: ChannelOptions) -> Result<()> {
        self.inner.call(Call::set_options(&self.name, options))
    }

    /// Every message from now on, payloads decoded (RTL7a); attaches the
    /// channel and returns once it is attached (RTL7g).
    pub fn subscribe(&self) -> Result<Subscription<Message>> {
        self.subscribe_filtered(None)
    }

    /// Messages of this name from now on (RTL7b); attaches like
    /// [`Channel::subscribe`].
    pub fn subscribe_name(&self, name: impl Into<String>) -> Result<Subscription<Message>> {
        self.subscribe_filtered(Some(name.into()))
    }

    /// Calls `f` with every message from now on, payloads decoded
    /// (RTL7a), on the client's driver thread: the way to receive with
    /// the least CPU per message, as no other thread is woken (see
    /// [`Listener`] for what `f` must not do). Attaches the channel and
    /// returns once it is attached (RTL7g).
    pub fn subscribe_with(&self, f: impl FnMut(Message) + Send + 'static) -> Result<Listener> {
        let (listener, sink) = Listener::new(f);
        self.inner.subscribe(Subscriber::Messages {
            channel: self.name.clone(),
            name: None,
            sink,
        });
        self.attach()?;
        Ok(listener)
    }

    fn subscribe_filtered(&self, name: Option<String>) -> Result<Subscription<Message>> {
        let channel = self.name.clone();
        let sub = self.inner.subscription(|sink| Subscriber::Messages {
            channel,
            name,
            sink,
        });
        self.attach()?;
        Ok(sub)
    }

    /// Publishes one message and waits for the ACK (RTL6); returns its
    /// serial (`None` if the service gave none).
    pub fn publish(
        &self,
        name: impl Into<String>,
        data: impl Into<Data>,
    ) -> Result<Option<String>> {
        let serials = self.publish_messages(vec![Message::new(name, data)])?;
        Ok(serials.into_iter().next().flatten())
    }

    /// Publishes one message without waiting for the ACK (RTL6): the
    /// message is queued for the connection at once, in call order, and
    /// the returned handle waits for the ACK. For publishing many messages
    /// from one thread with several awaiting their ACK; dropping the
    /// handle just ignores the outcome.
    pub fn publish_async(&self, name: impl Into<String>, data: impl Into<Data>) -> PublishHandle {
        let messages = vec![Message::new(name, data)];
        PublishHandle(self.inner.send_call(Call::publish(&self.name, messages)))
    }

    /// Publishes messages in one frame and waits for the ACK (RTL6i);
    /// returns their serials in order (RTL6j).
    pub fn publish_messages(&self, messages: Vec<Message>) -> Result<Vec<Option<String>>> {
        self.inner.call(Call::publish(&self.name, messages))
    }

    /// Message history over REST (RTL10), newest first unless `params`
    /// says otherwise; payloads decoded with the channel's cipher.
    pub fn history(&self, params: HistoryParams) -> Result<Page<Message>> {
        let page = self.inner.call(Call::history(&self.name, params))?;
        Ok(Page::new(&self.inner, page))
    }

    /// The channel's presence (RTP).
    pub fn presence(&self) -> Presence {
        Presence {
            channel: self.name.clone(),
            inner: self.inner.clone(),
        }
    }
}

/// The presence of a realtime [`Channel`] (RTP).
#[derive(Clone)]
pub struct Presence {
    channel: String,
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Presence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presence")
            .field("channel", &self.channel)
            .finish()
    }
}

impl Presence {
    fn send(&self, action: PresenceAction, client_id: Option<String>, data: Data) -> Result<()> {
        self.inner
            .call(Call::presence(&self.channel, action, client_id, data))
    }

    /// Enters this client (RTP8); attaches the channel if needed; waits
    /// for the ACK.
    pub fn enter(&self, data: impl Into<Data>) -> Result<()> {
        self.send(PresenceAction::Enter, None, data.into())
    }

    /// Updates this client's data (RTP9).
    pub fn update(&self, data: impl Into<Data>) -> Result<()> {
        self.send(PresenceAction::Update, None, data.into())
    }

    /// Leaves (RTP10).
    pub fn leave(&self, data: impl Into<Data>) -> Result<()> {
        self.send(PresenceAction::Leave, None, data.into())
    }

    /// Enters on behalf of `client_id` (RTP14, RTP15); needs a wildcard
    /// clientId or a key.
    pub fn enter_client(&self, client_id: impl Into<String>, data: impl Into<Data>) -> Result<()> {
        self.send(PresenceAction::Enter, Some(client_id.into()), data.into())
    }

    /// Updates on behalf of `client_id` (RTP15).
    pub fn update_client(&self, client_id: impl Into<String>, data: impl Into<Data>) -> Result<()> {
        self.send(PresenceAction::Update, Some(client_id.into()), data.into())
    }

    /// Leaves on behalf of `client_id` (RTP15).
    pub fn leave_client(&self, client_id: impl Into<String>, data: impl Into<Data>) -> Result<()> {
        self.send(PresenceAction::Leave, Some(client_id.into()), data.into())
    }

    /// The members (RTP11): attaches if needed and, by default, waits for
    /// the presence SYNC to finish.
    pub fn get(&self, query: PresenceQuery) -> Result<Vec<PresenceMessage>> {
        self.inner.call(Call::presence_get(&self.channel, query))
    }

    /// Every presence event from now on (RTP6); attaches the channel and
    /// returns once it is attached.
    pub fn subscribe(&self) -> Result<Subscription<PresenceMessage>> {
        let channel = self.channel.clone();
        let sub = self
            .inner
            .subscription(|sink| Subscriber::Presence { channel, sink });
        self.inner.call(Call::attach(&self.channel))?;
        Ok(sub)
    }

    /// Presence history over REST (RTP12).
    pub fn history(&self, params: HistoryParams) -> Result<Page<PresenceMessage>> {
        let page = self
            .inner
            .call(Call::presence_history(&self.channel, params))?;
        Ok(Page::new(&self.inner, page))
    }
}

/// A publish in flight, from [`Channel::publish_async`].
pub struct PublishHandle(Pending<Vec<Option<String>>>);

impl std::fmt::Debug for PublishHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublishHandle").finish_non_exhaustive()
    }
}

impl PublishHandle {
    /// Blocks until the service ACKs (or NACKs) the message; returns its
    /// serial (`None` if the service gave none), like [`Channel::publish`].
    pub fn wait(self) -> Result<Option<String>> {
        Ok(self.0.wait()?.into_iter().next().flatten())
    }
}

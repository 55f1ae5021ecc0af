//! The realtime client: [`Realtime`], its [`Connection`], [`Channels`],
//! [`Channel`] and [`Presence`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use ably_proto::adapter::{Call, Error, Subscriber, wait_outcome};
use ably_proto::client::{
    ChannelState, ChannelStateChange, ConnectionState, ConnectionStateChange, PresenceQuery,
};
use ably_proto::rest::{HistoryParams, HttpPaginatedResponse, Stats, StatsParams};
use ably_proto::{ChannelOptions, Data, ErrorInfo, Message, PresenceAction, PresenceMessage};

use crate::Result;
use crate::handle::{self, Auth, Inner};
use crate::options::ClientOptions;
use crate::runtime::{BoxFuture, Runtime};
use crate::subscription::{Page, Subscription};

/// A realtime client (RTC): one connection to Ably, driven by its own
/// task. Cheap to clone; the connection closes when the last clone (and
/// every handle taken from it) is dropped.
pub struct Realtime<R: Runtime> {
    inner: Arc<Inner<R>>,
}

impl<R: Runtime> Clone for Realtime<R> {
    fn clone(&self) -> Self {
        Realtime {
            inner: self.inner.clone(),
        }
    }
}

impl<R: Runtime> std::fmt::Debug for Realtime<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Realtime")
            .field("state", &self.inner.snapshot().state)
            .finish_non_exhaustive()
    }
}

impl<R: Runtime> Realtime<R> {
    /// Checks the options, spawns the driver task on the current runtime
    /// and, with autoConnect (the default), starts connecting. Does not
    /// wait for the connection: use [`Connection::wait_for`] or just go
    /// ahead (publishes are queued).
    pub fn new(options: ClientOptions) -> Result<Realtime<R>> {
        Realtime::with_runtime(options, R::current()?)
    }

    /// [`Realtime::new`] on the given runtime.
    pub fn with_runtime(options: ClientOptions, runtime: R) -> Result<Realtime<R>> {
        Ok(Realtime {
            inner: Inner::start(options, runtime)?,
        })
    }

    /// [`Realtime::new`] without spawning the client's driver: the
    /// returned future is the driver, and the client does nothing until it
    /// is polled. It completes when the client has shut down (closed, or
    /// every handle dropped).
    ///
    /// For applications that want the driver on a task of their choosing,
    /// e.g. on the same thread as the code that uses the client (with
    /// `join`/`select` inside one `block_on`, or a local executor): on a
    /// multi-threaded executor a spawned driver and its user are woken on
    /// different threads, a hand-off per message that costs more CPU than
    /// the message itself at low rates (see `docs/benchmarks.md`).
    /// The runtime `R` still provides timers, socket opening and blocking
    /// work.
    pub fn with_driver(options: ClientOptions) -> Result<(Realtime<R>, BoxFuture<()>)> {
        let (inner, driver) = Inner::start_unspawned(options, R::current()?)?;
        Ok((Realtime { inner }, driver))
    }

    /// The connection (RTN).
    pub fn connection(&self) -> Connection<R> {
        Connection {
            inner: self.inner.clone(),
        }
    }

    /// The channels (RTS).
    pub fn channels(&self) -> Channels<R> {
        Channels {
            inner: self.inner.clone(),
        }
    }

    /// Token auth (RTC4).
    pub fn auth(&self) -> Auth<R> {
        Auth {
            inner: self.inner.clone(),
        }
    }

    /// The service's time in ms since the epoch (RTC6a).
    pub async fn time(&self) -> Result<i64> {
        handle::time(&self.inner).await
    }

    /// Application statistics (RTC5).
    pub async fn stats(&self, params: StatsParams) -> Result<Page<Stats, R>> {
        handle::stats(&self.inner, params).await
    }

    /// Any REST request (RTC9): `method`, `path`, query params, an
    /// optional JSON body and extra headers.
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

    /// Closes the connection (RTN12); same as `connection().close()`.
    pub async fn close(&self) -> Result<()> {
        self.connection().close().await
    }
}

/// The connection of a [`Realtime`] client (RTN).
pub struct Connection<R: Runtime> {
    inner: Arc<Inner<R>>,
}

impl<R: Runtime> Clone for Connection<R> {
    fn clone(&self) -> Self {
        Connection {
            inner: self.inner.clone(),
        }
    }
}

impl<R: Runtime> std::fmt::Debug for Connection<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("state", &self.state())
            .field("id", &self.id())
            .finish()
    }
}

impl<R: Runtime> Connection<R> {
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

    /// Every state change and UPDATE from now on (RTN4); returns once the
    /// driver has registered the subscriber.
    pub async fn on_state_change(&self) -> Subscription<ConnectionStateChange> {
        self.inner.subscription(Subscriber::Connection).await
    }

    /// Waits until the connection is in `state`. Fails with the reason if
    /// it reaches `failed` (or `closed`, unless that is what is awaited)
    /// first, and with 50003 after `timeout`.
    pub async fn wait_for(&self, state: ConnectionState, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let mut changes = self.on_state_change().await;
        let mut current = self.inner.snapshot();
        loop {
            if let Some(outcome) = wait_outcome(state, current.state, current.error_reason.as_ref())
            {
                return outcome.map_err(Error::from);
            }
            let change = changes
                .recv_until(deadline)
                .await
                .map_err(|_| Error::timeout(&format!("connection state {state}")))?;
            current.state = change.current;
            current.error_reason = change.reason.or(current.error_reason);
        }
    }

    /// Connects, or reconnects now (RTN11). Does not wait for the
    /// connection.
    pub async fn connect(&self) -> Result<()> {
        self.inner.call(Call::connect()).await
    }

    /// Closes the connection (RTN12) and waits until it is closed (or
    /// failed), at most realtimeRequestTimeout.
    pub async fn close(&self) -> Result<()> {
        let mut changes = self.on_state_change().await;
        self.inner.call(Call::close()).await?;
        let deadline = Instant::now() + self.inner.opts.core.realtime_request_timeout;
        loop {
            if matches!(
                self.state(),
                ConnectionState::Closed | ConnectionState::Failed
            ) {
                return Ok(());
            }
            changes.recv_until(deadline).await?;
        }
    }

    /// Measures the round trip to the service (RTN13).
    pub async fn ping(&self) -> Result<Duration> {
        self.inner.call(Call::ping()).await
    }

    /// A key to recover this connection in another client with
    /// [`ClientOptions::recover`](ably_proto::adapter::Options::recover)
    /// (RTN16g); `None` when there is nothing to recover.
    pub async fn create_recovery_key(&self) -> Result<Option<String>> {
        self.inner
            .query(|client| client.create_recovery_key())
            .await
    }
}

/// The channels of a [`Realtime`] client (RTS).
pub struct Channels<R: Runtime> {
    inner: Arc<Inner<R>>,
}

impl<R: Runtime> Clone for Channels<R> {
    fn clone(&self) -> Self {
        Channels {
            inner: self.inner.clone(),
        }
    }
}

impl<R: Runtime> std::fmt::Debug for Channels<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channels").finish_non_exhaustive()
    }
}

impl<R: Runtime> Channels<R> {
    /// The channel of this name (RTS3a). Nothing is sent until it is used.
    pub fn get(&self, name: impl Into<String>) -> Channel<R> {
        Channel {
            name: name.into(),
            inner: self.inner.clone(),
        }
    }

    /// The channel with these options (RTS3b, RTS3c); fails with 40000 if
    /// new params or modes would need a reattach (RTS3c1).
    pub async fn get_with_options(
        &self,
        name: impl Into<String>,
        options: ChannelOptions,
    ) -> Result<Channel<R>> {
        let channel = self.get(name);
        self.inner
            .call(Call::get_channel(&channel.name, Some(options)))
            .await?;
        Ok(channel)
    }

    /// Whether a channel of this name exists in the client (RTS2).
    pub fn exists(&self, name: &str) -> bool {
        self.inner.snapshot().channels.contains_key(name)
    }

    /// Detaches and forgets a channel (RTS4).
    pub async fn release(&self, name: &str) -> Result<()> {
        self.inner.call(Call::release(name)).await
    }
}

/// A realtime channel (RTL).
pub struct Channel<R: Runtime> {
    name: String,
    inner: Arc<Inner<R>>,
}

impl<R: Runtime> Clone for Channel<R> {
    fn clone(&self) -> Self {
        Channel {
            name: self.name.clone(),
            inner: self.inner.clone(),
        }
    }
}

impl<R: Runtime> std::fmt::Debug for Channel<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("name", &self.name)
            .field("state", &self.state())
            .finish()
    }
}

impl<R: Runtime> Channel<R> {
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

    /// Every state change and UPDATE of this channel from now on (RTL2);
    /// returns once the driver has registered the subscriber.
    pub async fn on_state_change(&self) -> Subscription<ChannelStateChange> {
        let channel = self.name.clone();
        self.inner
            .subscription(|sink| Subscriber::Channel { channel, sink })
            .await
    }

    /// Attaches and waits for ATTACHED (RTL4).
    pub async fn attach(&self) -> Result<()> {
        self.inner.call(Call::attach(&self.name)).await
    }

    /// Detaches and waits for DETACHED (RTL5).
    pub async fn detach(&self) -> Result<()> {
        self.inner.call(Call::detach(&self.name)).await
    }

    /// Sets params, modes and cipher (RTL16); reattaches if params or
    /// modes change on an attached channel, and waits for that.
    pub async fn set_options(&self, options: ChannelOptions) -> Result<()> {
        self.inner
            .call(Call::set_options(&self.name, options))
            .await
    }

    /// Every message from now on, payloads decoded (RTL7a); attaches the
    /// channel and returns once it is attached (RTL7g).
    pub async fn subscribe(&self) -> Result<Subscription<Message>> {
        self.subscribe_filtered(None).await
    }

    /// Messages of this name from now on (RTL7b); attaches like
    /// [`Channel::subscribe`].
    pub async fn subscribe_name(&self, name: impl Into<String>) -> Result<Subscription<Message>> {
        self.subscribe_filtered(Some(name.into())).await
    }

    async fn subscribe_filtered(&self, name: Option<String>) -> Result<Subscription<Message>> {
        let channel = self.name.clone();
        let sub = self
            .inner
            .subscription(|sink| Subscriber::Messages {
                channel,
                name,
                sink,
            })
            .await;
        self.attach().await?;
        Ok(sub)
    }

    /// Publishes one message and waits for the ACK (RTL6); returns its
    /// serial (`None` if the service gave none).
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

    /// Publishes messages in one frame and waits for the ACK (RTL6i);
    /// returns their serials in order (RTL6j).
    pub async fn publish_messages(&self, messages: Vec<Message>) -> Result<Vec<Option<String>>> {
        self.inner.call(Call::publish(&self.name, messages)).await
    }

    /// Message history over REST (RTL10), newest first unless `params`
    /// says otherwise; payloads decoded with the channel's cipher.
    pub async fn history(&self, params: HistoryParams) -> Result<Page<Message, R>> {
        let page = self.inner.call(Call::history(&self.name, params)).await?;
        Ok(Page::new(&self.inner, page))
    }

    /// The channel's presence (RTP).
    pub fn presence(&self) -> Presence<R> {
        Presence {
            channel: self.name.clone(),
            inner: self.inner.clone(),
        }
    }
}

/// The presence of a realtime [`Channel`] (RTP).
pub struct Presence<R: Runtime> {
    channel: String,
    inner: Arc<Inner<R>>,
}

impl<R: Runtime> Clone for Presence<R> {
    fn clone(&self) -> Self {
        Presence {
            channel: self.channel.clone(),
            inner: self.inner.clone(),
        }
    }
}

impl<R: Runtime> std::fmt::Debug for Presence<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presence")
            .field("channel", &self.channel)
            .finish()
    }
}

impl<R: Runtime> Presence<R> {
    async fn send(
        &self,
        action: PresenceAction,
        client_id: Option<String>,
        data: Data,
    ) -> Result<()> {
        self.inner
            .call(Call::presence(&self.channel, action, client_id, data))
            .await
    }

    /// Enters this client (RTP8); attaches the channel if needed; waits
    /// for the ACK.
    pub async fn enter(&self, data: impl Into<Data>) -> Result<()> {
        self.send(PresenceAction::Enter, None, data.into()).await
    }

    /// Updates this client's data (RTP9).
    pub async fn update(&self, data: impl Into<Data>) -> Result<()> {
        self.send(PresenceAction::Update, None, data.into()).await
    }

    /// Leaves (RTP10).
    pub async fn leave(&self, data: impl Into<Data>) -> Result<()> {
        self.send(PresenceAction::Leave, None, data.into()).await
    }

    /// Enters on behalf of `client_id` (RTP14, RTP15); needs a wildcard
    /// clientId or a key.
    pub async fn enter_client(
        &self,
        client_id: impl Into<String>,
        data: impl Into<Data>,
    ) -> Result<()> {
        let (id, data) = (client_id.into(), data.into());
        self.send(PresenceAction::Enter, Some(id), data).await
    }

    /// Updates on behalf of `client_id` (RTP15).
    pub async fn update_client(
        &self,
        client_id: impl Into<String>,
        data: impl Into<Data>,
    ) -> Result<()> {
        let (id, data) = (client_id.into(), data.into());
        self.send(PresenceAction::Update, Some(id), data).await
    }

    /// Leaves on behalf of `client_id` (RTP15).
    pub async fn leave_client(
        &self,
        client_id: impl Into<String>,
        data: impl Into<Data>,
    ) -> Result<()> {
        let (id, data) = (client_id.into(), data.into());
        self.send(PresenceAction::Leave, Some(id), data).await
    }

    /// The members (RTP11): attaches if needed and, by default, waits for
    /// the presence SYNC to finish.
    pub async fn get(&self, query: PresenceQuery) -> Result<Vec<PresenceMessage>> {
        self.inner
            .call(Call::presence_get(&self.channel, query))
            .await
    }

    /// Every presence event from now on (RTP6); attaches the channel and
    /// returns once it is attached.
    pub async fn subscribe(&self) -> Result<Subscription<PresenceMessage>> {
        let channel = self.channel.clone();
        let sub = self
            .inner
            .subscription(|sink| Subscriber::Presence { channel, sink })
            .await;
        self.inner.call(Call::attach(&self.channel)).await?;
        Ok(sub)
    }

    /// Presence history over REST (RTP12).
    pub async fn history(&self, params: HistoryParams) -> Result<Page<PresenceMessage, R>> {
        let page = self
            .inner
            .call(Call::presence_history(&self.channel, params))
            .await?;
        Ok(Page::new(&self.inner, page))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::tests::Threads;
    use futures_executor::block_on;

    const WAIT: Duration = Duration::from_secs(20);

    fn client() -> Realtime<Threads> {
        let opts = ClientOptions::new("appId.keyId:secret")
            .endpoint("127.0.0.1")
            .auto_connect(false);
        Realtime::with_runtime(opts, Threads).expect("valid options")
    }

    fn assert_send<T: Send>(_: T) {}

    #[test]
    fn the_api_futures_are_send() {
        let client = client();
        let channel = client.channels().get("send");
        assert_send(channel.publish("a", "b"));
        assert_send(channel.subscribe());
        assert_send(channel.history(HistoryParams::default()));
        assert_send(channel.presence().get(PresenceQuery::default()));
        let connection = client.connection();
        assert_send(connection.wait_for(ConnectionState::Connected, WAIT));
        assert_send(connection.on_state_change());
        assert_send(client.auth().authorize(None));
    }

    #[test]
    fn a_socket_that_cannot_open_leaves_the_connection_disconnected_with_80000() {
        let client = client();
        let mut changes = block_on(client.connection().on_state_change());
        block_on(client.connection().connect()).expect("connect");
        let change = block_on(changes.recv_timeout(WAIT)).expect("connecting");
        assert_eq!(change.current, ConnectionState::Connecting);
        let change = block_on(changes.recv_timeout(WAIT)).expect("disconnected");
        assert_eq!(change.current, ConnectionState::Disconnected);
        assert_eq!(change.reason.map(|r| r.code), Some(80000));
    }

    #[test]
    fn the_last_handle_dropped_ends_the_driver() {
        let client = client();
        let mut changes = block_on(client.connection().on_state_change());
        let channel = client.channels().get("kept");
        drop(client);
        assert_eq!(channel.state(), ChannelState::Initialized);
        drop(channel);
        // The driver closes the connection (RTN12), then ends, dropping
        // every subscriber: the subscription ends with 80017.
        let mut seen = Vec::new();
        let err = loop {
            match block_on(changes.recv_timeout(WAIT)) {
                Ok(change) => seen.push(change.current),
                Err(e) => break e,
            }
            assert!(seen.len() < 5, "{seen:?}");
        };
        assert_eq!(err.code(), 80017, "{err} after {seen:?}");
    }
}

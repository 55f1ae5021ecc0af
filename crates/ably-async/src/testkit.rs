//! End-to-end scenarios against an in-process ably-local, written once
//! for every [`Runtime`]; `ably-tokio` and `ably-async-std` run each of
//! them under their executors (`tests/e2e.rs`). Not for applications.
//!
//! Every wait is on the event itself; [`WAIT`] is only a safety net.
//! Start the [`Kit`] outside any async runtime (ably-local runs on a
//! runtime of its own) and keep a clone of it until the executor is gone.

use std::sync::Arc;
use std::time::Duration;

use ably_local::server::{BackgroundServer, Config};
use ably_local::tls::TlsIdentity;
use futures_util::StreamExt;
use futures_util::future::{Either, join, select};

use crate::sse::{self, Received, SseOptions, SseStream, StreamFormat};
use crate::{
    AuthResponse, ChannelOptions, ChannelState, CipherParams, ClientOptions, ConnectionState, Data,
    ErrorInfo, Format, HistoryParams, Message, PresenceAction, PresenceParams, PresenceQuery,
    Realtime, Rest, Runtime, TokenParams, unblock,
};

/// The longest any single wait may take before a scenario fails.
pub const WAIT: Duration = Duration::from_secs(20);

/// A running ably-local for one scenario.
#[derive(Clone)]
pub struct Kit {
    server: Arc<BackgroundServer>,
    /// The root (DER) that the service's certificate chains to, when it
    /// serves TLS.
    tls_root: Option<Vec<u8>>,
}

impl std::fmt::Debug for Kit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kit")
            .field("addr", &self.server.addr())
            .finish()
    }
}

impl Kit {
    /// Starts ably-local on a free port. Call it outside any async runtime.
    pub fn start() -> Kit {
        let server = BackgroundServer::start(Config::default()).expect("ably-local starts");
        Kit {
            server: Arc::new(server),
            tls_root: None,
        }
    }

    /// Starts ably-local serving HTTPS and WSS with `identity`, a
    /// certificate for `localhost` that chains to `root` (DER). Call it
    /// outside any async runtime.
    pub fn start_tls(identity: TlsIdentity, root: Vec<u8>) -> Kit {
        let config = Config {
            tls: Some(identity),
            ..Config::default()
        };
        let server = BackgroundServer::start(config).expect("ably-local starts");
        Kit {
            server: Arc::new(server),
            tls_root: Some(root),
        }
    }

    /// `opts` pointed at the service: `127.0.0.1` without TLS; with TLS,
    /// `localhost` (a name its certificate has) and its root among the
    /// trusted ones.
    pub fn local(&self, opts: ClientOptions) -> ClientOptions {
        let port = self.server.addr().port();
        match &self.tls_root {
            None => opts.endpoint("127.0.0.1").port(port).tls(false),
            Some(root) => opts
                .endpoint("localhost")
                .port(port)
                .tls(true)
                .tls_root_certificates(vec![root.clone()]),
        }
    }

    /// Options with the service's key, in `format`.
    pub fn options(&self, format: Format) -> ClientOptions {
        self.local(ClientOptions::new(self.server.keys()[0].clone()))
            .format(format)
    }

    /// Makes the service drop every transport, as a network failure would
    /// (on the blocking pool: the call blocks). Returns how many it dropped.
    pub async fn drop_connections<R: Runtime>(&self) -> usize {
        let runtime = R::current().expect("a runtime");
        let server = self.server.clone();
        unblock(&runtime, move || server.drop_connections())
            .await
            .expect("drop_connections")
    }
}

async fn connected<R: Runtime>(opts: ClientOptions) -> Realtime<R> {
    let client = Realtime::new(opts).expect("valid options");
    client
        .connection()
        .wait_for(ConnectionState::Connected, WAIT)
        .await
        .expect("connects");
    client
}

/// Connect with a key in both formats; id, key, ping, recovery key; close
/// (RTN4, RTN8, RTN9, RTN13, RTN16g, RTN12).
pub async fn connects_with_a_key_pings_and_closes<R: Runtime>(kit: Kit) {
    for format in [Format::Json, Format::MsgPack] {
        let client = connected::<R>(kit.options(format)).await;
        let connection = client.connection();
        assert!(connection.id().is_some());
        assert!(connection.key().is_some());
        assert!(connection.error_reason().is_none());
        connection.ping().await.expect("ping");
        let key = connection.create_recovery_key().await.expect("query");
        assert!(key.is_some());
        client.close().await.expect("close");
        assert_eq!(connection.state(), ConnectionState::Closed);
    }
}

/// An async authCallback returning a TokenRequest signed by an "auth
/// server" (a REST client with the key) (RSA8d, RSA9).
pub async fn connects_with_an_auth_callback_returning_a_signed_token_request<R: Runtime>(kit: Kit) {
    let signer = Rest::<R>::new(kit.options(Format::Json)).expect("rest");
    let auth = signer.auth();
    let opts = kit.local(ClientOptions::with_auth_callback(
        move |params: TokenParams| {
            let mut params = params;
            params.client_id = Some("carol".into());
            let request = auth.create_token_request(Some(params));
            async move { request.map(AuthResponse::Request).map_err(Into::into) }
        },
    ));
    let client = connected::<R>(opts).await;
    assert_eq!(client.auth().client_id().as_deref(), Some("carol"));
    let channel = client.channels().get("auth-callback");
    let mut messages = channel.subscribe().await.expect("subscribe");
    channel.publish("hi", "from carol").await.expect("publish");
    let got = messages.recv_timeout(WAIT).await.expect("message");
    assert_eq!(got.client_id.as_deref(), Some("carol"));
    client.close().await.expect("close");
}

/// An authCallback failing with 403 fails the connection with 80019 and
/// the callback's error as the cause (RSA4c, RSA4d).
pub async fn a_failing_auth_callback_is_reported<R: Runtime>(kit: Kit) {
    let opts = kit.local(ClientOptions::with_auth_callback(|_: TokenParams| async {
        Err(ErrorInfo::new(40300, 403, "not today"))
    }));
    let client = Realtime::<R>::new(opts.auto_connect(false)).expect("client");
    let mut changes = client.connection().on_state_change().await;
    client.connection().connect().await.expect("connect");
    let failed = loop {
        let change = changes.recv_timeout(WAIT).await.expect("state change");
        assert_ne!(change.current, ConnectionState::Connected);
        if change.reason.is_some() {
            break change;
        }
    };
    assert_eq!(failed.current, ConnectionState::Failed);
    let reason = failed.reason.expect("reason");
    assert_eq!(reason.code, 80019, "{reason}");
    assert_eq!(reason.cause.map(|c| c.code), Some(40300));
    assert_eq!(client.connection().state(), ConnectionState::Failed);
}

/// Invalid options fail in `new`, synchronously (RSC1b, RSA1).
pub async fn invalid_options_fail_synchronously<R: Runtime>(_kit: Kit) {
    let err = Realtime::<R>::new(ClientOptions::default()).expect_err("no auth");
    assert_eq!(err.code(), 40106);
    let err = Rest::<R>::new(ClientOptions::new("not-a-key")).expect_err("bad key");
    assert_eq!(err.status_code(), Some(401));
}

/// REST time and a token by the key (RSC16, RSA8).
pub async fn rest_time_and_request_token<R: Runtime>(kit: Kit) {
    let rest = Rest::<R>::new(kit.options(Format::MsgPack)).expect("rest");
    let time = rest.time().await.expect("time");
    assert!(time > 1_600_000_000_000);
    let token = rest.auth().request_token(None).await.expect("token");
    assert!(!token.token.is_empty());
}

/// Text, JSON and binary data keep their kind end to end, with serials
/// from the ACK and a name filter (RTL6, RTL6j, RTL7a, RTL7b, RSL4, RSL6).
pub async fn publish_and_subscribe_every_data_kind<R: Runtime>(kit: Kit, format: Format) {
    let alice = connected::<R>(kit.options(format)).await;
    let bob = connected::<R>(kit.options(format)).await;
    let name = format!("kinds-{format:?}");
    let mut inbox = bob.channels().get(&name).subscribe().await.expect("sub");
    let mut only_json = bob
        .channels()
        .get(&name)
        .subscribe_name("json")
        .await
        .expect("subscribe by name");
    let channel = alice.channels().get(&name);
    let sent = [
        ("text", Data::from("hello")),
        (
            "json",
            Data::from(serde_json::json!({"n": 1, "list": [1, 2]})),
        ),
        ("binary", Data::from(vec![0u8, 1, 2, 255])),
    ];
    for (event, data) in &sent {
        let serial = channel
            .publish(*event, data.clone())
            .await
            .expect("publish");
        assert!(serial.is_some(), "the ACK carries a serial");
    }
    for (event, data) in &sent {
        let got = inbox.recv_timeout(WAIT).await.expect("message");
        assert_eq!(got.name.as_deref(), Some(*event));
        assert_eq!(&got.data, data, "{event} in {format:?}");
        assert_eq!(got.encoding, None);
    }
    let json = only_json.recv_timeout(WAIT).await.expect("json message");
    assert_eq!(json.name.as_deref(), Some("json"));
    assert!(only_json.try_recv().is_none());
}

/// A subscription that its reader leaves full ends with 80020 after the
/// events it holds; the client and its other subscriptions go on.
pub async fn a_subscription_left_full_ends_with_80020<R: Runtime>(kit: Kit) {
    let alice = connected::<R>(kit.options(Format::Json)).await;
    let bob = connected::<R>(kit.options(Format::MsgPack).subscription_capacity(3)).await;
    let mut unread = bob.channels().get("full").subscribe().await.expect("sub");
    let mut done = bob
        .channels()
        .get("full")
        .subscribe_name("done")
        .await
        .expect("subscribe by name");
    let channel = alice.channels().get("full");
    for i in 0..5 {
        channel
            .publish("x", Data::from(i.to_string()))
            .await
            .expect("publish");
    }
    channel
        .publish("done", Data::from("1"))
        .await
        .expect("publish");
    // "done" came after the five on the channel, so when it arrives the
    // driver has offered all five to the unread subscription.
    let marker = done.recv_timeout(WAIT).await.expect("done");
    assert_eq!(marker.data, Data::from("1"));

    assert_eq!(unread.error().map(|e| e.code()), Some(80020));
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(unread.recv_timeout(WAIT).await.expect("queued").data);
    }
    assert_eq!(got, ["0", "1", "2"].map(Data::from));
    let end = unread.recv_timeout(WAIT).await.expect_err("ended");
    assert_eq!(end.code(), 80020, "{end}");
    assert_eq!(unread.recv().await, None);

    channel
        .publish("done", Data::from("2"))
        .await
        .expect("publish");
    let marker = done.recv_timeout(WAIT).await.expect("done again");
    assert_eq!(marker.data, Data::from("2"));
    assert_eq!(bob.connection().state(), ConnectionState::Connected);
}

/// Both ends with the same cipher, one in JSON and one in MessagePack
/// (RSL5, RTL16).
pub async fn encrypted_channel_round_trip<R: Runtime>(kit: Kit) {
    let key = [7u8; 32];
    let cipher = || ChannelOptions::default().cipher(CipherParams::from_key(&key).expect("key"));
    let alice = connected::<R>(kit.options(Format::Json)).await;
    let bob = connected::<R>(kit.options(Format::MsgPack)).await;
    let rx = bob
        .channels()
        .get_with_options("secret", cipher())
        .await
        .expect("options");
    let mut inbox = rx.subscribe().await.expect("subscribe");
    let tx = alice.channels().get("secret");
    tx.set_options(cipher()).await.expect("options");
    tx.publish("s", "for your eyes only")
        .await
        .expect("publish");
    let json = serde_json::json!({"k": "v"});
    tx.publish("j", json.clone()).await.expect("publish");
    let first = inbox.recv_timeout(WAIT).await.expect("message");
    assert_eq!(first.data, Data::from("for your eyes only"));
    let second = inbox.recv_timeout(WAIT).await.expect("message");
    assert_eq!(second.data, Data::from(json));
}

/// Enter, get, update and leave, seen by another client (RTP6, RTP8,
/// RTP9, RTP10, RTP11).
pub async fn presence_enter_get_leave<R: Runtime>(kit: Kit) {
    for format in [Format::Json, Format::MsgPack] {
        let alice = connected::<R>(kit.options(format).client_id("alice")).await;
        let bob = connected::<R>(kit.options(format).client_id("bob")).await;
        let name = format!("room-{format:?}");
        let watcher = bob.channels().get(&name).presence();
        let mut events = watcher.subscribe().await.expect("presence subscribe");

        let presence = alice.channels().get(&name).presence();
        presence.enter("hello").await.expect("enter");
        let entered = events.recv_timeout(WAIT).await.expect("enter event");
        assert_eq!(entered.action, PresenceAction::Enter);
        assert_eq!(entered.client_id.as_deref(), Some("alice"));
        assert_eq!(entered.data, Data::from("hello"));

        let members = watcher.get(PresenceQuery::default()).await.expect("get");
        assert_eq!(members.len(), 1);
        assert_eq!(members[0].client_id.as_deref(), Some("alice"));

        presence.update("busy").await.expect("update");
        let updated = events.recv_timeout(WAIT).await.expect("update event");
        assert_eq!(updated.action, PresenceAction::Update);
        assert_eq!(updated.data, Data::from("busy"));

        presence.leave(Data::None).await.expect("leave");
        let left = events.recv_timeout(WAIT).await.expect("leave event");
        assert_eq!(left.action, PresenceAction::Leave);
        let members = watcher.get(PresenceQuery::default()).await.expect("get");
        assert!(members.is_empty(), "{members:?}");
    }
}

/// Entering on behalf of other clientIds with a key (RTP14, RTP15).
pub async fn enter_client_on_behalf_of_others<R: Runtime>(kit: Kit) {
    let host = connected::<R>(kit.options(Format::MsgPack)).await;
    let presence = host.channels().get("lobby").presence();
    presence.enter_client("ann", "a").await.expect("enter ann");
    presence.enter_client("ben", "b").await.expect("enter ben");
    let members = presence.get(PresenceQuery::default()).await.expect("get");
    let mut ids: Vec<_> = members.into_iter().filter_map(|m| m.client_id).collect();
    ids.sort();
    assert_eq!(ids, ["ann", "ben"]);
    presence
        .leave_client("ann", Data::None)
        .await
        .expect("leave");
    let left = presence.get(PresenceQuery::default()).await.expect("get");
    assert_eq!(left.len(), 1);
}

/// History of a realtime channel, newest first, and paged (RTL10, TG4).
pub async fn history_returns_published_messages_in_pages<R: Runtime>(kit: Kit) {
    let client = connected::<R>(kit.options(Format::Json)).await;
    let channel = client.channels().get("history");
    for i in 0..5 {
        channel.publish("n", format!("{i}")).await.expect("publish");
    }
    let page = channel
        .history(HistoryParams::default())
        .await
        .expect("history");
    let data: Vec<_> = page.items.iter().map(|m| m.data.clone()).collect();
    let newest_first: Vec<Data> = (0..5).rev().map(|i| Data::from(format!("{i}"))).collect();
    assert_eq!(data, newest_first);

    let params = HistoryParams {
        limit: Some(2),
        ..HistoryParams::default()
    };
    let mut page = channel.history(params).await.expect("history");
    let mut seen = Vec::new();
    loop {
        assert!(page.items.len() <= 2);
        seen.extend(page.items.iter().map(|m| m.data.clone()));
        match page.next().await.expect("next page") {
            Some(next) => page = next,
            None => break,
        }
    }
    assert_eq!(seen, newest_first);
}

/// REST publish, history and presence (RSL1, RSL2, RSP3).
pub async fn rest_publish_history_and_presence<R: Runtime>(kit: Kit) {
    let rest = Rest::<R>::new(kit.options(Format::MsgPack)).expect("rest");
    let channel = rest.channels().get("rest-history");
    channel.publish("a", "one").await.expect("publish");
    channel
        .publish_messages(vec![
            Message::new("b", serde_json::json!({"two": 2})),
            Message::new("c", vec![3u8]),
        ])
        .await
        .expect("publish");
    let page = channel
        .history(HistoryParams::default())
        .await
        .expect("history");
    let names: Vec<_> = page.items.iter().filter_map(|m| m.name.clone()).collect();
    assert_eq!(names, ["c", "b", "a"]);
    assert_eq!(page.items[0].data, Data::from(vec![3u8]));

    let realtime = connected::<R>(kit.options(Format::Json).client_id("dora")).await;
    let presence = realtime.channels().get("rest-history").presence();
    presence.enter("here").await.expect("enter");
    let members = channel
        .presence()
        .get(PresenceParams::default())
        .await
        .expect("presence");
    assert_eq!(members.items.len(), 1);
    assert_eq!(members.items[0].client_id.as_deref(), Some("dora"));
}

/// Connection and channel state changes in order (RTN4, RTL2, RTL4, RTL5).
pub async fn state_changes_attach_and_detach<R: Runtime>(kit: Kit) {
    let opts = kit.options(Format::Json).auto_connect(false);
    let client = Realtime::<R>::new(opts).expect("client");
    let mut changes = client.connection().on_state_change().await;
    assert_eq!(client.connection().state(), ConnectionState::Initialized);
    client.connection().connect().await.expect("connect");
    let first = changes.recv_timeout(WAIT).await.expect("change");
    assert_eq!(
        (first.previous, first.current),
        (ConnectionState::Initialized, ConnectionState::Connecting)
    );
    let second = changes.recv_timeout(WAIT).await.expect("change");
    assert_eq!(second.current, ConnectionState::Connected);

    let channel = client.channels().get("states");
    let mut channel_changes = channel.on_state_change().await;
    channel.attach().await.expect("attach");
    assert_eq!(channel.state(), ChannelState::Attached);
    channel.detach().await.expect("detach");
    assert_eq!(channel.state(), ChannelState::Detached);
    let seen: Vec<_> = std::iter::from_fn(|| channel_changes.try_recv())
        .map(|c| c.current)
        .collect();
    use ChannelState::*;
    assert_eq!(seen, [Attaching, Attached, Detaching, Detached]);
}

/// The service drops every transport while messages flow: the clients
/// resume (RTN15c6) and every message arrives exactly once, in order.
pub async fn resumes_after_the_service_drops_the_transport<R: Runtime>(kit: Kit) {
    const COUNT: usize = 60;
    let alice = connected::<R>(kit.options(Format::MsgPack)).await;
    let bob = connected::<R>(kit.options(Format::Json)).await;
    let bob_id = bob.connection().id();
    let mut bob_changes = bob.connection().on_state_change().await;
    let mut inbox = bob.channels().get("resume").subscribe().await.expect("sub");
    let channel = alice.channels().get("resume");
    channel.attach().await.expect("attach");

    // Alice publishes steadily while Bob reads; the service drops every
    // transport partway through.
    let publisher = async {
        for i in 0..COUNT {
            channel
                .publish("seq", format!("{i}"))
                .await
                .expect("publish");
        }
    };
    let reader = async {
        let mut got = Vec::new();
        while got.len() < COUNT {
            let message = inbox.recv_timeout(WAIT).await.expect("message");
            got.push(message.data.as_str().expect("text").to_owned());
            if got.len() == 10 {
                assert_eq!(kit.drop_connections::<R>().await, 2);
            }
        }
        got
    };
    let ((), got) = join(publisher, reader).await;
    let expected: Vec<String> = (0..COUNT).map(|i| i.to_string()).collect();
    assert_eq!(got, expected, "every message exactly once, in order");
    // Nothing more arrives.
    let more = inbox.recv_timeout(Duration::from_millis(200)).await;
    assert_eq!(more.map_err(|e| e.code()), Err(50003));

    // Bob went through disconnected and came back on the same connection.
    let states: Vec<_> = std::iter::from_fn(|| bob_changes.try_recv())
        .map(|c| c.current)
        .collect();
    assert!(
        states.contains(&ConnectionState::Disconnected),
        "{states:?}"
    );
    assert_eq!(bob.connection().state(), ConnectionState::Connected);
    assert_eq!(
        bob.connection().id(),
        bob_id,
        "resumed, not a new connection"
    );
}

/// A `wss://` connection to a service that speaks no TLS fails in the TLS
/// handshake with 80000 and leaves the connection disconnected (RTN14d):
/// the runtime's TLS path runs, and fails cleanly.
pub async fn tls_to_a_plain_service_fails_with_80000<R: Runtime>(kit: Kit) {
    let opts = kit.options(Format::Json).tls(true).auto_connect(false);
    let client = Realtime::<R>::new(opts).expect("client");
    let reason = first_failure(&client).await;
    assert_eq!(reason.code, 80000, "{reason}");
    // rustls read the service's plain HTTP answer as a TLS record.
    assert!(reason.message.contains("corrupt message"), "{reason}");
}

/// Over TLS with the service's root among the client's extra roots
/// (`tls_root_certificates`): the `wss://` connection, a message published
/// and received on it, REST time and an SSE stream over `https://` (RTN4,
/// RTL6, RTL7, RSC16). Needs a [`Kit::start_tls`].
pub async fn wss_and_https_with_an_extra_root<R: Runtime>(kit: Kit) {
    assert!(kit.tls_root.is_some(), "a kit that serves TLS");
    let opts = kit.options(Format::MsgPack);
    let rest = Rest::<R>::new(opts.clone()).expect("rest");
    let time = rest.time().await.expect("REST time over https");
    assert!(time > 1_600_000_000_000);
    let mut stream = sse::subscribe::<R>(&opts, ["secure"], fast_sse())
        .await
        .expect("SSE over https");
    let client = connected::<R>(opts).await;
    let channel = client.channels().get("secure");
    let mut inbox = channel.subscribe().await.expect("subscribe");
    channel
        .publish("greeting", "over wss")
        .await
        .expect("publish");
    let got = inbox.recv_timeout(WAIT).await.expect("message");
    assert_eq!(got.name.as_deref(), Some("greeting"));
    assert_eq!(got.data, Data::from("over wss"));
    let event = next_event(&mut stream).await;
    let m = event.message().expect("a message");
    assert_eq!(m.data, Data::from("over wss"));
    client.close().await.expect("close");
}

/// Over TLS without the service's root: the service's certificate is
/// refused. The `wss://` connect fails with 80000 (an unknown issuer) and
/// the connection is disconnected rather than hanging (RTN14d); REST fails
/// the same way. Needs a [`Kit::start_tls`].
pub async fn wss_without_the_root_fails_with_80000_unknown_issuer<R: Runtime>(kit: Kit) {
    assert!(kit.tls_root.is_some(), "a kit that serves TLS");
    let opts = kit
        .options(Format::Json)
        .tls_root_certificates(Vec::new())
        .fallback_hosts(Vec::new());
    let client = Realtime::<R>::new(opts.clone().auto_connect(false)).expect("client");
    let reason = first_failure(&client).await;
    assert_eq!(reason.code, 80000, "{reason}");
    assert!(reason.message.contains("UnknownIssuer"), "{reason}");
    let rest = Rest::<R>::new(opts).expect("rest");
    let e = rest.time().await.expect_err("refused");
    assert_eq!(e.code(), 80000, "{e}");
    assert!(e.to_string().contains("UnknownIssuer"), "{e}");
}

/// A client whose driver the caller polls (`Realtime::with_driver`), in
/// the same task as the code that uses it: connects, publishes and
/// receives, closes; the driver then completes (RTN4, RTL6, RTL7, RTN12).
pub async fn a_driver_polled_by_the_caller_runs_the_client<R: Runtime>(kit: Kit) {
    let (client, mut driver) =
        Realtime::<R>::with_driver(kit.options(Format::MsgPack)).expect("valid options");
    let work = async {
        client
            .connection()
            .wait_for(ConnectionState::Connected, WAIT)
            .await
            .expect("connects");
        let channel = client.channels().get("driven");
        let mut inbox = channel.subscribe().await.expect("subscribe");
        let rest = Rest::<R>::new(kit.options(Format::Json)).expect("rest");
        rest.channels()
            .get("driven")
            .publish("m", "hello")
            .await
            .expect("REST publish");
        let got = inbox.recv_timeout(WAIT).await.expect("message");
        assert_eq!(got.data, Data::from("hello"));
        client.close().await.expect("close");
    };
    match select(std::pin::pin!(work), &mut driver).await {
        Either::Left(((), _)) => {}
        Either::Right(((), _)) => panic!("the driver ended while the client was in use"),
    }
    drop(client);
    // With the client closed and every handle gone, the driver completes.
    let runtime = R::current().expect("runtime");
    let deadline = std::time::Instant::now() + WAIT;
    crate::until(&runtime, deadline, driver)
        .await
        .expect("the driver completes");
}

/// SSE options that retry soon after a drop.
/// Connects `client` (created with `auto_connect(false)`), which must
/// fail: the reason of its first state change that has one, once it is
/// disconnected, never having connected (RTN14d).
async fn first_failure<R: Runtime>(client: &Realtime<R>) -> ErrorInfo {
    let mut changes = client.connection().on_state_change().await;
    client.connection().connect().await.expect("connect");
    loop {
        let change = changes.recv_timeout(WAIT).await.expect("state change");
        assert_ne!(change.current, ConnectionState::Connected);
        if let Some(reason) = change.reason {
            assert_eq!(change.current, ConnectionState::Disconnected);
            return reason;
        }
    }
}

fn fast_sse() -> SseOptions {
    SseOptions::new().retry_delay(Duration::from_millis(50))
}

/// The next event of an SSE stream.
async fn next_event(stream: &mut SseStream) -> Received {
    stream.recv_timeout(WAIT).await.expect("a stream event")
}

/// The next `n` messages of an SSE stream, as `channel/name`.
async fn next_names(stream: &mut SseStream, n: usize) -> Vec<String> {
    let mut names = Vec::new();
    for _ in 0..n {
        let r = next_event(stream).await;
        let name = r.message().and_then(|m| m.name.clone()).expect("a message");
        names.push(format!("{}/{name}", r.channel));
    }
    names
}

/// Publishes messages named `names` (with text data) over REST.
async fn publish_names<R: Runtime>(rest: &Rest<R>, channel: &str, names: &[&str]) {
    let channel = rest.channels().get(channel);
    for name in names {
        channel
            .publish(*name, format!("data of {name}"))
            .await
            .expect("publish");
    }
}

/// The next event is the message `marker`, published last: nothing else
/// was queued before it.
async fn next_is_the_marker(stream: &mut SseStream) {
    let got = next_event(stream).await;
    assert_eq!(
        got.message().and_then(|m| m.name.as_deref()),
        Some("marker"),
        "an unexpected event before the marker: {got:?}"
    );
}

/// SSE: text, JSON and binary messages published over REST arrive with
/// their kind, channel and event id, over both renderings; the JSON lines
/// through a one-event buffer, read through `Stream`, so the reader
/// thread waits for room (RSL4, RSL6).
pub async fn sse_messages_of_every_kind_arrive<R: Runtime>(kit: Kit) {
    let runtime = R::current().expect("runtime");
    let rest = Rest::<R>::new(kit.options(Format::Json)).expect("rest");
    for (format, options) in [
        (StreamFormat::Sse, fast_sse()),
        (StreamFormat::JsonLines, fast_sse().buffer(1)),
    ] {
        let channel = format!("sse-kinds-{format:?}");
        let options = options.format(format);
        let mut stream = sse::subscribe::<R>(&kit.options(Format::Json), [&channel], options)
            .await
            .expect("subscribes");
        let sent = [
            ("text", Data::from("hello")),
            (
                "json",
                Data::from(serde_json::json!({"n": 1, "list": [1, 2]})),
            ),
            ("binary", Data::from(vec![0u8, 1, 2, 255])),
        ];
        let ch = rest.channels().get(&channel);
        for (name, data) in &sent {
            ch.publish(*name, data.clone()).await.expect("publish");
        }
        let mut last = None;
        for (name, data) in &sent {
            let r = match format {
                StreamFormat::Sse => next_event(&mut stream).await,
                StreamFormat::JsonLines => {
                    let deadline = std::time::Instant::now() + WAIT;
                    let item = crate::until(&runtime, deadline, StreamExt::next(&mut stream));
                    item.await.expect("in time").expect("open").expect("event")
                }
            };
            last = r.id.clone();
            assert_eq!(r.channel, channel);
            assert!(r.id.is_some(), "every message has an event id");
            assert_eq!(r.decode_error, None);
            let m = r.message().expect("a message");
            assert_eq!(m.name.as_deref(), Some(*name));
            assert_eq!(&m.data, data, "{name} over {format:?}");
            assert_eq!(m.encoding, None);
        }
        assert_eq!(stream.last_event_id(), last, "the last id handed out");
        assert!(stream.try_recv().is_none(), "nothing more");
        assert!(stream.ended().is_none());
    }
}

/// SSE: presence events arrive, on a stream opened with a token that
/// `subscribe` requested with the key (`use_token_auth`; RSA4, RSA8,
/// RTP2).
pub async fn sse_presence_events_arrive_with_a_requested_token<R: Runtime>(kit: Kit) {
    let opts = kit.options(Format::Json).use_token_auth(true);
    let mut stream = sse::subscribe::<R>(&opts, ["sse-room"], fast_sse())
        .await
        .expect("subscribes");
    let client = connected::<R>(kit.options(Format::MsgPack).client_id("ann")).await;
    let presence = client.channels().get("sse-room").presence();
    presence.enter("here").await.expect("enter");
    let r = next_event(&mut stream).await;
    let p = r.presence().expect("a presence event");
    assert_eq!(r.channel, "sse-room");
    assert_eq!(p.action, PresenceAction::Enter);
    assert_eq!(p.client_id.as_deref(), Some("ann"));
    assert_eq!(p.data, Data::from("here"));
    presence.leave(Data::None).await.expect("leave");
    let r = next_event(&mut stream).await;
    assert_eq!(r.presence().map(|p| p.action), Some(PresenceAction::Leave));
    client.close().await.expect("close");
}

/// SSE: the service drops the stream; the reader reconnects with the last
/// event id and every message arrives once (each channel in order).
pub async fn sse_a_drop_by_the_service_is_resumed_with_nothing_lost_or_repeated<R: Runtime>(
    kit: Kit,
) {
    let rest = Rest::<R>::new(kit.options(Format::Json)).expect("rest");
    let mut stream = sse::subscribe::<R>(&kit.options(Format::Json), ["a", "b"], fast_sse())
        .await
        .expect("subscribes");
    publish_names(&rest, "a", &["1", "2"]).await;
    publish_names(&rest, "b", &["3"]).await;
    assert_eq!(next_names(&mut stream, 3).await, ["a/1", "a/2", "b/3"]);
    assert!(kit.drop_connections::<R>().await >= 1, "the stream dropped");
    publish_names(&rest, "b", &["4"]).await;
    publish_names(&rest, "a", &["5"]).await;
    publish_names(&rest, "b", &["6", "marker"]).await;
    let mut got = next_names(&mut stream, 3).await;
    // Each channel in order; the two channels may interleave either way.
    got.sort();
    assert_eq!(got, ["a/5", "b/4", "b/6"]);
    next_is_the_marker(&mut stream).await;
}

/// SSE: a key with the wrong secret is refused by `subscribe` with 40101,
/// a channel list with a comma with 40010, options without credentials
/// with 40106 (RSA4).
pub async fn sse_a_refused_key_gives_its_error<R: Runtime>(kit: Kit) {
    let good = kit.options(Format::Json);
    let key = good.core().key.clone().expect("a key");
    let (name, _) = key.split_once(':').expect("name:secret");
    let mut wrong = good.clone();
    wrong.core_mut().key = Some(format!("{name}:wrong-secret"));
    let e = sse::subscribe::<R>(&wrong, ["a"], fast_sse())
        .await
        .expect_err("a wrong secret");
    assert_eq!((e.code(), e.status_code()), (40101, Some(401)));
    let e = sse::subscribe::<R>(&good, ["a,b"], fast_sse())
        .await
        .expect_err("a comma");
    assert_eq!(e.code(), 40010);
    let e = sse::subscribe::<R>(&kit.local(ClientOptions::default()), ["a"], fast_sse())
        .await
        .expect_err("no credentials");
    assert_eq!(e.code(), 40106);
}

/// SSE: a token that expires mid-stream ends it with the service's 40142
/// (not a retry): the error is the last item, then the `Stream` ends.
pub async fn sse_a_token_expiring_mid_stream_ends_it_with_40142<R: Runtime>(kit: Kit) {
    let rest = Rest::<R>::new(kit.options(Format::Json)).expect("rest");
    let params = TokenParams {
        ttl: Some(1_500),
        ..TokenParams::default()
    };
    let token = rest
        .auth()
        .request_token(Some(params))
        .await
        .expect("token");
    let opts = kit.local(ClientOptions::with_token(token.token));
    let mut stream = sse::subscribe::<R>(&opts, ["t"], fast_sse())
        .await
        .expect("subscribes");
    publish_names(&rest, "t", &["before"]).await;
    assert_eq!(next_names(&mut stream, 1).await, ["t/before"]);
    let e = stream.recv_timeout(WAIT).await.expect_err("the end");
    assert_eq!((e.code(), e.status_code()), (40142, Some(401)));
    assert_eq!(stream.recv().await.map_err(|e| e.code()).err(), Some(40142));
    assert_eq!(stream.ended().map(|e| e.code()), Some(40142));
    assert!(
        stream.next().await.is_none(),
        "the Stream ends after the error"
    );
}

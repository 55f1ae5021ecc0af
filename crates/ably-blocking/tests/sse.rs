//! The SSE consumer (`ably_blocking::sse`) against an in-process
//! ably-local: messages published over REST, presence, both renderings,
//! resume by event id after drops (the service's `drop_connections`, and a
//! loopback proxy the test cuts) with nothing lost or repeated, ciphers
//! (RSL5, RSL6), and refusals and a token expiring mid-stream (40142).
//!
//! Every wait blocks on the event itself; `WAIT` is only a safety net.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use ably_blocking::sse::{self, Received, Rewind, SseOptions, SseStream, StreamFormat};
use ably_blocking::{
    ChannelOptions, CipherParams, ClientOptions, Data, PresenceAction, Realtime, Rest, TokenParams,
};
use ably_local::server::{BackgroundServer, Config};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(20);

fn server() -> BackgroundServer {
    BackgroundServer::start(Config::default()).expect("ably-local starts")
}

fn options_at(port: u16, key: &str) -> ClientOptions {
    ClientOptions::new(key)
        .endpoint("127.0.0.1")
        .port(port)
        .tls(false)
}

fn options(server: &BackgroundServer) -> ClientOptions {
    options_at(server.addr().port(), &server.keys()[0])
}

fn rest(server: &BackgroundServer) -> Rest {
    Rest::new(options(server)).expect("rest client")
}

fn fast() -> SseOptions {
    SseOptions::new().retry_delay(Duration::from_millis(50))
}

fn next(stream: &SseStream) -> Received {
    stream.recv_timeout(WAIT).expect("a stream event")
}

/// The names of the next `n` messages, with their channels.
fn names(stream: &SseStream, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let r = next(stream);
            let name = r.message().and_then(|m| m.name.clone()).expect("a message");
            format!("{}/{name}", r.channel)
        })
        .collect()
}

fn publish(rest: &Rest, channel: &str, names: &[&str]) {
    let ch = rest.channels().get(channel);
    for name in names {
        ch.publish(*name, format!("data of {name}"))
            .expect("publish");
    }
}

fn expect_nothing_more(stream: &SseStream) {
    // A marker published last proves nothing else was queued before it.
    let got = stream.recv_timeout(WAIT).expect("the marker");
    assert_eq!(
        got.message().and_then(|m| m.name.as_deref()),
        Some("marker"),
        "an unexpected event before the marker: {got:?}"
    );
}

#[test]
fn messages_of_every_kind_arrive_in_both_renderings() {
    let server = server();
    let rest = rest(&server);
    for format in [StreamFormat::Sse, StreamFormat::JsonLines] {
        let channel = format!("kinds-{format:?}");
        let stream = sse::subscribe(&options(&server), [&channel], fast().format(format))
            .expect("subscribes");
        let ch = rest.channels().get(&channel);
        let sent = [
            ("text", Data::from("hello")),
            ("json", Data::from(json!({"n": 1, "list": [1, 2]}))),
            ("binary", Data::from(vec![0u8, 1, 2, 255])),
        ];
        for (name, data) in &sent {
            ch.publish(*name, data.clone()).expect("publish");
        }
        let mut last = None;
        for (name, data) in &sent {
            let r = next(&stream);
            last = r.id.clone();
            assert_eq!(r.channel, channel);
            assert!(r.id.is_some(), "every message has an event id");
            assert_eq!(r.decode_error, None);
            let m = r.message().expect("a message");
            assert_eq!(m.name.as_deref(), Some(*name));
            assert_eq!(&m.data, data, "{name} over {format:?}");
            assert_eq!(m.encoding, None);
        }
        assert_eq!(
            stream.last_event_id(),
            last,
            "the id of the last item handed out"
        );
    }
}

#[test]
fn presence_events_arrive() {
    let server = server();
    let stream = sse::subscribe(&options(&server), ["room"], fast()).expect("subscribes");
    let client = Realtime::new(options(&server).client_id("ann")).expect("realtime");
    let presence = client.channels().get("room").presence();
    presence.enter("here").expect("enter");
    let r = next(&stream);
    let p = r.presence().expect("a presence event");
    assert_eq!(r.channel, "room");
    assert_eq!(p.action, PresenceAction::Enter);
    assert_eq!(p.client_id.as_deref(), Some("ann"));
    assert_eq!(p.data, Data::from("here"));
    client.close().expect("close");
}

#[test]
fn a_drop_by_the_service_is_resumed_with_nothing_lost_or_repeated() {
    let server = server();
    let rest = rest(&server);
    let stream = sse::subscribe(&options(&server), ["a", "b"], fast()).expect("subscribes");
    publish(&rest, "a", &["1", "2"]);
    publish(&rest, "b", &["3"]);
    assert_eq!(names(&stream, 3), ["a/1", "a/2", "b/3"]);
    assert!(server.drop_connections() >= 1, "the stream was dropped");
    publish(&rest, "b", &["4"]);
    publish(&rest, "a", &["5"]);
    publish(&rest, "b", &["6", "marker"]);
    let mut got = names(&stream, 3);
    // Each channel in order; the two channels may interleave either way.
    got.sort();
    assert_eq!(got, ["a/5", "b/4", "b/6"]);
    expect_nothing_more(&stream);
}

#[test]
fn a_cut_network_is_resumed_from_the_last_event_with_what_was_published_meanwhile() {
    let server = server();
    let rest = rest(&server);
    let proxy = Proxy::start(server.addr());
    let opts = options_at(proxy.addr.port(), &server.keys()[0]);
    for (format, channel) in [
        (StreamFormat::Sse, "cut-sse"),
        (StreamFormat::JsonLines, "cut-lines"),
    ] {
        let stream = sse::subscribe(&opts, [channel], fast().format(format)).expect("subscribes");
        let before = proxy.connections();
        publish(&rest, channel, &["1", "2", "3"]);
        assert_eq!(names(&stream, 3).len(), 3);
        let resume_from = stream.last_event_id().expect("an id");
        // The network goes away; the client's next attempt is held at the
        // proxy while more is published, so those messages can only come
        // by the resume.
        proxy.cut_and_hold();
        proxy.wait_for_connections(before + 1);
        publish(&rest, channel, &["4", "5", "6"]);
        proxy.release();
        publish(&rest, channel, &["7", "marker"]);
        let got = names(&stream, 4);
        let want: Vec<String> = ["4", "5", "6", "7"]
            .iter()
            .map(|n| format!("{channel}/{n}"))
            .collect();
        assert_eq!(got, want, "{format:?}");
        expect_nothing_more(&stream);
        assert_ne!(stream.last_event_id(), Some(resume_from));
    }
}

#[test]
fn a_silent_stream_is_dropped_after_the_idle_timeout_and_resumed() {
    let server = server();
    let rest = rest(&server);
    let proxy = Proxy::start(server.addr());
    let opts = options_at(proxy.addr.port(), &server.keys()[0]);
    let stream = sse::subscribe(
        &opts,
        ["quiet"],
        fast().idle_timeout(Duration::from_millis(500)),
    )
    .expect("subscribes");
    publish(&rest, "quiet", &["1"]);
    assert_eq!(names(&stream, 1), ["quiet/1"]);
    let before = proxy.connections();
    // The network goes silent without closing: only the idle timeout
    // can tell, and the resume brings what the silent stream held.
    proxy.freeze();
    publish(&rest, "quiet", &["2", "3"]);
    assert_eq!(names(&stream, 2), ["quiet/2", "quiet/3"]);
    assert!(proxy.connections() > before, "a new connection was made");
    publish(&rest, "quiet", &["marker"]);
    expect_nothing_more(&stream);
}

#[test]
fn rewind_then_resume_from_a_saved_event_id() {
    let server = server();
    let rest = rest(&server);
    publish(&rest, "saved", &["1", "2", "3", "4"]);
    let first = sse::subscribe(
        &options(&server),
        ["saved"],
        fast().rewind(Rewind::Count(2)),
    )
    .expect("subscribes");
    assert_eq!(names(&first, 2), ["saved/3", "saved/4"]);
    let saved = first.last_event_id().expect("an id");
    drop(first);
    publish(&rest, "saved", &["5", "6", "marker"]);
    let second = sse::subscribe(
        &options(&server),
        ["saved"],
        fast().last_event(saved).rewind(Rewind::Count(10)),
    )
    .expect("subscribes");
    assert_eq!(names(&second, 2), ["saved/5", "saved/6"]);
    expect_nothing_more(&second);
}

#[test]
fn encrypted_payloads_are_decoded_with_the_cipher_rsl5_rsl6() {
    let server = server();
    let key = CipherParams::from_key(&[42; 32]).expect("a 256-bit key");
    let publisher = rest(&server);
    let ch = publisher.channels().get("secret");
    ch.set_options(ChannelOptions::default().cipher(key.clone()))
        .expect("cipher");
    let with = sse::subscribe(
        &options(&server),
        ["secret", "plain"],
        fast().channel_cipher("secret", key),
    )
    .expect("subscribes");
    let without = sse::subscribe(&options(&server), ["secret"], fast()).expect("subscribes");
    let sent = [
        ("text", Data::from("top secret")),
        ("json", Data::from(json!({"a": [1, 2]}))),
        ("binary", Data::from(vec![9u8, 8, 7])),
    ];
    for (name, data) in &sent {
        ch.publish(*name, data.clone()).expect("publish");
    }
    for (name, data) in &sent {
        let r = next(&with);
        assert_eq!(r.decode_error, None, "{name}");
        let m = r.message().expect("a message");
        assert_eq!((m.name.as_deref(), &m.data), (Some(*name), data));
        assert_eq!(m.encoding, None);

        let raw = next(&without);
        assert_eq!(
            raw.decode_error.as_ref().map(|e| e.code),
            Some(40013),
            "{name}"
        );
        let m = raw.message().expect("a message");
        let encoding = m.encoding.clone().unwrap_or_default();
        assert!(encoding.ends_with("cipher+aes-256-cbc"), "{encoding}");
        assert!(m.data.as_bytes().is_some(), "the ciphertext is kept");
    }
}

#[test]
fn refusals_are_reported_with_their_code() {
    let server = server();
    let key = &server.keys()[0];
    let (name, _) = key.split_once(':').expect("a key");
    let wrong = options_at(server.addr().port(), &format!("{name}:wrong-secret"));
    let e = sse::subscribe(&wrong, ["a"], fast()).expect_err("a wrong secret");
    assert_eq!((e.code(), e.status_code()), (40101, Some(401)));

    let token = rest(&server)
        .auth()
        .request_token(Some(TokenParams {
            capability: Some(r#"{"other":["subscribe"]}"#.into()),
            ..TokenParams::default()
        }))
        .expect("token");
    let limited = ClientOptions::with_token(token.token)
        .endpoint("127.0.0.1")
        .port(server.addr().port())
        .tls(false);
    let e = sse::subscribe(&limited, ["other", "secret"], fast()).expect_err("not permitted");
    assert_eq!(e.code(), 40160);
    sse::subscribe(&limited, ["other"], fast()).expect("permitted");

    let e = sse::subscribe(&options(&server), ["a,b"], fast()).expect_err("a comma");
    assert_eq!(e.code(), 40010);
}

#[test]
fn a_token_that_expires_mid_stream_ends_it_with_40142() {
    let server = server();
    let token = rest(&server)
        .auth()
        .request_token(Some(TokenParams {
            ttl: Some(1_500),
            ..TokenParams::default()
        }))
        .expect("token");
    let opts = ClientOptions::with_token(token.token)
        .endpoint("127.0.0.1")
        .port(server.addr().port())
        .tls(false);
    let mut stream = sse::subscribe(&opts, ["t"], fast()).expect("subscribes");
    publish(&rest(&server), "t", &["before"]);
    assert_eq!(names(&stream, 1), ["t/before"]);
    // The next item is the end: the service's error event, not a retry.
    let e = stream.recv_timeout(WAIT).expect_err("the end");
    assert_eq!((e.code(), e.status_code()), (40142, Some(401)));
    assert_eq!(stream.recv().map_err(|e| e.code()).err(), Some(40142));
    assert_eq!(stream.ended().map(|e| e.code()), Some(40142));
    assert!(stream.next().is_none(), "the iterator ends after the error");
}

#[test]
fn a_token_is_obtained_for_key_auth_with_use_token_auth() {
    let server = server();
    let opts = options(&server).use_token_auth(true);
    let stream = sse::subscribe(&opts, ["tok"], fast()).expect("subscribes");
    publish(&rest(&server), "tok", &["x"]);
    assert_eq!(names(&stream, 1), ["tok/x"]);
}

/// A loopback TCP proxy that the test can cut, holding new connections
/// until released.
struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<ProxyState>,
    changed: Condvar,
    closing: AtomicBool,
}

#[derive(Default)]
struct ProxyState {
    hold: bool,
    accepted: usize,
    live: Vec<TcpStream>,
    /// Connections up to this number forward nothing more.
    frozen_upto: usize,
}

impl Proxy {
    fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if s.closing.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                let s = s.clone();
                std::thread::spawn(move || pipe(client, upstream, s));
            }
        });
        Proxy { addr, shared }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ProxyState> {
        self.shared.state.lock().expect("proxy lock")
    }

    fn connections(&self) -> usize {
        self.lock().accepted
    }

    /// Closes every connection and holds new ones.
    fn cut_and_hold(&self) {
        let mut state = self.lock();
        state.hold = true;
        for s in state.live.drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    /// The connections open now go silent (as a dead network would, with
    /// no FIN); later ones work.
    fn freeze(&self) {
        let mut state = self.lock();
        state.frozen_upto = state.accepted;
    }

    fn wait_for_connections(&self, n: usize) {
        let state = self.lock();
        let (state, timeout) = self
            .shared
            .changed
            .wait_timeout_while(state, WAIT, |s| s.accepted < n)
            .expect("proxy lock");
        assert!(
            !timeout.timed_out(),
            "{} connections, not {n}",
            state.accepted
        );
    }

    fn release(&self) {
        self.lock().hold = false;
        self.shared.changed.notify_all();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.closing.store(true, Ordering::SeqCst);
        self.cut_and_hold();
        self.release();
        let _ = TcpStream::connect(self.addr);
    }
}

/// Carries one connection: waits while held, then copies both ways.
fn pipe(client: TcpStream, upstream: SocketAddr, shared: Arc<Shared>) {
    let number = {
        let mut state = shared.state.lock().expect("proxy lock");
        state.accepted += 1;
        shared.changed.notify_all();
        while state.hold && !shared.closing.load(Ordering::SeqCst) {
            state = shared.changed.wait(state).expect("proxy lock");
        }
        state.accepted
    };
    let Ok(server) = TcpStream::connect(upstream) else {
        return;
    };
    let handles = (
        client.try_clone(),
        server.try_clone(),
        client.try_clone(),
        server.try_clone(),
    );
    let (Ok(c2), Ok(s2), Ok(c3), Ok(s3)) = handles else {
        return;
    };
    shared
        .state
        .lock()
        .expect("proxy lock")
        .live
        .extend([c3, s3]);
    let up = shared.clone();
    std::thread::spawn(move || copy(client, server, number, &up));
    copy(s2, c2, number, &shared);
}

/// Copies until either side ends; while the connection is frozen, holds
/// what it read.
fn copy(mut from: TcpStream, mut to: TcpStream, number: usize, shared: &Shared) {
    let mut buf = [0u8; 8192];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        {
            let mut state = shared.state.lock().expect("proxy lock");
            while number <= state.frozen_upto && !shared.closing.load(Ordering::SeqCst) {
                state = shared.changed.wait(state).expect("proxy lock");
            }
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}

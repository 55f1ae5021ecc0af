//! The adapter kit (`ably_proto::adapter`): the dispatcher's routing of
//! events and completions, its transport bookkeeping, payload encoding,
//! and the typed calls. Driven like a real adapter, on a fake clock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ably_proto::adapter::{Call, Dispatcher, Io, Snapshot, Subscriber, wait_outcome};
use ably_proto::client::{
    ChannelState, Client, ConnectionState, Generation, Input, Instant, Now, TransportEvent,
};
use ably_proto::codec::{self, Format};
use ably_proto::{Action, ChannelOptions, CipherParams, Data, ErrorInfo, Message, ProtocolMessage};

use super::harness::{START_WALL_MS, ack, attached, connected, key_options, message_frame};

type Log = Arc<Mutex<Vec<String>>>;

struct Rig {
    d: Dispatcher,
    now: Now,
    generation: Option<Generation>,
    sent: Vec<ProtocolMessage>,
    log: Log,
}

impl Rig {
    fn new() -> Rig {
        let now = Now::new(Instant::from_millis(0), START_WALL_MS);
        let client = Client::new(key_options(), [3; 32], now).expect("options");
        Rig {
            d: Dispatcher::new(client),
            now,
            generation: None,
            sent: Vec::new(),
            log: Arc::default(),
        }
    }

    /// Carries out the I/O like a driver whose sockets open at once.
    fn drain(&mut self) -> Vec<Io> {
        let mut done = Vec::new();
        while let Some(io) = self.d.next_io() {
            match &io {
                Io::Open { generation, .. } => self.generation = Some(*generation),
                Io::Send(frame) => self
                    .sent
                    .push(codec::decode(&frame.bytes, Format::Json).expect("frame")),
                _ => {}
            }
            done.push(io);
        }
        done
    }

    fn frame(&mut self, pm: ProtocolMessage) {
        let bytes = codec::encode(&pm, Format::Json).expect("encode");
        self.d
            .transport(self.now, TransportEvent::Frame(bytes.into()));
        self.drain();
    }

    fn call<T: Send + std::fmt::Debug + 'static>(
        &mut self,
        call: Call<T>,
    ) -> Arc<Mutex<Option<Result<T, ErrorInfo>>>> {
        let slot = Arc::new(Mutex::new(None));
        let (log, out) = (self.log.clone(), slot.clone());
        let (command, reply) = call.with_reply(move |r| {
            log.lock().expect("lock").push("completed".into());
            *out.lock().expect("lock") = Some(r);
        });
        self.d.command(self.now, command, reply);
        self.drain();
        slot
    }

    fn connect(&mut self) {
        self.call(Call::connect());
        let generation = self.generation.expect("an Open");
        assert!(self.d.opened(self.now, generation, Ok(())));
        self.drain();
        self.frame(connected("conn-1", "key-1"));
        assert_eq!(self.d.snapshot().get().state, ConnectionState::Connected);
    }

    fn attach(&mut self, channel: &str) {
        let done = self.call(Call::attach(channel));
        self.frame(attached(channel));
        assert_eq!(*done.lock().expect("lock"), Some(Ok(())));
    }
}

/// RTL7a, RTL7b: messages reach every subscriber whose name filter
/// matches; a dropped subscriber is removed the first time delivery fails.
#[test]
fn adapter_routes_messages_by_name_and_drops_gone_subscribers() {
    let mut r = Rig::new();
    r.connect();
    let all: Log = Arc::default();
    let named: Log = Arc::default();
    let alive = Arc::new(Mutex::new(true));
    let (a, n, live) = (all.clone(), named.clone(), alive.clone());
    r.d.subscribe(Subscriber::Messages {
        channel: "c".into(),
        name: None,
        sink: Box::new(move |m: Message| {
            a.lock().expect("lock").push(m.name.unwrap_or_default());
            true
        }),
    });
    r.d.subscribe(Subscriber::Messages {
        channel: "c".into(),
        name: Some("x".into()),
        sink: Box::new(move |m: Message| {
            n.lock().expect("lock").push(m.name.unwrap_or_default());
            *live.lock().expect("lock")
        }),
    });
    r.attach("c");
    r.frame(message_frame(
        "c",
        vec![Message::new("x", "1"), Message::new("y", "2")],
    ));
    assert_eq!(*all.lock().expect("lock"), ["x", "y"]);
    assert_eq!(*named.lock().expect("lock"), ["x"]);
    // The named subscriber goes away: it gets one more (refused) item,
    // then none.
    *alive.lock().expect("lock") = false;
    r.frame(message_frame("c", vec![Message::new("x", "3")]));
    r.frame(message_frame("c", vec![Message::new("x", "4")]));
    assert_eq!(*named.lock().expect("lock"), ["x", "x"]);
    assert_eq!(*all.lock().expect("lock"), ["x", "y", "x", "x"]);
}

/// RTL6: a publish completes at its ACK, after the events of the same
/// step, and the snapshot shows the state that goes with a completion.
#[test]
fn adapter_completes_after_events_with_a_fresh_snapshot() {
    let mut r = Rig::new();
    r.connect();
    let shared = r.d.snapshot();
    let (log, seen) = (r.log.clone(), shared.clone());
    r.d.subscribe(Subscriber::Channel {
        channel: "c".into(),
        sink: Box::new(move |change| {
            // The snapshot is already current when the change arrives.
            assert_eq!(seen.get().channel_state("c"), change.current);
            log.lock()
                .unwrap()
                .push(format!("channel {}", change.current));
            true
        }),
    });
    r.log.lock().expect("lock").clear();
    let done = r.call(Call::attach("c"));
    r.frame(attached("c"));
    assert_eq!(*done.lock().expect("lock"), Some(Ok(())));
    assert_eq!(
        *r.log.lock().expect("lock"),
        ["channel attaching", "channel attached", "completed"]
    );
    let serials = r.call(Call::publish("c", vec![Message::new("n", "d")]));
    assert_eq!(r.sent.last().map(|pm| pm.action), Some(Action::Message));
    assert!(
        serials.lock().expect("lock").is_none(),
        "not before the ACK"
    );
    r.frame(ack(0, 1));
    assert!(matches!(&*serials.lock().expect("lock"), Some(Ok(s)) if s.len() == 1));
    assert_eq!(shared.get().channel_state("c"), ChannelState::Attached);
}

/// RSL4, RSL5: the dispatcher encodes published payloads with the
/// channel's cipher before the core sends them.
#[test]
fn adapter_encrypts_published_payloads_with_the_channel_cipher() {
    let mut r = Rig::new();
    r.connect();
    let key = [7u8; 16];
    let cipher = CipherParams::from_key(&key).expect("a 128-bit key");
    let options = ChannelOptions {
        cipher: Some(cipher),
        ..ChannelOptions::default()
    };
    let set = r.call(Call::set_options("secret", options));
    assert_eq!(*set.lock().expect("lock"), Some(Ok(())));
    r.attach("secret");
    r.call(Call::publish(
        "secret",
        vec![Message::new("n", "plain text")],
    ));
    let sent = r.sent.last().expect("a MESSAGE");
    let m = &sent.messages[0];
    // On the wire the ciphertext is base64 in JSON; decoded, it is binary.
    assert_eq!(m.encoding.as_deref(), Some("utf-8/cipher+aes-128-cbc"));
    assert!(
        matches!(&m.data, Data::Binary(b) if b.len() == 32),
        "{:?}",
        m.data
    );
}

/// RTN15: the dispatcher passes socket events only for the transport the
/// core is using; a socket that arrives after the core gave up on it is
/// refused, and a failed write ends the transport.
#[test]
fn adapter_tracks_the_current_transport() {
    let mut r = Rig::new();
    r.call(Call::connect());
    let first = r.generation.expect("an Open");
    // No socket yet: events are ignored, writes cannot happen.
    r.d.transport(r.now, TransportEvent::Activity);
    // The core times the attempt out and tries again (RTN14).
    r.now = r.now.advanced(Duration::from_secs(60));
    r.d.handle(r.now, Input::Timeout);
    let io = r.drain();
    assert!(io.iter().any(|i| matches!(i, Io::Close)), "{io:?}");
    assert!(
        !r.d.opened(r.now, first, Ok(())),
        "a stale socket is refused"
    );
    r.now = r.now.advanced(Duration::from_secs(60));
    r.d.handle(r.now, Input::Timeout);
    r.drain();
    let second = r.generation.expect("another Open");
    assert_ne!(first, second);
    assert!(r.d.opened(r.now, second, Ok(())));
    r.drain();
    r.frame(connected("conn-2", "key-2"));
    assert_eq!(r.d.snapshot().get().id.as_deref(), Some("conn-2"));
    let changes = Arc::new(Mutex::new(Vec::new()));
    let seen = changes.clone();
    r.d.subscribe(Subscriber::Connection(Box::new(move |c| {
        seen.lock().expect("lock").push(c);
        true
    })));
    r.d.send_failed(r.now, &"broken pipe");
    let io = r.drain();
    let changes = changes.lock().expect("lock");
    assert_eq!(changes[0].current, ConnectionState::Disconnected);
    assert_eq!(changes[0].reason.as_ref().map(|e| e.code), Some(80003));
    // RTN15a: a connected client that loses its transport tries again at
    // once, on a new generation.
    assert!(matches!(io.last(), Some(Io::Open { generation, .. }) if *generation != second));
    let snap: Snapshot = r.d.snapshot().get();
    assert_eq!(snap.state, ConnectionState::Connecting);
}

/// RSA9: a TokenRequest from the options' key, with the client's clientId
/// where the params name none; 40101 without a key.
#[test]
fn adapter_signs_token_requests_from_the_options() {
    let mut opts = key_options();
    opts.client_id = Some("alice".into());
    let tr = ably_proto::adapter::create_token_request(&opts, None, START_WALL_MS, [1; 8])
        .expect("signed");
    assert_eq!(tr.key_name, "appId.keyId");
    assert_eq!(tr.client_id.as_deref(), Some("alice"));
    assert_eq!(tr.timestamp, START_WALL_MS);
    assert!(!tr.mac.is_empty());
    opts.key = None;
    let err = ably_proto::adapter::create_token_request(&opts, None, START_WALL_MS, [1; 8]);
    assert_eq!(err.map_err(|e| e.code).err(), Some(40101));
}

/// RTN4: waiting for a state ends when it is reached, or fails on a
/// terminal state with the reason.
#[test]
fn adapter_wait_outcome_rules() {
    use ConnectionState::*;
    assert_eq!(wait_outcome(Connected, Connected, None), Some(Ok(())));
    assert_eq!(wait_outcome(Connected, Connecting, None), None);
    assert_eq!(wait_outcome(Connected, Disconnected, None), None);
    let failed = wait_outcome(
        Connected,
        Failed,
        Some(&ErrorInfo::new(40101, 401, "bad key")),
    );
    assert_eq!(failed.map(|r| r.map_err(|e| e.code)), Some(Err(40101)));
    let closed = wait_outcome(Connected, Closed, None);
    assert_eq!(closed.map(|r| r.map_err(|e| e.code)), Some(Err(80000)));
    assert_eq!(wait_outcome(Closed, Closed, None), Some(Ok(())));
}

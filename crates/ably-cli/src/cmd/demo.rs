//! `ably demo`: a guided tour against an ably-local started in this
//! process. Two clients, Alice and Bob, connect; exchange text, JSON and
//! binary messages; use an encrypted channel; enter presence; read
//! history; and Bob's connection is dropped and resumed with nothing lost.
//! Every step checks what it shows, so the tour fails (exit 1) rather
//! than tell a story that did not happen.

use std::cell::RefCell;

use ably_local::server::{BackgroundServer, Config};
use ably_proto::client::ConnectionState;
use ably_proto::codec::Format;
use ably_proto::rest::HistoryParams;
use ably_proto::{ChannelOptions, CipherParams, Data, ErrorInfo, Message};
use serde_json::json;

use super::{Ctx, Outcome, WAIT, connect, unique};
use crate::args::Protocol;
use crate::backend::{Events, Next};
use crate::output::{Out, Style, show_data};
use crate::target::Target;

/// The tour's narration: text, or with `--json` one object per line
/// naming the section.
struct Tour {
    out: Out,
    section: RefCell<String>,
}

impl Tour {
    fn section(&self, title: &str) {
        *self.section.borrow_mut() = title.to_owned();
        if !self.out.json {
            println!(
                "\n{}",
                self.out.paint(Style::Bold, &format!("== {title} =="))
            );
        }
    }

    fn say(&self, text: &str) {
        self.out.either(
            text,
            &json!({"section": *self.section.borrow(), "text": text}),
        );
    }

    /// A line showing something that happened, indented under the prose.
    fn show(&self, text: &str) {
        self.out.either(
            &format!("  {}", self.out.paint(Style::Cyan, text)),
            &json!({"section": *self.section.borrow(), "event": text}),
        );
    }
}

/// Runs the tour; exits 1 if any step does not behave as narrated.
pub fn run(ctx: &Ctx) -> Outcome {
    let tour = Tour {
        out: ctx.out,
        section: RefCell::new("start".into()),
    };
    let server = BackgroundServer::start(Config::default())
        .map_err(|e| ErrorInfo::new(50000, 500, format!("cannot start ably-local: {e}")))?;
    let key = server.keys().first().cloned().unwrap_or_default();
    let mut options = ably_proto::client::ClientOptions::with_key(key);
    options.endpoint = "127.0.0.1".into();
    options.port = Some(server.addr().port());
    options.tls = false;
    options.format = match ctx.global.protocol {
        Protocol::Json => Format::Json,
        Protocol::Msgpack => Format::MsgPack,
    };
    let target = Target {
        options,
        local_default: None,
        tls_roots: Vec::new(),
    };
    tour.say(&format!(
        "Started ably-local, an Ably-compatible service, in this process on {}.",
        server.addr()
    ));
    tour.say("Nothing here needs an account or the internet; with a key, the same");
    tour.say("calls work against Ably.");
    let backend = ctx.backend()?;
    let new_client = |id: &str| {
        ctx.client(backend.as_ref(), &target, |o| {
            o.client_id = Some(id.to_owned())
        })
    };
    let run = unique("demo");

    tour.section("1. Connecting");
    tour.say("A client holds one connection: a WebSocket that carries every channel.");
    tour.say("It moves through states (initialized, connecting, connected, ...) and");
    tour.say("reports each change; here is Alice's first connection.");
    let alice = new_client("alice")?;
    connect(alice.as_ref(), &target, |state, elapsed| {
        tour.show(&format!(
            "alice: {state} after {:.1} ms",
            elapsed.as_secs_f64() * 1000.0
        ));
    })?;
    let bob = new_client("bob")?;
    connect(bob.as_ref(), &target, |_, _| {})?;
    tour.show(&format!(
        "alice is connection {}, bob is {}; a ping takes {:.2} ms",
        alice.connection().id.unwrap_or_default(),
        bob.connection().id.unwrap_or_default(),
        alice.ping()?.as_secs_f64() * 1000.0
    ));

    tour.section("2. Channels: publish and subscribe");
    tour.say("Channels are named streams, created on first use. Subscribing attaches the");
    tour.say("channel; a publish returns once the service has acknowledged it.");
    let chat = format!("{run}:chat");
    let mut inbox = bob.subscribe(&chat)?;
    let sent = [
        ("text", Data::from("hello Bob")),
        ("json", Data::from(json!({"mood": "curious", "n": 42}))),
        ("binary", Data::from(vec![0xCA, 0xFE, 0xBA, 0xBE])),
    ];
    for (name, data) in &sent {
        let serial = alice
            .publish(&chat, vec![Message::new(*name, data.clone())])?
            .into_iter()
            .next()
            .flatten();
        tour.show(&format!(
            "alice published {name:6} serial {}",
            serial.unwrap_or_default()
        ));
    }
    for (name, data) in &sent {
        let m = next(&mut inbox, "a message")?;
        tour.show(&format!(
            "bob received  {:6} {} from {}",
            m.name.clone().unwrap_or_default(),
            show_data(&m.data),
            m.client_id.clone().unwrap_or_default()
        ));
        check(
            m.name.as_deref() == Some(*name) && m.data == *data,
            "bob received what alice sent",
        )?;
    }
    tour.say("Data keeps its kind end to end: text, JSON and binary.");

    tour.section("3. Encryption");
    tour.say("With a cipher key in the channel options, payloads are AES-encrypted in the");
    tour.say("client before they leave it; only holders of the key can read them.");
    let secret = format!("{run}:secret");
    let cipher_key = [42u8; 32];
    let cipher = || -> Result<ChannelOptions, ErrorInfo> {
        Ok(ChannelOptions::default().cipher(CipherParams::from_key(&cipher_key)?))
    };
    bob.set_channel_options(&secret, cipher()?)?;
    let mut bob_secret = bob.subscribe(&secret)?;
    let eve = new_client("eve")?;
    connect(eve.as_ref(), &target, |_, _| {})?;
    let mut eve_secret = eve.subscribe(&secret)?;
    alice.set_channel_options(&secret, cipher()?)?;
    alice.publish(
        &secret,
        vec![Message::new("whisper", "the cake is in the oven")],
    )?;
    let m = next(&mut bob_secret, "the encrypted message")?;
    tour.show(&format!("bob (has the key) reads: {}", show_data(&m.data)));
    check(
        m.data == Data::from("the cake is in the oven"),
        "bob decrypted the message",
    )?;
    let m = next(&mut eve_secret, "the encrypted message")?;
    let encoding = m.encoding.clone().unwrap_or_default();
    tour.show(&format!(
        "eve (no key) sees {} bytes, still encoded as {encoding:?}",
        m.data.size()
    ));
    check(
        encoding.contains("cipher"),
        "eve could not read the message",
    )?;
    eve.close()?;

    tour.section("4. Presence");
    tour.say("Clients enter a channel's presence set, with optional data; others see");
    tour.say("enter, update and leave events and can ask who is there.");
    let room = format!("{run}:room");
    let mut events = bob.presence_subscribe(&room)?;
    alice.presence_enter(&room, Data::from("reading"))?;
    bob.presence_enter(&room, Data::from("writing"))?;
    for _ in 0..2 {
        let e = next(&mut events, "a presence event")?;
        tour.show(&format!(
            "event: {:?} {} {}",
            e.action,
            e.client_id.unwrap_or_default(),
            show_data(&e.data)
        ));
    }
    let members = bob.presence_get(&room)?;
    let mut names: Vec<String> = members
        .iter()
        .map(|m| {
            format!(
                "{} ({})",
                m.client_id.clone().unwrap_or_default(),
                show_data(&m.data)
            )
        })
        .collect();
    names.sort();
    tour.show(&format!("members now: {}", names.join(", ")));
    check(members.len() == 2, "both are present")?;
    alice.presence_leave(&room, Data::None)?;
    let e = next(&mut events, "alice's leave")?;
    tour.show(&format!(
        "event: {:?} {}",
        e.action,
        e.client_id.unwrap_or_default()
    ));

    tour.section("5. History");
    tour.say("The service keeps recent messages; history pages through them over REST.");
    let page = alice.history(&chat, HistoryParams::default())?;
    for m in &page {
        tour.show(&format!(
            "{:6} {}",
            m.name.clone().unwrap_or_default(),
            show_data(&m.data)
        ));
    }
    tour.show(&format!("({} messages, newest first)", page.len()));
    check(page.len() == sent.len(), "history holds every message")?;

    tour.section("6. Losing the connection, and resuming");
    tour.say("The service now drops every transport, as a network failure would. Each");
    tour.say("client reconnects at once and asks to resume its connection: the service");
    tour.say("replays what each channel missed, once and in order. Alice publishes while");
    tour.say("she is cut off; her client queues the messages and sends them on resume.");
    let bob_id = bob.connection().id;
    let mut bob_changes = bob.connection_changes();
    let dropped = server.drop_connections();
    tour.show(&format!("the service dropped {dropped} transports"));
    for i in 1..=5 {
        alice.publish(
            &chat,
            vec![Message::new("after-drop", format!("message {i}"))],
        )?;
    }
    for i in 1..=5 {
        let m = next(&mut inbox, "a message after the drop")?;
        tour.show(&format!("bob received {}", show_data(&m.data)));
        check(
            m.data == Data::from(format!("message {i}")),
            "the messages arrive once, in order",
        )?;
    }
    let mut saw_disconnect = false;
    while let Some(c) = bob_changes.try_next() {
        saw_disconnect |= c.current == ConnectionState::Disconnected;
        tour.show(&format!(
            "bob's connection: {} -> {}",
            c.previous, c.current
        ));
    }
    let resumed = bob.connection().id == bob_id;
    tour.show(&format!("bob kept his connection (same id): {resumed}"));
    check(
        saw_disconnect && resumed,
        "bob's connection was dropped and resumed",
    )?;
    check(inbox.try_next().is_none(), "no message arrived twice")?;

    tour.section("7. Closing");
    tour.say("Closing tells the service; the connection ends in the closed state.");
    alice.close()?;
    bob.close()?;
    tour.show(&format!(
        "alice is {}, bob is {}",
        alice.connection().state,
        bob.connection().state
    ));
    tour.say("");
    tour.say("Next: `ably local` runs the service on its own; `ably channels subscribe");
    tour.say("demo` and `ably channels publish demo hello` in two terminals talk through it.");
    Ok(())
}

/// The next event of a subscription, within [`WAIT`].
fn next<T>(events: &mut Box<dyn Events<T>>, what: &str) -> Result<T, ErrorInfo> {
    match events.next_within(WAIT) {
        Next::Item(item) => Ok(item),
        Next::Timeout => Err(ErrorInfo::new(
            50003,
            504,
            format!("timed out waiting for {what}"),
        )),
        Next::Ended(why) => Err(why),
    }
}

/// A step's claim; 50000 if it does not hold.
fn check(holds: bool, claim: &str) -> Result<(), ErrorInfo> {
    if holds {
        Ok(())
    } else {
        Err(ErrorInfo::new(
            50000,
            500,
            format!("the demo expected that {claim}, and it did not happen"),
        ))
    }
}

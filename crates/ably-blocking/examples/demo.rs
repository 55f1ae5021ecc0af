//! A guided tour of the blocking client.
//!
//! ```sh
//! cargo run -p ably-blocking --example demo            # embedded ably-local
//! ABLY_KEY=appId.keyId:secret cargo run -p ably-blocking --example demo   # real Ably
//! ```
//!
//! Two clients, Alice and Bob, connect; exchange text, JSON and binary
//! messages; use an encrypted channel; enter presence; read history; and
//! (locally) Bob's connection is dropped and resumed without losing a
//! message.

use std::time::Duration;

use ably_blocking::{
    ChannelOptions, CipherParams, ClientOptions, ConnectionState, Data, HistoryParams,
    PresenceQuery, Realtime,
};
use ably_local::server::{BackgroundServer, Config};

const WAIT: Duration = Duration::from_secs(15);

type Fallible<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Fallible<()> {
    // Where to connect: real Ably with ABLY_KEY, else an embedded service.
    let (local, base) = match std::env::var("ABLY_KEY") {
        Ok(key) => {
            println!("Using Ably with the key from ABLY_KEY.");
            (None, ClientOptions::new(key))
        }
        Err(_) => {
            let server = BackgroundServer::start(Config::default())?;
            println!(
                "No ABLY_KEY: started ably-local, an Ably-compatible service, on {}.",
                server.addr()
            );
            let opts = ClientOptions::new(server.keys()[0].clone())
                .endpoint("127.0.0.1")
                .port(server.addr().port())
                .tls(false);
            (Some(server), opts)
        }
    };
    let run = format!("demo-{}", std::process::id());

    section("1. Connecting");
    println!("A client connects on its own thread; its state changes are a stream.");
    let alice = Realtime::new(base.clone().client_id("alice").auto_connect(false))?;
    let mut changes = alice.connection().on_state_change();
    alice.connection().connect()?;
    for change in changes.by_ref() {
        println!("  alice: {} -> {}", change.previous, change.current);
        match change.current {
            ConnectionState::Connected => break,
            ConnectionState::Failed => return Err(format!("failed: {:?}", change.reason).into()),
            _ => {}
        }
    }
    let bob = Realtime::new(base.clone().client_id("bob"))?;
    bob.connection()
        .wait_for(ConnectionState::Connected, WAIT)?;
    println!(
        "  alice is connection {}, bob is {}; a ping takes {:?}",
        alice.connection().id().unwrap_or_default(),
        bob.connection().id().unwrap_or_default(),
        alice.connection().ping()?
    );

    section("2. Publish and subscribe");
    println!("Bob subscribes (which attaches the channel); Alice publishes.");
    println!("publish() returns once the service acknowledges, with the serial.");
    let chat = format!("{run}:chat");
    let inbox = bob.channels().get(&chat).subscribe()?;
    let out = alice.channels().get(&chat);
    let payloads = [
        ("text", Data::from("hello Bob")),
        (
            "json",
            Data::from(serde_json::json!({"mood": "curious", "n": 42})),
        ),
        ("binary", Data::from(vec![0xCA, 0xFE, 0xBA, 0xBE])),
    ];
    for (name, data) in payloads {
        let serial = out.publish(name, data)?;
        println!(
            "  alice published {name:6} serial {}",
            serial.unwrap_or_default()
        );
    }
    for _ in 0..3 {
        let m = inbox.recv_timeout(WAIT)?;
        println!(
            "  bob received {:6} {} from {}",
            m.name.unwrap_or_default(),
            show(&m.data),
            m.client_id.unwrap_or_default()
        );
    }
    println!("Data keeps its kind end to end: text, JSON and binary.");

    section("3. Encryption");
    println!("With a cipher in the channel options, payloads are AES-encrypted");
    println!("before they leave the client; only holders of the key can read them.");
    let secret = format!("{run}:secret");
    let key = [42u8; 32];
    let cipher = || -> Fallible<ChannelOptions> {
        Ok(ChannelOptions::default().cipher(CipherParams::from_key(&key)?))
    };
    let bob_secret = bob.channels().get_with_options(&secret, cipher()?)?;
    let bob_secret_inbox = bob_secret.subscribe()?;
    let eve = Realtime::new(base.clone().client_id("eve"))?;
    let eve_inbox = eve.channels().get(&secret).subscribe()?;
    let alice_secret = alice.channels().get_with_options(&secret, cipher()?)?;
    alice_secret.publish("whisper", "the cake is in the oven")?;
    let m = bob_secret_inbox.recv_timeout(WAIT)?;
    println!("  bob (has the key) reads: {}", show(&m.data));
    let m = eve_inbox.recv_timeout(WAIT)?;
    println!(
        "  eve (no key) sees {} bytes, still encoded as {:?}",
        m.data.size(),
        m.encoding.unwrap_or_default()
    );
    drop(eve);

    section("4. Presence");
    println!("Clients enter a channel's presence set with optional data;");
    println!("others see enter/update/leave events and can list members.");
    let room = format!("{run}:room");
    let watch = bob.channels().get(&room).presence();
    let events = watch.subscribe()?;
    alice.channels().get(&room).presence().enter("reading")?;
    watch.enter("writing")?;
    for _ in 0..2 {
        let e = events.recv_timeout(WAIT)?;
        println!(
            "  event: {:?} {} {}",
            e.action,
            e.client_id.unwrap_or_default(),
            show(&e.data)
        );
    }
    let members = watch.get(PresenceQuery::default())?;
    let names: Vec<_> = members
        .iter()
        .map(|m| {
            format!(
                "{} ({})",
                m.client_id.clone().unwrap_or_default(),
                show(&m.data)
            )
        })
        .collect();
    println!("  members now: {}", names.join(", "));
    alice.channels().get(&room).presence().leave(Data::None)?;
    let e = events.recv_timeout(WAIT)?;
    println!(
        "  event: {:?} {}",
        e.action,
        e.client_id.unwrap_or_default()
    );

    section("5. History");
    println!("Messages are stored for a while; history() pages through them over REST.");
    match out.history(HistoryParams::default()) {
        Ok(page) => {
            for m in &page.items {
                println!(
                    "  {:6} {}",
                    m.name.clone().unwrap_or_default(),
                    show(&m.data)
                );
            }
            println!("  ({} messages, newest first)", page.items.len());
        }
        Err(e) => println!("  history is not available here: {e}"),
    }

    section("6. Losing the connection, and resuming");
    match &local {
        None => println!("(skipped against real Ably: we cannot cut its network from here)"),
        Some(server) => {
            println!("The service drops every transport, as a network failure would.");
            println!("Clients reconnect at once and resume their connection: the");
            println!("service replays what each channel missed, exactly once, in order.");
            let bob_id = bob.connection().id();
            let bob_changes = bob.connection().on_state_change();
            server.drop_connections();
            for i in 1..=5 {
                // Published while the connections are down or coming back:
                // queued in Alice's client and sent when she is connected.
                out.publish("after-drop", format!("message {i}"))?;
            }
            for _ in 1..=5 {
                let m = inbox.recv_timeout(WAIT)?;
                println!("  bob received {}", show(&m.data));
            }
            while let Some(c) = bob_changes.try_recv() {
                println!("  bob's connection: {} -> {}", c.previous, c.current);
            }
            println!(
                "  same connection as before: {}",
                bob.connection().id() == bob_id
            );
        }
    }

    section("7. Closing");
    alice.close()?;
    bob.close()?;
    println!(
        "  alice is {}, bob is {}",
        alice.connection().state(),
        bob.connection().state()
    );
    Ok(())
}

/// Data as a reader would like to see it.
fn show(data: &Data) -> String {
    match data {
        Data::None => "(no data)".into(),
        Data::String(s) => format!("text {s:?}"),
        Data::Json(v) => format!("JSON {v}"),
        Data::Binary(b) => {
            let hex: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
            format!("{} bytes [{}]", b.len(), hex.join(" "))
        }
    }
}

fn section(title: &str) {
    println!("\n== {title} ==");
}

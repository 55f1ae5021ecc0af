//! Subscribing over SSE where WebSocket is blocked.
//!
//! ```sh
//! cargo run -p ably-blocking --example sse_demo
//! ```
//!
//! Starts an embedded ably-local, subscribes to two channels over SSE,
//! publishes over REST, has the service drop every stream, publishes more
//! while the client reconnects, and shows that the stream resumed with
//! nothing lost or repeated.

use std::time::Duration;

use ably_blocking::sse::{self, SseOptions};
use ably_blocking::{ClientOptions, Rest};
use ably_local::server::{BackgroundServer, Config};

type Fallible<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Fallible<()> {
    let server = BackgroundServer::start(Config::default())?;
    println!("ably-local on {}", server.addr());
    let options = ClientOptions::new(server.keys()[0].clone())
        .endpoint("127.0.0.1")
        .port(server.addr().port())
        .tls(false);
    let rest = Rest::new(options.clone())?;
    let stream = sse::subscribe(
        &options,
        ["news", "sport"],
        SseOptions::new().retry_delay(Duration::from_millis(200)),
    )?;
    let wait = Duration::from_secs(10);
    let show = |n: usize| -> Fallible<()> {
        for _ in 0..n {
            let event = stream.recv_timeout(wait)?;
            let name = event.message().and_then(|m| m.name.clone());
            println!(
                "  {} {:?} {:?} (event id {:?})",
                event.channel,
                name.unwrap_or_default(),
                event.data(),
                event.id.as_deref().unwrap_or_default()
            );
        }
        Ok(())
    };

    println!("Publishing three messages:");
    rest.channels()
        .get("news")
        .publish("headline", "SSE works")?;
    rest.channels().get("sport").publish("score", "2-1")?;
    rest.channels()
        .get("news")
        .publish("update", "still works")?;
    show(3)?;

    let dropped = server.drop_connections();
    println!("The service dropped {dropped} stream(s); publishing two more meanwhile:");
    rest.channels().get("sport").publish("score", "3-1")?;
    rest.channels()
        .get("news")
        .publish("late", "resumed by lastEvent")?;
    show(2)?;
    println!("Resumed from {:?}.", stream.last_event_id());
    Ok(())
}

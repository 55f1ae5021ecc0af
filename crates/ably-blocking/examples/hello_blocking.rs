//! Connect, subscribe, publish and print, on plain threads.
//!
//! ```sh
//! cargo run -p ably-blocking --example hello_blocking                               # embedded ably-local
//! ABLY_KEY=appId.keyId:secret cargo run -p ably-blocking --example hello_blocking   # Ably
//! ```

use ably_blocking::{ClientOptions, Realtime};
use ably_local::server::{BackgroundServer, Config};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (options, _local) = options()?;

    let client = Realtime::new(options)?;
    let channel = client.channels().get("greetings");
    let messages = channel.subscribe()?;
    channel.publish("hello", "world")?;
    println!("{:?}", messages.recv().map(|m| m.data));
    Ok(())
}

/// Ably with the key in `ABLY_KEY`, or else ably-local started here (on
/// its own thread).
fn options() -> std::io::Result<(ClientOptions, Option<BackgroundServer>)> {
    if let Ok(key) = std::env::var("ABLY_KEY") {
        return Ok((ClientOptions::new(key), None));
    }
    let server = BackgroundServer::start(Config::default())?;
    println!("No ABLY_KEY: using ably-local on {}", server.addr());
    let options = ClientOptions::new(server.keys()[0].clone())
        .endpoint("127.0.0.1")
        .port(server.addr().port())
        .tls(false);
    Ok((options, Some(server)))
}

//! Connect, subscribe, publish and print, on async-std.
//!
//! ```sh
//! cargo run -p ably-async-std --example hello_async_std                               # embedded ably-local
//! ABLY_KEY=appId.keyId:secret cargo run -p ably-async-std --example hello_async_std   # Ably
//! ```

use ably_async_std::{ClientOptions, Realtime};
use ably_local::server::{BackgroundServer, Config};

type Fallible<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Fallible<()> {
    let (options, _local) = options()?;
    async_std::task::block_on(async {
        let client = Realtime::new(options)?;
        let channel = client.channels().get("greetings");
        let mut messages = channel.subscribe().await?;
        channel.publish("hello", "world").await?;
        println!("{:?}", messages.recv().await.map(|m| m.data));
        Ok(())
    })
}

/// Ably with the key in `ABLY_KEY`, or else ably-local started here (on
/// a thread and tokio runtime of its own).
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

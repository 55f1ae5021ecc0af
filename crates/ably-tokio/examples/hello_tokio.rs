//! Connect, subscribe, publish and print, on tokio.
//!
//! ```sh
//! cargo run -p ably-tokio --example hello_tokio                               # embedded ably-local
//! ABLY_KEY=appId.keyId:secret cargo run -p ably-tokio --example hello_tokio   # Ably
//! ```

use ably_local::server::{Config, Server};
use ably_tokio::{ClientOptions, Realtime};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (options, _local) = options().await?;

    let client = Realtime::new(options)?;
    let channel = client.channels().get("greetings");
    let mut messages = channel.subscribe().await?;
    channel.publish("hello", "world").await?;
    println!("{:?}", messages.recv().await.map(|m| m.data));
    Ok(())
}

/// Ably with the key in `ABLY_KEY`, or else ably-local started here.
async fn options() -> std::io::Result<(ClientOptions, Option<Server>)> {
    if let Ok(key) = std::env::var("ABLY_KEY") {
        return Ok((ClientOptions::new(key), None));
    }
    let server = Server::start(Config::default()).await?;
    println!("No ABLY_KEY: using ably-local on {}", server.addr());
    let options = ClientOptions::new(server.keys()[0].clone())
        .endpoint("127.0.0.1")
        .port(server.addr().port())
        .tls(false);
    Ok((options, Some(server)))
}

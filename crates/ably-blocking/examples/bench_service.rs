//! The ably-local of `cargo xtask bench client`: the service of the
//! `ably-local` binary (library `ably_local::server`) with the inbound
//! rate limit raised, so that a publisher at saturation is measured rather
//! than cut off at 1000 frames/s (42924). Everything else is the default.
//!
//! ```sh
//! bench_service --key APPID.KEYID:SECRET
//! ```
//!
//! Prints `ably-local listening on http://ADDR` (a free port on
//! 127.0.0.1) and runs until its standard input closes.

use std::io::Read;

use ably_local::hub::HubConfig;
use ably_local::server::{BackgroundServer, Config};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let key = match args.as_slice() {
        [flag, key] if flag == "--key" => key.clone(),
        _ => return Err("usage: bench_service --key APPID.KEYID:SECRET".into()),
    };
    let config = Config {
        keys: vec![key],
        hub: HubConfig {
            max_inbound_rate: 1_000_000,
            ..HubConfig::default()
        },
        ..Config::default()
    };
    let server = BackgroundServer::start(config)?;
    println!("ably-local listening on http://{}", server.addr());
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    drop(server);
    Ok(())
}

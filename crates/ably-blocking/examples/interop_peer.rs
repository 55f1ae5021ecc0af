//! The Rust side of the interop scenarios that pair this project's client
//! with ably-js (`xtask/js/interop/encrypted_rust.mjs` and `tls.mjs`, run
//! by `cargo xtask interop`):
//! a blocking realtime client on an encrypted channel (RSL5) that either
//! publishes the three payload kinds or prints what it receives.
//!
//! ```sh
//! interop_peer publish   --port P --key K --channel C --cipher-key B64 --format json|msgpack
//! interop_peer subscribe --port P --key K --channel C --cipher-key B64 --format json|msgpack --count N
//! ```
//!
//! With `--tls-ca FILE` (a CA certificate, DER, such as the `ca.der` of
//! `ably-local --tls-dev-ca DIR`), the client connects with TLS (`wss://`)
//! to `--port`, trusting that CA (`xtask/js/interop/tls.mjs`).
//!
//! `publish` sends `text` (a string), `json` (an object) and `binary`
//! (bytes), each waiting for its ACK, and exits. `subscribe` attaches,
//! prints `ready`, then one JSON line per message
//! (`{"name", "type": "string"|"json"|"binary"|"none", "data", "encoding"}`,
//! binary data as an array of byte values) and exits after `count`
//! messages, or fails after 20 s. Exit status 0 on success.

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use ably_blocking::{ChannelOptions, CipherParams, ClientOptions, Data, Format, Realtime};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);

type Fallible<T> = Result<T, Box<dyn std::error::Error>>;

/// The messages `publish` sends.
fn payloads() -> Vec<(&'static str, Data)> {
    vec![
        ("text", Data::from("hello from rust")),
        (
            "json",
            Data::from(json!({"from": "rust", "n": [1, 2, 3], "nested": {"ok": true}})),
        ),
        ("binary", Data::from(vec![0u8, 1, 2, 253, 254, 255])),
    ]
}

fn describe(name: Option<&str>, data: &Data, encoding: Option<&str>) -> Value {
    let (kind, value) = match data {
        Data::None => ("none", Value::Null),
        Data::String(s) => ("string", Value::String(s.clone())),
        Data::Json(v) => ("json", v.value().clone()),
        Data::Binary(b) => ("binary", b.iter().map(|&x| Value::from(x)).collect()),
    };
    json!({"name": name, "type": kind, "data": value, "encoding": encoding})
}

fn main() -> Fallible<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mode, rest) = args
        .split_first()
        .ok_or("usage: interop_peer publish|subscribe ...")?;
    let mut flags = HashMap::new();
    for pair in rest.chunks(2) {
        let [flag, value] = pair else {
            return Err(format!("{} needs a value", pair[0]).into());
        };
        let name = flag.strip_prefix("--").ok_or("flags start with --")?;
        flags.insert(name.to_owned(), value.clone());
    }
    let flag = |name: &str| {
        flags
            .get(name)
            .cloned()
            .ok_or_else(|| format!("--{name} is required"))
    };
    let format = match flag("format")?.as_str() {
        "json" => Format::Json,
        "msgpack" => Format::MsgPack,
        other => return Err(format!("unknown format {other}").into()),
    };
    let cipher = CipherParams::from_base64_key(&flag("cipher-key")?)?;
    let options = ClientOptions::new(flag("key")?)
        .endpoint("127.0.0.1")
        .format(format);
    // With `--tls-ca DER`: `wss://` to `--port`, trusting that CA.
    let options = match flags.get("tls-ca") {
        Some(ca) => options
            .port(flag("port")?.parse()?)
            .tls(true)
            .tls_root_certificates(vec![std::fs::read(ca)?]),
        None => options.port(flag("port")?.parse()?).tls(false),
    };
    let client = Realtime::new(options)?;
    let channel = client
        .channels()
        .get_with_options(flag("channel")?, ChannelOptions::default().cipher(cipher))?;
    match mode.as_str() {
        "publish" => {
            for (name, data) in payloads() {
                channel.publish(name, data)?;
            }
            println!("published");
        }
        "subscribe" => {
            let count: usize = flag("count")?.parse()?;
            let messages = channel.subscribe()?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "ready")?;
            out.flush()?;
            for _ in 0..count {
                let m = messages.recv_timeout(WAIT)?;
                let line = describe(m.name.as_deref(), &m.data, m.encoding.as_deref());
                writeln!(out, "{line}")?;
                out.flush()?;
            }
        }
        other => return Err(format!("unknown mode {other}").into()),
    }
    client.close()?;
    Ok(())
}

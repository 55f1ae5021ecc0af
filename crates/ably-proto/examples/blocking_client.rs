//! Drives the sans-IO client from a plain blocking loop over `std::net` and
//! tungstenite: the whole driving loop of `ably_proto::client` in one file.
//!
//! ```sh
//! # against a local service (ably-local prints its address and key)
//! cargo run -p ably-proto --example blocking_client -- \
//!     --endpoint 127.0.0.1 --port 8080 --no-tls --key APP.KEY:SECRET
//! ```
//!
//! It connects, attaches a channel, publishes a message (and receives it
//! back), pings, closes, and prints every state change on the way. Flags: `--endpoint HOST`, `--port N`,
//! `--no-tls`, `--key KEY` (or `ABLY_KEY`), `--channel NAME`, `--json`.

use std::io::ErrorKind;
use std::net::TcpStream;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ably_proto::client::{
    ChannelState, Client, ClientOptions, Command, ConnectionState, Event, Input, Instant, Now,
    OpId, Output, TransportEvent,
};
use ably_proto::codec::Format;
use ably_proto::rand_core::{OsRng, RngCore};
use ably_proto::{ErrorInfo, Message};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message as WsMessage, WebSocket};

type Socket = WebSocket<MaybeTlsStream<TcpStream>>;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let opts = options_from_args()?;
    let channel = arg("--channel").unwrap_or_else(|| "blocking-example".into());
    let origin = std::time::Instant::now();
    let now = || Now::new(Instant::from_origin(origin.elapsed()), wall_ms());

    let mut seed = [0u8; 32];
    OsRng.fill_bytes(&mut seed);
    let mut client = Client::new(opts, seed, now())?;
    let mut socket: Option<(ably_proto::client::Generation, Socket)> = None;
    let mut next_op = 0u64;
    let mut op = || {
        next_op += 1;
        OpId(next_op)
    };
    let mut attached = false;
    let mut published = false;
    let mut closing = false;
    let mut waiting: Vec<OpId> = Vec::new();

    // 1. Start: connect.
    client.handle(now(), Input::Command(op(), Command::Connect));
    loop {
        // 2. Carry out every output.
        while let Some(output) = client.poll() {
            match output {
                Output::OpenTransport { generation, url } => {
                    println!("opening {}", redact(&url));
                    let event = match open(&url) {
                        Ok(ws) => {
                            socket = Some((generation, ws));
                            TransportEvent::Opened
                        }
                        Err(e) => TransportEvent::Closed(Some(e)),
                    };
                    client.handle(now(), Input::Transport(generation, event));
                }
                Output::Send { generation, frame } => {
                    if let Some((g, ws)) = &mut socket {
                        if *g == generation {
                            let msg = if frame.text {
                                WsMessage::Text(
                                    String::from_utf8_lossy(&frame.bytes).into_owned().into(),
                                )
                            } else {
                                WsMessage::Binary(frame.bytes)
                            };
                            if let Err(e) = ws.send(msg) {
                                let err = ErrorInfo::new(80003, 400, e.to_string());
                                client.handle(
                                    now(),
                                    Input::Transport(generation, TransportEvent::Closed(Some(err))),
                                );
                            }
                        }
                    }
                }
                Output::CloseTransport { generation } => {
                    if let Some((g, mut ws)) = socket.take() {
                        if g == generation {
                            let _ = ws.close(None);
                            let _ = ws.flush();
                        } else {
                            socket = Some((g, ws));
                        }
                    }
                }
                Output::FetchToken { request, .. } => {
                    let err = ErrorInfo::new(40170, 401, "this example has no authCallback");
                    client.handle(now(), Input::Token(request, Err(err)));
                }
                Output::Http { request, http } => {
                    println!("(skipping HTTP {} {})", http.method, http.url);
                    let err = ErrorInfo::new(80000, 503, "this example makes no HTTP requests");
                    client.handle(now(), Input::Http(request, Err(err)));
                }
                Output::Event(Event::Connection(change)) => {
                    let reason = change.reason.map(|r| format!(" ({r})")).unwrap_or_default();
                    println!(
                        "connection: {} -> {}{reason}",
                        change.previous, change.current
                    );
                    if change.current == ConnectionState::Connected && !attached {
                        attached = true;
                        let attach = Command::Attach {
                            channel: channel.clone(),
                        };
                        client.handle(now(), Input::Command(op(), attach));
                    }
                }
                Output::Event(Event::Channel(change)) => {
                    println!(
                        "channel {}: {} -> {}",
                        change.channel, change.previous, change.current
                    );
                    if change.current == ChannelState::Attached && !published {
                        published = true;
                        let msg = Message::new("greeting", "hello from the blocking example");
                        let publish = Command::Publish {
                            channel: channel.clone(),
                            messages: vec![msg],
                        };
                        let id = op();
                        waiting.push(id);
                        client.handle(now(), Input::Command(id, publish));
                        let id = op();
                        waiting.push(id);
                        client.handle(now(), Input::Command(id, Command::Ping));
                    }
                }
                Output::Event(Event::Message { channel, message }) => {
                    println!(
                        "message on {channel}: {:?} {:?}",
                        message.name, message.data
                    );
                }
                Output::Event(Event::Presence { channel, message }) => {
                    println!(
                        "presence on {channel}: {:?} {:?}",
                        message.action, message.client_id
                    );
                }
                Output::Event(Event::Annotation {
                    channel,
                    annotation,
                }) => {
                    println!(
                        "annotation on {channel}: {:?} {:?}",
                        annotation.annotation_type, annotation.name
                    );
                }
                Output::Event(Event::Log(record)) => println!("log: {}", record.message),
                Output::Event(Event::Completed(id, result)) => {
                    println!("operation {} completed: {result:?}", id.0);
                    waiting.retain(|w| *w != id);
                    // Once the publish and the ping are done, close.
                    if published && waiting.is_empty() && !closing {
                        closing = true;
                        client.handle(now(), Input::Command(op(), Command::Close));
                    }
                }
            }
        }
        if matches!(
            client.state(),
            ConnectionState::Closed | ConnectionState::Failed
        ) {
            println!("done: {}", client.state());
            return Ok(());
        }

        // 3. Wait for a frame or the next deadline.
        let wait = client
            .poll_timeout()
            .map(|(at, _)| at.saturating_since(now().instant))
            .unwrap_or(Duration::from_secs(60))
            .max(Duration::from_millis(1));
        let Some((generation, ws)) = &mut socket else {
            std::thread::sleep(wait);
            client.handle(now(), Input::Timeout);
            continue;
        };
        let generation = *generation;
        set_read_timeout(ws, wait);
        // 4. Feed what happened back in.
        let input = match ws.read() {
            Ok(WsMessage::Text(text)) => {
                TransportEvent::Frame(bytes::Bytes::from(text.as_bytes().to_vec()))
            }
            Ok(WsMessage::Binary(data)) => TransportEvent::Frame(data),
            Ok(WsMessage::Ping(_) | WsMessage::Pong(_)) => TransportEvent::Activity,
            Ok(WsMessage::Close(_)) | Ok(WsMessage::Frame(_)) => {
                socket = None;
                TransportEvent::Closed(None)
            }
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
            {
                client.handle(now(), Input::Timeout);
                continue;
            }
            Err(e) => {
                socket = None;
                TransportEvent::Closed(Some(ErrorInfo::new(80003, 400, e.to_string())))
            }
        };
        client.handle(now(), Input::Transport(generation, input));
    }
}

/// Opens a WebSocket (TLS by rustls for `wss://`).
fn open(url: &str) -> Result<Socket, ErrorInfo> {
    let fail = |e: String| ErrorInfo::new(80000, 503, format!("could not connect: {e}"));
    let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = without_scheme.split('/').next().unwrap_or_default();
    let stream = TcpStream::connect(authority).map_err(|e| fail(e.to_string()))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| fail(e.to_string()))?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (ws, _response) = tungstenite::client_tls(url, stream).map_err(|e| fail(e.to_string()))?;
    Ok(ws)
}

fn set_read_timeout(ws: &mut Socket, d: Duration) {
    let tcp = match ws.get_mut() {
        MaybeTlsStream::Plain(s) => s,
        MaybeTlsStream::Rustls(s) => s.get_mut(),
        _ => return,
    };
    let _ = tcp.set_read_timeout(Some(d));
}

fn options_from_args() -> Result<ClientOptions, Box<dyn std::error::Error>> {
    let key = arg("--key")
        .or_else(|| std::env::var("ABLY_KEY").ok())
        .ok_or("give --key or ABLY_KEY")?;
    let mut opts = ClientOptions::with_key(key);
    opts.auto_connect = false;
    if let Some(endpoint) = arg("--endpoint") {
        opts.endpoint = endpoint;
    }
    if let Some(port) = arg("--port") {
        opts.port = Some(port.parse()?);
    }
    if std::env::args().any(|a| a == "--no-tls") {
        opts.tls = false;
    }
    if std::env::args().any(|a| a == "--json") {
        opts.format = Format::Json;
    }
    Ok(opts)
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The URL without the key secret, for printing.
fn redact(url: &str) -> String {
    match url.find("key=") {
        Some(i) => {
            let end = url[i..].find('&').map_or(url.len(), |j| i + j);
            format!("{}key=***{}", &url[..i], &url[end..])
        }
        None => url.to_owned(),
    }
}

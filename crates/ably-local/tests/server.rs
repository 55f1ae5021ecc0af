//! End to end over loopback sockets, with tokio-tungstenite as a raw client.

use std::time::Duration;

use ably_local::server::{Config, Server};
use ably_proto::codec::{Format, decode_protocol_message, encode};
use ably_proto::{Action, Data, Message, ProtocolMessage};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message as Ws;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A safety net only: every wait below awaits an event.
const LIMIT: Duration = Duration::from_secs(20);

async fn start() -> Server {
    Server::start(Config {
        keys: vec!["app.k:secret".into()],
        ..Config::default()
    })
    .await
    .expect("server")
}

async fn connect(server: &Server, query: &str) -> Socket {
    let url = format!("ws://{}/?{query}", server.addr());
    let (ws, _) = tokio::time::timeout(LIMIT, tokio_tungstenite::connect_async(url))
        .await
        .expect("in time")
        .expect("upgrade");
    ws
}

/// The next protocol message (pings and pongs skipped); None when closed.
async fn next(ws: &mut Socket, format: Format) -> Option<ProtocolMessage> {
    loop {
        let msg = tokio::time::timeout(LIMIT, ws.next())
            .await
            .expect("in time")?;
        match msg.ok()? {
            Ws::Text(t) => {
                assert_eq!(format, Format::Json, "text frame on a msgpack connection");
                return Some(decode_protocol_message(t.as_bytes(), format).expect("decode"));
            }
            Ws::Binary(b) => {
                assert_eq!(format, Format::MsgPack, "binary frame on a JSON connection");
                return Some(decode_protocol_message(&b, format).expect("decode"));
            }
            Ws::Close(_) => return None,
            _ => {}
        }
    }
}

async fn send(ws: &mut Socket, pm: &ProtocolMessage, format: Format) {
    let data = encode(pm, format).expect("encode");
    let msg = match format {
        Format::Json => Ws::Text(String::from_utf8(data).expect("utf-8").into()),
        Format::MsgPack => Ws::Binary(data.into()),
    };
    ws.send(msg).await.expect("send");
}

#[tokio::test]
async fn json_and_msgpack_clients_talk_over_websocket() {
    let server = start().await;
    let mut a = connect(&server, "key=app.k:secret&v=6&format=json").await;
    let mut b = connect(
        &server,
        "key=app.k:secret&v=5&format=msgpack&heartbeats=false",
    )
    .await;
    for (ws, f) in [(&mut a, Format::Json), (&mut b, Format::MsgPack)] {
        let c = next(ws, f).await.expect("connected");
        assert_eq!(c.action, Action::Connected);
        send(ws, &ProtocolMessage::for_channel(Action::Attach, "chat"), f).await;
        assert_eq!(next(ws, f).await.map(|p| p.action), Some(Action::Attached));
    }
    let mut pm = ProtocolMessage::for_channel(Action::Message, "chat");
    pm.msg_serial = Some(0);
    pm.messages = vec![Message::new("bin", vec![0u8, 159, 146, 150])];
    send(&mut a, &pm, Format::Json).await;
    let got = next(&mut b, Format::MsgPack).await.expect("message");
    assert_eq!(got.messages[0].data, Data::from(vec![0u8, 159, 146, 150]));
    // A's own echo, then its ACK.
    assert_eq!(
        next(&mut a, Format::Json).await.map(|p| p.action),
        Some(Action::Message)
    );
    assert_eq!(
        next(&mut a, Format::Json).await.map(|p| p.action),
        Some(Action::Ack)
    );
    send(&mut a, &ProtocolMessage::new(Action::Close), Format::Json).await;
    assert_eq!(
        next(&mut a, Format::Json).await.map(|p| p.action),
        Some(Action::Closed)
    );
    assert!(next(&mut a, Format::Json).await.is_none());
    server.shutdown().await;
}

#[tokio::test]
async fn a_bad_key_completes_the_upgrade_and_gets_error_40101() {
    let server = start().await;
    let mut ws = connect(&server, "key=app.k:wrong&v=6").await;
    let e = next(&mut ws, Format::Json).await.expect("error");
    assert_eq!(e.action, Action::Error);
    let err = e.error.expect("error info");
    assert_eq!((err.code, err.status_code), (40101, Some(401)));
    assert!(next(&mut ws, Format::Json).await.is_none());
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_sends_disconnected() {
    let server = start().await;
    let mut ws = connect(&server, "key=app.k:secret&format=msgpack").await;
    assert_eq!(
        next(&mut ws, Format::MsgPack).await.map(|p| p.action),
        Some(Action::Connected)
    );
    let stopping = tokio::spawn(server.shutdown());
    let d = next(&mut ws, Format::MsgPack).await.expect("disconnected");
    assert_eq!(d.action, Action::Disconnected);
    assert!(next(&mut ws, Format::MsgPack).await.is_none());
    tokio::time::timeout(LIMIT, stopping)
        .await
        .expect("in time")
        .expect("joined");
}

async fn http(server: &Server, request: String) -> String {
    let mut tcp = tokio::net::TcpStream::connect(server.addr())
        .await
        .expect("tcp");
    tcp.write_all(request.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    tokio::time::timeout(LIMIT, tcp.read_to_end(&mut out))
        .await
        .expect("in time")
        .expect("read");
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn time_and_token_requests_over_http() {
    let server = start().await;
    let resp = http(
        &server,
        "GET /time HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".into(),
    )
    .await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let body = resp.split("\r\n\r\n").nth(1).unwrap_or("");
    let time: Vec<i64> = serde_json::from_str(body).expect("[ms]");
    assert!(time[0] > 1_600_000_000_000);

    let key = ably_proto::auth::ApiKey::parse("app.k:secret").expect("key");
    let req = ably_proto::auth::create_token_request(
        &key,
        &ably_proto::auth::TokenParams::default(),
        time[0],
        "0123456789abcdef".into(),
    );
    let json = serde_json::to_string(&req).expect("json");
    let post = |body: &str| {
        format!(
            "POST /keys/app.k/requestToken HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let resp = http(&server, post(&json)).await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let body = resp.split("\r\n\r\n").nth(1).unwrap_or("");
    let td: ably_proto::auth::TokenDetails = serde_json::from_str(body).expect("token details");
    let resp = http(&server, post(&json)).await;
    assert!(resp.starts_with("HTTP/1.1 401"), "nonce replay: {resp}");
    assert!(resp.contains("40105"));

    let mut ws = connect(&server, &format!("access_token={}&v=6", td.token)).await;
    assert_eq!(
        next(&mut ws, Format::Json).await.map(|p| p.action),
        Some(Action::Connected)
    );
    server.shutdown().await;
}

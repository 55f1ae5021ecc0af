//! REST, provisioning, SSE and event-stream over loopback HTTP, with a
//! minimal HTTP/1.1 client on a TcpStream.

use std::path::PathBuf;
use std::time::Duration;

use ably_local::server::{Config, Server};
use ably_proto::codec::{Format, decode, encode};
use ably_proto::{Data, Message, PresenceMessage};
use base64::Engine as _;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A safety net only: every wait below awaits an event.
const LIMIT: Duration = Duration::from_secs(20);
const KEY: &str = "app.k:secret";

async fn start() -> Server {
    Server::start(Config {
        keys: vec![KEY.into()],
        ..Config::default()
    })
    .await
    .expect("server")
}

fn basic(key: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

struct Resp {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("json body ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }
    fn error_code(&self) -> i64 {
        self.json()["error"]["code"].as_i64().unwrap_or(0)
    }
}

/// One request with `Connection: close`; the whole response.
async fn request(
    server: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let mut tcp = TcpStream::connect(server.addr()).await.expect("tcp");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    // A body the server refuses may be cut short; that is fine.
    let _ = tcp.write_all(&bytes).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(LIMIT, tcp.read_to_end(&mut out))
        .await
        .expect("in time");
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&out[..split]).into_owned();
    let status = head[9..12].parse().expect("status");
    Resp {
        status,
        head,
        body: out[split + 4..].to_vec(),
    }
}

async fn get(server: &Server, path: &str, auth: &str) -> Resp {
    request(server, "GET", path, &[("Authorization", auth)], b"").await
}

async fn post_json(server: &Server, path: &str, auth: &str, body: &Value) -> Resp {
    request(
        server,
        "POST",
        path,
        &[
            ("Authorization", auth),
            ("Content-Type", "application/json"),
        ],
        body.to_string().as_bytes(),
    )
    .await
}

/// Follows `rel="next"` of a Link header, resolved against `base`.
fn next_link(resp: &Resp, base: &str) -> Option<String> {
    let link = resp.header("link")?;
    link.split(", ").find_map(|part| {
        let (target, rel) = part.split_once(">; rel=")?;
        (rel == "\"next\"").then(|| {
            let rel_path = target.trim_start_matches('<').trim_start_matches("./");
            let dir = &base[..base.rfind('/').expect("a slash") + 1];
            format!("{dir}{rel_path}")
        })
    })
}

#[tokio::test]
async fn publish_history_and_pagination() {
    let server = start().await;
    let auth = basic(KEY);
    let r = post_json(
        &server,
        "/channels/chat/messages",
        &auth,
        &json!({"name": "one", "data": "1"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let batch: Vec<Value> = (2..=5)
        .map(|i| json!({"name": "n", "data": format!("{i}")}))
        .collect();
    let r = post_json(&server, "/channels/chat/messages", &auth, &json!(batch)).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["serials"].as_array().map(Vec::len), Some(4));

    // Idempotent: the same id twice is published once.
    for _ in 0..2 {
        let r = post_json(
            &server,
            "/channels/chat/messages",
            &auth,
            &json!({"id": "fixed:0", "data": "6"}),
        )
        .await;
        assert_eq!(r.status, 201);
    }

    // Backwards (default), two at a time, following Link headers.
    let mut path = "/channels/chat/messages?limit=2".to_owned();
    let mut seen = Vec::new();
    for _ in 0..10 {
        let r = get(&server, &path, &auth).await;
        assert_eq!(r.status, 200);
        for m in r.json().as_array().expect("array") {
            seen.push(m["data"].as_str().expect("data").to_owned());
            assert!(m["id"].is_string() && m["timestamp"].is_i64());
        }
        match next_link(&r, &path) {
            Some(next) => path = next,
            None => break,
        }
    }
    assert_eq!(seen, ["6", "5", "4", "3", "2", "1"]);

    // Forwards, with the /history alias; msgpack by Accept.
    let r = request(
        &server,
        "GET",
        "/channels/chat/history?direction=forwards&limit=3",
        &[
            ("Authorization", &auth),
            ("Accept", "application/x-msgpack"),
        ],
        b"",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/x-msgpack")
    );
    let items: Vec<Message> = decode(&r.body, Format::MsgPack).expect("msgpack");
    let data: Vec<_> = items.iter().map(|m| m.data.clone()).collect();
    assert_eq!(
        data,
        ["1", "2", "3"].map(|s| Data::String(s.into())).to_vec()
    );
    assert!(r.header("link").is_some_and(|l| l.contains("rel=\"next\"")));

    // A time window and from_serial (untilAttach).
    let all = get(&server, "/channels/chat/messages?direction=forwards", &auth)
        .await
        .json();
    let third = all[2]["serial"].as_str().expect("serial").to_owned();
    let attach = third.rsplit_once(':').expect("index").0.to_owned();
    let r = get(
        &server,
        &format!(
            "/channels/chat/messages?from_serial={}",
            attach.replace('@', "%40")
        ),
        &auth,
    )
    .await;
    assert_eq!(
        r.json().as_array().map(Vec::len),
        Some(5),
        "events up to the serial"
    );
    let r = get(&server, "/channels/chat/messages?start=0&end=1", &auth).await;
    assert_eq!(r.json().as_array().map(Vec::len), Some(0));
    server.shutdown().await;
}

#[tokio::test]
async fn msgpack_publish_tokens_client_ids_and_capabilities() {
    let server = start().await;
    let auth = basic(KEY);
    // A token bound to a clientId, with publish on one channel only.
    let r = post_json(
        &server,
        "/keys/app.k/requestToken",
        &auth,
        &json!({"clientId": "bob", "capability": "{\"mine\":[\"publish\",\"history\"]}"}),
    )
    .await;
    assert_eq!(r.status, 200);
    let token = r.json()["token"].as_str().expect("token").to_owned();
    let bearer = format!(
        "Bearer {}",
        base64::engine::general_purpose::STANDARD.encode(&token)
    );
    let body = encode(&vec![Message::new("m", "hi")], Format::MsgPack).expect("encode");
    let r = request(
        &server,
        "POST",
        "/channels/mine/messages",
        &[
            ("Authorization", &bearer),
            ("Content-Type", "application/x-msgpack"),
        ],
        &body,
    )
    .await;
    assert_eq!(r.status, 201);
    let r = get(&server, "/channels/mine/messages", &bearer).await;
    assert_eq!(r.json()[0]["clientId"], "bob");
    // Another clientId: 40012; another channel: 40160.
    let r = post_json(
        &server,
        "/channels/mine/messages",
        &bearer,
        &json!({"clientId": "eve", "data": "x"}),
    )
    .await;
    assert_eq!((r.status, r.error_code()), (400, 40012));
    let r = post_json(
        &server,
        "/channels/other/messages",
        &bearer,
        &json!({"data": "x"}),
    )
    .await;
    assert_eq!((r.status, r.error_code()), (401, 40160));
    assert_eq!(r.header("x-ably-errorcode").as_deref(), Some("40160"));
    server.shutdown().await;
}

fn test_app_setup() -> Value {
    let dir = std::env::var_os("ABLY_COMMON_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ably-common"),
        PathBuf::from,
    );
    let path = dir.join("test-app-setup.json");
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str::<Value>(&text).expect("json")["post_apps"].clone(),
        // Without ably-common, a spec of the same shape.
        Err(_) => json!({
            "limits": {"presence": {"maxMembers": 250}},
            "keys": [{}, {"capability": "{\"*\":[\"subscribe\"]}"}],
            "namespaces": [{"id": "persisted", "persisted": true}],
            "channels": [{"name": "persisted:presence_fixtures", "presence": [
                {"clientId": "client_bool", "data": "true"},
                {"clientId": "client_encoded", "data": "HO4cYSP8LybPYBPZPHQOtuD53yrD3YV3NBoTEYBh4U0N1QXHbtkfsDfTspKeLQFt", "encoding": "json/utf-8/cipher+aes-128-cbc/base64"}
            ]}]
        }),
    }
}

#[tokio::test]
async fn test_apps_are_provisioned_with_presence_fixtures_and_deleted() {
    let server = start().await;
    let spec = test_app_setup();
    let r = request(
        &server,
        "POST",
        "/apps",
        &[("Content-Type", "application/json")],
        spec.to_string().as_bytes(),
    )
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let app = r.json();
    let keys = app["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), spec["keys"].as_array().map_or(0, Vec::len));
    assert_eq!(app["namespaces"], spec["namespaces"]);
    let first = keys[0]["keyStr"].as_str().expect("keyStr").to_owned();
    assert!(first.starts_with(&format!("{}.", app["appId"].as_str().expect("appId"))));
    assert_eq!(keys[0]["capability"], "{\"*\":[\"*\"]}");
    let auth = basic(&first);

    let fixtures = &spec["channels"][0];
    let r = get(
        &server,
        "/channels/persisted%3Apresence_fixtures/presence",
        &auth,
    )
    .await;
    assert_eq!(r.status, 200);
    let members: Vec<PresenceMessage> = serde_json::from_slice(&r.body).expect("members");
    assert_eq!(
        members.len(),
        fixtures["presence"].as_array().map_or(0, Vec::len)
    );
    let encoded = members
        .iter()
        .find(|m| m.client_id.as_deref() == Some("client_encoded"))
        .expect("the encrypted fixture");
    assert_eq!(
        encoded.encoding.as_deref(),
        Some("json/utf-8/cipher+aes-128-cbc/base64")
    );
    let r = get(
        &server,
        "/channels/persisted%3Apresence_fixtures/presence?clientId=client_bool",
        &auth,
    )
    .await;
    assert_eq!(r.json().as_array().map(Vec::len), Some(1));
    let r = get(
        &server,
        "/channels/persisted%3Apresence_fixtures/presence?limit=1",
        &auth,
    )
    .await;
    assert!(r.header("link").is_some_and(|l| l.contains("rel=\"next\"")));

    // The spec's limits: presence.maxMembers (250 in ably-common's file).
    let max = spec["limits"]["presence"]["maxMembers"]
        .as_u64()
        .expect("maxMembers") as usize;
    assert_eq!(
        enter_members(&server, &first, max).await,
        (None, None),
        "{max} members fit"
    );
    assert_eq!(
        enter_members(&server, &first, max + 1).await,
        (Some(91003), None),
        "one more is refused"
    );
    assert_eq!(
        enter_members(&server, KEY, max + 1).await,
        (None, None),
        "other apps keep the hub-wide limit"
    );

    // The other apps and the server's own key are not affected by this one.
    let r = get(
        &server,
        "/channels/persisted%3Apresence_fixtures/presence",
        &basic(KEY),
    )
    .await;
    assert_eq!(r.json().as_array().map(Vec::len), Some(0));

    // Deleting needs one of the app's keys.
    let path = format!("/apps/{}", app["appId"].as_str().expect("id"));
    let r = request(
        &server,
        "DELETE",
        &path,
        &[("Authorization", &basic(KEY))],
        b"",
    )
    .await;
    assert_eq!(r.status, 401);
    let r = request(&server, "DELETE", &path, &[("Authorization", &auth)], b"").await;
    assert_eq!(r.status, 204);
    let r = get(&server, "/channels/x/messages", &auth).await;
    assert_eq!((r.status, r.error_code()), (401, 40101));
    server.shutdown().await;
}

/// Over a new WebSocket with `key`: attaches `members-{n}` and enters `n`
/// members in one PRESENCE frame (enterClient); returns the NACK's error
/// code (`None` for an ACK) and the code of any ERROR.
async fn enter_members(server: &Server, key: &str, n: usize) -> (Option<u32>, Option<u32>) {
    enter_on(server, key, &format!("members-{n}"), n).await
}

/// As [`enter_members`], on `channel`. The connection then drops (its
/// members stay for remainPresentFor, 15 s).
async fn enter_on(
    server: &Server,
    key: &str,
    channel: &str,
    n: usize,
) -> (Option<u32>, Option<u32>) {
    use ably_proto::codec::decode_protocol_message;
    use ably_proto::{Action, PresenceAction, ProtocolMessage};
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message as Ws;
    let url = format!("ws://{}/?key={key}&v=6&format=json", server.addr());
    let (mut ws, _) = tokio::time::timeout(LIMIT, tokio_tungstenite::connect_async(url))
        .await
        .expect("in time")
        .expect("websocket");
    let attach = ProtocolMessage::for_channel(Action::Attach, channel);
    let mut enter = ProtocolMessage::for_channel(Action::Presence, channel);
    enter.msg_serial = Some(0);
    enter.presence = (0..n)
        .map(|i| PresenceMessage::new(PresenceAction::Enter, Some(format!("c{i}")), "x"))
        .collect();
    for pm in [attach, enter] {
        let text = String::from_utf8(encode(&pm, Format::Json).expect("encode")).expect("utf8");
        ws.send(Ws::Text(text.into())).await.expect("send");
    }
    loop {
        let frame = tokio::time::timeout(LIMIT, ws.next())
            .await
            .expect("in time")
            .expect("a frame")
            .expect("ok");
        let Ws::Text(text) = frame else { continue };
        let pm = decode_protocol_message(text.as_bytes(), Format::Json).expect("decode");
        match pm.action {
            Action::Ack => return (None, None),
            Action::Nack => return (pm.error.map(|e| e.code), None),
            Action::Error => return (None, pm.error.map(|e| e.code)),
            _ => {}
        }
    }
}

#[tokio::test]
async fn bad_input_gets_clear_errors() {
    let server = start().await;
    let auth = basic(KEY);
    let r = request(
        &server,
        "POST",
        "/channels/chat/messages",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        b"{not json",
    )
    .await;
    assert_eq!((r.status, r.error_code()), (400, 40000));
    let r = request(
        &server,
        "POST",
        "/channels/chat/messages",
        &[("Authorization", &auth), ("Content-Type", "text/plain")],
        b"hello",
    )
    .await;
    assert_eq!((r.status, r.error_code()), (415, 40000));
    let huge = vec![b'x'; 3 << 20];
    let r = request(
        &server,
        "POST",
        "/channels/chat/messages",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        &huge,
    )
    .await;
    assert_eq!((r.status, r.error_code()), (413, 40009));
    let big = json!({"data": "y".repeat(70_000)});
    let r = post_json(&server, "/channels/chat/messages", &auth, &big).await;
    assert_eq!((r.status, r.error_code()), (400, 40009));
    let r = get(&server, "/nowhere", &auth).await;
    assert_eq!((r.status, r.error_code()), (404, 40400));
    assert_eq!(r.header("x-ably-errorcode").as_deref(), Some("40400"));
    let r = request(&server, "PUT", "/time", &[], b"").await;
    assert_eq!(r.status, 405);
    for bad in ["limit=0", "limit=5000", "direction=sideways", "start=x"] {
        let r = get(&server, &format!("/channels/chat/messages?{bad}"), &auth).await;
        assert_eq!((r.status, r.error_code()), (400, 40003), "{bad}");
    }
    let r = get(&server, "/channels/chat/messages", "").await;
    assert_eq!((r.status, r.error_code()), (401, 40106));
    let r = get(&server, "/channels/chat/messages", &basic("app.k:wrong")).await;
    assert_eq!((r.status, r.error_code()), (401, 40101));
    let r = post_json(&server, "/channels/chat/messages", &auth, &json!([])).await;
    assert_eq!((r.status, r.error_code()), (400, 40000));
    let r = post_json(
        &server,
        "/apps",
        "",
        &json!({"limits": {"presence": {"maxMembers": "many"}}}),
    )
    .await;
    assert_eq!((r.status, r.error_code()), (400, 40000));
    // Nothing else was affected.
    let r = post_json(
        &server,
        "/channels/chat/messages",
        &auth,
        &json!({"data": "ok"}),
    )
    .await;
    assert_eq!(r.status, 201);
    let r = get(&server, "/channels/chat/messages", &auth).await;
    assert_eq!(r.json().as_array().map(Vec::len), Some(1));
    server.shutdown().await;
}

/// An open streaming response: reads until some text has arrived.
struct Streaming {
    tcp: TcpStream,
    text: String,
}

impl Streaming {
    async fn open(server: &Server, path: &str, headers: &[(&str, &str)]) -> Streaming {
        let mut tcp = TcpStream::connect(server.addr()).await.expect("tcp");
        let mut req = format!("GET {path} HTTP/1.1\r\nHost: x\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        tcp.write_all(req.as_bytes()).await.expect("write");
        Streaming {
            tcp,
            text: String::new(),
        }
    }

    /// Reads until `needle` has arrived (after what was consumed before);
    /// returns everything up to and including it.
    async fn until(&mut self, needle: &str) -> String {
        loop {
            if let Some(at) = self.text.find(needle) {
                let rest = self.text.split_off(at + needle.len());
                return std::mem::replace(&mut self.text, rest);
            }
            let mut buf = [0u8; 4096];
            let n = tokio::time::timeout(LIMIT, self.tcp.read(&mut buf))
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {needle:?}; got {:?}", self.text))
                .expect("read");
            assert!(
                n > 0,
                "stream ended waiting for {needle:?}; got {:?}",
                self.text
            );
            self.text.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    }
}

#[tokio::test]
async fn sse_delivers_live_messages_and_resumes_with_last_event() {
    let server = start().await;
    let auth = basic(KEY);
    let mut sse =
        Streaming::open(&server, "/sse?v=1.2&channels=feed&key=app.k%3Asecret", &[]).await;
    let head = sse.until("\r\n\r\n").await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("text/event-stream"));
    for i in 1..=2 {
        let r = post_json(
            &server,
            "/channels/feed/messages",
            &auth,
            &json!({"name": "n", "data": format!("m{i}")}),
        )
        .await;
        assert_eq!(r.status, 201);
    }
    let first = sse.until("\n\n").await;
    assert!(first.contains("event: message"), "{first}");
    assert!(first.contains("\"data\":\"m1\"") && first.contains("\"channel\":\"feed\""));
    let id = first
        .lines()
        .find_map(|l| l.strip_prefix("id: "))
        .expect("an id")
        .to_owned();
    assert!(sse.until("\n\n").await.contains("m2"));
    drop(sse);

    // Missed while away: m3. Resume after m1 gives m2, m3, then live m4.
    post_json(
        &server,
        "/channels/feed/messages",
        &auth,
        &json!({"data": "m3"}),
    )
    .await;
    let path = format!(
        "/sse?v=1.2&channel=feed&enveloped=false&lastEvent={}",
        id.replace('@', "%40").replace(':', "%3A")
    );
    let mut sse = Streaming::open(&server, &path, &[("Authorization", &auth)]).await;
    sse.until("\r\n\r\n").await;
    let replay = sse.until("data: m3\n").await;
    assert!(
        replay.contains("data: m2\n") && !replay.contains("m1"),
        "{replay}"
    );
    post_json(
        &server,
        "/channels/feed/messages",
        &auth,
        &json!({"data": "m4"}),
    )
    .await;
    sse.until("data: m4\n").await;

    // The raw event-stream: JSON lines with a custom separator, rewind.
    let mut raw = Streaming::open(
        &server,
        "/event-stream?v=1.2&channels=feed&rewind=1&separator=%7C&key=app.k%3Asecret",
        &[],
    )
    .await;
    let head = raw.until("\r\n\r\n").await;
    assert!(head.contains("application/x-ndjson"), "{head}");
    let line = raw.until("}|").await;
    let json_text = &line[line.find('{').expect("json")..line.len() - 1];
    let env: Value = serde_json::from_str(json_text).expect("envelope");
    assert_eq!(env["event"], "message");
    assert_eq!(env["data"]["data"], "m4");
    assert!(env["id"].is_string());
    // event-stream with Accept: text/event-stream is SSE.
    let mut sse2 = Streaming::open(
        &server,
        "/event-stream?v=1.2&channels=feed&rewind=1&key=app.k%3Asecret",
        &[("Accept", "text/event-stream")],
    )
    .await;
    assert!(sse2.until("\r\n\r\n").await.contains("text/event-stream"));
    sse2.until("event: message\n").await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_two_channel_sse_stream_resumes_both_channels_with_last_event_id() {
    let server = start().await;
    let auth = basic(KEY);
    let publish = |channel: &'static str, data: &'static str| {
        let auth = auth.clone();
        let server = &server;
        async move {
            let path = format!("/channels/{channel}/messages");
            let r = post_json(server, &path, &auth, &json!({"data": data})).await;
            assert_eq!(r.status, 201);
        }
    };
    // Published before the stream: not part of it.
    publish("left", "l1").await;
    publish("right", "r1").await;
    let mut sse = Streaming::open(
        &server,
        "/sse?v=1.2&channels=left,right&enveloped=false&key=app.k%3Asecret",
        &[],
    )
    .await;
    sse.until("\r\n\r\n").await;
    publish("left", "l2").await;
    let l2 = sse.until("data: l2\n\n").await;
    publish("right", "r2").await;
    let r2 = sse.until("data: r2\n\n").await;
    assert!(!l2.contains("r2") && !r2.contains("l2"));
    let last = r2
        .lines()
        .find_map(|l| l.strip_prefix("id: "))
        .expect("an id")
        .to_owned();
    drop(sse);

    // Away: two on each channel.
    for (channel, data) in [
        ("left", "l3"),
        ("right", "r3"),
        ("left", "l4"),
        ("right", "r4"),
    ] {
        publish(channel, data).await;
    }

    // Resume with Last-Event-ID: each channel's missed messages, exactly
    // once and in order, then live.
    let mut sse = Streaming::open(
        &server,
        "/sse?v=1.2&channels=left,right&enveloped=false",
        &[("Authorization", &auth), ("Last-Event-ID", &last)],
    )
    .await;
    let head = sse.until("\r\n\r\n").await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    publish("left", "l5").await;
    let text = sse.until("data: l5\n").await;
    let data: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .collect();
    let left: Vec<&str> = data
        .iter()
        .copied()
        .filter(|d| d.starts_with('l'))
        .collect();
    let right: Vec<&str> = data
        .iter()
        .copied()
        .filter(|d| d.starts_with('r'))
        .collect();
    assert_eq!(left, ["l3", "l4", "l5"], "{text}");
    assert_eq!(right, ["r3", "r4"], "{text}");
    server.shutdown().await;
}

#[tokio::test]
async fn sse_channel_params_and_an_exact_resume_with_presence() {
    let server = start().await;
    let auth = basic(KEY);
    for data in ["m1", "m2"] {
        let r = post_json(
            &server,
            "/channels/room/messages",
            &auth,
            &json!({"data": data}),
        )
        .await;
        assert_eq!(r.status, 201);
    }
    // `[?rewind=1]room`: the last message only, on the channel `room`.
    let mut sse = Streaming::open(
        &server,
        "/sse?v=1.2&channels=%5B%3Frewind%3D1%5Droom&key=app.k%3Asecret",
        &[],
    )
    .await;
    assert!(sse.until("\r\n\r\n").await.starts_with("HTTP/1.1 200"));
    let first = sse.until("\n\n").await;
    assert!(
        first.contains("\"data\":\"m2\"") && first.contains("\"channel\":\"room\""),
        "{first}"
    );
    // A member enters (realtime): a presence event with an id.
    assert_eq!(enter_on(&server, KEY, "room", 1).await, (None, None));
    let entered = sse.until("\n\n").await;
    assert!(entered.contains("event: presence") && entered.contains("\"clientId\":\"c0\""));
    let id = entered
        .lines()
        .find_map(|l| l.strip_prefix("id: "))
        .expect("an id")
        .to_owned();
    drop(sse);

    // Missed: a message, then two members entering from another
    // connection. Resuming gets exactly those, then live.
    let r = post_json(
        &server,
        "/channels/room/messages",
        &auth,
        &json!({"data": "m3"}),
    )
    .await;
    assert_eq!(r.status, 201);
    assert_eq!(enter_on(&server, KEY, "room", 2).await, (None, None));
    let mut sse = Streaming::open(
        &server,
        "/sse?v=1.2&channels=room",
        &[("Authorization", &auth), ("Last-Event-ID", &id)],
    )
    .await;
    sse.until("\r\n\r\n").await;
    let r = post_json(
        &server,
        "/channels/room/messages",
        &auth,
        &json!({"data": "m4"}),
    )
    .await;
    assert_eq!(r.status, 201);
    let text = sse.until("\"data\":\"m4\"").await;
    let events: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(
        events,
        ["message", "presence", "presence", "message"],
        "{text}"
    );
    assert!(
        text.contains("\"data\":\"m3\"") && !text.contains("\"m2\""),
        "{text}"
    );
    assert!(text.contains("\"clientId\":\"c0\"") && text.contains("\"clientId\":\"c1\""));
    server.shutdown().await;
}

#[tokio::test]
async fn streams_refused_before_streaming_are_plain_http_errors() {
    let server = start().await;
    let cases = [
        ("/sse?channels=a&key=app.k%3Asecret", 400, 40000),
        ("/sse?v=1.2&key=app.k%3Asecret", 400, 40000),
        ("/sse?v=9&channels=a&key=app.k%3Asecret", 400, 40017),
        ("/sse?v=1.2&channels=a", 401, 40106),
        ("/sse?v=1.2&channels=a&key=app.k%3Awrong", 401, 40101),
        (
            "/event-stream?v=1.2&channels=a&accessToken=nope",
            401,
            40140,
        ),
        (
            "/sse?v=1.2&channels=%5B%3Frewind%3Dnever%5Da&key=app.k%3Asecret",
            400,
            40003,
        ),
    ];
    for (path, status, code) in cases {
        let r = get(&server, path, "").await;
        assert_eq!((r.status, r.error_code()), (status, code), "{path}");
    }
    server.shutdown().await;
}

/// A unique temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir =
            std::env::temp_dir().join(format!("ably-local-{name}-{}-{nanos}", std::process::id()));
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn start_in(dir: &TempDir, keys: Vec<String>) -> Server {
    Server::start(Config {
        keys,
        data_dir: Some(dir.0.clone()),
        ..Config::default()
    })
    .await
    .expect("server")
}

fn serials(r: &Resp) -> Vec<String> {
    r.json()
        .as_array()
        .expect("a list")
        .iter()
        .map(|m| m["serial"].as_str().expect("serial").to_owned())
        .collect()
}

#[tokio::test]
async fn test_history_apps_and_serials_survive_a_restart_with_a_data_dir() {
    let dir = TempDir::new("restart");
    let server = start_in(&dir, vec![KEY.into()]).await;
    let auth = basic(KEY);
    for i in 0..3 {
        let r = post_json(
            &server,
            "/channels/kept/messages",
            &auth,
            &json!({"name": "m", "data": format!("before {i}")}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    }
    // An app made by POST /apps, with a persisted namespace.
    let r = post_json(
        &server,
        "/apps",
        "",
        &json!({
            "keys": [{}],
            "namespaces": [{"id": "persisted", "persisted": true}],
            "limits": {"message": {"maxSize": 50}}
        }),
    )
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let made = r.json()["keys"][0]["keyStr"]
        .as_str()
        .expect("keyStr")
        .to_owned();
    let made_auth = basic(&made);
    let r = post_json(
        &server,
        "/channels/persisted:log/messages",
        &made_auth,
        &json!({"name": "p", "data": "kept long"}),
    )
    .await;
    assert_eq!(r.status, 201);
    let r = get(&server, "/channels/kept/messages?direction=forwards", &auth).await;
    let before = serials(&r);
    assert_eq!(before.len(), 3);
    server.shutdown().await;

    // Same dir, only the --key app named: the POST /apps key works too.
    let server = start_in(&dir, vec![KEY.into()]).await;
    let r = get(&server, "/channels/kept/messages?direction=forwards", &auth).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let data: Vec<Value> = r
        .json()
        .as_array()
        .expect("a list")
        .iter()
        .map(|m| m["data"].clone())
        .collect();
    assert_eq!(
        data,
        vec![json!("before 0"), json!("before 1"), json!("before 2")]
    );
    assert_eq!(serials(&r), before);
    let r = get(&server, "/channels/persisted:log/messages", &made_auth).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()[0]["data"], "kept long");
    // Its limits were kept too.
    let r = post_json(
        &server,
        "/channels/persisted:log/messages",
        &made_auth,
        &json!({"data": "x".repeat(60)}),
    )
    .await;
    assert_eq!((r.status, r.error_code()), (400, 40009));

    // New serials sort after the old ones; untilAttach by an old serial
    // still reads the old messages only.
    let r = post_json(
        &server,
        "/channels/kept/messages",
        &auth,
        &json!({"name": "m", "data": "after"}),
    )
    .await;
    assert_eq!(r.status, 201);
    let r = get(&server, "/channels/kept/messages?direction=forwards", &auth).await;
    let after = serials(&r);
    assert_eq!(after.len(), 4);
    assert_eq!(after[..3], before[..]);
    assert!(after[3] > before[2], "{after:?}");
    let until = before[2].rsplit_once(':').map_or("", |(s, _)| s);
    let r = get(
        &server,
        &format!("/channels/kept/messages?from_serial={until}"),
        &auth,
    )
    .await;
    assert_eq!(serials(&r).len(), 3);
    server.shutdown().await;
}

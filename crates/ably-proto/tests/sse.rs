//! The I/O-free consumer of Ably's SSE and raw HTTP streaming API
//! (`ably_proto::sse`): the SSE parser against the format's rules, the
//! JSON-lines parser, envelope decoding with ciphers (the ably-common
//! crypto vectors, RSL5, RSL6), stream URLs, and the session's resume and
//! retry policy on a fake clock (RTB1).

use std::path::PathBuf;
use std::time::Duration;

use ably_proto::client::{ClientOptions, HttpResponse, Instant};
use ably_proto::sse::{
    Ciphers, Decoded, Item, LineItem, LinesParser, Next, RawData, RawEvent, Rewind, SessionConfig,
    SseEvent, SseItem, SseParser, SseSession, StreamAuth, StreamFormat, StreamParams,
    check_channels, decode_event, stream_url,
};
use ably_proto::{CipherParams, Data, PresenceAction};
use serde_json::{Value, json};

fn parse(chunks: &[&[u8]]) -> Vec<SseItem> {
    let mut p = SseParser::new();
    let mut out = Vec::new();
    for c in chunks {
        p.feed(c, &mut out).expect("parses");
    }
    out
}

fn events(chunks: &[&[u8]]) -> Vec<SseEvent> {
    parse(chunks)
        .into_iter()
        .filter_map(|i| match i {
            SseItem::Event(e) => Some(e),
            _ => None,
        })
        .collect()
}

fn ev(event: &str, data: &str, id: Option<&str>) -> SseEvent {
    SseEvent {
        event: event.into(),
        data: data.into(),
        id: id.map(Into::into),
    }
}

#[test]
fn sse_multi_line_data_is_joined_with_newlines() {
    assert_eq!(
        events(&[b"data: YHOO\ndata: +2\ndata: 10\n\n"]),
        [ev("message", "YHOO\n+2\n10", None)]
    );
}

#[test]
fn sse_ids_persist_until_reset_and_one_space_is_dropped() {
    let got = events(&[
        b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n",
    ]);
    assert_eq!(
        got,
        [
            ev("message", "first event", Some("1")),
            ev("message", "second event", None),
            ev("message", " third event", None),
        ]
    );
    // An id without an `id:` line of its own keeps the last one.
    let got = events(&[b"id: 7\ndata: a\n\ndata: b\n\n"]);
    assert_eq!(got[1].id.as_deref(), Some("7"));
    // An id holding NUL is ignored.
    let got = events(&[b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n"]);
    assert_eq!(got[1].id.as_deref(), Some("1"));
}

#[test]
fn sse_empty_data_lines_dispatch_and_a_trailing_event_without_blank_line_is_dropped() {
    assert_eq!(
        events(&[b"data\n\ndata\ndata\n\ndata:"]),
        [ev("message", "", None), ev("message", "\n", None)]
    );
    // An event with no data is not dispatched, and its name does not leak
    // into the next one.
    assert_eq!(
        events(&[b"event: presence\n\ndata: x\n\n"]),
        [ev("message", "x", None)]
    );
}

#[test]
fn sse_cr_lf_and_crlf_line_endings_even_split_across_chunks() {
    let want = [ev("error", "x\ny", Some("9"))];
    assert_eq!(
        events(&[b"event: error\rid: 9\rdata: x\rdata: y\r\r"]),
        want
    );
    assert_eq!(
        events(&[b"event: error\r\nid: 9\r\ndata: x\r\ndata: y\r\n\r\n"]),
        want
    );
    // A CRLF split between chunks is one line ending, not two.
    assert_eq!(
        events(&[
            b"event: error\r",
            b"\nid: 9\r",
            b"\ndata: x\r",
            b"\ndata: y\r",
            b"\n\r",
            b"\n"
        ]),
        want
    );
}

#[test]
fn sse_comments_retry_unknown_fields_bom_and_bad_utf8() {
    let got = parse(&[
        b"\xEF\xBB",
        b"\xBFdata: a\n\n:keepalive\nretry: 3000\nretry: 10x\nfoo: bar\nfoo\ndata: \xFF\n\n\xEF\xBB\xBFdata: c\n\n",
    ]);
    assert_eq!(
        got,
        [
            SseItem::Event(ev("message", "a", None)),
            SseItem::Comment("keepalive".into()),
            SseItem::Retry(3000),
            SseItem::Event(ev("message", "\u{FFFD}", None)),
            // A BOM after the start is not special: the line's field is
            // then "\u{FEFF}data", unknown, and the event has no data.
        ]
    );
}

#[test]
fn sse_limits_refuse_long_lines_and_events_with_40009_until_reset() {
    let mut p = SseParser::with_limits(16, 20);
    let mut out = Vec::new();
    p.feed(b"data: 0123456789\n", &mut out)
        .expect("16 bytes fit");
    let e = p
        .feed(b"data: 0123456789\n", &mut out)
        .expect_err("22 bytes of data do not");
    assert_eq!(e.code, 40009);
    assert!(e.message.contains("20 bytes"), "{e}");
    assert_eq!(p.feed(b"\n", &mut out), Err(e), "the error sticks");
    assert!(out.is_empty());
    p.reset();
    // A line that never ends is refused once it passes the limit, in
    // whatever chunks it comes.
    for _ in 0..16 {
        p.feed(b"d", &mut out).expect("up to the limit");
    }
    assert_eq!(p.buffered(), 16);
    assert_eq!(p.feed(b"d", &mut out).map_err(|e| e.code), Err(40009));
    assert_eq!(p.buffered(), 0, "the buffer is released");
    p.reset();
    p.feed(b"data: ok\n\n", &mut out)
        .expect("usable after reset");
    assert_eq!(out, [SseItem::Event(ev("message", "ok", None))]);
}

#[test]
fn json_lines_envelopes_keepalives_and_errors() {
    let mut p = LinesParser::new();
    let mut out = Vec::new();
    p.feed(
        b"{\"event\":\"message\",\"data\":{\"channel\":\"c\",\"data\":\"x\"},\"id\":\"1@1:000\"}\n\n{\"event\":\"error\",\"data\":{\"code\":40142}}\n",
        &mut out,
    )
    .expect("parses");
    assert_eq!(out.len(), 3);
    let LineItem::Event(first) = &out[0] else {
        panic!("not an event: {:?}", out[0])
    };
    assert_eq!(first.id.as_deref(), Some("1@1:000"));
    assert_eq!(
        first.data,
        RawData::Json(json!({"channel": "c", "data": "x"}))
    );
    assert_eq!(out[1], LineItem::Keepalive);

    let e = p.feed(b"not json\n", &mut out).expect_err("bad line");
    assert_eq!(e.code, 80013);
    assert_eq!(p.feed(b"\n", &mut out).map_err(|e| e.code), Err(80013));

    let mut p = LinesParser::with_separator("\n", 8);
    assert_eq!(
        p.feed(b"{\"event\":\"message\"}\n", &mut Vec::new())
            .map_err(|e| e.code),
        Err(40009)
    );
    let mut p = LinesParser::with_separator("\n", 8);
    assert_eq!(
        p.feed(b"012345678", &mut Vec::new()).map_err(|e| e.code),
        Err(40009),
        "an unfinished line over the limit"
    );
}

fn sse_raw(data: Value) -> RawEvent {
    RawEvent {
        event: "message".into(),
        data: RawData::Text(data.to_string()),
        id: Some("id-1".into()),
    }
}

fn vector(name: &str) -> Value {
    let dir = std::env::var_os("ABLY_COMMON_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ably-common"),
        PathBuf::from,
    );
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read vector file {}: {e}", path.display()));
    serde_json::from_str(&text).expect("vector file is JSON")
}

#[test]
fn envelopes_decode_with_the_channel_cipher_from_the_ably_common_vectors_rsl5_rsl6() {
    for file in ["crypto-data-128.json", "crypto-data-256.json"] {
        let v = vector(file);
        let key = v["key"].as_str().expect("key");
        let cipher = CipherParams::from_base64_key(key).expect("cipher");
        let ciphers = Ciphers {
            channels: [("secret".to_owned(), cipher)].into(),
            ..Ciphers::default()
        };
        for item in v["items"].as_array().expect("items") {
            let mut encrypted = item["encrypted"].clone();
            encrypted["channel"] = json!("secret");
            let Decoded::Received(got) =
                decode_event(sse_raw(encrypted.clone()), &ciphers).expect("decodes")
            else {
                panic!("not a message")
            };
            assert_eq!(got.decode_error, None, "{file}");
            assert_eq!(got.channel, "secret");
            assert_eq!(got.id.as_deref(), Some("id-1"));
            let mut want: ably_proto::Message =
                serde_json::from_value(item["encoded"].clone()).expect("message");
            want.decode(None).expect("plain decode");
            let m = got.message().expect("a message");
            assert_eq!(
                (&m.name, &m.data, &m.encoding),
                (&want.name, &want.data, &None)
            );

            // On another channel (no cipher) the payload stays encrypted,
            // the error says why, and the message is still delivered (RSL6b).
            encrypted["channel"] = json!("plain");
            let Decoded::Received(got) =
                decode_event(sse_raw(encrypted), &ciphers).expect("decodes")
            else {
                panic!("not a message")
            };
            assert_eq!(got.decode_error.as_ref().map(|e| e.code), Some(40013));
            let enc = got.message().and_then(|m| m.encoding.clone());
            assert!(enc.is_some_and(|e| e.contains("cipher+aes")));
        }
    }
}

#[test]
fn presence_error_heartbeat_and_bad_envelopes() {
    let ciphers = Ciphers::default();
    let presence = RawEvent {
        event: "presence".into(),
        data: RawData::Json(json!({
            "channel": "room", "action": 2, "clientId": "ann",
            "data": "eyJhIjoxfQ==", "encoding": "json/base64"
        })),
        id: None,
    };
    let Decoded::Received(got) = decode_event(presence, &ciphers).expect("presence") else {
        panic!("not presence")
    };
    let p = got.presence().expect("presence");
    assert!(matches!(got.item, Item::Presence(_)));
    assert_eq!(p.action, PresenceAction::Enter);
    assert_eq!(p.data, Data::json(json!({"a": 1})));

    let error = RawEvent {
        event: "error".into(),
        data: RawData::Text(r#"{"code":40142,"statusCode":401,"message":"token expired"}"#.into()),
        id: None,
    };
    match decode_event(error, &ciphers) {
        Ok(Decoded::Error(e)) => assert_eq!((e.code, e.status_code), (40142, Some(401))),
        other => panic!("{other:?}"),
    }
    let wrapped = RawEvent {
        event: "error".into(),
        data: RawData::Json(json!({"error": {"code": 40160, "statusCode": 401}})),
        id: None,
    };
    assert!(matches!(decode_event(wrapped, &ciphers), Ok(Decoded::Error(e)) if e.code == 40160));
    let beat = RawEvent {
        event: "heartbeat".into(),
        data: RawData::Text(String::new()),
        id: None,
    };
    assert_eq!(decode_event(beat, &ciphers), Ok(Decoded::Heartbeat));

    for bad in [
        RawData::Text("{not json".into()),
        RawData::Text("\"a string\"".into()),
        RawData::Json(json!({"name": "no channel"})),
        RawData::Json(json!({"channel": "c", "timestamp": "soon"})),
    ] {
        let raw = RawEvent {
            event: "message".into(),
            data: bad.clone(),
            id: None,
        };
        assert_eq!(
            decode_event(raw, &ciphers).map_err(|e| e.code),
            Err(80013),
            "{bad:?}"
        );
    }
}

fn local_opts(tls: bool) -> ClientOptions {
    let mut opts = ClientOptions::with_key("app.key:secret");
    opts.endpoint = "127.0.0.1".into();
    opts.port = Some(8080);
    opts.tls = tls;
    opts
}

#[test]
fn stream_urls_carry_the_params() {
    let mut params = StreamParams {
        format: StreamFormat::Sse,
        channels: vec!["chat:1".into(), "news".into()],
        auth: StreamAuth::Key("app.key:s/cr=t".into()),
        last_event: None,
        rewind: Some(Rewind::Count(10)),
        heartbeats: false,
    };
    assert_eq!(
        stream_url(&local_opts(false), "127.0.0.1", &params),
        "http://127.0.0.1:8080/sse?channels=chat%3A1,news&v=1.2&key=app.key%3As%2Fcr%3Dt&rewind=10"
    );
    params.format = StreamFormat::JsonLines;
    params.auth = StreamAuth::Token("tok en".into());
    params.last_event = Some("1@2:003".into());
    params.rewind = Some(Rewind::Period(Duration::from_secs(30)));
    params.heartbeats = true;
    assert_eq!(
        stream_url(&local_opts(true), "::1", &params),
        "https://[::1]:8080/event-stream?channels=chat%3A1,news&v=1.2&accessToken=tok%20en&lastEvent=1%402%3A003&heartbeats=true"
    );
    assert_eq!(
        Rewind::Period(Duration::from_millis(1500)).param(),
        "1500ms"
    );
    assert_eq!(format!("{:?}", params.auth), "Token(***)");
    assert_eq!(
        format!("{:?}", StreamAuth::Key("a.b:secret".into())),
        "Key(a.b:***)"
    );

    for bad in [vec![], vec!["a,b".to_owned()], vec![String::new()]] {
        assert_eq!(check_channels(&bad).map_err(|e| e.code), Err(40010));
    }
}

fn session(config: SessionConfig) -> SseSession {
    SseSession::new(
        &local_opts(false),
        StreamAuth::Key("app.key:secret".into()),
        config,
        [5; 32],
    )
    .expect("session")
}

fn ok() -> HttpResponse {
    HttpResponse {
        status: 200,
        ..HttpResponse::default()
    }
}

fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn message_event(id: &str, channel: &str, name: &str) -> String {
    let data = json!({"channel": channel, "name": name, "data": name});
    format!("id: {id}\nevent: message\ndata: {data}\n\n")
}

#[test]
fn the_session_resumes_after_the_last_event_and_drops_the_rewind() {
    let mut config = SessionConfig::new(["a"]);
    config.rewind = Some(Rewind::Count(5));
    let mut s = session(config);
    let first = s.request();
    assert!(first.url.ends_with("&rewind=5"), "{}", first.url);
    assert!(
        first
            .headers
            .contains(&("Accept".to_owned(), "text/event-stream".to_owned()))
    );
    s.on_response(&ok(), at(0)).expect("open");
    let mut got = Vec::new();
    let stream = format!(
        "{}{}:keepalive\n\n",
        message_event("e@1:000", "a", "one"),
        message_event("e@2:000", "a", "two")
    );
    // Half of a third event, then the drop: it is not delivered, and the
    // resume point is the last complete one.
    let partial = message_event("e@3:000", "a", "three");
    s.on_bytes(stream.as_bytes(), &mut got).expect("events");
    s.on_bytes(&partial.as_bytes()[..20], &mut got)
        .expect("half");
    let names: Vec<_> = got
        .iter()
        .filter_map(|r| r.message()?.name.clone())
        .collect();
    assert_eq!(names, ["one", "two"]);
    assert_eq!(s.last_event_id(), Some("e@2:000"));
    assert_eq!(
        s.on_closed(None, at(60_000)),
        Next::Reconnect(Duration::ZERO)
    );
    let again = s.request();
    assert!(
        again.url.ends_with("&lastEvent=e%402%3A000"),
        "{}",
        again.url
    );
    assert!(!again.url.contains("rewind"));
    // The new stream starts clean: no leftover of the half event.
    s.on_response(&ok(), at(60_000)).expect("reopen");
    let mut got = Vec::new();
    s.on_bytes(partial.as_bytes(), &mut got).expect("whole");
    assert_eq!(got.len(), 1);
    assert_eq!(s.last_event_id(), Some("e@3:000"));
}

#[test]
fn the_session_starts_from_a_given_event_id() {
    let mut config = SessionConfig::new(["a", "b"]);
    config.last_event = Some("xyz".into());
    config.rewind = Some(Rewind::Count(5));
    config.format = StreamFormat::JsonLines;
    let s = session(config);
    let r = s.request();
    assert!(r.url.contains("/event-stream?channels=a,b&"));
    assert!(r.url.ends_with("&lastEvent=xyz"));
    assert!(
        r.headers
            .contains(&("Accept".to_owned(), "application/json".to_owned()))
    );
}

#[test]
fn retries_back_off_rtb1_and_give_up_after_the_limit() {
    let mut config = SessionConfig::new(["a"]);
    config.retry_delay = Duration::from_millis(1000);
    config.give_up_after = Some(Duration::from_secs(30));
    let mut s = session(config);
    let down = || Some(ably_proto::ErrorInfo::new(80000, 503, "refused"));
    // The first retry is at once, then RTB1 x jitter in [0.8, 1].
    let mut now = 0;
    assert_eq!(
        s.on_closed(down(), at(now)),
        Next::Reconnect(Duration::ZERO)
    );
    for coefficient in [1.0, 4.0 / 3.0, 5.0 / 3.0, 2.0, 2.0, 2.0] {
        let Next::Reconnect(d) = s.on_closed(down(), at(now)) else {
            panic!("stopped early")
        };
        let ms = d.as_secs_f64() * 1000.0;
        assert!(
            ms >= 800.0 * coefficient - 1.0 && ms <= 1000.0 * coefficient + 1.0,
            "{ms} ms for coefficient {coefficient}"
        );
        now += d.as_millis() as u64;
    }
    // A 5xx response is retried like a network error.
    let busy = HttpResponse {
        status: 503,
        headers: vec![("content-type".into(), "application/json".into())],
        body: br#"{"error":{"code":50300,"statusCode":503,"message":"busy"}}"#.to_vec(),
    };
    let refusal = s.on_response(&busy, at(now)).expect_err("refused");
    assert_eq!(refusal.code, 50300);
    assert!(matches!(
        s.on_closed(Some(refusal), at(now)),
        Next::Reconnect(_)
    ));
    match s.on_closed(down(), at(30_000)) {
        Next::Stop(e) => {
            assert_eq!(e.code, 80002);
            assert_eq!(e.cause.map(|c| c.code), Some(80000));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_stream_that_stayed_up_resets_the_backoff_and_retry_fields_set_the_delay() {
    let mut s = session(SessionConfig::new(["a"]));
    assert_eq!(s.on_closed(None, at(0)), Next::Reconnect(Duration::ZERO));
    // Opens, drops at once: not long enough to count as up.
    s.on_response(&ok(), at(0)).expect("open");
    let Next::Reconnect(d) = s.on_closed(None, at(10)) else {
        panic!()
    };
    assert!(d >= Duration::from_millis(1600), "{d:?}");
    // The service asks for 100 ms, and the stream stays up longer.
    s.on_response(&ok(), at(10_000)).expect("open");
    s.on_bytes(b"retry: 100\n\n", &mut Vec::new())
        .expect("retry");
    assert_eq!(
        s.on_closed(None, at(10_200)),
        Next::Reconnect(Duration::ZERO)
    );
    let Next::Reconnect(d) = s.on_closed(None, at(10_200)) else {
        panic!()
    };
    assert!(d <= Duration::from_millis(100), "{d:?}");
}

#[test]
fn fatal_errors_stop_the_session() {
    // A refused request: the Ably error of the body.
    let mut s = session(SessionConfig::new(["a"]));
    let refused = HttpResponse {
        status: 401,
        headers: vec![("content-type".into(), "application/json".into())],
        body: br#"{"error":{"code":40101,"statusCode":401,"message":"bad key"}}"#.to_vec(),
    };
    let e = s.on_response(&refused, at(0)).expect_err("refused");
    assert_eq!(e.code, 40101);
    assert_eq!(s.on_closed(Some(e.clone()), at(0)), Next::Stop(e));

    // A token that expires mid-stream: the error event ends it.
    let mut s = session(SessionConfig::new(["a"]));
    s.on_response(&ok(), at(0)).expect("open");
    let mut got = Vec::new();
    let stream = format!(
        "{}event: error\ndata: {{\"code\":40142,\"statusCode\":401,\"message\":\"token expired\"}}\n\n{}",
        message_event("1", "a", "before"),
        message_event("2", "a", "after")
    );
    let e = s
        .on_bytes(stream.as_bytes(), &mut got)
        .expect_err("error event");
    assert_eq!(e.code, 40142);
    assert_eq!(got.len(), 1, "nothing after the error event");
    assert_eq!(s.on_bytes(b"more", &mut got), Err(e.clone()));
    assert_eq!(s.on_closed(None, at(100)), Next::Stop(e));

    // A service error event (5xx) is retried; so are 408 and 429.
    let mut s = session(SessionConfig::new(["a"]));
    s.on_response(&ok(), at(0)).expect("open");
    let e = s
        .on_bytes(
            b"event: error\ndata: {\"code\":50000,\"statusCode\":500}\n\n",
            &mut got,
        )
        .expect_err("error event");
    assert_eq!(e.code, 50000);
    assert!(matches!(s.on_closed(None, at(5_000)), Next::Reconnect(_)));
    for status in [408, 429] {
        let e = ably_proto::ErrorInfo::new(u32::from(status) * 100, status, "later");
        assert!(matches!(
            s.on_closed(Some(e), at(5_000)),
            Next::Reconnect(_)
        ));
    }

    // An envelope that can not be read ends the stream (80013), and
    // another try may fare better.
    let mut s = session(SessionConfig::new(["a"]));
    s.on_response(&ok(), at(0)).expect("open");
    let e = s
        .on_bytes(b"data: {\"no\": \"channel\"}\n\n", &mut got)
        .expect_err("bad envelope");
    assert_eq!(e.code, 80013);
    assert!(matches!(s.on_closed(None, at(5_000)), Next::Reconnect(_)));

    // Bytes that break the limits stop it.
    let mut config = SessionConfig::new(["a"]);
    config.max_line = 10;
    let mut s = session(config);
    s.on_response(&ok(), at(0)).expect("open");
    let e = s
        .on_bytes(b"data: this line is too long\n", &mut got)
        .expect_err("too long");
    assert_eq!(e.code, 40009);
    assert_eq!(s.on_closed(None, at(0)), Next::Stop(e));
}

#[test]
fn bad_channel_lists_are_refused() {
    let e = SseSession::new(
        &local_opts(false),
        StreamAuth::Key("k".into()),
        SessionConfig::new(Vec::<String>::new()),
        [0; 32],
    )
    .expect_err("no channels");
    assert_eq!(e.code, 40010);
}

//! The hub's REST calls and streams on a fake clock: history retention
//! (2 minutes, 72 hours in persisted namespaces), keepalives, and a token
//! that expires while streaming.

use ably_local::hub::{
    HistoryKind, Hub, HubConfig, Input, Now, Output, RestCredentials, StreamEventKind, StreamItem,
    StreamRequest, TransportId,
};
use ably_proto::Message;
use serde_json::json;

const KEY: &str = "app.k:secret";
const T0: i64 = 1_700_000_000_000;

fn at(ms: u64) -> Now {
    Now {
        mono_ms: ms,
        wall_ms: T0 + ms as i64,
    }
}

fn creds(query: &str) -> RestCredentials {
    RestCredentials {
        authorization: None,
        query: format!("key={}&{query}", KEY.replace(':', "%3A")),
    }
}

fn hub() -> Hub {
    let mut hub = Hub::new(HubConfig::default());
    hub.add_app_with_key("app", KEY).expect("key");
    hub
}

fn drain(hub: &mut Hub) -> Vec<Output> {
    std::iter::from_fn(|| hub.poll_output()).collect()
}

fn history_len(hub: &mut Hub, now: Now, channel: &str, query: &str) -> usize {
    hub.rest_history(now, &creds(query), channel, HistoryKind::Messages)
        .expect("history")
        .0
        .items
        .len()
}

#[test]
fn history_is_kept_two_minutes_or_72_hours_in_persisted_namespaces() {
    let mut hub = hub();
    let app = hub
        .create_app(
            at(0),
            &json!({"namespaces": [{"id": "persisted", "persisted": true}]}),
        )
        .expect("app");
    let key = app["keys"][0]["keyStr"].as_str().expect("key").to_owned();
    let c = RestCredentials {
        authorization: None,
        query: format!("key={}", key.replace(':', "%3A")),
    };
    for ch in ["plain", "persisted:log"] {
        hub.rest_publish(at(0), &c, ch, vec![Message::new("n", "d")])
            .expect("publish");
    }
    let len = |hub: &mut Hub, now: Now, ch: &str| {
        hub.rest_history(now, &c, ch, HistoryKind::Messages)
            .expect("history")
            .0
            .items
            .len()
    };
    assert_eq!(len(&mut hub, at(119_000), "plain"), 1);
    assert_eq!(len(&mut hub, at(121_000), "plain"), 0);
    let hours = 3_600_000;
    assert_eq!(len(&mut hub, at(71 * hours), "persisted:log"), 1);
    hub.handle(at(71 * hours), Input::Timeout);
    assert_eq!(len(&mut hub, at(73 * hours), "persisted:log"), 0);
}

#[test]
fn history_is_capped_per_channel() {
    let mut hub = hub();
    for i in 0..1100 {
        hub.rest_publish(at(i), &creds(""), "busy", vec![Message::new("n", "d")])
            .expect("publish");
    }
    drain(&mut hub);
    let page = hub
        .rest_history(
            at(1100),
            &creds("limit=1000"),
            "busy",
            HistoryKind::Messages,
        )
        .expect("history")
        .0;
    assert_eq!(page.items.len(), 1000);
    assert!(page.next.is_none(), "the oldest 100 were dropped");
    assert_eq!(history_len(&mut hub, at(1100), "busy", ""), 100);
}

#[test]
fn streams_get_keepalives_heartbeats_and_end_when_the_token_expires() {
    let mut hub = hub();
    let token = hub
        .issue_token(
            at(0),
            KEY,
            &ably_proto::auth::TokenParams {
                ttl: Some(40_000),
                ..Default::default()
            },
        )
        .expect("token");
    let (a, b) = (TransportId(1), TransportId(2));
    hub.handle(
        at(0),
        Input::OpenStream {
            transport: a,
            request: StreamRequest {
                query: format!("v=1.2&channels=x&accessToken={}", token.token),
                ..Default::default()
            },
        },
    );
    hub.handle(
        at(0),
        Input::OpenStream {
            transport: b,
            request: StreamRequest {
                query: "v=1.2&channels=x&heartbeats=true&key=app.k%3Asecret".into(),
                ..Default::default()
            },
        },
    );
    let opened = drain(&mut hub);
    assert_eq!(opened.len(), 2);
    assert_eq!(hub.stream_count(), 2);

    hub.rest_publish(at(1000), &creds(""), "x", vec![Message::new("n", "live")])
        .expect("publish");
    let out = drain(&mut hub);
    assert_eq!(out.len(), 2, "one event per stream: {out:?}");

    // 15 s: a keepalive for `a`, a heartbeat event for `b`.
    hub.handle(at(15_000), Input::Timeout);
    let out = drain(&mut hub);
    assert!(out.contains(&Output::Stream {
        transport: a,
        item: StreamItem::Keepalive
    }));
    assert!(out.iter().any(
        |o| matches!(o, Output::Stream { transport, item: StreamItem::Event(e) }
        if *transport == b && e.event == StreamEventKind::Heartbeat)
    ));

    // 40 s: `a`'s token expires: an error event 40142, then the end.
    hub.handle(at(40_000), Input::Timeout);
    let out = drain(&mut hub);
    let error = out.iter().find_map(|o| match o {
        Output::Stream {
            transport,
            item: StreamItem::Event(e),
        } if *transport == a && e.event == StreamEventKind::Error => Some(e.data.clone()),
        _ => None,
    });
    assert_eq!(error.map(|d| d["code"].clone()), Some(json!(40142)));
    assert!(out.contains(&Output::Close { transport: a }));
    assert_eq!(hub.stream_count(), 1);

    // The other stream lives on; closing it forgets it.
    hub.handle(at(41_000), Input::Closed { transport: b });
    assert_eq!(hub.stream_count(), 0);
}

/// The events a stream got: (id, channel, data).
fn stream_events(out: &[Output], t: TransportId) -> Vec<(String, String, String)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Stream {
                transport,
                item: StreamItem::Event(e),
            } if *transport == t && e.event == StreamEventKind::Message => Some((
                e.id.clone().unwrap_or_default(),
                e.data["channel"].as_str().unwrap_or_default().to_owned(),
                e.data["data"].as_str().unwrap_or_default().to_owned(),
            )),
            _ => None,
        })
        .collect()
}

fn open_stream(hub: &mut Hub, now: Now, t: TransportId, query: &str) -> Vec<Output> {
    hub.handle(
        now,
        Input::OpenStream {
            transport: t,
            request: StreamRequest {
                query: format!("v=1.2&key=app.k%3Asecret&{query}"),
                ..Default::default()
            },
        },
    );
    drain(hub)
}

#[test]
fn a_multi_channel_stream_resumes_every_channel_from_its_own_position() {
    let mut hub = hub();
    let publish = |hub: &mut Hub, ms: u64, channel: &str, data: &[&str]| {
        let messages = data.iter().map(|d| Message::new("n", *d)).collect();
        hub.rest_publish(at(ms), &creds(""), channel, messages)
            .expect("publish");
    };
    publish(&mut hub, 0, "b", &["b0"]);
    let s1 = TransportId(1);
    open_stream(&mut hub, at(1), s1, "channels=a,b");
    publish(&mut hub, 10, "a", &["a1", "a2"]);
    publish(&mut hub, 20, "b", &["b1"]);
    let live = stream_events(&drain(&mut hub), s1);
    let data: Vec<&str> = live.iter().map(|(_, _, d)| d.as_str()).collect();
    assert_eq!(data, ["a1", "a2", "b1"]);
    hub.handle(at(21), Input::Closed { transport: s1 });

    // Away: more on both, one event of two messages.
    publish(&mut hub, 30, "b", &["b2", "b3"]);
    publish(&mut hub, 40, "a", &["a3"]);

    // Resume after the last event: both channels' missed messages, once.
    let last = live[2].0.clone();
    let s2 = TransportId(2);
    let got = stream_events(
        &open_stream(
            &mut hub,
            at(50),
            s2,
            &format!("channels=a,b&lastEvent={last}"),
        ),
        s2,
    );
    let data: Vec<&str> = got.iter().map(|(_, _, d)| d.as_str()).collect();
    assert_eq!(data, ["a3", "b2", "b3"]);
    publish(&mut hub, 60, "a", &["a4"]);
    let data: Vec<String> = stream_events(&drain(&mut hub), s2)
        .into_iter()
        .map(|(_, _, d)| d)
        .collect();
    assert_eq!(data, ["a4"]);

    // Resume after the first event (a1): the rest of a's event, everything
    // later on both, and b0 (before the stream began) is not replayed.
    let first = live[0].0.clone();
    let s3 = TransportId(3);
    let got = stream_events(
        &open_stream(
            &mut hub,
            at(70),
            s3,
            &format!("channels=a,b&lastEvent={first}"),
        ),
        s3,
    );
    let data: Vec<&str> = got.iter().map(|(_, _, d)| d.as_str()).collect();
    assert_eq!(data, ["a2", "a3", "a4", "b1", "b2", "b3"]);

    // An id taken mid-replay resumes from there: after b2, only b3.
    let mid = got[4].0.clone();
    let s4 = TransportId(4);
    let got = stream_events(
        &open_stream(
            &mut hub,
            at(80),
            s4,
            &format!("channels=a,b&lastEvent={mid}"),
        ),
        s4,
    );
    let data: Vec<&str> = got.iter().map(|(_, _, d)| d.as_str()).collect();
    assert_eq!(data, ["b3"]);

    // A plain serial id (from a single-channel stream) still resumes its
    // channel; the other channel replays from that message's time.
    let s5 = TransportId(5);
    let single = stream_events(&open_stream(&mut hub, at(90), s5, "channel=a&rewind=2"), s5);
    assert_eq!(single[0].2, "a3");
    assert!(single[0].0.contains('@'), "a plain serial: {}", single[0].0);
    let s6 = TransportId(6);
    let got = stream_events(
        &open_stream(
            &mut hub,
            at(100),
            s6,
            &format!("channels=a,b&lastEvent={}", single[0].0.replace(':', "%3A")),
        ),
        s6,
    );
    let data: Vec<&str> = got.iter().map(|(_, _, d)| d.as_str()).collect();
    assert_eq!(data, ["a4"]);
}

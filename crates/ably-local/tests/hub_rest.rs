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

/// Every message and presence event a stream got: (id, channel, what),
/// `what` being the message data or `action:clientId` of presence.
fn stream_items(out: &[Output], t: TransportId) -> Vec<(String, String, String)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Stream {
                transport,
                item: StreamItem::Event(e),
            } if *transport == t => {
                let what = match e.event {
                    StreamEventKind::Message => e.data["data"].as_str()?.to_owned(),
                    StreamEventKind::Presence => format!(
                        "{}:{}",
                        e.data["action"],
                        e.data["clientId"].as_str().unwrap_or_default()
                    ),
                    _ => return None,
                };
                Some((
                    e.id.clone().unwrap_or_default(),
                    e.data["channel"].as_str().unwrap_or_default().to_owned(),
                    what,
                ))
            }
            _ => None,
        })
        .collect()
}

/// A realtime connection on transport `t`, attached to `channels`.
fn realtime(hub: &mut Hub, now: Now, t: u64, channels: &[&str]) {
    hub.handle(
        now,
        Input::Open {
            transport: TransportId(t),
            request: ably_local::hub::ConnectRequest {
                query: format!("key={KEY}&v=6"),
                authorization: None,
            },
        },
    );
    for c in channels {
        frame(hub, now, t, json!({"action": 10, "channel": c}));
    }
    drain(hub);
}

fn frame(hub: &mut Hub, now: Now, t: u64, pm: serde_json::Value) {
    hub.handle(
        now,
        Input::Frame {
            transport: TransportId(t),
            data: pm.to_string().into_bytes().into(),
        },
    );
}

/// Presence of `client` on `channel` from realtime transport `t`.
fn presence(hub: &mut Hub, now: Now, t: u64, serial: u64, channel: &str, action: u8, client: &str) {
    frame(
        hub,
        now,
        t,
        json!({"action": 14, "channel": channel, "msgSerial": serial,
               "presence": [{"action": action, "clientId": client, "data": "d"}]}),
    );
}

fn publish_at(hub: &mut Hub, now: Now, channel: &str, data: &[&str]) {
    let messages = data.iter().map(|d| Message::new("n", *d)).collect();
    hub.rest_publish(now, &creds(""), channel, messages)
        .expect("publish");
}

fn whats(items: &[(String, String, String)], channel: &str) -> Vec<String> {
    items
        .iter()
        .filter(|(_, c, _)| c == channel)
        .map(|(_, _, w)| w.clone())
        .collect()
}

#[test]
fn a_resume_in_one_millisecond_is_exact_and_replays_presence() {
    // Everything below happens in the same millisecond: only serials tell
    // the events apart.
    let mut hub = hub();
    let now = at(5);
    realtime(&mut hub, now, 100, &["a", "c"]);
    let s1 = TransportId(1);
    open_stream(&mut hub, now, s1, "channels=a,b");
    publish_at(&mut hub, now, "a", &["a1"]);
    presence(&mut hub, now, 100, 0, "a", 2, "x"); // ENTER
    publish_at(&mut hub, now, "b", &["b1"]);
    publish_at(&mut hub, now, "a", &["a2", "a3"]);
    let live = stream_items(&drain(&mut hub), s1);
    let got: Vec<&str> = live.iter().map(|(_, _, w)| w.as_str()).collect();
    assert_eq!(got, ["a1", "2:x", "b1", "a2", "a3"]);
    hub.handle(now, Input::Closed { transport: s1 });

    // Away, still in that millisecond: a message, presence, more messages.
    publish_at(&mut hub, now, "b", &["b2"]);
    presence(&mut hub, now, 100, 1, "a", 4, "x"); // UPDATE
    publish_at(&mut hub, now, "a", &["a4"]);
    drain(&mut hub);
    let missed = [("a", "4:x"), ("a", "a4"), ("b", "b2")];

    // From every id: exactly what came after it on each channel.
    for (k, (id, _, _)) in live.iter().enumerate() {
        let t = TransportId(10 + k as u64);
        let got = stream_items(
            &open_stream(&mut hub, now, t, &format!("channels=a,b&lastEvent={id}")),
            t,
        );
        for channel in ["a", "b"] {
            let mut expected: Vec<String> = live[k + 1..]
                .iter()
                .filter(|(_, c, _)| c == channel)
                .map(|(_, _, w)| w.clone())
                .collect();
            expected.extend(
                missed
                    .iter()
                    .filter(|(c, _)| *c == channel)
                    .map(|(_, w)| (*w).to_owned()),
            );
            assert_eq!(whats(&got, channel), expected, "after #{k} on {channel}");
        }
        hub.handle(now, Input::Closed { transport: t });
    }

    // A channel the earlier stream did not have replays its messages and
    // presence from the id's time on (it sent none of them before).
    publish_at(&mut hub, now, "c", &["c1"]);
    presence(&mut hub, now, 100, 2, "c", 2, "y");
    publish_at(&mut hub, at(4), "c", &["c0 (in the past)"]);
    drain(&mut hub);
    let last = &live[4].0;
    let t = TransportId(30);
    let got = stream_items(
        &open_stream(
            &mut hub,
            now,
            t,
            &format!("channels=a,b,c&lastEvent={last}"),
        ),
        t,
    );
    assert_eq!(whats(&got, "a"), ["4:x", "a4"]);
    assert_eq!(whats(&got, "b"), ["b2"]);
    assert_eq!(whats(&got, "c"), ["c1", "2:y"]);
}

#[test]
fn a_resume_past_trimmed_history_sends_what_is_kept_after_the_position() {
    let mut hub = Hub::new(HubConfig {
        retention: ably_local::hub::Retention {
            max_messages: 3,
            ..Default::default()
        },
        ..HubConfig::default()
    });
    hub.add_app_with_key("app", KEY).expect("key");
    let s1 = TransportId(1);
    open_stream(&mut hub, at(0), s1, "channel=t");
    publish_at(&mut hub, at(1), "t", &["m1"]);
    let id = stream_items(&drain(&mut hub), s1)[0].0.clone();
    assert!(id.contains('@'), "a single-channel id is a serial: {id}");
    hub.handle(at(2), Input::Closed { transport: s1 });
    for i in 2..=6 {
        publish_at(&mut hub, at(i), "t", &[&format!("m{i}")]);
    }
    drain(&mut hub);
    // m2 and m3 were dropped (3 kept): the rest, and nothing before.
    let s2 = TransportId(2);
    let got = stream_items(
        &open_stream(&mut hub, at(7), s2, &format!("channel=t&lastEvent={id}")),
        s2,
    );
    assert_eq!(whats(&got, "t"), ["m4", "m5", "m6"]);
}

#[test]
fn channel_params_in_names_rewind_each_channel() {
    let mut hub = hub();
    for (ms, n) in [(0, 1), (1_000, 2), (2_000, 3)] {
        for channel in ["a", "b", "c"] {
            publish_at(&mut hub, at(ms), channel, &[&format!("{channel}{n}")]);
        }
    }
    drain(&mut hub);
    let s1 = TransportId(1);
    let got = stream_items(
        &open_stream(
            &mut hub,
            at(2_500),
            s1,
            "channels=%5B%3Frewind%3D1%5Da,[?rewind=2s]b,c&rewind=3",
        ),
        s1,
    );
    assert_eq!(whats(&got, "a"), ["a3"]);
    assert_eq!(whats(&got, "b"), ["b2", "b3"]);
    assert_eq!(whats(&got, "c"), ["c1", "c2", "c3"]);
    // The stream is on the channels themselves: live messages and ids.
    publish_at(&mut hub, at(2_600), "a", &["a4"]);
    let live = stream_items(&drain(&mut hub), s1);
    assert_eq!(whats(&live, "a"), ["a4"]);
    hub.handle(at(2_700), Input::Closed { transport: s1 });
    publish_at(&mut hub, at(2_800), "b", &["b4"]);
    let s2 = TransportId(2);
    let got = stream_items(
        &open_stream(
            &mut hub,
            at(2_900),
            s2,
            &format!("channels=[?rewind=5]a,b,c&lastEvent={}", live[0].0),
        ),
        s2,
    );
    assert_eq!(
        whats(&got, "a"),
        Vec::<String>::new(),
        "resumed, not rewound"
    );
    assert_eq!(whats(&got, "b"), ["b4"]);
    // A bad rewind in a name refuses the stream.
    let out = open_stream(
        &mut hub,
        at(3_000),
        TransportId(3),
        "channels=[?rewind=soon]a",
    );
    assert!(
        matches!(&out[0], Output::Stream { item: StreamItem::Refused(e), .. } if e.code == 40003),
        "{out:?}"
    );
}

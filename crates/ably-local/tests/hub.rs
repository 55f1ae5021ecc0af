//! The hub driven with scripted frames on a fake clock.

use std::collections::{BTreeMap, BTreeSet};

use ably_local::hub::{ConnectRequest, Hub, HubConfig, Input, Now, Output, TransportId};
use ably_proto::auth::{ApiKey, TokenParams, create_token_request};
use ably_proto::codec::{Format, decode_protocol_message, encode};
use ably_proto::{Action, Data, Flags, Message, PresenceAction, PresenceMessage, ProtocolMessage};
use serde_json::json;

const KEY: &str = "app.k:secret";

struct Net {
    hub: Hub,
    now: Now,
    formats: BTreeMap<u64, Format>,
    inbox: BTreeMap<u64, Vec<ProtocolMessage>>,
    pings: BTreeMap<u64, usize>,
    closed: BTreeSet<u64>,
    nonces: u64,
}

impl Net {
    fn new() -> Net {
        Net::with(HubConfig::default())
    }

    fn with(config: HubConfig) -> Net {
        let mut hub = Hub::new(config);
        hub.add_app_with_key("app", KEY).expect("key");
        Net {
            hub,
            now: Now {
                mono_ms: 1_000,
                wall_ms: 1_700_000_000_000,
            },
            formats: BTreeMap::new(),
            inbox: BTreeMap::new(),
            pings: BTreeMap::new(),
            closed: BTreeSet::new(),
            nonces: 0,
        }
    }

    fn input(&mut self, input: Input) {
        self.hub.handle(self.now, input);
        while let Some(out) = self.hub.poll_output() {
            match out {
                Output::Send {
                    transport,
                    data,
                    binary,
                } => {
                    let format = self.formats[&transport.0];
                    assert_eq!(binary, format.is_binary());
                    assert!(!self.closed.contains(&transport.0), "frame after close");
                    let pm = decode_protocol_message(&data, format).expect("hub frames decode");
                    self.inbox.entry(transport.0).or_default().push(pm);
                }
                Output::Ping { transport } => *self.pings.entry(transport.0).or_default() += 1,
                Output::Stream { .. } => {}
                Output::Close { transport } => {
                    self.closed.insert(transport.0);
                }
            }
        }
    }

    /// Opens transport `t` and returns the frames it got.
    fn open(&mut self, t: u64, query: &str) -> Vec<ProtocolMessage> {
        let format = if query.contains("format=msgpack") {
            Format::MsgPack
        } else {
            Format::Json
        };
        self.formats.insert(t, format);
        self.input(Input::Open {
            transport: TransportId(t),
            request: ConnectRequest {
                query: query.to_owned(),
                authorization: None,
            },
        });
        self.take(t)
    }

    /// Opens with the key and returns the CONNECTED frame.
    fn connect(&mut self, t: u64, extra: &str) -> ProtocolMessage {
        let frames = self.open(t, &format!("key={KEY}&v=6{extra}"));
        assert_eq!(frames.len(), 1, "{frames:?}");
        assert_eq!(frames[0].action, Action::Connected, "{frames:?}");
        frames[0].clone()
    }

    fn send(&mut self, t: u64, pm: &ProtocolMessage) {
        let data = encode(pm, self.formats[&t]).expect("encode");
        self.input(Input::Frame {
            transport: TransportId(t),
            data: data.into(),
        });
    }

    fn send_raw(&mut self, t: u64, data: &[u8]) {
        self.input(Input::Frame {
            transport: TransportId(t),
            data: data.to_vec().into(),
        });
    }

    fn send_json(&mut self, t: u64, value: serde_json::Value) {
        let pm: ProtocolMessage = serde_json::from_value(value).expect("a ProtocolMessage");
        self.send(t, &pm);
    }

    fn take(&mut self, t: u64) -> Vec<ProtocolMessage> {
        self.inbox.remove(&t).unwrap_or_default()
    }

    fn drop_transport(&mut self, t: u64) {
        self.closed.insert(t);
        self.input(Input::Closed {
            transport: TransportId(t),
        });
    }

    fn advance(&mut self, ms: u64) {
        let target = self.now.mono_ms + ms;
        // Step through every deadline on the way, as a driver would.
        while let Some(at) = self.hub.poll_timeout().filter(|at| *at <= target) {
            let step = at.max(self.now.mono_ms) - self.now.mono_ms;
            self.now.mono_ms += step;
            self.now.wall_ms += step as i64;
            self.input(Input::Timeout);
        }
        let step = target - self.now.mono_ms;
        self.now.mono_ms += step;
        self.now.wall_ms += step as i64;
        self.input(Input::Timeout);
    }

    fn attach(&mut self, t: u64, channel: &str) -> Vec<ProtocolMessage> {
        self.send_json(t, json!({"action": 10, "channel": channel}));
        let frames = self.take(t);
        assert_eq!(
            frames.first().map(|f| f.action),
            Some(Action::Attached),
            "{frames:?}"
        );
        frames
    }

    fn publish(&mut self, t: u64, channel: &str, serial: u64, messages: Vec<Message>) {
        let mut pm = ProtocolMessage::for_channel(Action::Message, channel);
        pm.msg_serial = Some(serial);
        pm.messages = messages;
        self.send(t, &pm);
    }

    fn presence(
        &mut self,
        t: u64,
        channel: &str,
        serial: u64,
        action: PresenceAction,
        client: Option<&str>,
        data: &str,
    ) {
        let mut pm = ProtocolMessage::for_channel(Action::Presence, channel);
        pm.msg_serial = Some(serial);
        pm.presence = vec![PresenceMessage::new(
            action,
            client.map(str::to_owned),
            data,
        )];
        self.send(t, &pm);
    }

    fn token(&mut self, params: TokenParams) -> String {
        let key = ApiKey::parse(KEY).expect("key");
        self.nonces += 1;
        let req = create_token_request(
            &key,
            &params,
            self.now.wall_ms,
            format!("{:016}", self.nonces),
        );
        self.hub
            .request_token(self.now, "app.k", &req)
            .expect("token")
            .token
    }
}

fn of(frames: &[ProtocolMessage], action: Action) -> Vec<ProtocolMessage> {
    frames
        .iter()
        .filter(|f| f.action == action)
        .cloned()
        .collect()
}

fn data_of(frames: &[ProtocolMessage]) -> Vec<Data> {
    of(frames, Action::Message)
        .into_iter()
        .flat_map(|f| f.messages.into_iter().map(|m| m.data))
        .collect()
}

#[test]
fn connected_carries_the_connection_details() {
    let mut net = Net::new();
    for (t, extra) in [
        (1, "&format=json"),
        (2, "&format=msgpack"),
        (3, ""),
        (4, "&v=2&clientId=bob"),
    ] {
        let c = net.connect(t, extra);
        let d = c.connection_details.expect("details");
        assert!(c.connection_id.is_some());
        assert!(d.connection_key.is_some());
        assert_eq!(d.max_message_size, Some(65_536));
        assert_eq!(d.max_frame_size, Some(524_288));
        assert_eq!(d.connection_state_ttl, Some(120_000));
        assert_eq!(d.max_idle_interval, Some(15_000));
        assert_eq!(d.server_id.as_deref(), Some("ably-local"));
        if t == 4 {
            assert_eq!(d.client_id.as_deref(), Some("bob"));
        }
    }
}

#[test]
fn bad_credentials_get_error_then_close() {
    let mut net = Net::new();
    for (t, query) in [
        (1, "key=app.k:wrong&v=6"),
        (2, "key=nope.k:secret&v=6"),
        (3, "key=garbage&format=msgpack"),
        (4, "v=6"),
        (5, "access_token=not-a-token&v=6"),
        (6, "key=app.k:secret&v=1"),
    ] {
        let frames = net.open(t, query);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].action, Action::Error);
        let e = frames[0].error.as_ref().expect("error");
        let expected = [40101, 40101, 40101, 40106, 40140, 40017][t as usize - 1];
        assert_eq!(e.code, expected, "{query}");
        assert!(net.closed.contains(&t));
    }
    assert_eq!(net.hub.connection_count(), 0);
}

#[test]
fn publish_is_acked_in_order_and_fanned_out_across_formats() {
    let mut net = Net::new();
    let a = net.connect(1, "&format=json").connection_id.expect("id");
    net.connect(2, "&format=msgpack");
    net.connect(3, "&echo=false");
    for t in [1, 2, 3] {
        net.attach(t, "chat");
    }
    net.publish(
        1,
        "chat",
        0,
        vec![
            Message::new("s", "text"),
            Message::new("j", json!({"a": 1})),
        ],
    );
    net.publish(1, "chat", 1, vec![Message::new("b", vec![1u8, 2, 255])]);
    let own = net.take(1);
    let acks = of(&own, Action::Ack);
    assert_eq!(
        acks.iter().map(|a| a.msg_serial).collect::<Vec<_>>(),
        [Some(0), Some(1)]
    );
    let res = acks[0].res.as_ref().expect("res");
    assert_eq!(res[0].serials.len(), 2);
    assert!(res[0].serials.iter().all(Option::is_some));
    // The echo comes before the ACK.
    assert_eq!(own[0].action, Action::Message);
    let got = net.take(2);
    let msgs: Vec<Message> = of(&got, Action::Message)
        .into_iter()
        .flat_map(|f| f.messages)
        .collect();
    assert_eq!(msgs.len(), 3);
    assert_eq!(msgs[0].data, Data::from("text"));
    assert_eq!(msgs[1].data, Data::json(json!({"a": 1})));
    assert_eq!(msgs[2].data, Data::from(vec![1u8, 2, 255]));
    assert_eq!(msgs[0].connection_id.as_deref(), Some(a.as_str()));
    assert_eq!(msgs[0].id.as_deref(), Some(format!("{a}:0:0").as_str()));
    assert!(
        msgs.iter()
            .all(|m| m.serial.is_some() && m.timestamp.is_some())
    );
    // The serials of the ACK are those of the messages.
    assert_eq!(res[0].serials[0], msgs[0].serial);
    // echo=false: the publisher on 3 has not published, so it gets them too.
    assert_eq!(data_of(&net.take(3)).len(), 3);
    net.publish(3, "chat", 0, vec![Message::new("x", "from3")]);
    let from3 = net.take(3);
    assert!(data_of(&from3).is_empty(), "echo=false: no echo");
    assert_eq!(of(&from3, Action::Ack).len(), 1);
    assert_eq!(data_of(&net.take(1)), [Data::from("from3")]);
}

#[test]
fn repeats_are_not_published_twice() {
    let mut net = Net::new();
    net.connect(1, "");
    net.connect(2, "");
    net.attach(2, "c");
    net.publish(1, "c", 0, vec![Message::new("a", "1")]);
    let first = of(&net.take(1), Action::Ack);
    net.publish(1, "c", 0, vec![Message::new("a", "1")]);
    let again = of(&net.take(1), Action::Ack);
    assert_eq!(first, again, "the same ACK, res included");
    let mut m = Message::new("b", "2");
    m.id = Some("my-id".into());
    net.publish(1, "c", 1, vec![m.clone()]);
    net.publish(1, "c", 2, vec![m]);
    assert_eq!(of(&net.take(1), Action::Ack).len(), 2);
    assert_eq!(data_of(&net.take(2)), [Data::from("1"), Data::from("2")]);
}

#[test]
fn too_large_messages_and_bad_channels_are_nacked() {
    let mut net = Net::new();
    net.connect(1, "");
    net.publish(1, "c", 0, vec![Message::new("big", "x".repeat(70_000))]);
    net.publish(1, ":bad", 1, vec![Message::new("a", "b")]);
    let nacks = of(&net.take(1), Action::Nack);
    let codes: Vec<u32> = nacks
        .iter()
        .map(|n| n.error.as_ref().expect("error").code)
        .collect();
    assert_eq!(codes, [40009, 40010]);
    net.send_json(1, json!({"action": 10, "channel": ""}));
    let err = net.take(1);
    assert_eq!(err[0].action, Action::Error);
    assert_eq!(err[0].error.as_ref().map(|e| e.code), Some(40010));
}

#[test]
fn capabilities_are_enforced_and_the_connection_stays() {
    let mut net = Net::new();
    let token = net.token(TokenParams {
        capability: Some(r#"{"open":["*"],"read":["subscribe"]}"#.into()),
        ..TokenParams::default()
    });
    let frames = net.open(1, &format!("access_token={token}&v=6"));
    assert_eq!(frames[0].action, Action::Connected);
    net.send_json(1, json!({"action": 10, "channel": "secret"}));
    let denied = net.take(1);
    assert_eq!(denied[0].action, Action::Error);
    assert_eq!(denied[0].channel.as_deref(), Some("secret"));
    assert_eq!(denied[0].error.as_ref().map(|e| e.code), Some(40160));
    let attached = net.attach(1, "read");
    let modes = attached[0].flags;
    assert!(modes.contains(Flags::SUBSCRIBE) && !modes.contains(Flags::PUBLISH));
    net.publish(1, "read", 0, vec![Message::new("a", "b")]);
    net.presence(1, "read", 1, PresenceAction::Enter, Some("x"), "d");
    let nacks = of(&net.take(1), Action::Nack);
    assert_eq!(nacks.len(), 2);
    assert!(
        nacks
            .iter()
            .all(|n| n.error.as_ref().map(|e| e.code) == Some(40160))
    );
    net.attach(1, "open");
    net.publish(1, "open", 2, vec![Message::new("a", "b")]);
    assert_eq!(of(&net.take(1), Action::Ack).len(), 1);
}

#[test]
fn client_ids_follow_the_credentials() {
    let mut net = Net::new();
    let token = net.token(TokenParams {
        client_id: Some("bob".into()),
        ..TokenParams::default()
    });
    let refused = net.open(1, &format!("accessToken={token}&clientId=alice"));
    assert_eq!(refused[0].error.as_ref().map(|e| e.code), Some(40012));
    let c = net.open(2, &format!("accessToken={token}"));
    assert_eq!(
        c[0].connection_details
            .as_ref()
            .and_then(|d| d.client_id.clone())
            .as_deref(),
        Some("bob")
    );
    net.attach(2, "c");
    let mut m = Message::new("a", "b");
    m.client_id = Some("mallory".into());
    net.publish(2, "c", 0, vec![m]);
    net.publish(2, "c", 1, vec![Message::new("a", "b")]);
    let frames = net.take(2);
    assert_eq!(
        of(&frames, Action::Nack)[0].error.as_ref().map(|e| e.code),
        Some(40012)
    );
    let echoed = of(&frames, Action::Message);
    assert_eq!(echoed[0].messages[0].client_id.as_deref(), Some("bob"));
}

#[test]
fn presence_enter_update_leave_and_paged_sync() {
    let mut net = Net::with(HubConfig {
        sync_page_size: 3,
        ..HubConfig::default()
    });
    net.connect(1, "&clientId=one");
    net.attach(1, "room");
    net.presence(1, "room", 0, PresenceAction::Enter, None, "hello");
    let frames = net.take(1);
    let p = of(&frames, Action::Presence);
    assert_eq!(p[0].presence[0].action, PresenceAction::Enter);
    assert_eq!(p[0].presence[0].client_id.as_deref(), Some("one"));
    net.presence(1, "room", 1, PresenceAction::Update, None, "changed");
    let p = of(&net.take(1), Action::Presence);
    assert_eq!(p[0].presence[0].action, PresenceAction::Update);
    // enterClient for six more members (key auth may use any clientId).
    for i in 0..6 {
        net.presence(
            1,
            "room",
            2 + i,
            PresenceAction::Enter,
            Some(&format!("m{i}")),
            "x",
        );
    }
    net.take(1);
    assert_eq!(net.hub.presence_members("app", "room").len(), 7);
    // A late joiner gets ATTACHED with HAS_PRESENCE and three SYNC pages.
    net.connect(2, "&format=msgpack");
    let frames = net.attach(2, "room");
    assert!(frames[0].flags.contains(Flags::HAS_PRESENCE));
    let syncs = of(&frames, Action::Sync);
    assert_eq!(syncs.len(), 3);
    let serials: Vec<String> = syncs
        .iter()
        .map(|s| s.channel_serial.clone().expect("serial"))
        .collect();
    assert!(serials[0].ends_with(":3") && serials[1].ends_with(":6") && serials[2].ends_with(':'));
    let members: Vec<&PresenceMessage> = syncs.iter().flat_map(|s| s.presence.iter()).collect();
    assert_eq!(members.len(), 7);
    assert!(members.iter().all(|m| m.action == PresenceAction::Present));
    let one = members
        .iter()
        .find(|m| m.client_id.as_deref() == Some("one"))
        .expect("one");
    assert_eq!(one.data, Data::from("changed"));
    // LEAVE reaches the other member; detaching leaves the rest.
    net.presence(1, "room", 8, PresenceAction::Leave, None, "");
    let leave = of(&net.take(2), Action::Presence);
    assert_eq!(leave[0].presence[0].action, PresenceAction::Leave);
    net.send_json(1, json!({"action": 12, "channel": "room"}));
    assert_eq!(of(&net.take(1), Action::Detached).len(), 1);
    let leaves = of(&net.take(2), Action::Presence);
    assert_eq!(leaves[0].presence.len(), 6);
    assert!(net.hub.presence_members("app", "room").is_empty());
}

#[test]
fn an_abrupt_disconnect_leaves_after_remain_present_for() {
    let mut net = Net::new();
    net.connect(1, "&clientId=gone&remainPresentFor=1000");
    net.attach(1, "room");
    net.presence(1, "room", 0, PresenceAction::Enter, None, "");
    net.connect(2, "");
    net.attach(2, "room");
    net.take(2);
    net.drop_transport(1);
    net.advance(999);
    assert!(of(&net.take(2), Action::Presence).is_empty());
    net.advance(1);
    let leave = of(&net.take(2), Action::Presence);
    assert_eq!(leave.len(), 1);
    assert_eq!(leave[0].presence[0].action, PresenceAction::Leave);
    assert_eq!(leave[0].presence[0].client_id.as_deref(), Some("gone"));
}

#[test]
fn close_answers_closed_and_members_leave_at_once() {
    let mut net = Net::new();
    net.connect(1, "&clientId=a");
    net.attach(1, "room");
    net.presence(1, "room", 0, PresenceAction::Enter, None, "");
    net.send_json(1, json!({"action": 7}));
    assert_eq!(net.take(1).last().map(|f| f.action), Some(Action::Closed));
    assert!(net.closed.contains(&1));
    assert!(net.hub.presence_members("app", "room").is_empty());
    assert_eq!(net.hub.connection_count(), 0);
}

#[test]
fn resume_replays_what_was_missed_exactly_once() {
    let mut net = Net::new();
    let c = net.connect(1, "&format=msgpack");
    let id = c.connection_id.expect("id");
    let key = c
        .connection_details
        .and_then(|d| d.connection_key)
        .expect("key");
    net.connect(2, "");
    let attached = net.attach(1, "c");
    let mut serial = attached[0].channel_serial.clone().expect("serial");
    net.publish(2, "c", 0, vec![Message::new("m", "1")]);
    let got = net.take(1);
    serial = got[0].channel_serial.clone().unwrap_or(serial);
    assert_eq!(data_of(&got), [Data::from("1")]);
    net.drop_transport(1);
    net.publish(2, "c", 1, vec![Message::new("m", "2")]);
    net.publish(2, "c", 2, vec![Message::new("m", "3")]);
    net.advance(60_000);
    let frames = net.open(3, &format!("key={KEY}&format=msgpack&resume={key}"));
    assert_eq!(frames[0].action, Action::Connected);
    assert_eq!(frames[0].connection_id.as_deref(), Some(id.as_str()));
    assert!(frames[0].error.is_none());
    // Paused until the client attaches again; a publish meanwhile waits too.
    net.publish(2, "c", 3, vec![Message::new("m", "4")]);
    assert!(data_of(&net.take(3)).is_empty());
    net.send_json(
        3,
        json!({"action": 10, "channel": "c", "channelSerial": serial}),
    );
    let frames = net.take(3);
    assert!(frames[0].flags.contains(Flags::RESUMED));
    assert_eq!(
        data_of(&frames),
        [Data::from("2"), Data::from("3"), Data::from("4")]
    );
    net.publish(2, "c", 4, vec![Message::new("m", "5")]);
    assert_eq!(data_of(&net.take(3)), [Data::from("5")]);
    // A serial the log does not know: attached at the head, with an error.
    net.send_json(3, json!({"action": 12, "channel": "c"}));
    net.send_json(
        3,
        json!({"action": 10, "channel": "c", "channelSerial": "ffff@0000000001"}),
    );
    let frames = net.take(3);
    let attached = of(&frames, Action::Attached);
    assert!(!attached[0].flags.contains(Flags::RESUMED));
    assert_eq!(attached[0].error.as_ref().map(|e| e.code), Some(90003));
}

#[test]
fn resume_after_the_ttl_gives_a_new_connection_and_80008() {
    let mut net = Net::new();
    let c = net.connect(1, "");
    let key = c
        .connection_details
        .and_then(|d| d.connection_key)
        .expect("key");
    net.drop_transport(1);
    net.advance(120_001);
    assert_eq!(net.hub.connection_count(), 0);
    let frames = net.open(2, &format!("key={KEY}&resume={key}"));
    assert_eq!(frames[0].action, Action::Connected);
    assert_ne!(frames[0].connection_id, c.connection_id);
    assert_eq!(frames[0].error.as_ref().map(|e| e.code), Some(80008));
    let frames = net.open(3, &format!("key={KEY}&recover=unknown"));
    assert_eq!(frames[0].error.as_ref().map(|e| e.code), Some(80008));
}

#[test]
fn resume_takes_over_a_live_transport() {
    let mut net = Net::new();
    let c = net.connect(1, "");
    let key = c
        .connection_details
        .and_then(|d| d.connection_key)
        .expect("key");
    let frames = net.open(2, &format!("key={KEY}&recover={key}"));
    assert_eq!(frames[0].connection_id, c.connection_id);
    assert!(net.closed.contains(&1));
}

#[test]
fn tokens_expire_and_renew_in_band() {
    let mut net = Net::new();
    let short = net.token(TokenParams {
        ttl: Some(5_000),
        client_id: Some("t".into()),
        ..TokenParams::default()
    });
    let c = net.open(1, &format!("access_token={short}"));
    let id = c[0].connection_id.clone();
    net.advance(2_000);
    let fresh = net.token(TokenParams {
        ttl: Some(5_000),
        client_id: Some("t".into()),
        ..TokenParams::default()
    });
    net.send_json(1, json!({"action": 17, "auth": {"accessToken": fresh}}));
    let frames = net.take(1);
    assert_eq!(frames[0].action, Action::Connected);
    assert_eq!(frames[0].connection_id, id);
    // The first token's expiry passes unnoticed: the new one counts.
    net.advance(3_500);
    assert!(of(&net.take(1), Action::Disconnected).is_empty());
    net.advance(2_000);
    let frames = net.take(1);
    let d = of(&frames, Action::Disconnected);
    assert_eq!(d[0].error.as_ref().map(|e| e.code), Some(40142));
    assert!(net.closed.contains(&1));
    // An expired token cannot connect.
    let frames = net.open(2, &format!("access_token={fresh}"));
    assert_eq!(frames[0].error.as_ref().map(|e| e.code), Some(40142));
    // Another clientId in AUTH is refused.
    let t3 = net.token(TokenParams::default());
    net.open(3, &format!("access_token={t3}"));
    let other = net.token(TokenParams {
        client_id: Some("z".into()),
        ..TokenParams::default()
    });
    net.send_json(3, json!({"action": 17, "auth": {"accessToken": other}}));
    assert_eq!(net.take(3)[0].error.as_ref().map(|e| e.code), Some(40012));
}

#[test]
fn heartbeats_are_protocol_messages_or_pings_as_asked() {
    let mut net = Net::new();
    net.connect(1, "");
    net.connect(2, "&heartbeats=true&heartbeatInterval=5000");
    net.connect(3, "&heartbeats=false");
    net.advance(15_000);
    assert_eq!(of(&net.take(1), Action::Heartbeat).len(), 1);
    assert_eq!(of(&net.take(2), Action::Heartbeat).len(), 3);
    assert!(net.take(3).is_empty());
    assert_eq!(net.pings.get(&3), Some(&1));
    net.send_json(1, json!({"action": 0, "id": "ping-1"}));
    let echo = net.take(1);
    assert_eq!(echo[0].action, Action::Heartbeat);
    assert_eq!(echo[0].id.as_deref(), Some("ping-1"));
}

#[test]
fn bad_input_gets_errors_and_spares_other_connections() {
    let mut net = Net::with(HubConfig {
        max_inbound_rate: 10,
        ..HubConfig::default()
    });
    net.connect(1, "");
    net.connect(2, "&format=msgpack");
    net.attach(2, "c");
    for bad in [
        &b"{not json"[..],
        br#"{"action":"ten"}"#,
        br#"{"action":15,"msgSerial":"x"}"#,
        br#"[1,2]"#,
    ] {
        net.send_raw(1, bad);
        let e = net.take(1);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].action, Action::Error);
        assert_eq!(e[0].error.as_ref().map(|e| e.code), Some(40000));
    }
    net.send_raw(2, &[0xc1, 0xff, 0x00]);
    assert_eq!(net.take(2)[0].error.as_ref().map(|e| e.code), Some(40000));
    net.send_json(1, json!({"action": 99, "msgSerial": 0}));
    assert_eq!(of(&net.take(1), Action::Nack).len(), 1);
    net.send_json(1, json!({"action": 4}));
    assert_eq!(net.take(1)[0].error.as_ref().map(|e| e.code), Some(40000));
    net.send_raw(1, &vec![b' '; 600_000]);
    assert_eq!(net.take(1)[0].error.as_ref().map(|e| e.code), Some(40009));
    // A flood ends the flooding connection only.
    for _ in 0..30 {
        net.send_json(1, json!({"action": 0}));
    }
    let frames = net.take(1);
    assert_eq!(
        of(&frames, Action::Error)
            .last()
            .and_then(|e| e.error.as_ref())
            .map(|e| e.code),
        Some(42924)
    );
    assert!(net.closed.contains(&1));
    assert!(!net.closed.contains(&2));
    net.advance(1_000);
    net.publish(2, "c", 0, vec![Message::new("still", "here")]);
    assert_eq!(data_of(&net.take(2)), [Data::from("here")]);
}

#[test]
fn rewind_replays_recent_messages() {
    let mut net = Net::new();
    net.connect(1, "");
    for i in 0..5 {
        net.publish(1, "r", i, vec![Message::new("m", format!("{i}"))]);
        net.advance(10_000);
    }
    net.connect(2, "");
    net.send_json(
        2,
        json!({"action": 10, "channel": "r", "params": {"rewind": "2"}}),
    );
    let frames = net.take(2);
    assert_eq!(
        frames[0]
            .params
            .as_ref()
            .and_then(|p| p.get("rewind"))
            .map(String::as_str),
        Some("2")
    );
    assert!(frames[0].flags.contains(Flags::HAS_BACKLOG));
    assert_eq!(data_of(&frames), [Data::from("3"), Data::from("4")]);
    net.connect(3, "");
    net.send_json(
        3,
        json!({"action": 10, "channel": "r", "params": {"rewind": "25s"}}),
    );
    assert_eq!(data_of(&net.take(3)), [Data::from("3"), Data::from("4")]);
}

#[test]
fn shutdown_tells_every_client_disconnected() {
    let mut net = Net::new();
    net.connect(1, "");
    net.connect(2, "&format=msgpack");
    net.input(Input::Shutdown);
    for t in [1, 2] {
        let frames = net.take(t);
        assert_eq!(frames[0].action, Action::Disconnected);
        assert!(net.closed.contains(&t));
    }
}

#[test]
fn the_same_inputs_give_the_same_outputs() {
    let run = || {
        let mut net = Net::new();
        let c = net.connect(1, "");
        net.attach(1, "x");
        net.publish(1, "x", 0, vec![Message::new("a", "b")]);
        (c, net.take(1))
    };
    assert_eq!(run(), run());
}

#[test]
fn apps_are_separate() {
    let mut net = Net::new();
    net.hub
        .add_app_with_key("other", "other.k:s2")
        .expect("key");
    net.connect(1, "");
    let frames = net.open(2, "key=other.k:s2");
    assert_eq!(frames[0].action, Action::Connected);
    net.attach(1, "same-name");
    net.attach(2, "same-name");
    net.publish(1, "same-name", 0, vec![Message::new("a", "app one")]);
    assert!(data_of(&net.take(2)).is_empty(), "no crossing between apps");
    assert_eq!(data_of(&net.take(1)), [Data::from("app one")]);
    // A key of one app is not a key of the other.
    let frames = net.open(3, "key=other.k:secret");
    assert_eq!(frames[0].error.as_ref().map(|e| e.code), Some(40101));
}

/// The codes of the NACKs among some frames (0 for an ACK), in order.
fn acks(frames: &[ProtocolMessage]) -> Vec<u32> {
    frames
        .iter()
        .filter_map(|f| match f.action {
            Action::Ack => Some(0),
            Action::Nack => Some(f.error.as_ref().map_or(1, |e| e.code)),
            _ => None,
        })
        .collect()
}

#[test]
fn per_app_limits_from_post_apps_apply_to_that_app_only() {
    let mut net = Net::new();
    let app = net
        .hub
        .create_app(
            net.now,
            &json!({
                "limits": {
                    "presence": {"maxMembers": 2, "unknownKey": true},
                    "message": {"maxSize": 100},
                    "history": {"maxAge": 1000},
                    "someFutureLimit": {"x": "y"}
                },
                "keys": [{}]
            }),
        )
        .expect("app");
    let key = app["keys"][0]["keyStr"].as_str().expect("key").to_owned();
    net.formats.insert(1, Format::Json);
    let frames = net.open(1, &format!("key={key}&v=6"));
    let details = frames[0].connection_details.clone().expect("details");
    assert_eq!(details.max_message_size, Some(100), "reported to the SDK");
    net.attach(1, "room");

    // presence.maxMembers 2: the third enter is refused with 91003; an
    // update of a present member and a re-enter after a leave are fine.
    for (serial, client) in ["a", "b", "c"].into_iter().enumerate() {
        net.presence(
            1,
            "room",
            serial as u64,
            PresenceAction::Enter,
            Some(client),
            "x",
        );
    }
    assert_eq!(acks(&net.take(1)), [0, 0, 91003]);
    net.presence(1, "room", 3, PresenceAction::Update, Some("a"), "y");
    net.presence(1, "room", 4, PresenceAction::Leave, Some("b"), "");
    net.presence(1, "room", 5, PresenceAction::Enter, Some("c"), "x");
    assert_eq!(acks(&net.take(1)), [0, 0, 0]);
    assert_eq!(
        net.hub
            .presence_members(app["appId"].as_str().expect("id"), "room")
            .len(),
        2
    );

    // message.maxSize 100: a 101-byte publish is refused with 40009.
    net.publish(1, "room", 6, vec![Message::new("n", "x".repeat(100))]);
    net.publish(1, "room", 7, vec![Message::new("n", "x".repeat(99))]);
    assert_eq!(acks(&net.take(1)), [40009, 0]);

    // The server's own app keeps the hub-wide limits.
    let d = net.connect(2, "").connection_details.expect("details");
    assert_eq!(d.max_message_size, Some(65_536));
    net.attach(2, "room");
    for (serial, client) in ["a", "b", "c"].into_iter().enumerate() {
        net.presence(
            2,
            "room",
            serial as u64,
            PresenceAction::Enter,
            Some(client),
            "x",
        );
    }
    net.publish(2, "room", 3, vec![Message::new("n", "x".repeat(1000))]);
    assert_eq!(acks(&net.take(2)), [0, 0, 0, 0]);

    // history.maxAge 1000 ms: gone after a second there, kept here.
    let history = |net: &mut Net, key: &str| {
        let creds = ably_local::hub::RestCredentials {
            authorization: None,
            query: format!("key={}", key.replace(':', "%3A")),
        };
        net.hub
            .rest_history(
                net.now,
                &creds,
                "room",
                ably_local::hub::HistoryKind::Messages,
            )
            .expect("history")
            .0
            .items
            .len()
    };
    assert_eq!((history(&mut net, &key), history(&mut net, KEY)), (1, 1));
    net.advance(1_500);
    assert_eq!((history(&mut net, &key), history(&mut net, KEY)), (0, 1));
}

#[test]
fn per_app_limits_of_the_wrong_type_are_refused() {
    let mut net = Net::new();
    for limits in [
        json!(250),
        json!({"presence": []}),
        json!({"presence": {"maxMembers": "250"}}),
        json!({"message": {"maxSize": -5}}),
        json!({"history": {"maxAge": 1.5}}),
    ] {
        let e = net
            .hub
            .create_app(net.now, &json!({ "limits": limits }))
            .expect_err("refused");
        assert_eq!((e.code, e.status_code), (40000, Some(400)), "{limits}");
    }
}

#[test]
fn consecutive_publishes_in_one_batch_get_one_ack_with_count() {
    let mut net = Net::new();
    net.connect(1, "&clientId=me");
    net.attach(1, "c");
    // Frames handled before the driver takes the outputs (one batch).
    let frames = [
        json!({"action": 15, "channel": "c", "msgSerial": 0, "messages": [{"data": "a"}]}),
        json!({"action": 15, "channel": "c", "msgSerial": 1, "messages": [{"data": "b"}, {"data": "c"}]}),
        json!({"action": 15, "channel": "c", "msgSerial": 2, "messages": [{"data": "d"}]}),
        json!({"action": 14, "channel": "c", "msgSerial": 3, "presence": [{"action": 2}]}),
        json!({"action": 15, "channel": ":bad", "msgSerial": 4, "messages": [{"data": "e"}]}),
        json!({"action": 15, "channel": "c", "msgSerial": 5, "messages": [{"data": "f"}]}),
        json!({"action": 15, "channel": "c", "msgSerial": 1, "messages": [{"data": "again"}]}),
    ];
    for f in frames {
        let data = f.to_string().into_bytes();
        net.hub.handle(
            net.now,
            Input::Frame {
                transport: TransportId(1),
                data: data.into(),
            },
        );
    }
    net.input(Input::Timeout);
    let got = net.take(1);
    let kinds: Vec<Action> = got.iter().map(|f| f.action).collect();
    use Action::{Ack, Message as Msg, Nack, Presence};
    // Deliveries as they happen; a NACK (and anything else) flushes the
    // ACK built so far, so the order of answers is kept; the rest go last.
    assert_eq!(
        kinds,
        [Msg, Msg, Msg, Presence, Ack, Ack, Nack, Msg, Ack, Ack],
        "{got:#?}"
    );
    let acks = of(&got, Action::Ack);
    let summary: Vec<(Option<u64>, Option<u32>, Option<usize>)> = acks
        .iter()
        .map(|a| (a.msg_serial, a.count, a.res.as_ref().map(Vec::len)))
        .collect();
    // 0..=2 with one PublishResult per frame (TR4s); the presence frame
    // alone (no res); then 5 and the repeat of 1 (not contiguous).
    assert_eq!(
        summary,
        [
            (Some(0), Some(3), Some(3)),
            (Some(3), Some(1), None),
            (Some(5), Some(1), Some(1)),
            (Some(1), Some(1), Some(1))
        ]
    );
    let res = acks[0].res.as_ref().expect("res");
    assert_eq!(res[1].serials.len(), 2);
    assert_ne!(res[0].serials[0], res[2].serials[0]);
    assert_eq!(of(&got, Action::Nack)[0].msg_serial, Some(4));
    // The repeat of 1 is answered with its serials, not published again.
    assert_eq!(acks[3].res.as_ref().expect("res")[0], res[1]);
    assert_eq!(data_of(&got).len(), 5);
}

#[test]
fn a_capability_reduced_by_auth_applies_to_publishing_on_attached_channels() {
    let mut net = Net::new();
    let full = net.token(TokenParams::default());
    net.formats.insert(1, Format::Json);
    net.open(1, &format!("access_token={full}"));
    net.attach(1, "x");
    net.publish(1, "x", 0, vec![Message::new("a", "allowed")]);
    assert_eq!(acks(&net.take(1)), [0]);
    let reduced = net.token(TokenParams {
        capability: Some(r#"{"x":["subscribe"]}"#.into()),
        ..TokenParams::default()
    });
    net.send_json(1, json!({"action": 17, "auth": {"accessToken": reduced}}));
    assert_eq!(net.take(1)[0].action, Action::Connected);
    net.publish(1, "x", 1, vec![Message::new("a", "denied")]);
    assert_eq!(acks(&net.take(1)), [40160]);
    // And back: a full token again allows it.
    let full = net.token(TokenParams::default());
    net.send_json(1, json!({"action": 17, "auth": {"accessToken": full}}));
    net.take(1);
    net.publish(1, "x", 2, vec![Message::new("a", "allowed again")]);
    assert_eq!(acks(&net.take(1)), [0]);
}

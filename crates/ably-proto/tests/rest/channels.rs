//! REST channels: the collection (RSN), a channel's name (RSL9), options
//! (RSL7) and status (RSL8, CHD2-CHM2). Ported from
//! `uts/rest/unit/{channels_collection,channel/rest_channel_attributes}.md`.
//!
//! The core keeps channels by name: `Command::GetChannel` creates one
//! (RSN3a), `Command::ReleaseChannel` forgets it (RSN4), `Client::channel`
//! and `Client::channel_names` read the collection (RSN2).

use serde_json::json;

use ably_proto::client::{Command, Completion};
use ably_proto::crypto::CipherParams;
use ably_proto::rand_core::SeedableRng;
use ably_proto::rest::{ChannelDetails, RestResult};
use ably_proto::{ChannelOptions, Data, Message};

use crate::harness::*;

fn get(m: &mut Mock, name: &str) {
    let done = m.run(Command::GetChannel {
        channel: name.into(),
        options: None,
    });
    assert_eq!(done, Ok(Completion::Done));
}

fn release(m: &mut Mock, name: &str) {
    let done = m.run(Command::ReleaseChannel {
        channel: name.into(),
    });
    assert_eq!(done, Ok(Completion::Done));
}

fn exists(m: &Mock, name: &str) -> bool {
    m.client.channel(name).is_some()
}

fn names(m: &Mock) -> Vec<String> {
    m.client.channel_names().map(str::to_owned).collect()
}

fn cipher() -> CipherParams {
    CipherParams::from_key(&[7u8; 16]).expect("a 128-bit key")
}

fn with_cipher() -> ChannelOptions {
    ChannelOptions {
        cipher: Some(cipher()),
        ..ChannelOptions::default()
    }
}

// ---- RSN --------------------------------------------------------------------------

/// rest/unit/RSN1/channels-collection-accessible-0
#[test]
fn rsn1_channels_collection_accessible_0() {
    let m = Mock::new(key_opts());
    assert!(names(&m).is_empty());
    assert!(m.client.channel("anything").is_none());
}

/// rest/unit/RSN2/check-channel-exists-0
#[test]
fn rsn2_check_channel_exists_0() {
    let mut m = Mock::new(key_opts());
    let before = exists(&m, "test-RSN2");
    get(&mut m, "test-RSN2");
    assert!(!before);
    assert!(exists(&m, "test-RSN2"));
    assert!(!exists(&m, "test-RSN2-other"));
}

/// rest/unit/RSN2/iterate-channels-1
#[test]
fn rsn2_iterate_channels_1() {
    let mut m = Mock::new(key_opts());
    for name in ["test-RSN2-a", "test-RSN2-b", "test-RSN2-c"] {
        get(&mut m, name);
    }
    let all = names(&m);
    for name in ["test-RSN2-a", "test-RSN2-b", "test-RSN2-c"] {
        assert!(all.iter().any(|n| n == name), "{name} in {all:?}");
    }
    assert_eq!(all.len(), 3);
}

/// rest/unit/RSN3a/get-creates-new-channel-0
#[test]
fn rsn3a_get_creates_new_channel_0() {
    let mut m = Mock::new(key_opts());
    get(&mut m, "test-RSN3a");
    let channel = m.client.channel("test-RSN3a").expect("created");
    assert_eq!(channel.name(), "test-RSN3a");
    assert!(m.requests.is_empty(), "a REST channel needs no request");
}

/// rest/unit/RSN3a/get-returns-existing-channel-1
///
/// The second get returns the same channel: its options, set in between,
/// are still there, and there is still one channel of that name.
#[test]
fn rsn3a_get_returns_existing_channel_1() {
    let mut m = Mock::new(key_opts());
    get(&mut m, "test-RSN3a-existing");
    let set = m.run(Command::SetChannelOptions {
        channel: "test-RSN3a-existing".into(),
        options: with_cipher(),
    });
    assert_eq!(set, Ok(Completion::Done));
    get(&mut m, "test-RSN3a-existing");
    let channel = m.client.channel("test-RSN3a-existing").expect("exists");
    assert_eq!(channel.name(), "test-RSN3a-existing");
    assert!(channel.options().cipher.is_some(), "the same channel");
    assert_eq!(names(&m).len(), 1);
}

/// rest/unit/RSN4a/release-removes-channel-0
#[test]
fn rsn4a_release_removes_channel_0() {
    let mut m = Mock::new(key_opts());
    get(&mut m, "test-RSN4a");
    assert!(exists(&m, "test-RSN4a"));
    release(&mut m, "test-RSN4a");
    assert!(!exists(&m, "test-RSN4a"));
}

/// rest/unit/RSN4b/release-nonexistent-noop-0
#[test]
fn rsn4b_release_nonexistent_noop_0() {
    let mut m = Mock::new(key_opts());
    release(&mut m, "test-RSN4b");
    assert!(!exists(&m, "test-RSN4b"));
    assert!(names(&m).is_empty());
}

/// rest/unit/RSN3a/get-after-release-new-instance-3
#[test]
fn rsn3a_get_after_release_new_instance_3() {
    let mut m = Mock::new(key_opts());
    m.run(Command::GetChannel {
        channel: "test-RSN3a-release".into(),
        options: Some(with_cipher()),
    })
    .expect("get");
    release(&mut m, "test-RSN3a-release");
    get(&mut m, "test-RSN3a-release");
    let channel = m.client.channel("test-RSN3a-release").expect("exists");
    assert_eq!(channel.name(), "test-RSN3a-release");
    assert!(
        channel.options().cipher.is_none(),
        "a new channel, not the old one"
    );
}

// ---- RSL9, RSL7 -------------------------------------------------------------------

/// rest/unit/RSL9/channel-name-attribute-0
#[test]
fn rsl9_channel_name_attribute_0() {
    let mut m = Mock::new(key_opts());
    for name in ["my-channel", "namespace:channel-name"] {
        get(&mut m, name);
        assert_eq!(
            m.client.channel(name).map(|c| c.name().to_owned()),
            Some(name.into())
        );
    }
}

/// rest/unit/RSL7/setoptions-updates-options-0
#[test]
fn rsl7_setoptions_updates_options_0() {
    let mut m = Mock::new(key_opts());
    get(&mut m, "test-RSL7");
    let done = m.run(Command::SetChannelOptions {
        channel: "test-RSL7".into(),
        options: ChannelOptions::default(),
    });
    assert_eq!(done, Ok(Completion::Done));
    assert!(m.requests.is_empty());
    let done = m.run(Command::SetChannelOptions {
        channel: "test-RSL7".into(),
        options: with_cipher(),
    });
    assert_eq!(done, Ok(Completion::Done));
    assert!(
        m.client
            .channel("test-RSL7")
            .is_some_and(|c| c.options().cipher.is_some())
    );
}

/// rest/unit/RSL7/setoptions-stores-options-1
///
/// The stored cipher is applied to what the channel reads: an encrypted
/// message from history comes back decrypted (RSL5, RSL6).
#[test]
fn rsl7_setoptions_stores_options_1() {
    let mut rng = rand_chacha::ChaCha20Rng::from_seed([9; 32]);
    let mut secret = Message::new("e", "for your eyes only");
    secret.encode(Some(&cipher()), &mut rng).expect("encrypt");
    let sent = serde_json::to_value(&secret).expect("json");
    let mut m = Mock::new(key_opts());
    m.queue(vec![json(200, json!([sent]))]);
    m.run(Command::SetChannelOptions {
        channel: "test-RSL7-store".into(),
        options: with_cipher(),
    })
    .expect("setOptions");
    let page = messages_page(m.ok(history("test-RSL7-store")));
    assert_eq!(page.items[0].data, Data::from("for your eyes only"));
    assert_eq!(page.items[0].encoding, None);
}

// ---- RSL8 -------------------------------------------------------------------------

fn status_body(channel: &str, active: bool, metrics: serde_json::Value) -> serde_json::Value {
    json!({"channelId": channel, "status": {"isActive": active, "occupancy": {"metrics": metrics}}})
}

fn zero_metrics() -> serde_json::Value {
    json!({"connections": 0, "publishers": 0, "subscribers": 0,
           "presenceConnections": 0, "presenceMembers": 0, "presenceSubscribers": 0})
}

fn channel_details(m: &mut Mock, channel: &str) -> ChannelDetails {
    match m.ok(status(channel)) {
        RestResult::Json(v) => ChannelDetails::from_json(&v).expect("ChannelDetails"),
        other => panic!("expected JSON, got {other:?}"),
    }
}

/// rest/unit/RSL8/status-get-correct-endpoint-0
#[test]
fn rsl8_status_get_correct_endpoint_0() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![json(
        200,
        status_body("test-RSL8", true, zero_metrics()),
    )]);
    channel_details(&mut m, "test-RSL8");
    let r = m.only();
    assert_eq!(r.method, "GET");
    assert_eq!(path(r), "/channels/test-RSL8");
}

/// rest/unit/RSL8/status-special-chars-encoded-1
#[test]
fn rsl8_status_special_chars_encoded_1() {
    let name = "namespace:my channel";
    let mut m = Mock::new(key_opts());
    m.queue(vec![json(200, status_body(name, true, zero_metrics()))]);
    let details = channel_details(&mut m, name);
    assert_eq!(details.channel_id, name);
    let r = m.only();
    assert_eq!(r.method, "GET");
    assert_eq!(path(r), format!("/channels/{}", encode_uri_component(name)));
}

/// rest/unit/RSL8a/status-returns-channel-details-0
#[test]
fn rsl8a_status_returns_channel_details_0() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![json(
        200,
        status_body(
            "test-RSL8a",
            true,
            json!({"connections": 5, "publishers": 2, "subscribers": 3,
                   "presenceConnections": 1, "presenceMembers": 1, "presenceSubscribers": 0}),
        ),
    )]);
    let d = channel_details(&mut m, "test-RSL8a");
    assert_eq!(d.channel_id, "test-RSL8a");
    assert!(d.status.is_active);
    let metrics = &d.status.occupancy.metrics;
    assert_eq!(metrics.connections, 5);
    assert_eq!(metrics.publishers, 2);
    assert_eq!(metrics.subscribers, 3);
}

/// rest/unit/CHM2/parses-all-metrics-fields-0
#[test]
fn chm2_parses_all_metrics_fields_0() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![json(
        200,
        status_body(
            "test-CHM2-all-fields",
            true,
            json!({"connections": 10, "presenceConnections": 7, "presenceMembers": 4,
                   "presenceSubscribers": 3, "publishers": 6, "subscribers": 8,
                   "objectPublishers": 2, "objectSubscribers": 5}),
        ),
    )]);
    let d = channel_details(&mut m, "test-CHM2-all-fields");
    assert_eq!(d.channel_id, "test-CHM2-all-fields");
    assert!(d.status.is_active);
    let x = &d.status.occupancy.metrics;
    assert_eq!(
        (
            x.connections,
            x.presence_connections,
            x.presence_members,
            x.presence_subscribers
        ),
        (10, 7, 4, 3)
    );
    assert_eq!(
        (
            x.publishers,
            x.subscribers,
            x.object_publishers,
            x.object_subscribers
        ),
        (6, 8, 2, 5)
    );
}

/// rest/unit/CHM2/zero-and-missing-metrics-1
#[test]
fn chm2_zero_and_missing_metrics_1() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![json(
        200,
        status_body("test-CHM2-defaults", false, zero_metrics()),
    )]);
    let d = channel_details(&mut m, "test-CHM2-defaults");
    assert_eq!(d.channel_id, "test-CHM2-defaults");
    assert!(!d.status.is_active);
    assert_eq!(d.status.occupancy.metrics, Default::default());
    assert_eq!(d.status.occupancy.metrics.object_publishers, 0);
    assert_eq!(d.status.occupancy.metrics.object_subscribers, 0);
}

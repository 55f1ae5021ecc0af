//! The channels collection (RTS1-RTS4), channel options and derived
//! channels (TB2, TB3, RTS3b, RTS3c, RTS5, RTL16, DO2) and channel
//! properties (RTL15), ported from `uts/realtime/unit/channels/
//! {channels_collection,channel_options,channel_properties}.md`.

use std::collections::BTreeMap;
use std::time::Duration;

use ably_proto::client::{
    ChannelState, ClientOptions, Completion, DeriveOptions, derived_channel_name,
};
use ably_proto::{
    Action, ChannelMode, ChannelModes, ChannelOptions, CipherParams, ErrorInfo, Flags, Message,
    ProtocolMessage,
};

use crate::chan_state_util::*;
use crate::harness::*;

use ChannelState::*;

/// ClientOptions(key) with the default autoConnect: true, as the
/// collection specs use.
fn auto_connect_options() -> ClientOptions {
    ClientOptions {
        auto_connect: true,
        ..key_options()
    }
}

fn names(h: &Harness) -> Vec<String> {
    h.client.channel_names().map(str::to_owned).collect()
}

fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

// ---- RTS1-RTS4: the channels collection -------------------------------------------

/// realtime/unit/RTS1/channels-collection-accessible-0
#[test]
fn rts1_channels_collection_accessible_0() {
    // The collection is the client's own: names and per-name views.
    let h = Harness::new(auto_connect_options());
    assert!(names(&h).is_empty());
    assert!(h.client.channel("anything").is_none());
}

/// realtime/unit/RTS2/channel-exists-check-0
#[test]
fn rts2_channel_exists_check_0() {
    let name = "test-RTS2";
    let mut h = Harness::new(auto_connect_options());
    let exists_before = exists(&h, name);
    get(&mut h, name);
    let exists_after = exists(&h, name);
    let exists_other = exists(&h, "test-RTS2-other");
    assert!(!exists_before);
    assert!(exists_after);
    assert!(!exists_other);
}

/// realtime/unit/RTS2/iterate-channels-1
#[test]
fn rts2_iterate_channels_1() {
    let mut h = Harness::new(auto_connect_options());
    for name in ["test-RTS2-a", "test-RTS2-b", "test-RTS2-c"] {
        get(&mut h, name);
    }
    let names = names(&h);
    for name in ["test-RTS2-a", "test-RTS2-b", "test-RTS2-c"] {
        assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
    }
    assert_eq!(names.len(), 3);
}

/// realtime/unit/RTS3a/get-creates-new-channel-0
#[test]
fn rts3a_get_creates_new_channel_0() {
    let name = "test-RTS3a";
    let mut h = Harness::new(auto_connect_options());
    get(&mut h, name);
    let channel = h.client.channel(name).expect("a channel");
    assert_eq!(channel.name(), name);
    assert_eq!(channel.state(), Initialized);
    assert!(exists(&h, name));
}

/// realtime/unit/RTS3a/get-returns-existing-channel-1
#[test]
fn rts3a_get_returns_existing_channel_1() {
    // The same channel: what the first get set up survives the second.
    let name = "test-RTS3a-existing";
    let mut h = Harness::new(auto_connect_options());
    let options = ChannelOptions::default().param("rewind", "1");
    assert_eq!(
        get_with(&mut h, name, options.clone()),
        Ok(Completion::Done)
    );
    get(&mut h, name);
    assert_eq!(names(&h), vec![name.to_owned()], "one channel");
    let channel = h.client.channel(name).unwrap();
    assert_eq!(channel.name(), name);
    assert_eq!(
        channel.options(),
        &options,
        "the same channel, options kept"
    );
}

/// realtime/unit/RTS4a/release-removes-channel-0
#[test]
fn rts4a_release_removes_channel_0() {
    let name = "test-RTS4a";
    let mut h = Harness::new(auto_connect_options());
    get(&mut h, name);
    assert!(exists(&h, name));
    let op = release(&mut h, name);
    assert_eq!(outcome(&h, op), Ok(Completion::Done));
    assert!(!exists(&h, name));
}

/// realtime/unit/RTS4a/release-nonexistent-noop-1
#[test]
fn rts4a_release_nonexistent_noop_1() {
    let name = "test-RTS4a-nonexistent";
    let mut h = Harness::new(auto_connect_options());
    let op = release(&mut h, name);
    assert_eq!(outcome(&h, op), Ok(Completion::Done));
    assert!(!exists(&h, name));
}

/// realtime/unit/RTS4a/release-detaches-attached-2
#[test]
fn rts4a_release_detaches_attached_2() {
    let name = "test-RTS4a-attached";
    let mut h = connected_harness(cooperative_service());
    get(&mut h, name);
    attach_ok(&mut h, name);
    let state_before_release = h.channel_state(name);

    let op = release(&mut h, name);
    assert_eq!(outcome(&h, op), Ok(Completion::Done));

    assert_eq!(state_before_release, Attached);
    assert!(!exists(&h, name));
    let detaches = h.sent_with(Action::Detach);
    assert_eq!(detaches.len(), 1, "detached before removal");
    assert_eq!(detaches[0].channel.as_deref(), Some(name));
}

/// realtime/unit/RTS3a/get-after-release-new-3
#[test]
fn rts3a_get_after_release_new_3() {
    let name = "test-RTS3a-release";
    let mut h = Harness::new(auto_connect_options());
    let options = ChannelOptions::default().param("rewind", "1");
    assert_eq!(get_with(&mut h, name, options), Ok(Completion::Done));
    let op = release(&mut h, name);
    assert_eq!(outcome(&h, op), Ok(Completion::Done));

    get(&mut h, name);
    let channel2 = h.client.channel(name).expect("a channel");
    assert_eq!(
        channel2.options(),
        &ChannelOptions::default(),
        "a new channel, not the released one"
    );
    assert_eq!(channel2.name(), name);
    assert!(exists(&h, name));
}

// ---- TB2-TB3: ChannelOptions ---------------------------------------------------------

/// realtime/unit/TB2/channel-options-attributes-0
#[test]
fn tb2_channel_options_attributes_0() {
    // attachOnSubscribe (TB4) is the adapter's: see the coverage table.
    let options = ChannelOptions::default();
    assert_eq!(options.cipher, None);
    assert!(options.params.is_empty());
    assert!(options.modes.is_empty());
}

/// realtime/unit/TB2c/options-with-params-0
#[test]
fn tb2c_options_with_params_0() {
    let options = ChannelOptions::default()
        .param("rewind", "1")
        .param("delta", "vcdiff");
    assert_eq!(options.params["rewind"], "1");
    assert_eq!(options.params["delta"], "vcdiff");
}

/// realtime/unit/TB2d/options-with-modes-0
#[test]
fn tb2d_options_with_modes_0() {
    let options = ChannelOptions::default().modes(
        [ChannelMode::Publish, ChannelMode::Subscribe]
            .into_iter()
            .collect(),
    );
    assert!(options.modes.contains(ChannelMode::Publish));
    assert!(options.modes.contains(ChannelMode::Subscribe));
    assert_eq!(options.modes.iter().count(), 2);
}

/// realtime/unit/TB3/with-cipher-key-0
#[test]
fn tb3_with_cipher_key_0() {
    let key = "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=";
    let options = ChannelOptions::default().cipher(CipherParams::from_base64_key(key).unwrap());
    let cipher = options.cipher.as_ref().expect("cipher set");
    // The core names algorithm, key length and mode together (TZ2a-c).
    assert!(
        cipher.algorithm().starts_with("aes"),
        "{}",
        cipher.algorithm()
    );
    assert_eq!(cipher.key_length(), 256);
}

// ---- RTS3b, RTS3c, RTS3c1, RTL16: options on channels ------------------------------------

/// realtime/unit/RTS3b/options-set-on-new-0
#[test]
fn rts3b_options_set_on_new_0() {
    let name = "test-RTS3b";
    let mut h = Harness::new(key_options());
    let options = ChannelOptions::default()
        .param("rewind", "1")
        .modes(ChannelModes::EMPTY.with(ChannelMode::Subscribe));
    assert_eq!(get_with(&mut h, name, options), Ok(Completion::Done));
    let channel = h.client.channel(name).expect("created");
    assert_eq!(channel.options().params["rewind"], "1");
    assert!(channel.options().modes.contains(ChannelMode::Subscribe));
}

/// realtime/unit/RTS3c/options-updated-existing-0
#[test]
fn rts3c_options_updated_existing_0() {
    // attachOnSubscribe is the adapter's (TB4); the cipher is the core's.
    let name = "test-RTS3c";
    let mut h = Harness::new(key_options());
    assert_eq!(
        get_with(&mut h, name, ChannelOptions::default()),
        Ok(Completion::Done)
    );
    let cipher = CipherParams::from_key(&[7; 16]).unwrap();
    let new_options = ChannelOptions::default().cipher(cipher.clone());
    assert_eq!(get_with(&mut h, name, new_options), Ok(Completion::Done));
    assert_eq!(names(&h), vec![name.to_owned()], "the same channel");
    let channel = h.client.channel(name).unwrap();
    assert_eq!(channel.options().cipher.as_ref(), Some(&cipher));
    assert!(h.sent().is_empty(), "no reattachment");
}

/// realtime/unit/RTS3c1/error-reattach-params-0
#[test]
fn rts3c1_error_reattach_params_0() {
    let name = "test-RTS3c1";
    let mut h = connected_harness(cooperative_service());
    get(&mut h, name);
    attach_ok(&mut h, name);
    assert_eq!(h.channel_state(name), Attached);
    let attaches = h.sent_with(Action::Attach).len();

    let new_options = ChannelOptions::default().param("rewind", "1");
    let err = get_with(&mut h, name, new_options).expect_err("get refuses");
    assert_eq!(err.code, 40000);

    let channel = h.client.channel(name).unwrap();
    assert!(channel.options().params.is_empty(), "options unchanged");
    assert_eq!(channel.state(), Attached);
    assert_eq!(h.sent_with(Action::Attach).len(), attaches, "no reattach");
}

/// realtime/unit/RTS3c1/error-reattach-modes-1
#[test]
fn rts3c1_error_reattach_modes_1() {
    // Attaching with the connection not yet up: no ATTACH is sent (RTL4i).
    let name = "test-RTS3c1-attaching";
    let mut h = Harness::new(key_options());
    get(&mut h, name);
    let attach = h.attach(name);
    assert_eq!(h.channel_state(name), Attaching);

    let new_options =
        ChannelOptions::default().modes(ChannelModes::EMPTY.with(ChannelMode::Subscribe));
    let err = get_with(&mut h, name, new_options).expect_err("get refuses");
    assert_eq!(err.code, 40000);
    assert!(h.client.channel(name).unwrap().options().modes.is_empty());
    assert_eq!(h.completion(attach), None, "the attach still waits");
}

/// realtime/unit/RTL16/set-options-updates-0
#[test]
fn rtl16_set_options_updates_0() {
    // attachOnSubscribe is the adapter's (TB4); params are the core's.
    let name = "test-RTL16";
    let mut h = Harness::new(key_options());
    get(&mut h, name);
    let op = set_options(
        &mut h,
        name,
        ChannelOptions::default().param("delta", "vcdiff"),
    );
    assert_eq!(outcome(&h, op), Ok(Completion::Done));
    let channel = h.client.channel(name).unwrap();
    assert_eq!(channel.options().params["delta"], "vcdiff");
}

/// realtime/unit/RTL16a/triggers-reattach-0
#[test]
fn rtl16a_triggers_reattach_0() {
    let name = "test-RTL16a";
    let mut h = connected_harness(cooperative_service());
    get(&mut h, name);
    attach_ok(&mut h, name);
    assert_eq!(h.channel_state(name), Attached);
    let mark = h.events.len();

    let op = set_options(&mut h, name, ChannelOptions::default().param("rewind", "1"));
    assert_eq!(outcome(&h, op), Ok(Completion::Done));

    let changes = channel_changes_since(&h, name, mark);
    assert!(
        changes.iter().any(|c| c.current == Attaching),
        "{changes:?}"
    );
    assert_eq!(h.channel_state(name), Attached);
    let channel = h.client.channel(name).unwrap();
    assert_eq!(channel.options().params["rewind"], "1");
    let attach = h.sent_with(Action::Attach).pop().unwrap();
    assert_eq!(attach.params, Some(params(&[("rewind", "1")])));
}

// ---- RTS5, DO2: derived channels --------------------------------------------------------

/// `client.channels.getDerived(name, derive, options)`: the derived name,
/// then `get` with the options.
fn get_derived(
    h: &mut Harness,
    name: &str,
    derive: &DeriveOptions,
    options: Option<ChannelOptions>,
) -> String {
    let derived = derived_channel_name(name, derive, options.as_ref());
    match options {
        Some(options) => {
            assert_eq!(get_with(h, &derived, options), Ok(Completion::Done));
        }
        None => get(h, &derived),
    }
    derived
}

fn derive(filter: &str) -> DeriveOptions {
    DeriveOptions {
        filter: filter.into(),
    }
}

/// realtime/unit/RTS5a/creates-derived-channel-0
#[test]
fn rts5a_creates_derived_channel_0() {
    let base = "test-RTS5a";
    let mut h = Harness::new(key_options());
    let name = get_derived(&mut h, base, &derive("name == 'foo'"), None);
    let channel = h.client.channel(&name).expect("created");
    assert!(channel.name().starts_with("[filter="), "{name}");
    assert!(channel.name().ends_with(&format!("]{base}")), "{name}");
}

/// realtime/unit/RTS5a1/filter-base64-encoded-0
#[test]
fn rts5a1_filter_base64_encoded_0() {
    use base64::Engine as _;
    let base = "test-RTS5a1";
    let filter = "name == 'test'";
    let mut h = Harness::new(key_options());
    let name = get_derived(&mut h, base, &derive(filter), None);
    let expected_encoded = base64::engine::general_purpose::STANDARD.encode(filter);
    assert_eq!(expected_encoded, "bmFtZSA9PSAndGVzdCc=");
    assert_eq!(
        h.client.channel(&name).unwrap().name(),
        format!("[filter={expected_encoded}]{base}")
    );
}

/// realtime/unit/RTS5a2/derived-with-params-0
#[test]
fn rts5a2_derived_with_params_0() {
    let base = "test-RTS5a2";
    let mut h = Harness::new(key_options());
    let options = ChannelOptions::default()
        .param("rewind", "1")
        .param("delta", "vcdiff");
    let name = get_derived(&mut h, base, &derive("type == 'message'"), Some(options));
    let name = h.client.channel(&name).unwrap().name().to_owned();

    assert!(name.ends_with(&format!("]{base}")), "{name}");
    let qualifier = &name[1..name.find(']').unwrap()];
    assert!(qualifier.starts_with("filter="), "{qualifier}");
    let (_, query) = qualifier.split_once('?').expect("params in the qualifier");
    let parsed: BTreeMap<String, String> = query
        .split('&')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect();
    assert_eq!(parsed["rewind"], "1");
    assert_eq!(parsed["delta"], "vcdiff");
    assert_eq!(parsed.len(), 2);
}

/// realtime/unit/RTS5/get-derived-with-options-0
#[test]
fn rts5_get_derived_with_options_0() {
    // attachOnSubscribe is the adapter's (TB4); modes are the core's.
    let base = "test-RTS5";
    let mut h = Harness::new(key_options());
    let options = ChannelOptions::default().modes(ChannelModes::EMPTY.with(ChannelMode::Subscribe));
    let name = get_derived(&mut h, base, &derive("true"), Some(options));
    let channel = h.client.channel(&name).unwrap();
    assert!(channel.options().modes.contains(ChannelMode::Subscribe));
}

/// realtime/unit/DO2a/filter-attribute-0
#[test]
fn do2a_filter_attribute_0() {
    let derive_options = derive("name == 'event' && data.count > 10");
    assert_eq!(derive_options.filter, "name == 'event' && data.count > 10");
}

// ---- RTL15: channel properties ----------------------------------------------------------

/// A service that answers ATTACH with ATTACHED carrying channelSerial
/// `serial(n)` for the n-th ATTACH, and DETACH with DETACHED.
fn serial_service(serial: impl Fn(usize) -> Option<String> + 'static) -> MessageHandler {
    let mut attach_count = 0;
    Box::new(move |pm| {
        let channel = pm.channel.clone().unwrap_or_default();
        match pm.action {
            Action::Attach => {
                attach_count += 1;
                let mut out = attached(&channel);
                match serial(attach_count) {
                    Some(s) => out.channel_serial = Some(s),
                    None => return vec![],
                }
                vec![Reply::Send(out)]
            }
            Action::Detach => vec![Reply::Send(detached(&channel, None))],
            _ => vec![],
        }
    })
}

fn serial_001() -> MessageHandler {
    serial_service(|_| Some("serial-001".into()))
}

fn attach_serial(h: &Harness, name: &str) -> Option<String> {
    h.client
        .channel(name)
        .and_then(|c| c.attach_serial().map(str::to_owned))
}

fn channel_serial(h: &Harness, name: &str) -> Option<String> {
    h.client
        .channel(name)
        .and_then(|c| c.channel_serial().map(str::to_owned))
}

/// realtime/unit/RTL15c/attach-serial-from-attached-0
#[test]
fn rtl15c_attach_serial_from_attached_0() {
    let name = "test-RTL15c";
    let mut h = Harness::connecting_ok(key_options());
    h.on_message = Some(serial_service(|n| Some(format!("attach-serial-{n}"))));
    get(&mut h, name);
    assert_eq!(attach_serial(&h, name), None);

    h.connect();
    h.await_state(ably_proto::client::ConnectionState::Connected, SEC);
    attach_ok(&mut h, name);
    assert_eq!(attach_serial(&h, name).as_deref(), Some("attach-serial-1"));

    let op = h.detach(name);
    assert_eq!(outcome(&h, op), Ok(Completion::Done));
    attach_ok(&mut h, name);
    assert_eq!(attach_serial(&h, name).as_deref(), Some("attach-serial-2"));
}

/// realtime/unit/RTL15c/attach-serial-server-reattach-1
#[test]
fn rtl15c_attach_serial_server_reattach_1() {
    let name = "test-RTL15c-update";
    let mut h = connected_harness(serial_service(|_| Some("initial-serial".into())));
    get(&mut h, name);
    attach_ok(&mut h, name);
    assert_eq!(attach_serial(&h, name).as_deref(), Some("initial-serial"));

    h.send_to_client(attached_with(name, Flags::NONE, Some("updated-serial")));
    assert_eq!(attach_serial(&h, name).as_deref(), Some("updated-serial"));
}

/// realtime/unit/RTL15c/attach-serial-not-updated-resumed-2
#[test]
fn rtl15c_attach_serial_not_updated_resumed_2() {
    let name = "test-RTL15c-resumed";
    let mut h = connected_harness(serial_service(|_| Some("initial-serial".into())));
    get(&mut h, name);
    attach_ok(&mut h, name);
    assert_eq!(attach_serial(&h, name).as_deref(), Some("initial-serial"));

    h.send_to_client(attached_with(name, Flags::RESUMED, Some("resumed-serial")));
    assert_eq!(channel_serial(&h, name).as_deref(), Some("resumed-serial"));
    assert_eq!(attach_serial(&h, name).as_deref(), Some("initial-serial"));
}

/// realtime/unit/RTL15b/channel-serial-from-attached-0
#[test]
fn rtl15b_channel_serial_from_attached_0() {
    let name = "test-RTL15b-attached";
    let mut h = Harness::connecting_ok(key_options());
    h.on_message = Some(serial_001());
    get(&mut h, name);
    assert_eq!(channel_serial(&h, name), None);

    h.connect();
    h.await_state(ably_proto::client::ConnectionState::Connected, SEC);
    attach_ok(&mut h, name);
    assert_eq!(channel_serial(&h, name).as_deref(), Some("serial-001"));
}

/// realtime/unit/RTL15b/channel-serial-from-messages-1
#[test]
fn rtl15b_channel_serial_from_messages_1() {
    let name = "test-RTL15b-messages";
    let mut h = connected_harness(serial_001());
    get(&mut h, name);
    attach_ok(&mut h, name);
    assert_eq!(channel_serial(&h, name).as_deref(), Some("serial-001"));

    let mut message = message_frame(name, vec![Message::new("event", "data")]);
    message.channel_serial = Some("serial-002".into());
    h.send_to_client(message);
    assert_eq!(channel_serial(&h, name).as_deref(), Some("serial-002"));

    let mut presence = presence_frame(name, vec![]);
    presence.channel_serial = Some("serial-003".into());
    h.send_to_client(presence);
    assert_eq!(channel_serial(&h, name).as_deref(), Some("serial-003"));
}

/// realtime/unit/RTL15b/serial-not-updated-empty-2
#[test]
fn rtl15b_serial_not_updated_empty_2() {
    let name = "test-RTL15b-noupdate";
    let mut h = connected_harness(serial_001());
    get(&mut h, name);
    attach_ok(&mut h, name);
    assert_eq!(channel_serial(&h, name).as_deref(), Some("serial-001"));

    h.send_to_client(message_frame(name, vec![Message::new("event", "data")]));
    assert_eq!(h.messages(name).len(), 1, "the MESSAGE was processed");
    assert_eq!(channel_serial(&h, name).as_deref(), Some("serial-001"));
}

/// realtime/unit/RTL15b/serial-not-updated-irrelevant-3
#[test]
fn rtl15b_serial_not_updated_irrelevant_3() {
    let name = "test-RTL15b-irrelevant";
    let mut h = connected_harness(serial_001());
    get(&mut h, name);
    attach_ok(&mut h, name);
    assert_eq!(channel_serial(&h, name).as_deref(), Some("serial-001"));

    let mut pm = ProtocolMessage::for_channel(Action::Detached, name);
    pm.channel_serial = Some("serial-should-not-apply".into());
    pm.error = Some(ErrorInfo::new(90198, 500, "Detached"));
    h.send_to_client(pm);

    // RTL13a: reattached at once.
    assert_eq!(h.channel_state(name), Attached);
    let attaches = h.sent_with(Action::Attach);
    assert_eq!(attaches.len(), 2);
    assert_eq!(
        attaches[1].channel_serial.as_deref(),
        Some("serial-001"),
        "the DETACHED did not set it"
    );
    assert_eq!(channel_serial(&h, name).as_deref(), Some("serial-001"));
}

/// realtime/unit/RTL15b1/serial-cleared-detached-0
#[test]
fn rtl15b1_serial_cleared_detached_0() {
    let name = "test-RTL15b1-detached";
    let mut h = connected_harness(serial_001());
    get(&mut h, name);
    attach_ok(&mut h, name);
    assert_eq!(channel_serial(&h, name).as_deref(), Some("serial-001"));

    let op = h.detach(name);
    assert_eq!(outcome(&h, op), Ok(Completion::Done));
    assert_eq!(h.channel_state(name), Detached);
    assert_eq!(channel_serial(&h, name), None);
}

/// RTL15b2 (which replaced RTL15b1): SUSPENDED keeps the channelSerial.
/// The UTS test `RTL15b1/serial-cleared-suspended-1` asserts the replaced
/// rule and is excused; this checks the current one on its scenario.
#[test]
fn rtl15b2_serial_kept_on_suspended() {
    let name = "test-RTL15b1-suspended";
    let mut h = Harness::connecting_ok(ClientOptions {
        realtime_request_timeout: Duration::from_millis(100),
        ..key_options()
    });
    h.on_message = Some(serial_service(|n| {
        (n == 1).then(|| "serial-001".to_owned())
    }));
    h.connect();
    h.await_state(ably_proto::client::ConnectionState::Connected, SEC);
    get(&mut h, name);
    attach_ok(&mut h, name);
    assert_eq!(channel_serial(&h, name).as_deref(), Some("serial-001"));

    h.send_to_client(detached(name, Some(ErrorInfo::new(90198, 500, "Detached"))));
    assert_eq!(h.channel_state(name), Attaching);
    h.advance_ms(150);
    assert_eq!(h.channel_state(name), Suspended);
    assert_eq!(channel_serial(&h, name).as_deref(), Some("serial-001"));
}

/// realtime/unit/RTL15b1/serial-cleared-failed-2
#[test]
fn rtl15b1_serial_cleared_failed_2() {
    let name = "test-RTL15b1-failed";
    let mut h = connected_harness(serial_001());
    get(&mut h, name);
    attach_ok(&mut h, name);
    assert_eq!(channel_serial(&h, name).as_deref(), Some("serial-001"));

    h.send_to_client(channel_error(name, 40160, 401, "Not permitted"));
    assert_eq!(h.channel_state(name), Failed);
    assert_eq!(channel_serial(&h, name), None);
}

//! Receiving messages (RTL7, RTL17, RTL22, MFI) and delta decoding (RTL18,
//! RTL19, RTL20, RTL21, PC3), from `channel_subscribe.md` and
//! `channel_delta_decoding.md`.

use ably_proto::client::{ChannelState, Completion, MessageFilter};
use ably_proto::{Action, Data, ErrorInfo, Message};
use serde_json::json;

use crate::chan_subscribe_util::*;
use crate::harness::*;

/// The messages delivered on `channel` that `filter` selects.
fn filtered<'a>(h: &'a Harness, channel: &str, filter: &MessageFilter) -> Vec<&'a Message> {
    h.messages(channel)
        .into_iter()
        .filter(|m| filter.matches(m))
        .collect()
}

fn data_of(messages: &[&Message]) -> Vec<Data> {
    messages.iter().map(|m| m.data.clone()).collect()
}

/// A connected client with an attached channel, as most subscribe tests
/// start.
fn attached_harness(channel: &str) -> Harness {
    let mut h = connected_harness(attach_detach());
    get_channel(&mut h, channel);
    attach_ok(&mut h, channel);
    h
}

/// realtime/unit/RTL7a/subscribe-all-messages-0
#[test]
fn rtl7a_subscribe_all_messages_0() {
    let ch = "test-RTL7a";
    let mut h = attached_harness(ch);
    send_messages(&mut h, ch, vec![msg(Some("event1"), "data1")]);
    send_messages(&mut h, ch, vec![msg(Some("event2"), "data2")]);
    send_messages(&mut h, ch, vec![msg(None, "data3")]);
    let got = h.messages(ch);
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].name.as_deref(), Some("event1"));
    assert_eq!(got[0].data, Data::from("data1"));
    assert_eq!(got[1].name.as_deref(), Some("event2"));
    assert_eq!(got[1].data, Data::from("data2"));
    assert_eq!(got[2].name, None);
    assert_eq!(got[2].data, Data::from("data3"));
}

/// realtime/unit/RTL7a/multiple-messages-per-protocol-1
#[test]
fn rtl7a_multiple_messages_per_protocol_1() {
    let ch = "test-RTL7a-multi";
    let mut h = attached_harness(ch);
    send_messages(
        &mut h,
        ch,
        vec![
            msg(Some("batch1"), "first"),
            msg(Some("batch2"), "second"),
            msg(Some("batch3"), "third"),
        ],
    );
    let names: Vec<_> = h.messages(ch).iter().map(|m| m.name.clone()).collect();
    assert_eq!(
        names,
        vec![
            Some("batch1".to_owned()),
            Some("batch2".to_owned()),
            Some("batch3".to_owned())
        ]
    );
}

/// realtime/unit/RTL7b/name-filtered-subscribe-0
#[test]
fn rtl7b_name_filtered_subscribe_0() {
    let ch = "test-RTL7b";
    let mut h = attached_harness(ch);
    send_messages(&mut h, ch, vec![msg(Some("other"), "should-not-receive")]);
    send_messages(&mut h, ch, vec![msg(Some("target"), "should-receive")]);
    send_messages(&mut h, ch, vec![msg(None, "no-name-should-not-receive")]);
    let got = filtered(&h, ch, &MessageFilter::name("target"));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].name.as_deref(), Some("target"));
    assert_eq!(got[0].data, Data::from("should-receive"));
}

/// realtime/unit/RTL7b/multiple-name-subscriptions-1
#[test]
fn rtl7b_multiple_name_subscriptions_1() {
    let ch = "test-RTL7b-multi";
    let mut h = attached_harness(ch);
    send_messages(
        &mut h,
        ch,
        vec![
            msg(Some("alpha"), "a1"),
            msg(Some("beta"), "b1"),
            msg(Some("alpha"), "a2"),
            msg(Some("gamma"), "g1"),
        ],
    );
    let alpha = filtered(&h, ch, &MessageFilter::name("alpha"));
    let beta = filtered(&h, ch, &MessageFilter::name("beta"));
    assert_eq!(data_of(&alpha), vec![Data::from("a1"), Data::from("a2")]);
    assert_eq!(data_of(&beta), vec![Data::from("b1")]);
}

/// realtime/unit/RTL7g/implicit-attach-initialized-0
#[test]
fn rtl7g_implicit_attach_initialized_0() {
    let ch = "test-RTL7g";
    let mut h = connected_harness(attach_detach());
    get_channel(&mut h, ch);
    assert_eq!(h.channel_state(ch), ChannelState::Initialized);
    // subscribe() on an initialized channel: the adapter attaches.
    h.attach(ch);
    assert_eq!(h.channel_state(ch), ChannelState::Attached);
    assert_eq!(attaches(&h).len(), 1);
    send_messages(&mut h, ch, vec![msg(Some("test"), "hello")]);
    assert_eq!(h.messages(ch).len(), 1);
}

/// realtime/unit/RTL7g/implicit-attach-detached-1
#[test]
fn rtl7g_implicit_attach_detached_1() {
    let ch = "test-RTL7g-detached";
    let mut h = connected_harness(attach_detach());
    get_channel(&mut h, ch);
    attach_ok(&mut h, ch);
    detach_ok(&mut h, ch);
    assert_eq!(h.channel_state(ch), ChannelState::Detached);
    assert_eq!(attaches(&h).len(), 1);
    // subscribe() on a detached channel: the adapter attaches.
    h.attach(ch);
    assert_eq!(h.channel_state(ch), ChannelState::Attached);
    assert_eq!(attaches(&h).len(), 2);
}

/// realtime/unit/RTL7g/listener-registered-attach-fails-2
#[test]
fn rtl7g_listener_registered_attach_fails_2() {
    let ch = "test-RTL7g-fail";
    let mut h = connected_harness(Box::new(|pm| match pm.action {
        Action::Attach => {
            let mut err =
                ably_proto::ProtocolMessage::for_channel(Action::Error, "test-RTL7g-fail");
            err.error = Some(ErrorInfo::new(40160, 401, "Not permitted"));
            vec![Reply::Send(err)]
        }
        _ => vec![],
    }));
    get_channel(&mut h, ch);
    // subscribe(): the adapter registers the listener and attaches.
    let implicit = h.attach(ch);
    assert_eq!(h.channel_state(ch), ChannelState::Failed);
    assert_eq!(result(&h, implicit).unwrap_err().code, 40160);
    h.on_message = Some(attach_detach());
    attach_ok(&mut h, ch);
    send_messages(&mut h, ch, vec![msg(Some("test"), "after-reattach")]);
    assert_eq!(delivered_data(&h, ch), vec![Data::from("after-reattach")]);
}

/// realtime/unit/RTL7h/no-attach-on-subscribe-0
#[test]
fn rtl7h_no_attach_on_subscribe_0() {
    let ch = "test-RTL7h";
    let mut h = connected_harness(attach_detach());
    get_channel(&mut h, ch);
    assert_eq!(h.channel_state(ch), ChannelState::Initialized);
    // subscribe() with attachOnSubscribe false sends the core nothing, and
    // the core never attaches a channel by itself.
    h.advance(SEC);
    assert_eq!(h.channel_state(ch), ChannelState::Initialized);
    assert_eq!(attaches(&h).len(), 0);
}

/// realtime/unit/RTL7g/no-attach-when-attached-3
#[test]
fn rtl7g_no_attach_when_attached_3() {
    let ch = "test-RTL7g-already";
    let mut h = attached_harness(ch);
    assert_eq!(attaches(&h).len(), 1);
    // Even if an adapter attached again, an attached channel sends nothing.
    let op = h.attach(ch);
    assert_eq!(h.completion(op), Some(Ok(Completion::Done)));
    assert_eq!(h.channel_state(ch), ChannelState::Attached);
    assert_eq!(attaches(&h).len(), 1);
}

/// realtime/unit/RTL7g/no-attach-when-attaching-4
#[test]
fn rtl7g_no_attach_when_attaching_4() {
    let ch = "test-RTL7g-attaching";
    let mut h = connected_harness(silent());
    get_channel(&mut h, ch);
    h.attach(ch);
    assert_eq!(h.channel_state(ch), ChannelState::Attaching);
    assert_eq!(attaches(&h).len(), 1);
    // Even if an adapter attached again, an attaching channel sends nothing.
    h.attach(ch);
    assert_eq!(h.channel_state(ch), ChannelState::Attaching);
    assert_eq!(attaches(&h).len(), 1);
}

/// realtime/unit/RTL17/no-delivery-when-not-attached-0
#[test]
fn rtl17_no_delivery_when_not_attached_0() {
    let ch = "test-RTL17";
    let mut h = connected_harness(silent());
    get_channel(&mut h, ch);
    h.attach(ch);
    assert_eq!(h.channel_state(ch), ChannelState::Attaching);
    send_messages(
        &mut h,
        ch,
        vec![msg(Some("premature"), "should-not-deliver")],
    );
    assert!(h.messages(ch).is_empty());
}

/// realtime/unit/RTL7f/no-echo-messages-0
///
/// The core leaves echo suppression to the service: with echoMessages
/// false it connects with `echo=false` (the spec's server-side variant).
#[test]
fn rtl7f_no_echo_messages_0() {
    let mut opts = key_options();
    opts.echo_messages = false;
    let h = connected_harness_with(opts, attach_detach());
    assert_eq!(h.last().param("echo").as_deref(), Some("false"));
    let mut opts = key_options();
    opts.echo_messages = true;
    let h = connected_harness_with(opts, attach_detach());
    assert_eq!(h.last().param("echo").as_deref(), Some("true"));
}

/// realtime/unit/RTL22a/filter-matching-name-0
#[test]
fn rtl22a_filter_matching_name_0() {
    let ch = "test-RTL22a-name";
    let mut h = attached_harness(ch);
    send_messages(&mut h, ch, vec![msg(Some("target-event"), "match-1")]);
    send_messages(&mut h, ch, vec![msg(Some("other-event"), "no-match")]);
    send_messages(&mut h, ch, vec![msg(Some("target-event"), "match-2")]);
    send_messages(&mut h, ch, vec![msg(None, "no-name")]);
    let filter = MessageFilter {
        name: Some("target-event".into()),
        ..MessageFilter::default()
    };
    let got = filtered(&h, ch, &filter);
    assert_eq!(got.len(), 2);
    assert!(
        got.iter()
            .all(|m| m.name.as_deref() == Some("target-event"))
    );
    assert_eq!(
        data_of(&got),
        vec![Data::from("match-1"), Data::from("match-2")]
    );
}

/// realtime/unit/RTL22a/filter-matching-ref-timeserial-1
#[test]
fn rtl22a_filter_matching_ref_timeserial_1() {
    let ch = "test-RTL22a-ref-timeserial";
    let mut h = attached_harness(ch);
    let reference = |ts: &str, ty: &str| json!({"ref": {"timeserial": ts, "type": ty}});
    send_messages(
        &mut h,
        ch,
        vec![msg_extras(
            "reply",
            "match",
            reference("abc123@1700000000000-0", "com.ably.reply"),
        )],
    );
    send_messages(
        &mut h,
        ch,
        vec![msg_extras(
            "reply",
            "no-match",
            reference("xyz789@1700000000000-0", "com.ably.reply"),
        )],
    );
    send_messages(&mut h, ch, vec![msg(Some("plain"), "no-ref")]);
    send_messages(
        &mut h,
        ch,
        vec![msg_extras(
            "reaction",
            "match-2",
            reference("abc123@1700000000000-0", "com.ably.reaction"),
        )],
    );
    let filter = MessageFilter {
        ref_timeserial: Some("abc123@1700000000000-0".into()),
        ..MessageFilter::default()
    };
    let got = filtered(&h, ch, &filter);
    assert_eq!(
        data_of(&got),
        vec![Data::from("match"), Data::from("match-2")]
    );
}

/// realtime/unit/RTL22b/filter-isref-false-0
#[test]
fn rtl22b_filter_isref_false_0() {
    let ch = "test-RTL22b-isref-false";
    let mut h = attached_harness(ch);
    send_messages(&mut h, ch, vec![msg(Some("plain"), "no-extras")]);
    send_messages(
        &mut h,
        ch,
        vec![msg_extras(
            "reply",
            "has-ref",
            json!({"ref": {"timeserial": "abc123@1700000000000-0", "type": "com.ably.reply"}}),
        )],
    );
    send_messages(
        &mut h,
        ch,
        vec![msg_extras(
            "annotated",
            "extras-no-ref",
            json!({"headers": {"custom-key": "custom-value"}}),
        )],
    );
    send_messages(
        &mut h,
        ch,
        vec![msg_extras(
            "reaction",
            "also-has-ref",
            json!({"ref": {"timeserial": "xyz789@1700000000000-0", "type": "com.ably.reaction"}}),
        )],
    );
    let filter = MessageFilter {
        is_ref: Some(false),
        ..MessageFilter::default()
    };
    let got = filtered(&h, ch, &filter);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].name.as_deref(), Some("plain"));
    assert_eq!(got[0].data, Data::from("no-extras"));
    assert_eq!(got[1].name.as_deref(), Some("annotated"));
    assert_eq!(got[1].data, Data::from("extras-no-ref"));
}

/// realtime/unit/RTL22c/filter-multiple-criteria-0
#[test]
fn rtl22c_filter_multiple_criteria_0() {
    let ch = "test-RTL22c-multi";
    let mut h = attached_harness(ch);
    let reference = |ts: &str, ty: &str| json!({"ref": {"timeserial": ts, "type": ty}});
    let frames = vec![
        msg_extras(
            "comment",
            "both-match",
            reference("abc@1700000000000-0", "com.ably.reply"),
        ),
        msg_extras(
            "comment",
            "name-only",
            reference("def@1700000000000-0", "com.ably.reaction"),
        ),
        msg_extras(
            "update",
            "type-only",
            reference("ghi@1700000000000-0", "com.ably.reply"),
        ),
        msg(Some("update"), "neither"),
        msg_extras(
            "comment",
            "both-match-2",
            reference("jkl@1700000000000-0", "com.ably.reply"),
        ),
    ];
    for m in frames {
        send_messages(&mut h, ch, vec![m]);
    }
    let filter = MessageFilter {
        name: Some("comment".into()),
        ref_type: Some("com.ably.reply".into()),
        ..MessageFilter::default()
    };
    let got = filtered(&h, ch, &filter);
    assert_eq!(
        data_of(&got),
        vec![Data::from("both-match"), Data::from("both-match-2")]
    );
}

/// realtime/unit/RTL22a/filter-matching-clientid-2
#[test]
fn rtl22a_filter_matching_clientid_2() {
    let ch = "test-RTL22a-clientid";
    let mut h = attached_harness(ch);
    let from = |name: &str, data: &str, client: Option<&str>| Message {
        client_id: client.map(str::to_owned),
        ..msg(Some(name), data)
    };
    send_messages(&mut h, ch, vec![from("chat", "hello", Some("user-42"))]);
    send_messages(&mut h, ch, vec![from("chat", "hi", Some("user-99"))]);
    send_messages(&mut h, ch, vec![from("system", "broadcast", None)]);
    send_messages(&mut h, ch, vec![from("chat", "world", Some("user-42"))]);
    let filter = MessageFilter {
        client_id: Some("user-42".into()),
        ..MessageFilter::default()
    };
    let got = filtered(&h, ch, &filter);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].data, Data::from("hello"));
    assert_eq!(got[0].client_id.as_deref(), Some("user-42"));
    assert_eq!(got[1].data, Data::from("world"));
    assert_eq!(got[1].client_id.as_deref(), Some("user-42"));
}

// ---- delta decoding -------------------------------------------------------------

/// A connected client with the decoder (if any) set and `channel`
/// attached; the service answers ATTACH with ATTACHED while `answer`
/// says so for the ATTACH number given (1-based).
fn delta_harness(
    channel: &str,
    decoder: Option<MockVcdiff>,
    mut answer: impl FnMut(usize) -> bool + 'static,
) -> Harness {
    let mut attach_count = 0;
    let mut h = connected_harness(Box::new(move |pm| match pm.action {
        Action::Attach => {
            attach_count += 1;
            if answer(attach_count) {
                vec![Reply::Send(attached(
                    pm.channel.as_deref().unwrap_or_default(),
                ))]
            } else {
                vec![]
            }
        }
        _ => vec![],
    }));
    if let Some(decoder) = decoder {
        h.client.set_vcdiff_decoder(Box::new(decoder));
    }
    get_channel(&mut h, channel);
    attach_ok(&mut h, channel);
    h
}

/// A string payload's delta, as it travels for a string message: binary
/// with `utf-8/vcdiff` (and `/base64` added on JSON).
fn string_delta(id: &str, from: &str, base: &str, value: &str) -> Message {
    wire_msg(
        id,
        Data::from(encode_str(base, value)),
        Some("utf-8/vcdiff"),
        Some(from),
    )
}

/// realtime/unit/RTL21/ascending-index-order-0
#[test]
fn rtl21_ascending_index_order_0() {
    let ch = "test-RTL21-order";
    let mut h = delta_harness(ch, Some(MockVcdiff::working()), |_| true);
    h.send_to_client(delta_frame(
        ch,
        "serial:0",
        None,
        vec![
            wire_msg("serial:0", Data::from("first message"), None, None),
            string_delta("serial:1", "serial:0", "first message", "second message"),
            string_delta("serial:2", "serial:1", "second message", "third message"),
        ],
    ));
    assert_eq!(
        delivered_data(&h, ch),
        vec![
            Data::from("first message"),
            Data::from("second message"),
            Data::from("third message")
        ]
    );
}

/// realtime/unit/RTL19b/stores-base-payload-0
#[test]
fn rtl19b_stores_base_payload_0() {
    let ch = "test-RTL19b-base";
    let mut h = delta_harness(ch, Some(MockVcdiff::working()), |_| true);
    h.send_to_client(delta_frame(
        ch,
        "msg-1:0",
        None,
        vec![wire_msg("msg-1:0", Data::from("base payload"), None, None)],
    ));
    assert_eq!(h.messages(ch).len(), 1);
    h.send_to_client(delta_frame(
        ch,
        "msg-2:0",
        None,
        vec![string_delta(
            "msg-2:0",
            "msg-1:0",
            "base payload",
            "updated payload",
        )],
    ));
    assert_eq!(
        delivered_data(&h, ch),
        vec![Data::from("base payload"), Data::from("updated payload")]
    );
}

/// realtime/unit/RTL19b/json-wire-form-base-1
#[test]
fn rtl19b_json_wire_form_base_1() {
    let ch = "test-RTL19b-json-base";
    let mut h = delta_harness(ch, Some(MockVcdiff::working()), |_| true);
    let json_string = r#"{"foo":"bar","count":1}"#;
    let new_json_string = r#"{"foo":"baz","count":2}"#;
    h.send_to_client(delta_frame(
        ch,
        "msg-1:0",
        None,
        vec![wire_msg(
            "msg-1:0",
            Data::from(json_string),
            Some("json"),
            None,
        )],
    ));
    assert_eq!(h.messages(ch).len(), 1);
    h.send_to_client(delta_frame(
        ch,
        "msg-2:0",
        None,
        vec![string_delta(
            "msg-2:0",
            "msg-1:0",
            json_string,
            new_json_string,
        )],
    ));
    let got = delivered_data(&h, ch);
    assert_eq!(got[0], Data::json(json!({"foo": "bar", "count": 1})));
    assert_eq!(got[1], Data::from(new_json_string));
}

/// realtime/unit/RTL19a/base64-decoded-before-store-0
#[test]
fn rtl19a_base64_decoded_before_store_0() {
    let ch = "test-RTL19a-base64";
    let mut h = delta_harness(ch, Some(MockVcdiff::working()), |_| true);
    let base_binary = vec![0x48, 0x65, 0x6C, 0x6C, 0x6F];
    let new_binary = vec![0x57, 0x6F, 0x72, 0x6C, 0x64];
    h.send_to_client(delta_frame(
        ch,
        "msg-1:0",
        None,
        vec![wire_msg(
            "msg-1:0",
            Data::from("SGVsbG8="),
            Some("base64"),
            None,
        )],
    ));
    assert_eq!(h.messages(ch).len(), 1);
    // Binary data goes out as base64 text with `vcdiff/base64` on JSON.
    let delta = encode_bin(&base_binary, &new_binary);
    h.send_to_client(delta_frame(
        ch,
        "msg-2:0",
        None,
        vec![wire_msg(
            "msg-2:0",
            Data::from(delta),
            Some("vcdiff"),
            Some("msg-1:0"),
        )],
    ));
    assert_eq!(
        delivered_data(&h, ch),
        vec![Data::from(base_binary), Data::from(new_binary)]
    );
}

/// realtime/unit/RTL19c/delta-result-becomes-base-0
#[test]
fn rtl19c_delta_result_becomes_base_0() {
    let ch = "test-RTL19c-chain";
    let mut h = delta_harness(ch, Some(MockVcdiff::working()), |_| true);
    h.send_to_client(delta_frame(
        ch,
        "msg-1:0",
        None,
        vec![wire_msg("msg-1:0", Data::from("value-A"), None, None)],
    ));
    h.send_to_client(delta_frame(
        ch,
        "msg-2:0",
        None,
        vec![string_delta("msg-2:0", "msg-1:0", "value-A", "value-B")],
    ));
    h.send_to_client(delta_frame(
        ch,
        "msg-3:0",
        None,
        vec![string_delta("msg-3:0", "msg-2:0", "value-B", "value-C")],
    ));
    assert_eq!(
        delivered_data(&h, ch),
        vec![
            Data::from("value-A"),
            Data::from("value-B"),
            Data::from("value-C")
        ]
    );
}

/// realtime/unit/RTL20/mismatched-id-triggers-recovery-0
#[test]
fn rtl20_mismatched_id_triggers_recovery_0() {
    let ch = "test-RTL20-mismatch";
    let mut h = delta_harness(ch, Some(MockVcdiff::working()), |_| true);
    h.send_to_client(delta_frame(
        ch,
        "msg-1:0",
        Some("serial-1"),
        vec![wire_msg("msg-1:0", Data::from("base payload"), None, None)],
    ));
    let changes_before = h.channel_changes(ch).len();
    let attaches_before = attaches(&h).len();
    h.send_to_client(delta_frame(
        ch,
        "msg-2:0",
        None,
        vec![string_delta(
            "msg-2:0",
            "msg-999:0",
            "base payload",
            "new payload",
        )],
    ));
    let sent = attaches(&h);
    assert!(sent.len() > attaches_before);
    assert_eq!(
        sent.last().unwrap().channel_serial.as_deref(),
        Some("serial-1")
    );
    let changes = changes_since(&h, ch, changes_before);
    let attaching = changes
        .iter()
        .find(|c| c.current == ChannelState::Attaching)
        .expect("went attaching");
    assert_eq!(attaching.reason.as_ref().map(|r| r.code), Some(40018));
    assert_eq!(h.messages(ch).len(), 1, "the delta was discarded");
}

/// realtime/unit/RTL20/last-id-updated-on-decode-1
#[test]
fn rtl20_last_id_updated_on_decode_1() {
    let ch = "test-RTL20-id-update";
    let mut h = delta_harness(ch, Some(MockVcdiff::working()), |_| true);
    h.send_to_client(delta_frame(
        ch,
        "serial:0",
        None,
        vec![
            wire_msg("serial:0", Data::from("first"), None, None),
            wire_msg("serial:1", Data::from("second"), None, None),
        ],
    ));
    assert_eq!(h.messages(ch).len(), 2);
    h.send_to_client(delta_frame(
        ch,
        "msg-2:0",
        None,
        vec![string_delta("msg-2:0", "serial:1", "second", "third")],
    ));
    assert_eq!(
        delivered_data(&h, ch),
        vec![
            Data::from("first"),
            Data::from("second"),
            Data::from("third")
        ]
    );
}

/// realtime/unit/PC3/vcdiff-plugin-decodes-0
#[test]
fn pc3_vcdiff_plugin_decodes_0() {
    let ch = "test-PC3-decode";
    let decoder = MockVcdiff::working();
    let mut h = delta_harness(ch, Some(decoder.clone()), |_| true);
    h.send_to_client(delta_frame(
        ch,
        "msg-1:0",
        None,
        vec![wire_msg("msg-1:0", Data::from("hello world"), None, None)],
    ));
    assert_eq!(h.messages(ch).len(), 1);
    let delta = encode_str("hello world", "goodbye world");
    h.send_to_client(delta_frame(
        ch,
        "msg-2:0",
        None,
        vec![string_delta(
            "msg-2:0",
            "msg-1:0",
            "hello world",
            "goodbye world",
        )],
    ));
    let calls = decoder.calls();
    assert_eq!(calls.len(), 1, "PC3: the plugin decoded the delta");
    assert_eq!(calls[0].1, b"hello world".to_vec(), "PC3a: UTF-8 base");
    assert_eq!(calls[0].0, delta, "PC3a: the raw delta");
    assert_eq!(h.messages(ch)[1].data, Data::from("goodbye world"));
}

/// realtime/unit/PC3/no-plugin-fails-1
#[test]
fn pc3_no_plugin_fails_1() {
    let ch = "test-PC3-no-plugin";
    let mut h = delta_harness(ch, None, |_| true);
    h.send_to_client(delta_frame(
        ch,
        "msg-1:0",
        None,
        vec![wire_msg(
            "msg-1:0",
            Data::from("some-delta-data"),
            Some("vcdiff"),
            Some("msg-0:0"),
        )],
    ));
    assert_eq!(h.channel_state(ch), ChannelState::Failed);
    let reason = h.client.channel(ch).unwrap().error_reason().cloned();
    assert_eq!(reason.map(|r| r.code), Some(40019));
    assert!(h.messages(ch).is_empty());
}

/// realtime/unit/RTL18/decode-failure-recovery-0
#[test]
fn rtl18_decode_failure_recovery_0() {
    let ch = "test-RTL18-recovery";
    let mut h = delta_harness(ch, Some(MockVcdiff::failing()), |_| true);
    h.send_to_client(delta_frame(
        ch,
        "msg-1:0",
        Some("serial-100"),
        vec![wire_msg("msg-1:0", Data::from("base payload"), None, None)],
    ));
    assert_eq!(h.messages(ch).len(), 1);
    let changes_before = h.channel_changes(ch).len();
    let attaches_before = attaches(&h).len();
    let logs_before = logs(&h).len();
    h.send_to_client(delta_frame(
        ch,
        "msg-2:0",
        Some("serial-200"),
        vec![wire_msg(
            "msg-2:0",
            Data::from("fake-delta-payload"),
            Some("vcdiff"),
            Some("msg-1:0"),
        )],
    ));
    // RTL18a: logged with 40018.
    assert!(
        logs(&h)[logs_before..]
            .iter()
            .any(|r| r.error.as_ref().map(|e| e.code) == Some(40018))
    );
    // RTL18b: discarded.
    assert_eq!(delivered_data(&h, ch), vec![Data::from("base payload")]);
    // RTL18c: ATTACH from the previous message's serial, via ATTACHING.
    let sent = attaches(&h);
    assert!(sent.len() > attaches_before);
    assert_eq!(
        sent.last().unwrap().channel_serial.as_deref(),
        Some("serial-100")
    );
    let changes = changes_since(&h, ch, changes_before);
    let attaching = changes
        .iter()
        .find(|c| c.current == ChannelState::Attaching)
        .expect("went attaching");
    assert_eq!(attaching.reason.as_ref().map(|r| r.code), Some(40018));
}

/// realtime/unit/RTL18c/recovery-completes-on-attached-0
#[test]
fn rtl18c_recovery_completes_on_attached_0() {
    let ch = "test-RTL18c-complete";
    let mut h = delta_harness(ch, Some(MockVcdiff::failing_on(&[1])), |_| true);
    h.send_to_client(delta_frame(
        ch,
        "msg-1:0",
        Some("serial-1"),
        vec![wire_msg("msg-1:0", Data::from("original base"), None, None)],
    ));
    assert_eq!(h.messages(ch).len(), 1);
    h.send_to_client(delta_frame(
        ch,
        "msg-2:0",
        Some("serial-2"),
        vec![wire_msg(
            "msg-2:0",
            Data::from("bad-delta"),
            Some("vcdiff"),
            Some("msg-1:0"),
        )],
    ));
    // ATTACHING, then the service's ATTACHED.
    assert_eq!(
        h.channel_states(ch)[h.channel_states(ch).len() - 2..],
        [ChannelState::Attaching, ChannelState::Attached]
    );
    assert_eq!(h.channel_state(ch), ChannelState::Attached);
    h.send_to_client(delta_frame(
        ch,
        "msg-3:0",
        Some("serial-3"),
        vec![wire_msg(
            "msg-3:0",
            Data::from("fresh after recovery"),
            None,
            None,
        )],
    ));
    assert_eq!(h.channel_state(ch), ChannelState::Attached);
    assert_eq!(
        delivered_data(&h, ch),
        vec![
            Data::from("original base"),
            Data::from("fresh after recovery")
        ]
    );
}

/// realtime/unit/RTL18/single-recovery-at-time-1
#[test]
fn rtl18_single_recovery_at_time_1() {
    let ch = "test-RTL18-single-recovery";
    // Only the first ATTACH is answered: the recovery stays in progress.
    let mut h = delta_harness(ch, Some(MockVcdiff::failing()), |n| n == 1);
    let initial = attaches(&h).len();
    h.send_to_client(delta_frame(
        ch,
        "msg-1:0",
        Some("serial-1"),
        vec![wire_msg("msg-1:0", Data::from("base"), None, None)],
    ));
    h.send_to_client(delta_frame(
        ch,
        "msg-2:0",
        None,
        vec![wire_msg(
            "msg-2:0",
            Data::from("bad-delta-1"),
            Some("vcdiff"),
            Some("msg-1:0"),
        )],
    ));
    assert_eq!(h.channel_state(ch), ChannelState::Attaching);
    h.send_to_client(delta_frame(
        ch,
        "msg-3:0",
        None,
        vec![wire_msg(
            "msg-3:0",
            Data::from("bad-delta-2"),
            Some("vcdiff"),
            Some("msg-2:0"),
        )],
    ));
    assert_eq!(attaches(&h).len() - initial, 1);
}

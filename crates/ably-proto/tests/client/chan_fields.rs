//! Fields received messages inherit from their ProtocolMessage (TM2a,
//! TM2c, TM2f), and the core's part of `history(untilAttach)` (RTL10b).
//! Ported from `uts/realtime/unit/channels/{message_field_population,
//! channel_history}.md`.

use ably_proto::client::ConnectionState;
use ably_proto::{Action, Data, Flags, Message, ProtocolMessage};

use crate::chan_publish_util::*;
use crate::harness::*;

/// Connected with `channel` attached, as every TM2 test starts.
fn attached_channel(channel: &str) -> Harness {
    let mut h = connected_harness(attach_only());
    attach_ok(&mut h, channel);
    h
}

/// A MESSAGE frame with the frame-level id, connectionId and timestamp.
fn frame(
    channel: &str,
    id: Option<&str>,
    connection_id: Option<&str>,
    timestamp: Option<i64>,
    messages: Vec<Message>,
) -> ProtocolMessage {
    let mut pm = message_frame(channel, messages);
    pm.id = id.map(str::to_owned);
    pm.connection_id = connection_id.map(str::to_owned);
    pm.timestamp = timestamp;
    pm
}

/// realtime/unit/TM2a/id-from-protocol-message-0
#[test]
fn tm2a_id_from_protocol_message_0() {
    let ch = "test-TM2a-id";
    let mut h = attached_channel(ch);
    h.send_to_client(frame(
        ch,
        Some("abc123:5"),
        Some("abc123"),
        Some(1_700_000_000_000),
        vec![
            Message::new("first", "a"),
            Message::new("second", "b"),
            Message::new("third", "c"),
        ],
    ));

    let ids: Vec<_> = h.messages(ch).iter().map(|m| m.id.clone()).collect();
    assert_eq!(
        ids,
        [
            Some("abc123:5:0".to_owned()),
            Some("abc123:5:1".to_owned()),
            Some("abc123:5:2".to_owned())
        ]
    );
}

/// realtime/unit/TM2a/existing-id-not-overwritten-1
#[test]
fn tm2a_existing_id_not_overwritten_1() {
    let ch = "test-TM2a-existing";
    let mut h = attached_channel(ch);
    let mut m = Message::new("msg", "hello");
    m.id = Some("my-custom-id".into());
    h.send_to_client(frame(ch, Some("proto-id:0"), None, None, vec![m]));

    let received = h.messages(ch);
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].id.as_deref(), Some("my-custom-id"));
}

/// realtime/unit/TM2a/no-id-without-protocol-id-2
#[test]
fn tm2a_no_id_without_protocol_id_2() {
    let ch = "test-TM2a-no-proto-id";
    let mut h = attached_channel(ch);
    h.send_to_client(frame(
        ch,
        None,
        Some("abc123"),
        None,
        vec![Message::new("msg", "hello")],
    ));

    let received = h.messages(ch);
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].id, None);
}

/// realtime/unit/TM2c/connectionid-from-protocol-0
#[test]
fn tm2c_connectionid_from_protocol_0() {
    let ch = "test-TM2c-connId";
    let mut h = attached_channel(ch);
    h.send_to_client(frame(
        ch,
        Some("msg:0"),
        Some("server-conn-xyz"),
        None,
        vec![Message::new("msg", "hello")],
    ));

    let received = h.messages(ch);
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0].connection_id.as_deref(),
        Some("server-conn-xyz")
    );
}

/// realtime/unit/TM2c/existing-connectionid-kept-1
#[test]
fn tm2c_existing_connectionid_kept_1() {
    let ch = "test-TM2c-existing";
    let mut h = attached_channel(ch);
    let mut m = Message::new("msg", "hello");
    m.connection_id = Some("msg-conn".into());
    h.send_to_client(frame(ch, Some("msg:0"), Some("proto-conn"), None, vec![m]));

    let received = h.messages(ch);
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].connection_id.as_deref(), Some("msg-conn"));
}

/// realtime/unit/TM2f/timestamp-from-protocol-0
#[test]
fn tm2f_timestamp_from_protocol_0() {
    let ch = "test-TM2f-timestamp";
    let mut h = attached_channel(ch);
    h.send_to_client(frame(
        ch,
        Some("msg:0"),
        None,
        Some(1_700_000_000_000),
        vec![Message::new("msg", "hello")],
    ));

    let received = h.messages(ch);
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].timestamp, Some(1_700_000_000_000));
}

/// realtime/unit/TM2f/existing-timestamp-kept-1
#[test]
fn tm2f_existing_timestamp_kept_1() {
    let ch = "test-TM2f-existing";
    let mut h = attached_channel(ch);
    let mut m = Message::new("msg", "hello");
    m.timestamp = Some(1_600_000_000_000);
    h.send_to_client(frame(
        ch,
        Some("msg:0"),
        None,
        Some(1_700_000_000_000),
        vec![m],
    ));

    let received = h.messages(ch);
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].timestamp, Some(1_600_000_000_000));
}

/// realtime/unit/TM2a/all-fields-populated-together-3
#[test]
fn tm2a_all_fields_populated_together_3() {
    let ch = "test-TM2-all-fields";
    let mut h = attached_channel(ch);
    h.send_to_client(frame(
        ch,
        Some("connId:7"),
        Some("connId"),
        Some(1_700_000_000_000),
        vec![Message::new("first", "a"), Message::new("second", "b")],
    ));

    let received = h.messages(ch);
    assert_eq!(received.len(), 2);
    for (i, (name, data)) in [("first", "a"), ("second", "b")].into_iter().enumerate() {
        let m = received[i];
        assert_eq!(m.id, Some(format!("connId:7:{i}")));
        assert_eq!(m.connection_id.as_deref(), Some("connId"));
        assert_eq!(m.timestamp, Some(1_700_000_000_000));
        assert_eq!(m.name.as_deref(), Some(name));
        assert_eq!(m.data, Data::from(data));
    }
}

/// realtime/unit/RTL10b/adds-from-serial-0
///
/// The history request itself is the adapter's; the core gives the
/// `fromSerial` it must carry: the attachSerial from ATTACHED (RTL15c).
#[test]
fn rtl10b_adds_from_serial_0() {
    let ch = "test-RTL10b";
    let attach_serial = "serial-abc:0";
    let mut h = connected_harness(Box::new(move |pm| match pm.action {
        Action::Attach => vec![Reply::Send(attached_with(
            pm.channel.as_deref().unwrap(),
            Flags::NONE,
            Some(attach_serial),
        ))],
        _ => vec![],
    }));
    attach_ok(&mut h, ch);
    assert_eq!(
        h.channel_state(ch),
        ably_proto::client::ChannelState::Attached
    );

    assert_eq!(h.client.until_attach_serial(ch), Ok(Some(attach_serial)));
}

/// realtime/unit/RTL10b/errors-when-not-attached-1
///
/// The core refuses the `untilAttach` bound of a channel that is not
/// attached; the adapter fails `history` with that error.
#[test]
fn rtl10b_errors_when_not_attached_1() {
    let ch = "test-RTL10b-err";
    let h = connected_harness(attach_only());
    assert_eq!(h.client.state(), ConnectionState::Connected);
    assert_eq!(
        h.channel_state(ch),
        ably_proto::client::ChannelState::Initialized
    );

    let err = h
        .client
        .until_attach_serial(ch)
        .expect_err("untilAttach needs an attached channel");
    assert_eq!(err.code, 40000);
    assert_eq!(err.status_code, Some(400));
}

//! The client set-up that `benches/client.rs` and
//! `examples/profile_receive.rs` share (included by `#[path]`): a client
//! connected over a scripted transport, and the bench's frames.

use ably_proto::client::{
    Client, ClientOptions, Command, Generation, Input, Instant, Now, OpId, Output, TransportEvent,
};
use ably_proto::codec::{self, Format};
use ably_proto::{Action, ConnectionDetails, Message, ProtocolMessage};
use bytes::Bytes;

/// The time every input is given.
pub const NOW: Now = Now::new(Instant::from_millis(1_000), 1_700_000_000_000);

/// A client connected over a scripted transport, with `channels` attached.
pub fn connected_client(format: Format, channels: &[String]) -> (Client, Generation) {
    let opts = ClientOptions {
        key: Some("app.key:secret".into()),
        format,
        auto_connect: false,
        ..ClientOptions::default()
    };
    let mut client = Client::new(opts, [1; 32], NOW).expect("options");
    client.handle(NOW, Input::Command(OpId(1), Command::Connect));
    let generation = drain(&mut client)
        .into_iter()
        .find_map(|o| match o {
            Output::OpenTransport { generation, .. } => Some(generation),
            _ => None,
        })
        .expect("a transport");
    let mut connected = ProtocolMessage::new(Action::Connected);
    connected.connection_id = Some("conn".into());
    connected.connection_details = Some(ConnectionDetails {
        connection_key: Some("key".into()),
        max_idle_interval: Some(15_000),
        ..ConnectionDetails::default()
    });
    client.handle(NOW, Input::Transport(generation, TransportEvent::Opened));
    client.handle(
        NOW,
        Input::Transport(generation, TransportEvent::Frame(frame(&connected, format))),
    );
    for (i, name) in channels.iter().enumerate() {
        client.handle(
            NOW,
            Input::Command(
                OpId(10 + i as u64),
                Command::Attach {
                    channel: name.clone(),
                },
            ),
        );
        let attached = ProtocolMessage::for_channel(Action::Attached, name);
        client.handle(
            NOW,
            Input::Transport(generation, TransportEvent::Frame(frame(&attached, format))),
        );
    }
    drain(&mut client);
    (client, generation)
}

/// A frame's bytes.
pub fn frame(pm: &ProtocolMessage, format: Format) -> Bytes {
    Bytes::from(codec::encode(pm, format).expect("encode"))
}

/// Every output waiting.
pub fn drain(client: &mut Client) -> Vec<Output> {
    std::iter::from_fn(|| client.poll()).collect()
}

/// The bench's MESSAGE frame: one small string message.
pub fn message_frame(channel: &str, serial: u64, format: Format) -> Bytes {
    let mut pm = ProtocolMessage::for_channel(Action::Message, channel);
    pm.id = Some(format!("publisher:{serial}"));
    pm.connection_id = Some("publisher".into());
    pm.timestamp = Some(1_700_000_000_000 + serial as i64);
    pm.channel_serial = Some(format!("{serial:016x}"));
    pm.messages = vec![Message::new("tick", "a small string payload")];
    frame(&pm, format)
}

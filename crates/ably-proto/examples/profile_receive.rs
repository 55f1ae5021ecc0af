//! A callgrind harness for the client core's receive path: the loop of
//! `benches/client.rs` (`receive` and `fan_in_100_channels`) without
//! criterion, so that instruction counts per frame are repeatable on a
//! noisy machine.
//!
//! ```text
//! cargo build --release -p ably-proto --example profile_receive
//! valgrind --tool=callgrind --toggle-collect='*run_frames*' \
//!     target/release/examples/profile_receive msgpack one 10000
//! ```
//!
//! Arguments: `json` or `msgpack`; `one` (every frame on one channel, the
//! same bytes) or `fan-in` (frames spread over 100 attached channels); the
//! number of frames. Only `run_frames` is counted with the toggle above:
//! divide the total by the number of frames. The frames' outputs are
//! dropped inside the loop, as an application would after delivery.

use std::hint::black_box;

use ably_proto::client::{
    Client, ClientOptions, Command, Generation, Input, Instant, Now, OpId, Output, TransportEvent,
};
use ably_proto::codec::{self, Format};
use ably_proto::{Action, ConnectionDetails, Message, ProtocolMessage};
use bytes::Bytes;

const NOW: Now = Now::new(Instant::from_millis(1_000), 1_700_000_000_000);

fn frame(pm: &ProtocolMessage, format: Format) -> Bytes {
    Bytes::from(codec::encode(pm, format).expect("encode"))
}

fn drain(client: &mut Client) -> Vec<Output> {
    std::iter::from_fn(|| client.poll()).collect()
}

/// A client connected over a scripted transport, with `channels` attached.
fn connected_client(format: Format, channels: &[String]) -> (Client, Generation) {
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

/// The bench's MESSAGE frame: one small string message.
fn message_frame(channel: &str, serial: u64, format: Format) -> Bytes {
    let mut pm = ProtocolMessage::for_channel(Action::Message, channel);
    pm.id = Some(format!("publisher:{serial}"));
    pm.connection_id = Some("publisher".into());
    pm.timestamp = Some(1_700_000_000_000 + serial as i64);
    pm.channel_serial = Some(format!("{serial:016x}"));
    pm.messages = vec![Message::new("tick", "a small string payload")];
    frame(&pm, format)
}

/// The measured loop: each frame in, its outputs out and dropped.
#[inline(never)]
fn run_frames(client: &mut Client, generation: Generation, frames: &[Bytes]) -> usize {
    let mut delivered = 0;
    for f in frames {
        client.handle(
            NOW,
            Input::Transport(generation, TransportEvent::Frame(f.clone())),
        );
        while let Some(output) = client.poll() {
            delivered += usize::from(matches!(output, Output::Event(_)));
            black_box(output);
        }
    }
    delivered
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: profile_receive json|msgpack one|fan-in FRAMES";
    let [format, scenario, count] = args.as_slice() else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let format = match format.as_str() {
        "json" => Format::Json,
        "msgpack" => Format::MsgPack,
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    };
    let count: usize = count.parse().expect("FRAMES is a number");
    let names: Vec<String> = match scenario.as_str() {
        "one" => vec!["ch".to_owned()],
        "fan-in" => (0..100).map(|i| format!("channel-{i}")).collect(),
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    };
    let frames: Vec<Bytes> = if names.len() == 1 {
        vec![message_frame(&names[0], 1, format); count]
    } else {
        (0..count)
            .map(|i| message_frame(&names[i % names.len()], i as u64, format))
            .collect()
    };
    let (mut client, generation) = connected_client(format, &names);
    let delivered = run_frames(&mut client, generation, &frames);
    assert_eq!(delivered, count, "one message event per frame");
    println!("{delivered} frames delivered");
}

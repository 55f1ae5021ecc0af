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

#[path = "../benches/support/client_setup.rs"]
mod client_setup;

use std::hint::black_box;

use ably_proto::client::{Client, Generation, Input, Output, TransportEvent};
use ably_proto::codec::Format;
use bytes::Bytes;
use client_setup::{NOW, connected_client, message_frame};

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

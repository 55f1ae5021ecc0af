//! Drives a hub with arbitrary bytes: the `hub_frames` fuzz target and the
//! replay of its corpus in `tests/fuzz_corpus.rs`. Not part of the API.
//!
//! The input is read as lines. A line that is a command does that:
//! `open N QUERY` opens transport N (1-4) with a query string (the key is
//! `app.key:secret`), `close N` closes it, `wait MS` lets time pass,
//! `json N TEXT` / `hex N HEX` send a frame on transport N. Any other line
//! is sent as a frame on transport 1 (JSON) and 2 (MessagePack) as it is.
//! Transports 1 (JSON) and 2 (MessagePack) are open from the start.
//!
//! After every step the outputs are checked: each frame goes to a transport
//! that is open and decodes in that transport's format; nothing goes to a
//! transport after its Close.

use std::collections::BTreeMap;

use ably_proto::codec::{Format, decode_protocol_message};
use bytes::Bytes;

use super::{ConnectRequest, Hub, HubConfig, Input, Now, Output, TransportId};

/// The key of the app the fuzzer connects with.
pub const FUZZ_KEY: &str = "app.key:secret";

struct Driver {
    hub: Hub,
    now: Now,
    open: BTreeMap<u64, Format>,
}

impl Driver {
    fn step(&mut self, input: Input) {
        self.hub.handle(self.now, input);
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(out) = self.hub.poll_output() {
            match out {
                Output::Send {
                    transport,
                    data,
                    binary,
                } => {
                    let format = *self.open.get(&transport.0).unwrap_or_else(|| {
                        panic!("frame for transport {transport:?} that is not open")
                    });
                    assert_eq!(
                        binary,
                        format.is_binary(),
                        "frame type differs from the format"
                    );
                    if let Err(e) = decode_protocol_message(&data, format) {
                        panic!("the hub sent a frame it cannot decode: {e}");
                    }
                }
                Output::Ping { transport } => {
                    assert!(
                        self.open.contains_key(&transport.0),
                        "ping for a closed transport"
                    );
                }
                Output::Stream { .. } => {}
                Output::Close { transport } => {
                    assert!(
                        self.open.remove(&transport.0).is_some(),
                        "close for a transport that is not open"
                    );
                }
            }
        }
    }

    fn open(&mut self, n: u64, query: &str) {
        if self.open.contains_key(&n) {
            return;
        }
        self.open.insert(n, ably_proto::codec::Format::default());
        let format = super::params::ConnectParams::format_of(query);
        self.open.insert(n, format);
        self.step(Input::Open {
            transport: TransportId(n),
            request: ConnectRequest {
                query: query.to_owned(),
                authorization: None,
            },
        });
    }

    fn frame(&mut self, n: u64, data: Vec<u8>) {
        if !self.open.contains_key(&n) {
            return;
        }
        self.step(Input::Frame {
            transport: TransportId(n),
            data: Bytes::from(data),
        });
    }
}

fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text
        .bytes()
        .filter_map(|b| (b as char).to_digit(16).map(|d| d as u8))
        .collect();
    digits
        .chunks(2)
        .map(|p| p.iter().fold(0, |acc, d| acc * 16 + d))
        .collect()
}

/// Runs one input. Panics only when an invariant breaks.
pub fn hub_frames(data: &[u8]) {
    let config = HubConfig {
        seed: 1,
        max_frame_size: 4096,
        max_message_size: 1024,
        sync_page_size: 3,
        ..HubConfig::default()
    };
    let mut d = Driver {
        hub: Hub::new(config),
        now: Now {
            mono_ms: 0,
            wall_ms: 1_700_000_000_000,
        },
        open: BTreeMap::new(),
    };
    if d.hub.add_app_with_key("app", FUZZ_KEY).is_err() {
        panic!("the fuzz key is valid");
    }
    d.open(1, &format!("key={FUZZ_KEY}&format=json&clientId=one"));
    d.open(
        2,
        &format!("key={FUZZ_KEY}&format=msgpack&heartbeats=false"),
    );
    for line in data.split(|b| *b == b'\n').take(2000) {
        let text = String::from_utf8_lossy(line);
        let mut parts = text.splitn(3, ' ');
        let cmd = parts.next().unwrap_or("");
        let n = parts.next().and_then(|n| n.parse::<u64>().ok());
        let rest = parts.next().unwrap_or("");
        match (cmd, n) {
            ("open", Some(n)) if (1..=4).contains(&n) => d.open(n, rest),
            ("close", Some(n)) => {
                if d.open.remove(&n).is_some() {
                    d.step(Input::Closed {
                        transport: TransportId(n),
                    });
                }
            }
            ("wait", Some(ms)) => {
                let ms = ms.min(600_000);
                d.now.mono_ms += ms;
                d.now.wall_ms += ms as i64;
                d.step(Input::Timeout);
            }
            ("json", Some(n)) => d.frame(n, rest.as_bytes().to_vec()),
            ("hex", Some(n)) => d.frame(n, hex(rest)),
            _ => {
                d.frame(1, line.to_vec());
                d.frame(2, line.to_vec());
            }
        }
    }
    // Let every timer run out: connections end, nothing panics.
    for _ in 0..4 {
        d.now.mono_ms += 200_000;
        d.now.wall_ms += 200_000;
        d.step(Input::Timeout);
    }
    d.step(Input::Shutdown);
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_small_script_runs() {
        super::hub_frames(
            b"json 1 {\"action\":10,\"channel\":\"c\"}\njson 1 {\"action\":14,\"channel\":\"c\",\"msgSerial\":0,\"presence\":[{\"action\":2}]}\nwait 20000\nclose 1\n{\"action\":99}\nhex 2 81a6616374696f6e0a\n",
        );
    }
}

//! Criterion benchmarks of the wire codec for representative frames.
//!
//! Four frames, shaped as the Ably service sends them, each in JSON and
//! MessagePack:
//!
//! | row         | frame                                                      |
//! |-------------|------------------------------------------------------------|
//! | `string`    | MESSAGE (15) with one short string message                 |
//! | `json10`    | MESSAGE (15) with 10 messages, each ~1 KiB JSON (`json`)   |
//! | `sync100`   | SYNC (16) with 100 PRESENT members, small JSON data        |
//! | `binary16k` | MESSAGE (15) with one 16 KiB binary message                |
//!
//! Benchmarks:
//!
//! - `decode/<row>/<format>`: the full receive path of a frame, as the
//!   client takes it: [`codec::decode_received`] (which, in JSON frames,
//!   checks `json` payloads in the pass that unescapes them),
//!   [`ProtocolMessage::fill_inherited_fields`] and the payload decode
//!   (`decode(None)`, RSL6) of every message and presence message. Dropping the decoded frame is included in the time.
//!   The `json` payloads are checked but not parsed into trees: that is
//!   left until the application looks at them (see [`ably_proto::Json`]).
//! - `decode_eager/<row>/<format>`: the same, then the value of every JSON
//!   payload is parsed ([`ably_proto::Json::value`]), as an application
//!   that reads every payload as a `serde_json::Value` does. Only for the
//!   rows with JSON payloads (`json10`, `sync100`).
//! - `encode/<row>/<format>`: the send path: the payload encode (RSL4) of
//!   every message and presence message, then [`codec::encode`]. The frame
//!   to encode is cloned outside the timed section.
//!
//! The throughput is given as `Elements` = messages (plus presence
//! messages) per frame, so criterion prints messages/s. Criterion takes one
//! throughput per benchmark; registering every benchmark twice (once with
//! `Bytes`) would double the run time, so MB/s is computed from the frame
//! size by `cargo xtask bench codec`, which also prints the frame sizes.
//!
//! With `ABLY_BENCH_PARTS` set, a `parts` group also times the steps of the
//! receive path one by one (see [`bench_parts`]).
//!
//! With `ABLY_BENCH_FRAMES_DIR` set, the encoded frames are first written to
//! `$ABLY_BENCH_FRAMES_DIR/<row>.json` and `<row>.msgpack`, so that the
//! ably-js harness (`xtask/js/codec-bench.mjs`) decodes identical bytes.
//!
//! Run with `cargo bench -p ably-proto --bench codec`, or with the ably-js
//! comparison through `cargo xtask bench codec`.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use ably_proto::codec::{self, Format};
use ably_proto::rand_core::{self, RngCore};
use ably_proto::{Action, Data, Message, PresenceAction, PresenceMessage, ProtocolMessage};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};

/// The connection that published the messages of every frame.
const CONNECTION_ID: &str = "hJ3kX9wQ2e";
/// The channel of every frame.
const CHANNEL: &str = "bench:orders";
/// The frame timestamp, milliseconds since the epoch.
const T0: i64 = 1_700_000_000_000;

/// One benchmark row: a frame before payload encoding, and its name.
struct Row {
    name: &'static str,
    /// The frame as the publisher built it (payloads not yet encoded).
    plain: ProtocolMessage,
}

impl Row {
    /// Messages plus presence messages in the frame.
    fn messages(&self) -> u64 {
        (self.plain.messages.len() + self.plain.presence.len()) as u64
    }

    /// The frame as it travels: payloads encoded (RSL4).
    fn wire(&self) -> ProtocolMessage {
        let mut pm = self.plain.clone();
        encode_payloads(&mut pm);
        pm
    }
}

/// An RNG for the payload encoder; only a cipher draws from it, and the
/// benchmarks use none.
struct NoRng;

impl RngCore for NoRng {
    fn next_u32(&mut self) -> u32 {
        0
    }
    fn next_u64(&mut self) -> u64 {
        0
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        dest.fill(0);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        dest.fill(0);
        Ok(())
    }
}

/// The fields the service sets on every MESSAGE or SYNC frame of the
/// channel.
fn frame(action: Action, msg_serial: u64, channel_serial: &str) -> ProtocolMessage {
    let mut pm = ProtocolMessage::for_channel(action, CHANNEL);
    pm.id = Some(format!("{CONNECTION_ID}:{msg_serial}"));
    pm.connection_id = Some(CONNECTION_ID.to_owned());
    pm.channel_serial = Some(channel_serial.to_owned());
    pm.timestamp = Some(T0 + msg_serial as i64);
    pm
}

/// A JSON object whose text is exactly 1024 bytes: an order with a few
/// lines, padded with a note.
fn order_json(seq: usize) -> Value {
    let lines: Vec<Value> = (0..5)
        .map(|i| {
            json!({
                "sku": format!("SKU-{:05}", seq * 10 + i),
                "description": format!("Widget model {i}, colour {}", ["red", "green", "blue"][i % 3]),
                "qty": i + 1,
                "unitPrice": 9.99 + i as f64,
                "inStock": i % 2 == 0,
            })
        })
        .collect();
    let mut order = json!({
        "type": "order.created",
        "seq": seq,
        "orderId": format!("ord-{:08}", 4200 + seq),
        "customer": {"id": format!("cust-{seq}"), "name": format!("Customer {seq}"), "tier": "gold"},
        "currency": "EUR",
        "lines": lines,
        "total": 74.95,
        "createdAt": "2023-11-14T22:13:20.000Z",
        "note": "",
    });
    let len = serde_json::to_string(&order).map_or(0, |s| s.len());
    assert!(len <= 1024, "order JSON is {len} bytes before padding");
    order["note"] = Value::String("x".repeat(1024 - len));
    order
}

/// The four rows.
fn rows() -> Vec<Row> {
    let channel_serial = |n: u64| format!("cbfkKvEABgOuza@{T0}-{n}");

    // One short string message.
    let mut string = frame(Action::Message, 10, &channel_serial(0));
    string.messages = vec![Message::new("greeting", "hello, world")];

    // Ten messages of ~1 KiB JSON object data, encoded as `json`.
    let mut json10 = frame(Action::Message, 11, &channel_serial(1));
    json10.messages = (0..10)
        .map(|i| Message::new("order", Data::json(order_json(i))))
        .collect();

    // A SYNC page of 100 PRESENT members with small JSON data.
    let mut sync100 = frame(Action::Sync, 12, "a1Bx9SHsQm:");
    sync100.presence = (0..100)
        .map(|i| {
            let member_conn = format!("mC{i:03}xQ7pZ");
            let mut p = PresenceMessage::new(
                PresenceAction::Present,
                Some(format!("user-{i:03}@example.com")),
                Data::json(json!({"status": "online", "name": format!("Member {i}")})),
            );
            p.id = Some(format!("{member_conn}:0:0"));
            p.connection_id = Some(member_conn);
            p.timestamp = Some(T0 - 60_000 + i);
            p
        })
        .collect();

    // One 16 KiB binary message of pseudo-random bytes.
    let mut state: u32 = 0x1234_5678;
    let blob: Vec<u8> = (0..16 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect();
    let mut binary16k = frame(Action::Message, 13, &channel_serial(2));
    binary16k.messages = vec![Message::new("blob", blob)];

    [
        ("string", string),
        ("json10", json10),
        ("sync100", sync100),
        ("binary16k", binary16k),
    ]
    .into_iter()
    .map(|(name, plain)| Row { name, plain })
    .collect()
}

/// The payload encode of the send path (RSL4), without a cipher.
fn encode_payloads(pm: &mut ProtocolMessage) {
    for m in &mut pm.messages {
        m.encode(None, &mut NoRng).expect("payload encode");
    }
    for p in &mut pm.presence {
        p.encode(None, &mut NoRng).expect("payload encode");
    }
}

/// The receive path of one frame, as the client takes it: parse (with
/// `json` payloads decoded as the JSON frame is read), inherit, payload
/// decode.
fn receive(bytes: &[u8], format: Format) -> ProtocolMessage {
    let mut pm = codec::decode_received(bytes, format).expect("decode frame");
    pm.fill_inherited_fields();
    for m in &mut pm.messages {
        m.decode(None).expect("payload decode");
    }
    for p in &mut pm.presence {
        p.decode(None).expect("payload decode");
    }
    pm
}

/// The receive path, then the value of every JSON payload parsed.
fn receive_eager(bytes: &[u8], format: Format) -> ProtocolMessage {
    let pm = receive(bytes, format);
    let datas = pm
        .messages
        .iter()
        .map(|m| &m.data)
        .chain(pm.presence.iter().map(|p| &p.data));
    for data in datas {
        if let Data::Json(json) = data {
            black_box(json.value());
        }
    }
    pm
}

/// Whether the frame has JSON payloads.
fn has_json(row: &Row) -> bool {
    let is_json = |d: &Data| matches!(d, Data::Json(_));
    row.plain.messages.iter().any(|m| is_json(&m.data))
        || row.plain.presence.iter().any(|p| is_json(&p.data))
}

/// The send path of one frame: payload encode, serialize.
fn send(pm: &mut ProtocolMessage, format: Format) -> Vec<u8> {
    encode_payloads(pm);
    codec::encode(pm, format).expect("encode frame")
}

const FORMATS: [(Format, &str); 2] = [(Format::Json, "json"), (Format::MsgPack, "msgpack")];

/// Checks that the receive path gives back the publisher's payloads.
fn check_round_trip(row: &Row, bytes: &[u8], format: Format) {
    let got = receive(bytes, format);
    let data = |pm: &ProtocolMessage| -> Vec<Data> {
        pm.messages
            .iter()
            .map(|m| m.data.clone())
            .chain(pm.presence.iter().map(|p| p.data.clone()))
            .collect()
    };
    assert_eq!(data(&got), data(&row.plain), "{} {format}", row.name);
    assert!(
        got.messages
            .iter()
            .all(|m| m.encoding.is_none() && m.id.is_some())
            && got.presence.iter().all(|p| p.encoding.is_none()),
        "{} {format}: not fully decoded",
        row.name
    );
}

/// Writes every frame to `dir` as `<row>.<format>`.
fn write_frames(dir: &Path, frames: &[(&str, &str, Vec<u8>)]) {
    std::fs::create_dir_all(dir).expect("create ABLY_BENCH_FRAMES_DIR");
    for (row, format, bytes) in frames {
        let path = dir.join(format!("{row}.{format}"));
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }
}

/// Registers the `decode`, `decode_eager` and `encode` groups.
fn benches(c: &mut Criterion) {
    let rows = rows();
    let mut frames = Vec::new();
    for row in &rows {
        let wire = row.wire();
        for (format, format_name) in FORMATS {
            let bytes = codec::encode(&wire, format).expect("encode frame");
            check_round_trip(row, &bytes, format);
            frames.push((row.name, format_name, bytes));
        }
    }
    if let Some(dir) = std::env::var_os("ABLY_BENCH_FRAMES_DIR") {
        write_frames(Path::new(&dir), &frames);
    }
    let frame = |row: &str, format: &str| -> &[u8] {
        frames
            .iter()
            .find(|(r, f, _)| *r == row && *f == format)
            .map(|(_, _, b)| b.as_slice())
            .expect("frame")
    };

    let mut group = c.benchmark_group("decode");
    for row in &rows {
        group.throughput(Throughput::Elements(row.messages()));
        for (format, format_name) in FORMATS {
            let bytes = frame(row.name, format_name);
            group.bench_function(BenchmarkId::new(row.name, format_name), |b| {
                b.iter(|| receive(black_box(bytes), format));
            });
        }
    }
    group.finish();

    let mut group = c.benchmark_group("decode_eager");
    for row in rows.iter().filter(|row| has_json(row)) {
        group.throughput(Throughput::Elements(row.messages()));
        for (format, format_name) in FORMATS {
            let bytes = frame(row.name, format_name);
            group.bench_function(BenchmarkId::new(row.name, format_name), |b| {
                b.iter(|| receive_eager(black_box(bytes), format));
            });
        }
    }
    group.finish();

    let mut group = c.benchmark_group("encode");
    for row in &rows {
        group.throughput(Throughput::Elements(row.messages()));
        for (format, format_name) in FORMATS {
            group.bench_function(BenchmarkId::new(row.name, format_name), |b| {
                b.iter_batched_ref(
                    || row.plain.clone(),
                    |pm| send(black_box(pm), format),
                    BatchSize::SmallInput,
                );
            });
        }
    }
    group.finish();

    if std::env::var_os("ABLY_BENCH_PARTS").is_some() {
        bench_parts(c, &rows, &frame);
    }
}

/// `parts/<row>/<format>/<step>`: the steps of the receive path on their
/// own, to see where its time goes. Only with `ABLY_BENCH_PARTS` set.
///
/// - `parse`: [`codec::decode_protocol_message`], the decoded frame dropped;
/// - `inherit`: [`ProtocolMessage::fill_inherited_fields`] on a parsed frame;
/// - `payload`: the payload decode of every message of a parsed frame;
/// - `drop`: dropping a fully decoded frame.
///
/// The frames for `inherit`, `payload` and `drop` are prepared outside the
/// timed section.
fn bench_parts<'a>(c: &mut Criterion, rows: &[Row], frame: &dyn Fn(&str, &str) -> &'a [u8]) {
    let mut group = c.benchmark_group("parts");
    for row in rows {
        group.throughput(Throughput::Elements(row.messages()));
        for (format, format_name) in FORMATS {
            let bytes = frame(row.name, format_name);
            let parsed = codec::decode_protocol_message(bytes, format).expect("decode frame");
            let mut inherited = parsed.clone();
            inherited.fill_inherited_fields();
            let id = |step: &str| BenchmarkId::new(row.name, format!("{format_name}/{step}"));
            group.bench_function(id("parse"), |b| {
                b.iter(|| codec::decode_protocol_message(black_box(bytes), format));
            });
            group.bench_function(id("inherit"), |b| {
                b.iter_batched_ref(
                    || parsed.clone(),
                    |pm| pm.fill_inherited_fields(),
                    BatchSize::SmallInput,
                );
            });
            group.bench_function(id("payload"), |b| {
                b.iter_batched_ref(
                    || inherited.clone(),
                    |pm| {
                        for m in &mut pm.messages {
                            m.decode(None).expect("payload decode");
                        }
                        for p in &mut pm.presence {
                            p.decode(None).expect("payload decode");
                        }
                    },
                    BatchSize::SmallInput,
                );
            });
            group.bench_function(id("drop"), |b| {
                b.iter_batched(|| receive(bytes, format), drop, BatchSize::SmallInput);
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = codec_benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = benches
}
criterion_main!(codec_benches);

//! The cost of the client core: frames handled per second and memory.
//!
//! - `receive/<format>`: one MESSAGE frame (one small string message) on an
//!   attached channel, decoded and delivered, per iteration;
//! - `fan_in_100_channels/<format>`: 100,000 MESSAGE frames spread over 100
//!   attached channels;
//! - `presence_sync_10k/<format>`: a SYNC of 10,000 members in 100 pages,
//!   from ATTACHED to sync complete.
//!
//! Before the timings it prints memory, counted by an allocator wrapper:
//! an idle connected client; the presence set after a 10k-member SYNC; and
//! the peak of the client's live heap during the SYNC and during the
//! 100,000-frame fan-in, sampled after every input (the frames themselves,
//! made beforehand, are not counted).

#[path = "support/client_setup.rs"]
mod client_setup;

use std::alloc::System;
use std::time::Duration;

use ably_proto::client::{Client, Generation, Input, TransportEvent};
use ably_proto::codec::Format;
use ably_proto::{Action, Data, Flags, PresenceAction, PresenceMessage, ProtocolMessage};
use bytes::Bytes;
use client_setup::{NOW, connected_client, frame, message_frame};
use criterion::{BatchSize, Criterion, Throughput, criterion_group};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn sync_pages(channel: &str, members: usize, per_page: usize, format: Format) -> Vec<Bytes> {
    let pages = members.div_ceil(per_page);
    (0..pages)
        .map(|page| {
            let mut pm = ProtocolMessage::for_channel(Action::Sync, channel);
            let cursor = if page + 1 == pages {
                String::new()
            } else {
                format!("c{page}")
            };
            pm.channel_serial = Some(format!("seq:{cursor}"));
            pm.presence = (page * per_page..((page + 1) * per_page).min(members))
                .map(|i| PresenceMessage {
                    id: Some(format!("conn{i}:0:0")),
                    action: PresenceAction::Present,
                    client_id: Some(format!("client-{i}")),
                    connection_id: Some(format!("conn{i}")),
                    encoding: None,
                    data: Data::from("member data"),
                    extras: None,
                    timestamp: Some(1_700_000_000_000),
                })
                .collect();
            frame(&pm, format)
        })
        .collect()
}

/// Runs a SYNC from ATTACHED to completion.
fn run_sync(
    client: &mut Client,
    generation: Generation,
    channel: &str,
    pages: &[Bytes],
    format: Format,
) {
    run_sync_sampled(client, generation, channel, pages, format, || {});
}

/// [`run_sync`], calling `after_each` after every page.
fn run_sync_sampled(
    client: &mut Client,
    generation: Generation,
    channel: &str,
    pages: &[Bytes],
    format: Format,
    mut after_each: impl FnMut(),
) {
    let attached = ProtocolMessage {
        flags: Flags::HAS_PRESENCE,
        ..ProtocolMessage::for_channel(Action::Attached, channel)
    };
    client.handle(
        NOW,
        Input::Transport(generation, TransportEvent::Frame(frame(&attached, format))),
    );
    for page in pages {
        client.handle(
            NOW,
            Input::Transport(generation, TransportEvent::Frame(page.clone())),
        );
        while client.poll().is_some() {}
        after_each();
    }
}

/// Bytes allocated and not freed since `region` began. stats_alloc
/// already counts a reallocation's growth in `bytes_allocated` (and its
/// shrinking in `bytes_deallocated`); `bytes_reallocated` is the same
/// change again, so adding it would count every grown buffer twice.
fn live(region: &Region<'_, System>) -> isize {
    let c = region.change();
    c.bytes_allocated as isize - c.bytes_deallocated as isize
}

fn memory_report() {
    for format in [Format::Json, Format::MsgPack] {
        let region = Region::new(GLOBAL);
        let client = connected_client(format, &[]);
        let idle = region.change();
        let idle_bytes = idle.bytes_allocated as isize - idle.bytes_deallocated as isize;

        let channel = "room".to_owned();
        let (mut client2, generation) = connected_client(format, std::slice::from_ref(&channel));
        let pages = sync_pages(&channel, 10_000, 100, format);
        let region = Region::new(GLOBAL);
        let mut sync_peak = 0;
        run_sync_sampled(&mut client2, generation, &channel, &pages, format, || {
            sync_peak = sync_peak.max(live(&region));
        });
        let retained = live(&region);
        assert_eq!(client2.presence_members(&channel).len(), 10_000);
        println!(
            "memory/{format}: idle connected client {idle_bytes} B; presence set of 10k members {retained} B ({} B per member); peak during the SYNC {sync_peak} B",
            retained / 10_000
        );

        let names: Vec<String> = (0..100).map(|i| format!("channel-{i}")).collect();
        let frames: Vec<Bytes> = (0..100_000)
            .map(|i| message_frame(&names[i % 100], i as u64, format))
            .collect();
        let (mut client3, generation) = connected_client(format, &names);
        let region = Region::new(GLOBAL);
        let mut fan_in_peak = 0;
        for f in &frames {
            client3.handle(
                NOW,
                Input::Transport(generation, TransportEvent::Frame(f.clone())),
            );
            while client3.poll().is_some() {}
            fan_in_peak = fan_in_peak.max(live(&region));
        }
        println!(
            "memory/{format}: peak during the fan-in of 100,000 frames over 100 channels {fan_in_peak} B above the attached client, {} B after",
            live(&region)
        );
        drop(client);
    }
}

fn benches(c: &mut Criterion) {
    for format in [Format::Json, Format::MsgPack] {
        let mut group = c.benchmark_group("receive");
        group.throughput(Throughput::Elements(1));
        let (mut client, generation) = connected_client(format, &["ch".to_owned()]);
        let bytes = message_frame("ch", 1, format);
        group.bench_function(format.param(), |b| {
            b.iter(|| {
                client.handle(
                    NOW,
                    Input::Transport(generation, TransportEvent::Frame(bytes.clone())),
                );
                while client.poll().is_some() {}
            })
        });
        group.finish();

        let mut group = c.benchmark_group("fan_in_100_channels");
        group
            .sample_size(10)
            .measurement_time(Duration::from_secs(5));
        group.throughput(Throughput::Elements(100_000));
        let names: Vec<String> = (0..100).map(|i| format!("channel-{i}")).collect();
        let frames: Vec<Bytes> = (0..100_000)
            .map(|i| message_frame(&names[i % 100], i as u64, format))
            .collect();
        let (mut client, generation) = connected_client(format, &names);
        group.bench_function(format.param(), |b| {
            b.iter(|| {
                for f in &frames {
                    client.handle(
                        NOW,
                        Input::Transport(generation, TransportEvent::Frame(f.clone())),
                    );
                    while client.poll().is_some() {}
                }
            })
        });
        group.finish();

        let mut group = c.benchmark_group("presence_sync_10k");
        group
            .sample_size(10)
            .measurement_time(Duration::from_secs(5));
        group.throughput(Throughput::Elements(10_000));
        let channel = "room".to_owned();
        let pages = sync_pages(&channel, 10_000, 100, format);
        group.bench_function(format.param(), |b| {
            b.iter_batched(
                || connected_client(format, std::slice::from_ref(&channel)),
                |(mut client, generation)| {
                    run_sync(&mut client, generation, &channel, &pages, format);
                    client
                },
                BatchSize::LargeInput,
            )
        });
        group.finish();
    }
}

criterion_group! {
    name = client;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    targets = benches
}

fn main() {
    memory_report();
    client();
    Criterion::default().configure_from_args().final_summary();
}

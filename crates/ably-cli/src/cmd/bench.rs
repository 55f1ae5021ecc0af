//! `ably bench pubsub`: publishers and subscribers in this process on one
//! channel of the configured service, measuring throughput and latency
//! and checking that every subscriber gets every message once, in order.
//!
//! Each message carries its publisher, its sequence number and when it
//! was sent (ns since the run began, one clock for the whole process) in
//! its first 20 bytes of binary data; the rest is padding up to `--size`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ably_proto::{Data, ErrorInfo, Message};
use serde_json::json;

use super::{Ctx, Failure, Outcome, unique};
use crate::args::PubsubArgs;
use crate::backend::{Client, Events, Next};
use crate::output::Style;

/// The most latency samples kept (subscribers x publishers x messages).
const MAX_SAMPLES: u64 = 10_000_000;
/// The most messages in one publish, and the most bytes.
const BATCH_MESSAGES: usize = 100;
const BATCH_BYTES: usize = 60_000;
/// How long subscribers wait for more after the publishers are done and
/// nothing has arrived.
const GRACE: Duration = Duration::from_secs(5);
/// The header in each message's data: publisher u32, sequence u64, sent
/// time u64, little-endian.
const HEADER: usize = 20;

/// Runs the benchmark and prints its report; fails unless nothing was
/// lost, duplicated or out of order.
pub fn pubsub(ctx: &Ctx, args: PubsubArgs) -> Outcome {
    let out = ctx.out;
    let (p, s, m) = (
        u64::from(args.publishers),
        u64::from(args.subscribers),
        args.messages,
    );
    if p * s * m > MAX_SAMPLES {
        return Err(ErrorInfo::new(
            40000,
            400,
            format!("publishers x subscribers x messages is at most {MAX_SAMPLES}"),
        )
        .into());
    }
    let target = ctx.target()?;
    let backend = ctx.backend()?;
    let channel = unique("bench");
    out.note(&format!(
        "bench: {p} publishers x {m} messages of {} bytes at {} to {s} subscribers \
         on {channel} ({})",
        args.size,
        if args.rate == 0 {
            "full speed".to_owned()
        } else {
            format!("{} msg/s each", args.rate)
        },
        target.address()
    ));
    let connect = |role: &str, i: u64| {
        ctx.connected(backend.as_ref(), &target, |o| {
            o.client_id = Some(format!("bench-{role}-{i}"));
        })
    };
    let mut subscribers = Vec::new();
    for i in 0..s {
        let client = connect("sub", i)?;
        let events = client.subscribe(&channel)?;
        subscribers.push((client, events));
    }
    let publishers: Vec<Box<dyn Client>> = (0..p)
        .map(|i| connect("pub", i))
        .collect::<Result<_, _>>()?;
    let publishers: Vec<Arc<dyn Client>> = publishers.into_iter().map(Arc::from).collect();

    let epoch = Instant::now();
    let done = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let received = Arc::new(AtomicU64::new(0));
    let mut sub_clients = Vec::new();
    let sub_threads: Vec<JoinHandle<Tally>> = subscribers
        .into_iter()
        .map(|(client, events)| {
            sub_clients.push(client);
            let (done, received) = (done.clone(), received.clone());
            std::thread::spawn(move || receive(events, p, m, epoch, &done, &received))
        })
        .collect();
    let pub_threads: Vec<JoinHandle<Result<(), ErrorInfo>>> = publishers
        .iter()
        .enumerate()
        .map(|(i, client)| {
            let (client, channel, sent) = (client.clone(), channel.clone(), sent.clone());
            let (size, rate) = (args.size as usize, args.rate);
            std::thread::spawn(move || {
                publish(
                    client.as_ref(),
                    &channel,
                    i as u32,
                    m,
                    size,
                    rate,
                    epoch,
                    &sent,
                )
            })
        })
        .collect();

    let total_sent = p * m;
    let total_expected = total_sent * s;
    let bar = (!out.json && out.stderr_is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(total_expected);
        bar.set_message("received");
        bar
    });
    let mut publish_error = None;
    let mut threads = pub_threads.into_iter().peekable();
    while threads.peek().is_some() {
        if let Some(bar) = &bar {
            bar.set_position(received.load(Ordering::Relaxed));
        }
        if threads.peek().is_some_and(|t| t.is_finished()) {
            if let Some(t) = threads.next() {
                match t.join() {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => publish_error = Some(e),
                    Err(_) => {
                        publish_error = Some(ErrorInfo::new(50000, 500, "a publisher panicked"))
                    }
                }
            }
            continue;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let publish_end = epoch.elapsed();
    done.store(true, Ordering::Relaxed);
    let mut tallies = Vec::new();
    let mut subs = sub_threads.into_iter().peekable();
    while subs.peek().is_some() {
        if let Some(bar) = &bar {
            bar.set_position(received.load(Ordering::Relaxed));
        }
        if subs.peek().is_some_and(|t| t.is_finished()) {
            if let Some(t) = subs.next() {
                tallies.push(t.join().unwrap_or_default());
            }
            continue;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    for c in publishers.iter() {
        let _ = c.close();
    }
    for c in &sub_clients {
        let _ = c.close();
    }
    if let Some(e) = publish_error {
        return Err(e.into());
    }

    let report = Report::new(&tallies, total_sent, s, publish_end);
    report.print(ctx, &args);
    if report.lost + report.duplicated + report.out_of_order + report.foreign > 0 {
        return Err(Failure::Check(format!(
            "{} lost, {} duplicated, {} out of order, {} not from this run",
            report.lost, report.duplicated, report.out_of_order, report.foreign
        )));
    }
    Ok(())
}

/// One publisher: message `i` is due `i / rate` s after the start; the
/// messages due when the previous publish is acknowledged go together.
#[allow(clippy::too_many_arguments)]
fn publish(
    client: &dyn Client,
    channel: &str,
    me: u32,
    count: u64,
    size: usize,
    rate: u32,
    epoch: Instant,
    sent: &AtomicU64,
) -> Result<(), ErrorInfo> {
    let batch_max = (BATCH_BYTES / size).clamp(1, BATCH_MESSAGES) as u64;
    let start = Instant::now();
    let mut next = 0u64;
    while next < count {
        let due = if rate == 0 {
            count
        } else {
            let elapsed = start.elapsed().as_secs_f64();
            ((elapsed * f64::from(rate)) as u64 + 1).min(count)
        };
        if due <= next {
            let at = start + Duration::from_secs_f64(next as f64 / f64::from(rate));
            std::thread::sleep(at.saturating_duration_since(Instant::now()));
            continue;
        }
        let upto = due.min(next + batch_max);
        let batch = (next..upto)
            .map(|seq| Message::new("bench", payload(me, seq, size, epoch)))
            .collect();
        client.publish(channel, batch)?;
        sent.fetch_add(upto - next, Ordering::Relaxed);
        next = upto;
    }
    Ok(())
}

/// The data of message `seq` of publisher `me`, stamped now.
fn payload(me: u32, seq: u64, size: usize, epoch: Instant) -> Data {
    let mut data = vec![0u8; size.max(HEADER)];
    data[0..4].copy_from_slice(&me.to_le_bytes());
    data[4..12].copy_from_slice(&seq.to_le_bytes());
    let now = epoch.elapsed().as_nanos() as u64;
    data[12..20].copy_from_slice(&now.to_le_bytes());
    Data::from(data)
}

/// What one subscriber saw.
#[derive(Debug, Default)]
struct Tally {
    /// For each publisher, which sequence numbers arrived (a bitset).
    seen: Vec<Vec<u64>>,
    /// For each publisher, the highest sequence number so far.
    highest: Vec<Option<u64>>,
    distinct: u64,
    duplicated: u64,
    out_of_order: u64,
    /// Messages that are not this run's.
    foreign: u64,
    /// Publish-to-receipt times, ns.
    latencies: Vec<u64>,
    /// When the last message arrived, since the run began.
    last: Duration,
}

impl Tally {
    fn new(publishers: u64, messages: u64) -> Tally {
        Tally {
            seen: (0..publishers)
                .map(|_| vec![0u64; messages.div_ceil(64) as usize])
                .collect(),
            highest: vec![None; publishers as usize],
            ..Tally::default()
        }
    }

    /// Counts one message received at `now` (ns since the run began).
    fn count(&mut self, data: &Data, now: u64, messages: u64) {
        let Data::Binary(b) = data else {
            self.foreign += 1;
            return;
        };
        if b.len() < HEADER {
            self.foreign += 1;
            return;
        }
        let word = |r: std::ops::Range<usize>| {
            let mut x = [0u8; 8];
            x[..r.len()].copy_from_slice(&b[r]);
            u64::from_le_bytes(x)
        };
        let (publisher, seq, sent) = (word(0..4) as usize, word(4..12), word(12..20));
        if publisher >= self.seen.len() || seq >= messages {
            self.foreign += 1;
            return;
        }
        let (slot, bit) = ((seq / 64) as usize, 1u64 << (seq % 64));
        if self.seen[publisher][slot] & bit != 0 {
            self.duplicated += 1;
            return;
        }
        self.seen[publisher][slot] |= bit;
        self.distinct += 1;
        match self.highest[publisher] {
            Some(h) if seq < h => self.out_of_order += 1,
            _ => self.highest[publisher] = Some(seq),
        }
        self.latencies.push(now.saturating_sub(sent));
    }
}

/// One subscriber: counts until it has every message, or the publishers
/// are done and nothing has arrived for [`GRACE`].
fn receive(
    mut events: Box<dyn Events<Message>>,
    publishers: u64,
    messages: u64,
    epoch: Instant,
    done: &AtomicBool,
    received: &AtomicU64,
) -> Tally {
    let mut tally = Tally::new(publishers, messages);
    let expected = publishers * messages;
    let mut quiet_since = None;
    while tally.distinct < expected {
        match events.next_within(Duration::from_millis(100)) {
            Next::Item(m) => {
                let now = epoch.elapsed();
                tally.count(&m.data, now.as_nanos() as u64, messages);
                tally.last = now;
                received.fetch_add(1, Ordering::Relaxed);
                quiet_since = None;
            }
            Next::Timeout if done.load(Ordering::Relaxed) => {
                let since = *quiet_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= GRACE {
                    break;
                }
            }
            Next::Timeout => {}
            // The tally reports whatever did not arrive.
            Next::Ended(_) => break,
        }
    }
    // Anything more that is already here is a duplicate or foreign.
    while let Some(m) = events.try_next() {
        tally.count(&m.data, epoch.elapsed().as_nanos() as u64, messages);
    }
    tally
}

/// The numbers the bench reports.
#[derive(Debug)]
struct Report {
    sent: u64,
    delivered: u64,
    lost: u64,
    duplicated: u64,
    out_of_order: u64,
    foreign: u64,
    publish_secs: f64,
    deliver_secs: f64,
    /// p50, p95, p99, max in ms.
    latency_ms: [f64; 4],
}

impl Report {
    fn new(tallies: &[Tally], sent: u64, subscribers: u64, publish_end: Duration) -> Report {
        let mut latencies: Vec<u64> = tallies
            .iter()
            .flat_map(|t| t.latencies.iter().copied())
            .collect();
        latencies.sort_unstable();
        let pick = |q: f64| -> f64 {
            if latencies.is_empty() {
                return 0.0;
            }
            let i = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
            latencies[i] as f64 / 1e6
        };
        // A subscriber whose thread failed has an empty tally: it lost
        // everything.
        let delivered: u64 = tallies.iter().map(|t| t.distinct).sum();
        let last = tallies.iter().map(|t| t.last).max().unwrap_or_default();
        Report {
            sent,
            delivered,
            lost: (sent * subscribers).saturating_sub(delivered),
            duplicated: tallies.iter().map(|t| t.duplicated).sum(),
            out_of_order: tallies.iter().map(|t| t.out_of_order).sum(),
            foreign: tallies.iter().map(|t| t.foreign).sum(),
            publish_secs: publish_end.as_secs_f64(),
            deliver_secs: last.as_secs_f64(),
            latency_ms: [pick(0.50), pick(0.95), pick(0.99), pick(1.0)],
        }
    }

    fn print(&self, ctx: &Ctx, args: &PubsubArgs) {
        let rate = |n: u64, secs: f64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
        let [p50, p95, p99, max] = self.latency_ms;
        if ctx.out.json {
            ctx.out.object(&json!({
                "publishers": args.publishers,
                "subscribers": args.subscribers,
                "messages": args.messages,
                "size": args.size,
                "rate": args.rate,
                "protocol": format!("{:?}", ctx.global.protocol).to_lowercase(),
                "runtime": format!("{:?}", ctx.global.runtime).to_lowercase(),
                "sent": self.sent,
                "delivered": self.delivered,
                "publishSeconds": self.publish_secs,
                "publishedPerSecond": rate(self.sent, self.publish_secs),
                "deliveredPerSecond": rate(self.delivered, self.deliver_secs),
                "latencyMs": {"p50": p50, "p95": p95, "p99": p99, "max": max},
                "lost": self.lost,
                "duplicated": self.duplicated,
                "outOfOrder": self.out_of_order,
                "foreign": self.foreign,
            }));
            return;
        }
        let out = &ctx.out;
        out.line(&format!(
            "published   {} messages in {:.2} s: {:.0} msg/s",
            self.sent,
            self.publish_secs,
            rate(self.sent, self.publish_secs)
        ));
        out.line(&format!(
            "delivered   {} messages in {:.2} s: {:.0} msg/s",
            self.delivered,
            self.deliver_secs,
            rate(self.delivered, self.deliver_secs)
        ));
        out.line(&format!(
            "latency ms  p50 {p50:.2}  p95 {p95:.2}  p99 {p99:.2}  max {max:.2}"
        ));
        let counts = format!(
            "lost {}  duplicated {}  out of order {}",
            self.lost, self.duplicated, self.out_of_order
        );
        let style = if self.lost + self.duplicated + self.out_of_order + self.foreign == 0 {
            Style::Green
        } else {
            Style::Red
        };
        out.line(&out.paint(style, &counts));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamped(publisher: u32, seq: u64, sent: u64) -> Data {
        let mut d = vec![0u8; 24];
        d[0..4].copy_from_slice(&publisher.to_le_bytes());
        d[4..12].copy_from_slice(&seq.to_le_bytes());
        d[12..20].copy_from_slice(&sent.to_le_bytes());
        Data::from(d)
    }

    #[test]
    fn a_tally_counts_duplicates_reordering_and_strangers() {
        let mut t = Tally::new(2, 10);
        t.count(&stamped(0, 0, 100), 150, 10);
        t.count(&stamped(0, 2, 100), 300, 10);
        t.count(&stamped(0, 1, 100), 400, 10); // late: out of order
        t.count(&stamped(0, 2, 100), 500, 10); // again: duplicate
        t.count(&stamped(1, 0, 0), 10, 10);
        t.count(&stamped(5, 0, 0), 10, 10); // no such publisher
        t.count(&Data::from("text"), 10, 10);
        assert_eq!(t.distinct, 4);
        assert_eq!(t.out_of_order, 1);
        assert_eq!(t.duplicated, 1);
        assert_eq!(t.foreign, 2);
        assert_eq!(t.latencies, vec![50, 200, 300, 10]);
    }

    #[test]
    fn the_report_counts_what_never_arrived_as_lost() {
        let mut t = Tally::new(1, 4);
        for seq in [0, 1, 3] {
            t.count(&stamped(0, seq, 0), 1_000_000 * (seq + 1), 4);
        }
        let r = Report::new(&[t], 4, 1, Duration::from_secs(1));
        assert_eq!(r.delivered, 3);
        assert_eq!(r.lost, 1);
        assert_eq!(r.latency_ms, [2.0, 4.0, 4.0, 4.0]);
    }

    #[test]
    fn payload_round_trips_through_a_tally() {
        let epoch = Instant::now();
        let mut t = Tally::new(3, 8);
        t.count(&payload(2, 7, 100, epoch), u64::MAX / 2, 8);
        assert_eq!((t.distinct, t.foreign), (1, 0));
        assert!(matches!(payload(0, 0, 100, epoch), Data::Binary(b) if b.len() == 100));
    }
}

//! One client of `cargo xtask bench client`, run as its own process so
//! that its CPU time is its own. The ably-js peer
//! (`xtask/js/bench/peer.mjs`) takes the same arguments and prints the
//! same lines.
//!
//! ```sh
//! bench_peer sub --port P --key K --channel C --count N
//! bench_peer pub --port P --key K --channel C --count N --window W [--rate R]
//! ```
//!
//! `sub` attaches, prints `ready`, receives `count` messages and prints
//! one JSON line: `{"role":"sub","count","first_us","last_us","p50_us",
//! "p99_us","cpu_ticks"}`. Latency is the receive time minus the send
//! time carried in each message's data (both wall clocks of this
//! machine, in µs). `pub` connects (echo off), then publishes `count`
//! messages from one thread with `Channel::publish_async`, at most
//! `window` awaiting their ACK, as fast as it can, or with `--rate` at
//! that many per second; it prints
//! `{"role":"pub","count","start_us","end_us","cpu_ticks"}`. `cpu_ticks`
//! is user plus system time of the whole process from `/proc/self/stat`
//! (in clock ticks), counted from the start of the measured part to its
//! end. Both give up after 60 s.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ably_blocking::{ClientOptions, ConnectionState, Format, PublishHandle, Realtime};
use serde_json::json;

const LIMIT: Duration = Duration::from_secs(60);

type Fallible<T> = Result<T, Box<dyn std::error::Error>>;

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// User plus system time of this process, in clock ticks.
fn cpu_ticks() -> Fallible<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // The command name may hold spaces; the fields after it do not.
    let after = stat.rsplit_once(')').ok_or("bad /proc/self/stat")?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15; `after` starts at field 3.
    let utime: u64 = fields.get(11).ok_or("no utime")?.parse()?;
    let stime: u64 = fields.get(12).ok_or("no stime")?.parse()?;
    Ok(utime + stime)
}

/// A message's data: the send time, then padding to 64 bytes.
fn payload() -> String {
    format!("{:<64}", now_us())
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn main() -> Fallible<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (role, rest) = args.split_first().ok_or("usage: bench_peer sub|pub ...")?;
    let mut flags = HashMap::new();
    for pair in rest.chunks(2) {
        let [flag, value] = pair else {
            return Err(format!("{} needs a value", pair[0]).into());
        };
        flags.insert(flag.trim_start_matches("--").to_owned(), value.clone());
    }
    let flag = |name: &str| {
        flags
            .get(name)
            .cloned()
            .ok_or_else(|| format!("--{name} is required"))
    };
    let count: usize = flag("count")?.parse()?;
    let options = ClientOptions::new(flag("key")?)
        .endpoint("127.0.0.1")
        .port(flag("port")?.parse()?)
        .tls(false)
        .format(Format::MsgPack)
        .echo_messages(false);
    let client = Realtime::new(options)?;
    client
        .connection()
        .wait_for(ConnectionState::Connected, LIMIT)?;
    let channel = client.channels().get(flag("channel")?);
    let line = match role.as_str() {
        "sub" => {
            let messages = channel.subscribe()?;
            let cpu0 = cpu_ticks()?;
            println!("ready");
            let deadline = Instant::now() + LIMIT;
            let mut latencies = Vec::with_capacity(count);
            let mut first_us = 0;
            for i in 0..count {
                let left = deadline.saturating_duration_since(Instant::now());
                let m = messages
                    .recv_timeout(left)
                    .map_err(|e| format!("after {i} of {count} messages: {e}"))?;
                let at = now_us();
                if i == 0 {
                    first_us = at;
                }
                let sent: u64 = m
                    .data
                    .as_str()
                    .and_then(|s| s.trim_end().parse().ok())
                    .ok_or("a message without a send time")?;
                latencies.push(at.saturating_sub(sent));
            }
            let last_us = now_us();
            let cpu = cpu_ticks()? - cpu0;
            latencies.sort_unstable();
            json!({
                "role": "sub", "count": count, "first_us": first_us, "last_us": last_us,
                "p50_us": percentile(&latencies, 50.0), "p99_us": percentile(&latencies, 99.0),
                "cpu_ticks": cpu,
            })
        }
        "pub" => {
            let window: usize = flag("window")?.parse()?;
            let rate: f64 = flags.get("rate").map_or(Ok(0.0), |r| r.parse())?;
            channel.attach()?;
            let cpu0 = cpu_ticks()?;
            let start_us = now_us();
            let start = Instant::now();
            // One thread publishes with `publish_async`, keeping at most
            // `window` messages awaiting their ACK (waiting for the oldest
            // when full), as the ably-js peer keeps `window` promises.
            let mut in_flight: VecDeque<PublishHandle> = VecDeque::with_capacity(window);
            for i in 0..count {
                if rate > 0.0 {
                    let due = start + Duration::from_secs_f64(i as f64 / rate);
                    std::thread::sleep(due.saturating_duration_since(Instant::now()));
                }
                if in_flight.len() >= window.max(1) {
                    if let Some(oldest) = in_flight.pop_front() {
                        oldest.wait()?;
                    }
                }
                if start.elapsed() > LIMIT {
                    return Err("the publisher ran out of time".into());
                }
                in_flight.push_back(channel.publish_async("m", payload()));
            }
            for handle in in_flight {
                handle.wait()?;
            }
            let end_us = now_us();
            let cpu = cpu_ticks()? - cpu0;
            json!({
                "role": "pub", "count": count, "start_us": start_us, "end_us": end_us,
                "cpu_ticks": cpu,
            })
        }
        other => return Err(format!("unknown role {other}").into()),
    };
    println!("{line}");
    client.close()?;
    Ok(())
}

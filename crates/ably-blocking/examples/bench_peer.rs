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
//! `sub` attaches, prints `ready`, receives `count` messages (with a
//! callback, `Channel::subscribe_with`) and prints
//! one JSON line: `{"role":"sub","count","first_us","last_us","p50_us",
//! "p99_us","cpu_ticks","switches"}`. Latency is the receive time minus the send
//! time carried in each message's data (both wall clocks of this
//! machine, in µs). `pub` connects (echo off), then publishes `count`
//! messages from one thread with `Channel::publish_async`, at most
//! `window` awaiting their ACK, as fast as it can, or with `--rate` at
//! that many per second; it prints
//! `{"role":"pub","count","start_us","end_us","cpu_ticks","switches"}`.
//! `cpu_ticks` is user plus system time of the whole process from
//! `/proc/self/stat` (in clock ticks) and `switches` the context switches
//! of its threads, both counted from the start of the measured part to
//! its end. Both give up after 60 s. The command line, payload, CPU count and
//! result lines are `ably_net::bench_peer`'s, shared with the async peer.

use std::collections::VecDeque;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ably_blocking::{ClientOptions, ConnectionState, PublishHandle, Realtime};
use ably_net::bench_peer::{
    Args, Fallible, LIMIT, Usage, now_us, payload, pub_result, send_time, sub_result,
};

fn main() -> Fallible<()> {
    let args = Args::parse(&std::env::args().skip(1).collect::<Vec<_>>())?;
    let count = args.count()?;
    let options: ClientOptions = args.options()?;
    let client = Realtime::new(options)?;
    client
        .connection()
        .wait_for(ConnectionState::Connected, LIMIT)?;
    let channel = client.channels().get(args.flag("channel")?);
    let line = match args.role.as_str() {
        "sub" => {
            // The messages go to a callback on the client's thread (as the
            // ably-js peer's listener), which sends the latencies over
            // once all have come.
            let (done, finished) = mpsc::channel();
            let mut latencies = Vec::with_capacity(count);
            let mut first_us = 0;
            let listener = channel.subscribe_with(move |m| {
                let at = now_us();
                if latencies.is_empty() {
                    first_us = at;
                }
                let Some(sent) = m.data.as_str().and_then(send_time) else {
                    let _ = done.send(Err("a message without a send time"));
                    return;
                };
                latencies.push(at.saturating_sub(sent));
                if latencies.len() == count {
                    let _ = done.send(Ok((first_us, at, std::mem::take(&mut latencies))));
                }
            })?;
            let used0 = Usage::now()?;
            println!("ready");
            let (first_us, last_us, latencies) = finished
                .recv_timeout(LIMIT)
                .map_err(|e| format!("{count} messages did not come: {e}"))??;
            listener.unsubscribe();
            sub_result(first_us, last_us, latencies, Usage::since(used0)?)
        }
        "pub" => {
            let (window, rate) = (args.window()?, args.rate()?);
            channel.attach()?;
            let used0 = Usage::now()?;
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
                if in_flight.len() >= window {
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
            pub_result(count, start_us, now_us(), Usage::since(used0)?)
        }
        other => return Err(format!("unknown role {other}").into()),
    };
    println!("{line}");
    client.close()?;
    Ok(())
}

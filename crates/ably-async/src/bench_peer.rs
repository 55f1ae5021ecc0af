//! One async client of `cargo xtask bench client`, written once for every
//! [`Runtime`]: `ably-tokio`'s `examples/bench_peer_tokio.rs` and
//! `ably-async-std`'s `examples/bench_peer_async_std.rs` pick a runtime
//! and call [`run`]. Not for applications.
//!
//! The arguments and output are those of
//! `crates/ably-blocking/examples/bench_peer.rs` (which has the details):
//!
//! ```sh
//! bench_peer_tokio sub --port P --key K --channel C --count N
//! bench_peer_tokio pub --port P --key K --channel C --count N --window W [--rate R]
//! ```
//!
//! `sub` attaches, prints `ready`, receives `count` messages and prints
//! `{"role":"sub","count","first_us","last_us","p50_us","p99_us",
//! "cpu_ticks"}`. `pub` attaches, publishes `count` messages with at most
//! `window` of them awaiting their ACK (concurrent futures in one task,
//! each taking the next message number and, with `--rate`, sleeping until
//! that message's time), and prints
//! `{"role":"pub","count","start_us","end_us","cpu_ticks"}`. `cpu_ticks`
//! is user plus system time of the whole process from `/proc/self/stat`
//! over the measured part. Both give up after 60 s.

use std::collections::HashMap;
use std::future::{Future, ready};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{StreamExt, TryStreamExt, stream};
use serde_json::json;

use crate::{ClientOptions, ConnectionState, Format, Realtime, Runtime, until};

/// The longest either role may take.
const LIMIT: Duration = Duration::from_secs(60);

/// The result of a peer: any error, to print and exit with.
pub type Fallible<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Runs one peer with `args` (the command line after the program name)
/// on the runtime `R`, which must be current; prints its lines to stdout.
pub async fn run<R: Runtime>(args: Vec<String>) -> Fallible<()> {
    let (role, flags) = parse(&args)?;
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
    let runtime = R::current()?;
    let client = Realtime::<R>::new(options)?;
    client
        .connection()
        .wait_for(ConnectionState::Connected, LIMIT)
        .await?;
    let channel = client.channels().get(flag("channel")?);
    let line = match role {
        "sub" => {
            let mut messages = channel.subscribe().await?;
            let cpu0 = cpu_ticks()?;
            println!("ready");
            let deadline = Instant::now() + LIMIT;
            let mut latencies = Vec::with_capacity(count);
            let mut first_us = 0;
            for i in 0..count {
                let left = deadline.saturating_duration_since(Instant::now());
                let m = messages
                    .recv_timeout(left)
                    .await
                    .map_err(|e| format!("after {i} of {count} messages: {e}"))?;
                let at = now_us();
                if i == 0 {
                    first_us = at;
                }
                let sent = m.data.as_str().and_then(send_time);
                latencies.push(at.saturating_sub(sent.ok_or("a message without a send time")?));
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
            channel.attach().await?;
            let cpu0 = cpu_ticks()?;
            let start_us = now_us();
            let start = Instant::now();
            let channel = &channel;
            let published = publish_windowed(&runtime, count, window, rate, start, || async {
                channel.publish("m", payload()).await.map(drop)
            });
            until(&runtime, start + LIMIT, published)
                .await
                .ok_or("the publisher ran out of time")??;
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
    client.close().await?;
    Ok(())
}

/// The role and the `--flag value` pairs.
fn parse(args: &[String]) -> Fallible<(&str, HashMap<String, String>)> {
    let (role, rest) = args.split_first().ok_or("usage: bench_peer sub|pub ...")?;
    let mut flags = HashMap::new();
    for pair in rest.chunks(2) {
        let [flag, value] = pair else {
            return Err(format!("{} needs a value", pair[0]).into());
        };
        flags.insert(flag.trim_start_matches("--").to_owned(), value.clone());
    }
    Ok((role, flags))
}

/// Calls `publish` `count` times with at most `window` calls unfinished,
/// the `i`-th (from 0) not before `start + i / rate` when `rate` is
/// positive; the first error ends it.
async fn publish_windowed<F, Fut, E>(
    runtime: &dyn Runtime,
    count: usize,
    window: usize,
    rate: f64,
    start: Instant,
    publish: F,
) -> Result<(), E>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let publish = &publish;
    stream::iter(0..count)
        .map(|i| async move {
            if rate > 0.0 {
                let due = start + Duration::from_secs_f64(i as f64 / rate);
                runtime.sleep_until(due).await;
            }
            publish().await
        })
        .buffer_unordered(window.max(1))
        .try_for_each(|()| ready(Ok(())))
        .await
}

/// Microseconds since the Unix epoch, by this machine's wall clock.
fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// A message's data: the send time, then padding to 64 bytes.
fn payload() -> String {
    format!("{:<64}", now_us())
}

/// The send time a payload carries.
fn send_time(data: &str) -> Option<u64> {
    data.trim_end().parse().ok()
}

/// User plus system time of this process, in clock ticks.
fn cpu_ticks() -> Fallible<u64> {
    stat_ticks(&std::fs::read_to_string("/proc/self/stat")?)
}

/// utime plus stime of a `/proc/<pid>/stat` line.
fn stat_ticks(stat: &str) -> Fallible<u64> {
    // The command name may hold spaces; the fields after it do not.
    let after = stat.rsplit_once(')').ok_or("bad /proc/self/stat")?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15; `after` starts at field 3.
    let utime: u64 = fields.get(11).ok_or("no utime")?.parse()?;
    let stime: u64 = fields.get(12).ok_or("no stime")?.parse()?;
    Ok(utime + stime)
}

/// The `p`-th percentile (nearest rank) of sorted values; 0 if none.
fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::tests::Threads;
    use std::pin::Pin;
    use std::sync::Mutex;
    use std::task::{Context, Poll};

    /// Pending once (waking itself), then ready: a publish awaiting its ACK.
    struct YieldOnce(bool);

    impl Future for YieldOnce {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                return Poll::Ready(());
            }
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    /// Publishes in flight now and at most, calls made.
    #[derive(Default)]
    struct Tally {
        now: usize,
        most: usize,
        calls: usize,
    }

    fn windowed(count: usize, window: usize, fail_at: Option<usize>) -> (Result<(), usize>, Tally) {
        let tally = Mutex::new(Tally::default());
        let publish = || async {
            let call = {
                let mut t = tally.lock().expect("tally");
                t.now += 1;
                t.most = t.most.max(t.now);
                t.calls += 1;
                t.calls
            };
            YieldOnce(false).await;
            tally.lock().expect("tally").now -= 1;
            if Some(call) == fail_at {
                return Err(call);
            }
            Ok(())
        };
        let run = publish_windowed(&Threads, count, window, 0.0, Instant::now(), publish);
        let result = futures_executor::block_on(run);
        (result, tally.into_inner().expect("tally"))
    }

    #[test]
    fn the_publisher_keeps_the_window_full_and_no_fuller() {
        let (result, tally) = windowed(100, 16, None);
        assert_eq!(result, Ok(()));
        assert_eq!(tally.calls, 100);
        assert_eq!(tally.most, 16);
        assert_eq!(tally.now, 0);
        let (_, tally) = windowed(3, 16, None);
        assert_eq!((tally.calls, tally.most), (3, 3));
        let (_, tally) = windowed(10, 0, None);
        assert_eq!((tally.calls, tally.most), (10, 1), "a window of 0 is 1");
    }

    #[test]
    fn a_failed_publish_ends_the_publisher() {
        let (result, tally) = windowed(100, 4, Some(5));
        assert_eq!(result, Err(5));
        assert!(tally.calls < 100, "{} calls", tally.calls);
    }

    #[test]
    fn the_publisher_paces_to_the_rate() {
        let start = Instant::now();
        let starts = Mutex::new(Vec::new());
        let publish = || async {
            starts.lock().expect("starts").push(Instant::now());
            Ok::<(), ()>(())
        };
        // 5 messages at 200/s: the last one is due 20 ms after the start.
        let run = publish_windowed(&Threads, 5, 4, 200.0, start, publish);
        assert_eq!(futures_executor::block_on(run), Ok(()));
        let starts = starts.into_inner().expect("starts");
        assert_eq!(starts.len(), 5);
        let mut sorted = starts.clone();
        sorted.sort();
        for (i, at) in sorted.iter().enumerate() {
            let due = start + Duration::from_millis(5 * i as u64);
            assert!(*at >= due, "message {i} went {:?} early", due - *at);
        }
    }

    #[test]
    fn arguments_come_in_pairs() {
        let args: Vec<String> = ["pub", "--count", "10", "--window", "4"]
            .map(String::from)
            .into();
        let (role, flags) = parse(&args).expect("parses");
        assert_eq!(role, "pub");
        assert_eq!(flags["count"], "10");
        assert_eq!(flags["window"], "4");
        let odd: Vec<String> = ["sub", "--count"].map(String::from).into();
        let err = parse(&odd).expect_err("a flag without a value");
        assert_eq!(err.to_string(), "--count needs a value");
        assert!(parse(&[]).is_err());
    }

    #[test]
    fn payloads_carry_their_send_time() {
        let before = now_us();
        let p = payload();
        assert_eq!(p.len(), 64);
        let sent = send_time(&p).expect("a send time");
        assert!(sent >= before && sent <= now_us());
        assert_eq!(send_time("not a time"), None);
    }

    #[test]
    fn cpu_ticks_are_utime_plus_stime() {
        let stat = "42 (a (b) c) S 1 42 42 0 -1 4194304 100 0 0 0 7 3 0 0 20 0 1 0";
        assert_eq!(stat_ticks(stat).expect("parses"), 10);
        assert!(stat_ticks("42 (short) S 1").is_err());
        assert!(cpu_ticks().is_ok());
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 50);
        assert_eq!(percentile(&v, 99.0), 99);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
    }
}

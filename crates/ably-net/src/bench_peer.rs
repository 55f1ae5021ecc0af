//! What every client of `cargo xtask bench client` shares, whatever its
//! adapter: the command line, the clock, the payload, the CPU count from
//! `/proc/self/stat`, percentiles and the result lines. The peers are
//! `crates/ably-blocking/examples/bench_peer.rs`,
//! `ably_async::bench_peer`, and the floor with no client library,
//! `crates/ably-blocking/examples/bench_peer_raw.rs` (the ably-js peer,
//! `xtask/js/bench/peer.mjs`, speaks the same). Not for applications.
//!
//! ```sh
//! PEER sub --port P --key K --channel C --count N
//! PEER pub --port P --key K --channel C --count N --window W [--rate R]
//! ```
//!
//! `sub` attaches, prints `ready`, receives `count` messages and prints
//! [`sub_result`]; `pub` attaches, publishes `count` messages with at most
//! `window` awaiting their ACK (paced at `rate` per second when given) and
//! prints [`pub_result`]. Both give up after [`LIMIT`].

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ably_proto::adapter::Options;
use ably_proto::codec::Format;

/// The longest either role may take.
pub const LIMIT: Duration = Duration::from_secs(60);

/// The result of a peer: any error, to print and exit with.
pub type Fallible<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// A peer's command line: its role and `--flag value` pairs.
#[derive(Clone, Debug)]
pub struct Args {
    /// `sub` or `pub`.
    pub role: String,
    flags: HashMap<String, String>,
}

impl Args {
    /// Reads the arguments after the program name.
    pub fn parse(args: &[String]) -> Fallible<Args> {
        let (role, rest) = args.split_first().ok_or("usage: bench_peer sub|pub ...")?;
        let mut flags = HashMap::new();
        for pair in rest.chunks(2) {
            let [flag, value] = pair else {
                return Err(format!("{} needs a value", pair[0]).into());
            };
            flags.insert(flag.trim_start_matches("--").to_owned(), value.clone());
        }
        Ok(Args {
            role: role.clone(),
            flags,
        })
    }

    /// A required flag.
    pub fn flag(&self, name: &str) -> Fallible<&str> {
        self.flags
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| format!("--{name} is required").into())
    }

    /// `--count`.
    pub fn count(&self) -> Fallible<usize> {
        Ok(self.flag("count")?.parse()?)
    }

    /// `--window`, at least 1.
    pub fn window(&self) -> Fallible<usize> {
        Ok(self.flag("window")?.parse::<usize>()?.max(1))
    }

    /// `--rate` in messages per second; 0 (as fast as possible) if absent.
    pub fn rate(&self) -> Fallible<f64> {
        Ok(self.flags.get("rate").map_or(Ok(0.0), |r| r.parse())?)
    }

    /// Options for the bench's ably-local on loopback: its key and port,
    /// MessagePack, echo off.
    pub fn options<C>(&self) -> Fallible<Options<C>> {
        Ok(Options::new(self.flag("key")?)
            .endpoint("127.0.0.1")
            .port(self.flag("port")?.parse()?)
            .tls(false)
            .format(Format::MsgPack)
            .echo_messages(false))
    }
}

/// Microseconds since the Unix epoch, by this machine's wall clock.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// A message's data: the send time, then padding to 64 bytes.
pub fn payload() -> String {
    format!("{:<64}", now_us())
}

/// The send time a payload carries.
pub fn send_time(data: &str) -> Option<u64> {
    data.trim_end().parse().ok()
}

/// User plus system time of this process, in clock ticks.
pub fn cpu_ticks() -> Fallible<u64> {
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

/// Context switches (voluntary and not) of this process's live threads,
/// from `/proc/self/task/*/status`: how often the process was put to
/// sleep or off a CPU, each a wake-up to pay for.
pub fn switches() -> Fallible<u64> {
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task")? {
        match std::fs::read_to_string(task?.path().join("status")) {
            Ok(status) => total += status_switches(&status)?,
            // The thread ended meanwhile.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(total)
}

/// voluntary plus nonvoluntary context switches of a `status` file.
fn status_switches(status: &str) -> Fallible<u64> {
    let mut sum = 0;
    let mut found = 0;
    for line in status.lines() {
        if let Some((key, value)) = line.split_once(':')
            && (key == "voluntary_ctxt_switches" || key == "nonvoluntary_ctxt_switches")
        {
            sum += value.trim().parse::<u64>()?;
            found += 1;
        }
    }
    if found != 2 {
        return Err("no context switch counts in /proc/self/task/*/status".into());
    }
    Ok(sum)
}

/// CPU ticks and context switches, taken together at the start and the
/// end of a peer's measured part.
#[derive(Clone, Copy, Debug)]
pub struct Usage {
    /// [`cpu_ticks`].
    pub cpu_ticks: u64,
    /// [`switches`].
    pub switches: u64,
}

impl Usage {
    /// Now.
    pub fn now() -> Fallible<Usage> {
        Ok(Usage {
            cpu_ticks: cpu_ticks()?,
            switches: switches()?,
        })
    }

    /// What was spent since `start`.
    pub fn since(start: Usage) -> Fallible<Usage> {
        let end = Usage::now()?;
        Ok(Usage {
            cpu_ticks: end.cpu_ticks.saturating_sub(start.cpu_ticks),
            switches: end.switches.saturating_sub(start.switches),
        })
    }
}

/// The `p`-th percentile (nearest rank) of sorted values; 0 if none.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The subscriber's result line; `latencies` in µs, any order.
pub fn sub_result(first_us: u64, last_us: u64, mut latencies: Vec<u64>, used: Usage) -> String {
    latencies.sort_unstable();
    format!(
        r#"{{"role":"sub","count":{},"first_us":{first_us},"last_us":{last_us},"p50_us":{},"p99_us":{},"cpu_ticks":{},"switches":{}}}"#,
        latencies.len(),
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        used.cpu_ticks,
        used.switches,
    )
}

/// The publisher's result line.
pub fn pub_result(count: usize, start_us: u64, end_us: u64, used: Usage) -> String {
    format!(
        r#"{{"role":"pub","count":{count},"start_us":{start_us},"end_us":{end_us},"cpu_ticks":{},"switches":{}}}"#,
        used.cpu_ticks, used.switches,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_come_in_pairs() {
        let args: Vec<String> = ["pub", "--count", "5", "--window", "0"]
            .map(String::from)
            .into();
        let a = Args::parse(&args).expect("parses");
        assert_eq!(a.role, "pub");
        assert_eq!(a.count().expect("count"), 5);
        assert_eq!(a.window().expect("window"), 1, "a window of 0 acts as 1");
        assert_eq!(a.rate().expect("rate"), 0.0);
        assert!(a.flag("key").is_err());
        let odd: Vec<String> = ["sub", "--count"].map(String::from).into();
        assert!(Args::parse(&odd).is_err());
        assert!(Args::parse(&[]).is_err());
    }

    #[test]
    fn payloads_carry_their_send_time() {
        let p = payload();
        assert_eq!(p.len(), 64);
        assert!(send_time(&p).is_some_and(|t| t > 0));
        assert_eq!(send_time("no time"), None);
    }

    #[test]
    fn cpu_ticks_are_utime_plus_stime() {
        let stat = "42 (a (b) c) S 1 2 3 4 5 6 7 8 9 10 4 6 0 0";
        assert_eq!(stat_ticks(stat).expect("parses"), 10);
        assert!(stat_ticks("42 (short) S 1").is_err());
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 50);
        assert_eq!(percentile(&v, 99.0), 99);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
    }

    #[test]
    fn result_lines_are_json() {
        let used = Usage {
            cpu_ticks: 4,
            switches: 7,
        };
        let sub = sub_result(1, 2, vec![30, 10, 20], used);
        let v: serde_json::Value = serde_json::from_str(&sub).expect("json");
        assert_eq!(v["count"], 3);
        assert_eq!(v["p50_us"], 20);
        assert_eq!(v["p99_us"], 30);
        assert_eq!(v["cpu_ticks"], 4);
        assert_eq!(v["switches"], 7);
        let p: serde_json::Value = serde_json::from_str(&pub_result(5, 1, 9, used)).expect("json");
        assert_eq!(p["role"], "pub");
        assert_eq!(p["end_us"], 9);
        assert_eq!(p["switches"], 7);
    }

    #[test]
    fn switches_are_voluntary_plus_nonvoluntary() {
        let status = "Name:\tx\nvoluntary_ctxt_switches:\t12\nnonvoluntary_ctxt_switches:\t3\n";
        assert_eq!(status_switches(status).expect("parses"), 15);
        assert!(status_switches("Name:\tx\nvoluntary_ctxt_switches:\t12\n").is_err());
        assert!(
            status_switches("voluntary_ctxt_switches: x\nnonvoluntary_ctxt_switches: 1").is_err()
        );
    }

    #[test]
    fn a_sleep_counts_as_a_switch() {
        // A sleep is a voluntary switch of this thread, counted from now.
        let before = Usage::now().expect("readable on Linux");
        std::thread::sleep(std::time::Duration::from_millis(2));
        let used = Usage::since(before).expect("readable");
        assert!(used.switches >= 1, "{used:?}");
    }
}

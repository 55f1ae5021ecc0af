//! `cargo xtask bench codec`: the ably-proto codec benchmarks, compared in
//! the same run with the receive path of the official ably-js SDK.
//!
//! Steps:
//! 1. `npm ci` in `xtask/js` if its `node_modules` is missing;
//! 2. `cargo bench -p ably-proto --bench codec`, which writes the frames it
//!    measures to `target/bench-frames/<row>.<format>`
//!    (`ABLY_BENCH_FRAMES_DIR`) and its results to `target/criterion`;
//! 3. `node xtask/js/codec-bench.mjs target/bench-frames`, which decodes the
//!    same bytes with ably-js (its msgpack decoder or `JSON.parse`, then
//!    `Message.fromEncodedArray` / `PresenceMessage.fromEncodedArray`) and
//!    prints one JSON line per frame;
//! 4. steps 2 and 3 again, three rounds in all (`--rounds N`);
//! 5. a markdown table, printed and written to `target/bench-codec.md`.
//!
//! Both sides report a median time per frame: criterion the median of its
//! samples, the harness the median of its batches. A round's ratio is
//! ably-js time over Rust decode time; the table gives each row's ratio in
//! every round and their median, which is what is held against the
//! target: on a shared machine a burst of other work can slow one side
//! of one round by half. Missing the 5x target is reported, not an
//! error; only a failure to run something is.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::Result;

/// The rows of the bench, in table order; rows found beyond these follow.
const ROW_ORDER: [&str; 4] = ["string", "json10", "sync100", "binary16k"];
/// The formats, in table order.
const FORMATS: [&str; 2] = ["json", "msgpack"];
/// The ratio the codec aims for on every row.
const TARGET_RATIO: f64 = 5.0;

/// `cargo xtask bench <what> ...`.
pub(crate) fn run(args: &[String]) -> Result {
    match args.split_first() {
        Some((what, rest)) if what == "codec" => codec(rest),
        Some((what, rest)) if what == "fanout" => fanout(rest),
        Some((what, rest)) if what == "client" => client::run(rest),
        Some((what, _)) => Err(format!(
            "unknown bench `{what}`; try `bench codec`, `bench fanout` or `bench client`"
        )
        .into()),
        None => Err(
            "usage: cargo xtask bench codec [--filter REGEX] [--js-min-ms MS] [--rounds N] \
                     [-- CRITERION_ARGS...]"
                .into(),
        ),
    }
}

/// `bench fanout`: the ably-local fan-out bench
/// (`crates/ably-local/benches/fanout.rs`), which prints its own table.
fn fanout(args: &[String]) -> Result {
    let mut cargo = crate::cargo_command();
    cargo
        .args(["bench", "-p", "ably-local", "--bench", "fanout", "--"])
        .args(args)
        .current_dir(crate::workspace_root());
    run_status(&mut cargo, "cargo bench -p ably-local --bench fanout")
}

/// Options of `bench codec`.
#[derive(Default)]
struct Options {
    /// A criterion filter (regex on `decode/<row>/<format>` ids).
    filter: Option<String>,
    /// `--min-ms` for the ably-js harness.
    js_min_ms: Option<String>,
    /// Passed to the criterion bench binary after the filter.
    criterion_args: Vec<String>,
    /// How many times to measure both sides (see [`codec`]).
    rounds: usize,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options> {
        let mut opts = Options {
            rounds: DEFAULT_ROUNDS,
            ..Options::default()
        };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let mut value = |name: &str| {
                it.next()
                    .cloned()
                    .ok_or_else(|| format!("{name} needs a value"))
            };
            match arg.as_str() {
                "--filter" => opts.filter = Some(value("--filter")?),
                "--js-min-ms" => opts.js_min_ms = Some(value("--js-min-ms")?),
                "--rounds" => {
                    let v = value("--rounds")?;
                    opts.rounds = v
                        .parse()
                        .ok()
                        .filter(|&n| n > 0)
                        .ok_or_else(|| format!("--rounds {v}: a positive number"))?;
                }
                "--" => {
                    opts.criterion_args = it.cloned().collect();
                    break;
                }
                other => return Err(format!("unknown option `{other}` for bench codec").into()),
            }
        }
        Ok(opts)
    }
}

/// The table's lines by (row, format).
type Lines = BTreeMap<(String, String), Line>;

/// One line of the table.
#[derive(Default)]
struct Line {
    bytes: u64,
    messages: Option<u64>,
    rust_decode_ns: Option<f64>,
    /// `decode_eager`: the decode, then every JSON payload parsed.
    rust_eager_ns: Option<f64>,
    rust_encode_ns: Option<f64>,
    js_ns: Option<f64>,
    /// ably-js ÷ Rust decode, one per round in which both sides ran.
    round_ratios: Vec<f64>,
}

/// Rounds of `bench codec` unless `--rounds` says otherwise.
const DEFAULT_ROUNDS: usize = 3;

/// The median of some values (the mean of the middle two for an even
/// count); `None` for none.
fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

/// One line per (row, format) from the rounds: each time the median over
/// the rounds, and the rounds' ratios.
fn combine(rounds: Vec<Lines>) -> Lines {
    let mut out: Lines = BTreeMap::new();
    let mut seen: BTreeMap<(String, String), Vec<Line>> = BTreeMap::new();
    for round in rounds {
        for (key, line) in round {
            seen.entry(key).or_default().push(line);
        }
    }
    for (key, lines) in seen {
        let pick = |f: fn(&Line) -> Option<f64>| median(lines.iter().filter_map(f).collect());
        let round_ratios = lines
            .iter()
            .filter_map(|l| Some(l.js_ns? / l.rust_decode_ns?))
            .collect();
        let line = Line {
            bytes: lines[0].bytes,
            messages: lines.iter().find_map(|l| l.messages),
            rust_decode_ns: pick(|l| l.rust_decode_ns),
            rust_eager_ns: pick(|l| l.rust_eager_ns),
            rust_encode_ns: pick(|l| l.rust_encode_ns),
            js_ns: pick(|l| l.js_ns),
            round_ratios,
        };
        out.insert(key, line);
    }
    out
}

/// `bench codec`.
fn codec(args: &[String]) -> Result {
    let opts = Options::parse(args)?;
    let started = Instant::now();
    let load_at_start = load_average();
    let root = crate::workspace_root();
    let target = crate::target_dir();
    let js_dir = root.join("xtask").join("js");
    let frames_dir = target.join("bench-frames");
    let criterion_home = target.join("criterion");

    // 1. The ably-js harness's dependencies.
    if !js_dir.join("node_modules/ably/package.json").is_file() {
        eprintln!(
            "xtask: installing the ably-js harness (npm ci in {})",
            js_dir.display()
        );
        run_status(Command::new("npm").arg("ci").current_dir(&js_dir), "npm ci")?;
    }

    // 2 and 3, `opts.rounds` times: on this shared machine a burst of
    // other work can slow one side of one round, so each row's ratio is the
    // median of the rounds' ratios.
    let mut rounds = Vec::new();
    let mut failures = Vec::new();
    for round in 1..=opts.rounds {
        eprintln!("xtask: bench codec, round {round} of {}", opts.rounds);
        let run_at = SystemTime::now();
        let (lines, mut round_failures) =
            codec_round(&opts, &root, &js_dir, &frames_dir, &criterion_home, run_at)?;
        failures.append(&mut round_failures);
        rounds.push(lines);
    }
    let lines = combine(rounds);

    // 4. The table.
    let mut env = versions(&js_dir);
    env.load = format!("{load_at_start} at start, {} at end", load_average());
    env.rounds = opts.rounds;
    let report = render(&lines, &env, started.elapsed().as_secs_f64());
    println!("\n{report}");
    let out = target.join("bench-codec.md");
    std::fs::write(&out, &report).map_err(|e| format!("writing {}: {e}", out.display()))?;
    eprintln!("xtask: wrote {}", out.display());

    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; ").into())
    }
}

/// One round of `bench codec`: the Rust side (which also writes the
/// frames), then the ably-js side on the same bytes.
fn codec_round(
    opts: &Options,
    root: &Path,
    js_dir: &Path,
    frames_dir: &Path,
    criterion_home: &Path,
    start_time: SystemTime,
) -> Result<(Lines, Vec<String>)> {
    // 2. The Rust side; it also writes the frames.
    if frames_dir.exists() {
        std::fs::remove_dir_all(frames_dir)
            .map_err(|e| format!("removing {}: {e}", frames_dir.display()))?;
    }
    let mut cargo = crate::cargo_command();
    cargo
        .args(["bench", "-p", "ably-proto", "--bench", "codec", "--"])
        .args(opts.filter.iter())
        .args(&opts.criterion_args)
        .env("ABLY_BENCH_FRAMES_DIR", frames_dir)
        .env("CRITERION_HOME", criterion_home)
        .current_dir(root);
    run_status(&mut cargo, "cargo bench -p ably-proto --bench codec")?;

    let mut lines = read_frames(frames_dir)?;
    for ((row, format), line) in &mut lines {
        let estimate = |group: &str| {
            let path = criterion_home
                .join(group)
                .join(row)
                .join(format)
                .join("new/estimates.json");
            read_estimate(&path, start_time)
        };
        line.rust_decode_ns = estimate("decode")?;
        line.rust_eager_ns = estimate("decode_eager")?;
        line.rust_encode_ns = estimate("encode")?;
    }

    // 3. The ably-js side, on the same bytes.
    let mut failures = Vec::new();
    let mut node = Command::new("node");
    node.arg(js_dir.join("codec-bench.mjs"))
        .arg(frames_dir)
        .args(opts.js_min_ms.iter().flat_map(|ms| ["--min-ms", ms]))
        .current_dir(js_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let output = node
        .output()
        .map_err(|e| format!("running node (is Node.js installed?): {e}"))?;
    if !output.status.success() {
        failures.push(format!(
            "node codec-bench.mjs exited with {}",
            output.status
        ));
    }
    for text in String::from_utf8_lossy(&output.stdout).lines() {
        let v: Value = serde_json::from_str(text)
            .map_err(|e| format!("codec-bench.mjs printed `{text}`: {e}"))?;
        let key = (str_field(&v, "row")?, str_field(&v, "format")?);
        let Some(line) = lines.get_mut(&key) else {
            failures.push(format!("codec-bench.mjs measured an unknown frame {key:?}"));
            continue;
        };
        line.js_ns = v["ns_per_frame"].as_f64();
        let js_messages = v["messages_per_frame"].as_u64();
        if line.messages.is_none() {
            line.messages = js_messages;
        } else if js_messages.is_some() && js_messages != line.messages {
            eprintln!(
                "xtask: warning: {}.{}: ably-js decoded {:?} messages, the frame has {:?}",
                key.0, key.1, js_messages, line.messages
            );
        }
        if v["bytes"].as_u64() != Some(line.bytes) {
            failures.push(format!(
                "{}.{}: ably-js read a different size",
                key.0, key.1
            ));
        }
    }

    Ok((lines, failures))
}

/// Runs a command to completion; an unsuccessful exit is an error.
fn run_status(cmd: &mut Command, what: &str) -> Result {
    let status = cmd.status().map_err(|e| format!("running {what}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})").into())
    }
}

/// A string field of a result line.
fn str_field(v: &Value, name: &str) -> Result<String> {
    v[name]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("codec-bench.mjs line without `{name}`: {v}").into())
}

/// The frames the bench wrote, keyed by (row, format), with their size and,
/// from the JSON frame, how many messages they carry.
fn read_frames(dir: &Path) -> Result<Lines> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        format!(
            "the bench wrote no frames to {} ({e}); did the filter exclude everything?",
            dir.display()
        )
    })?;
    let mut lines = BTreeMap::new();
    let mut counts = BTreeMap::new();
    for entry in entries {
        let path = entry?.path();
        let (Some(row), Some(format)) = (
            path.file_stem().and_then(|s| s.to_str()),
            path.extension().and_then(|s| s.to_str()),
        ) else {
            continue;
        };
        if !FORMATS.contains(&format) {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        if format == "json" {
            let frame: Value = serde_json::from_slice(&bytes)
                .map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
            let count = |field: &str| frame[field].as_array().map_or(0, Vec::len) as u64;
            counts.insert(row.to_owned(), count("messages") + count("presence"));
        }
        let line = Line {
            bytes: bytes.len() as u64,
            ..Line::default()
        };
        lines.insert((row.to_owned(), format.to_owned()), line);
    }
    for ((row, _), line) in &mut lines {
        line.messages = counts.get(row).copied();
    }
    Ok(lines)
}

/// The median time of a criterion benchmark, in ns, if it ran in this run.
fn read_estimate(path: &Path, since: SystemTime) -> Result<Option<f64>> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(None);
    };
    if meta.modified().is_ok_and(|m| m < since) {
        // Left over from an earlier run (excluded by --filter this time).
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(v["median"]["point_estimate"].as_f64())
}

/// The environment, for the report header.
struct Versions {
    date: String,
    cpu: String,
    cpus: usize,
    rustc: String,
    node: String,
    ably_js: String,
    /// The 1-minute load averages, to judge how busy the machine was.
    load: String,
    /// How many rounds the table combines.
    rounds: usize,
}

fn versions(js_dir: &Path) -> Versions {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| {
            let (key, value) = l.split_once(':')?;
            (key.trim() == "model name").then(|| value.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let ably_js = std::fs::read_to_string(js_dir.join("node_modules/ably/package.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| v["version"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned());
    Versions {
        date: utc_now(),
        cpu,
        cpus,
        rustc: command_output("rustc", &["--version"]),
        node: command_output("node", &["--version"]),
        ably_js,
        load: String::new(),
        rounds: 1,
    }
}

/// The 1-minute load average from `/proc/loadavg`, or `?`.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|t| t.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

/// The first line a command prints, or `unknown`.
fn command_output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8(o.stdout)
                .ok()?
                .lines()
                .next()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| format!("{program}: unknown"))
}

/// The current time as `YYYY-MM-DD HH:MM:SS UTC`.
fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_date(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01.
fn civil_date(days: i64) -> (i64, u32, u32) {
    // Count from 0000-03-01 so that the leap day ends each 400-year era.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Table order: the known rows first, then the others by name.
fn row_rank(row: &str) -> (usize, String) {
    let rank = ROW_ORDER
        .iter()
        .position(|r| *r == row)
        .unwrap_or(ROW_ORDER.len());
    (rank, row.to_owned())
}

/// The markdown report.
fn render(lines: &Lines, v: &Versions, elapsed_s: f64) -> String {
    let mut keys: Vec<&(String, String)> = lines.keys().collect();
    keys.sort_by_key(|(row, format)| {
        let format_rank = FORMATS.iter().position(|f| f == format);
        (row_rank(row), format_rank)
    });

    let mut s = String::new();
    let _ = writeln!(s, "### ably-proto codec vs ably-js {}\n", v.ably_js);
    let _ = writeln!(s, "- date: {}", v.date);
    let _ = writeln!(s, "- CPU: {} ({} logical CPUs)", v.cpu, v.cpus);
    let _ = writeln!(s, "- load average (1 min): {}", v.load);
    let _ = writeln!(s, "- {}; node {}; ably-js {}", v.rustc, v.node, v.ably_js);
    let _ = writeln!(
        s,
        "- Rust decode = `decode_received` + `fill_inherited_fields` + payload \
         `decode(None)` of every message (JSON payloads checked, not parsed); Rust \
         decode+values = the same, then the value of every JSON payload parsed (rows with \
         JSON payloads only); Rust encode = payload encode + `codec::encode`; criterion \
         median per frame."
    );
    let _ = writeln!(
        s,
        "- {} round(s), each the Rust side then the ably-js side; times are the median over \
         the rounds, and the ratio is the median of the rounds' ratios (listed per round).",
        v.rounds
    );
    let _ = writeln!(
        s,
        "- ably-js = `xtask/js/codec-bench.mjs` (`JSON.parse` or its bundled msgpack decoder, \
         then `Message`/`PresenceMessage.fromEncodedArray`), median of batches, same frame \
         bytes, same run."
    );
    let _ = writeln!(
        s,
        "- ratio = ably-js ns/frame / Rust decode ns/frame (target >= {TARGET_RATIO}x); \
         ratio+values likewise with Rust decode+values (from the median times); MB/s = frame bytes / Rust decode \
         time, 1 MB = 10^6 bytes.\n"
    );
    let _ = writeln!(
        s,
        "| row | format | frame bytes | msgs/frame | Rust decode ns/frame | Rust msgs/s | \
         Rust MB/s | ably-js ns/frame | ratio | ratio per round | Rust decode+values \
         ns/frame | ratio+values | Rust encode ns/frame |"
    );
    let _ = writeln!(s, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    let mut below = Vec::new();
    for key in keys {
        let (row, format) = key;
        let line = &lines[key];
        let dash = || "–".to_owned();
        let msgs_per_s = match (line.messages, line.rust_decode_ns) {
            (Some(n), Some(ns)) => fmt_rate(n as f64 * 1e9 / ns),
            _ => dash(),
        };
        let mb_per_s = line
            .rust_decode_ns
            .map_or_else(dash, |ns| fmt_mbs(line.bytes as f64 * 1e3 / ns));
        let ratio = match median(line.round_ratios.clone()) {
            Some(r) => {
                if r < TARGET_RATIO {
                    below.push(format!("{row}/{format} ({r:.1}x)"));
                }
                format!("{r:.1}x")
            }
            None => dash(),
        };
        let per_round = if line.round_ratios.is_empty() {
            dash()
        } else {
            line.round_ratios
                .iter()
                .map(|r| format!("{r:.1}"))
                .collect::<Vec<_>>()
                .join(" / ")
        };
        let eager_ratio = match (line.js_ns, line.rust_eager_ns) {
            (Some(js), Some(rust)) => format!("{:.1}x", js / rust),
            _ => dash(),
        };
        let _ = writeln!(
            s,
            "| {row} | {format} | {} | {} | {} | {msgs_per_s} | {mb_per_s} | {} | {ratio} | \
             {per_round} | {} | {eager_ratio} | {} |",
            line.bytes,
            line.messages.map_or_else(dash, |n| n.to_string()),
            line.rust_decode_ns.map_or_else(dash, fmt_ns),
            line.js_ns.map_or_else(dash, fmt_ns),
            line.rust_eager_ns.map_or_else(dash, fmt_ns),
            line.rust_encode_ns.map_or_else(dash, fmt_ns),
        );
    }
    let _ = writeln!(s);
    if below.is_empty() {
        let _ = writeln!(s, "All measured rows meet the {TARGET_RATIO}x target.");
    } else {
        let _ = writeln!(s, "Below the {TARGET_RATIO}x target: {}.", below.join(", "));
    }
    let _ = writeln!(s, "\nTotal wall time of the run: {elapsed_s:.0} s.");
    s
}

/// Nanoseconds, with thousands separators above 1000.
fn fmt_ns(ns: f64) -> String {
    if ns < 100.0 {
        return format!("{ns:.1}");
    }
    let digits = format!("{:.0}", ns);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A rate per second with a k/M suffix.
fn fmt_rate(per_s: f64) -> String {
    if per_s >= 1e6 {
        format!("{:.2} M", per_s / 1e6)
    } else if per_s >= 1e3 {
        format!("{:.0} k", per_s / 1e3)
    } else {
        format!("{per_s:.0}")
    }
}

/// MB/s with a sensible number of decimals.
fn fmt_mbs(mbs: f64) -> String {
    if mbs >= 100.0 {
        format!("{mbs:.0}")
    } else {
        format!("{mbs:.1}")
    }
}

/// `bench client`: our clients against ably-js, one process per client,
/// through one ably-local started for the run.
///
/// Steps:
/// 1. build (release) the service (`bench_service`, the ably-local
///    library with the inbound rate limit raised so that a saturated
///    publisher is not cut off) and each Rust peer, and `npm ci` in
///    `xtask/js` if needed;
/// 2. start the service;
/// 3. for each phase (saturation, then a fixed rate) and each peer in
///    `PEERS` in turn: start its subscriber, wait for `ready`, start its
///    publisher, collect both result lines (`bench_peer.rs` documents
///    them);
/// 4. print a table with the ratios against ably-js, also written to
///    `target/bench-client.md`.
///
/// Messages/s at saturation = messages / (last receipt - first publish);
/// latency = receipt - the send time carried in the message, at the fixed
/// rate; CPU = user + system time of each client process over its
/// measured part, per message. Missing the targets is reported, not an
/// error.
mod client {
    use std::fmt::Write as _;
    use std::io::{BufRead, BufReader, Write as _};
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use serde_json::Value;

    use crate::Result;
    use crate::service::Service;

    /// A client the bench runs, as its own process.
    struct Peer {
        /// The name in the table.
        name: &'static str,
        kind: Kind,
        /// Not a client: the least any client can spend, shown at the
        /// fixed rate only and compared with nothing.
        floor: bool,
    }

    enum Kind {
        /// An example binary of a Rust adapter crate. Examples of a
        /// workspace share `target/release/examples/`, so each adapter's
        /// peer needs its own name.
        Rust {
            package: &'static str,
            example: &'static str,
        },
        /// A node script in `xtask/js`.
        Node { script: &'static str },
    }

    impl Peer {
        const fn rust(package: &'static str, example: &'static str) -> Peer {
            Peer {
                name: package,
                kind: Kind::Rust { package, example },
                floor: false,
            }
        }

        const fn floor(name: &'static str, package: &'static str, example: &'static str) -> Peer {
            Peer {
                name,
                kind: Kind::Rust { package, example },
                floor: true,
            }
        }

        const fn node(name: &'static str, script: &'static str) -> Peer {
            Peer {
                name,
                kind: Kind::Node { script },
                floor: false,
            }
        }

        fn is_reference(&self) -> bool {
            matches!(self.kind, Kind::Node { .. })
        }
    }

    /// The clients compared. A new adapter is one line, e.g.
    /// `Peer::rust("ably-tokio", "bench_peer_tokio"),` for
    /// `crates/ably-tokio/examples/bench_peer_tokio.rs` taking the
    /// arguments of `crates/ably-blocking/examples/bench_peer.rs`. The
    /// async adapters' peers share their logic (`ably_async::bench_peer`).
    /// The floor (`bench_peer_raw.rs`, no client library: one thread, one
    /// WebSocket, the codec) runs at the fixed rate only; at saturation
    /// the service's frame rate limit would hold it back, as it sends a
    /// frame per message where the clients batch.
    const PEERS: &[Peer] = &[
        Peer::rust("ably-blocking", "bench_peer"),
        Peer::rust("ably-tokio", "bench_peer_tokio"),
        Peer::rust("ably-async-std", "bench_peer_async_std"),
        Peer::node("ably-js", "bench/peer.mjs"),
        Peer::floor("floor: raw WebSocket", "ably-blocking", "bench_peer_raw"),
    ];

    /// The key the service runs with.
    const KEY: &str = "bench.client:bench-secret-0123456789";
    /// The most a phase of one peer may take.
    const PHASE_LIMIT: Duration = Duration::from_secs(90);
    /// At most this much CPU per message, as a fraction of ably-js's.
    const TARGET_CPU_RATIO: f64 = 1.0 / 3.0;

    struct Options {
        /// Messages at saturation.
        count: u64,
        /// Messages per second in the fixed-rate phase.
        rate: u64,
        /// How long the fixed-rate phase lasts.
        seconds: u64,
        /// Publishes awaiting their ACK at most, at saturation.
        window: u64,
        /// The same at the fixed rate: enough for the rate times the ACK
        /// time.
        rate_window: u64,
    }

    impl Options {
        fn parse(args: &[String]) -> Result<Options> {
            let mut o = Options {
                count: 50_000,
                rate: 1_000,
                seconds: 10,
                window: 16,
                rate_window: 4,
            };
            let mut it = args.iter();
            while let Some(arg) = it.next() {
                let slot = match arg.as_str() {
                    "--count" => &mut o.count,
                    "--rate" => &mut o.rate,
                    "--seconds" => &mut o.seconds,
                    "--window" => &mut o.window,
                    "--rate-window" => &mut o.rate_window,
                    other => {
                        return Err(format!("unknown option `{other}` for bench client").into());
                    }
                };
                let value = it.next().ok_or_else(|| format!("{arg} needs a value"))?;
                *slot = value.parse().map_err(|e| format!("{arg} {value}: {e}"))?;
                if *slot == 0 {
                    return Err(format!("{arg} must be positive").into());
                }
            }
            Ok(o)
        }
    }

    /// What one peer did in one phase.
    #[derive(Default, Clone)]
    struct Run {
        count: u64,
        /// Messages per second, first publish to last receipt.
        rate: f64,
        p50_ms: f64,
        p99_ms: f64,
        pub_cpu_us: f64,
        sub_cpu_us: f64,
        /// Context switches per message of each process, where the peer
        /// reports them.
        pub_switches: Option<f64>,
        sub_switches: Option<f64>,
    }

    /// A child whose stdout lines arrive on a channel; killed when dropped.
    struct Proc {
        child: Child,
        lines: mpsc::Receiver<String>,
        what: String,
    }

    impl Drop for Proc {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    impl Proc {
        fn spawn(mut cmd: Command, what: String) -> Result<Proc> {
            let mut child = cmd
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .map_err(|e| format!("cannot start {what}: {e}"))?;
            let stdout = child.stdout.take().ok_or("no stdout")?;
            let (tx, lines) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            Ok(Proc { child, lines, what })
        }

        /// The next line, within the limit.
        fn line(&self, deadline: Instant) -> Result<String> {
            let left = deadline.saturating_duration_since(Instant::now());
            self.lines.recv_timeout(left).map_err(|_| {
                format!("{} printed nothing more (failed or too slow)", self.what).into()
            })
        }

        /// The JSON line it ends with.
        fn result(&mut self, deadline: Instant) -> Result<Value> {
            let line = self.line(deadline)?;
            let value = serde_json::from_str(&line)
                .map_err(|e| format!("{} printed `{line}`: {e}", self.what))?;
            let left = deadline.saturating_duration_since(Instant::now());
            let start = Instant::now();
            while start.elapsed() < left {
                if let Some(status) = self.child.try_wait()? {
                    if !status.success() {
                        return Err(format!("{} exited with {status}", self.what).into());
                    }
                    return Ok(value);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(value)
        }
    }

    fn peer_command(peer: &Peer, release: &Path, js: &Path) -> Command {
        match &peer.kind {
            Kind::Rust { example, .. } => Command::new(
                release
                    .join("examples")
                    .join(format!("{example}{}", std::env::consts::EXE_SUFFIX)),
            ),
            Kind::Node { script } => {
                let mut cmd = Command::new("node");
                cmd.arg(js.join(script)).current_dir(js);
                cmd
            }
        }
    }

    fn num(v: &Value, field: &str) -> Result<f64> {
        v[field]
            .as_f64()
            .ok_or_else(|| format!("a result without `{field}`: {v}").into())
    }

    /// One phase of one peer: subscriber, then publisher.
    #[allow(clippy::too_many_arguments)]
    fn phase(
        peer: &Peer,
        release: &Path,
        js: &Path,
        port: &str,
        channel: &str,
        count: u64,
        window: u64,
        rate: Option<u64>,
        ticks_per_s: f64,
    ) -> Result<Run> {
        let deadline = Instant::now() + PHASE_LIMIT;
        let common = |role: &str| {
            let mut cmd = peer_command(peer, release, js);
            cmd.args([role, "--port", port, "--key", KEY, "--channel", channel])
                .args(["--count", &count.to_string()]);
            cmd
        };
        let mut sub = Proc::spawn(common("sub"), format!("{} subscriber", peer.name))?;
        let ready = sub.line(deadline)?;
        if ready != "ready" {
            return Err(format!("{} subscriber printed `{ready}`", peer.name).into());
        }
        let mut publish = common("pub");
        publish.args(["--window", &window.to_string()]);
        if let Some(r) = rate {
            publish.args(["--rate", &r.to_string()]);
        }
        let mut publisher = Proc::spawn(publish, format!("{} publisher", peer.name))?;
        let p = publisher.result(deadline)?;
        let s = sub.result(deadline)?;
        let n = count as f64;
        let elapsed_s = (num(&s, "last_us")? - num(&p, "start_us")?) / 1e6;
        let cpu_us =
            |v: &Value| -> Result<f64> { Ok(num(v, "cpu_ticks")? / ticks_per_s * 1e6 / n) };
        Ok(Run {
            count,
            rate: n / elapsed_s.max(1e-6),
            p50_ms: num(&s, "p50_us")? / 1e3,
            p99_ms: num(&s, "p99_us")? / 1e3,
            pub_cpu_us: cpu_us(&p)?,
            sub_cpu_us: cpu_us(&s)?,
            pub_switches: p["switches"].as_f64().map(|v| v / n),
            sub_switches: s["switches"].as_f64().map(|v| v / n),
        })
    }

    fn build(root: &Path, js: &Path) -> Result {
        let mut builds: Vec<(&str, &str)> = vec![("ably-blocking", "bench_service")];
        for peer in PEERS {
            if let Kind::Rust { package, example } = peer.kind {
                builds.push((package, example));
            }
        }
        for (package, example) in builds {
            eprintln!("bench client: building {package} example {example} (release)");
            let mut cargo = crate::cargo_command();
            cargo
                .args([
                    "build",
                    "--release",
                    "--quiet",
                    "-p",
                    package,
                    "--example",
                    example,
                ])
                .current_dir(root);
            super::run_status(
                &mut cargo,
                &format!("cargo build -p {package} --example {example}"),
            )?;
        }
        if !js.join("node_modules/ably/package.json").is_file() {
            eprintln!("bench client: npm ci in {}", js.display());
            super::run_status(Command::new("npm").arg("ci").current_dir(js), "npm ci")?;
        }
        Ok(())
    }

    fn start_service(release: &Path) -> Result<Service> {
        let bin = release
            .join("examples")
            .join(format!("bench_service{}", std::env::consts::EXE_SUFFIX));
        Service::start(&bin, &["--key", KEY], "http")
    }

    fn clock_ticks() -> f64 {
        let text = super::command_output("getconf", &["CLK_TCK"]);
        text.trim().parse().unwrap_or(100.0)
    }

    /// `cargo xtask bench client`.
    pub(super) fn run(args: &[String]) -> Result {
        let opts = Options::parse(args)?;
        let started = Instant::now();
        let root = crate::workspace_root();
        let js = root.join("xtask").join("js");
        let release: PathBuf = crate::target_dir().join("release");
        build(&root, &js)?;
        eprintln!("bench client: what a wake-up costs on this machine");
        let wake = crate::wake_probe::measure();
        let load_at_start = super::load_average();
        let service = start_service(&release)?;
        let port = service.port().to_owned();
        let ticks = clock_ticks();
        let fixed_count = opts.rate * opts.seconds;
        let mut saturation = Vec::new();
        let mut fixed = Vec::new();
        let id = std::process::id();
        for peer in PEERS {
            if peer.floor {
                saturation.push(None);
                continue;
            }
            eprintln!(
                "bench client: {} at saturation ({} messages)",
                peer.name, opts.count
            );
            let channel = format!("bench-{}-sat-{id}", peer.name);
            let run = phase(
                peer,
                &release,
                &js,
                &port,
                &channel,
                opts.count,
                opts.window,
                None,
                ticks,
            )?;
            saturation.push(Some(run));
        }
        for peer in PEERS {
            eprintln!(
                "bench client: {} at {} messages/s for {} s",
                peer.name, opts.rate, opts.seconds
            );
            let channel = format!("bench-{}-rate-{id}", peer.name);
            let run = phase(
                peer,
                &release,
                &js,
                &port,
                &channel,
                fixed_count,
                opts.rate_window,
                Some(opts.rate),
                ticks,
            )?;
            fixed.push(run);
        }
        drop(service);
        let mut env = super::versions(&js);
        env.load = format!("{load_at_start} at start, {} at end", super::load_average());
        let report = render(
            &opts,
            &saturation,
            &fixed,
            wake,
            &env,
            ticks,
            started.elapsed().as_secs_f64(),
        );
        println!("\n{report}");
        let out = crate::target_dir().join("bench-client.md");
        std::fs::write(&out, &report).map_err(|e| format!("writing {}: {e}", out.display()))?;
        eprintln!("bench client: wrote {}", out.display());
        let _ = std::io::stdout().flush();
        Ok(())
    }

    fn ratio(ours: f64, theirs: f64) -> String {
        if theirs > 0.0 {
            format!("{:.2}x", ours / theirs)
        } else {
            "–".to_owned()
        }
    }

    fn render(
        opts: &Options,
        saturation: &[Option<Run>],
        fixed: &[Run],
        wake: Option<crate::wake_probe::WakeCost>,
        v: &super::Versions,
        ticks: f64,
        elapsed_s: f64,
    ) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "### Client adapters vs ably-js {}\n", v.ably_js);
        let _ = writeln!(s, "- date: {}", v.date);
        let _ = writeln!(s, "- CPU: {} ({} logical CPUs)", v.cpu, v.cpus);
        let _ = writeln!(s, "- load average (1 min): {}", v.load);
        let _ = writeln!(s, "- {}; node {}; ably-js {}", v.rustc, v.node, v.ably_js);
        let _ = writeln!(
            s,
            "- one publisher and one subscriber process per client, MessagePack, echo off, \
             64-byte string messages on one channel; saturation: {} messages, at most {} \
             publishes awaiting their ACK; fixed rate: {}/s for {} s, at most {} awaiting; \
             CPU = user + system time of the process (/proc/self/stat, 1/{} s ticks) per \
             message; switches = context switches of the process's threads per message \
             (/proc/self/task/*/status), each a sleep and a wake-up.",
            opts.count, opts.window, opts.rate, opts.seconds, opts.rate_window, ticks
        );
        match wake {
            Some(w) => {
                let _ = writeln!(
                    s,
                    "- what a wake-up costs on this machine (`xtask/src/wake_probe.rs`, in this \
                     run): {:.1} µs of CPU for a thread woken by its timer, {:.1} µs for one \
                     woken by a loopback socket.\n",
                    w.timer_us, w.socket_us
                );
            }
            None => {
                let _ = writeln!(s, "- what a wake-up costs: not measured (no /proc).\n");
            }
        }
        let _ = writeln!(
            s,
            "| client | msgs/s (saturation) | pub CPU µs/msg | sub CPU µs/msg | p50 ms | p99 ms \
             | pub CPU µs/msg (fixed rate) | sub CPU µs/msg (fixed rate) \
             | pub / sub switches per msg (fixed rate) |"
        );
        let _ = writeln!(s, "|---|--:|--:|--:|--:|--:|--:|--:|--:|");
        let per_msg = |v: Option<f64>| v.map_or("–".to_owned(), |v| format!("{v:.2}"));
        for ((peer, sat), fix) in PEERS.iter().zip(saturation).zip(fixed) {
            let sat = match sat {
                Some(r) => format!("{:.0} | {:.1} | {:.1}", r.rate, r.pub_cpu_us, r.sub_cpu_us),
                None => "– | – | –".to_owned(),
            };
            let _ = writeln!(
                s,
                "| {} | {sat} | {:.2} | {:.2} | {:.1} | {:.1} | {} / {} |",
                peer.name,
                fix.p50_ms,
                fix.p99_ms,
                fix.pub_cpu_us,
                fix.sub_cpu_us,
                per_msg(fix.pub_switches),
                per_msg(fix.sub_switches),
            );
        }
        let reference = PEERS
            .iter()
            .position(Peer::is_reference)
            .and_then(|i| Some((saturation[i].as_ref()?, &fixed[i])));
        let mut verdicts = Vec::new();
        if let Some((js_sat, js_fix)) = reference {
            let _ = writeln!(
                s,
                "\nRatios against ably-js (ours / ably-js; CPU target <= 0.33x, throughput >= 1x, \
                 p99 <= 1x). The last column, for information, takes one timer wake-up (as \
                 measured above) per message off both publishers' CPU; the verdicts use the \
                 CPU as measured.\n"
            );
            let _ = writeln!(
                s,
                "| client | msgs/s | pub CPU | sub CPU | p99 | pub CPU (fixed rate) | sub CPU (fixed rate) \
                 | pub CPU (fixed rate) net of pacing |"
            );
            let _ = writeln!(s, "|---|--:|--:|--:|--:|--:|--:|--:|");
            // A paced publisher sleeps until each message is due: one timer
            // wake-up per message that is the application's, not the
            // client's, and costs every client the same.
            let net = |cpu: f64| wake.map(|w| (cpu - w.timer_us).max(0.0));
            for ((peer, sat), fix) in PEERS.iter().zip(saturation).zip(fixed) {
                let Some(sat) = sat.as_ref().filter(|_| !peer.is_reference()) else {
                    continue; // ably-js itself, and the floor
                };
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} | {} | {} | {} |",
                    peer.name,
                    ratio(sat.rate, js_sat.rate),
                    ratio(sat.pub_cpu_us, js_sat.pub_cpu_us),
                    ratio(sat.sub_cpu_us, js_sat.sub_cpu_us),
                    ratio(fix.p99_ms, js_fix.p99_ms),
                    ratio(fix.pub_cpu_us, js_fix.pub_cpu_us),
                    ratio(fix.sub_cpu_us, js_fix.sub_cpu_us),
                    match (net(fix.pub_cpu_us), net(js_fix.pub_cpu_us)) {
                        (Some(ours), Some(theirs)) => ratio(ours, theirs),
                        _ => "–".to_owned(),
                    },
                );
                let mut missed = Vec::new();
                let cpu = [
                    (
                        "publisher CPU at saturation",
                        sat.pub_cpu_us,
                        js_sat.pub_cpu_us,
                    ),
                    (
                        "subscriber CPU at saturation",
                        sat.sub_cpu_us,
                        js_sat.sub_cpu_us,
                    ),
                    (
                        "publisher CPU at the fixed rate",
                        fix.pub_cpu_us,
                        js_fix.pub_cpu_us,
                    ),
                    (
                        "subscriber CPU at the fixed rate",
                        fix.sub_cpu_us,
                        js_fix.sub_cpu_us,
                    ),
                ];
                for (what, ours, theirs) in cpu {
                    if ours > theirs * TARGET_CPU_RATIO {
                        missed.push(what.to_owned());
                    }
                }
                if sat.rate < js_sat.rate {
                    missed.push("throughput".to_owned());
                }
                if fix.p99_ms > js_fix.p99_ms {
                    missed.push("p99".to_owned());
                }
                verdicts.push(if missed.is_empty() {
                    format!("{}: meets every target.", peer.name)
                } else {
                    format!("{}: misses {}.", peer.name, missed.join(", "))
                });
            }
        }
        let _ = writeln!(s);
        for line in verdicts {
            let _ = writeln!(s, "{line}");
        }
        let js_fix = PEERS.iter().position(Peer::is_reference).map(|i| &fixed[i]);
        for (_, floor) in PEERS.iter().zip(fixed).filter(|(p, _)| p.floor) {
            let _ = write!(
                s,
                "\nThe floor (a peer with one WebSocket and the codec, no client library) spends \
                 {:.1} µs per message publishing and {:.1} µs receiving at the fixed rate",
                floor.pub_cpu_us, floor.sub_cpu_us
            );
            if let Some(js) = js_fix {
                let _ = write!(
                    s,
                    ", {} / {} of ably-js's",
                    ratio(floor.pub_cpu_us, js.pub_cpu_us),
                    ratio(floor.sub_cpu_us, js.sub_cpu_us)
                );
            }
            let _ = writeln!(
                s,
                ": what waking up, the system calls and the codec cost with no client \
                 around them."
            );
        }
        let total: u64 = saturation
            .iter()
            .flatten()
            .chain(fixed)
            .map(|r| r.count)
            .sum();
        let _ = writeln!(
            s,
            "\n{total} messages in all; total wall time of the run: {elapsed_s:.0} s."
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(59), (1970, 3, 1));
        assert_eq!(civil_date(11_016), (2000, 2, 29));
        assert_eq!(civil_date(19_723), (2024, 1, 1));
        assert_eq!(civil_date(-1), (1969, 12, 31));
    }

    #[test]
    fn rounds_combine_by_their_median() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
        let key = ("json10".to_owned(), "json".to_owned());
        let round = |rust: f64, js: f64| {
            let line = Line {
                bytes: 100,
                messages: Some(10),
                rust_decode_ns: Some(rust),
                js_ns: Some(js),
                ..Line::default()
            };
            BTreeMap::from([(key.clone(), line)])
        };
        // One round slowed on the Rust side does not decide the ratio.
        let lines = combine(vec![
            round(10.0, 55.0),
            round(25.0, 50.0),
            round(10.0, 60.0),
        ]);
        let line = &lines[&key];
        assert_eq!(line.round_ratios, vec![5.5, 2.0, 6.0]);
        assert_eq!(median(line.round_ratios.clone()), Some(5.5));
        assert_eq!(line.rust_decode_ns, Some(10.0));
        assert_eq!(line.js_ns, Some(55.0));
        assert_eq!(line.messages, Some(10));
    }

    #[test]
    fn number_formats() {
        assert_eq!(fmt_ns(85.34), "85.3");
        assert_eq!(fmt_ns(1234.4), "1,234");
        assert_eq!(fmt_ns(123_456_789.0), "123,456,789");
        assert_eq!(fmt_rate(2_500_000.0), "2.50 M");
        assert_eq!(fmt_rate(12_345.0), "12 k");
    }
}

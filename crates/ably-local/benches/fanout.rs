//! Fan-out of one channel: `cargo bench -p ably-local --bench fanout`
//! (or `cargo xtask bench fanout`).
//!
//! One publisher and 1, 10 or 100 subscribers, in JSON and MessagePack,
//! against ably-local started in-process on a free loopback port. The load
//! generator is raw tokio-tungstenite clients speaking the Ably realtime
//! protocol with ably-proto's codec: connect with `?key=..&format=..&v=6`,
//! ATTACH, wait for ATTACHED, publish MESSAGE frames with a `msgSerial`,
//! read MESSAGE frames. Each message's `name` is its send time (ns since
//! the bench started) and its `data` a 100-byte string.
//!
//! The ceiling is a minimal tokio-tungstenite broadcast server measured in
//! the same run: it fans every frame of its publisher out to its
//! subscribers, with no protocol, on TCP_NODELAY sockets (as are all the
//! load generator's). Its clients send and decode the same
//! frames, so only the server differs.
//!
//! Two kinds of rows, each bounded in time:
//! - throughput: the publisher sends as fast as it can, keeping at most
//!   `THROUGHPUT_WINDOW` messages ahead of the slowest subscriber;
//! - latency: the publisher offers a fixed rate; publish-to-receive p50 and
//!   p99 over every delivery.
//!
//! Then idle connections: a copy of this binary runs ably-local alone
//! (`FANOUT_SERVE_IDLE=1`) and reports its VmRSS from `/proc/self/status`
//! before and after this process opens N idle connections (CONNECTED, no
//! channel).
//!
//! Without `--bench` (as `cargo test --all-targets` runs it) a tiny smoke
//! version runs instead. `FANOUT_SUBSCRIBERS=1` (a comma-separated list)
//! runs only those rows and `FANOUT_IDLE=0` skips the idle connections;
//! `FANOUT_RAW=0` skips the raw broadcast runs (for profiling ably-local
//! alone; the ratios are then not measured).

use std::io::{BufRead, BufReader, Write as _};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use ably_local::hub::HubConfig;
use ably_local::server::{Config, Server};
use ably_proto::codec::{Format, decode_protocol_message, encode};
use ably_proto::{Action, Message, ProtocolMessage};
use futures_util::stream::SplitStream;
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, broadcast};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;
type Error = Box<dyn std::error::Error + Send + Sync>;
type Result<T = ()> = std::result::Result<T, Error>;

/// The key of the service under test.
const KEY: &str = "bench.k:secret";
/// Bytes of each message's data.
const PAYLOAD: usize = 100;
/// Messages the publisher may be ahead of the slowest subscriber when
/// saturating.
const THROUGHPUT_WINDOW: u64 = 256;
/// The same bound on latency rows (only reached when a run falls behind);
/// below the service's per-transport queue of 8192 frames.
const LATENCY_WINDOW: u64 = 4000;
/// How long a run waits for the last deliveries.
const DRAIN: Duration = Duration::from_secs(3);
/// A safety net on each setup step.
const SETUP_LIMIT: Duration = Duration::from_secs(30);
/// Idle connections opened at once.
const IDLE_CONCURRENCY: usize = 32;

/// What one run of the bench does.
struct Plan {
    secs: f64,
    subscribers: Vec<usize>,
    rate: u64,
    idle: usize,
    raw: bool,
}

fn main() {
    if std::env::var_os("FANOUT_SERVE_IDLE").is_some() {
        if let Err(e) = serve_idle() {
            eprintln!("fanout: idle server: {e}");
            std::process::exit(1);
        }
        return;
    }
    let full = std::env::args().any(|a| a == "--bench");
    let plan = if full {
        // `FANOUT_SUBSCRIBERS=1,10` runs only those rows; `FANOUT_IDLE=0`
        // skips the idle connections (for profiling one row).
        let subscribers = std::env::var("FANOUT_SUBSCRIBERS")
            .ok()
            .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
            .unwrap_or_else(|| vec![1, 10, 100]);
        let idle = std::env::var("FANOUT_IDLE")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(10_000);
        Plan {
            secs: 3.0,
            subscribers,
            rate: 2000,
            idle,
            raw: std::env::var("FANOUT_RAW").as_deref() != Ok("0"),
        }
    } else {
        Plan {
            secs: 0.1,
            subscribers: vec![2],
            rate: 200,
            idle: 10,
            raw: true,
        }
    };
    if let Err(e) = run(&plan, full) {
        eprintln!("fanout: {e}");
        std::process::exit(1);
    }
}

/// Which server a run measures.
#[derive(Clone, Copy, PartialEq)]
enum Target {
    AblyLocal,
    Raw,
}

/// Saturating or at a fixed offered rate (messages per second).
#[derive(Clone, Copy)]
enum Mode {
    Saturate,
    Rate(u64),
}

/// What one run measured.
struct RunResult {
    /// Messages published during the timed part.
    sent: u64,
    /// Deliveries (summed over subscribers) during the timed part, per
    /// second.
    delivered_per_s: f64,
    /// Deliveries missing after the drain.
    lost: u64,
    p50_us: f64,
    p99_us: f64,
}

/// One table line.
struct Row {
    subscribers: usize,
    format: Format,
    ably_sat: RunResult,
    raw_sat: RunResult,
    ably_lat: RunResult,
    raw_lat: RunResult,
}

fn run(plan: &Plan, full: bool) -> Result {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let started = Instant::now();
    let load_before = load_average();
    let rows = runtime.block_on(fanout_rows(plan))?;
    let load_after = load_average();
    let idle = idle_connections(&runtime, plan.idle)?;
    drop(runtime);
    let report = render(plan, &rows, &idle, &load_before, &load_after, started);
    println!("{report}");
    if !full {
        for row in &rows {
            for r in [&row.ably_sat, &row.raw_sat, &row.ably_lat, &row.raw_lat] {
                if r.sent == 0 || r.lost != 0 {
                    return Err(format!("smoke run lost messages: {report}").into());
                }
            }
        }
    }
    Ok(())
}

async fn fanout_rows(plan: &Plan) -> Result<Vec<Row>> {
    let server = Server::start(Config {
        keys: vec![KEY.into()],
        hub: HubConfig {
            // The publisher saturates on purpose.
            max_inbound_rate: 10_000_000,
            ..HubConfig::default()
        },
        ..Config::default()
    })
    .await?;
    let mut rows = Vec::new();
    let mut channel = 0;
    for &n in &plan.subscribers {
        for format in [Format::Json, Format::MsgPack] {
            let mut one = async |target, mode| {
                channel += 1;
                let name = format!("fanout-{channel}");
                run_one(target, server.addr(), &name, n, format, mode, plan.secs).await
            };
            let skipped = || RunResult {
                sent: 0,
                delivered_per_s: f64::NAN,
                lost: 0,
                p50_us: f64::NAN,
                p99_us: f64::NAN,
            };
            let ably_sat = one(Target::AblyLocal, Mode::Saturate).await?;
            let raw_sat = match plan.raw {
                true => one(Target::Raw, Mode::Saturate).await?,
                false => skipped(),
            };
            let ably_lat = one(Target::AblyLocal, Mode::Rate(plan.rate)).await?;
            let raw_lat = match plan.raw {
                true => one(Target::Raw, Mode::Rate(plan.rate)).await?,
                false => skipped(),
            };
            eprintln!(
                "fanout: {n} subscribers, {}: ably-local {:.0}/s, raw {:.0}/s",
                format.param(),
                ably_sat.delivered_per_s,
                raw_sat.delivered_per_s
            );
            rows.push(Row {
                subscribers: n,
                format,
                ably_sat,
                raw_sat,
                ably_lat,
                raw_lat,
            });
        }
    }
    server.shutdown().await;
    Ok(rows)
}

/// The subscribers' progress, read by the publisher for its window.
struct Progress {
    /// Messages received by each subscriber.
    received: Vec<AtomicU64>,
    /// Set by a publisher waiting on its window.
    waiting: AtomicBool,
    notify: Notify,
}

impl Progress {
    fn slowest(&self) -> u64 {
        self.received
            .iter()
            .map(|r| r.load(Ordering::Relaxed))
            .min()
            .unwrap_or(0)
    }

    fn total(&self) -> u64 {
        self.received
            .iter()
            .map(|r| r.load(Ordering::Relaxed))
            .sum()
    }
}

/// Nanoseconds since the first call.
fn now_ns() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

async fn connect(url: &str) -> Result<Socket> {
    let (ws, _) = tokio::time::timeout(
        SETUP_LIMIT,
        // TCP_NODELAY on every load-generator socket.
        tokio_tungstenite::connect_async_with_config(url, None, true),
    )
    .await
    .map_err(|_| format!("connecting to {url} timed out"))??;
    Ok(ws)
}

/// The next protocol message, pings skipped.
async fn next(ws: &mut Socket, format: Format) -> Result<ProtocolMessage> {
    loop {
        let msg = tokio::time::timeout(SETUP_LIMIT, ws.next())
            .await
            .map_err(|_| "no frame in time")?
            .ok_or("socket closed")??;
        match msg {
            Ws::Text(t) => return Ok(decode_protocol_message(t.as_bytes(), format)?),
            Ws::Binary(b) => return Ok(decode_protocol_message(&b, format)?),
            Ws::Close(_) => return Err("socket closed".into()),
            _ => {}
        }
    }
}

fn to_ws(bytes: Vec<u8>, format: Format) -> Result<Ws> {
    Ok(match format {
        Format::Json => Ws::Text(String::from_utf8(bytes)?.into()),
        Format::MsgPack => Ws::Binary(bytes.into()),
    })
}

/// A protocol connection to ably-local, attached to `channel` when given.
async fn ably_connect(
    addr: SocketAddr,
    format: Format,
    extra: &str,
    channel: Option<&str>,
) -> Result<Socket> {
    let url = format!(
        "ws://{addr}/?key={KEY}&format={}&v=6{extra}",
        format.param()
    );
    let mut ws = connect(&url).await?;
    let connected = next(&mut ws, format).await?;
    if connected.action != Action::Connected {
        return Err(format!("expected CONNECTED, got {:?}", connected.action).into());
    }
    if let Some(channel) = channel {
        let attach = ProtocolMessage::for_channel(Action::Attach, channel);
        ws.send(to_ws(encode(&attach, format)?, format)?).await?;
        loop {
            let pm = next(&mut ws, format).await?;
            match pm.action {
                Action::Attached => break,
                Action::Error | Action::Detached => {
                    return Err(format!("attach failed: {:?}", pm.error).into());
                }
                _ => {}
            }
        }
    }
    Ok(ws)
}

/// Reads deliveries until the socket closes.
async fn subscriber(
    mut rx: SplitStream<Socket>,
    format: Format,
    progress: Arc<Progress>,
    index: usize,
    latencies: Arc<Mutex<Vec<u32>>>,
) {
    while let Some(Ok(msg)) = rx.next().await {
        let bytes: &[u8] = match &msg {
            Ws::Text(t) => t.as_bytes(),
            Ws::Binary(b) => b,
            _ => continue,
        };
        let Ok(pm) = decode_protocol_message(bytes, format) else {
            continue;
        };
        if pm.action != Action::Message {
            continue;
        }
        let now = now_ns();
        let mut count = 0;
        if let Ok(mut lat) = latencies.lock() {
            for m in &pm.messages {
                if let Some(sent) = m.name.as_deref().and_then(|n| n.parse::<u64>().ok()) {
                    lat.push((now.saturating_sub(sent) / 1000).min(u64::from(u32::MAX)) as u32);
                    count += 1;
                }
            }
        }
        progress.received[index].fetch_add(count, Ordering::Relaxed);
        if progress.waiting.load(Ordering::Relaxed)
            && progress.waiting.swap(false, Ordering::AcqRel)
        {
            progress.notify.notify_one();
        }
    }
}

/// A minimal broadcast server: every text or binary frame from a client of
/// the publisher port goes to every client of the subscriber port.
async fn raw_server() -> Result<(SocketAddr, SocketAddr, JoinHandle<()>)> {
    let subs = TcpListener::bind("127.0.0.1:0").await?;
    let pubs = TcpListener::bind("127.0.0.1:0").await?;
    let (sub_addr, pub_addr) = (subs.local_addr()?, pubs.local_addr()?);
    let (tx, _) = broadcast::channel::<Ws>(8192);
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                Ok((tcp, _)) = subs.accept() => {
                    let _ = tcp.set_nodelay(true);
                    let mut rx = tx.subscribe();
                    tokio::spawn(async move {
                        let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                            return;
                        };
                        loop {
                            match rx.recv().await {
                                Ok(msg) => {
                                    if ws.send(msg).await.is_err() {
                                        break;
                                    }
                                }
                                Err(broadcast::error::RecvError::Lagged(_)) => {}
                                Err(broadcast::error::RecvError::Closed) => break,
                            }
                        }
                    });
                }
                Ok((tcp, _)) = pubs.accept() => {
                    let _ = tcp.set_nodelay(true);
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                            return;
                        };
                        while let Some(Ok(msg)) = ws.next().await {
                            if matches!(msg, Ws::Text(_) | Ws::Binary(_)) {
                                let _ = tx.send(msg);
                            }
                        }
                    });
                }
            }
        }
    });
    Ok((sub_addr, pub_addr, task))
}

/// One timed run: connect, publish for `secs`, drain, close.
async fn run_one(
    target: Target,
    addr: SocketAddr,
    channel: &str,
    n: usize,
    format: Format,
    mode: Mode,
    secs: f64,
) -> Result<RunResult> {
    let progress = Arc::new(Progress {
        received: (0..n).map(|_| AtomicU64::new(0)).collect(),
        waiting: AtomicBool::new(false),
        notify: Notify::new(),
    });
    let mut tasks = Vec::new();
    let mut latencies = Vec::new();
    let (raw_sub, publisher) = match target {
        Target::AblyLocal => {
            let publisher = ably_connect(addr, format, "&echo=false", Some(channel)).await?;
            (None, publisher)
        }
        Target::Raw => {
            let (sub_addr, pub_addr, server) = raw_server().await?;
            tasks.push(server);
            let publisher = connect(&format!("ws://{pub_addr}/")).await?;
            (Some(sub_addr), publisher)
        }
    };
    for index in 0..n {
        let ws = match raw_sub {
            None => ably_connect(addr, format, "", Some(channel)).await?,
            Some(sub_addr) => connect(&format!("ws://{sub_addr}/")).await?,
        };
        let (_tx, rx) = ws.split();
        let lat = Arc::new(Mutex::new(Vec::new()));
        latencies.push(lat.clone());
        // The write half is dropped: subscribers only read.
        tasks.push(tokio::spawn(subscriber(
            rx,
            format,
            progress.clone(),
            index,
            lat,
        )));
    }
    let (mut sink, mut acks) = publisher.split();
    // The publisher's incoming frames (ACKs) are read and dropped.
    tasks.push(tokio::spawn(async move {
        while let Some(Ok(_)) = acks.next().await {}
    }));

    let window = match mode {
        Mode::Saturate => THROUGHPUT_WINDOW,
        Mode::Rate(_) => LATENCY_WINDOW,
    };
    let data = "x".repeat(PAYLOAD);
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(secs);
    let mut sent: u64 = 0;
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        if let Mode::Rate(rate) = mode {
            let due = start + Duration::from_secs_f64(sent as f64 / rate as f64);
            if due > now {
                tokio::time::sleep_until(due.into()).await;
                continue;
            }
        }
        if sent - progress.slowest() >= window {
            progress.waiting.store(true, Ordering::Release);
            if sent - progress.slowest() >= window {
                let _ = tokio::time::timeout(end - now, progress.notify.notified()).await;
            }
            continue;
        }
        let mut pm = ProtocolMessage::for_channel(Action::Message, channel);
        pm.msg_serial = Some(sent);
        pm.messages = vec![Message::new(now_ns().to_string(), data.as_str())];
        sink.send(to_ws(encode(&pm, format)?, format)?).await?;
        sent += 1;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let delivered = progress.total();
    let drain_end = Instant::now() + DRAIN;
    while progress.slowest() < sent && Instant::now() < drain_end {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let lost = (sent * n as u64).saturating_sub(progress.total());
    let _ = sink.close().await;
    for task in &tasks {
        task.abort();
    }
    for task in tasks {
        let _ = task.await;
    }
    let mut all: Vec<u32> = Vec::new();
    for lat in latencies {
        if let Ok(lat) = lat.lock() {
            all.extend_from_slice(&lat);
        }
    }
    all.sort_unstable();
    let pct = |p: f64| {
        if all.is_empty() {
            f64::NAN
        } else {
            f64::from(all[((all.len() - 1) as f64 * p).round() as usize])
        }
    };
    Ok(RunResult {
        sent,
        delivered_per_s: delivered as f64 / elapsed,
        lost,
        p50_us: pct(0.50),
        p99_us: pct(0.99),
    })
}

/// What the idle-connection run measured.
struct Idle {
    wanted: usize,
    opened: usize,
    fd_limit: Option<u64>,
    server_before_kb: u64,
    server_after_kb: u64,
    client_before_kb: u64,
    client_after_kb: u64,
    open_secs: f64,
}

/// The `VmRSS` line of `/proc/self/status`, in kB.
fn vm_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// The soft limit on open files, from `/proc/self/limits`.
fn fd_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// The child: ably-local alone; prints its address, then its VmRSS (kB)
/// for every line read, until stdin closes.
fn serve_idle() -> Result {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let server = runtime.block_on(Server::start(Config {
        keys: vec![KEY.into()],
        ..Config::default()
    }))?;
    let mut out = std::io::stdout();
    writeln!(out, "{}", server.addr())?;
    out.flush()?;
    for line in std::io::stdin().lock().lines() {
        line?;
        writeln!(out, "{}", vm_rss_kb())?;
        out.flush()?;
    }
    Ok(())
}

fn idle_connections(runtime: &tokio::runtime::Runtime, wanted: usize) -> Result<Idle> {
    let limit = fd_limit();
    // Both processes hold one descriptor per connection, plus a few.
    let n = limit.map_or(wanted, |l| wanted.min(l.saturating_sub(256) as usize));
    let mut child = Command::new(std::env::current_exe()?)
        .env("FANOUT_SERVE_IDLE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let result = (|| -> Result<Idle> {
        let mut stdin = child.stdin.take().ok_or("no stdin")?;
        let mut stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        let addr: SocketAddr = line.trim().parse()?;
        let mut rss = || -> Result<u64> {
            writeln!(stdin, "rss")?;
            line.clear();
            stdout.read_line(&mut line)?;
            Ok(line.trim().parse()?)
        };
        // Warm the service up with one connection first.
        let warm = runtime.block_on(ably_connect(addr, Format::MsgPack, "", None))?;
        std::thread::sleep(Duration::from_millis(300));
        let server_before_kb = rss()?;
        let client_before_kb = vm_rss_kb();
        let started = Instant::now();
        let sockets = runtime.block_on(open_idle(addr, n))?;
        let open_secs = started.elapsed().as_secs_f64();
        std::thread::sleep(Duration::from_millis(1000));
        let server_after_kb = rss()?;
        let client_after_kb = vm_rss_kb();
        let opened = sockets.len();
        runtime.block_on(async move {
            drop(sockets);
            drop(warm);
        });
        Ok(Idle {
            wanted,
            opened,
            fd_limit: limit,
            server_before_kb,
            server_after_kb,
            client_before_kb,
            client_after_kb,
            open_secs,
        })
    })();
    let _ = child.kill();
    let _ = child.wait();
    result
}

/// Opens `n` connections (msgpack, no channel), each up to CONNECTED.
async fn open_idle(addr: SocketAddr, n: usize) -> Result<Vec<Socket>> {
    let mut workers = Vec::new();
    for w in 0..IDLE_CONCURRENCY {
        let count = n / IDLE_CONCURRENCY + usize::from(w < n % IDLE_CONCURRENCY);
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::with_capacity(count);
            for _ in 0..count {
                mine.push(ably_connect(addr, Format::MsgPack, "", None).await?);
            }
            Ok::<_, Error>(mine)
        }));
    }
    let mut all = Vec::with_capacity(n);
    for w in workers {
        all.extend(w.await??);
    }
    Ok(all)
}

/// The 1-minute load average, or `?`.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|t| t.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

/// A count with thousands separators.
fn thousands(v: f64) -> String {
    let digits = format!("{:.0}", v.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ms(us: f64) -> String {
    if us.is_nan() {
        "–".into()
    } else if us < 10_000.0 {
        format!("{:.2}", us / 1000.0)
    } else {
        format!("{:.0}", us / 1000.0)
    }
}

fn render(
    plan: &Plan,
    rows: &[Row],
    idle: &Idle,
    load_before: &str,
    load_after: &str,
    started: Instant,
) -> String {
    use std::fmt::Write as _;
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k.trim() == "model name").then(|| v.trim().to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut s = String::new();
    let _ = writeln!(s, "### ably-local fan-out vs a raw WebSocket broadcast\n");
    let _ = writeln!(
        s,
        "- CPU: {cpu} ({cpus} logical CPUs), shared by service and load generator"
    );
    let _ = writeln!(
        s,
        "- load average (1 min): {load_before} at start, {load_after} after the fan-out rows"
    );
    let _ = writeln!(
        s,
        "- {:.1} s per run; {PAYLOAD}-byte string data; throughput = saturating publisher \
         (at most {THROUGHPUT_WINDOW} messages ahead of the slowest subscriber), \
         deliveries summed over subscribers per second; latency = {} msg/s offered, \
         publish-to-receive over every delivery",
        plan.secs,
        thousands(plan.rate as f64)
    );
    let _ = writeln!(
        s,
        "- ratio = ably-local deliveries/s ÷ raw broadcast deliveries/s (target ≥ 0.5)\n"
    );
    let _ = writeln!(
        s,
        "| subscribers | format | ably-local msgs/s | raw msgs/s | ratio | ably-local p50 / p99 ms | \
         raw p50 / p99 ms | ably-local delivered/s at {} offered | lost (ably / raw) |",
        thousands(plan.rate as f64)
    );
    let _ = writeln!(s, "|--:|---|--:|--:|--:|--:|--:|--:|--:|");
    let mut below = Vec::new();
    for r in rows {
        let ratio = r.ably_sat.delivered_per_s / r.raw_sat.delivered_per_s;
        if ratio.is_nan() || ratio < 0.5 {
            below.push(format!(
                "{}/{} ({ratio:.2})",
                r.subscribers,
                r.format.param()
            ));
        }
        let lost = r.ably_sat.lost + r.ably_lat.lost;
        let raw_lost = r.raw_sat.lost + r.raw_lat.lost;
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {ratio:.2} | {} / {} | {} / {} | {} | {lost} / {raw_lost} |",
            r.subscribers,
            r.format.param(),
            thousands(r.ably_sat.delivered_per_s),
            thousands(r.raw_sat.delivered_per_s),
            ms(r.ably_lat.p50_us),
            ms(r.ably_lat.p99_us),
            ms(r.raw_lat.p50_us),
            ms(r.raw_lat.p99_us),
            thousands(r.ably_lat.delivered_per_s),
        );
    }
    let _ = writeln!(s);
    if below.is_empty() {
        let _ = writeln!(s, "Every row is at or above 50% of the raw broadcast.");
    } else {
        let _ = writeln!(s, "Below 50% of the raw broadcast: {}.", below.join(", "));
    }
    let per_conn = |before: u64, after: u64| {
        if idle.opened == 0 {
            0.0
        } else {
            after.saturating_sub(before) as f64 * 1024.0 / idle.opened as f64
        }
    };
    let _ = writeln!(
        s,
        "\nIdle connections (msgpack, CONNECTED, no channel): {} of {} wanted opened in {:.1} s \
         (open-files limit {}).",
        thousands(idle.opened as f64),
        thousands(idle.wanted as f64),
        idle.open_secs,
        idle.fd_limit
            .map_or_else(|| "unknown".into(), |l| l.to_string()),
    );
    let _ = writeln!(
        s,
        "- ably-local process VmRSS: {:.1} MiB before, {:.1} MiB after: {} B per connection",
        idle.server_before_kb as f64 / 1024.0,
        idle.server_after_kb as f64 / 1024.0,
        thousands(per_conn(idle.server_before_kb, idle.server_after_kb)),
    );
    let _ = writeln!(
        s,
        "- load generator VmRSS (client side, for reference): {:.1} MiB before, {:.1} MiB after: {} B per connection",
        idle.client_before_kb as f64 / 1024.0,
        idle.client_after_kb as f64 / 1024.0,
        thousands(per_conn(idle.client_before_kb, idle.client_after_kb)),
    );
    let _ = writeln!(
        s,
        "\nTotal wall time: {:.0} s.",
        started.elapsed().as_secs_f64()
    );
    s
}

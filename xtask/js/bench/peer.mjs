// One ably-js client of `cargo xtask bench client`, run as its own
// process; the same arguments and output as the Rust peers
// (crates/ably-blocking/examples/bench_peer.rs has the details):
//
//   node bench/peer.mjs sub --port P --key K --channel C --count N
//   node bench/peer.mjs pub --port P --key K --channel C --count N --window W [--rate R]
//
// `sub` prints `ready` once attached, then one JSON line with the latency
// percentiles; `pub` publishes with at most `window` awaiting their ACK,
// at once or at `rate` per second. CPU is user plus system time of this
// process from /proc/self/stat (clock ticks), and `switches` the context
// switches of its threads from /proc/self/task/*/status, as for the Rust
// peers.
import { readdirSync, readFileSync } from 'node:fs';
import Ably from 'ably';

const LIMIT_MS = 60000;

const [role, ...rest] = process.argv.slice(2);
const flags = {};
for (let i = 0; i + 1 < rest.length; i += 2) flags[rest[i].replace(/^--/, '')] = rest[i + 1];
const count = Number(flags.count);

function nowUs() {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

function cpuTicks() {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 1).trim().split(/\s+/);
  return Number(fields[11]) + Number(fields[12]);
}

function switches() {
  let total = 0;
  for (const task of readdirSync('/proc/self/task')) {
    let status;
    try {
      status = readFileSync(`/proc/self/task/${task}/status`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    const count = (key) => Number(status.match(new RegExp(`^${key}:\\s*(\\d+)`, 'm'))[1]);
    total += count('voluntary_ctxt_switches') + count('nonvoluntary_ctxt_switches');
  }
  return total;
}

function payload() {
  return String(nowUs()).padEnd(64, ' ');
}

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(Math.max(rank, 1), sorted.length) - 1];
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  const client = new Ably.Realtime({
    key: flags.key,
    endpoint: '127.0.0.1',
    port: Number(flags.port),
    tls: false,
    useBinaryProtocol: true,
    echoMessages: false,
    logLevel: 0,
  });
  await client.connection.once('connected');
  const channel = client.channels.get(flags.channel);
  let line;
  if (role === 'sub') {
    const latencies = [];
    let firstUs = 0;
    let done;
    const finished = new Promise((resolve) => { done = resolve; });
    await channel.subscribe((m) => {
      const at = nowUs();
      if (latencies.length === 0) firstUs = at;
      latencies.push(at - Number.parseInt(m.data, 10));
      if (latencies.length === count) done();
    });
    const cpu0 = cpuTicks();
    const switches0 = switches();
    console.log('ready');
    const timer = setTimeout(() => {
      console.error(`after ${latencies.length} of ${count} messages: timed out`);
      process.exit(1);
    }, LIMIT_MS);
    await finished;
    clearTimeout(timer);
    const lastUs = nowUs();
    const cpu = cpuTicks() - cpu0;
    const switched = switches() - switches0;
    latencies.sort((a, b) => a - b);
    line = {
      role: 'sub', count, first_us: firstUs, last_us: lastUs,
      p50_us: percentile(latencies, 50), p99_us: percentile(latencies, 99), cpu_ticks: cpu,
      switches: switched,
    };
  } else if (role === 'pub') {
    const window = Math.max(1, Number(flags.window));
    const rate = Number(flags.rate || 0);
    await channel.attach();
    const cpu0 = cpuTicks();
    const switches0 = switches();
    const startUs = nowUs();
    const start = performance.now();
    let inflight = 0;
    const waiters = [];
    let failure = null;
    const settle = () => {
      inflight -= 1;
      const w = waiters.shift();
      if (w) w();
    };
    for (let i = 0; i < count; i += 1) {
      if (failure) throw failure;
      if (rate > 0) {
        const wait = start + (i * 1000) / rate - performance.now();
        if (wait > 0) await sleep(wait);
      }
      if (inflight >= window) await new Promise((resolve) => waiters.push(resolve));
      inflight += 1;
      channel.publish('m', payload()).then(settle, (e) => { failure = e; settle(); });
      if (performance.now() - start > LIMIT_MS) throw new Error('the publisher ran out of time');
    }
    while (inflight > 0) await new Promise((resolve) => waiters.push(resolve));
    if (failure) throw failure;
    const endUs = nowUs();
    line = { role: 'pub', count, start_us: startUs, end_us: endUs, cpu_ticks: cpuTicks() - cpu0,
      switches: switches() - switches0,
    };
  } else {
    throw new Error(`unknown role ${role}`);
  }
  console.log(JSON.stringify(line));
  client.close();
  process.exit(0);
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});

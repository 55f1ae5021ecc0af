// Shared helpers for the interop scenarios: each scenario is a script that
// connects the official ably-js SDK to ably-local and exits 0 on success.
// `cargo xtask interop` runs them with ABLY_LOCAL_PORT and ABLY_LOCAL_KEY set.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import Ably from 'ably';

export { Ably };
export const port = Number(process.env.ABLY_LOCAL_PORT);
export const key = process.env.ABLY_LOCAL_KEY;

if (!port || !key) {
  console.error('set ABLY_LOCAL_PORT and ABLY_LOCAL_KEY (cargo xtask interop does)');
  process.exit(2);
}

/** Options that point a client at ably-local. */
export function local(opts = {}) {
  const base = { endpoint: '127.0.0.1', port, tls: false, logLevel: 0 };
  if (!opts.authCallback && !opts.authUrl && !opts.token) base.key = key;
  return { ...base, ...opts };
}

export function realtime(opts = {}) {
  return new Ably.Realtime(local(opts));
}

export function rest(opts = {}) {
  return new Ably.Rest(local(opts));
}

/** Rejects after `ms` with a message naming what was awaited. */
export function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function connected(client) {
  if (client.connection.state === 'connected') return;
  await within(client.connection.once('connected'), 10000, 'connected');
}

export function check(cond, message) {
  if (!cond) throw new Error(`check failed: ${message}`);
}

export function equal(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

/** Resolves with the first `n` messages a subscription receives. */
export function collect(channel, n, event) {
  const got = [];
  return new Promise((resolve) => {
    const listener = (m) => {
      got.push(m);
      if (got.length === n) resolve(got);
    };
    if (event) channel.subscribe(event, listener);
    else channel.subscribe(listener);
  });
}

/** Runs a scenario: exit 0 when it passes, 1 with the error when not. */
export async function scenario(body) {
  const clients = [];
  const track = (c) => {
    clients.push(c);
    return c;
  };
  let code = 0;
  try {
    await within(body(track), 60000, 'the scenario');
  } catch (e) {
    console.error(e && e.stack ? e.stack : String(e));
    code = 1;
  }
  for (const c of clients) {
    try {
      c.close();
    } catch {
      // already closed
    }
  }
  process.exit(code);
}

/**
 * Starts this project's Rust client (`interop_peer`, in ABLY_RUST_PEER) with
 * `args` (its mode first). `exited` settles when it exits (rejects unless
 * 0); `upTo(n)` resolves with its first `n` stdout lines once printed.
 */
export function rustPeer(args) {
  const peer = process.env.ABLY_RUST_PEER;
  if (!peer) throw new Error('set ABLY_RUST_PEER to the interop_peer binary (cargo xtask interop does)');
  const child = spawn(peer, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = [];
  const waiters = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    for (const w of waiters.splice(0)) w();
  });
  const exited = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`interop_peer ${args[0]} exited with ${code}`))));
  });
  const upTo = (n) => new Promise((resolve) => {
    const check = () => (lines.length >= n ? resolve(lines.slice(0, n)) : waiters.push(check));
    check();
  });
  return { exited, upTo };
}

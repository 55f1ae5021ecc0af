// Benchmarks the receive path of the official ably-js SDK for single protocol
// frames, so that the Rust codec can be compared against it in the same run.
//
// usage: node codec-bench.mjs FRAMES_DIR [--min-ms 1000] [--warmup-ms 200]
//                            [--pipeline public|channel]
//
// FRAMES_DIR holds `<row>.json` (a text frame: one JSON ProtocolMessage) and
// `<row>.msgpack` (a binary frame: one MessagePack ProtocolMessage) files.
// For every file one JSON line is printed on stdout:
//
//   {"row":"<row>","format":"json"|"msgpack","ns_per_frame":N,
//    "messages_per_frame":N,"bytes":N}
//
// `messages_per_frame` counts the decoded Message plus PresenceMessage objects
// the frame yields. Nothing else is written to stdout; diagnostics (including
// a once-per-row sanity check of the decoded payloads) go to stderr.
//
// What one "frame" costs here
// ---------------------------
// The frame starts as the raw bytes of the file (a Buffer), i.e. what the
// Node `ws` socket hands over. Then:
//
// 1. Body decoding, exactly as ably-js's `decodeBody()` (used by
//    `WebSocketTransport.onWsData()` -> `protocolmessage.deserialize()`) does:
//    * json:    `JSON.parse(String(body))`. `String(buffer)` is the UTF-8
//               decoding of the text frame. In a live connection that step
//               is done by `ws` itself (its `onmessage` wrapper calls
//               `data.toString()` on text frames) before ably-js sees the
//               string; it is included because it is part of turning the
//               received bytes into messages, as it is for the Rust codec.
//    * msgpack: `msgpack.decode(body)` with ably-js's own bundled decoder.
// 2. Payload decoding (the `encoding` field: base64 / utf-8 / json / ...):
//    * `--pipeline public` (default): the public static API,
//      `Ably.Realtime.Message.fromEncodedArray(pm.messages)` and
//      `Ably.Realtime.PresenceMessage.fromEncodedArray(pm.presence)`.
//    * `--pipeline channel`: the internal route a RealtimeChannel takes:
//      `Ably.makeProtocolMessageFromDeserialized()` (builds the
//      ProtocolMessage with WireMessage / WirePresenceMessage instances, as
//      `deserialize()` does), then for MESSAGE frames each
//      `wireMessage.decodeWithErr(decodingContext, logger)` awaited one
//      after another (as `RealtimeChannel.processMessage()` does), and for
//      presence `Promise.all(presence.map(w => w.decode(options, logger)))`.
//      The channel's `populateFieldsFromParent()` (copies id/connectionId/
//      timestamp from the frame into each message) is not exported by the
//      package and is therefore not included.
//
// Async handling
// --------------
// In ably-js 2.x `fromEncodedArray` (and the per-message `decode`) are
// `async` and return Promises (payload decoding may need WebCrypto for
// ciphers). Each frame's promise is awaited before the next frame is
// decoded, i.e. frames are processed strictly one at a time, like a client
// handling a stream of incoming frames. The cost of the promise machinery is
// therefore included in the figure: it is an unavoidable part of ably-js's
// receive path. Batching many frames under one Promise.all was rejected
// because it would keep every decoded frame of the batch alive at once and
// interleave work in a way no real connection does.
//
// Measurement
// -----------
// Per file: a warm-up of --warmup-ms (default 200 ms), after which a batch
// size is chosen so that one batch lasts about min(max(min-ms/40, 2), 50)
// ms; batches are run until --min-ms has elapsed (at least 5 batches) and
// the median of the per-batch ns/frame is reported.
//
// No network: nothing here instantiates a Rest or Realtime client; only
// static helpers of the SDK are used, so ably-js never tries to connect.

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import process from 'node:process';
import { createRequire } from 'node:module';
import Ably from 'ably';

// Everything ably-js might print through its default logger goes through
// console.log / console.warn; keep stdout for the result lines only.
console.log = (...args) => console.error(...args);
console.info = (...args) => console.error(...args);

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function log(msg) {
  process.stderr.write(msg + '\n');
}

function die(msg) {
  log(`codec-bench: ${msg}`);
  process.exit(2);
}

// ---------------------------------------------------------------------------
// Locating ably-js's msgpack decoder.
//
// In the Node build (`ably/build/ably-node.js`, the `node` export of the
// package) the entry point `src/platform/nodejs/index.ts` does
//
//     import msgpack = require('@ably/msgpack-js');
//     for (const clientClass of [DefaultRest, DefaultRealtime]) {
//       clientClass._MsgPack = msgpack;
//     }
//
// and esbuild inlines @ably/msgpack-js into the bundle (`require_msgpack()`),
// so the decoder ably-js really uses is a private copy inside ably-node.js,
// not the `@ably/msgpack-js` package installed beside it. A Realtime client
// picks it up in its constructor (`MsgPack = DefaultRealtime._MsgPack`,
// passed as the MsgPack plugin), and `WebSocketTransport.onWsData()` hands
// `this.connectionManager.realtime._MsgPack` to `decodeBody()`, which calls
// `MsgPack.decode(body)`. So the exact decoder object is reachable, without
// building a client, as the static property `Ably.Realtime._MsgPack`.
// (The package's own `msgpack` export is `null` in 2.x.)
// ---------------------------------------------------------------------------
const msgpack = Ably.Realtime._MsgPack;
if (!msgpack || typeof msgpack.decode !== 'function') {
  die('ably-js does not expose its bundled msgpack decoder as Ably.Realtime._MsgPack');
}

const Message = Ably.Realtime.Message;
const PresenceMessage = Ably.Realtime.PresenceMessage;
if (typeof Message?.fromEncodedArray !== 'function' || typeof PresenceMessage?.fromEncodedArray !== 'function') {
  die('Ably.Realtime.Message / PresenceMessage lack fromEncodedArray');
}

function ablyVersion() {
  try {
    const require = createRequire(import.meta.url);
    return require('ably/package.json').version;
  } catch {
    return Ably.Realtime.Platform?.Defaults?.version ?? 'unknown';
  }
}

// ---------------------------------------------------------------------------
// Command line.
// ---------------------------------------------------------------------------
function parseArgs(argv) {
  const opts = { dir: null, minMs: 1000, warmupMs: 200, pipeline: 'public' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) die(`${a} needs a value`);
      return argv[++i];
    };
    const number = (name) => {
      const v = Number(value());
      if (!Number.isFinite(v) || v < 0) die(`${name} must be a non-negative number`);
      return v;
    };
    if (a === '--min-ms') opts.minMs = number(a);
    else if (a === '--warmup-ms') opts.warmupMs = number(a);
    else if (a === '--pipeline') {
      opts.pipeline = value();
      if (opts.pipeline !== 'public' && opts.pipeline !== 'channel') die('--pipeline must be public or channel');
    } else if (a === '-h' || a === '--help') {
      log('usage: node codec-bench.mjs FRAMES_DIR [--min-ms 1000] [--warmup-ms 200] [--pipeline public|channel]');
      process.exit(0);
    } else if (a.startsWith('-')) die(`unknown option ${a}`);
    else if (opts.dir === null) opts.dir = a;
    else die(`unexpected argument ${a}`);
  }
  if (opts.dir === null) die('usage: node codec-bench.mjs FRAMES_DIR [--min-ms 1000]');
  return opts;
}

// ---------------------------------------------------------------------------
// The decode pipelines. Each `decoder(format)` returns `step(bytes)`, which
// decodes one frame and returns either a plain count (nothing async to do)
// or a Promise of the decoded Message/PresenceMessage lists.
// ---------------------------------------------------------------------------

// ably-js's decodeBody(), for the two transports.
function bodyDecoder(format) {
  if (format === 'json') return (bytes) => JSON.parse(String(bytes));
  return (bytes) => msgpack.decode(bytes);
}

function publicPipeline(format) {
  const decodeBody = bodyDecoder(format);
  return (bytes) => {
    const pm = decodeBody(bytes);
    const msgs = pm.messages;
    const pres = pm.presence;
    if (msgs && pres) {
      return Promise.all([Message.fromEncodedArray(msgs), PresenceMessage.fromEncodedArray(pres)]);
    }
    if (msgs) return Message.fromEncodedArray(msgs);
    if (pres) return PresenceMessage.fromEncodedArray(pres);
    return pm;
  };
}

// A logger stand-in with the one method ably-js's static Logger.logAction
// calls on the instance; only used if a payload fails to decode.
const channelLogger = {
  logAction(level, action, message) {
    if (level <= 1) log(`ably-js error: ${action}: ${message}`);
  },
};

function channelPipeline(format) {
  const decodeBody = bodyDecoder(format);
  const fromDeserialized = Ably.makeProtocolMessageFromDeserialized();
  // Mirrors RealtimeChannel's `_decodingContext` and `channelOptions` for a
  // channel without cipher or delta plugins.
  const channelOptions = {};
  const ctx = { channelOptions, plugins: {}, baseEncodedPreviousPayload: undefined };
  async function decodeMessages(wire) {
    const messages = new Array(wire.length);
    for (let i = 0; i < wire.length; i++) {
      const { decoded } = await wire[i].decodeWithErr(ctx, channelLogger);
      messages[i] = decoded;
    }
    return messages;
  }
  return (bytes) => {
    const pm = fromDeserialized(decodeBody(bytes));
    const msgs = pm.messages;
    const pres = pm.presence;
    const pp = pres ? Promise.all(pres.map((w) => w.decode(channelOptions, channelLogger))) : undefined;
    if (msgs && pp) return Promise.all([decodeMessages(msgs), pp]);
    if (msgs) return decodeMessages(msgs);
    if (pp) return pp;
    return pm;
  };
}

// Flattens whatever a step resolved to into the list of decoded messages.
function flatten(result) {
  if (!Array.isArray(result)) return [];
  if (result.length === 2 && Array.isArray(result[0]) && Array.isArray(result[1])) {
    return [...result[0], ...result[1]];
  }
  return result;
}

// ---------------------------------------------------------------------------
// Sanity check: print, once per file, what the decoded payloads look like.
// ---------------------------------------------------------------------------
function describeData(d) {
  if (d === undefined) return 'undefined';
  if (d === null) return 'null';
  if (Buffer.isBuffer(d)) return `Buffer(${d.length})`;
  if (d instanceof Uint8Array) return `Uint8Array(${d.length})`;
  if (d instanceof ArrayBuffer) return `ArrayBuffer(${d.byteLength})`;
  if (Array.isArray(d)) return `array(${d.length})`;
  if (typeof d === 'string') return `string(${d.length})`;
  return typeof d;
}

async function sanityCheck(label, bytes, step, format) {
  const raw = bodyDecoder(format)(bytes);
  const decoded = flatten(await step(bytes));
  const kinds = new Map();
  let leftover = 0;
  for (const m of decoded) {
    const k = `${m.constructor?.name ?? '?'}:${describeData(m.data).replace(/\(\d+\)$/, '')}`;
    kinds.set(k, (kinds.get(k) ?? 0) + 1);
    if (m.encoding) leftover++;
  }
  const first = decoded[0];
  const wireEnc = (raw.messages ?? raw.presence ?? [])[0]?.encoding;
  let line =
    `[check] ${label}: action=${raw.action} messages=${raw.messages?.length ?? 0} ` +
    `presence=${raw.presence?.length ?? 0} decoded=${decoded.length}`;
  if (first !== undefined) {
    line +=
      ` first{name=${JSON.stringify(first.name)} action=${JSON.stringify(first.action)}` +
      ` wire_encoding=${JSON.stringify(wireEnc ?? null)} data=${describeData(first.data)}` +
      ` encoding_after=${JSON.stringify(first.encoding ?? null)}}`;
  }
  line += ` kinds=${JSON.stringify(Object.fromEntries(kinds))}`;
  log(line);
  if (leftover > 0) log(`[check] WARNING ${label}: ${leftover} message(s) still carry an encoding after decoding`);
  return decoded.length;
}

// ---------------------------------------------------------------------------
// Timing.
// ---------------------------------------------------------------------------
let sink = 0; // keeps results observable so nothing is optimised away

async function runBatch(step, bytes, n) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const r = step(bytes);
    if (r instanceof Promise) sink += (await r).length;
    else sink += 1;
  }
  return Number(process.hrtime.bigint() - t0);
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

async function measure(step, bytes, { minMs, warmupMs }) {
  // Warm-up: grow the batch until the warm-up time is spent; the last
  // batches also give the per-frame estimate used to size the real batches.
  let n = 1;
  let spentNs = 0;
  let lastNsPerFrame = Infinity;
  const warmupNs = warmupMs * 1e6;
  do {
    const ns = await runBatch(step, bytes, n);
    spentNs += ns;
    lastNsPerFrame = ns / n;
    if (ns < 1e6) n *= 2;
  } while (spentNs < warmupNs);

  const targetBatchNs = Math.min(Math.max(minMs / 40, 2), 50) * 1e6;
  const batch = Math.max(1, Math.round(targetBatchNs / Math.max(lastNsPerFrame, 1)));
  const samples = [];
  const minNs = minMs * 1e6;
  let total = 0;
  while (total < minNs || samples.length < 5) {
    const ns = await runBatch(step, bytes, batch);
    total += ns;
    samples.push(ns / batch);
  }
  return { nsPerFrame: median(samples), batches: samples.length, batch };
}

// ---------------------------------------------------------------------------
// Main.
// ---------------------------------------------------------------------------
const opts = parseArgs(process.argv.slice(2));
const makeStep = opts.pipeline === 'channel' ? channelPipeline : publicPipeline;

let names;
try {
  names = await readdir(opts.dir);
} catch (e) {
  die(`cannot read ${opts.dir}: ${e.message}`);
}
const files = [];
for (const name of names) {
  const m = /^(.*)\.(json|msgpack)$/.exec(name);
  if (m) files.push({ row: m[1], format: m[2], file: path.join(opts.dir, name) });
}
const collator = new Intl.Collator('en', { numeric: true });
files.sort((a, b) => collator.compare(a.row, b.row) || collator.compare(a.format, b.format));
if (files.length === 0) die(`no <row>.json or <row>.msgpack files in ${opts.dir}`);

log(
  `codec-bench: ably ${ablyVersion()}, node ${process.version}, pipeline=${opts.pipeline}, ` +
    `min-ms=${opts.minMs}, warmup-ms=${opts.warmupMs}, ${files.length} file(s)`,
);

let failures = 0;
for (const { row, format, file } of files) {
  const label = `${row}.${format}`;
  const bytes = await readFile(file);
  const step = makeStep(format);
  let count;
  try {
    count = await sanityCheck(label, bytes, step, format);
  } catch (e) {
    log(`codec-bench: ${label}: ably-js failed to decode the frame: ${e?.stack ?? e}`);
    failures++;
    continue;
  }
  if (typeof globalThis.gc === 'function') globalThis.gc();
  const { nsPerFrame, batches, batch } = await measure(step, bytes, opts);
  log(`[time] ${label}: ${nsPerFrame.toFixed(1)} ns/frame (median of ${batches} batches x ${batch})`);
  out({
    row,
    format,
    ns_per_frame: Math.round(nsPerFrame * 10) / 10,
    messages_per_frame: count,
    bytes: bytes.length,
  });
}
if (sink === -1) log('unreachable');
process.exitCode = failures ? 1 : 0;

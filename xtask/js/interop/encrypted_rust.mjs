// Encrypted channels between ably-js and this project's Rust client
// (ably-blocking, the example binary `interop_peer` that `cargo xtask
// interop` builds and names in ABLY_RUST_PEER), with a fixed 256-bit key:
// the Rust client publishes a string, a JSON object and binary that
// ably-js decrypts, and ably-js publishes the same kinds that the Rust
// client decrypts; every pairing of JSON and MessagePack on both sides.
import { scenario, realtime, connected, within, check, port, key, rustPeer } from './common.mjs';

const peer = process.env.ABLY_RUST_PEER;
if (!peer) {
  console.error('set ABLY_RUST_PEER to the interop_peer binary (cargo xtask interop does)');
  process.exit(2);
}

// 32 bytes 0x00..0x1f, base64: the same key on both sides.
const CIPHER_KEY = Buffer.from([...Array(32).keys()]).toString('base64');
const FORMATS = ['json', 'msgpack'];

/** JSON text with object keys sorted, to compare values whatever their key order. */
function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

function equal(actual, expected, what) {
  const a = canonical(actual);
  const e = canonical(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

/** Starts the Rust peer on `channel` with the cipher key. */
function runPeer(mode, channel, format, extra = []) {
  return rustPeer([mode, '--port', String(port), '--key', key, '--channel', channel,
    '--cipher-key', CIPHER_KEY, '--format', format, ...extra]);
}

async function rustToJs(track, rustFormat, jsFormat) {
  const name = `interop:rust-to-js:${rustFormat}-${jsFormat}`;
  const js = track(realtime({ useBinaryProtocol: jsFormat === 'msgpack' }));
  await connected(js);
  const channel = js.channels.get(name, { cipher: { key: CIPHER_KEY } });
  const got = new Promise((resolve) => {
    const seen = [];
    channel.subscribe((m) => {
      seen.push(m);
      if (seen.length === 3) resolve(seen);
    });
  });
  await channel.attach();
  const rust = runPeer('publish', name, rustFormat);
  await within(rust.exited, 20000, 'the Rust publisher');
  const [text, obj, bin] = await within(got, 10000, `decrypted messages (${name})`);
  equal([text.name, text.data], ['text', 'hello from rust'], `${name}: text`);
  equal([obj.name, obj.data], ['json', { from: 'rust', n: [1, 2, 3], nested: { ok: true } }], `${name}: json`);
  check(Buffer.isBuffer(bin.data) || bin.data instanceof Uint8Array, `${name}: binary is bytes (${typeof bin.data})`);
  equal([bin.name, [...bin.data]], ['binary', [0, 1, 2, 253, 254, 255]], `${name}: binary`);
  for (const m of [text, obj, bin]) check(!m.encoding, `${name}: ${m.name} left encoded as ${m.encoding}`);
  js.close();
}

async function jsToRust(track, jsFormat, rustFormat) {
  const name = `interop:js-to-rust:${jsFormat}-${rustFormat}`;
  const rust = runPeer('subscribe', name, rustFormat, ['--count', '3']);
  const failed = rust.exited.then(() => { throw new Error('interop_peer exited before ready'); });
  await within(Promise.race([rust.upTo(1), failed]), 20000, 'the Rust subscriber to attach');
  equal((await rust.upTo(1))[0], 'ready', `${name}: first line`);
  const js = track(realtime({ useBinaryProtocol: jsFormat === 'msgpack' }));
  await connected(js);
  const channel = js.channels.get(name, { cipher: { key: CIPHER_KEY } });
  await channel.publish('text', 'hello from js');
  await channel.publish('json', { from: 'js', list: [1, 'two', null], deep: { a: { b: 1.5 } } });
  await channel.publish('binary', Buffer.from([255, 0, 128, 7]));
  await within(rust.exited, 20000, 'the Rust subscriber');
  const lines = (await rust.upTo(4)).slice(1).map((l) => JSON.parse(l));
  equal(lines[0], { name: 'text', type: 'string', data: 'hello from js', encoding: null }, `${name}: text`);
  equal(lines[1], {
    name: 'json', type: 'json', data: { from: 'js', list: [1, 'two', null], deep: { a: { b: 1.5 } } }, encoding: null,
  }, `${name}: json`);
  equal(lines[2], { name: 'binary', type: 'binary', data: [255, 0, 128, 7], encoding: null }, `${name}: binary`);
  js.close();
}

await scenario(async (track) => {
  // The wire carries ciphertext: a client without the key sees it.
  const spy = track(realtime());
  await connected(spy);
  const spied = spy.channels.get('interop:rust-to-js:json-json');
  const raw = new Promise((resolve) => spied.subscribe(resolve));
  await spied.attach();
  for (const rustFormat of FORMATS) {
    for (const jsFormat of FORMATS) {
      await rustToJs(track, rustFormat, jsFormat);
      await jsToRust(track, jsFormat, rustFormat);
    }
  }
  const r = await within(raw, 5000, 'the ciphertext');
  check(String(r.encoding || '').includes('cipher+aes-256-cbc'), `ciphertext encoding ${r.encoding}`);
});

// TLS end to end: ably-js and this project's Rust client (ably-blocking,
// the `interop_peer` example) both on the ably-local that `cargo xtask
// interop` serves over TLS with a CA made for the run. ably-js trusts that
// CA through NODE_EXTRA_CA_CERTS, the Rust client through `--tls-ca`.
// Realtime over `wss://` both ways (the Rust client publishing to ably-js
// and the reverse, encrypted channels, JSON and MessagePack), and ably-js
// REST over `https://` (time, history of what went over the WebSockets).
import { scenario, realtime, rest, connected, within, check, equal, key, rustPeer } from './common.mjs';

const peer = process.env.ABLY_RUST_PEER;
const tlsPort = Number(process.env.ABLY_LOCAL_TLS_PORT);
const caDer = process.env.ABLY_LOCAL_TLS_CA_DER;
if (!peer || !tlsPort || !caDer || !process.env.NODE_EXTRA_CA_CERTS) {
  console.error('set ABLY_RUST_PEER, ABLY_LOCAL_TLS_PORT, ABLY_LOCAL_TLS_CA_DER and NODE_EXTRA_CA_CERTS (cargo xtask interop does)');
  process.exit(2);
}

const CIPHER_KEY = Buffer.from([...Array(32).keys()]).toString('base64');

/** ably-js options for the TLS service. */
function overTls(opts = {}) {
  return { tls: true, tlsPort, ...opts };
}

/** Starts the Rust peer over TLS on `channel` with the cipher key. */
function runPeer(mode, channel, format, extra = []) {
  return rustPeer([mode, '--port', String(tlsPort), '--tls-ca', caDer, '--key', key,
    '--channel', channel, '--cipher-key', CIPHER_KEY, '--format', format, ...extra]);
}

await scenario(async (track) => {
  // The Rust client publishes over wss; ably-js receives over wss.
  const js = track(realtime(overTls({ useBinaryProtocol: false })));
  await connected(js);
  const toJs = js.channels.get('interop:tls:rust-to-js', { cipher: { key: CIPHER_KEY } });
  const got = new Promise((resolve) => {
    const seen = [];
    toJs.subscribe((m) => {
      seen.push(m);
      if (seen.length === 3) resolve(seen);
    });
  });
  await toJs.attach();
  const publisher = runPeer('publish', 'interop:tls:rust-to-js', 'msgpack');
  await within(publisher.exited, 20000, 'the Rust publisher over TLS');
  const [text, obj, bin] = await within(got, 10000, 'the Rust client\'s messages over TLS');
  equal([text.name, text.data], ['text', 'hello from rust'], 'text');
  equal([obj.name, obj.data], ['json', { from: 'rust', n: [1, 2, 3], nested: { ok: true } }], 'json');
  equal([bin.name, [...bin.data]], ['binary', [0, 1, 2, 253, 254, 255]], 'binary');

  // ably-js publishes over wss (MessagePack); the Rust client receives.
  const subscriber = runPeer('subscribe', 'interop:tls:js-to-rust', 'json', ['--count', '1']);
  const failed = subscriber.exited.then(() => { throw new Error('interop_peer exited before ready'); });
  await within(Promise.race([subscriber.upTo(1), failed]), 20000, 'the Rust subscriber to attach over TLS');
  const jsPub = track(realtime(overTls({ useBinaryProtocol: true })));
  await connected(jsPub);
  const toRust = jsPub.channels.get('interop:tls:js-to-rust', { cipher: { key: CIPHER_KEY } });
  await toRust.publish('greeting', 'hello over tls');
  await within(subscriber.exited, 20000, 'the Rust subscriber');
  const [line] = (await subscriber.upTo(2)).slice(1).map((l) => JSON.parse(l));
  equal([line.name, line.type, line.data, line.encoding], ['greeting', 'string', 'hello over tls', null], 'Rust got');

  // ably-js REST over https: the service's time and the history of both.
  const r = rest(overTls());
  const time = await r.time();
  check(Math.abs(time - Date.now()) < 60000, `time over https: ${time}`);
  const history = await r.channels.get('interop:tls:js-to-rust', { cipher: { key: CIPHER_KEY } }).history();
  equal(history.items.map((m) => [m.name, m.data]), [['greeting', 'hello over tls']], 'history over https');
  const fromRust = await r.channels.get('interop:tls:rust-to-js', { cipher: { key: CIPHER_KEY } }).history({ direction: 'forwards' });
  equal(fromRust.items.map((m) => m.name), ['text', 'json', 'binary'], 'history of the Rust messages');
  js.close();
  jsPub.close();
});

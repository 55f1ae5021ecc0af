// An encrypted channel between two ably-js clients (AES-256-CBC).
import { scenario, realtime, connected, within, equal, check, Ably } from './common.mjs';

await scenario(async (track) => {
  const key = await Ably.Realtime.Crypto.generateRandomKey(256);
  const name = 'interop:encrypted';
  const a = track(realtime({ useBinaryProtocol: false }));
  const b = track(realtime({ useBinaryProtocol: true }));
  const plain = track(realtime());
  await Promise.all([connected(a), connected(b), connected(plain)]);
  const ca = a.channels.get(name, { cipher: { key } });
  const cb = b.channels.get(name, { cipher: { key } });
  const cPlain = plain.channels.get(name);
  const got = new Promise((resolve) => {
    const seen = [];
    cb.subscribe((m) => {
      seen.push(m);
      if (seen.length === 2) resolve(seen);
    });
  });
  const raw = new Promise((resolve) => cPlain.subscribe(resolve));
  await Promise.all([cb.attach(), cPlain.attach()]);
  await ca.publish('secret', { text: 'top secret' });
  await ca.publish('bytes', Buffer.from([9, 8, 7]));
  const [m1, m2] = await within(got, 5000, 'decrypted messages');
  equal(m1.data, { text: 'top secret' }, 'decrypted JSON');
  equal([...m2.data], [9, 8, 7], 'decrypted bytes');
  const r = await within(raw, 5000, 'the ciphertext');
  check(String(r.encoding || '').includes('cipher+aes-256-cbc'), `ciphertext encoding ${r.encoding}`);
});

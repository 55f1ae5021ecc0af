// A burst of publishes not awaited one by one, from a JSON and a
// MessagePack client: the service answers consecutive msgSerials with one
// ACK carrying `count` (RTN7b) and a `res` entry per frame, and ably-js
// must resolve every publish and deliver every message once, in order.
import { scenario, realtime, connected, collect, within, equal } from './common.mjs';

const N = 300;

await scenario(async (track) => {
  for (const binary of [false, true]) {
    const pub = track(realtime({ useBinaryProtocol: binary }));
    const sub = track(realtime({ useBinaryProtocol: !binary }));
    await Promise.all([connected(pub), connected(sub)]);
    const name = `interop:burst:${binary ? 'msgpack' : 'json'}`;
    const cs = sub.channels.get(name);
    const got = collect(cs, N);
    await cs.attach();
    const cp = pub.channels.get(name);
    await cp.attach();
    const sends = [];
    for (let i = 0; i < N; i++) sends.push(cp.publish(`m${i}`, `burst ${i}`));
    await within(Promise.all(sends), 20000, `${N} publishes to be acknowledged`);
    const msgs = await within(got, 20000, `${N} messages`);
    equal(
      msgs.map((m) => m.name),
      Array.from({ length: N }, (_, i) => `m${i}`),
      `every message once, in order (${binary ? 'msgpack' : 'json'} publisher)`,
    );
  }
});

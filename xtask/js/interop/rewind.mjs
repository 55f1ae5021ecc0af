// rewind: a new subscriber gets the last messages on attach.
import { scenario, realtime, connected, collect, within, equal } from './common.mjs';

await scenario(async (track) => {
  const name = 'interop:rewind';
  const pub = track(realtime());
  await connected(pub);
  const cp = pub.channels.get(name);
  for (let i = 0; i < 5; i++) await cp.publish('m', `msg-${i}`);
  for (const useBinaryProtocol of [false, true]) {
    const sub = track(realtime({ useBinaryProtocol }));
    await connected(sub);
    const cs = sub.channels.get(name, { params: { rewind: '3' } });
    const got = collect(cs, 3);
    const msgs = await within(got, 5000, 'rewound messages');
    equal(msgs.map((m) => m.data), ['msg-2', 'msg-3', 'msg-4'], 'rewound messages');
    equal(cs.params.rewind, '3', 'params echoed');
  }
});

// String, JSON and binary data between a JSON client and a MessagePack client.
import { scenario, realtime, connected, collect, within, check, equal } from './common.mjs';

await scenario(async (track) => {
  const json = track(realtime({ useBinaryProtocol: false }));
  const pack = track(realtime({ useBinaryProtocol: true }));
  await Promise.all([connected(json), connected(pack)]);
  const name = 'interop:pubsub';
  const cj = json.channels.get(name);
  const cp = pack.channels.get(name);
  const toPack = collect(cp, 3, ['from-json-0', 'from-json-1', 'from-json-2']);
  const toJson = collect(cj, 3, ['from-pack-0', 'from-pack-1', 'from-pack-2']);
  await Promise.all([cj.attach(), cp.attach()]);
  const payloads = ['a string', { nested: { list: [1, 'two', true] } }, Buffer.from([0, 1, 2, 254, 255])];
  for (const [i, data] of payloads.entries()) {
    await cj.publish(`from-json-${i}`, data);
  }
  for (const [i, data] of payloads.entries()) {
    await cp.publish(`from-pack-${i}`, data);
  }
  const check3 = (msgs, from) => {
    const mine = msgs.filter((m) => m.name.startsWith(from));
    equal(mine.length, 3, `messages from ${from}`);
    equal(mine[0].data, 'a string', 'string data');
    equal(mine[1].data, payloads[1], 'JSON data');
    check(Buffer.isBuffer(mine[2].data) || mine[2].data instanceof Uint8Array, 'binary data is binary');
    equal([...mine[2].data], [0, 1, 2, 254, 255], 'binary bytes');
    check(mine.every((m) => m.id && m.timestamp && m.connectionId), 'id, timestamp, connectionId');
  };
  check3(await within(toPack, 5000, 'messages from the JSON client'), 'from-json');
  check3(await within(toJson, 5000, 'messages from the MessagePack client'), 'from-pack');
});

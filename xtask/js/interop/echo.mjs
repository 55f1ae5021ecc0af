// echoMessages: false keeps a client's own messages from coming back.
import { scenario, realtime, connected, within, equal } from './common.mjs';

await scenario(async (track) => {
  const quiet = track(realtime({ echoMessages: false }));
  const other = track(realtime({ useBinaryProtocol: true }));
  await Promise.all([connected(quiet), connected(other)]);
  const name = 'interop:echo';
  const cq = quiet.channels.get(name);
  const co = other.channels.get(name);
  const seenByQuiet = [];
  await cq.subscribe((m) => seenByQuiet.push(m.name));
  const otherGot = new Promise((resolve) => co.subscribe('mine', resolve));
  await co.attach();
  await cq.publish('mine', 'x');
  await within(otherGot, 5000, 'the other client to receive it');
  // A marker from the other client arrives after 'mine' would have.
  const marker = new Promise((resolve) => cq.subscribe('marker', resolve));
  await co.publish('marker', 'y');
  await within(marker, 5000, 'the marker');
  equal(seenByQuiet, ['marker'], 'what the echo-less client saw');
});

// Connects in JSON and in MessagePack; checks the connection details.
import { scenario, realtime, connected, check, equal } from './common.mjs';

await scenario(async (track) => {
  for (const useBinaryProtocol of [false, true]) {
    const c = track(realtime({ useBinaryProtocol, clientId: 'conn-test' }));
    await connected(c);
    check(c.connection.id, 'a connection id');
    check(c.connection.key, 'a connection key');
    equal(c.auth.clientId, 'conn-test', 'clientId');
    const ch = c.channels.get('interop:connect');
    await ch.attach();
    equal(ch.state, 'attached', 'channel state');
    c.close();
    await c.connection.once('closed');
  }
  // A bad key fails the connection with 40101.
  const bad = track(realtime({ key: 'nope.nope:nope' }));
  const change = await bad.connection.once('failed');
  equal(change.reason && change.reason.code, 40101, 'error code for a bad key');
});

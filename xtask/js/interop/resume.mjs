// The transport drops; messages published meanwhile arrive exactly once,
// on the same connection.
import { scenario, realtime, connected, within, equal, check } from './common.mjs';

await scenario(async (track) => {
  const name = 'interop:resume';
  const sub = track(realtime({ useBinaryProtocol: true }));
  const pub = track(realtime());
  await Promise.all([connected(sub), connected(pub)]);
  const id = sub.connection.id;
  const received = [];
  const cs = sub.channels.get(name);
  let done;
  const all = new Promise((resolve) => (done = resolve));
  await cs.subscribe((m) => {
    received.push(m.data);
    if (m.data === 'after') done();
  });
  const cp = pub.channels.get(name);
  await cp.publish('m', 'before');
  // Drop the WebSocket without a close handshake; note the states after.
  const states = [];
  let resumed;
  const back = new Promise((resolve) => (resumed = resolve));
  let sawDisconnected;
  const down = new Promise((resolve) => (sawDisconnected = resolve));
  sub.connection.on((change) => {
    states.push(change.current);
    if (change.current === 'disconnected') sawDisconnected();
    if (change.current === 'connected' && states.includes('disconnected')) resumed();
  });
  sub.connection.connectionManager.activeProtocol.getTransport().wsConnection.terminate();
  await within(down, 5000, 'disconnected');
  for (const m of ['during-1', 'during-2', 'during-3']) await cp.publish('m', m);
  await within(back, 10000, `the resume (states ${states})`);
  equal(sub.connection.id, id, 'connection id after resume');
  check(!sub.connection.errorReason || sub.connection.errorReason.code !== 80008, 'no resume failure');
  if (cs.state !== 'attached') await within(cs.once('attached'), 5000, 'reattach');
  await cp.publish('m', 'after');
  await within(all, 5000, 'every message');
  equal(received, ['before', 'during-1', 'during-2', 'during-3', 'after'], 'messages, each once, in order');
});

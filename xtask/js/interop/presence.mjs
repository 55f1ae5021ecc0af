// Presence enter/update/leave/get between two clients.
import { scenario, realtime, connected, within, equal, check } from './common.mjs';

await scenario(async (track) => {
  const a = track(realtime({ clientId: 'alice' }));
  const b = track(realtime({ clientId: 'bob', useBinaryProtocol: true }));
  await Promise.all([connected(a), connected(b)]);
  const name = 'interop:presence';
  const ca = a.channels.get(name);
  const cb = b.channels.get(name);
  const events = [];
  const seen = (action) =>
    new Promise((resolve) => {
      const l = (m) => {
        if (m.clientId === 'alice' && m.action === action) {
          cb.presence.unsubscribe(l);
          resolve(m);
        }
      };
      cb.presence.subscribe(l);
    });
  await cb.presence.subscribe((m) => events.push(`${m.action}:${m.clientId}`));
  const entered = seen('enter');
  await ca.presence.enter({ mood: 'happy' });
  const e = await within(entered, 5000, 'enter');
  equal(e.data, { mood: 'happy' }, 'enter data');
  const updated = seen('update');
  await ca.presence.update('busy');
  equal((await within(updated, 5000, 'update')).data, 'busy', 'update data');
  const members = await cb.presence.get();
  equal(members.map((m) => `${m.clientId}:${m.data}`), ['alice:busy'], 'members seen by bob');
  const bobSeen = new Promise((resolve) => ca.presence.subscribe('enter', (m) => m.clientId === 'bob' && resolve()));
  await cb.presence.enter();
  await within(bobSeen, 5000, "alice to see bob's enter");
  const mine = await ca.presence.get();
  equal(mine.map((m) => m.clientId).sort(), ['alice', 'bob'], 'members seen by alice');
  const left = seen('leave');
  await ca.presence.leave();
  await within(left, 5000, 'leave');
  const after = await cb.presence.get();
  equal(after.map((m) => m.clientId), ['bob'], 'members after leave');
  check(events.includes('enter:alice') && events.includes('leave:alice'), `events ${events}`);
});

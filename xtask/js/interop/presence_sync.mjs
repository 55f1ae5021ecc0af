// 100 members entered by one client; a late joiner gets them all by SYNC.
import { scenario, realtime, connected, equal } from './common.mjs';

await scenario(async (track) => {
  const host = track(realtime({ useBinaryProtocol: true }));
  await connected(host);
  const name = 'interop:sync100';
  const ch = host.channels.get(name);
  await ch.attach();
  const entries = [];
  for (let i = 0; i < 100; i++) {
    entries.push(ch.presence.enterClient(`member-${String(i).padStart(3, '0')}`, { i }));
  }
  await Promise.all(entries);
  for (const useBinaryProtocol of [false, true]) {
    const late = track(realtime({ useBinaryProtocol }));
    await connected(late);
    const members = await late.channels.get(name).presence.get();
    equal(members.length, 100, `members seen by a late joiner (binary ${useBinaryProtocol})`);
    const ids = members.map((m) => m.clientId).sort();
    equal(ids[0], 'member-000', 'first member');
    equal(ids[99], 'member-099', 'last member');
    equal(members.find((m) => m.clientId === 'member-042').data, { i: 42 }, 'member data');
  }
});

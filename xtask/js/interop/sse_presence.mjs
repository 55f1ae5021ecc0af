// SSE with channel params in the name and presence: the `eventsource` npm
// package on `[?rewind=1]name` gets the last message, then the presence of
// ably-js realtime clients; a resume with its lastEventId gets exactly the
// messages and presence events missed meanwhile.
import { EventSource } from 'eventsource';
import { scenario, rest, realtime, connected, check, equal, within, port, key } from './common.mjs';

const base = `http://127.0.0.1:${port}`;
const q = (params) => new URLSearchParams({ v: '1.2', key, ...params }).toString();

/** Resolves with the first `n` message and presence events, in order. */
function events(es, n) {
  const got = [];
  return new Promise((resolve, reject) => {
    const push = (kind) => (e) => {
      got.push({ kind, id: e.lastEventId, data: JSON.parse(e.data) });
      if (got.length === n) resolve(got);
    };
    es.addEventListener('message', push('message'));
    es.addEventListener('presence', push('presence'));
    es.addEventListener('error', (e) => {
      if (es.readyState === EventSource.CLOSED) reject(new Error(`EventSource failed: ${e.message}`));
    });
  });
}

function opened(es) {
  return new Promise((resolve) => es.addEventListener('open', resolve, { once: true }));
}

await scenario(async (track) => {
  const name = `interop:ssep:${Math.random().toString(36).slice(2, 8)}`;
  const ch = rest().channels.get(name);
  await ch.publish('old', 'one');
  await ch.publish('last', 'two');

  // `[?rewind=1]name`: the last message, then a member entering.
  const es = new EventSource(`${base}/sse?${q({ channels: `[?rewind=1]${name}` })}`);
  const first = events(es, 2);
  await within(opened(es), 10000, 'the SSE stream to open');
  const alice = track(realtime({ clientId: 'alice' }));
  await connected(alice);
  await within(alice.channels.get(name).presence.enter('here'), 10000, 'alice to enter');
  const [m, p] = await within(first, 10000, 'rewound message and presence');
  es.close();
  equal([m.kind, m.data.name, m.data.channel], ['message', 'last', name], 'rewind=1 in the name');
  equal([p.kind, p.data.clientId, p.data.action], ['presence', 'alice', 2], 'ENTER on the stream');
  check(p.id, 'a presence event id');

  // Missed: bob enters, a message, alice leaves. Resumed after alice's enter.
  const bob = track(realtime({ clientId: 'bob' }));
  await connected(bob);
  await within(bob.channels.get(name).presence.enter('too'), 10000, 'bob to enter');
  await ch.publish('missed', 'three');
  await within(alice.channels.get(name).presence.leave(), 10000, 'alice to leave');
  const resumed = new EventSource(`${base}/sse?${q({ channels: name, lastEvent: p.id })}`);
  const rest3 = events(resumed, 3);
  await within(opened(resumed), 10000, 'the resumed stream to open');
  const got = await within(rest3, 10000, 'the missed events');
  resumed.close();
  equal(
    got.map((e) => [e.kind, e.data.clientId ?? e.data.name]),
    [['presence', 'bob'], ['message', 'missed'], ['presence', 'alice']],
    'missed presence and messages, once, in order',
  );
  equal(got[2].data.action, 3, 'the LEAVE');
});

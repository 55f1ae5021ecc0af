// The ably-js Rest client against ably-local: publish (JSON and msgpack),
// history with pagination both ways, untilAttach, requestToken and a
// token-bound clientId, presence get, and test-app provisioning (POST /apps
// with ably-common's test-app-setup.json body, then DELETE).
import { scenario, rest, realtime, connected, check, equal, port, key } from './common.mjs';

await scenario(async (track) => {
  const run = Math.random().toString(36).slice(2, 8);
  for (const useBinaryProtocol of [false, true]) {
    const client = rest({ useBinaryProtocol });
    const ch = client.channels.get(`interop:rest:${run}:${useBinaryProtocol}`);
    await ch.publish('one', 'text');
    await ch.publish([
      { name: 'two', data: { json: true } },
      { name: 'three', data: Buffer.from([1, 2, 3]) },
      { name: 'four', data: 'x' },
      { name: 'five', data: 'y' },
    ]);
    // Idempotent: a client-supplied id is published once.
    await ch.publish({ id: `fixed-id-${run}-${useBinaryProtocol}`, name: 'six', data: 'z' });
    await ch.publish({ id: `fixed-id-${run}-${useBinaryProtocol}`, name: 'six', data: 'z' });

    let page = await ch.history({ limit: 2 });
    const names = [];
    for (;;) {
      names.push(...page.items.map((m) => m.name));
      if (!page.hasNext()) break;
      page = await page.next();
    }
    equal(names, ['six', 'five', 'four', 'three', 'two', 'one'], 'backwards pages');
    const fwd = await ch.history({ direction: 'forwards', limit: 3 });
    equal(fwd.items.map((m) => m.name), ['one', 'two', 'three'], 'forwards page');
    check(fwd.hasNext() && !fwd.isLast(), 'a next page');
    equal(fwd.items[1].data, { json: true }, 'JSON data');
    check(Buffer.isBuffer(fwd.items[2].data) || fwd.items[2].data instanceof ArrayBuffer, 'binary data');
    const later = await fwd.next();
    equal(later.items.map((m) => m.name), ['four', 'five', 'six'], 'second forwards page');

    // requestToken: a signed TokenRequest exchanged for a token with a clientId.
    const td = await client.auth.requestToken({ clientId: 'rest-bob', ttl: 60000 });
    check(td.token && td.expires > Date.now(), 'token details');
    const bob = rest({ token: td.token, useBinaryProtocol });
    await bob.channels.get(`interop:rest:${run}:${useBinaryProtocol}`).publish('by-bob', 'hi');
    const last = await ch.history({ limit: 1 });
    equal(last.items[0].clientId, 'rest-bob', 'clientId from the token');
  }

  // A realtime member is visible to REST presence.get; untilAttach history.
  const rt = track(realtime({ clientId: 'rt-member' }));
  await connected(rt);
  const rch = rt.channels.get(`interop:rest:${run}:presence`);
  const client = rest();
  await client.channels.get(`interop:rest:${run}:presence`).publish('before', 'b');
  await rch.attach();
  await client.channels.get(`interop:rest:${run}:presence`).publish('after', 'a');
  await rch.presence.enter('here');
  const members = await client.channels.get(`interop:rest:${run}:presence`).presence.get();
  equal(members.items.map((m) => [m.clientId, m.data]), [['rt-member', 'here']], 'presence.get');
  const filtered = await client.channels.get(`interop:rest:${run}:presence`).presence.get({ clientId: 'nobody' });
  equal(filtered.items.length, 0, 'presence.get with a clientId filter');
  const until = await rch.history({ untilAttach: true });
  equal(until.items.map((m) => m.name), ['before'], 'untilAttach history');
  const ph = await client.channels.get(`interop:rest:${run}:presence`).presence.history();
  equal(ph.items.map((m) => m.action), ['enter'], 'presence history');

  // Provisioning, as the SDK test suites do it.
  const fs = await import('node:fs');
  const path = process.env.ABLY_COMMON_DIR
    ? `${process.env.ABLY_COMMON_DIR}/test-app-setup.json`
    : new URL('../../../../shared/ably-common/test-app-setup.json', import.meta.url);
  let spec;
  try {
    spec = JSON.parse(fs.readFileSync(path, 'utf8')).post_apps;
  } catch {
    spec = {
      keys: [{}],
      namespaces: [{ id: 'persisted', persisted: true }],
      channels: [{ name: 'persisted:presence_fixtures', presence: [{ clientId: 'client_bool', data: 'true' }] }],
    };
  }
  const res = await fetch(`http://127.0.0.1:${port}/apps`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(spec),
  });
  equal(res.status, 201, 'POST /apps status');
  const app = await res.json();
  equal(app.keys.length, spec.keys.length, 'keys in request order');
  const appRest = rest({ key: app.keys[0].keyStr });
  const fixtures = await appRest.channels.get('persisted:presence_fixtures').presence.get();
  equal(
    fixtures.items.map((m) => m.clientId).sort(),
    spec.channels[0].presence.map((p) => p.clientId).sort(),
    'presence fixtures',
  );
  const del = await fetch(`http://127.0.0.1:${port}/apps/${app.appId}`, {
    method: 'DELETE',
    headers: { authorization: `Basic ${Buffer.from(app.keys[0].keyStr).toString('base64')}` },
  });
  equal(del.status, 204, 'DELETE /apps status');
  check(key, 'the service key is still set');
});

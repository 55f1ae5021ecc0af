// authCallback with a TokenRequest; the token expires and is renewed.
import { scenario, realtime, rest, connected, within, equal, check } from './common.mjs';

await scenario(async (track) => {
  const signer = rest();
  let calls = 0;
  const authCallback = (params, cb) => {
    calls += 1;
    // The first token lives 3 s, the next ones an hour.
    const ttl = calls === 1 ? 3000 : 3600000;
    signer.auth
      .createTokenRequest({ clientId: 'tokenuser', ttl })
      .then((req) => cb(null, req), (err) => cb(err, null));
  };
  const c = track(realtime({ authCallback, clientId: 'tokenuser', useBinaryProtocol: true }));
  await connected(c);
  equal(c.auth.clientId, 'tokenuser', 'clientId from the token');
  const id = c.connection.id;
  const ch = c.channels.get('interop:token');
  const got = new Promise((resolve) => ch.subscribe(resolve));
  await ch.publish('hi', 'with a token');
  equal((await within(got, 5000, 'own message')).clientId, 'tokenuser', 'message clientId');
  // Expiry: DISCONNECTED 40142, a new token, and the same connection.
  const change = await within(c.connection.once('disconnected'), 10000, 'expiry');
  equal(change.reason && change.reason.code, 40142, 'expiry error');
  await within(c.connection.once('connected'), 10000, 'reconnect');
  check(calls >= 2, `authCallback called again (${calls})`);
  equal(c.connection.id, id, 'same connection after renewal');
  // In-band re-auth on a live connection.
  await c.auth.authorize();
  equal(c.connection.state, 'connected', 'still connected after authorize');
  equal(c.connection.id, id, 'same connection after authorize');
});

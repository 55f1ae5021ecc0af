// A token limited by capability: denied operations fail with 40160 and the
// connection stays up.
import { scenario, realtime, rest, connected, equal } from './common.mjs';

await scenario(async (track) => {
  const signer = rest();
  const capability = JSON.stringify({ 'interop:open': ['*'], 'interop:ro': ['subscribe'] });
  const authCallback = (params, cb) => {
    signer.auth.createTokenRequest({ capability }).then((r) => cb(null, r), (e) => cb(e, null));
  };
  const c = track(realtime({ authCallback }));
  await connected(c);
  const denied = c.channels.get('interop:secret');
  const err = await denied.attach().then(() => null, (e) => e);
  equal(err && err.code, 40160, 'attach denied');
  const ro = c.channels.get('interop:ro');
  await ro.attach();
  const perr = await ro.publish('x', 'y').then(() => null, (e) => e);
  equal(perr && perr.code, 40160, 'publish denied');
  equal(c.connection.state, 'connected', 'connection state after denials');
  await c.channels.get('interop:open').publish('x', 'allowed');
});

// Helper of abrupt_disconnect.mjs: enters presence, says so, then waits to
// be killed.
import { realtime, connected } from './common.mjs';

const c = realtime({ clientId: 'doomed', transportParams: { remainPresentFor: 1000 } });
await connected(c);
await c.channels.get(process.argv[2]).presence.enter('about to vanish');
console.log('entered');
setInterval(() => {}, 1000);

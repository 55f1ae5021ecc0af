// A client killed without closing stays present for remainPresentFor
// (1000 ms here), then leaves.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { scenario, realtime, connected, within, check } from './common.mjs';

await scenario(async (track) => {
  const name = 'interop:abrupt';
  const watcher = track(realtime());
  await connected(watcher);
  const ch = watcher.channels.get(name);
  const entered = new Promise((resolve) => ch.presence.subscribe('enter', resolve));
  const left = new Promise((resolve) => ch.presence.subscribe('leave', resolve));
  await ch.attach();
  const child = spawn(process.execPath, [fileURLToPath(new URL('./abrupt_child.mjs', import.meta.url)), name], {
    env: process.env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ready = new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => d.toString().includes('entered') && resolve());
    child.on('exit', (code) => reject(new Error(`the child exited early (${code})`)));
  });
  await within(ready, 10000, 'the child to enter');
  await within(entered, 5000, 'the enter event');
  child.removeAllListeners('exit');
  const killedAt = Date.now();
  child.kill('SIGKILL');
  const leave = await within(left, 10000, 'the LEAVE');
  const after = Date.now() - killedAt;
  check(leave.clientId === 'doomed', 'the leaving member');
  check(after >= 900, `LEAVE came after remainPresentFor, not at once (${after} ms)`);
  const members = await ch.presence.get();
  check(members.length === 0, 'nobody left');
});

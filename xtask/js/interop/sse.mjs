// SSE and the raw event-stream read by the `eventsource` npm package and
// by curl: live messages, resume with lastEvent, NDJSON envelopes, and a
// refusal before streaming as a plain HTTP error.
import { spawn } from 'node:child_process';
import { EventSource } from 'eventsource';
import { scenario, rest, check, equal, within, port, key } from './common.mjs';

const base = `http://127.0.0.1:${port}`;
const q = (params) => new URLSearchParams({ v: '1.2', key, ...params }).toString();

/** Resolves with the first `n` message events of an EventSource. */
function messages(es, n) {
  const got = [];
  return new Promise((resolve, reject) => {
    es.addEventListener('message', (e) => {
      got.push(e);
      if (got.length === n) resolve(got);
    });
    es.addEventListener('error', (e) => {
      if (es.readyState === EventSource.CLOSED) reject(new Error(`EventSource failed: ${e.message}`));
    });
  });
}

function opened(es) {
  return new Promise((resolve) => es.addEventListener('open', resolve, { once: true }));
}

/** Runs curl until `done(text)` says so; resolves with the output. */
function curl(args, done) {
  return new Promise((resolve, reject) => {
    const child = spawn('curl', ['-sN', '--max-time', '20', ...args]);
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (done(out)) {
        child.kill();
        resolve(out);
      }
    });
    child.on('error', reject);
    child.on('close', () => resolve(out));
  });
}

await scenario(async () => {
  const name = `interop:sse:${Math.random().toString(36).slice(2, 8)}`;
  const client = rest();
  const ch = client.channels.get(name);

  const es = new EventSource(`${base}/sse?${q({ channels: name })}`);
  await within(opened(es), 10000, 'the SSE stream to open');
  const first = messages(es, 2);
  await ch.publish('a', 'one');
  await ch.publish('b', { two: 2 });
  const [e1, e2] = await within(first, 10000, 'two SSE messages');
  es.close();
  const m1 = JSON.parse(e1.data);
  equal([m1.name, m1.data, m1.channel], ['a', 'one', name], 'first SSE message');
  check(e1.lastEventId, 'an event id');
  check(JSON.parse(e2.data).name === 'b', 'second SSE message');

  // Missed while away, then resumed after the first: two, three, then live four.
  await ch.publish('c', 'three');
  const resumed = new EventSource(
    `${base}/sse?${q({ channels: name, lastEvent: e1.lastEventId, enveloped: 'false' })}`,
  );
  const three = messages(resumed, 3);
  await within(opened(resumed), 10000, 'the resumed stream to open');
  await ch.publish('d', 'four');
  const got = await within(three, 10000, 'resumed messages');
  resumed.close();
  equal(got.map((e) => e.data), ['{"two":2}', 'three', 'four'], 'resume with lastEvent (bare payloads)');

  // curl: SSE on /event-stream, and the newline-delimited JSON envelopes.
  const sse = await curl(
    ['-H', 'Accept: text/event-stream', `${base}/event-stream?${q({ channels: name, rewind: '1' })}`],
    (out) => out.includes('\n\n'),
  );
  check(sse.includes('event: message') && sse.includes('"four"'), `curl SSE: ${sse}`);
  const lines = await curl(
    [`${base}/event-stream?${q({ channels: name, lastEvent: e1.lastEventId })}`],
    (out) => out.split('\n').filter((l) => l.trim()).length >= 3,
  );
  const envs = lines.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
  equal(envs.map((e) => [e.event, e.data.name]), [['message', 'b'], ['message', 'c'], ['message', 'd']], 'curl NDJSON envelopes');
  check(envs.every((e) => typeof e.id === 'string'), 'envelope ids');

  // Refused before streaming: a plain HTTP error with an ErrorInfo.
  const res = await fetch(`${base}/sse?channels=x&key=${encodeURIComponent(key)}`);
  equal(res.status, 400, 'status without v');
  const body = await res.json();
  equal(body.error.code, 40000, 'error code without v');
});

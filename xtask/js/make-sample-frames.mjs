// Writes a handful of sample Ably protocol frames into a directory, only so
// that codec-bench.mjs can be exercised without real captured traffic.
//
// usage: node make-sample-frames.mjs OUT_DIR
//
// For every row it writes `<row>.json` (the text frame) and `<row>.msgpack`
// (the binary frame). The msgpack frames are produced with the msgpack
// encoder that ably-js itself bundles (`Ably.Realtime._MsgPack`, see the
// comment in codec-bench.mjs for how that was located), called the same way
// ably-js's transport serialises outgoing frames (`encode(value, true)`, i.e.
// "sparse": null/undefined fields are omitted).

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import process from 'node:process';
import Ably from 'ably';

const MESSAGE = 15;
const SYNC = 16;
const PRESENCE_PRESENT = 1;

const outDir = process.argv[2];
if (!outDir || process.argv.length > 3) {
  process.stderr.write('usage: node make-sample-frames.mjs OUT_DIR\n');
  process.exit(2);
}

const msgpack = Ably.Realtime._MsgPack;
if (!msgpack || typeof msgpack.encode !== 'function') {
  process.stderr.write('ably-js does not expose its bundled msgpack codec as Ably.Realtime._MsgPack\n');
  process.exit(1);
}

const T0 = 1700000000000;
const channel = 'bench:sample';
const connectionId = 'f9dKz4Ha2a';

// Builds the fields shared by every frame of the sample channel.
function frame(action, id, extra) {
  return {
    action,
    id,
    channel,
    channelSerial: `108uy4oPQBmvHX@${T0}-0`,
    connectionId,
    timestamp: T0,
    ...extra,
  };
}

// Each row is a pair of ProtocolMessage values: one shaped for the JSON
// transport and one for the msgpack transport. They differ only where the
// wire formats differ (binary payloads: base64 text in JSON, msgpack bin in
// msgpack).
const rows = [];

// 1. A small string MESSAGE.
{
  const pm = frame(MESSAGE, `${connectionId}:0`, {
    messages: [{ id: `${connectionId}:0:0`, name: 'greeting', data: 'hello, world', timestamp: T0 }],
  });
  rows.push({ row: 'message-string', json: pm, msgpack: pm });
}

// 2. A MESSAGE with a binary payload.
{
  const payload = Buffer.alloc(256);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 37 + 11) & 0xff;
  const base = (data, encoding) =>
    frame(MESSAGE, `${connectionId}:1`, {
      messages: [
        {
          id: `${connectionId}:1:0`,
          name: 'blob',
          data,
          ...(encoding ? { encoding } : {}),
          timestamp: T0 + 1,
        },
      ],
    });
  rows.push({
    row: 'message-binary',
    json: base(payload.toString('base64'), 'base64'),
    msgpack: base(payload, undefined),
  });
}

// 3. A MESSAGE batch with JSON-encoded object payloads (encoding "json"),
//    as published by a client whose data was a plain object.
{
  const messages = [];
  for (let i = 0; i < 10; i++) {
    messages.push({
      id: `${connectionId}:2:${i}`,
      name: 'update',
      data: JSON.stringify({ seq: i, price: 100.25 + i, tags: ['a', 'b'], ok: i % 2 === 0 }),
      encoding: 'json',
      timestamp: T0 + 2,
    });
  }
  const pm = frame(MESSAGE, `${connectionId}:2`, { messages });
  rows.push({ row: 'message-json-batch10', json: pm, msgpack: pm });
}

// 4. A presence SYNC with 100 PRESENT members.
{
  const presence = [];
  for (let i = 0; i < 100; i++) {
    presence.push({
      id: `member${i}conn:0:0`,
      action: PRESENCE_PRESENT,
      clientId: `client-${i}`,
      connectionId: `member${i}conn`,
      data: `status-${i}`,
      timestamp: T0 - 1000 + i,
    });
  }
  const pm = frame(SYNC, `${connectionId}:3`, { channelSerial: 'sync-cursor-1:0', presence });
  rows.push({ row: 'sync-presence100', json: pm, msgpack: pm });
}

await mkdir(outDir, { recursive: true });
for (const { row, json, msgpack: mp } of rows) {
  const jsonPath = path.join(outDir, `${row}.json`);
  const mpPath = path.join(outDir, `${row}.msgpack`);
  await writeFile(jsonPath, JSON.stringify(json));
  const bytes = msgpack.encode(mp, true);
  await writeFile(mpPath, bytes);
  process.stderr.write(`wrote ${jsonPath} and ${mpPath} (${bytes.length} bytes)\n`);
}

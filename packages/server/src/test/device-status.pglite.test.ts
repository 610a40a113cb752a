/** Stored device status columns equal the status computed from scratch after every kind of event (PGlite). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type WebSocket from 'ws';
import { createServer, type HotpatchServer } from '../index.js';
import { deviceStatusScenario } from './device-status.js';
import { fixture } from './fixture.js';

const fx = fixture();
const dataDir = mkdtempSync(join(tmpdir(), 'hotpatch-device-status-'));
let srv: HotpatchServer;
const sockets: WebSocket[] = [];

before(async () => {
  srv = await createServer({ dataDir, port: 0, trustedKeys: [fx.publicKeyFile], tickMs: 200 });
});

after(async () => {
  for (const s of sockets) s.terminate();
  await srv?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test('device status columns stay equal to the status computed from scratch (PGlite)', async () => {
  await deviceStatusScenario(srv, fx, sockets);
});

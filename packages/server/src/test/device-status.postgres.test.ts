/** Stored device status columns equal the status computed from scratch after every kind of event (PostgreSQL). */
import { after, before, test } from 'node:test';
import type WebSocket from 'ws';
import { deviceStatusScenario } from './device-status.js';
import { fixture } from './fixture.js';
import { startTestServer, type TestServer } from './test-server.js';

const fx = fixture();
let ts: TestServer;
const sockets: WebSocket[] = [];

before(async () => {
  ts = await startTestServer({ storage: 'postgres', trustedKeys: [fx.publicKeyFile] });
});

after(async () => {
  for (const s of sockets) s.terminate();
  await ts?.close();
});

test('device status columns stay equal to the status computed from scratch (PostgreSQL)', async () => {
  await deviceStatusScenario(ts.srv, fx, sockets);
});

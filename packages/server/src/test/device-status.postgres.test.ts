/** Stored device status columns equal the status computed from scratch after every kind of event (PostgreSQL). */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import type WebSocket from 'ws';
import { createServer, type HotpatchServer } from '../index.js';
import { deviceStatusScenario } from './device-status.js';
import { fixture } from './fixture.js';

const url = process.env.HOTPATCH_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `hp_test_${randomBytes(5).toString('hex')}`;
const fx = fixture();
const dataDir = mkdtempSync(join(tmpdir(), 'hotpatch-device-status-pg-'));
let srv: HotpatchServer;
const sockets: WebSocket[] = [];

before(async () => {
  srv = await createServer({
    dataDir,
    databaseUrl: url,
    databaseSchema: schema,
    port: 0,
    trustedKeys: [fx.publicKeyFile],
    tickMs: 200,
  });
});

after(async () => {
  for (const s of sockets) s.terminate();
  await srv?.close();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await c.end();
  rmSync(dataDir, { recursive: true, force: true });
});

test('device status columns stay equal to the status computed from scratch (PostgreSQL)', async () => {
  await deviceStatusScenario(srv, fx, sockets);
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { HotpatchServer } from '../index.js';
import {
  type AppProcess,
  client,
  fixture,
  freePort,
  readToken,
  startApp,
  until,
  waitDeployment,
} from './fixture.js';
import { dropSchema, freshSchema, startTestServer } from './test-server.js';

const schema = freshSchema();
const fx = fixture();
const base = mkdtempSync(join(tmpdir(), 'hotpatch-pg-'));
let a: HotpatchServer;
let b: HotpatchServer;
const apps: AppProcess[] = [];

const replica = (name: string, port?: number) =>
  startTestServer({
    dataDir: join(base, name),
    storage: 'postgres',
    databaseSchema: schema,
    ...(port ? { port } : {}),
  });

before(async () => {
  // Two replicas start together on one database: migrations and first-start bootstrap serialize.
  [a, b] = (await Promise.all([replica('a'), replica('b')])).map((t) => t.srv) as [
    HotpatchServer,
    HotpatchServer,
  ];
});

after(async () => {
  await Promise.all(apps.map((x) => x.stop()));
  await a?.close();
  await b?.close();
  await dropSchema(schema);
  rmSync(base, { recursive: true, force: true });
});

test('two replicas on one PostgreSQL: device on A, deployment made on B reaches it', async () => {
  const tokenFile = a.bootstrap.adminTokenFile ?? b.bootstrap.adminTokenFile;
  const enrollFile = a.bootstrap.enrollTokenFile ?? b.bootstrap.enrollTokenFile;
  assert.ok(tokenFile && enrollFile, 'one replica created the first tokens');
  assert.ok(!(a.bootstrap.adminTokenFile && b.bootstrap.adminTokenFile), 'only one admin token');
  const token = readToken(tokenFile);
  const onA = client(a.url, token);
  const onB = client(b.url, token);
  assert.equal(a.db.kind, 'postgres');

  assert.equal((await onB.postRaw('/v1/bundles', fx.bundle.toString())).status, 201);
  const pol = await onA.post('/v1/policies', {
    name: 'prod',
    allowHotpatch: true,
    rings: [
      { name: 'canary', selector: { ring: 'canary' }, deferralDays: 0 },
      { name: 'broad', selector: {}, deferralDays: 0 },
    ],
  });
  assert.equal(pol.status, 201);

  // The ring comes from the enrollment token's labels (a device cannot pick its own).
  const canary = await onA.post('/v1/enroll-tokens', { name: 'canary', labels: { ring: 'canary' } });
  assert.equal(canary.status, 201);
  const app = await startApp(fx, {
    server: a.url,
    enrollToken: canary.json.token as string,
    host: 'pg-host',
    service: 'api',
    home: join(base, 'home'),
  });
  apps.push(app);
  assert.equal((await app.get()).polluted, true);
  await until('device connected to A', async () => {
    const d = (await onB.get('/v1/devices')).json.devices as Array<{ connected: boolean; ring: string }>;
    return d.length === 1 && d[0]?.connected && d[0].ring === 'canary';
  });

  const dep = await onB.post('/v1/deployments', { patchId: fx.patchId, policy: 'prod' });
  assert.equal(dep.status, 201);
  const id = dep.json.deployment.id as string;
  // Waiting on B: device state changes made on A arrive through NOTIFY.
  await waitDeployment(onB, id, (v) => v.devices[0]?.state === 'applied');
  const r = await app.get();
  assert.equal(r.polluted, false);
  assert.equal(r.pid, app.pid);

  // Revert on A, observed on B.
  await onA.post(`/v1/deployments/${id}/revert`);
  await waitDeployment(onB, id, (v) => v.devices[0]?.state === 'reverted');
  assert.equal((await app.get()).polluted, true);

  // Restart replica A on its port: the device reconnects; nothing lost.
  const port = Number(new URL(a.url).port);
  await a.close();
  a = (await replica('a', port)).srv;
  await until(
    'device reconnected to A',
    async () =>
      ((await (await fetch(`${a.url}/healthz`)).json()) as { devicesConnected: number }).devicesConnected ===
      1,
  );
  const audit = await onB.get('/v1/audit');
  assert.ok(audit.json.entries.some((e: { action: string }) => e.action === 'deployment.revert'));
});

test('bad token on a PostgreSQL replica', async () => {
  assert.equal(
    (await client(b.url, 'hpt_abcdefabcdef_xxxxxxxxxxxxxxxxxxxxxxxxxxxxx').get('/v1/devices')).status,
    401,
  );
  void freePort;
});

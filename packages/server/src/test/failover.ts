/**
 * Servers dying (kill -9): a dead server's devices are not shown connected (registered last by
 * faultSuite), and replica failover on PostgreSQL (failoverSuite, run by faults.postgres.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { FaultHarness } from './faults.js';
import { type AppProcess, client, fixture, startApp, until, waitDeployment } from './fixture.js';
import { type ServerProcess, spawnServer } from './server-proc.js';
import { enrollOk, minimistFacts, online } from './sim.js';
import { dropSchema, freshSchema, TEST_DATABASE_URL, tuning } from './test-server.js';

/** A server or replica killed: its devices are not shown connected (on the fault suite's server). */
export function deadServerFaults(shared: FaultHarness): void {
  const { storage, fx, sockets, procs, host, storageOpts } = shared;

  test(
    `[${storage}] kill -9: devices of a dead server or replica are not shown connected`,
    { timeout: 240_000 },
    async () => {
      const { admin, adminToken, enrollToken } = shared;
      const opts = { ...storageOpts(host('killed')), port: 0, trustedKeys: [fx.publicKeyFile], ...tuning };
      const a = await spawnServer(opts);
      procs.push(a);
      // PostgreSQL: a replica of the shared database (tokens of its first start); PGlite: a server of its own.
      const own = (f: string) => readFileSync(join(opts.dataDir, f), 'utf8').trim();
      const pgsql = storage === 'postgres';
      const aAdmin = client(a.url, pgsql ? adminToken : own('admin-token'));
      const d = await enrollOk(a.url, pgsql ? enrollToken : own('enroll-token'), host('dies'));
      const s = await online(a.url, d.credential, minimistFacts(fx, { packages: [] }), sockets);
      await until(
        'connected',
        async () => (await aAdmin.get(`/v1/devices/${d.deviceId}`)).json.device.connected,
      );
      await a.kill9();
      await s.closed;
      if (storage === 'postgres') {
        // Another replica (the in-process one) sees the dead replica's device as disconnected.
        await until(
          'dead replica expires',
          async () => (await admin.get(`/v1/devices/${d.deviceId}`)).json.device.connected === false,
          5000,
        );
      } else {
        const b = await spawnServer(opts);
        procs.push(b);
        const bAdmin = client(b.url, own('admin-token'));
        assert.equal((await bAdmin.get(`/v1/devices/${d.deviceId}`)).json.device.connected, false);
      }
    },
  );
}

/** HOTPATCH_SERVER with several replicas: kill -9 of one, the device converges through another (PostgreSQL). */
export function failoverSuite(): void {
  const fx = fixture();
  const base = mkdtempSync(join(tmpdir(), 'hotpatch-failover-'));
  const schema = freshSchema('hp_failover');
  const procs: ServerProcess[] = [];
  const apps: AppProcess[] = [];
  after(async () => {
    await Promise.all(apps.map((a) => a.stop()));
    await Promise.all(procs.map((p) => p.kill9()));
    await dropSchema(schema);
    rmSync(base, { recursive: true, force: true });
  });

  test(
    '[postgres] HOTPATCH_SERVER=A,B: kill -9 of replica A, the device converges through B and keeps its patch',
    { timeout: 240_000 },
    async () => {
      const opts = (name: string) => ({
        dataDir: join(base, name),
        databaseUrl: TEST_DATABASE_URL,
        databaseSchema: schema,
        port: 0,
        trustedKeys: [fx.publicKeyFile],
        ...tuning,
      });
      const a = await spawnServer(opts('a'));
      procs.push(a);
      const b = await spawnServer(opts('b'));
      procs.push(b);
      const token = readFileSync(join(base, 'a', 'admin-token'), 'utf8').trim();
      const enrollToken = readFileSync(join(base, 'a', 'enroll-token'), 'utf8').trim();
      const apiB = client(b.url, token);
      assert.equal((await apiB.postRaw('/v1/bundles', fx.bundle.toString())).status, 201);
      const app = await startApp(fx, {
        server: `${a.url},${b.url}`,
        enrollToken,
        host: 'failover',
        service: 'svc',
        home: mkdtempSync(join(base, 'home-')),
      });
      apps.push(app);
      const health = async (url: string) =>
        (await (await fetch(`${url}/healthz`)).json()) as { devicesConnected: number };
      await until('connected to A (the first URL)', async () => (await health(a.url)).devicesConnected === 1);
      const dep = await apiB.post('/v1/deployments', { patchId: fx.patchId, policy: 'default' });
      assert.equal(dep.status, 201, JSON.stringify(dep.json));
      const id = dep.json.deployment.id as string;
      await waitDeployment(apiB, id, (v) => v.devices.some((d) => d.state === 'applied'));
      assert.equal((await app.get()).polluted, false);
      await a.kill9();
      await until('reconnected through B', async () => (await health(b.url)).devicesConnected === 1);
      const r = await app.get();
      assert.equal(r.polluted, false, 'the patch is still applied');
      assert.equal(r.pid, app.pid);
      // B drives the device now: a fleet-wide revert reaches it.
      await apiB.post(`/v1/deployments/${id}/revert`);
      await waitDeployment(apiB, id, (v) => v.devices.every((d) => d.state === 'reverted'));
      assert.equal((await app.get()).polluted, true);
    },
  );
}

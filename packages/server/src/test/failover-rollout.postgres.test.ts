/**
 * Issue 13 item 9: two replicas on one PostgreSQL, a fleet of simulated devices (the agent's
 * failover: every replica's URL, the next one at once when the channel drops, states re-sent after
 * the welcome) spread across both; replica A is killed with SIGKILL mid-rollout. Every device
 * must end applied, recorded by B: a replica killed mid-rollout costs no device its patch.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseBundle } from '@hotpatch/core';
import pg from 'pg';
import { SimFleet, urlsOf } from '../bench/sim-fleet.js';
import { client, fixture, until, waitDeployment } from './fixture.js';
import { type ServerProcess, spawnServer } from './server-proc.js';

const pgUrl = process.env.HOTPATCH_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `hp_rollout_${randomBytes(5).toString('hex')}`;
const base = mkdtempSync(join(tmpdir(), 'hotpatch-rollout-'));
const procs: ServerProcess[] = [];
let fleet: SimFleet | null = null;
const N = 200;

after(async () => {
  fleet?.stop();
  await Promise.all(procs.map((p) => p.kill9()));
  const c = new pg.Client({ connectionString: pgUrl });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await c.end();
  rmSync(base, { recursive: true, force: true });
});

test(
  `[postgres] ${N} devices on two replicas, replica A killed (SIGKILL) mid-rollout: every device ends applied through B`,
  { timeout: 180_000 },
  async () => {
    const fx = fixture();
    const opts = (name: string) => ({
      dataDir: join(base, name),
      databaseUrl: pgUrl,
      databaseSchema: schema,
      port: 0,
      trustedKeys: [fx.publicKeyFile],
      tickMs: 100,
      pingMs: 300,
      heartbeatMs: 300,
    });
    const a = await spawnServer(opts('a'));
    procs.push(a);
    const b = await spawnServer(opts('b'));
    procs.push(b);
    const api = client(b.url, readFileSync(join(base, 'a', 'admin-token'), 'utf8').trim());
    assert.equal((await api.postRaw('/v1/bundles', fx.bundle.toString())).status, 201);
    const files = parseBundle(fx.bundle).payload.files.map((f) => ({
      path: f.path,
      sha256: f.baselineSha256,
    }));
    // Half the devices list A first, half B; each answers a deploy after up to 4 s (an apply's time,
    // long enough that the kill lands mid-rollout even on a loaded machine).
    fleet = new SimFleet({
      devices: Array.from({ length: N }, (_, i) => ({ i, urls: urlsOf([a.url, b.url], i) })),
      files,
      applyDelayMs: 4000,
      backoffInitialMs: 100,
      backoffMaxMs: 1000,
    });
    await fleet.enroll(readFileSync(join(base, 'a', 'enroll-token'), 'utf8').trim(), 16);
    await fleet.connect(32);
    const health = async (url: string) =>
      ((await (await fetch(`${url}/healthz`)).json()) as { devicesConnected: number }).devicesConnected;
    assert.equal((await health(a.url)) + (await health(b.url)), N);

    const dep = await api.post('/v1/deployments', { patchId: fx.patchId, policy: 'default', expedite: true });
    assert.equal(dep.status, 201, JSON.stringify(dep.json));
    const id = dep.json.deployment.id as string;
    const sim = fleet;
    await until('the first devices applied', async () => sim.stats().applied >= N / 20, 30_000);
    await a.kill9();
    const onA = sim.snapshot().filter((d) => d.firstUrl === a.url);
    assert.ok(
      onA.some((d) => !d.applied),
      'the kill is mid-rollout: some devices of A had not applied yet',
    );

    await until('every device applied', async () => sim.stats().applied === N, 60_000);
    const v = await waitDeployment(api, id, (x) => x.summary.counts.applied === N, 60_000);
    assert.equal(v.devices.length, N);
    assert.deepEqual(
      v.devices.filter((d) => d.state !== 'applied').map((d) => d.state),
      [],
      'no device lost its patch',
    );
    assert.ok(
      onA.every((d) => sim.snapshot()[d.i]?.failedOver),
      'every device of A said hello on B',
    );
    await until('all devices connected to B', async () => (await health(b.url)) === N, 30_000);
  },
);

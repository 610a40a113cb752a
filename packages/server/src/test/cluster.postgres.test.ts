/**
 * `hotpatch server --workers N` (cluster.ts): several server processes behind one port on one
 * PostgreSQL, each a full replica. Devices given the one URL are spread over the workers; a
 * deployment reaches all of them; a worker killed with SIGKILL is replaced, and its devices
 * reconnect through the others without losing their patch.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseBundle } from '@hotpatch/core';
import pg from 'pg';
import { SimFleet } from '../bench/sim-fleet.js';
import { type ClusterServer, startCluster, workerExecArgv, workerPoolSize } from '../cluster.js';
import { client, fixture, until, waitDeployment } from './fixture.js';

const pgUrl = process.env.HOTPATCH_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `hp_cluster_${randomBytes(5).toString('hex')}`;
const base = mkdtempSync(join(tmpdir(), 'hotpatch-cluster-'));
const db = new pg.Client({ connectionString: pgUrl, options: `-c search_path=${schema}` });
let srv: ClusterServer | null = null;
let fleet: SimFleet | null = null;
const N = 60;
const W = 3;

after(async () => {
  fleet?.stop();
  await srv?.close();
  await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
  await db.end();
  rmSync(base, { recursive: true, force: true });
});

/** Connected devices per replica (worker), from the fleet view every replica writes. */
async function perReplica(): Promise<Map<string, number>> {
  const rows = await db.query<{ replica_id: string; n: number }>(
    'SELECT replica_id, count(*)::int AS n FROM devices WHERE connected GROUP BY replica_id',
  );
  return new Map(rows.rows.map((r) => [r.replica_id, r.n]));
}

test('pool per worker: about 10 connections in all, at least 3 each, or as asked', () => {
  for (const [workers, requested, want] of [
    [1, undefined, 10],
    [2, undefined, 5],
    [4, undefined, 3],
    [8, undefined, 3],
    [8, 6, 6],
  ] as const)
    assert.equal(workerPoolSize(workers, requested), want, `${workers} workers, asked ${requested}`);
});

test("workers run with the primary's node flags, not its -e code", () => {
  for (const [argv, want] of [
    [['--expose-gc'], ['--expose-gc']],
    [['--expose-gc', '--input-type=module', '-e', 'code()'], ['--expose-gc']],
    [['--eval=code()', '--cpu-prof', '-p', '1'], ['--cpu-prof']],
  ] as const)
    assert.deepEqual(workerExecArgv(argv), want, argv.join(' '));
});

test('several workers need PostgreSQL', async () => {
  await assert.rejects(
    startCluster({ dataDir: join(base, 'pglite') }, 2, () => {}),
    /PostgreSQL/,
  );
});

test(
  `[postgres] ${W} workers on one port: ${N} devices spread over them, deployed, a killed worker replaced and its devices back with their patch`,
  { timeout: 240_000 },
  async () => {
    const fx = fixture();
    const log: string[] = [];
    srv = await startCluster(
      {
        dataDir: join(base, 'data'),
        databaseUrl: pgUrl,
        databaseSchema: schema,
        port: 0,
        trustedKeys: [fx.publicKeyFile],
        tickMs: 100,
        // Short enough for a quick failover, long enough that a worker starting up on a loaded
        // machine does not make the others' devices look dead.
        pingMs: 1000,
        heartbeatMs: 1000,
      },
      W,
      (l) => log.push(l),
    );
    await db.connect();
    const s = srv;
    assert.equal(s.pids().length, W);
    const api = client(s.url, readFileSync(s.bootstrap.adminTokenFile as string, 'utf8').trim());
    assert.equal((await api.postRaw('/v1/bundles', fx.bundle.toString())).status, 201);
    const files = parseBundle(fx.bundle).payload.files.map((f) => ({
      path: f.path,
      sha256: f.baselineSha256,
    }));
    fleet = new SimFleet({
      devices: Array.from({ length: N }, (_, i) => ({ i, urls: [s.url] })),
      files,
      backoffInitialMs: 100,
      backoffMaxMs: 1000,
    });
    const sim = fleet;
    await sim.enroll(readFileSync(s.bootstrap.enrollTokenFile as string, 'utf8').trim(), 8);
    await sim.connect(16);
    const spread = await until('every device recorded connected', async () => {
      const m = await perReplica();
      return [...m.values()].reduce((a, n) => a + n, 0) === N ? m : null;
    });
    assert.equal(spread.size, W, `devices on every worker: ${JSON.stringify([...spread.values()])}`);

    const dep = await api.post('/v1/deployments', { patchId: fx.patchId, policy: 'default', expedite: true });
    assert.equal(dep.status, 201, JSON.stringify(dep.json));
    const id = dep.json.deployment.id as string;
    await waitDeployment(api, id, (v) => v.summary.counts.applied === N, 60_000);
    assert.equal(sim.stats().applied, N);

    const victim = s.pids()[0] as number;
    const before = await perReplica();
    process.kill(victim, 'SIGKILL');
    await until(
      'a new worker in its place',
      async () => s.pids().length === W && !s.pids().includes(victim),
      60_000,
    );
    await until(
      "the killed worker's devices reconnected through the others",
      async () => {
        const m = await perReplica();
        const sum = [...m.values()].reduce((a, n) => a + n, 0);
        return sum === N && sim.stats().connected === N && [...before.keys()].some((r) => !m.has(r));
      },
      60_000,
    );
    assert.ok((sim.stats().drops['1006'] ?? 0) > 0, 'channels of the killed worker dropped');
    assert.ok(
      log.some((l) => l.includes(`worker ${victim} exited`)),
      `the primary said so: ${log.join(' | ')}`,
    );
    const v = await waitDeployment(api, id, (x) => x.summary.counts.applied === N, 30_000);
    assert.deepEqual(
      v.devices.filter((d) => d.state !== 'applied').map((d) => d.state),
      [],
      'no device lost its patch',
    );
  },
);

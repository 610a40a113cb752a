/**
 * Fleet benchmark: N simulated devices speak the real protocol (HTTP enrollment, WebSocket,
 * hello/facts/state messages, the agent's failover) to real servers, each in its own process.
 * Measures check-ins per second, server memory per connected device, and deploy -> applied on
 * every device; with several replicas (PostgreSQL) it can SIGKILL one mid-rollout and reports
 * how many devices failed over and whether any lost its patch.
 *
 *   node packages/server/dist/bench/fleet-bench.js [--devices 1000] [--database-url URL]
 *     [--replicas 2] [--workers W] [--kill-replica-at 0.5|3000ms] [--shards K] [--reuse FILE]
 *
 * --reuse FILE (PostgreSQL): the first run enrolls, keeps its schema and writes the credentials to
 * FILE; later runs with the same FILE and --devices connect those devices without enrolling
 * (reuse.ts); with --enroll-only the run stops once FILE is written.
 * HOTPATCH_BENCH_LOG=DIR: each replica's log in DIR/replica-<r>.log (level HOTPATCH_BENCH_LOG_LEVEL,
 * info unless set);
 * HOTPATCH_BENCH_CPU_PROF=DIR: a CPU profile of every server process and simulator shard.
 * --kill-replica-at: a fraction (of devices that have applied) or a time after the deploy
 * (`3000ms`); the first replica is killed, the deployment is made and watched on the last one.
 * Each process may open as many files as `ulimit -n` allows (hard limit; raising it needs
 * CAP_SYS_RESOURCE): a server process or a simulator shard holds at most that many sockets;
 * --workers W makes each replica `hotpatch server --workers W` (W processes behind one port).
 */
import { execSync, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseBundle } from '@hotpatch/core';
import type { DeploymentProgress } from '@hotpatch/protocol';
import pg from 'pg';
import { client, fixture, pollDeployment } from '../test/fixture.js';
import { type Replica, startReplica } from './replicas.js';
import { type Kept, loadKept, resetKept, saveKept } from './reuse.js';
import type { SimStats } from './sim-fleet.js';
import type { ShardCommand, ShardEvent, ShardSettings } from './sim-shard.js';

const USAGE = `Usage: node packages/server/dist/bench/fleet-bench.js [--devices N] [--database-url URL]
       [--replicas R] [--workers W] [--kill-replica-at FRACTION|MSms] [--shards K]
       [--reuse FILE [--enroll-only]] [--verbose]
N simulated devices (default 1000) on R replicas (PGlite with one, PostgreSQL otherwise): enroll,
connect, deploy the minimist bundle, record applied; prints one JSON line of figures. Exit 1 if a
device lost its patch, 2 on bad flags. See packages/server/BENCHMARKS.md.`;

function parseFlags() {
  try {
    return parseArgs({
      options: {
        devices: { type: 'string', default: '1000' },
        replicas: { type: 'string', default: '1' },
        workers: { type: 'string', default: '1' },
        'database-url': { type: 'string', default: '' },
        'kill-replica-at': { type: 'string', default: '' },
        shards: { type: 'string', default: '1' },
        reuse: { type: 'string', default: '' },
        'enroll-only': { type: 'boolean', default: false },
        verbose: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (e) {
    die(`${(e as Error).message} (--help for usage)`);
  }
}
const flags = parseFlags();
if (flags.help) {
  console.log(USAGE);
  process.exit(0);
}
const N = Number(flags.devices);
const R = Number(flags.replicas);
const W = Number(flags.workers);
const databaseUrl = flags['database-url'];
const killAt = flags['kill-replica-at'];
/** --verbose: progress on stderr (recorded states, the simulator's counts) at every wait answer. */
const verbose = flags.verbose;
const reuseFile = flags.reuse;
const enrollOnly = flags['enroll-only'];
if (enrollOnly && !reuseFile) die('--enroll-only needs --reuse FILE (where the credentials are kept)');
if (reuseFile && !databaseUrl)
  die('--reuse needs --database-url (the devices are kept in a PostgreSQL schema)');
const kept: Kept | null = reuseFile ? loadKept(reuseFile, N) : null;
const schema = kept?.schema ?? `hp_bench_${randomBytes(4).toString('hex')}`;
const secs = (ms: number) => Math.round(ms / 10) / 100;

function die(message: string): never {
  console.error(`fleet-bench: ${message}`);
  process.exit(2);
}

function limits(): { shards: number } {
  if (!Number.isInteger(N) || N < 1) die('--devices must be a positive integer');
  if (!Number.isInteger(R) || R < 1) die('--replicas must be a positive integer');
  if (R > 1 && !databaseUrl) die('--replicas > 1 needs --database-url (replicas share PostgreSQL)');
  if (killAt && R < 2) die('--kill-replica-at needs --replicas 2 or more');
  if (!Number.isInteger(W) || W < 1) die('--workers must be a positive integer');
  if (W > 1 && !databaseUrl) die('--workers > 1 needs --database-url (the workers share PostgreSQL)');
  const files = Number(execSync('ulimit -n', { shell: '/bin/sh' }).toString().trim()) || 1024;
  const room = files - 500; // the pool, the listener, stdio, libuv
  // The cluster hands connections to whichever worker is ready next, not strictly in turn: leave
  // each worker 20 % of slack.
  const perWorker = Math.ceil(N / (killAt ? R - 1 : R) / W) * (W > 1 ? 1.2 : 1);
  if (perWorker > room)
    die(
      `a server process would hold ~${Math.round(perWorker)} sockets but a process may open ${files} files (ulimit -n): use more --workers or --replicas, or fewer --devices`,
    );
  const shards = Math.max(Number(flags.shards), Math.ceil(N / room));
  return { shards };
}

async function main(): Promise<void> {
  const { shards } = limits();
  const fx = fixture();
  const files = parseBundle(fx.bundle).payload.files.map((f) => ({ path: f.path, sha256: f.baselineSha256 }));
  const dir = mkdtempSync(join(tmpdir(), 'hotpatch-bench-'));
  if (kept) await resetKept(databaseUrl, schema);
  const replicas: Replica[] = [];
  // One after another: the first bootstraps the schema and writes the first tokens.
  for (let r = 0; r < R; r++)
    replicas.push(
      await startReplica({
        dir: join(dir, `r${r}`),
        trustedKeys: [fx.publicKeyFile],
        workers: W,
        ...(databaseUrl ? { databaseUrl, schema } : {}),
        ...(process.env.HOTPATCH_BENCH_LOG
          ? {
              logFile: join(process.env.HOTPATCH_BENCH_LOG, `replica-${r}.log`),
              logLevel: process.env.HOTPATCH_BENCH_LOG_LEVEL ?? 'info',
            }
          : {}),
      }),
    );
  const first = replicas[0] as Replica;
  const survivor = replicas[R - 1] as Replica;
  // A kept schema is already bootstrapped: its tokens come from the credentials file.
  const adminToken = kept?.adminToken ?? readFileSync(first.admin as string, 'utf8').trim();
  const enrollToken = kept?.enrollToken ?? readFileSync(first.enroll as string, 'utf8').trim();
  const admin = client(survivor.url, adminToken);
  await admin.postRaw('/v1/bundles', fx.bundle.toString());
  const mem0 = await Promise.all(replicas.map((r) => r.memory()));

  // Simulator shards, each its own process and source address (its own ephemeral port range).
  const shardJs = fileURLToPath(new URL('./sim-shard.js', import.meta.url));
  const stats: SimStats[] = [];
  let onStats = () => {};
  const range = (k: number) => [Math.floor((N * k) / shards), Math.floor((N * (k + 1)) / shards)] as const;
  const procs = Array.from({ length: shards }, (_, k) => {
    const settings: ShardSettings = {
      from: range(k)[0],
      to: range(k)[1],
      urls: replicas.map((r) => r.url),
      files,
      // Source addresses of its own (127.1.k.1-250): see SimFleetOptions.localAddresses.
      localAddresses: Array.from({ length: 250 }, (_, j) => `127.1.${k}.${j + 1}`),
    };
    const prof = process.env.HOTPATCH_BENCH_CPU_PROF;
    const p = fork(shardJs, [], {
      env: { ...process.env, HOTPATCH_SIM_SHARD: JSON.stringify(settings) },
      ...(prof ? { execArgv: ['--cpu-prof', `--cpu-prof-dir=${prof}`] } : {}),
    });
    p.on('message', (e: ShardEvent) => {
      if (e.ev === 'stats') {
        stats[k] = e.stats;
        onStats();
      } else if (e.ev === 'failed') die(`simulator shard ${k}: ${e.error}`);
    });
    return p;
  });
  const all = (cmd: (k: number) => ShardCommand, ev: ShardEvent['ev']) =>
    Promise.all(
      procs.map(
        (p, k) =>
          new Promise<ShardEvent>((resolve) => {
            const on = (e: ShardEvent) => {
              if (e.ev !== ev) return;
              p.off('message', on);
              resolve(e);
            };
            p.on('message', on);
            p.send(cmd(k));
          }),
      ),
    );
  const total = () =>
    stats.reduce(
      (a, s) => {
        for (const [code, n] of Object.entries(s?.drops ?? {})) a.drops[code] = (a.drops[code] ?? 0) + n;
        for (const [age, n] of Object.entries(s?.dropsByPingAge ?? {}))
          a.dropsByPingAge[age] = (a.dropsByPingAge[age] ?? 0) + n;
        return {
          applied: a.applied + (s?.applied ?? 0),
          failedOver: a.failedOver + (s?.failedOver ?? 0),
          deploys: a.deploys + (s?.deploys ?? 0),
          connected: a.connected + (s?.connected ?? 0),
          drops: a.drops,
          dropsByPingAge: a.dropsByPingAge,
          loopDelayMaxMs: Math.max(a.loopDelayMaxMs, s?.loopDelayMaxMs ?? 0),
        };
      },
      {
        applied: 0,
        failedOver: 0,
        deploys: 0,
        connected: 0,
        drops: {} as Record<string, number>,
        dropsByPingAge: {} as Record<string, number>,
        loopDelayMaxMs: 0,
      },
    );

  // --verbose: the simulator's counts every 10 s, whatever the phase (a stalled phase shows too).
  let phase = 'enroll';
  const started = performance.now();
  const progress = verbose
    ? setInterval(
        () =>
          console.error(
            `[${secs(performance.now() - started)} s ${phase}] devices ${JSON.stringify(total())}`,
          ),
        10_000,
      )
    : null;
  progress?.unref();
  let t = performance.now();
  const enrolled = await all(
    (k) =>
      kept
        ? { cmd: 'credentials', credentials: kept.credentials.slice(...range(k)) }
        : { cmd: 'enroll', token: enrollToken },
    'enrolled',
  );
  const enrollS = (performance.now() - t) / 1000;
  if (reuseFile && !kept) {
    const credentials = enrolled.flatMap((e) => (e.ev === 'enrolled' ? e.credentials : []));
    saveKept(reuseFile, { version: 1, schema, devices: N, adminToken, enrollToken, credentials });
    console.error(
      `fleet-bench: ${N} devices enrolled in ${secs(enrollS * 1000)} s, kept in ${reuseFile} (schema ${schema})`,
    );
  }
  if (enrollOnly) {
    for (const p of procs) p.send({ cmd: 'stop' });
    await Promise.all(replicas.map((r) => r.stop()));
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  t = performance.now();
  phase = 'connect';
  await all(() => ({ cmd: 'connect' }), 'connected');
  phase = 'connected';
  const checkinS = (performance.now() - t) / 1000;
  // Let the servers finish the post-welcome work (facts + reconcile) before measuring memory.
  await new Promise((r) => setTimeout(r, 2000 + N / 20));
  const mem1 = await Promise.all(replicas.map((r) => r.memory()));

  // The bundle is published; deploy (expedited, default policy) -> applied on every device.
  let killed: { afterS: number; appliedBefore: number } | null = null;
  const kill = () => {
    if (killed) return;
    killed = { afterS: secs(performance.now() - t), appliedBefore: total().applied };
    first.kill9();
  };
  const fraction = killAt && !killAt.endsWith('ms') ? Number(killAt) : null;
  const appliedAll = new Promise<void>((resolve) => {
    onStats = () => {
      const a = total().applied;
      if (fraction !== null && a >= fraction * N) kill();
      if (a === N) resolve();
    };
  });
  t = performance.now();
  const cpu0 = machineCpuS();
  phase = 'deploy';
  if (killAt.endsWith('ms')) setTimeout(kill, Number(killAt.slice(0, -2)));
  const dep = await admin.post('/v1/deployments?view=summary', {
    patchId: fx.patchId,
    policy: 'default',
    expedite: true,
  });
  const id = dep.json.deployment.id as string;
  // The creation (planning a row per device) is on the measured path: devices get deploys after it commits.
  const createdS = (performance.now() - t) / 1000;
  // Bounded: a fleet that does not converge is reported (devicesLostPatch), not waited for forever.
  const converged = await Promise.race([
    appliedAll.then(() => true),
    new Promise<boolean>((r) => setTimeout(r, 600_000, false).unref()),
  ]);
  if (!converged) console.error(`fleet-bench: devices applied after 600 s: ${total().applied} of ${N}`);
  const deliveredS = (performance.now() - t) / 1000;
  let recorded = 0;
  try {
    // Counts only (/progress): the full view re-reads every row and every device name per answer
    // (~30 MB at 100,000 devices), which the watched replica paid while holding its devices.
    await pollDeployment<DeploymentProgress>(
      admin,
      id,
      'progress',
      (v) => {
        recorded = v.summary.counts.applied ?? 0;
        if (verbose) {
          const states = Object.entries(v.summary.counts).filter(([, n]) => n > 0);
          console.error(
            `${secs(performance.now() - t)} s: recorded ${JSON.stringify(Object.fromEntries(states))}, devices ${JSON.stringify(total())}`,
          );
        }
        return recorded === N;
      },
      converged ? 600_000 : 10_000,
      (v) => v.summary.counts,
    );
  } catch {
    // reported below as devices that lost their patch
  }
  const recordedS = (performance.now() - t) / 1000;
  // Every process of the machine (servers, simulator shards, PostgreSQL, anything else running):
  // on a machine left to the benchmark, what the rollout cost in CPU, whatever the core count.
  const cpu1 = machineCpuS();
  const rolloutCpuS = cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null;
  // The killed replica's devices may still be failing over (they had all applied): wait for them.
  const reconnected = new Promise<void>((resolve) => {
    onStats = () => total().connected === N && resolve();
    onStats();
  });
  const settled = killed
    ? await Promise.race([
        reconnected.then(() => true),
        new Promise((r) => setTimeout(r, 120_000, false).unref()),
      ])
    : true;
  const allConnectedS = (performance.now() - t) / 1000;
  const sim = total();
  const perReplica = N / R;
  const result = {
    devices: N,
    storage: databaseUrl ? 'postgres' : 'pglite',
    replicas: R,
    workersPerReplica: W,
    simulatorShards: shards,
    enrollPerSecond: kept ? null : Math.round(N / enrollS),
    reusedSchema: kept ? schema : null,
    checkinsPerSecond: Math.round(N / checkinS),
    serverRssMb: replicas.map((_, r) => ({
      before: Math.round((mem0[r]?.rss ?? 0) / 2 ** 20),
      connected: Math.round((mem1[r]?.rss ?? 0) / 2 ** 20),
    })),
    serverHeapKbPerDevice:
      W > 1
        ? null
        : Math.round(
            replicas.reduce((a, _, r) => a + ((mem1[r]?.heapUsed ?? 0) - (mem0[r]?.heapUsed ?? 0)), 0) /
              1024 /
              N,
          ),
    serverRssKbPerDevice: Math.round(
      replicas.reduce((a, _, r) => a + ((mem1[r]?.rss ?? 0) - (mem0[r]?.rss ?? 0)), 0) / 1024 / N,
    ),
    devicesPerReplica: Math.round(perReplica),
    deploymentCreateAnsweredS: secs(createdS * 1000),
    deployToAllAppliedOnDevicesS: secs(deliveredS * 1000),
    deployToAllAppliedRecordedS: secs(recordedS * 1000),
    killedReplica: killed,
    deployToAllReconnectedS: killed && settled ? secs(allConnectedS * 1000) : null,
    devicesFailedOver: sim.failedOver,
    channelDrops: sim.drops,
    deployMessages: sim.deploys,
    devicesLostPatch: N - recorded,
    machineCores: cpus().length,
    rolloutMachineCpuS: rolloutCpuS === null ? null : secs(rolloutCpuS * 1000),
    rolloutCpuMsPerDevice: rolloutCpuS === null ? null : Math.round((rolloutCpuS * 1000 * 100) / N) / 100,
  };
  if (progress) clearInterval(progress);
  console.log(JSON.stringify(result));
  for (const p of procs) p.send({ cmd: 'stop' });
  await Promise.all(replicas.map((r) => r.stop()));
  if (databaseUrl && !reuseFile) {
    const c = new pg.Client({ connectionString: databaseUrl });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await c.end();
  }
  rmSync(dir, { recursive: true, force: true });
  if (recorded !== N) process.exitCode = 1;
}

await main();

/** CPU time the whole machine has been busy (all cores, every process), in seconds; null off Linux. */
function machineCpuS(): number | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    // cpu user nice system idle iowait irq softirq …, in USER_HZ (100 per second on Linux).
    const [user, nice, system, , , irq, softirq] = line.trim().split(/\s+/).slice(1).map(Number);
    return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0)) / 100;
  } catch {
    return null;
  }
}

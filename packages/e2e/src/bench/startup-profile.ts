/**
 * Where a start-up's time goes, with and without the runtime (issue 10): the small real app
 * (Express 4 + Fastify 4, listen, exit) run under `--cpu-prof`, alternating with and without the
 * runtime preloaded as `hotpatch run` does, warm caches; every sample's self time put in a bucket
 * by the code it was in. Prints the median per bucket of each mode and the difference.
 *   node packages/e2e/dist/bench/startup-profile.js [--node 20,26] [--runs 7] [--interval-us 100]
 * The profiler costs time of its own (read the shares, not the totals), and one sample's
 * attribution is V8's: compiling a function on its first call shows as `(program)` or under the
 * function that called it.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSigningKey } from '@hotpatch/core';
import { nodeBinaries } from '../testing/nodes.js';
import { preloadFile } from '../testing/processes.js';
import { prepareApp } from './bench-app.js';
import { median } from './callgrind.js';
import { bucketsOf, type Profile } from './profile-buckets.js';
import { exitOnHelp } from './usage.js';

exitOnHelp(`Usage: node packages/e2e/dist/bench/startup-profile.js [--node 20,26] [--runs 7] [--interval-us 100]
Profiles the small app's start-up (Express + Fastify, listen, exit) with and without the runtime,
alternating, and prints the median self time per bucket of code in each mode.`);

const arg = (name: string) =>
  process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined;
const versions = new Set((arg('--node') ?? '20,26').split(',').map(Number));
const runs = Number(arg('--runs') ?? 7);
if (!Number.isInteger(runs) || runs < 1) {
  console.error('startup-profile: --runs must be a positive integer');
  process.exit(2);
}
const interval = Number(arg('--interval-us') ?? 100);
const smallAppFile = fileURLToPath(new URL('./small-app.cjs', import.meta.url));
const runtimeDir = fileURLToPath(new URL('../../../runtime/', import.meta.url));

/**
 * One profiled run. The profile directory is the same path every time: the runtime's code cache
 * on Node 20 is kept per set of process flags, and a new `--cpu-prof-dir` each run would make
 * every start a first one (every module compiled, as no service's warm start is).
 */
function runOnce(node: string, dir: string, home: string, runtime: boolean): Map<string, number> {
  const profDir = join(home, 'profiles');
  rmSync(profDir, { recursive: true, force: true });
  mkdirSync(profDir);
  try {
    const r = spawnSync(
      node,
      [
        '--cpu-prof',
        `--cpu-prof-dir=${profDir}`,
        `--cpu-prof-interval=${interval}`,
        ...(runtime ? ['--require', preloadFile] : []),
        smallAppFile,
      ],
      {
        env: { ...process.env, BENCH_APP_DIR: dir, HOTPATCH_HOME: home, HOTPATCH_SERVICE: 'startup-profile' },
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    if (r.status !== 0) throw new Error(`the small app exited ${r.status}`);
    const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error('no profile written');
    return bucketsOf(JSON.parse(readFileSync(join(profDir, file), 'utf8')) as Profile, runtimeDir);
  } finally {
    rmSync(profDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  delete process.env.NODE_EXTRA_CA_CERTS; // not the runtime's cost (runtime-bench.ts says why)
  const dir = prepareApp();
  const home = mkdtempSync(join(tmpdir(), 'hotpatch-prof-home-'));
  const keyFile = join(home, 'k.pub');
  writeFileSync(keyFile, generateSigningKey().publicKeyPem);
  process.env.HOTPATCH_TRUSTED_KEYS = keyFile;
  try {
    for (const { major, bin } of nodeBinaries().filter((n) => versions.has(n.major))) {
      // Warm: the instrumentation pack and code caches written, under the flags of the runs below.
      runOnce(bin, dir, home, true);
      runOnce(bin, dir, home, true);
      const samples = { with: [] as Map<string, number>[], without: [] as Map<string, number>[] };
      for (let i = 0; i < runs; i++) {
        // Alternating, each pair in a different order: the machine's drift falls on both modes.
        for (const runtime of i % 2 ? [true, false] : [false, true])
          samples[runtime ? 'with' : 'without'].push(runOnce(bin, dir, home, runtime));
      }
      const buckets = [...new Set([...samples.with, ...samples.without].flatMap((m) => [...m.keys()]))];
      const row = (b: string) => {
        const w = median(samples.with.map((m) => m.get(b) ?? 0));
        const wo = median(samples.without.map((m) => m.get(b) ?? 0));
        return { b, wo, w, d: w - wo };
      };
      const rows = buckets.map(row).sort((x, y) => y.d - x.d);
      const total = (ms: Map<string, number>[]) =>
        median(ms.map((m) => [...m.values()].reduce((a, x) => a + x, 0)));
      console.log(
        `node${major}: small app start-up, self time by bucket (median of ${runs} profiled runs per mode, ${interval} µs sampling)`,
      );
      console.log(`| bucket | without (ms) | with (ms) | difference (ms) |\n|---|---|---|---|`);
      for (const r of rows)
        console.log(
          `| ${r.b} | ${r.wo.toFixed(1)} | ${r.w.toFixed(1)} | ${r.d >= 0 ? '+' : ''}${r.d.toFixed(1)} |`,
        );
      const tw = total(samples.with);
      const two = total(samples.without);
      console.log(
        `| **all samples** | ${two.toFixed(1)} | ${tw.toFixed(1)} | +${(tw - two).toFixed(1)} (×${(tw / two).toFixed(2)}) |\n`,
      );
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

await main();

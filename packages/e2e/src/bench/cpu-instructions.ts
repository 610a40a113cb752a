/**
 * CPU per request as instructions (issue 10, goal ≤ ×1.02): the Express and Fastify benchmark
 * services (app.cts, as in runtime-bench.ts) run under valgrind's callgrind, with and without the
 * runtime, and serve windows of N1 and N2 requests after a warm-up; instructions per request is
 * (I(N2) - I(N1)) / (N2 - N1) per pair of windows, so start-up and what every window pays once
 * cancel out. Counts do not depend on the machine's load, unlike CPU time (BENCHMARKS.md §3).
 *   node packages/e2e/dist/bench/cpu-instructions.js [--node 20,26] [--framework express,fastify]
 *     [--modules 1000] [--warmup 6000] [--sizes 400,1200] [--pairs 3] [--runs 2] [--connections 1]
 *     [--modes without,with]
 * Each service is started `--runs` times per mode (a new process each time: repeatability). One
 * connection: each request is served on its own event-loop turn, as the count should not depend
 * on how requests happen to batch. Prints a table and writes .cache/bench/cpu-instructions.json.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { cacheDir } from '../testing/advisories.js';
import { nodeBinaries } from '../testing/nodes.js';
import { registerFile as builtRegisterFile } from '../testing/processes.js';
import { appFile, prepareApp } from './bench-app.js';
import { callgrindArgs, markTotals, median, pairSlopes, type Window } from './callgrind.js';

const arg = (name: string, def: string) =>
  process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1]! : def;
const list = (name: string, def: string) => arg(name, def).split(',');
const nodesWanted = list('--node', '20,26').map(Number);
const frameworks = list('--framework', 'express,fastify') as Array<'express' | 'fastify'>;
const modules = Number(arg('--modules', '1000'));
// A warm-up of 3,000 requests left the first pair of windows unsteady (BENCHMARKS.md §3).
const warmup = Number(arg('--warmup', '6000'));
const [small, large] = list('--sizes', '400,1200').map(Number) as [number, number];
const pairs = Number(arg('--pairs', '3'));
const runs = Number(arg('--runs', '2'));
// --modes without or with: one mode per invocation (two invocations can run side by side).
const modes = list('--modes', 'without,with');
const connections = Number(arg('--connections', '1'));
const registerFile = process.env.BENCH_REGISTER ?? builtRegisterFile;
const home = mkdtempSync(join(tmpdir(), 'hotpatch-instr-'));

interface Service {
  child: ChildProcess;
  port: number;
  ask(op: string): Promise<Record<string, unknown>>;
}

function launch(cmd: string, args: string[], framework: string): Promise<Service> {
  const child = spawn(cmd, args, {
    env: {
      ...process.env,
      BENCH_APP_DIR: prepared,
      BENCH_MODULES: String(modules),
      BENCH_FRAMEWORK: framework,
      BENCH_NO_TICK: '1',
      HOTPATCH_HOME: home,
      HOTPATCH_SERVICE: `instr-${framework}`,
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ask = (op: string) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const on = (m: Record<string, unknown>) => {
        if (m.op !== op) return;
        child.off('message', on);
        resolve(m);
      };
      child.on('message', on);
      child.send({ op });
    });
  return new Promise((resolve, reject) => {
    child.once('exit', (c) => reject(new Error(`service exited ${c}`)));
    child.once('message', (m: { port: number }) => resolve({ child, port: m.port, ask }));
  });
}

async function exit(s: Service): Promise<void> {
  const done = new Promise((r) => s.child.once('exit', r));
  s.child.send({ op: 'exit' });
  await done;
}

const fire = async (port: number, amount: number) => {
  // A long timeout: under valgrind a request that meets a GC or a compile can take seconds.
  const r = await autocannon({ url: `http://127.0.0.1:${port}/`, connections, amount, timeout: 600 });
  if (r.non2xx || r.errors || r.requests.total < amount)
    throw new Error(`requests failed: ${JSON.stringify(r)}`);
};

/** One process under callgrind: warm-up, then pairs of windows (sizes alternating in order). */
async function measure(node: string, framework: string, runtime: boolean): Promise<Window[]> {
  const out = mkdtempSync(join(home, 'cg-'));
  const nodeArgs = ['--expose-gc', ...(runtime ? ['--import', registerFile] : []), appFile];
  const s = await launch('valgrind', [...callgrindArgs(out), node, ...nodeArgs], framework);
  await fire(s.port, warmup);
  await s.ask('mark');
  const sizes: number[] = [];
  for (let p = 0; p < pairs; p++) {
    for (const n of p % 2 === 0 ? [small, large] : [large, small]) {
      await fire(s.port, n);
      await s.ask('mark');
      sizes.push(n);
    }
  }
  await exit(s);
  const totals = markTotals(out, s.child.pid!).slice(1); // dump 1: start-up and warm-up
  if (totals.length !== sizes.length) throw new Error(`expected ${sizes.length} dumps, got ${totals.length}`);
  rmSync(out, { recursive: true, force: true });
  // Pairs ordered small then large, whichever ran first.
  const windows = sizes.map((n, i) => ({ n, instructions: totals[i]! }));
  return windows.flatMap((w, i) => (i % 2 === 1 ? [] : [w, windows[i + 1]!].sort((a, b) => a.n - b.n)));
}

/** Fills the runtime's instrumentation cache with a plain start (as a restarted release has it). */
async function warmCache(node: string, framework: string): Promise<void> {
  await exit(await launch(node, ['--import', registerFile, appFile], framework));
}

let prepared = '';
async function main(): Promise<void> {
  prepared = prepareApp();
  const results: Record<string, unknown> = {
    warmup,
    sizes: [small, large],
    pairs,
    runs,
    connections,
    modules,
  };
  for (const { major, bin } of nodeBinaries().filter((n) => nodesWanted.includes(n.major))) {
    for (const framework of frameworks) {
      if (modes.includes('with')) await warmCache(bin, framework);
      const per: Record<'without' | 'with', number[][]> = { without: [], with: [] };
      for (let r = 0; r < runs; r++) {
        for (const runtime of r % 2 === 0 ? [false, true] : [true, false]) {
          const mode = runtime ? 'with' : 'without';
          if (!modes.includes(mode)) continue;
          const windows = await measure(bin, framework, runtime);
          console.log(`node${major} ${framework} ${mode} run ${r + 1}: windows ${JSON.stringify(windows)}`);
          per[mode].push(pairSlopes(windows));
        }
      }
      results[`node${major}-${framework}`] = per;
      print(major, framework, per);
    }
  }
  writeFileSync(
    join(cacheDir('bench'), `cpu-instructions-${modes.join('-')}.json`),
    `${JSON.stringify(results, null, 2)}\n`,
  );
  rmSync(home, { recursive: true, force: true });
}

function print(major: number, framework: string, per: Record<'without' | 'with', number[][]>): void {
  const k = (x: number) => `${Math.round(x / 100) / 10}k`;
  const show = (runs: number[][]) => runs.map((s) => `${k(median(s))} (${s.map(k).join(', ')})`).join('; ');
  if (per.without.length === 0 || per.with.length === 0) {
    console.log(
      `Node ${major} ${framework}: instructions per request, per run (each pair's slope): ${show([...per.without, ...per.with])}`,
    );
    return;
  }
  const w = median(per.without.flat());
  const r = median(per.with.flat());
  console.log(
    `Node ${major} ${framework}: instructions per request, median per run (each pair's slope)\n` +
      `  without ${show(per.without)}\n  with    ${show(per.with)}\n` +
      `  ratio of medians ×${(r / w).toFixed(3)}  (+${k(r - w)} per request)`,
  );
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);

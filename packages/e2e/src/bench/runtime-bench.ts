/**
 * Runtime benchmarks (issues 3 and 10): what the runtime costs a service, as ratios with and
 * without it, measured side by side in one run. Prints a table per Node version and writes
 * .cache/bench/runtime.json.
 *   node packages/e2e/dist/bench/runtime-bench.js [--quick] [--node N] [--only start,cpu,apply]
 *     [--engines redirect,liveedit] [--applies N] [--measure time|instructions] [--pairs N]
 *     [--rows warm,cold,small,empty]
 * --measure time (the default): start-up rows as wall time and as the process's own CPU time
 * (user + system, all its threads, read by the process itself at listening or exit).
 * --measure instructions: the start-up rows only, each process run under valgrind's callgrind
 * (instructions of all threads, up to listening or to exit): counts that do not depend on the
 * machine's load, for the figures a shared machine cannot give in time. Slow (callgrind runs a
 * process ~50x slower): 3 pairs by default, 1 for the cold start (--pairs N sets all); one pair
 * of each took 10.5 min for Node 20 at load 5-12, most of it the cold start with the runtime
 * (~10 G instructions).
 * Rows, on Node 20, 22, 24 and 26:
 * - start-up to listening of an Express app with 1,000 generated modules (1,131 loaded), warm
 *   instrumentation cache and cold (a new HOTPATCH_HOME each time: the first start of a release);
 * - start-up of a small real app (Express 4 + Fastify 4, both listen, exit);
 * - the runtime's own load: an empty script;
 * - CPU time per request of an Express and of a Fastify service (the service's own CPU usage,
 *   over alternating windows of autocannon load);
 * - RSS at listening;
 * - the longest event-loop stall during an apply (redirect engine; LiveEdit where V8 has it) and
 *   the apply latency (request to verified).
 * Start-up figures are paired, alternating runs; each ratio is the median of the per-pair ratios,
 * with the range of those ratios (the machine is shared: a single pair can be off by 20%).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSigningKey } from '@hotpatch/core';
import { applyTo, revertIn } from '@hotpatch/runtime';
import autocannon from 'autocannon';
import { advisoryOf, buildSigned, cacheDir } from '../testing/advisories.js';
import { nodeBinaries } from '../testing/nodes.js';
import { preloadFile } from '../testing/processes.js';
import { appFile, MODULES, prepareApp } from './bench-app.js';
import { callgrindArgs, hasValgrind, markTotals, median, processTotal } from './callgrind.js';

const quick = process.argv.includes('--quick');
const arg = (name: string) =>
  process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined;
const onlyNode = arg('--node') ? Number(arg('--node')) : null;
const only = new Set((arg('--only') ?? 'start,cpu,apply').split(','));
const engines = new Set((arg('--engines') ?? 'redirect,liveedit').split(','));
const applies = Number(arg('--applies') ?? (quick ? 3 : 10));
const measure = arg('--measure') ?? 'time';
if (measure !== 'time' && measure !== 'instructions')
  throw new Error(`--measure ${measure}: time or instructions`);
const instructions = measure === 'instructions';
const pairsArg = arg('--pairs') ? Number(arg('--pairs')) : undefined;
// Which start-up rows run (all by default): e.g. the cold start alone, the slowest under callgrind.
const rows = new Set((arg('--rows') ?? 'warm,cold,small,empty').split(','));
// The runtime as `hotpatch run` preloads it (--require); BENCH_REGISTER: another build of the
// preload (e.g. the previous commit's, to compare), an ES module one (.js, .mjs) with --import.
const preloadArgs = (() => {
  const file = process.env.BENCH_REGISTER;
  if (!file) return ['--require', preloadFile];
  return /\.m?js$/.test(file) ? ['--import', file] : ['--require', file];
})();
// A machine-wide NODE_EXTRA_CA_CERTS makes every Node 20 process parse those certificates at
// start (~80% of an empty script's instructions on the machine of BENCHMARKS.md §3): it is not
// the runtime's, and it would hide the runtime's share of a start, so the services run without.
delete process.env.NODE_EXTRA_CA_CERTS;
const smallAppFile = fileURLToPath(new URL('./small-app.cjs', import.meta.url));
const home = mkdtempSync(join(tmpdir(), 'hotpatch-bench-'));
process.env.HOTPATCH_HOME = home;
const key = generateSigningKey();
const keyFile = join(home, 'k.pub');
writeFileSync(keyFile, key.publicKeyPem);
const emptyFile = join(home, 'empty.js');
writeFileSync(emptyFile, '');
// Loaded with --require in both modes: reports a process's uptime and peak RSS as it exits.
const reporterFile = join(home, 'report-exit.cjs');
writeFileSync(
  reporterFile,
  `process.on('exit', () => { const u = process.resourceUsage(); require('node:fs').writeFileSync(process.env.BENCH_REPORT, JSON.stringify({ uptimeMs: process.uptime() * 1000, cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000, maxRssKiB: u.maxRSS })); });\n`,
);

interface Started {
  child: ChildProcess;
  port: number;
  startMs: number;
  uptimeMs: number;
  cpuMs: number;
  rss: number;
  modules: number;
  /** Under callgrind (--measure instructions): where its counts are written. */
  countsDir?: string;
}

/**
 * The command for a service: node itself, or node under callgrind (counts written to a new
 * directory; the dump at the first mark is what ran up to it, the rest is written at exit).
 */
function commandFor(
  node: string,
  args: string[],
  counted: boolean,
): { cmd: string; args: string[]; countsDir?: string } {
  if (!instructions || !counted) return { cmd: node, args };
  const countsDir = mkdtempSync(join(home, 'cg-'));
  return { cmd: 'valgrind', args: [...callgrindArgs(countsDir), node, ...args], countsDir };
}

interface Mode {
  runtime: boolean;
  home?: string;
  engine?: 'liveedit' | 'redirect';
  framework?: 'express' | 'fastify';
  modules?: number;
}

function envFor(dir: string, mode: Mode, service: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    BENCH_APP_DIR: dir,
    BENCH_MODULES: String(mode.modules ?? MODULES),
    BENCH_FRAMEWORK: mode.framework ?? 'express',
    HOTPATCH_HOME: mode.home ?? home,
    HOTPATCH_TRUSTED_KEYS: keyFile,
    HOTPATCH_SERVICE: service,
    ...(mode.engine ? { HOTPATCH_ENGINE: mode.engine } : {}),
  };
}

/** Starts a service to listening; `counted: false` runs it without callgrind (a warm-up). */
function start(node: string, dir: string, mode: Mode, service: string, counted = true): Promise<Started> {
  // BENCH_NODE_ARGS: extra flags for the service (e.g. --cpu-prof to see where an apply stalls).
  const extra = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const run = commandFor(node, [...extra, ...(mode.runtime ? preloadArgs : []), appFile], counted);
  const child = spawn(run.cmd, run.args, {
    env: { ...envFor(dir, mode, service), ...(run.countsDir ? { BENCH_MARK_READY: '1' } : {}) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (c) => reject(new Error(`bench app exited ${c}`)));
    child.once('message', (m: Omit<Started, 'child'>) => resolve({ child, ...m, countsDir: run.countsDir }));
  });
}

/** Runs a script to its exit; its uptime and peak RSS as it exits. */
function runToExit(
  node: string,
  dir: string,
  script: string,
  mode: Mode,
  service: string,
  counted = true,
): Promise<{ ms: number; cpuMs: number; maxRssMiB: number; instructions: number }> {
  const report = join(home, `report-${process.pid}.json`);
  rmSync(report, { force: true });
  const run = commandFor(
    node,
    ['--require', reporterFile, ...(mode.runtime ? preloadArgs : []), script],
    counted,
  );
  const child = spawn(run.cmd, run.args, {
    env: { ...envFor(dir, mode, service), BENCH_REPORT: report },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`${script} exited ${code}`));
      const r = JSON.parse(readFileSync(report, 'utf8')) as {
        uptimeMs: number;
        cpuMs: number;
        maxRssKiB: number;
      };
      resolve({
        ms: r.uptimeMs,
        cpuMs: r.cpuMs,
        maxRssMiB: r.maxRssKiB / 1024,
        instructions: run.countsDir ? countsOf(run.countsDir, child.pid!, 'exit') : Number.NaN,
      });
    });
  });
}

function ask(child: ChildProcess, op: string): Promise<Record<string, number>> {
  return new Promise((resolve) => {
    const on = (m: Record<string, number> & { op?: string }) => {
      if (m.op === op) {
        child.off('message', on);
        resolve(m);
      }
    };
    child.on('message', on);
    child.send({ op });
  });
}

/** Millions of instructions a process under callgrind ran up to listening (its first mark) or to its exit. */
function countsOf(countsDir: string, pid: number, upTo: 'listening' | 'exit'): number {
  const n = upTo === 'listening' ? markTotals(countsDir, pid)[0]! : processTotal(countsDir, pid);
  rmSync(countsDir, { recursive: true, force: true });
  return n / 1e6;
}

async function stop(child: ChildProcess): Promise<void> {
  const done = new Promise((r) => child.once('exit', r));
  // A clean exit (a profile asked for with BENCH_NODE_ARGS is written then), else SIGKILL.
  child.send({ op: 'exit' });
  const killer = setTimeout(() => child.kill('SIGKILL'), instructions ? 60_000 : 3000);
  await done;
  clearTimeout(killer);
}

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const spread = (xs: number[], d = 2) => `${round(Math.min(...xs), d)}–${round(Math.max(...xs), d)}`;

/** Paired, alternating runs of `measure` without and with the runtime: per-pair ratios and deltas. */
async function paired<T extends Record<string, number>>(
  pairs: number,
  measure: (runtime: boolean, round: number) => Promise<T>,
): Promise<{ without: T[]; with: T[] }> {
  const out = { without: [] as T[], with: [] as T[] };
  for (let r = 0; r < pairs; r++) {
    for (const runtime of r % 2 === 0 ? [false, true] : [true, false]) {
      out[runtime ? 'with' : 'without'].push(await measure(runtime, r));
    }
  }
  return out;
}

function ratioRow(p: { without: Record<string, number>[]; with: Record<string, number>[] }, k: string) {
  const ratios = p.with.map((w, i) => w[k]! / p.without[i]![k]!);
  const deltas = p.with.map((w, i) => w[k]! - p.without[i]![k]!);
  return {
    without: round(median(p.without.map((x) => x[k]!))),
    with: round(median(p.with.map((x) => x[k]!))),
    ratio: round(median(ratios), 2),
    ratioRange: spread(ratios),
    delta: round(median(deltas)),
    deltaRange: spread(deltas, 0),
  };
}

async function startupRows(node: string, dir: string, tag: string): Promise<Record<string, unknown>> {
  const n = pairsArg ?? (instructions ? 3 : quick ? 3 : 7);
  const coldPairs = pairsArg ?? (instructions ? 1 : quick ? 2 : 4);
  const emptyPairs = pairsArg ?? (instructions ? 3 : quick ? 5 : 11);
  // What a start to listening measured: wall and CPU time, or instructions under callgrind.
  const atListening = async (s: Started): Promise<Record<string, number>> => {
    await stop(s.child);
    return s.countsDir
      ? { instructions: countsOf(s.countsDir, s.child.pid!, 'listening') }
      : { ms: s.uptimeMs, cpuMs: s.cpuMs, rssMiB: s.rss / 2 ** 20 };
  };
  const none = { without: [], with: [] };
  const service = `bench-${tag}-start`;
  let warm: Awaited<ReturnType<typeof paired>> = none;
  if (rows.has('warm')) {
    // Warm: the instrumentation cache filled by one start first (its pack is written as it exits).
    const first = await start(node, dir, { runtime: true }, service, false);
    await new Promise((r) => {
      first.child.once('exit', r);
      first.child.send({ op: 'exit' });
    });
    warm = await paired(n, async (runtime) => atListening(await start(node, dir, { runtime }, service)));
  }
  // Cold: a new HOTPATCH_HOME each time (the first start of a new release).
  const cold = rows.has('cold')
    ? await paired(coldPairs, async (runtime, r) => {
        const fresh = join(home, `cold-${tag}-${r}`);
        const out = await atListening(await start(node, dir, { runtime, home: fresh }, service));
        rmSync(fresh, { recursive: true, force: true });
        return out;
      })
    : none;
  const smallService = `bench-${tag}-small`;
  let small: Awaited<ReturnType<typeof paired>> = none;
  if (rows.has('small')) {
    await runToExit(node, dir, smallAppFile, { runtime: true }, smallService, false);
    small = await paired(n, (runtime) => runToExit(node, dir, smallAppFile, { runtime }, smallService));
  }
  let empty: Awaited<ReturnType<typeof paired>> = none;
  if (rows.has('empty')) {
    // The runtime's own caches (its V8 code cache) are written by a first run, as for the others.
    await runToExit(node, dir, emptyFile, { runtime: true }, `bench-${tag}-empty`, false);
    empty = await paired(emptyPairs, (runtime) =>
      runToExit(node, dir, emptyFile, { runtime }, `bench-${tag}-empty`),
    );
  }
  // A row that did not run is left out.
  const row = (p: typeof none | Awaited<ReturnType<typeof paired>>, k: string) =>
    p.with.length ? ratioRow(p, k) : undefined;
  if (instructions)
    return {
      startWarmInstructions: row(warm, 'instructions'),
      startColdInstructions: row(cold, 'instructions'),
      smallAppInstructions: row(small, 'instructions'),
      emptyInstructions: row(empty, 'instructions'),
    };
  return {
    startWarm: row(warm, 'ms'),
    rssAtListening: row(warm, 'rssMiB'),
    startWarmCpu: row(warm, 'cpuMs'),
    startCold: row(cold, 'ms'),
    startColdCpu: row(cold, 'cpuMs'),
    smallApp: row(small, 'ms'),
    smallAppCpu: row(small, 'cpuMs'),
    smallAppPeakRss: row(small, 'maxRssMiB'),
    empty: row(empty, 'ms'),
    emptyCpu: row(empty, 'cpuMs'),
    emptyPeakRss: row(empty, 'maxRssMiB'),
  };
}

/**
 * CPU time per request: both services up and warm, measured in alternating windows so that the
 * machine's drift hits both alike; CPU is the service's own (process.cpuUsage), per request served.
 */
async function cpuRow(node: string, dir: string, tag: string, framework: 'express' | 'fastify') {
  const pairs = quick ? 3 : 8;
  const duration = quick ? 2 : 3;
  const service = `bench-${tag}-${framework}`;
  const without = await start(node, dir, { runtime: false, framework }, service);
  const withRt = await start(node, dir, { runtime: true, framework }, service);
  const fire = (port: number, seconds: number) =>
    autocannon({ url: `http://127.0.0.1:${port}/`, connections: 10, duration: seconds });
  await fire(without.port, 2);
  await fire(withRt.port, 2);
  const p = await paired(pairs, async (runtime) => {
    const target = runtime ? withRt : without;
    const cpu0 = (await ask(target.child, 'cpu')).micros!;
    const out = await fire(target.port, duration);
    const cpu1 = (await ask(target.child, 'cpu')).micros!;
    return { cpuMicros: (cpu1 - cpu0) / Math.max(1, out.requests.total), rps: out.requests.average };
  });
  await stop(without.child);
  await stop(withRt.child);
  return { cpuPerRequest: ratioRow(p, 'cpuMicros'), requestsPerSecond: ratioRow(p, 'rps') };
}

async function applyRow(
  node: string,
  dir: string,
  tag: string,
  engine: 'redirect' | 'liveedit',
  bundle: Buffer,
) {
  const service = `bench-${tag}-apply-${engine}`;
  // A warm instrumentation cache first (as a service restarted on its release has): then the
  // parser is not loaded at start, and an apply that needed it would load it.
  const first = await start(node, dir, { runtime: true, engine }, service);
  await stop(first.child);
  const app = await start(node, dir, { runtime: true, engine }, service);
  const applyMs: number[] = [];
  const stallMs: number[] = [];
  const idleMs: number[] = [];
  const patchId = JSON.parse(bundle.toString()).payload.patchId as string;
  // The longest gap between 1 ms ticks in a window; the control is a window of the same length
  // with no apply (the machine's own scheduling noise), alternating with the apply windows.
  const busyMs: number[] = [];
  const idleBusyMs: number[] = [];
  const cpuMs: number[] = [];
  const idleCpuMs: number[] = [];
  const gapOver = async (work: () => Promise<void>, busy: number[], cpu: number[]) => {
    await ask(app.child, 'gap-reset');
    await work();
    await new Promise((r) => setTimeout(r, 20));
    const read = await ask(app.child, 'gap-read');
    if (Number.isFinite(read.maxBusy)) busy.push(read.maxBusy!);
    if (Number.isFinite(read.threadCpu)) cpu.push(read.threadCpu!);
    return read.maxGap!;
  };
  for (let i = 0; i < applies; i++) {
    const idle = () => new Promise<void>((r) => setTimeout(r, applyMs.at(-1) ?? 15));
    const apply = async () => {
      const t0 = performance.now();
      const res = await applyTo(app.child.pid!, bundle);
      applyMs.push(performance.now() - t0);
      if (res.state !== 'applied') throw new Error(`apply: ${res.state} ${res.reason ?? ''}`);
    };
    if (i % 2 === 0) idleMs.push(await gapOver(idle, idleBusyMs, idleCpuMs));
    stallMs.push(await gapOver(apply, busyMs, cpuMs));
    if (i % 2 === 1) idleMs.push(await gapOver(idle, idleBusyMs, idleCpuMs));
    await revertIn(app.child.pid!, patchId);
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop(app.child);
  return {
    loadedModules: app.modules,
    applyMedianMs: round(median(applyMs)),
    applyMaxMs: round(Math.max(...applyMs)),
    stallMedianMs: round(median(stallMs)),
    stallMaxMs: round(Math.max(...stallMs)),
    stallRange: spread(stallMs, 1),
    idleMedianMs: round(median(idleMs)),
    idleMaxMs: round(Math.max(...idleMs)),
    ...(busyMs.length
      ? {
          busyMedianMs: round(median(busyMs), 2),
          busyMaxMs: round(Math.max(...busyMs), 2),
          idleBusyMedianMs: round(median(idleBusyMs), 2),
          idleBusyMaxMs: round(Math.max(...idleBusyMs), 2),
          cpuMedianMs: round(median(cpuMs), 2),
          idleCpuMedianMs: round(median(idleCpuMs), 2),
        }
      : {}),
  };
}

async function main(): Promise<void> {
  const dir = prepareApp();
  if (instructions && !hasValgrind()) throw new Error('--measure instructions needs valgrind');
  // Instructions are counted for the start-up rows only (a request or an apply under callgrind:
  // cpu-instructions.ts).
  if (instructions) for (const o of ['cpu', 'apply']) only.delete(o);
  const bundle = only.has('apply')
    ? (await buildSigned(advisoryOf('express@4.19.2'), key)).bytes
    : Buffer.alloc(0);
  if (only.has('apply') && bundle.length === 0) throw new Error('express bundle did not build');
  const nodes = nodeBinaries()
    .filter((n) => (onlyNode ? n.major === onlyNode : [20, 22, 24, 26].includes(n.major)))
    .sort((a, b) => a.major - b.major);
  const results: Record<string, unknown> = { machine: machine(), modules: MODULES, quick, measure };
  for (const node of nodes) {
    const tag = `node${node.major}`;
    const row: Record<string, unknown> = {};
    if (only.has('start')) Object.assign(row, await startupRows(node.bin, dir, tag));
    if (only.has('cpu')) {
      row.express = await cpuRow(node.bin, dir, tag, 'express');
      row.fastify = await cpuRow(node.bin, dir, tag, 'fastify');
    }
    if (only.has('apply')) {
      if (engines.has('redirect')) row.applyRedirect = await applyRow(node.bin, dir, tag, 'redirect', bundle);
      if (engines.has('liveedit') && node.major <= 25)
        row.applyLiveEdit = await applyRow(node.bin, dir, tag, 'liveedit', bundle);
    }
    results[tag] = { version: versionOf(node.bin), loadAfter: os.loadavg().map((x) => round(x)), ...row };
    print(tag, row);
  }
  writeFileSync(
    join(cacheDir('bench'), instructions ? 'runtime-instructions.json' : 'runtime.json'),
    `${JSON.stringify(results, null, 2)}\n`,
  );
  rmSync(home, { recursive: true, force: true });
}

type Row = ReturnType<typeof ratioRow>;
function print(tag: string, row: Record<string, unknown>): void {
  const lines: string[] = [
    `${tag} (${machine()}; load average ${os
      .loadavg()
      .map((x) => round(x))
      .join(' ')})`,
  ];
  const r = (name: string, unit: string, x: unknown) => {
    if (!x) return;
    const v = x as Row;
    lines.push(
      `  ${name.padEnd(44)} without ${`${v.without}${unit}`.padStart(10)}  with ${`${v.with}${unit}`.padStart(10)}  ×${v.ratio} (${v.ratioRange})  ${v.delta >= 0 ? '+' : ''}${v.delta}${unit} (${v.deltaRange})`,
    );
  };
  r('start-up warm, 1,131 modules', ' ms', row.startWarm);
  r('  CPU (user + system)', ' ms', row.startWarmCpu);
  r('start-up warm, 1,131 modules: instructions', ' M', row.startWarmInstructions);
  r('start-up cold (new release), 1,131 modules', ' ms', row.startCold);
  r('  CPU (user + system)', ' ms', row.startColdCpu);
  r('start-up cold, 1,131 modules: instructions', ' M', row.startColdInstructions);
  r('small app (express + fastify, listen, exit)', ' ms', row.smallApp);
  r('  CPU (user + system)', ' ms', row.smallAppCpu);
  r('small app: instructions to exit', ' M', row.smallAppInstructions);
  r('small app peak RSS', ' MiB', row.smallAppPeakRss);
  r('empty script', ' ms', row.empty);
  r('  CPU (user + system)', ' ms', row.emptyCpu);
  r('empty script: instructions to exit', ' M', row.emptyInstructions);
  r('empty script peak RSS', ' MiB', row.emptyPeakRss);
  r('RSS at listening, 1,131 modules', ' MiB', row.rssAtListening);
  for (const fw of ['express', 'fastify'] as const) {
    const c = row[fw] as { cpuPerRequest: Row; requestsPerSecond: Row } | undefined;
    r(`CPU per request, ${fw}`, ' µs', c?.cpuPerRequest);
    r(`requests per second, ${fw}`, '', c?.requestsPerSecond);
  }
  for (const [name, key] of [
    ['redirect', 'applyRedirect'],
    ['LiveEdit', 'applyLiveEdit'],
  ] as const) {
    const a = row[key] as Record<string, number | string> | undefined;
    if (a)
      lines.push(
        `  apply, ${name} (${a.loadedModules} modules)`.padEnd(46) +
          ` stall median ${a.stallMedianMs} ms (${a.stallRange}); no apply (control) median ${a.idleMedianMs} ms, max ${a.idleMaxMs} ms; latency median ${a.applyMedianMs} ms, max ${a.applyMaxMs} ms` +
          (a.busyMedianMs === undefined
            ? ''
            : `\n${''.padEnd(46)} thread CPU between ticks: median ${a.busyMedianMs} ms, max ${a.busyMaxMs} ms; control median ${a.idleBusyMedianMs} ms, max ${a.idleBusyMaxMs} ms; in the window: median ${a.cpuMedianMs} ms, control ${a.idleCpuMedianMs} ms`),
      );
  }
  console.log(lines.join('\n'));
}

/** The exact Node version of a binary (BENCHMARKS.md records it with each figure). */
function versionOf(bin: string): string {
  return execFileSync(bin, ['--version']).toString().trim();
}

function machine(): string {
  return `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${round(os.totalmem() / 2 ** 30, 0)} GiB, ${os.type()} ${os.release()}`;
}
main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);

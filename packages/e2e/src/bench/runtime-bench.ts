/**
 * Runtime benchmarks (issue 3). Prints a table and writes .cache/bench/runtime.json.
 *   node packages/e2e/dist/bench/runtime-bench.js [--quick]
 * 1. apply latency and the longest event-loop stall while applying, app with >= 1,000 modules;
 * 2. Express throughput and p99 under autocannon, with vs without the runtime (ratio, same run);
 * 3. start-up time and memory, with vs without the runtime.
 * On the machine's Node 20 (LiveEdit engine) and Node 26 (redirect engine).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSigningKey } from '@hotpatch/core';
import { applyTo, revertIn } from '@hotpatch/runtime';
import autocannon from 'autocannon';
import { advisoryOf, buildSigned, cacheDir, installApp } from '../testing/advisories.js';
import { nodeBinaries } from '../testing/nodes.js';
import { registerFile } from '../testing/processes.js';

const quick = process.argv.includes('--quick');
const onlyNode = process.argv.includes('--node')
  ? Number(process.argv[process.argv.indexOf('--node') + 1])
  : null;
const onlyThroughput = process.argv.includes('--throughput-only');
const MODULES = 1000;
const appFile = fileURLToPath(new URL('./app.js', import.meta.url));
const home = mkdtempSync(join(tmpdir(), 'hotpatch-bench-'));
process.env.HOTPATCH_HOME = home;
const key = generateSigningKey();
const keyFile = join(home, 'k.pub');
writeFileSync(keyFile, key.publicKeyPem);

function prepareApp(): string {
  const dir = installApp('express', '4.19.2');
  mkdirSync(join(dir, 'gen'), { recursive: true });
  for (let i = 0; i < MODULES; i++) {
    writeFileSync(
      join(dir, 'gen', `m${i}.js`),
      `'use strict';\nconst base = ${i};\nfunction helper(x) { return x * 2 + base; }\nfunction f(x) {\n  let s = 0;\n  for (let k = 0; k < 3; k++) s += helper(x + k);\n  return s % 97;\n}\nclass Thing${i} { constructor(v) { this.v = v; } get double() { return this.v * 2; } }\nmodule.exports = { f, helper, Thing${i} };\n`,
    );
  }
  return dir;
}

interface Started {
  child: ChildProcess;
  port: number;
  startMs: number;
  uptimeMs: number;
  rss: number;
  modules: number;
}

function start(node: string, dir: string, withRuntime: boolean, service: string): Promise<Started> {
  const child = spawn(node, [...(withRuntime ? ['--import', registerFile] : []), appFile], {
    env: {
      ...process.env,
      BENCH_APP_DIR: dir,
      BENCH_MODULES: String(MODULES),
      HOTPATCH_HOME: home,
      HOTPATCH_TRUSTED_KEYS: keyFile,
      HOTPATCH_SERVICE: service,
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (c) => reject(new Error(`bench app exited ${c}`)));
    child.once('message', (m: Omit<Started, 'child'>) => resolve({ child, ...m }));
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

async function stop(child: ChildProcess): Promise<void> {
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await done;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

async function main(): Promise<void> {
  const dir = prepareApp();
  const bundle = (await buildSigned(advisoryOf('express@4.19.2'), key)).bytes;
  if (bundle.length === 0) throw new Error('express bundle did not build');
  const nodes = nodeBinaries().filter((n) =>
    onlyNode ? n.major === onlyNode : n.major === 20 || n.major === 26,
  );
  const results: Record<string, unknown> = { machine: machine(), modules: MODULES };

  for (const node of nodes) {
    const tag = `node${node.major}`;
    // 1. apply latency and event-loop stall
    if (!onlyThroughput) {
      const app = await start(node.bin, dir, true, `bench-${tag}`);
      const applyMs: number[] = [];
      const stallMs: number[] = [];
      const patchId = JSON.parse(bundle.toString()).payload.patchId as string;
      for (let i = 0; i < (quick ? 3 : 10); i++) {
        await ask(app.child, 'gap-reset');
        const t0 = performance.now();
        const res = await applyTo(app.child.pid!, bundle);
        applyMs.push(performance.now() - t0);
        if (res.state !== 'applied') throw new Error(`apply: ${res.state} ${res.reason ?? ''}`);
        await new Promise((r) => setTimeout(r, 20));
        stallMs.push((await ask(app.child, 'gap-read')).maxGap!);
        await revertIn(app.child.pid!, patchId);
      }
      await stop(app.child);
      results[`${tag}.apply`] = {
        loadedModules: app.modules,
        applyMedianMs: round(median(applyMs)),
        applyMaxMs: round(Math.max(...applyMs)),
        stallMedianMs: round(median(stallMs)),
        stallMaxMs: round(Math.max(...stallMs)),
      };
      console.log(
        `${tag} apply (express/lib/response.js, ${app.modules} modules loaded):`,
        results[`${tag}.apply`],
      );
    }

    // 2. throughput with vs without: both services up and warm, measured in alternating short
    // windows so that the machine's drift hits both alike; the figure is the median of the
    // per-pair ratios.
    const pairs = quick ? 3 : 8;
    const duration = quick ? 2 : 4;
    const without = await start(node.bin, dir, false, `bench-${tag}-load`);
    const withRt = await start(node.bin, dir, true, `bench-${tag}-load`);
    const fire = (port: number, seconds: number) =>
      autocannon({ url: `http://127.0.0.1:${port}/`, connections: 20, duration: seconds });
    await fire(without.port, 2);
    await fire(withRt.port, 2);
    const ratios: number[] = [];
    const cpuPerRequest = { with: [] as number[], without: [] as number[] };
    const tput = {
      with: { rps: [] as number[], p99: [] as number[] },
      without: { rps: [] as number[], p99: [] as number[] },
    };
    for (let r = 0; r < pairs; r++) {
      const order = r % 2 === 0 ? (['without', 'with'] as const) : (['with', 'without'] as const);
      const pair: Record<string, number> = {};
      for (const mode of order) {
        const target = mode === 'with' ? withRt : without;
        const cpu0 = (await ask(target.child, 'cpu')).micros!;
        const out = await fire(target.port, duration);
        const cpu1 = (await ask(target.child, 'cpu')).micros!;
        tput[mode].rps.push(out.requests.average);
        tput[mode].p99.push(out.latency.p99);
        // CPU time the service spent per request: steadier than wall-clock rates on a shared machine.
        cpuPerRequest[mode].push((cpu1 - cpu0) / Math.max(1, out.requests.total));
        pair[mode] = out.requests.average;
      }
      ratios.push(pair.with! / pair.without!);
    }
    await stop(without.child);
    await stop(withRt.child);
    results[`${tag}.throughput`] = {
      rpsWithout: round(median(tput.without.rps), 0),
      rpsWith: round(median(tput.with.rps), 0),
      ratio: round(median(ratios), 3),
      ratioMin: round(Math.min(...ratios), 3),
      ratioMax: round(Math.max(...ratios), 3),
      p99WithoutMs: median(tput.without.p99),
      p99WithMs: median(tput.with.p99),
      cpuMicrosPerRequestWithout: round(median(cpuPerRequest.without)),
      cpuMicrosPerRequestWith: round(median(cpuPerRequest.with)),
      cpuRatio: round(median(cpuPerRequest.with) / median(cpuPerRequest.without), 3),
    };
    console.log(`${tag} throughput:`, results[`${tag}.throughput`]);

    if (onlyThroughput) continue;
    // 3. start-up and memory
    const st: Record<'with' | 'without', { ms: number[]; rss: number[] }> = {
      with: { ms: [], rss: [] },
      without: { ms: [], rss: [] },
    };
    for (let r = 0; r < (quick ? 2 : 5); r++) {
      for (const mode of ['without', 'with'] as const) {
        const s = await start(node.bin, dir, mode === 'with', `bench-${tag}-start`);
        st[mode].ms.push(s.uptimeMs);
        st[mode].rss.push(s.rss);
        await stop(s.child);
      }
    }
    results[`${tag}.startup`] = {
      startWithoutMs: round(median(st.without.ms), 0),
      startWithMs: round(median(st.with.ms), 0),
      startRatio: round(median(st.with.ms) / median(st.without.ms), 2),
      rssWithoutMiB: round(median(st.without.rss) / 2 ** 20),
      rssWithMiB: round(median(st.with.rss) / 2 ** 20),
    };
    console.log(
      `${tag} start-up (process start to listening, ${MODULES}+ modules):`,
      results[`${tag}.startup`],
    );
  }
  writeFileSync(join(cacheDir('bench'), 'runtime.json'), `${JSON.stringify(results, null, 2)}\n`);
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

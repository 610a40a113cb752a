/**
 * The benchmark service: Express (or Fastify, BENCH_FRAMEWORK=fastify) plus N generated modules
 * (to reach a realistic module count), reporting over IPC its start-up time, memory, CPU time and
 * the longest event-loop stall in a window.
 */
import inspector = require('node:inspector');
import nodeModule = require('node:module');
import nodeOs = require('node:os');
import nodePath = require('node:path');

const dir = process.env.BENCH_APP_DIR!;
const t0 = performance.now();
const req = nodeModule.createRequire(nodePath.join(dir, 'noop.js'));
const count = Number(process.env.BENCH_MODULES ?? '0');
let sum = 0;
for (let i = 0; i < count; i++) sum += (req(`./gen/m${i}.js`) as { f: (x: number) => number }).f(i);
const body = () => ({ ok: true, items: Array.from({ length: 20 }, (_, i) => ({ i, s: `item-${i}` })), sum });

// Event-loop stall: the longest gap between 1 ms timer ticks since the last reset; and, where
// Node measures a thread's own CPU time (22+), the most CPU this thread spent between two ticks:
// what the loop ran, without the time the machine's other work held the CPU.
const threadCpu = (process as { threadCpuUsage?: () => NodeJS.CpuUsage }).threadCpuUsage;
const cpuNow = () => {
  const u = threadCpu?.call(process);
  return u ? (u.user + u.system) / 1000 : Number.NaN;
};
let last = performance.now();
let lastCpu = cpuNow();
let maxGap = 0;
let maxBusy = 0;
let windowCpu = cpuNow();
// BENCH_NO_TICK: no 1 ms timer (instruction counts per request must not depend on wall time).
const ticker = setInterval(() => {
  const now = performance.now();
  const cpu = cpuNow();
  maxGap = Math.max(maxGap, now - last);
  maxBusy = Math.max(maxBusy, cpu - lastCpu);
  last = now;
  lastCpu = cpu;
}, 1).unref();
if (process.env.BENCH_NO_TICK) clearInterval(ticker);

function ready(port: number): void {
  // Under callgrind (runtime-bench --measure instructions): a dump of everything up to listening.
  if (process.env.BENCH_MARK_READY) nodeOs.getPriority();
  const cpu = process.cpuUsage();
  process.send?.({
    ready: true,
    port,
    startMs: performance.now() - t0,
    uptimeMs: process.uptime() * 1000,
    // The process's CPU (all its threads) up to listening: the machine's load inflates it less than wall time.
    cpuMs: (cpu.user + cpu.system) / 1000,
    rss: process.memoryUsage().rss,
    modules: Object.keys(req.cache).length,
  });
}

if (process.env.BENCH_FRAMEWORK === 'fastify') {
  type Fastify = (opts?: object) => {
    get(path: string, handler: () => Promise<unknown>): void;
    listen(opts: { port: number; host: string }): Promise<string>;
    server: { address(): { port: number } };
  };
  const app = (req('fastify') as Fastify)();
  app.get('/', async () => body());
  void app.listen({ port: 0, host: '127.0.0.1' }).then(() => ready(app.server.address().port));
} else {
  const express = req('express') as typeof import('express');
  const app = express();
  app.get('/', (_req, res) => {
    res.json(body());
  });
  const server = app.listen(0, '127.0.0.1', () => ready((server.address() as { port: number }).port));
}

process.on('message', (m: { op: string }) => {
  if (m.op === 'gap-reset') {
    maxGap = 0;
    maxBusy = 0;
    last = performance.now();
    lastCpu = cpuNow();
    windowCpu = lastCpu;
    process.send?.({ op: 'gap-reset' });
  } else if (m.op === 'gap-read')
    process.send?.({
      op: 'gap-read',
      maxGap,
      maxBusy,
      threadCpu: cpuNow() - windowCpu,
      rss: process.memoryUsage().rss,
    });
  else if (m.op === 'cpu') {
    const u = process.cpuUsage();
    process.send?.({ op: 'cpu', micros: u.user + u.system });
  } else if (m.op === 'mark') {
    // Under callgrind --dump-before=uv_os_getpriority (cpu-instructions.ts): a dump of the
    // instructions counted since the previous mark. A full GC first (with --expose-gc), so that
    // every window starts from the same heap and a major GC does not land in one window only.
    (globalThis as { gc?: () => void }).gc?.();
    nodeOs.getPriority();
    process.send?.({ op: 'mark' });
  } else if (m.op === 'calls-start' || m.op === 'calls-take') {
    process.send?.({ op: m.op, calls: appCalls(m.op === 'calls-start') });
  } else if (m.op === 'exit') process.exit(0);
});

/**
 * Calls of the app's own functions (the app dir: its packages and generated modules) since the
 * previous take, by V8's precise coverage: each is a guarded call when the runtime instruments
 * the app (guarded-calls.ts). Counted per function as `package function`.
 */
let session: inspector.Session | null = null;
function appCalls(start: boolean): Record<string, number> {
  if (start) {
    session = new inspector.Session();
    session.connect();
    session.post('Profiler.enable');
    session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: false });
  }
  const out: Record<string, number> = {};
  // The in-process session answers synchronously.
  session?.post('Profiler.takePreciseCoverage', (err, res) => {
    if (err) throw err;
    for (const script of res.result) {
      if (!script.url.includes(dir)) continue;
      const pkg = /.*node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(script.url)?.[1] ?? 'gen';
      for (const f of script.functions) {
        const count = f.ranges[0]?.count ?? 0;
        if (count === 0) continue;
        const key = `${pkg} ${f.functionName || '(anonymous)'}@${f.ranges[0]!.startOffset}`;
        out[key] = (out[key] ?? 0) + count;
      }
    }
  });
  return out;
}

/**
 * How many guarded calls a request makes (issue 10): the benchmark services (app.cts) run without
 * the runtime, and V8's precise coverage counts the calls of the app's own functions (its packages
 * and generated modules) over N requests after a warm-up. Under the runtime each of these calls
 * runs a guard: with the instructions a guard costs (guard-cost.ts), this bounds what the guards
 * can add to a request. Counts do not depend on the machine's load.
 *   node packages/e2e/dist/bench/guarded-calls.js [--requests 1000] [--top 15]
 */
import { spawn } from 'node:child_process';
import autocannon from 'autocannon';
import { appFile, prepareApp } from './bench-app.js';

const arg = (name: string, def: string) =>
  process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1]! : def;
const requests = Number(arg('--requests', '1000'));
const top = Number(arg('--top', '15'));

async function count(framework: 'express' | 'fastify', dir: string): Promise<Record<string, number>> {
  const child = spawn(process.execPath, [appFile], {
    env: {
      ...process.env,
      BENCH_APP_DIR: dir,
      BENCH_MODULES: '0',
      BENCH_FRAMEWORK: framework,
      BENCH_NO_TICK: '1',
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ask = (op: string) =>
    new Promise<Record<string, number>>((resolve) => {
      const on = (m: { op?: string; calls: Record<string, number> }) => {
        if (m.op !== op) return;
        child.off('message', on);
        resolve(m.calls);
      };
      child.on('message', on);
      child.send({ op });
    });
  const port = await new Promise<number>((r) => child.once('message', (m: { port: number }) => r(m.port)));
  const fire = (amount: number) => autocannon({ url: `http://127.0.0.1:${port}/`, connections: 1, amount });
  await fire(500);
  await ask('calls-start');
  await fire(requests);
  const calls = await ask('calls-take');
  child.send({ op: 'exit' });
  return calls;
}

async function main(): Promise<void> {
  const dir = prepareApp();
  for (const framework of ['express', 'fastify'] as const) {
    const calls = Object.entries(await count(framework, dir)).sort((a, b) => b[1] - a[1]);
    const total = calls.reduce((s, [, n]) => s + n, 0);
    const byPackage = new Map<string, number>();
    for (const [k, n] of calls) byPackage.set(k.split(' ')[0]!, (byPackage.get(k.split(' ')[0]!) ?? 0) + n);
    const per = (n: number) => (n / requests).toFixed(1);
    console.log(
      `${framework}: ${per(total)} calls of the app's functions per request (${requests} requests)`,
    );
    console.log(
      `  by package: ${[...byPackage]
        .sort((a, b) => b[1] - a[1])
        .map(([p, n]) => `${p} ${per(n)}`)
        .join(', ')}`,
    );
    for (const [k, n] of calls.slice(0, top)) console.log(`  ${per(n).padStart(6)}  ${k}`);
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);

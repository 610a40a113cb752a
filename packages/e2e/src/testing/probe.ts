/**
 * A long-running test process: started under the runtime, it loads a real package from an
 * install directory and runs exploit checks on request (over the IPC channel), so a test can
 * show the exploit, patch the process in memory, and show it gone, same pid.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';

type Load = (spec: string) => unknown;
type Import = (spec: string) => Promise<unknown>;
interface Check {
  exploit(load: Load, imp: Import): Promise<boolean> | boolean;
  normal(load: Load, imp: Import): Promise<boolean> | boolean;
}

const requireHere = createRequire(import.meta.url);
// corpus/exploits/lib/load.cjs: require() and import() from the install directory, as run-check.cjs.
const loadLib = requireHere('../../../../corpus/exploits/lib/load.cjs') as {
  loaders(dir: string): { load: Load; imp: Import };
};

type Message =
  | { id: number; op: 'check'; check: string; dir: string; inWorker?: boolean }
  | { id: number; op: 'exit' };

async function runCheck(m: Extract<Message, { op: 'check' }>): Promise<Record<string, unknown>> {
  try {
    const check = requireHere(m.check) as Check;
    const { load, imp } = loadLib.loaders(m.dir);
    const t0 = performance.now();
    const exploit = await check.exploit(load, imp);
    const normal = await check.normal(load, imp);
    return {
      id: m.id,
      exploit,
      normal,
      ms: Math.round(performance.now() - t0),
      pid: process.pid,
      main: isMainThread,
    };
  } catch (e) {
    return { id: m.id, error: (e as Error).stack ?? String(e) };
  }
}

if (isMainThread) {
  // Checks run here, or in a worker thread of this process (started on first use).
  let worker: Worker | null = null;
  const inWorker = (m: Extract<Message, { op: 'check' }>) =>
    new Promise<Record<string, unknown>>((resolve) => {
      worker ??= new Worker(fileURLToPath(import.meta.url));
      const on = (r: Record<string, unknown>) => {
        if (r.id !== m.id) return;
        worker?.off('message', on);
        resolve(r);
      };
      worker.on('message', on);
      worker.postMessage(m);
    });
  process.on('message', async (m: Message) => {
    if (m.op === 'exit') process.exit(0);
    process.send?.(m.inWorker ? await inWorker(m) : await runCheck(m));
  });
  process.send?.({ ready: true, pid: process.pid });
} else {
  parentPort?.on('message', async (m: Extract<Message, { op: 'check' }>) =>
    parentPort?.postMessage(await runCheck(m)),
  );
}

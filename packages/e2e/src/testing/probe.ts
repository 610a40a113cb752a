/**
 * A long-running test process: started under the runtime, it loads a real package from an
 * install directory and runs exploit checks on request (over the IPC channel), so a test can
 * show the exploit, patch the process in memory, and show it gone, same pid.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';

interface Check {
  exploit(load: (spec: string) => unknown): Promise<boolean> | boolean;
  normal(load: (spec: string) => unknown): Promise<boolean> | boolean;
}

type Message = { id: number; op: 'check'; check: string; dir: string } | { id: number; op: 'exit' };

const send = (m: unknown) => process.send?.(m);

process.on('message', async (m: Message) => {
  if (m.op === 'exit') process.exit(0);
  try {
    const req = createRequire(join(m.dir, 'noop.js'));
    const check = createRequire(import.meta.url)(m.check) as Check;
    const load = (spec: string) => req(spec);
    const t0 = performance.now();
    const exploit = await check.exploit(load);
    const normal = await check.normal(load);
    send({ id: m.id, exploit, normal, ms: Math.round(performance.now() - t0), pid: process.pid });
  } catch (e) {
    send({ id: m.id, error: (e as Error).stack ?? String(e) });
  }
});
send({ ready: true, pid: process.pid });

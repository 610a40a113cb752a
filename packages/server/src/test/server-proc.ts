import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ServerOptions } from '../server.js';

const main = fileURLToPath(new URL('./server-main.js', import.meta.url));

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** kill -9: no shutdown code runs. */
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a server in a child process (so a test can kill -9 it) and waits until it listens. */
export async function spawnServer(opts: ServerOptions & Record<string, unknown>): Promise<ServerProcess> {
  const child = spawn(process.execPath, [main], {
    env: { ...process.env, HOTPATCH_TEST_SERVER_OPTS: JSON.stringify(opts) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += String(d);
    if (process.env.HOTPATCH_TEST_VERBOSE) process.stderr.write(`[server] ${d}`);
  });
  const url = await new Promise<string>((resolve, reject) => {
    // A server that never listens is killed: it would outlive the test run.
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start in 90 s: ${err}`));
    }, 90_000);
    child.stdout?.on('data', (d: Buffer) => {
      const m = /URL (\S+)/.exec(String(d));
      if (m) {
        clearTimeout(t);
        resolve(m[1] as string);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`server exited ${code}: ${err}`));
    });
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    url,
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

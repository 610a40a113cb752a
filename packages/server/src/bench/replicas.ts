/**
 * Control plane replicas for the fleet benchmark: each a server in its own process (so that one
 * can be killed with SIGKILL), on PGlite (one replica) or sharing one PostgreSQL schema. Each
 * answers a `mem` IPC message with its heap (after a forced GC) and RSS.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Replica {
  child: ChildProcess;
  url: string;
  /** Token files written by the replica that bootstrapped the database (the first one). */
  admin: string | null;
  enroll: string | null;
  memory(): Promise<{ heapUsed: number; rss: number }>;
  kill9(): void;
  stop(): Promise<void>;
}

export async function startReplica(opts: {
  dir: string;
  trustedKeys: string[];
  databaseUrl?: string;
  schema?: string;
}): Promise<Replica> {
  const serverJs = fileURLToPath(new URL('../index.js', import.meta.url));
  const config = {
    dataDir: join(opts.dir, 'data'),
    port: 0,
    trustedKeys: opts.trustedKeys,
    ...(opts.databaseUrl ? { databaseUrl: opts.databaseUrl, databaseSchema: opts.schema } : {}),
  };
  const code = `
    import { createServer } from ${JSON.stringify(serverJs)};
    const s = await createServer(${JSON.stringify(config)});
    console.log(JSON.stringify({ url: s.url, admin: s.bootstrap.adminTokenFile ?? null, enroll: s.bootstrap.enrollTokenFile ?? null }));
    process.on('SIGTERM', () => s.close().then(() => process.exit(0)));
    process.on('disconnect', () => process.exit(0));
    process.on('message', () => { globalThis.gc?.(); const m = process.memoryUsage(); process.send({ heapUsed: m.heapUsed, rss: m.rss }); });
  `;
  const prof = process.env.HOTPATCH_BENCH_CPU_PROF
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.HOTPATCH_BENCH_CPU_PROF}`]
    : [];
  const child = spawn(process.execPath, ['--expose-gc', ...prof, '--input-type=module', '-e', code], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const info = await new Promise<{ url: string; admin: string | null; enroll: string | null }>(
    (resolve, reject) => {
      child.stdout?.once('data', (d: Buffer) => resolve(JSON.parse(String(d))));
      child.once('exit', (code) => reject(new Error(`replica exited (${code}) before listening`)));
    },
  );
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    ...info,
    memory: () =>
      new Promise((resolve) => {
        child.once('message', (m) => resolve(m as { heapUsed: number; rss: number }));
        child.send('mem');
      }),
    kill9: () => child.kill('SIGKILL'),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Control plane replicas for the fleet benchmark: each a server in its own process group (so that
 * one can be killed with SIGKILL, workers and all), on PGlite (one replica) or sharing one
 * PostgreSQL schema; with `workers` > 1 a replica is `hotpatch server --workers N` (cluster.ts).
 * Each answers a `mem` IPC message with its heap (after a forced GC; one process only) and RSS
 * (all its processes).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Replica {
  child: ChildProcess;
  url: string;
  /** Token files written by the replica that bootstrapped the database (the first one). */
  admin: string | null;
  enroll: string | null;
  /** heapUsed: null with several workers (each has its own heap). */
  memory(): Promise<{ heapUsed: number | null; rss: number }>;
  kill9(): void;
  stop(): Promise<void>;
}

export async function startReplica(opts: {
  dir: string;
  trustedKeys: string[];
  databaseUrl?: string;
  schema?: string;
  workers?: number;
  /** Where the replica's log (JSON lines) goes; none without it. */
  logFile?: string;
  logLevel?: string;
}): Promise<Replica> {
  const serverJs = fileURLToPath(new URL('../index.js', import.meta.url));
  const workers = opts.workers ?? 1;
  const config = {
    dataDir: join(opts.dir, 'data'),
    port: 0,
    trustedKeys: opts.trustedKeys,
    ...(opts.databaseUrl ? { databaseUrl: opts.databaseUrl, databaseSchema: opts.schema } : {}),
    ...(opts.logFile ? { logger: { level: opts.logLevel ?? 'info' } } : {}),
  };
  const code = `
    import { readFileSync } from 'node:fs';
    import { createServer, startCluster } from ${JSON.stringify(serverJs)};
    const config = ${JSON.stringify(config)};
    const s = ${workers} > 1 ? await startCluster(config, ${workers}, (l) => console.error(l)) : await createServer(config);
    console.log(JSON.stringify({ url: s.url, admin: s.bootstrap.adminTokenFile ?? null, enroll: s.bootstrap.enrollTokenFile ?? null }));
    process.on('SIGTERM', () => s.close().then(() => process.exit(0)));
    process.on('disconnect', () => process.exit(0));
    const rss = (pid) => Number(/VmRSS:\\s+(\\d+)/.exec(readFileSync('/proc/' + pid + '/status', 'utf8'))?.[1] ?? 0) * 1024;
    process.on('message', () => {
      globalThis.gc?.();
      const pids = [process.pid, ...(s.pids?.() ?? [])];
      process.send({ heapUsed: s.pids ? null : process.memoryUsage().heapUsed, rss: pids.reduce((a, p) => a + rss(p), 0) });
    });
  `;
  const prof = process.env.HOTPATCH_BENCH_CPU_PROF
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.HOTPATCH_BENCH_CPU_PROF}`]
    : [];
  const child = spawn(process.execPath, ['--expose-gc', ...prof, '--input-type=module', '-e', code], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    detached: true, // its own process group: kill9 takes the workers too
  });
  // stdout carries the replica's address (one JSON line without a level), then its log lines.
  const log = opts.logFile ? createWriteStream(opts.logFile) : null;
  const info = await new Promise<{ url: string; admin: string | null; enroll: string | null }>(
    (resolve, reject) => {
      let rest = '';
      child.stdout?.on('data', (d: Buffer) => {
        log?.write(d);
        const lines = (rest + String(d)).split('\n');
        rest = lines.pop() ?? '';
        for (const l of lines) if (l.startsWith('{"url"')) resolve(JSON.parse(l));
      });
      child.once('exit', (code) => reject(new Error(`replica exited (${code}) before listening`)));
    },
  );
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    ...info,
    memory: () =>
      new Promise((resolve) => {
        child.once('message', (m) => resolve(m as { heapUsed: number | null; rss: number }));
        child.send('mem');
      }),
    kill9: () => process.kill(-(child.pid as number), 'SIGKILL'),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * `hotpatch server --workers N`: N server processes behind one port (node:cluster; the primary
 * accepts each connection and hands it to the workers in turn). Each worker is a full replica of
 * the fleet protocol (its own pool, heartbeat and LISTEN/NOTIFY on the shared PostgreSQL), so a
 * host uses all its cores, and one listening port holds more device connections than one process
 * may open files (`ulimit -n`). The primary holds no state: it starts the workers (the first one
 * alone, so that it creates the schema and the first tokens), replaces a worker that dies, and on
 * close stops them all. If the primary is killed, the workers exit (node:cluster's disconnect).
 */
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { BootstrapResult } from './bootstrap.js';
import type { ServerOptions } from './server.js';

export interface ClusterServer {
  url: string;
  bootstrap: BootstrapResult;
  /** Process ids of the running workers. */
  pids(): number[];
  close(): Promise<void>;
}

/** What a worker sends the primary once it listens (or why it could not start). */
export type WorkerReport =
  | { hotpatchWorker: 'ready'; url: string; bootstrap: BootstrapResult }
  | { hotpatchWorker: 'failed'; error: string };

const WORKER_JS = fileURLToPath(new URL('./cluster-worker.js', import.meta.url));

/** Pool per worker: about the single process's 10 connections in all, at least 3 each. */
export function workerPoolSize(workers: number, requested?: number): number {
  return requested ?? Math.max(3, Math.ceil(10 / workers));
}

/** The primary's node flags minus code to evaluate (a primary started with -e would run it again). */
export function workerExecArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (['-e', '--eval', '-p', '--print'].includes(a)) i++;
    else if (!/^(--eval=|--print=|--input-type)/.test(a)) out.push(a);
  }
  return out;
}

function started(w: Worker): Promise<{ url: string; bootstrap: BootstrapResult }> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null, signal: string | null) =>
      reject(new Error(`worker ${w.process.pid} exited (${signal ?? code}) before listening`));
    w.once('exit', onExit);
    w.on('message', function onMessage(m: WorkerReport) {
      if (typeof m !== 'object' || m === null || !('hotpatchWorker' in m)) return;
      w.off('message', onMessage);
      w.off('exit', onExit);
      if (m.hotpatchWorker === 'ready') resolve({ url: m.url, bootstrap: m.bootstrap });
      else reject(new Error(m.error));
    });
  });
}

export async function startCluster(
  opts: ServerOptions,
  workers: number,
  log: (line: string) => void,
): Promise<ClusterServer> {
  if (!cluster.isPrimary) throw new Error('startCluster runs in the primary process');
  if (!Number.isInteger(workers) || workers < 1)
    throw new Error(`workers: expected a positive integer, got ${workers}`);
  if (!opts.databaseUrl)
    throw new Error('several workers need PostgreSQL (--database-url): embedded PGlite is one process');
  const workerOpts: ServerOptions = {
    ...opts,
    databasePoolSize: workerPoolSize(workers, opts.databasePoolSize),
  };
  cluster.setupPrimary({ exec: WORKER_JS, args: [], execArgv: workerExecArgv(process.execArgv) });
  const env = { HOTPATCH_WORKER_OPTS: JSON.stringify(workerOpts) };
  let closing = false;
  const fork = () => {
    const w = cluster.fork(env);
    w.once('exit', (code, signal) => {
      if (closing) return;
      // A crashed worker's devices reconnect to the others; a new worker takes its share again.
      log(`hotpatch server: worker ${w.process.pid} exited (${signal ?? code}), starting another`);
      setTimeout(
        () => !closing && started(fork()).catch((e: Error) => log(`hotpatch server: ${e.message}`)),
        1000,
      );
    });
    return w;
  };
  const stopAll = async () => {
    closing = true;
    const live = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && !w.isDead());
    await Promise.all(
      live.map(
        (w) =>
          new Promise<void>((resolve) => {
            w.once('exit', () => resolve());
            w.process.kill('SIGTERM');
          }),
      ),
    );
  };
  try {
    const first = await started(fork());
    await Promise.all(Array.from({ length: workers - 1 }, () => started(fork())));
    return {
      url: first.url,
      bootstrap: first.bootstrap,
      pids: () =>
        Object.values(cluster.workers ?? {})
          .filter((w): w is Worker => !!w && !w.isDead())
          .map((w) => w.process.pid as number),
      close: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

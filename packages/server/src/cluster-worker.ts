/**
 * One worker of `hotpatch server --workers N` (cluster.ts): a full server on the port the primary
 * shares, options as JSON in HOTPATCH_WORKER_OPTS; reports `ready` (or `failed`) to the primary and
 * closes cleanly on SIGTERM or SIGINT.
 */
import type { WorkerReport } from './cluster.js';
import { createServer, type ServerOptions } from './server.js';

const send = (m: WorkerReport) => process.send?.(m);
const opts = JSON.parse(process.env.HOTPATCH_WORKER_OPTS ?? '{}') as ServerOptions;
try {
  const srv = await createServer(opts);
  const stop = () =>
    void srv.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  send({ hotpatchWorker: 'ready', url: srv.url, bootstrap: srv.bootstrap });
} catch (e) {
  // Exit once the report is sent (exiting at once may drop it).
  process.send?.({ hotpatchWorker: 'failed', error: (e as Error).message } satisfies WorkerReport, () =>
    process.exit(1),
  );
}

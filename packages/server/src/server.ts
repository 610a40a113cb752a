import { mkdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import websocket from '@fastify/websocket';
import type { CalendarOptions } from '@hotpatch/core';
import { HealthzResponse, LIMITS } from '@hotpatch/protocol';
import Fastify, { type FastifyInstance } from 'fastify';
import { AdvisorySync, type AdvisorySyncOptions } from './advisories/sync.js';
import { type BootstrapResult, bootstrap } from './bootstrap.js';
import { startCluster } from './cluster.js';
import type { Ctx } from './context.js';
import { openDatabase } from './db/open.js';
import type { Database } from './db/types.js';
import { Bus } from './fleet/bus.js';
import { HUB_DEFAULTS, Hub, type HubOptions } from './fleet/hub.js';
import { Liveness } from './fleet/liveness.js';
import { kickRefresh, stopRefresh } from './fleet/status-columns.js';
import { roleGuard } from './plugins/auth.js';
import { AuthFailures, installAuthAudit } from './plugins/auth-audit.js';
import { dashboardPlugin } from './plugins/dashboard.js';
import { installErrorHandler } from './plugins/errors.js';
import { installSecurityHeaders } from './plugins/headers.js';
import { installResponseCheck } from './plugins/response-check.js';
import { installValidation } from './plugins/validation.js';
import { advisoriesPlugin } from './routes/advisories.js';
import { bundlesPlugin } from './routes/bundles.js';
import { deploymentsPlugin } from './routes/deployments.js';
import { devicesPlugin } from './routes/devices.js';
import { enrollPlugin } from './routes/enroll.js';
import { eventsPlugin } from './routes/events.js';
import { metricsPlugin } from './routes/metrics.js';
import { policiesPlugin } from './routes/policies.js';
import { readinessPlugin } from './routes/readiness.js';
import { reportsPlugin } from './routes/reports.js';
import { retryPlugin } from './routes/retry.js';
import { tokensPlugin } from './routes/tokens.js';
import { vexPlugin } from './routes/vex.js';
import { newId } from './secrets.js';
import { loadTrust } from './trust.js';

export interface ServerOptions {
  /** Data directory: PGlite files (unless databaseUrl), the first admin and enrollment tokens. */
  dataDir: string;
  /** PostgreSQL URL; several replicas may share one database. */
  databaseUrl?: string;
  /** PostgreSQL schema (default: the connection's search_path). */
  databaseSchema?: string;
  /** Connections in the PostgreSQL pool (default 10; plus one for LISTEN). */
  databasePoolSize?: number;
  host?: string;
  port?: number;
  /** HTTPS: PEM file paths. */
  cert?: string;
  key?: string;
  /** Publisher public keys (PEM files or text) bundles must be signed with. */
  trustedKeys?: readonly string[];
  calendar?: CalendarOptions;
  /** How often connected devices are re-checked for due ring deferrals. */
  tickMs?: number;
  /** WebSocket ping period; a connection that misses one pong is dropped (default 30 s). */
  pingMs?: number;
  /** Replica heartbeat period; devices of a replica silent for three periods show disconnected (default 5 s). */
  heartbeatMs?: number;
  /** Per-device channel limits (defaults in HUB_DEFAULTS). */
  maxConnectionsPerDevice?: number;
  messageRate?: HubOptions['messages'];
  /** Largest WebSocket message a device may send (default LIMITS.messageBytes). */
  maxMessageBytes?: number;
  /** Largest HTTP body outside bundle uploads (default 1 MiB). */
  bodyLimit?: number;
  logger?: boolean | { level: string };
  /** Sync OSV advisories from this URL at start and then periodically. */
  advisorySync?: AdvisorySyncOptions;
  /** Check every JSON answer against its route's response schema (default: HOTPATCH_CHECK_RESPONSES=1). */
  checkResponses?: boolean;
}

export interface HotpatchServer {
  app: FastifyInstance;
  db: Database;
  /** Base URL once listening, e.g. http://127.0.0.1:4242. */
  url: string;
  bootstrap: BootstrapResult;
  /** The advisory sync, when configured (tests call syncNow). */
  advisorySync: AdvisorySync | null;
  close(): Promise<void>;
}

/** Starts the control plane: storage + migrations, first-start tokens, HTTP API, device WebSocket, scheduler. */
export async function createServer(opts: ServerOptions): Promise<HotpatchServer> {
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const db = await openDatabase(opts);
  const https = opts.cert && opts.key ? { cert: readFileSync(opts.cert), key: readFileSync(opts.key) } : null;
  const app = Fastify({
    logger: opts.logger ?? false,
    ...(https ? { https } : {}),
    forceCloseConnections: true,
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
  }) as unknown as FastifyInstance;
  let hub: Hub | null = null;
  let liveness: Liveness | null = null;
  let advisorySync: AdvisorySync | null = null;
  try {
    const boot = await bootstrap(db, opts.dataDir);
    const bus = new Bus(db);
    await bus.start();
    const replicaId = newId('rep_');
    liveness = new Liveness(db, replicaId, app.log, opts.heartbeatMs ?? 5_000, () => hub?.deviceIds() ?? []);
    await liveness.start();
    hub = new Hub(db, bus, app.log, replicaId, {
      tickMs: opts.tickMs ?? HUB_DEFAULTS.tickMs,
      pingMs: opts.pingMs ?? HUB_DEFAULTS.pingMs,
      maxConnectionsPerDevice: opts.maxConnectionsPerDevice ?? HUB_DEFAULTS.maxConnectionsPerDevice,
      messages: opts.messageRate ?? HUB_DEFAULTS.messages,
    });
    const ctx: Ctx = {
      db,
      bus,
      hub,
      trust: loadTrust(opts.trustedKeys ?? []),
      dataDir: opts.dataDir,
      calendar: opts.calendar ?? {},
      requireRole: roleGuard(db),
    };
    app.decorateRequest('actor', null);
    installErrorHandler(app);
    installValidation(app);
    if (opts.checkResponses ?? process.env.HOTPATCH_CHECK_RESPONSES === '1') installResponseCheck(app);
    installSecurityHeaders(app);
    const authFailures = new AuthFailures(db, app.log);
    installAuthAudit(app, authFailures);
    // Device status columns: computed now (after an upgrade, or rows written behind the server's
    // back), and after any API change (the change marked the devices it concerns stale), in the
    // background, so that the next read finds them current.
    const statusFailed = (e: Error) =>
      app.log.warn({ err: e.message.slice(0, 200) }, 'device status refresh failed');
    kickRefresh(db, statusFailed, 0);
    app.addHook('onResponse', async (req) => {
      if (req.method !== 'GET' && req.method !== 'HEAD') kickRefresh(db, statusFailed, 0);
    });
    await app.register(websocket, {
      options: { maxPayload: opts.maxMessageBytes ?? LIMITS.messageBytes, perMessageDeflate: false },
    });
    app.get('/healthz', { schema: { response: { 200: HealthzResponse } } }, async () => ({
      ok: true,
      storage: db.kind,
      devicesConnected: ctx.hub.connectedCount,
    }));
    await app.register(enrollPlugin(ctx));
    await app.register(tokensPlugin(ctx));
    await app.register(devicesPlugin(ctx));
    await app.register(bundlesPlugin(ctx));
    await app.register(policiesPlugin(ctx));
    await app.register(deploymentsPlugin(ctx));
    await app.register(reportsPlugin(ctx));
    await app.register(advisoriesPlugin(ctx));
    await app.register(readinessPlugin(ctx));
    await app.register(retryPlugin(ctx));
    await app.register(eventsPlugin(ctx));
    await app.register(metricsPlugin(ctx));
    await app.register(vexPlugin(ctx));
    await app.register(dashboardPlugin());
    hub.start();
    if (opts.advisorySync) {
      advisorySync = new AdvisorySync(db, app.log, opts.advisorySync);
      advisorySync.start();
    }
    // A killed replica's devices all reconnect here at once: a short accept queue (Node's 511)
    // drops their SYNs, and each waits out TCP's retransmit backoff (1, 3, 7, 15 s ...).
    await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 4242, backlog: 8192 });
    const addr = app.server.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    const url = `${https ? 'https' : 'http'}://${host}:${addr.port}`;
    let closing: Promise<void> | null = null;
    return {
      app,
      db,
      url,
      bootstrap: boot,
      advisorySync,
      close() {
        closing ??= (async () => {
          await advisorySync?.stop();
          await hub?.close();
          await liveness?.stop();
          await authFailures.flush();
          await app.close();
          await stopRefresh(db);
          await db.close();
        })();
        return closing;
      },
    };
  } catch (e) {
    // Start-up failed: release what was opened; the first error is the one reported.
    const log = (what: string) => (err: Error) => app.log.error({ err }, `${what} after a failed start`);
    await advisorySync?.stop().catch(log('stopping the advisory sync'));
    await hub?.close().catch(log('closing the hub'));
    await liveness?.stop().catch(log('stopping liveness'));
    await app.close().catch(log('closing the HTTP server'));
    await db.close().catch(log('closing the database'));
    throw e;
  }
}

/** A running control plane: one server, or the primary of several workers (`workers`). */
export interface RunningServer {
  url: string;
  bootstrap: BootstrapResult;
  close(): Promise<void>;
}

/**
 * Runs until SIGTERM/SIGINT, then closes cleanly (devices reconnect to another replica or later).
 * `workers` > 1: that many server processes behind one port (cluster.ts; PostgreSQL only).
 */
export async function runServer(
  opts: ServerOptions & { workers?: number },
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<RunningServer> {
  const { workers = 1, ...serverOpts } = opts;
  // The first start creates the embedded database (several seconds): say so instead of staying silent.
  log(
    `hotpatch server: starting (${opts.databaseUrl ? 'PostgreSQL' : `embedded PGlite in ${opts.dataDir}; the first start creates the database`}${workers > 1 ? `, ${workers} workers` : ''})…`,
  );
  const srv: RunningServer =
    workers > 1 ? await startCluster(serverOpts, workers, log) : await createServer(serverOpts);
  log(
    `hotpatch server listening on ${srv.url} (storage: ${opts.databaseUrl ? 'postgres' : `pglite in ${opts.dataDir}`}${workers > 1 ? `; ${workers} workers` : ''})`,
  );
  if (srv.bootstrap.adminTokenFile)
    log(`first start: admin API token written to ${srv.bootstrap.adminTokenFile}`);
  if (srv.bootstrap.enrollTokenFile)
    log(`first start: device enrollment token written to ${srv.bootstrap.enrollTokenFile}`);
  const stop = (signal: string) => {
    log(`hotpatch server: ${signal}, shutting down`);
    const t0 = Date.now();
    srv.close().then(
      () => {
        log(`hotpatch server: stopped in ${Date.now() - t0} ms`);
        process.exit(0);
      },
      (e: Error) => {
        log(`hotpatch server: shutdown failed: ${e.message}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  return srv;
}

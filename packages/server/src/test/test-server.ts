/**
 * One way tests boot a control plane: a fresh data directory, a free port, the fixture's
 * publisher key trusted, every answer checked against its route's response schema, the admin
 * token read and an API client on it. close() stops the server and removes what it created.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createServer, type HotpatchServer, type ServerOptions } from '../server.js';
import { client, fixture, freePort, readToken } from './fixture.js';

export interface TestServer {
  srv: HotpatchServer;
  url: string;
  dataDir: string;
  adminToken: string;
  /** The first admin and enrollment tokens ('' when dataDir was used before). */
  enrollToken: string;
  admin: ReturnType<typeof client>;
  close(): Promise<void>;
}

/** The PostgreSQL the tests use (trust auth, database test). */
export const TEST_DATABASE_URL =
  process.env.HOTPATCH_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A schema name no other test uses (the server creates it; dropSchema removes it). */
/** Short timers so that liveness rules show within a test (production defaults are seconds). */
export const tuning = { tickMs: 100, pingMs: 300, heartbeatMs: 300 };

export const freshSchema = (prefix = 'hp_test') => `${prefix}_${randomBytes(5).toString('hex')}`;

export async function dropSchema(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await c.end();
  }
}

/** storage 'postgres': a fresh schema on TEST_DATABASE_URL, dropped by close(). */
export async function startTestServer(
  opts: Partial<ServerOptions> & { storage?: 'pglite' | 'postgres' } = {},
): Promise<TestServer> {
  const { storage, ...rest } = opts;
  const schema = storage === 'postgres' && !opts.databaseSchema ? freshSchema() : undefined;
  if (storage === 'postgres') {
    rest.databaseUrl ??= TEST_DATABASE_URL;
    rest.databaseSchema ??= schema;
  }
  const owned = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'hotpatch-test-server-'));
  const srv = await createServer({
    port: await freePort(),
    trustedKeys: opts.trustedKeys ?? [fixture().publicKeyFile],
    tickMs: 200,
    checkResponses: true,
    ...rest,
    dataDir,
  });
  // A data directory used before has no new token files: the caller has its tokens.
  const adminToken = srv.bootstrap.adminTokenFile ? readToken(srv.bootstrap.adminTokenFile) : '';
  return {
    srv,
    url: srv.url,
    dataDir,
    adminToken,
    enrollToken: srv.bootstrap.enrollTokenFile ? readToken(srv.bootstrap.enrollTokenFile) : '',
    admin: client(srv.url, adminToken),
    async close() {
      await srv.close();
      if (schema) await dropSchema(schema);
      if (owned) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

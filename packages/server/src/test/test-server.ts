/**
 * One way tests boot a control plane: a fresh data directory, a free port, the fixture's
 * publisher key trusted, every answer checked against its route's response schema, the admin
 * token read and an API client on it. close() stops the server and removes what it created.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

export async function startTestServer(opts: Partial<ServerOptions> = {}): Promise<TestServer> {
  const owned = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'hotpatch-test-server-'));
  const srv = await createServer({
    port: await freePort(),
    trustedKeys: opts.trustedKeys ?? [fixture().publicKeyFile],
    tickMs: 200,
    checkResponses: true,
    ...opts,
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
      if (owned) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Fault and abuse tests of the control plane (issue 13), run on PGlite and on PostgreSQL
 * (faults.pglite.test.ts, faults.postgres.test.ts): real servers, real WebSocket clients speaking
 * the device protocol as a hostile or broken device would, real runtime processes where the test
 * is about the agent, and servers in child processes where the test kills them (kill -9). This
 * file holds the server they share; the tests are in faults-channel.ts, faults-clients.ts and
 * failover.ts (kill -9, last as before).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type WebSocket from 'ws';
import type { HotpatchServer, ServerOptions } from '../index.js';
import { deadServerFaults } from './failover.js';
import { channelFaults } from './faults-channel.js';
import { clientFaults } from './faults-clients.js';
import { type AppProcess, type client, type Fixture, fixture } from './fixture.js';
import type { ServerProcess } from './server-proc.js';
import { dropSchema, freshSchema, startTestServer, TEST_DATABASE_URL, tuning } from './test-server.js';

export type Storage = 'pglite' | 'postgres';

/** The server the fault tests share and what they clean up; srv, admin and the tokens are set before the first test. */
export interface FaultHarness {
  storage: Storage;
  fx: Fixture;
  base: string;
  sockets: WebSocket[];
  apps: AppProcess[];
  procs: ServerProcess[];
  srv: HotpatchServer;
  admin: ReturnType<typeof client>;
  adminToken: string;
  enrollToken: string;
  storageOpts(name: string): ServerOptions;
  /** A host name not used before in this suite. */
  host(what: string): string;
  /** A policy whose ring selects fleet=NAME and an enrollment token that gives that label. */
  canary(name: string, rollback: Record<string, number>): Promise<{ token: string }>;
  /** Deploys the fixture's patch to a policy; the deployment's id. */
  deploy(policy: string): Promise<string>;
  /** A device's state message for the fixture's patch. */
  state(id: string, s: string, extra?: Record<string, unknown>): Record<string, unknown>;
}

export function faultSuite(storage: Storage): void {
  const h = faultHarness(storage);
  channelFaults(h);
  clientFaults(h);
  deadServerFaults(h);
}

function faultHarness(storage: Storage): FaultHarness {
  const base = mkdtempSync(join(tmpdir(), `hotpatch-faults-${storage}-`));
  const schema = freshSchema('hp_faults');
  let n = 0;
  const h: FaultHarness = {
    storage,
    fx: fixture(),
    base,
    sockets: [],
    apps: [],
    procs: [],
    srv: undefined as unknown as HotpatchServer,
    admin: undefined as unknown as FaultHarness['admin'],
    adminToken: '',
    enrollToken: '',
    storageOpts: (name) =>
      storage === 'postgres'
        ? { dataDir: join(base, name), databaseUrl: TEST_DATABASE_URL, databaseSchema: schema }
        : { dataDir: join(base, name) },
    host: (what) => `${what}-${++n}`,
    async canary(name, rollback) {
      const p = await h.admin.post('/v1/policies', {
        name,
        allowHotpatch: true,
        rings: [{ name: 'all', selector: { fleet: name }, deferralDays: 0 }],
        rollback,
      });
      assert.equal(p.status, 201, JSON.stringify(p.json));
      const t = await h.admin.post('/v1/enroll-tokens', { name, labels: { fleet: name } });
      assert.equal(t.status, 201, JSON.stringify(t.json));
      return { token: t.json.token as string };
    },
    async deploy(policy) {
      const d = await h.admin.post('/v1/deployments', { patchId: h.fx.patchId, policy });
      assert.equal(d.status, 201, JSON.stringify(d.json));
      return d.json.deployment.id as string;
    },
    state: (id, s, extra = {}) => ({
      type: 'state',
      deploymentId: id,
      patchId: h.fx.patchId,
      state: s,
      ...extra,
    }),
  };

  before(async () => {
    ({
      srv: h.srv,
      admin: h.admin,
      adminToken: h.adminToken,
      enrollToken: h.enrollToken,
    } = await startTestServer({
      ...h.storageOpts('main'),
      ...tuning,
    }));
    assert.equal((await h.admin.postRaw('/v1/bundles', h.fx.bundle.toString())).status, 201);
  });

  after(async () => {
    for (const s of h.sockets) s.terminate();
    await Promise.all(h.apps.map((a) => a.stop()));
    await Promise.all(h.procs.map((p) => p.kill9()));
    await h.srv?.close();
    if (storage === 'postgres') {
      await dropSchema(schema);
    }
    rmSync(base, { recursive: true, force: true });
  });
  return h;
}

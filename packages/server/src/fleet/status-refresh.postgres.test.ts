/**
 * The status refresh with several server processes on one PostgreSQL schema (every worker of every
 * replica refreshes): concurrent refreshes claim disjoint batches instead of all computing the same
 * first stale devices, and each still returns only once what was stale at its call is written.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openDatabase } from '../db/open.js';
import type { Database } from '../db/types.js';
import { markDeploymentStaleInChunks } from '../store/status-columns.js';
import { dropSchema, freshSchema, TEST_DATABASE_URL } from '../test/test-server.js';
import { refreshStatus } from './status-columns.js';

const schema = freshSchema('hp_refresh');
const open = () =>
  openDatabase({ dataDir: '', databaseUrl: TEST_DATABASE_URL, databaseSchema: schema, databasePoolSize: 3 });
let one: Database;
let two: Database;

before(async () => {
  one = await open();
  two = await open(); // a second process's pool on the same schema
});

after(async () => {
  await one?.close();
  await two?.close();
  await dropSchema(schema);
});

test('[postgres] two processes refreshing at once compute each stale device once, and leave none stale', async () => {
  const N = 1200; // several batches of 250
  await one.query(
    `INSERT INTO devices (id, host, service) SELECT 'dev_' || lpad(i::text, 5, '0'), 'h' || i, 'svc' FROM generate_series(1, $1) AS i`,
    [N],
  );
  const stale = async () =>
    Number(
      (
        await one.query<{ n: string }>('SELECT count(*) AS n FROM devices WHERE status_clean < status_dirty')
      )[0]?.n,
    );
  assert.equal(await stale(), N, 'new rows start stale');
  const [a, b] = await Promise.all([refreshStatus(one), refreshStatus(two)]);
  assert.equal(await stale(), 0);
  assert.equal(a + b, N, `computed ${a} + ${b}: each device once, not once per process`);
});

test('[postgres] a new deployment marks every device with a row stale, a chunk of devices per statement, and no other', async () => {
  await refreshStatus(one);
  await one.query(`INSERT INTO policies (id, name, allow_hotpatch, rings) VALUES ('pol_1', 'p', true, '[]')`);
  await one.query(
    `INSERT INTO bundles (patch_id, version, level, title, severity, advisories, target_name, target_baseline, files, key_id, sha256, body, published_by)
     VALUES ('HP-1', '1', 1, 't', 'high', '[]', 'x', '1.0.0', '[]', 'k', 's', 'b', 'test')`,
  );
  await one.query(
    `INSERT INTO deployments (id, patch_id, policy_id, state, created_by) VALUES ('dep_1', 'HP-1', 'pol_1', 'active', 'test')`,
  );
  // 7 of the devices (ids 00003..00009) have a row; chunks of 3 need three statements.
  await one.query(
    `INSERT INTO deployment_devices (deployment_id, device_id, state) SELECT 'dep_1', 'dev_' || lpad(i::text, 5, '0'), 'scheduled' FROM generate_series(3, 9) AS i`,
  );
  await markDeploymentStaleInChunks(one, 'dep_1', 3);
  const stale = await one.query<{ id: string }>(
    'SELECT id FROM devices WHERE status_clean < status_dirty ORDER BY id',
  );
  assert.deepEqual(
    stale.map((r) => r.id),
    ['dev_00003', 'dev_00004', 'dev_00005', 'dev_00006', 'dev_00007', 'dev_00008', 'dev_00009'],
  );
});

/** devicesAffected: the advisory views' device prefilter on the stored versions (PGlite, real server schema). */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { OsvRecord } from '@hotpatch/protocol';
import { refreshStatus } from '../fleet/status-columns.js';
import { devicesAffected } from '../store/device-query.js';
import { markDevicesStale } from '../store/status-columns.js';
import { MINIMIST_OSV } from './osv-fixtures.js';
import { runtimeFacts } from './sim.js';
import { startTestServer, type TestServer } from './test-server.js';

let ts: TestServer;

before(async () => {
  // The store is read directly; no bundle is published, so no key is trusted.
  ts = await startTestServer({ trustedKeys: [] });
});

after(async () => {
  await ts?.close();
});

const facts = (packages: Array<[string, string]>) =>
  JSON.stringify(
    runtimeFacts(
      packages.map(([name, version]) => ({ name, version, files: [] })),
      { pid: 1, service: 'svc', trustedKeys: [] },
    ),
  );

const LODASH: OsvRecord = {
  id: 'TEST-lodash',
  modified: '2024-01-01T00:00:00Z',
  affected: [{ package: { ecosystem: 'npm', name: 'lodash' }, versions: ['4.17.20'] }],
};

test('only live devices on a version a record affects, plus any whose stored versions are stale', async () => {
  const add = (id: string, host: string, f: string | null, revoked = false) =>
    ts.srv.db.query(
      `INSERT INTO devices (id, host, service, labels, facts, connected, last_seen, revoked_at)
       VALUES ($1, $2, 'svc', '{}'::jsonb, $3::jsonb, false, now(), ${revoked ? 'now()' : 'NULL'})`,
      [id, host, f],
    );
  await add('d-mm', 'b-host', facts([['minimist', '1.2.5']]));
  await add('d-other', 'a-host', facts([['lodash', '4.17.20']]));
  await add(
    'd-fixed',
    'c-host',
    facts([
      ['lodash', '4.17.21'],
      ['minimist', '1.2.6'],
    ]),
  );
  await add('d-revoked', 'd-host', facts([['minimist', '1.2.5']]), true);
  await add('d-none', 'e-host', null);
  await refreshStatus(ts.srv.db);
  const ids = async (records: OsvRecord[]) => (await devicesAffected(ts.srv.db, records)).map((d) => d.id);

  assert.deepEqual(await ids([MINIMIST_OSV]), ['d-mm'], 'fixed, revoked and unrelated devices left out');
  assert.deepEqual(await ids([MINIMIST_OSV, LODASH]), ['d-other', 'd-mm'], 'by host');
  assert.deepEqual(await ids([{ ...MINIMIST_OSV, withdrawn: '2024-02-01T00:00:00Z' }]), []);
  assert.deepEqual(await ids([]), []);
  const [mm] = await devicesAffected(ts.srv.db, [MINIMIST_OSV]);
  assert.deepEqual(
    mm?.facts?.packages.map((p) => p.name),
    ['minimist'],
    'read with their facts',
  );

  // Facts written, not yet recomputed: the stored versions are not trusted, the device is read.
  await ts.srv.db.query('UPDATE devices SET facts = $2::jsonb WHERE id = $1', [
    'd-fixed',
    facts([['minimist', '1.2.5']]),
  ]);
  await markDevicesStale(ts.srv.db, ['d-fixed']);
  assert.deepEqual(await ids([LODASH]), ['d-other', 'd-fixed'], 'stale: read whatever it loaded');
  await refreshStatus(ts.srv.db);
  assert.deepEqual(await ids([MINIMIST_OSV]), ['d-mm', 'd-fixed'], 'recomputed: on the affected version');
  assert.deepEqual(await ids([LODASH]), ['d-other']);
});

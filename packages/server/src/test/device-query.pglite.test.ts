/** devicesLoading: the advisory views' device prefilter on the stored versions (PGlite, real server schema). */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { devicesLoading } from '../fleet/device-query.js';
import { markDevicesStale, refreshStatus } from '../fleet/status-columns.js';
import { createServer, type HotpatchServer } from '../index.js';

const dataDir = mkdtempSync(join(tmpdir(), 'hotpatch-device-query-'));
let srv: HotpatchServer;

before(async () => {
  srv = await createServer({ dataDir, port: 0 });
});

after(async () => {
  await srv?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const facts = (packages: Array<[string, string]>) =>
  JSON.stringify({
    pid: 1,
    service: 'svc',
    node: 'v22.1.0',
    engine: 'liveedit',
    signatureEnforcement: true,
    trustedKeys: [],
    startedAt: new Date().toISOString(),
    patches: [],
    packages: packages.map(([name, version]) => ({ name, version, files: [] })),
  });

test('only live devices that loaded a named package, plus any whose stored versions are stale', async () => {
  const add = (id: string, host: string, f: string | null, revoked = false) =>
    srv.db.query(
      `INSERT INTO devices (id, host, service, labels, facts, connected, last_seen, revoked_at)
       VALUES ($1, $2, 'svc', '{}'::jsonb, $3::jsonb, false, now(), ${revoked ? 'now()' : 'NULL'})`,
      [id, host, f],
    );
  await add('d-mm', 'b-host', facts([['minimist', '1.2.5']]));
  await add('d-other', 'a-host', facts([['lodash', '4.17.21']]));
  await add(
    'd-both',
    'c-host',
    facts([
      ['lodash', '4.17.21'],
      ['minimist', '1.2.6'],
    ]),
  );
  await add('d-revoked', 'd-host', facts([['minimist', '1.2.5']]), true);
  await add('d-none', 'e-host', null);
  await refreshStatus(srv.db);
  const ids = async (names: string[]) => (await devicesLoading(srv.db, names)).map((d) => d.id);

  assert.deepEqual(await ids(['minimist']), ['d-mm', 'd-both'], 'by host; revoked and others left out');
  assert.deepEqual(await ids(['lodash', 'left-pad']), ['d-other', 'd-both']);
  assert.deepEqual(await ids(['left-pad']), []);
  assert.deepEqual(await ids([]), []);
  const [mm] = await devicesLoading(srv.db, ['minimist']);
  assert.deepEqual(
    mm?.facts?.packages.map((p) => p.name),
    ['minimist'],
    'read with their facts',
  );

  // Facts written, not yet recomputed: the stored versions are not trusted, the device is read.
  await srv.db.query('UPDATE devices SET facts = $2::jsonb WHERE id = $1', [
    'd-other',
    facts([['minimist', '1.2.5']]),
  ]);
  await markDevicesStale(srv.db, ['d-other']);
  assert.deepEqual(await ids(['minimist']), ['d-other', 'd-mm', 'd-both']);
  await refreshStatus(srv.db);
  assert.deepEqual(await ids(['minimist']), ['d-other', 'd-mm', 'd-both'], 'and kept once recomputed');
  assert.deepEqual(await ids(['lodash']), ['d-both']);
});

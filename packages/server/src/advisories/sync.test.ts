import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MINIMIST_OSV } from '../test/osv-fixtures.js';
import { startTestServer } from '../test/test-server.js';
import { parseOsvFeed } from './sync.js';

test('OSV feed: one record, an array or {advisories}; invalid records are counted, not imported', () => {
  assert.equal(parseOsvFeed(MINIMIST_OSV).records.length, 1);
  assert.deepEqual(parseOsvFeed([MINIMIST_OSV, { id: 'x' }]).invalid, 1);
  assert.equal(parseOsvFeed({ advisories: [MINIMIST_OSV] }).records[0]?.id, MINIMIST_OSV.id);
  assert.deepEqual(parseOsvFeed('nonsense'), { records: [], invalid: 1 });
});

test('advisory sync from a URL (local HTTP server, offline): imports, survives a failing feed, stops with the server', async () => {
  let body: string | null = JSON.stringify({ advisories: [MINIMIST_OSV, { id: 'broken' }] });
  const feed = createHttpServer((_req, res) => {
    if (body === null) {
      res.statusCode = 500;
      res.end('down');
    } else res.end(body);
  });
  feed.listen(0, '127.0.0.1');
  await once(feed, 'listening');
  const url = `http://127.0.0.1:${(feed.address() as AddressInfo).port}/osv.json`;
  const dataDir = mkdtempSync(join(tmpdir(), 'hotpatch-sync-'));
  const { srv, admin } = await startTestServer({
    dataDir,
    trustedKeys: [],
    advisorySync: { url, intervalMs: 3_600_000 },
  });
  try {
    await srv.advisorySync?.syncNow();
    const a = (await admin.get('/v1/advisories')).json.advisories as Array<{ id: string; source: string }>;
    assert.deepEqual(
      a.map((x) => [x.id, x.source]),
      [[MINIMIST_OSV.id, `sync ${url}`]],
    );
    body = null; // the feed fails: logged, nothing lost
    await srv.advisorySync?.syncNow();
    assert.equal((await admin.get('/v1/advisories')).json.advisories.length, 1);
    body = JSON.stringify({ ...MINIMIST_OSV, modified: '2030-01-01T00:00:00Z', summary: 'updated upstream' });
    await srv.advisorySync?.syncNow();
    assert.equal((await admin.get('/v1/advisories')).json.advisories[0].summary, 'updated upstream');
  } finally {
    await srv.close();
    feed.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

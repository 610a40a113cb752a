/**
 * Fleet CLI against a real server (PGlite, in this process) and a simulated device speaking the
 * real protocol: login (0600 config), devices with update status, advisories import from a
 * directory, tokens list, policies show in words, --version.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { HotpatchServer } from '@hotpatch/server';
import { enrollOk, fixture, MINIMIST_OSV, online, startTestServer } from '@hotpatch/server/testing';

const bin = fileURLToPath(new URL('../bin/hotpatch.js', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'hotpatch-cli-fleet-'));
const config = join(tmp, 'config', 'hotpatch.json');
let srv: HotpatchServer;
let token = '';
const sockets: Parameters<typeof online>[3] = [];
const fx = fixture();

/** Runs the CLI asynchronously (the server answers in this same process). */
function hotpatch(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HOTPATCH_')));
    execFile(
      process.execPath,
      [bin, ...args],
      { env: { ...clean, HOTPATCH_CONFIG: config, ...env }, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ status: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

before(async () => {
  const ts = await startTestServer({ dataDir: join(tmp, 'data') });
  srv = ts.srv;
  token = ts.adminToken;
  const device = await enrollOk(srv.url, ts.enrollToken, 'host-1', {
    service: 'shop',
  });
  await online(
    srv.url,
    device.credential,
    {
      pid: 4242,
      service: 'shop',
      node: 'v22.1.0',
      engine: 'liveedit',
      signatureEnforcement: true,
      // The runtime trusts another publisher only: the fixture's hotpatch is not deployable here.
      trustedKeys: ['some-other-key'],
      startedAt: new Date().toISOString(),
      patches: [],
      packages: [
        { name: 'minimist', version: '1.2.5', files: [] },
        ...Array.from({ length: 40 }, (_, i) => ({ name: `dep-${i}`, version: '1.0.0', files: [] })),
      ],
    },
    sockets,
  );
});

after(async () => {
  for (const s of sockets) s.terminate();
  await srv?.close();
  rmSync(tmp, { recursive: true, force: true });
});

test('--version prints the package version', async () => {
  const r = await hotpatch(['--version']);
  assert.equal(r.status, 0);
  assert.match(r.stdout.trim(), /^\d+\.\d+\.\d+/);
});

test('login: a bad token saves nothing; a good one is saved 0600 and used without env; env overrides', async () => {
  const bad = await hotpatch(['login', srv.url, '--token', 'hpt_000000000000_xxxxxxxxxxxxxxxxxxxxxxxx']);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /E_UNAUTHORIZED/);
  assert.equal(bad.stderr.trim().split('\n').length, 1, 'one line');
  assert.equal(existsSync(config), false);
  assert.notEqual((await hotpatch(['login', 'not-a-url', '--token', token])).status, 0);

  const ok = await hotpatch(['login', srv.url, '--token', token]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(statSync(config).mode & 0o777, 0o600);
  const list = await hotpatch(['devices']);
  assert.equal(list.status, 0, list.stderr);
  assert.match(list.stdout, /host-1\/shop/);
  // Env wins over the saved login, and the saved token is never sent to another server.
  const other = await hotpatch(['devices'], { HOTPATCH_SERVER: 'http://127.0.0.1:1' });
  assert.notEqual(other.status, 0);
  assert.match(other.stderr, /no API token/);
  const env = await hotpatch(['devices'], { HOTPATCH_SERVER: 'http://127.0.0.1:1', HOTPATCH_TOKEN: token });
  assert.notEqual(env.status, 0);
  assert.match(env.stderr, /unreachable/);
});

test('advisories import (directory) → devices shows the CVE compactly; --json; advisories list says how to fix', async () => {
  const before = await hotpatch(['devices']);
  assert.match(before.stdout, /Up to date/);
  const dir = join(tmp, 'osv');
  mkdirSync(join(dir, 'npm'), { recursive: true });
  writeFileSync(join(dir, 'npm', `${MINIMIST_OSV.id}.json`), JSON.stringify(MINIMIST_OSV));
  const imp = await hotpatch(['advisories', 'import', dir]);
  assert.equal(imp.status, 0, imp.stderr);
  assert.match(imp.stdout, /1 added/);
  assert.notEqual((await hotpatch(['advisories', 'import', join(tmp, 'missing')])).status, 0);

  const list = await hotpatch(['devices']);
  assert.equal(list.status, 0, list.stderr);
  const line = list.stdout.split('\n').find((l) => l.startsWith('host-1/shop')) ?? '';
  assert.match(line, /Not up to date: CVE-2021-44906 — baseline needed/);
  assert.match(line, /minimist@1\.2\.5 \(vulnerable\) \+40 others/, 'the rest collapsed');
  assert.ok(line.length < 200, `compact: ${line}`);

  const json = JSON.parse((await hotpatch(['devices', '--json'])).stdout);
  assert.equal(json.devices[0].status.kind, 'not-up-to-date');
  assert.equal(json.total, 1);
  assert.equal(
    (await hotpatch(['devices', '--status', 'up-to-date', '--json'])).stdout.includes('host-1'),
    false,
  );
  assert.notEqual((await hotpatch(['devices', '--status', 'nonsense'])).status, 0);

  const adv = await hotpatch(['advisories']);
  assert.equal(adv.status, 0, adv.stderr);
  assert.match(
    adv.stdout,
    /CVE-2021-44906 GHSA-xvch-5gv4-984h\s+minimist\s+1 \(0 hotpatchable, 1 baseline\)\s+none/,
  );
  assert.match(
    adv.stdout,
    /build one: hotpatch build --from npm:minimist@1\.2\.5 --to npm:minimist@1\.2\.6 --advisory CVE-2021-44906/,
  );
});

test('tokens list, policies show in words (JSON only with --json)', async () => {
  const t = await hotpatch(['tokens', 'list']);
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stdout, /admin\s+.*active/);
  assert.doesNotMatch(t.stdout, /hpt_/, 'no secrets');
  const p = await hotpatch(['policies', 'show', 'default']);
  assert.equal(p.status, 0, p.stderr);
  assert.doesNotMatch(p.stdout, /[{}]/);
  assert.match(p.stdout, /policy default \(default\): active, hotpatch allowed/);
  const pj = await hotpatch(['policies', 'show', 'default', '--json']);
  assert.equal(JSON.parse(pj.stdout).policy.name, 'default');
});

test('deploy --what-if names why not in words; deploy with no eligible device exits 3 and creates nothing', async () => {
  const bundle = join(tmp, 'fix.bundle');
  writeFileSync(bundle, fx.bundle);
  const pub = await hotpatch(['publish', bundle]);
  assert.equal(pub.status, 0, pub.stderr);
  const w = await hotpatch(['deploy', fx.patchId, '--policy', 'default', '--what-if']);
  assert.equal(w.status, 3, w.stderr);
  assert.match(w.stdout, /0 eligible, 1 not eligible/);
  assert.match(w.stdout, /host-1\/shop\s+all\s+no\s+.*does not trust key/);
  const d = await hotpatch(['deploy', fx.patchId, '--policy', 'default']);
  assert.equal(d.status, 3);
  assert.match(d.stderr, /no device of policy default can take/);
  assert.match(d.stderr, /--force deploys anyway/);
  const list = JSON.parse((await hotpatch(['deployments', '--json'])).stdout);
  assert.deepEqual(list.deployments, [], 'nothing was deployed');
  const adv = await hotpatch(['advisories']);
  assert.match(adv.stdout, new RegExp(`1 \\(0 hotpatchable, 1 baseline\\)\\s+${fx.patchId}`));
});

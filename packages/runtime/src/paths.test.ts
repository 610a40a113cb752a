import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { legacyServiceName, serviceName } from './paths.js';

const root = mkdtempSync(join(tmpdir(), 'hotpatch-paths-'));
after(() => rmSync(root, { recursive: true, force: true }));

function app(dir: string, pkg: Record<string, unknown> | null, files: string[]): string {
  mkdirSync(dir, { recursive: true });
  if (pkg) writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg));
  for (const f of files) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    writeFileSync(join(dir, f), '');
  }
  return dir;
}

describe('service names', () => {
  const api = app(join(root, 'srv/api'), { name: '@acme/api', main: 'server.js' }, [
    'server.js',
    'scripts/worker.js',
  ]);
  const plain = app(join(root, 'plain'), { name: 'plain' }, ['index.js', 'other.js']);
  const nameless = app(join(root, 'nameless/app'), null, ['main.js']);

  it("is the app's package.json name when the script is the package's main file", () => {
    assert.equal(serviceName({}, join(api, 'server.js')), '@acme/api');
    assert.equal(serviceName({}, join(plain, 'index.js')), 'plain');
  });

  it("adds the script's path inside the package for any other script", () => {
    assert.equal(serviceName({}, join(api, 'scripts/worker.js')), '@acme/api:scripts/worker.js');
    assert.equal(serviceName({}, join(plain, 'other.js')), 'plain:other.js');
  });

  it('HOTPATCH_SERVICE overrides; without a package the old name stays', () => {
    assert.equal(serviceName({ HOTPATCH_SERVICE: 'billing' }, join(api, 'server.js')), 'billing');
    // No package.json with a name up to the root (only the temporary folders above).
    assert.equal(serviceName({}, join(nameless, 'main.js')), legacyServiceName(join(nameless, 'main.js')));
    assert.equal(legacyServiceName('/srv/api/server.js'), 'api/server.js');
  });
});

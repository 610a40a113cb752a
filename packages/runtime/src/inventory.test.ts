import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { newRecord, packageOf } from './inventory.js';

const root = mkdtempSync(join(tmpdir(), 'hotpatch-inventory-'));
after(() => rmSync(root, { recursive: true, force: true }));

function file(path: string, text = ''): string {
  const full = join(root, ...path.split('/'));
  mkdirSync(join(full, '..'), { recursive: true });
  writeFileSync(full, text);
  return full;
}
const pkg = (name: string | null, version = '1.0.0') =>
  JSON.stringify(name ? { name, version } : { type: 'commonjs' });

// An app with installed packages, as npm lays them out.
file('app/package.json', pkg('my-app', '2.0.0'));
file('app/lib/server.js');
file('app/node_modules/terser/package.json', pkg('terser', '5.14.1'));
// terser's own dist/package.json, named "dist", only sets the module type of its bundle.
file('app/node_modules/terser/dist/package.json', pkg('dist'));
file('app/node_modules/terser/dist/bundle.min.js');
file('app/node_modules/@scope/tool/package.json', pkg('@scope/tool', '3.1.0'));
file('app/node_modules/@scope/tool/lib/package.json', pkg(null));
file('app/node_modules/@scope/tool/lib/index.js');
file('app/node_modules/terser/node_modules/acorn/package.json', pkg('acorn', '8.0.0'));
file('app/node_modules/terser/node_modules/acorn/dist/acorn.js');
file('app/node_modules/broken/index.js'); // no package.json: the app's

describe('packageOf', () => {
  const cases: Array<[string, string | null, string | null, string | null]> = [
    // [file, name, version, path in the package]
    ['app/node_modules/terser/dist/bundle.min.js', 'terser', '5.14.1', 'dist/bundle.min.js'],
    ['app/node_modules/@scope/tool/lib/index.js', '@scope/tool', '3.1.0', 'lib/index.js'],
    ['app/node_modules/terser/node_modules/acorn/dist/acorn.js', 'acorn', '8.0.0', 'dist/acorn.js'],
    ['app/lib/server.js', 'my-app', '2.0.0', 'lib/server.js'],
    ['app/node_modules/broken/index.js', 'my-app', '2.0.0', 'node_modules/broken/index.js'],
  ];
  for (const [path, name, version, rel] of cases) {
    it(`${path} belongs to ${name}@${version}`, () => {
      const full = join(root, ...path.split('/'));
      assert.equal(packageOf(full)?.name ?? null, name);
      const record = newRecord('id', full, 'sha', 'commonjs');
      assert.equal(record.pkgName, name);
      assert.equal(record.pkgVersion, version);
      assert.equal(record.relPath, rel);
    });
  }
});

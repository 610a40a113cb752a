import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type BuildResult, buildPatch } from '../build.js';
import { resolveSpec } from '../spec.js';
import { distinctAncestors } from './check.js';
import { compareLoads, IDENTITY } from './graph.js';
import { loadState, permissionWithInspector } from './runner.js';

/**
 * Load-state comparison through the whole builder: two hand-made releases on disk, each file
 * loaded in real child processes. Each case is refused without the comparison (changed-at-load
 * or side-effect-changed); only the first becomes live with it.
 */
const tmp = mkdtempSync(join(tmpdir(), 'hotpatch-load-state-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let counter = 0;

function release(source: string, version: string): string {
  const dir = join(tmp, `${counter++}`, `demo@${version}`);
  const files = {
    'package.json': JSON.stringify({ name: 'demo', version, main: 'index.js' }),
    'index.js': source,
  };
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

async function build(a: string, b: string, loadReplay = true): Promise<BuildResult> {
  const from = await resolveSpec(release(a, '1.0.0'));
  const to = await resolveSpec(release(b, '1.0.1'));
  return buildPatch({ from, to, loadReplay });
}

const ids = (r: BuildResult) =>
  r.changes
    .filter((c) => c.file === 'index.js')
    .map((c) => `${c.verdict} ${c.id}`)
    .sort();
const reasons = (r: BuildResult) => r.changes.map((c) => c.reason).join('\n');

/** A locale table filled at load through `load`, which the fix changes. */
const locales = (loadBody: string, atLoad: string, extra = '') => `'use strict';
var locales = {};
var current = null;
${extra}
function load(name) {
${loadBody}
  return locales[name];
}
function use(name, config) {
  if (config) locales[name] = config;
  current = load(name);
  return current;
}
${atLoad}
module.exports = { use: use, current: function () { return current; } };
`;
const OLD_LOAD = `  if (!locales[name] && typeof name === 'string') locales[name] = { name: name };`;
const SANE_LOAD = `  if (!locales[name] && typeof name === 'string' && /^[a-z]+$/.test(name)) locales[name] = { name: name };`;
const TAGGED_LOAD = `  if (!locales[name] && typeof name === 'string') locales[name] = { name: name, checked: true };`;

describe('load-state comparison', () => {
  it('(1) a changed function called at load whose changed branch is not taken then: live', async () => {
    const atLoad = `use('en', { name: 'en', months: ['Jan', 'Feb'] });`;
    const r = await build(locales(OLD_LOAD, atLoad), locales(SANE_LOAD, atLoad));
    assert.deepEqual(ids(r), ['live function-changed', 'live load-state-equal'], reasons(r));
    assert.equal(r.refusal, null);
    assert.match(reasons(r), /both releases were loaded in the builder \(Node v\d+/);
    // Without the comparison, the same fix is refused.
    const off = await build(locales(OLD_LOAD, atLoad), locales(SANE_LOAD, atLoad), false);
    assert.deepEqual(ids(off), ['live function-changed', 'restart changed-at-load']);
  });

  it('(2) the changed branch taken at load, so the table differs: refused', async () => {
    const atLoad = `use('en');`;
    const r = await build(locales(OLD_LOAD, atLoad), locales(TAGGED_LOAD, atLoad));
    assert.deepEqual(ids(r), ['live function-changed', 'restart changed-at-load']);
    assert.match(reasons(r), /not lifted by loading both releases: the two releases build different state/);
    assert.match(reasons(r), /exports\.use\.\[\[Scopes\]\]\[0\]\.current: 1 vs 2 entries/);
  });

  it('(3) the difference only in a closure variable nothing exports: refused', async () => {
    const extra = 'var loads = 0;\nfunction stats() { return loads; }';
    const atLoad = `use('en', { name: 'en' });`;
    const r = await build(
      locales(`  loads += 1;\n${OLD_LOAD}`, atLoad, extra),
      locales(`  loads += 2;\n${OLD_LOAD}`, atLoad, extra),
    );
    assert.deepEqual(ids(r), ['live function-changed', 'restart changed-at-load']);
    assert.match(reasons(r), /\[\[Scopes\]\]\[\d\]\.loads: 1 vs 2/);
  });

  it('(4) a load that is not deterministic: refused', async () => {
    const extra = 'var seed = Math.random();\nfunction salt() { return seed; }';
    const atLoad = `use('en', { name: 'en' });`;
    const r = await build(locales(OLD_LOAD, atLoad, extra), locales(SANE_LOAD, atLoad, extra));
    assert.deepEqual(ids(r), ['live function-changed', 'restart changed-at-load']);
    assert.match(reasons(r), /two loads of the running release differ .*seed.*not deterministic/);
  });

  it('(5) a stored function the fix pairs with another one: refused', async () => {
    const source = (pick: string) => `'use strict';
var handler = null;
function lower(s) { return s.toLowerCase(); }
function upper(s) { return s.toUpperCase(); }
function pick() { return ${pick}; }
function init() { handler = pick(); }
init();
module.exports = function (s) { return handler(s); };
`;
    const r = await build(source('lower'), source('upper'));
    assert.ok(ids(r).includes('restart changed-at-load'), ids(r).join(', '));
    assert.ok(!ids(r).includes('live load-state-equal'));
    assert.match(reasons(r), /build different state at load: exports\.\[\[Scopes\]\]\[0\]\.handler/);
  });

  it('(6) a dependency that is not installed: refused, with the reason', async () => {
    const atLoad = `var pad = require('not-installed-anywhere');\nuse('en', { name: 'en' });`;
    const r = await build(locales(OLD_LOAD, atLoad), locales(SANE_LOAD, atLoad));
    assert.deepEqual(ids(r), ['live function-changed', 'restart changed-at-load']);
    assert.match(
      reasons(r),
      /loading the running release failed: loading it threw: Cannot find module 'not-installed-anywhere'/,
    );
  });

  it('(7) a changed statement run at load, same state: live only under the permission model', async () => {
    const source = (arg: string) =>
      `'use strict';\nvar list = [];\nfunction add(x) { list.push(x); }\nadd(${arg});\nmodule.exports = function () { return list.slice(); };\n`;
    const r = await build(source('1 + 1'), source('2'));
    if (permissionWithInspector()) {
      assert.deepEqual(ids(r), ['deferred removed-statement', 'live load-state-equal'], reasons(r));
      assert.match(reasons(r), /permission model/);
    } else {
      assert.deepEqual(ids(r), ['deferred removed-statement', 'restart side-effect-changed']);
      assert.match(reasons(r), /does not allow the inspector under its permission model/);
    }
  });

  it('(8) a changed statement whose effect is a listener on process: compared, refused', async () => {
    const source = (event: string) =>
      `'use strict';\nfunction done() {}\nprocess.on('${event}', done);\nmodule.exports = done;\n`;
    const r = await build(source('exit'), source('beforeExit'));
    assert.deepEqual(ids(r), ['deferred removed-statement', 'restart side-effect-changed']);
    assert.match(reasons(r), /build different state at load: .*process\._events/);
  });

  // The builder refuses private members on its own (unsupported-syntax); the walk reads them anyway.
  it('(9) the loads differ only in a private field of an instance made at load: found', () => {
    const source = (step: number) =>
      `'use strict';\nclass Counter {\n  #n = 0;\n  bump() { this.#n += ${step}; return this; }\n}\nvar shared = new Counter().bump();\nmodule.exports = function () { return shared; };\n`;
    const a = release(source(1), '1.0.0');
    const b = release(source(2), '1.0.0');
    const [aboveA, aboveB] = distinctAncestors(a, b);
    const load = (dir: string, above: string) =>
      loadState({ file: join(dir, 'index.js'), dir, above, readable: [dir], sourceType: 'commonjs' });
    const x = load(a, aboveA);
    const y = load(b, aboveB);
    assert.ok(x.ok && y.ok);
    const result = compareLoads(x, y, IDENTITY);
    assert.equal(result.equal, false);
    assert.match(result.equal ? '' : result.why, /shared\.\[\[PrivateFields\]\]\[0\]\.#n: 1 vs 2/);
    const again = load(a, aboveA);
    assert.ok(again.ok && compareLoads(x, again, IDENTITY).equal);
  });
});

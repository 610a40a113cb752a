import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { applyEdits, type Change, HotpatchError, sha256 } from '@hotpatch/core';
import { CONVENTION_VERSION } from '@hotpatch/instrument';
import { type BuildOptions, type BuildResult, buildPatch } from './build.js';
import { resolveSpec } from './spec.js';

const tmp = mkdtempSync(join(tmpdir(), 'hotpatch-build-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let counter = 0;

type Files = Record<string, string>;

function writeVersion(files: Files, name: string, version: string): string {
  const dir = join(tmp, `${counter++}-${name}@${version}`);
  const all: Files = {
    'package.json': JSON.stringify({ name, version, main: 'index.js' }, null, 2),
    ...files,
  };
  for (const [file, text] of Object.entries(all)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

/** Builds a hotpatch between two hand-written versions of package `demo`. */
async function build(
  a: Files,
  b: Files,
  opts: Partial<BuildOptions> = {},
  names = ['demo', 'demo'],
  kind: 'app' | 'npm' = 'app',
): Promise<BuildResult> {
  const from = { ...(await resolveSpec(writeVersion(a, names[0]!, '1.0.0'))), kind };
  const to = { ...(await resolveSpec(writeVersion(b, names[1]!, '1.0.1'))), kind };
  const result = buildPatch({ from, to, advisories: ['CVE-2099-0001'], ...opts });
  // Whatever the verdicts, every change explains itself, and any payload applies over its baseline.
  for (const c of result.changes) assert.ok(c.reason.length > 0, `empty reason for ${c.file}:${c.name}`);
  if (result.payload) {
    for (const f of result.payload.files) {
      const baseline = (a[f.path] ?? '') as string;
      assert.equal(f.baselineSha256, sha256(baseline), `${f.path}: baseline sha256`);
      applyEdits(baseline, f);
    }
  }
  return result;
}

const js = (source: string): Files => ({ 'index.js': source });

function codeChanges(r: BuildResult): Array<Change & { file: string }> {
  return r.changes.filter((c) => c.file !== 'package.json');
}

function find(r: BuildResult, name: string): Change & { file: string } {
  const c = r.changes.find((x) => x.name === name);
  assert.ok(c, `no change named ${name}; got ${r.changes.map((x) => `${x.id}:${x.name}`).join(', ')}`);
  return c;
}

function assertLive(r: BuildResult): void {
  assert.equal(r.refusal, null, `expected a payload; got ${r.refusal}: ${JSON.stringify(codeChanges(r))}`);
  assert.ok(r.payload);
}

function assertRestart(r: BuildResult): void {
  assert.equal(r.refusal, 'restart');
  assert.equal(r.payload, null);
}

/**
 * Whole-package builds: files, package.json, selections, new files, author migrations and the
 * payload. Verdicts about code inside one file are table-tested in diff/verdicts.test.ts.
 */
describe('buildPatch: the payload', () => {
  it('a changed function: target, version identifier, fixed-in release, classification', async () => {
    const r = await build(
      js('function f(a) { return a + 1; }\nmodule.exports = f;\n'),
      js('function f(a) { return a + 2; }\nmodule.exports = f;\n'),
    );
    assertLive(r);
    assert.deepEqual(
      codeChanges(r).map((c) => [c.id, c.name, c.verdict]),
      [['function-changed', 'f', 'live']],
    );
    const file = r.payload!.files[0]!;
    assert.equal(file.path, 'index.js');
    assert.equal(file.sourceType, 'commonjs');
    assert.deepEqual(
      file.functions.map((f) => [f.key, f.call]),
      [['f', 'params']],
    );
    assert.equal(file.liveEdit, null, 'LiveEdit can take a plain function change');
    assert.equal(r.payload!.version, '1.0.0+hp.1');
    assert.equal(r.payload!.fixedIn, '1.0.1');
    assert.equal(r.payload!.classification, 'security');
    assert.equal(r.payload!.convention, CONVENTION_VERSION);
    assert.deepEqual(r.payload!.target, { kind: 'app', name: 'demo', baseline: '1.0.0' });
    assert.ok(r.payload!.ignored.some((c) => c.id === 'package-version'));
  });

  it('an ES module package: files are ES modules', async () => {
    const pkg = (v: string) => JSON.stringify({ name: 'demo', version: v, type: 'module', main: 'index.js' });
    const r = await build(
      { 'package.json': pkg('1.0.0'), 'index.js': 'export function f(a) { return a + 1; }\n' },
      { 'package.json': pkg('1.0.1'), 'index.js': 'export function f(a) { return a + 2; }\n' },
    );
    assertLive(r);
    assert.equal(r.payload!.files[0]!.sourceType, 'module');
  });

  it('edits use UTF-16 offsets (astral characters before the change)', async () => {
    const base = "const s = '𝒳𝒳';\nfunction f(a) { return s + a + 1; }\nmodule.exports = f;\n";
    const r = await build(js(base), js(base.replace('a + 1', 'a + 2')));
    assertLive(r);
    assert.equal(applyEdits(base, r.payload!.files[0]!), base.replace('a + 1', 'a + 2'));
  });

  it('module state set up at apply: LiveEdit says it cannot take it', async () => {
    const r = await build(
      js('function f(a) { return a; }\nfunction g() {}\nmodule.exports = { f };\n'),
      js('function f(a) { return a; }\nfunction g() {}\nmodule.exports = { f, g };\n'),
    );
    assertLive(r);
    const file = r.payload!.files[0]!;
    assert.deepEqual(
      file.migrations.map((m) => [m.kind, m.target, m.key]),
      [['assign', 'module.exports', '"g"']],
    );
    assert.match(file.liveEdit ?? '', /redirect engine/);
    assert.deepEqual(file.edits, []);
  });
});

describe('buildPatch: files', () => {
  it('a new file required by the changed code is carried in the bundle', async () => {
    const r = await build(js('function f(a) { return a; }\nmodule.exports = f;\n'), {
      'index.js': "const h = require('./helper');\nfunction f(a) { return h(a); }\nmodule.exports = f;\n",
      'helper.js': 'module.exports = (a) => a;\n',
    });
    assertLive(r);
    assert.equal(find(r, 'helper.js').id, 'file-added');
    assert.deepEqual(
      r.payload!.newFiles.map((f) => [f.path, f.sourceType, f.sha256]),
      [['helper.js', 'commonjs', sha256('module.exports = (a) => a;\n')]],
    );
  });

  it('a new file nothing loads is not carried', async () => {
    const pkg = (v: string) => JSON.stringify({ name: 'demo', version: v, main: 'index.js' });
    const r = await build(
      { 'package.json': pkg('1.0.0'), 'index.js': 'function f(a) { return a + 1; }\nmodule.exports = f;\n' },
      {
        'package.json': pkg('1.0.1'),
        'index.js': 'function f(a) { return a + 2; }\nmodule.exports = f;\n',
        'extra/tool.js': 'module.exports = 1;\n',
      },
      {},
      ['demo', 'demo'],
      'npm',
    );
    assertLive(r);
    assert.equal(find(r, 'extra/tool.js').id, 'new-file-unused');
    assert.deepEqual(r.payload!.newFiles, []);
  });

  it('a removed file is deferred; docs and tests are ignored', async () => {
    const r = await build(
      { 'index.js': 'module.exports = 1;\n', 'old.js': 'x();\n', 'README.md': 'a', 'test/a.js': 'a();\n' },
      { 'index.js': 'module.exports = 1;\n', 'README.md': 'b', 'test/a.js': 'b();\n' },
    );
    assert.equal(r.refusal, 'nothing');
    assert.equal(find(r, 'old.js').id, 'removed-file');
    assert.equal(find(r, 'README.md').id, 'not-code');
    assert.equal(find(r, 'test/a.js').id, 'docs-or-tests');
  });

  it('an entry point the fixed release moved (dist/index.js → dist/index.mjs) patches the running path', async () => {
    const pkg = (v: string, entry: string) =>
      JSON.stringify({ name: 'demo', version: v, type: 'module', exports: { '.': { import: entry } } });
    const r = await build(
      {
        'package.json': pkg('1.0.0', './dist/index.js'),
        'dist/index.js': 'export function f(a) { return a + 1; }\n',
      },
      {
        'package.json': pkg('1.0.1', './dist/index.mjs'),
        'dist/index.mjs': 'export function f(a) { return a + 2; }\n',
      },
    );
    assertLive(r);
    assert.equal(find(r, 'dist/index.js').id, 'entry-moved');
    const file = r.payload!.files.find((f) => f.path === 'dist/index.js');
    assert.ok(file, 'the running path is patched');
    assert.equal(file.sourceType, 'module');
    assert.match(file.functions.find((f) => f.key === 'f')?.source ?? '', /a \+ 2/);
  });

  it('a removed entry point with no counterpart at the same place stays a removed file', async () => {
    const pkg = (v: string, exp: Record<string, string>) =>
      JSON.stringify({ name: 'demo', version: v, main: 'index.js', exports: exp });
    const r = await build(
      {
        'package.json': pkg('1.0.0', { '.': './index.js', './a': './a.js' }),
        'index.js': 'module.exports = 1;\n',
        'a.js': 'x();\n',
      },
      {
        'package.json': pkg('1.0.1', { '.': './index.js', './b': './b.js' }),
        'index.js': 'module.exports = 1;\n',
        'b.js': 'y();\n',
      },
    );
    assert.equal(find(r, 'a.js').id, 'removed-file');
  });

  it('a minified build Node does not load is deferred', async () => {
    const min = (n: number) => `!function(){${'var a=1;'.repeat(3000)}return ${n}}();`;
    const r = await build(
      { 'index.js': 'module.exports = 1;\n', 'dist/x.min.js': min(1) },
      { 'index.js': 'module.exports = 1;\n', 'dist/x.min.js': min(2) },
    );
    assert.equal(find(r, 'dist/x.min.js').id, 'minified-build');
  });

  it('a file the entry points do not load: its restart verdicts are deferred', async () => {
    const pkg = (v: string) => JSON.stringify({ name: 'demo', version: v, main: 'index.js' });
    const r = await build(
      {
        'package.json': pkg('1.0.0'),
        'index.js': 'module.exports = 1;\n',
        'browser.js': "window.x = 'a';\n",
      },
      {
        'package.json': pkg('1.0.1'),
        'index.js': 'module.exports = 1;\n',
        'browser.js': "window.x = 'b';\n",
      },
      {},
      ['demo', 'demo'],
      'npm',
    );
    assert.equal(r.refusal, 'nothing');
    assert.ok(
      r.changes.some(
        (c) => c.file === 'browser.js' && c.id === 'file-not-loaded' && c.verdict === 'deferred',
      ),
    );
  });

  it('the fixed version does not parse: parse-error', async () => {
    const r = await build(
      js('function f(a) { return a; }\nmodule.exports = f;\n'),
      js('function f(a) { return a +; }\n'),
    );
    assertRestart(r);
    assert.equal(find(r, 'index.js').id, 'parse-error');
  });

  it('comment-only changes: nothing to hotpatch', async () => {
    const r = await build(
      js('// v1\nfunction f(a) { return a; }\nmodule.exports = f;\n'),
      js('// v2, a better comment\nfunction f(a) {\n  return a;\n}\nmodule.exports = f;\n'),
    );
    assert.equal(r.refusal, 'nothing');
    assert.equal(find(r, 'index.js').id, 'comment-only');
  });
});

describe('buildPatch: chunks the bundler renamed (content hashes)', () => {
  const pkg = (v: string) =>
    JSON.stringify({ name: 'demo', version: v, type: 'module', main: 'dist/index.js' });
  // A chunk is mostly code the fix leaves alone (pairing wants nearly the same lines).
  const chunk = (limit: number) =>
    `export function parse(s) {\n  if (s.length > ${limit}) throw new Error('too long');\n  return s.split(',');\n}\nexport function count(s) {\n  return parse(s).length;\n}\n${[1, 2, 3, 4, 5, 6].map((i) => `export function part${i}(s) {\n  return parse(s)[${i}];\n}\n`).join('')}`;
  const reexport = (name: string) => `import { parse } from './${name}';\nexport { parse };\n`;
  const index = (name: string, other: string) =>
    `import { parse, count } from './chunks/${name}';\nexport { parse, count };\nexport const lazy = () => import('./chunks/${other}');\n`;
  const a = {
    'package.json': pkg('1.0.0'),
    'dist/index.js': index('dep-C6pp_iVS.js', 'dep-DMXKBGET.js'),
    'dist/chunks/dep-C6pp_iVS.js': chunk(1000000),
    'dist/chunks/dep-DMXKBGET.js': reexport('dep-C6pp_iVS.js'),
  };

  it('a renamed chunk holding the fix is patched at its running path; importers and re-exporting chunks are unchanged', async () => {
    const r = await build(
      a,
      {
        'package.json': pkg('1.0.1'),
        'dist/index.js': index('dep-M_KD0XSK.js', 'dep-D_YDhiNx.js'),
        'dist/chunks/dep-M_KD0XSK.js': chunk(1000),
        'dist/chunks/dep-D_YDhiNx.js': reexport('dep-M_KD0XSK.js'),
      },
      {},
      ['demo', 'demo'],
      'npm',
    );
    assertLive(r);
    assert.deepEqual(
      r.payload!.files.map((f) => [f.path, f.functions.map((x) => x.key)]),
      [['dist/chunks/dep-C6pp_iVS.js', ['parse']]],
    );
    assert.deepEqual(r.payload!.newFiles, []);
    assert.deepEqual(
      r.changes
        .filter((c) => c.id === 'chunk-renamed')
        .map((c) => [c.file, c.reason.includes('dep-M_KD0XSK.js') || c.reason.includes('dep-D_YDhiNx.js')]),
      [
        ['dist/chunks/dep-C6pp_iVS.js', true],
        ['dist/chunks/dep-DMXKBGET.js', true],
      ],
    );
    assert.ok(
      !r.changes.some((c) => c.verdict === 'restart' || c.id === 'file-added' || c.id === 'removed-file'),
    );
  });

  it('files with word names are not chunks: a new file and a removed one, as before', async () => {
    const r = await build(
      {
        ...a,
        'dist/index.js': index('dep-helpers.js', 'dep-DMXKBGET.js'),
        'dist/chunks/dep-helpers.js': chunk(5),
      },
      {
        ...a,
        'dist/index.js': index('dep-utilities.js', 'dep-DMXKBGET.js'),
        'dist/chunks/dep-utilities.js': chunk(5),
      },
      {},
      ['demo', 'demo'],
      'npm',
    );
    assert.ok(!r.changes.some((c) => c.id === 'chunk-renamed'));
    assert.ok(r.changes.some((c) => c.id === 'removed-file' && c.file === 'dist/chunks/dep-helpers.js'));
  });
});

describe('buildPatch: properties added to an object literal handed on at load', () => {
  const define = 'exports.define = function (C, proto) { C.prototype = proto; proto.constructor = C; };\n';
  const color = (methods: string) =>
    `const { define } = require('./define');\nfunction Rgb(r) { this.r = r; }\ndefine(Rgb, {\n${methods}\n});\nexports.Rgb = Rgb;\n`;
  const a = {
    'define.js': define,
    'index.js': color('  brighter: function(k) { return new Rgb(this.r * k); }'),
    'show.js': "exports.show = function (c) { return 'rgb(' + c.r + ')'; };\n",
  };
  const clamp =
    '  brighter(k) { return new Rgb(this.r * k); },\n  clamp() { return new Rgb(Math.min(255, this.r)); }';

  it('a new method no patched code reads: deferred, the fix applied live', async () => {
    const r = await build(a, {
      ...a,
      'index.js': color(clamp),
      'show.js': "exports.show = function (c) { return 'rgb(' + Math.min(255, c.r) + ')'; };\n",
    });
    assertLive(r);
    assert.equal(find(r, 'clamp').id, 'property-added-unused');
  });

  it("a new method another file's patched code calls: restart, the running object lacks it", async () => {
    const r = await build(a, {
      ...a,
      'index.js': color(clamp),
      'show.js': "exports.show = function (c) { return 'rgb(' + c.clamp().r + ')'; };\n",
    });
    assert.equal(r.refusal, 'restart');
    const c = find(r, 'clamp');
    assert.equal(c.id, 'property-added-needed');
    assert.equal(c.file, 'index.js');
    assert.match(c.reason, /patched code reads/);
  });

  it('a new hook the platform calls by itself (toJSON): restart, the fix may be that hook', async () => {
    const r = await build(a, {
      ...a,
      'index.js': color(`${clamp},\n  toJSON() { return { r: Math.min(255, this.r) }; }`),
      'show.js': "exports.show = function (c) { return 'rgb(' + Math.min(255, c.r) + ')'; };\n",
    });
    assert.equal(r.refusal, 'restart');
    assert.equal(find(r, 'toJSON').id, 'property-added-needed');
    assert.equal(find(r, 'clamp').id, 'property-added-unused');
  });

  it('a new property named like one the running release has (it may override it): restart', async () => {
    const withFormat = {
      ...a,
      'define.js': `${define}exports.base = { format: function () { return '?'; } };\n`,
    };
    const r = await build(withFormat, {
      ...withFormat,
      'index.js': color(`${clamp},\n  format() { return 'rgb(' + Math.min(255, this.r) + ')'; }`),
      'show.js': "exports.show = function (c) { return 'rgb(' + Math.min(255, c.r) + ')'; };\n",
    });
    assert.equal(r.refusal, 'restart');
    const c = find(r, 'format');
    assert.equal(c.id, 'property-added-needed');
    assert.match(c.reason, /may override/);
  });
});

describe('buildPatch: package.json', () => {
  it('version ignored, dependency ranges and entry points deferred, metadata ignored', async () => {
    const pkg = (v: string, dep: string, main: string, desc: string) =>
      JSON.stringify({ name: 'demo', version: v, main, description: desc, dependencies: { x: dep } });
    const r = await build(
      {
        'package.json': pkg('1.0.0', '^1.0.0', 'index.js', 'a'),
        'index.js': 'function f(a) { return a + 1; }\nmodule.exports = f;\n',
      },
      {
        'package.json': pkg('1.0.1', '^1.0.1', './index.js', 'b'),
        'index.js': 'function f(a) { return a + 2; }\nmodule.exports = f;\n',
      },
    );
    assertLive(r);
    assert.equal(find(r, 'package.json version').id, 'package-version');
    assert.equal(find(r, 'package.json dependencies').id, 'dependency-range');
    assert.equal(find(r, 'package.json main').id, 'entry-points-changed');
    assert.equal(find(r, 'package.json description').id, 'package-metadata');
  });
});

describe('buildPatch: selections and author migrations', () => {
  it('--only across files: restart verdicts outside the selection are deferred', async () => {
    const r = await build(
      js('function f(a) { return a + 1; }\nmodule.exports = { f };\n'),
      js("process.on('x', () => {});\nfunction f(a) { return a + 2; }\nmodule.exports = { f };\n"),
      { only: ['index.js:f'] },
    );
    assertLive(r);
    assert.equal(find(r, 'f').verdict, 'live');
    assert.ok(!r.changes.some((c) => c.verdict === 'restart'));
  });

  it('--only: an unknown function is a usage error naming what changed', async () => {
    await assert.rejects(
      build(
        js('function f(a) { return a + 1; }\nmodule.exports = f;\n'),
        js('function f(a) { return a + 2; }\nmodule.exports = f;\n'),
        { only: ['index.js:nope'] },
      ),
      (e: unknown) =>
        e instanceof HotpatchError && e.code === 'E_USAGE' && e.message.includes('changed in index.js: f'),
    );
  });

  it('--migrate: an author migration makes the bundle author-assisted', async () => {
    const r = await build(
      js(
        'let limit = 10;\nfunction f(a) { return a.length < limit; }\nexports.f = f;\nexports.set = (n) => { limit = n; };\n',
      ),
      js(
        'let limit = 5;\nfunction f(a) { return a.length < limit; }\nexports.f = f;\nexports.set = (n) => { limit = n; };\n',
      ),
      { exclude: ['index.js:limit'], migrate: [{ file: 'index.js', source: 'if (limit > 5) limit = 5;' }] },
    );
    assertLive(r);
    const file = r.payload!.files[0]!;
    assert.deepEqual(
      file.migrations.map((m) => [m.kind, m.author]),
      [['script', true]],
    );
    assert.equal(find(r, 'index.js').id, 'migration-author');
    assert.equal(find(r, 'index.js').verdict, 'live');
  });

  it('--migrate on a file without changes is a usage error', async () => {
    await assert.rejects(
      build(js('module.exports = 1;\n'), js('module.exports = 1;\n'), {
        migrate: [{ file: 'nope.js', source: 'x = 1;' }],
      }),
      (e: unknown) => e instanceof HotpatchError && e.code === 'E_USAGE',
    );
  });

  it('--from and --to of different packages: E_TARGET_MISMATCH', async () => {
    await assert.rejects(
      build(js('module.exports = 1;\n'), js('module.exports = 2;\n'), {}, ['demo', 'other']),
      (e: unknown) => e instanceof HotpatchError && e.code === 'E_TARGET_MISMATCH' && e.exitCode === 2,
    );
  });
});

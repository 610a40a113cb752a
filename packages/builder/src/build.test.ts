import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { applyEdits, type Change, HotpatchError, sha256 } from '@hotpatch/core';
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
): Promise<BuildResult> {
  const from = await resolveSpec(writeVersion(a, names[0]!, '1.0.0'));
  const to = await resolveSpec(writeVersion(b, names[1]!, '1.0.1'));
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
  assert.ok(c, `no change named ${name}; got ${r.changes.map((x) => `${x.kind}:${x.name}`).join(', ')}`);
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

describe('buildPatch verdicts: applied live', () => {
  it('parameter-list: a function that gains a parameter needs a restart (the guard passes the old ones)', async () => {
    const r = await build(
      js('function f(a) { return a + 1; }\nmodule.exports = f;\n'),
      js('function f(a, b) { return a + (b || 2); }\nmodule.exports = f;\n'),
    );
    assert.equal(r.refusal, 'restart');
    assert.ok(
      r.changes.some((c) => c.kind === 'parameter-list' && c.name === 'f' && c.verdict === 'restart'),
    );
  });

  it('apply shape: a function that uses arguments keeps receiving all of them', async () => {
    const r = await build(
      js('function f() { return arguments.length; }\nmodule.exports = f;\n'),
      js('function f() { return arguments.length + 1; }\nmodule.exports = f;\n'),
    );
    assertLive(r);
    assert.deepEqual(
      r.payload!.files[0]!.functions.map((f) => f.call),
      ['apply'],
    );
  });

  it('function-body: a changed top-level function', async () => {
    const r = await build(
      js('function f(a) { return a + 1; }\nmodule.exports = f;\n'),
      js('function f(a) { return a + 2; }\nmodule.exports = f;\n'),
    );
    assertLive(r);
    assert.deepEqual(
      codeChanges(r).map((c) => [c.kind, c.name, c.verdict]),
      [['function-body', 'f', 'live']],
    );
    const file = r.payload!.files[0]!;
    assert.equal(file.path, 'index.js');
    assert.equal(file.sourceType, 'commonjs');
    assert.deepEqual(
      file.functions.map((f) => [f.key, f.call]),
      [['f', 'params']],
    );
    assert.equal(r.payload!.version, '1.0.0+hp.1');
    assert.equal(r.payload!.fixedIn, '1.0.1');
    assert.equal(r.payload!.classification, 'security');
    assert.deepEqual(r.payload!.target, { kind: 'app', name: 'demo', baseline: '1.0.0' });
    assert.ok(r.payload!.ignored.some((c) => c.kind === 'version-string'));
  });

  it('function-body: an ES module export', async () => {
    const pkg = (v: string) => JSON.stringify({ name: 'demo', version: v, type: 'module', main: 'index.js' });
    const r = await build(
      { 'package.json': pkg('1.0.0'), 'index.js': 'export function f(a) { return a + 1; }\n' },
      { 'package.json': pkg('1.0.1'), 'index.js': 'export function f(a) { return a + 2; }\n' },
    );
    assertLive(r);
    assert.equal(find(r, 'f').kind, 'function-body');
    assert.equal(r.payload!.files[0]!.sourceType, 'module');
  });

  it('nested-closure: a function made by a factory', async () => {
    const r = await build(
      js('function make(n) { return function inner(x) { return x + n; }; }\nmodule.exports = make;\n'),
      js('function make(n) { return function inner(x) { return x - n; }; }\nmodule.exports = make;\n'),
    );
    assertLive(r);
    const c = find(r, 'make/inner');
    assert.equal(c.kind, 'nested-closure');
    assert.equal(c.verdict, 'live');
    assert.equal(r.payload!.files[0]!.functions[0]!.usesScope, true);
  });

  it('class-method', async () => {
    const r = await build(
      js('class A { m(x) { return x + 1; } }\nmodule.exports = A;\n'),
      js('class A { m(x) { return x + 2; } }\nmodule.exports = A;\n'),
    );
    assertLive(r);
    assert.equal(find(r, 'A#m').kind, 'class-method');
  });

  it('class-constructor of a derived class', async () => {
    const r = await build(
      js('class B {}\nclass A extends B { constructor(x) { super(); this.y = x; } }\nmodule.exports = A;\n'),
      js(
        'class B {}\nclass A extends B { constructor(x) { super(); this.y = String(x); } }\nmodule.exports = A;\n',
      ),
    );
    assertLive(r);
    assert.equal(find(r, 'A#constructor').kind, 'class-constructor');
    assert.equal(r.payload!.files[0]!.functions[0]!.call, 'construct');
  });

  it('new-helper: a new module-level function used by the fix', async () => {
    const r = await build(
      js('function f(a) { return a; }\nmodule.exports = f;\n'),
      js(
        "function check(a) { if (a === '__proto__') throw new Error('no'); }\nfunction f(a) { check(a); return a; }\nmodule.exports = f;\n",
      ),
    );
    assertLive(r);
    assert.equal(find(r, 'check').kind, 'new-helper');
    assert.equal(find(r, 'check').verdict, 'live');
    assert.equal(find(r, 'f').verdict, 'live');
  });

  it('new-constant: a new module-level constant used by the fix', async () => {
    const r = await build(
      js('function f(a) { return a.length < 10; }\nmodule.exports = f;\n'),
      js('const MAX = 5;\nfunction f(a) { return a.length < MAX; }\nmodule.exports = f;\n'),
    );
    assertLive(r);
    assert.equal(find(r, 'MAX').kind, 'new-constant');
    assert.equal(find(r, 'MAX').verdict, 'live');
  });

  it('module-constant: a changed module-level regex (glob-parent style)', async () => {
    const r = await build(
      js('const RE = /(a+)+b/;\nfunction f(a) { return RE.test(a); }\nmodule.exports = f;\n'),
      js('const RE = /a+b/;\nfunction f(a) { return RE.test(a); }\nmodule.exports = f;\n'),
    );
    assertLive(r);
    assert.equal(find(r, 'RE').kind, 'module-constant');
    assert.equal(find(r, 'RE').verdict, 'live');
    // The unchanged user of the constant is redirected too, so it sees the new value.
    assert.equal(find(r, 'f').verdict, 'live');
  });

  it('renamed function: matched to the running one by content', async () => {
    const r = await build(
      js(
        'function oldName(a) { return a + 1; }\nfunction g(a) { return oldName(a); }\nmodule.exports = g;\n',
      ),
      js(
        'function newName(a) { return a + 2; }\nfunction g(a) { return newName(a); }\nmodule.exports = g;\n',
      ),
    );
    assertLive(r);
    const c = find(r, 'oldName');
    assert.equal(c.kind, 'function-body');
    assert.equal(c.verdict, 'live');
    assert.deepEqual(
      r.payload!.files[0]!.functions.map((f) => f.key),
      ['oldName'],
    );
  });

  it('edits use UTF-16 offsets (astral characters before the change)', async () => {
    const r = await build(
      js("const s = '𝒳𝒳';\nfunction f(a) { return s + a + 1; }\nmodule.exports = f;\n"),
      js("const s = '𝒳𝒳';\nfunction f(a) { return s + a + 2; }\nmodule.exports = f;\n"),
    );
    assertLive(r);
    const base = "const s = '𝒳𝒳';\nfunction f(a) { return s + a + 1; }\nmodule.exports = f;\n";
    assert.equal(applyEdits(base, r.payload!.files[0]!), base.replace('a + 1', 'a + 2'));
  });
});

describe('buildPatch verdicts: need a restart (no payload)', () => {
  it('top-level-side-effect: changed code that runs at load', async () => {
    const r = await build(
      js("function f(a) { return a; }\nprocess.env.X = 'a';\nmodule.exports = f;\n"),
      js("function f(a) { return a; }\nprocess.env.X = 'b';\nmodule.exports = f;\n"),
    );
    assertRestart(r);
    assert.ok(r.changes.some((c) => c.kind === 'top-level-side-effect' && c.verdict === 'restart'));
  });

  it('export-shape: changed module.exports', async () => {
    const r = await build(
      js('function f(a) { return a; }\nfunction g(a) { return a; }\nmodule.exports = { f };\n'),
      js('function f(a) { return a; }\nfunction g(a) { return a; }\nmodule.exports = { f, g };\n'),
    );
    assertRestart(r);
    assert.ok(r.changes.some((c) => c.kind === 'export-shape' && c.verdict === 'restart'));
  });

  it('module-state: new state initialised at load', async () => {
    const r = await build(
      js('function f(a) { return a; }\nmodule.exports = f;\n'),
      js('const seen = new Map();\nfunction f(a) { seen.set(a, 1); return a; }\nmodule.exports = f;\n'),
    );
    assertRestart(r);
    assert.ok(r.changes.some((c) => c.kind === 'module-state' && c.verdict === 'restart'));
  });

  it('new-dependency: a new require()', async () => {
    const r = await build(
      js('function f(a) { return String(a); }\nmodule.exports = f;\n'),
      js(
        "const util = require('node:util');\nfunction f(a) { return util.inspect(a); }\nmodule.exports = f;\n",
      ),
    );
    assertRestart(r);
    assert.ok(r.changes.some((c) => c.kind === 'new-dependency' && c.verdict === 'restart'));
  });

  it('new-file required by the changed code', async () => {
    const r = await build(js('function f(a) { return a; }\nmodule.exports = f;\n'), {
      'index.js': "const h = require('./helper');\nfunction f(a) { return h(a); }\nmodule.exports = f;\n",
      'helper.js': 'module.exports = (a) => a;\n',
    });
    assertRestart(r);
    assert.equal(find(r, 'helper.js').kind, 'new-file');
    assert.equal(find(r, 'helper.js').verdict, 'restart');
  });

  it('uncaptured-binding: a closure needs a variable running closures do not retain', async () => {
    const r = await build(
      js(
        'function make() { let count = 0; return function inner(x) { return x; }; }\nmodule.exports = make;\n',
      ),
      js(
        'function make() { let count = 0; return function inner(x) { return x + count; }; }\nmodule.exports = make;\n',
      ),
    );
    assertRestart(r);
    const c = find(r, 'make/inner');
    assert.equal(c.kind, 'uncaptured-binding');
    assert.equal(c.verdict, 'restart');
  });

  it('parameter-list: an arrow function gained a parameter', async () => {
    const r = await build(
      js('const f = (a) => a + 1;\nmodule.exports = f;\n'),
      js('const f = (a, b) => a + b;\nmodule.exports = f;\n'),
    );
    assertRestart(r);
    assert.equal(find(r, 'f').kind, 'parameter-list');
  });

  it('unsupported-syntax: super in a method, private fields in a derived constructor', async () => {
    const r1 = await build(
      js(
        'class B { m() { return 1; } }\nclass A extends B { m() { return super.m() + 1; } }\nmodule.exports = A;\n',
      ),
      js(
        'class B { m() { return 1; } }\nclass A extends B { m() { return super.m() + 2; } }\nmodule.exports = A;\n',
      ),
    );
    assertRestart(r1);
    assert.equal(find(r1, 'A#m').kind, 'unsupported-syntax');
    const r2 = await build(
      js(
        'class B {}\nclass A extends B { #p = 1; constructor() { super(); this.x = 1; } }\nmodule.exports = A;\n',
      ),
      js(
        'class B {}\nclass A extends B { #p = 1; constructor() { super(); this.x = 2; } }\nmodule.exports = A;\n',
      ),
    );
    assertRestart(r2);
    assert.equal(find(r2, 'A#constructor').kind, 'unsupported-syntax');
  });

  it('parse-error: the fixed version does not parse', async () => {
    const r = await build(
      js('function f(a) { return a; }\nmodule.exports = f;\n'),
      js('function f(a) { return a +; }\n'),
    );
    assertRestart(r);
    assert.equal(find(r, 'index.js').kind, 'parse-error');
  });
});

describe('buildPatch verdicts: ignored and deferred', () => {
  it('comment-only and whitespace changes: nothing to hotpatch', async () => {
    const r = await build(
      js('// v1\nfunction f(a) { return a; }\nmodule.exports = f;\n'),
      js('// v2, a better comment\nfunction f(a) {\n  return a;\n}\nmodule.exports = f;\n'),
    );
    assert.equal(r.refusal, 'nothing');
    assert.equal(r.payload, null);
    assert.equal(find(r, 'index.js').kind, 'comment-only');
    assert.equal(find(r, 'index.js').verdict, 'ignored');
  });

  it('version-string: package.json version is ignored', async () => {
    const r = await build(js('module.exports = 1;\n'), js('module.exports = 1;\n'));
    assert.equal(r.refusal, 'nothing');
    const c = find(r, 'package.json version');
    assert.equal(c.kind, 'version-string');
    assert.equal(c.verdict, 'ignored');
  });

  it('version-string in code: a version literal in module code is not a change', async () => {
    const r = await build(
      js("exports.version = '1.0.0';\nexports.f = function f(a) { return a; };\n"),
      js("exports.version = '1.0.1';\nexports.f = function f(a) { return a; };\n"),
    );
    assert.equal(r.refusal, 'nothing');
  });

  it('version-string in code is reported as an ignored version-string change', async () => {
    const r = await build(
      js("exports.version = '1.0.0';\nexports.f = function f(a) { return a; };\n"),
      js("exports.version = '1.0.1';\nexports.f = function f(a) { return a; };\n"),
    );
    assert.ok(
      r.changes.some((c) => c.file === 'index.js' && c.kind === 'version-string' && c.verdict === 'ignored'),
    );
  });

  it('version-string in a module constant is ignored, not patched live', async () => {
    const r = await build(
      js("const VERSION = '1.0.0';\nfunction v() { return VERSION; }\nmodule.exports = v;\n"),
      js("const VERSION = '1.0.1';\nfunction v() { return VERSION; }\nmodule.exports = v;\n"),
    );
    assert.equal(r.refusal, 'nothing');
    assert.ok(!r.changes.some((c) => c.name === 'VERSION' && c.verdict === 'live'), 'not patched live');
    assert.ok(
      r.changes.some((c) => c.file === 'index.js' && c.kind === 'version-string' && c.verdict === 'ignored'),
    );
  });

  it('not-code: docs, readme and tests are ignored', async () => {
    const r = await build(
      { 'index.js': 'module.exports = 1;\n', 'README.md': 'a', 'test/a.js': 'a();\n' },
      { 'index.js': 'module.exports = 1;\n', 'README.md': 'b', 'test/a.js': 'b();\n' },
    );
    assert.equal(r.refusal, 'nothing');
    for (const name of ['README.md', 'test/a.js']) {
      assert.equal(find(r, name).kind, 'not-code');
      assert.equal(find(r, name).verdict, 'ignored');
    }
  });

  it('dependency-range: changed dependencies are deferred', async () => {
    const pkg = (v: string, dep: string) =>
      JSON.stringify({ name: 'demo', version: v, dependencies: { x: dep } });
    const r = await build(
      {
        'package.json': pkg('1.0.0', '^1.0.0'),
        'index.js': 'function f(a) { return a + 1; }\nmodule.exports = f;\n',
      },
      {
        'package.json': pkg('1.0.1', '^1.0.1'),
        'index.js': 'function f(a) { return a + 2; }\nmodule.exports = f;\n',
      },
    );
    assertLive(r);
    assert.equal(find(r, 'package.json dependencies').kind, 'dependency-range');
    assert.equal(find(r, 'package.json dependencies').verdict, 'deferred');
  });

  it('removed-function: deferred', async () => {
    const r = await build(
      js('function old(a) { return a; }\nfunction f(a) { return a; }\nmodule.exports = f;\n'),
      js('function f(a) { return a + 1; }\nmodule.exports = f;\n'),
    );
    assertLive(r);
    assert.equal(find(r, 'old').kind, 'removed-function');
    assert.equal(find(r, 'old').verdict, 'deferred');
  });

  it('--only: the selected function is live, an unrelated change is deferred', async () => {
    const r = await build(
      js('function f(a) { return a + 1; }\nfunction g(a) { return a * 1; }\nmodule.exports = { f, g };\n'),
      js('function f(a) { return a + 2; }\nfunction g(a) { return a * 2; }\nmodule.exports = { f, g };\n'),
      { only: ['index.js:f'] },
    );
    assertLive(r);
    assert.equal(find(r, 'f').verdict, 'live');
    assert.equal(find(r, 'g').verdict, 'deferred');
    assert.deepEqual(
      r.payload!.files[0]!.functions.map((f) => f.key),
      ['f'],
    );
  });

  it('--only: restart-needing changes outside the selection are deferred', async () => {
    const r = await build(
      js('function f(a) { return a + 1; }\nmodule.exports = { f };\n'),
      js(
        "const util = require('node:util');\nfunction f(a) { return a + 2; }\nfunction g(a) { return util.inspect(a); }\nmodule.exports = { f, g };\n",
      ),
      { only: ['index.js:f'] },
    );
    assertLive(r);
    assert.equal(find(r, 'f').verdict, 'live');
    assert.ok(!r.changes.some((c) => c.verdict === 'restart'));
    assert.ok(r.changes.some((c) => c.kind === 'new-dependency' && c.verdict === 'deferred'));
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

  it('--from and --to of different packages: E_TARGET_MISMATCH', async () => {
    await assert.rejects(
      build(js('module.exports = 1;\n'), js('module.exports = 2;\n'), {}, ['demo', 'other']),
      (e: unknown) => e instanceof HotpatchError && e.code === 'E_TARGET_MISMATCH' && e.exitCode === 2,
    );
  });
});

/**
 * The runtime's own V8 code cache for the instrumented CommonJS modules (cjs-code-cache.ts), on
 * Node versions without a module compile cache (Node 20, 22 before 22.8), with real processes:
 * written by a first start, accepted by V8 at the next, a corrupt or rejected entry only costs the
 * compile, an unwritable home no cache; a module from the cache keeps Node's stack traces,
 * breakpoints and import(), and a hotpatch applies to it. NODE_DEBUG=hotpatch says, per module,
 * whether its entry was accepted, missing, corrupt or rejected.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildPatch, resolveSpec } from '@hotpatch/builder';
import { generateSigningKey, loadPrivateKey, serializeBundle, signBundle } from '@hotpatch/core';
import { applyTo } from '@hotpatch/runtime';
import { advisoryOf, buildSigned, checkFile, installApp } from './testing/advisories.js';
import { nodeBinaries } from './testing/nodes.js';
import { Probe, preloadFile } from './testing/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'hotpatch-cjs-cache-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const app = join(dir, 'app');
mkdirSync(join(app, 'esm'), { recursive: true });
// Errors at known lines and columns (none on line 1, where the instrumentation adds its preamble).
const libText = (word: string) =>
  [
    'const a = 1;',
    `exports.f = function f(x) { return ${JSON.stringify(word)} + (x + a); };`,
    'exports.boom = function boom() {',
    "  throw new Error('boom');",
    '};',
    '',
  ].join('\n');
writeFileSync(join(app, 'esm', 'value.mjs'), "export const value = 'from esm';\n");
// A module that calls import(): compiled by Node, not from the cache (cjs-code-cache.ts says why).
writeFileSync(join(app, 'importer.cjs'), "module.exports = () => import('./esm/value.mjs');\n");
writeFileSync(join(app, 'throws.cjs'), '// thrown as it loads\n\n  null.x;\n');
// The entry: a breakpoint on lib.cjs line 4 (an in-process inspector session), an error from a
// function and one from a module's top level, an import() from importer.cjs.
writeFileSync(
  join(app, 'entry.cjs'),
  `const inspector = require('node:inspector');
const session = new inspector.Session();
session.connect();
const hits = [];
session.on('Debugger.paused', (m) => {
  const f = m.params.callFrames[0];
  hits.push({ line: f.location.lineNumber + 1, column: f.location.columnNumber + 1, name: f.functionName });
  session.post('Debugger.resume');
});
session.post('Debugger.enable');
session.post('Debugger.setBreakpointByUrl', { urlRegex: 'lib\\\\.cjs$', lineNumber: 3 });
const lib = require('./lib.cjs');
const frame = (f) => { try { f(); } catch (e) { return e.stack.split('\\n')[1].trim(); } };
const fromFunction = frame(() => lib.boom());
const fromTopLevel = frame(() => require('./throws.cjs'));
require('./importer.cjs')().then((esm) => {
  console.log(JSON.stringify({ out: lib.f(1), guarded: String(lib.f).includes('__hp$s'), fromFunction, fromTopLevel, hits, esm: esm.value }));
});
`,
);
const entry = join(app, 'entry.cjs');

type State = 'accepted' | 'missing' | 'corrupt' | 'rejected';

/** Runs the entry (under the runtime unless `runtime` is false): its output and each module's cache state. */
function run(bin: string, home: string, runtime = true) {
  const res = spawnSync(bin, [...(runtime ? ['--require', preloadFile] : []), entry], {
    cwd: app,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, HOTPATCH_HOME: home, HOTPATCH_SERVICE: 'cjs-cache', NODE_DEBUG: 'hotpatch' },
  });
  assert.equal(res.status, 0, res.stderr);
  assert.doesNotMatch(res.stderr, /hotpatch: warning|unpatched/);
  const states: Record<string, State> = {};
  for (const m of res.stderr.matchAll(/^HOTPATCH \d+: (.+): code cache (\w+)$/gm))
    states[m[1]!.slice(app.length + 1)] = m[2] as State;
  return { output: JSON.parse(res.stdout.trim().split('\n').pop()!) as Record<string, unknown>, states };
}

const every = (state: State) => ({
  'entry.cjs': state,
  'lib.cjs': state,
  'throws.cjs': state,
});

/** The cache's entries (one directory per Node version and flags under HOTPATCH_HOME/compiled). */
function entries(home: string): string[] {
  const compiled = join(home, 'compiled');
  if (!existsSync(compiled)) return [];
  return readdirSync(compiled)
    .filter((d) => d.startsWith('cjs'))
    .flatMap((d) => readdirSync(join(compiled, d)).map((f) => join(compiled, d, f)));
}

const hasCompileCache = (bin: string) =>
  spawnSync(bin, ['-p', `typeof require('node:module').enableCompileCache`], {
    encoding: 'utf8',
  }).stdout.trim() === 'function';

for (const { major, bin } of nodeBinaries()) {
  const skip = hasCompileCache(bin) && `Node ${major} has a module compile cache (the runtime uses Node's)`;
  describe(`Node ${major}: the runtime's code cache for CommonJS modules`, { skip }, () => {
    const home = join(dir, `home-${major}`);
    let expected: Record<string, unknown>;
    before(() => {
      writeFileSync(join(app, 'lib.cjs'), libText('A'));
      // What Node itself gives without the runtime: the same frames, breakpoint and import().
      const plain = run(bin, join(dir, `plain-${major}`), false).output;
      expected = { ...plain, guarded: true };
      assert.equal(plain.out, 'A2');
      assert.equal(plain.esm, 'from esm');
      assert.match(String(plain.fromFunction), /lib\.cjs:4:9\)$/);
      assert.match(String(plain.fromTopLevel), /throws\.cjs:3:8\)$/);
      assert.deepEqual(plain.hits, [{ line: 4, column: 3, name: 'boom' }]);
    });

    it('the first start compiles every module and writes their entries', () => {
      const r = run(bin, home);
      assert.deepEqual(r.states, every('missing'));
      assert.deepEqual(r.output, expected);
      assert.equal(entries(home).length, 3);
    });

    it('the next start runs them from the cache (V8 accepts it), with Node’s frames, breakpoints and import()', () => {
      const r = run(bin, home);
      assert.deepEqual(r.states, every('accepted'));
      assert.deepEqual(r.output, expected);
    });

    it('a corrupt entry is refused before V8 sees it: the module runs, and its entry is written again', () => {
      for (const file of entries(home)) {
        const bytes = readFileSync(file);
        bytes[bytes.length >> 1]! ^= 0x5a;
        writeFileSync(file, bytes);
      }
      const r = run(bin, home);
      assert.deepEqual(r.states, every('corrupt'));
      assert.deepEqual(r.output, expected);
      assert.deepEqual(run(bin, home).states, every('accepted'));
    });

    it('an entry V8 rejects (another module’s, under this name) only costs the compile', () => {
      const files = entries(home);
      const contents = files.map((f) => readFileSync(f));
      for (const [i, f] of files.entries()) writeFileSync(f, contents[(i + 1) % files.length]!);
      const r = run(bin, home);
      assert.deepEqual(r.states, every('rejected'));
      assert.deepEqual(r.output, expected);
      assert.deepEqual(run(bin, home).states, every('accepted'));
    });

    it('a module changed to text of the same length runs its new text (entries are named by the text)', () => {
      writeFileSync(join(app, 'lib.cjs'), libText('B'));
      const r = run(bin, home);
      assert.equal(r.states['lib.cjs'], 'missing');
      assert.deepEqual(r.output, { ...expected, out: 'B2' });
      assert.equal(run(bin, home).states['lib.cjs'], 'accepted');
      writeFileSync(join(app, 'lib.cjs'), libText('A'));
    });

    it('an unwritable home: no cache, and the app runs', () => {
      const unwritable = join(dir, `unwritable-${major}`);
      mkdirSync(unwritable);
      writeFileSync(join(unwritable, 'compiled'), 'a file where the directory would be');
      for (let i = 0; i < 2; i++) {
        const r = run(bin, unwritable);
        assert.deepEqual(r.states, every('missing'));
        assert.deepEqual(r.output, expected);
      }
    });
  });
}

describe('a hotpatch applies to a module compiled from the runtime’s code cache', () => {
  const node = nodeBinaries().find((n) => !hasCompileCache(n.bin));
  const home = join(dir, 'apply-home');
  const key = generateSigningKey();
  const keyFile = join(dir, 'apply.pub');
  const minimist = advisoryOf('minimist@1.2.5');
  const checkPath = checkFile(minimist); // the corpus's exploit check (CVE-2021-44906)
  let minimistDir: string;
  before(() => {
    writeFileSync(keyFile, key.publicKeyPem);
    minimistDir = installApp('minimist', '1.2.5');
  });

  it(
    'minimist 1.2.5 from the cache, then CVE-2021-44906 fixed live',
    { skip: !node && 'no Node without a compile cache' },
    async () => {
      const env = {
        ...process.env,
        HOTPATCH_HOME: home,
        HOTPATCH_TRUSTED_KEYS: keyFile,
        HOTPATCH_SERVICE: 'cjs-cache-apply',
        NODE_DEBUG: 'hotpatch',
      };
      const minimistState = (stderr: string) =>
        /node_modules\/minimist\/index\.js: code cache (\w+)/.exec(stderr)?.[1];
      const first = new Probe(node!.bin, env);
      try {
        assert.equal((await first.check(checkPath, minimistDir)).exploit, true);
        assert.equal(minimistState(first.stderr), 'missing');
        // Written once start-up settles (no module compiled for a second).
        const deadline = Date.now() + 20_000;
        while (
          entries(home).length < first.stderr.split('code cache missing').length - 1 &&
          Date.now() < deadline
        )
          await new Promise((r) => setTimeout(r, 200));
      } finally {
        await first.stop();
      }
      const bundle = (await buildSigned(minimist, key)).bytes;
      const probe = new Probe(node!.bin, env);
      process.env.HOTPATCH_HOME = home; // where applyTo finds the process's socket
      try {
        assert.equal((await probe.check(checkPath, minimistDir)).exploit, true);
        assert.equal(minimistState(probe.stderr), 'accepted');
        assert.equal((await applyTo(probe.pid, bundle)).state, 'applied');
        const after = await probe.check(checkPath, minimistDir);
        assert.deepEqual([after.exploit, after.normal], [false, true]);
      } finally {
        await probe.stop();
      }
    },
  );
});

describe('a patch whose code calls import(), for a module compiled from the runtime’s code cache', () => {
  const node = nodeBinaries().find((n) => !hasCompileCache(n.bin));
  const home = join(dir, 'import-home');
  const key = generateSigningKey();
  const keyFile = join(dir, 'import.pub');
  const root = join(dir, 'import-fixture');
  // v1 answers -1; the fix imports a builtin (import() in a replacement, compiled in the module's scope).
  const lib = (body: string) => `async function load() {\n  ${body}\n}\nmodule.exports = { load };\n`;
  const check = join(root, 'check.cjs');
  let bundle: Buffer;
  before(async () => {
    writeFileSync(keyFile, key.publicKeyPem);
    for (const [v, body] of [
      ['v1', 'return -1;'],
      ['v2', "return (await import('node:os')).EOL.length;"],
    ] as const) {
      mkdirSync(join(root, v), { recursive: true });
      writeFileSync(join(root, v, 'package.json'), JSON.stringify({ name: 'import-app', version: '1.0.0' }));
      writeFileSync(join(root, v, 'lib.js'), lib(body));
    }
    writeFileSync(
      check,
      `module.exports = {
      async exploit(load) { return (await load('./lib.js').load()) === -1; },
      normal() { return true; },
    };`,
    );
    const result = buildPatch({
      from: await resolveSpec(join(root, 'v1')),
      to: await resolveSpec(join(root, 'v2')),
      advisories: ['GHSA-test-impo-rt00'],
    });
    assert.ok(result.payload, 'fixture builds live');
    bundle = Buffer.from(serializeBundle(signBundle(result.payload, loadPrivateKey(key.privateKeyPem))));
  });

  it(
    'is refused (never applied to code that cannot run it), and applies after a restart',
    {
      skip: !node && 'no Node without a compile cache',
    },
    async () => {
      const env = {
        ...process.env,
        HOTPATCH_HOME: home,
        HOTPATCH_TRUSTED_KEYS: keyFile,
        HOTPATCH_SERVICE: 'cjs-cache-import',
        NODE_DEBUG: 'hotpatch',
      };
      const libState = (stderr: string) => /import-fixture\/v1\/lib\.js: code cache (\w+)/.exec(stderr)?.[1];
      process.env.HOTPATCH_HOME = home; // where applyTo finds the process's socket
      const start = async (state: string) => {
        const probe = new Probe(node!.bin, env);
        assert.equal((await probe.check(check, join(root, 'v1'))).exploit, true);
        assert.equal(libState(probe.stderr), state);
        return probe;
      };
      const first = await start('missing');
      const deadline = Date.now() + 20_000;
      while (
        entries(home).length < first.stderr.split('code cache missing').length - 1 &&
        Date.now() < deadline
      )
        await new Promise((r) => setTimeout(r, 200));
      await first.stop();

      const cached = await start('accepted');
      try {
        await assert.rejects(
          applyTo(cached.pid, bundle),
          /calls import\(\).*restart the process and apply again/,
        );
        assert.equal((await cached.check(check, join(root, 'v1'))).exploit, true, 'the old code still runs');
      } finally {
        await cached.stop();
      }

      const restarted = await start('declined');
      try {
        assert.equal((await applyTo(restarted.pid, bundle)).state, 'applied');
        assert.equal(
          (await restarted.check(check, join(root, 'v1'))).exploit,
          false,
          'the fix runs, import() too',
        );
      } finally {
        await restarted.stop();
      }
    },
  );
});

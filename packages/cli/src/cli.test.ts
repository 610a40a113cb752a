import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createProgram } from './main.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(repoRoot, 'packages/cli/bin/hotpatch.js');
const tmp = mkdtempSync(join(tmpdir(), 'hotpatch-cli-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function hotpatch(...args: string[]): Run {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: tmp,
    encoding: 'utf8',
    env: { ...process.env, HOTPATCH_CACHE: join(tmp, 'cache') },
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function writeTree(dir: string, files: Record<string, string>): string {
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

const pkg = (version: string) => JSON.stringify({ name: 'tiny', version, main: 'index.js' });
const v1 = writeTree(join(tmp, 'tiny-1.0.0'), {
  'package.json': pkg('1.0.0'),
  'index.js': 'function get(obj, key) { return obj[key]; }\nmodule.exports = { get };\n',
});
const v2 = writeTree(join(tmp, 'tiny-1.0.1'), {
  'package.json': pkg('1.0.1'),
  'index.js':
    "function get(obj, key) { if (key === '__proto__') return undefined; return obj[key]; }\nmodule.exports = { get };\n",
});
const v2restart = writeTree(join(tmp, 'tiny-1.0.2'), {
  'package.json': pkg('1.0.2'),
  'index.js':
    "process.on('exit', () => {});\nfunction get(obj, key) { if (key === '__proto__') return undefined; return obj[key]; }\nmodule.exports = { get };\n",
});
const keys = join(tmp, 'keys');

describe('hotpatch CLI', () => {
  it('--help lists every command and the exit codes', () => {
    const r = hotpatch('--help');
    assert.equal(r.status, 0, r.stderr);
    const registered = createProgram().commands.map((c) => c.name());
    for (const cmd of ['build', 'keygen', 'inspect'])
      assert.ok(registered.includes(cmd), `${cmd} is not registered`);
    for (const cmd of registered)
      assert.match(r.stdout, new RegExp(`^\\s+${cmd}\\b`, 'm'), `--help does not list ${cmd}`);
    assert.match(r.stdout, /Exit codes:/);
    for (const cmd of registered) {
      const sub = hotpatch(cmd, '--help');
      assert.equal(sub.status, 0, sub.stderr);
      assert.match(sub.stdout, new RegExp(`Usage: hotpatch ${cmd}`));
    }
  });

  it('usage errors exit 2', () => {
    assert.equal(hotpatch('no-such-command').status, 2);
    const r = hotpatch('build', '--from', v1);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /required option/);
    assert.equal(
      hotpatch('build', '--from', v1, '--to', v2, '--key', 'k', '--out', 'o', '--severity', 'huge').status,
      2,
    );
    // Several server workers share PostgreSQL; embedded PGlite is one process.
    const workers = hotpatch('server', '--workers', '2', '--data', join(tmp, 'server-workers'));
    assert.equal(workers.status, 2, workers.stderr);
    assert.match(workers.stderr, /--workers needs --database-url/);
    assert.equal(hotpatch('server', '--workers', '0', '--data', join(tmp, 'server-workers')).status, 2);
  });

  it('keygen writes a key pair (private key mode 0600) and refuses to overwrite it', () => {
    const r = hotpatch('keygen', '--out', keys);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /key id [0-9a-f]{16}/);
    assert.equal(statSync(join(keys, 'hotpatch.key')).mode & 0o777, 0o600);
    assert.match(readFileSync(join(keys, 'hotpatch.key'), 'utf8'), /BEGIN PRIVATE KEY/);
    assert.match(readFileSync(join(keys, 'hotpatch.pub'), 'utf8'), /BEGIN PUBLIC KEY/);
    const again = hotpatch('keygen', '--out', keys);
    assert.equal(again.status, 2);
    assert.match(again.stderr, /already exists.*--force/);
    const other = join(tmp, 'keys2');
    assert.equal(hotpatch('keygen', '--out', other).status, 0);
    assert.equal(hotpatch('keygen', '--out', other, '--force').status, 0);
  });

  it('build → inspect --json --trust: a valid, trusted bundle', () => {
    const out = join(tmp, 'tiny.hpatch');
    const b = hotpatch(
      'build',
      '--from',
      v1,
      '--to',
      v2,
      '--key',
      join(keys, 'hotpatch.key'),
      '--out',
      out,
      '--advisory',
      'CVE-2099-0001',
      '--severity',
      'high',
      '--id',
      'HP-TEST-1',
    );
    assert.equal(b.status, 0, b.stderr);
    assert.match(b.stdout, /live\s+function-changed\s+index\.js:get/);
    assert.match(b.stdout, /wrote .*tiny\.hpatch: HP-TEST-1, tiny 1\.0\.0\+hp\.1/);
    assert.ok(existsSync(out));
    assert.deepEqual(
      readdirSync(tmp).filter((f) => f.includes('.tmp-')),
      [],
      'no temporary files left',
    );

    const i = hotpatch('inspect', out, '--json', '--trust', join(keys, 'hotpatch.pub'));
    assert.equal(i.status, 0, i.stderr);
    const summary = JSON.parse(i.stdout) as {
      patchId: string;
      version: string;
      advisories: string[];
      severity: string;
      fixedIn: string;
      signature: { state: string; keyId: string };
      files: Array<{
        path: string;
        baselineSha256: string;
        changes: Array<{ verdict: string; kind: string }>;
      }>;
    };
    assert.equal(summary.patchId, 'HP-TEST-1');
    assert.equal(summary.version, '1.0.0+hp.1');
    assert.deepEqual(summary.advisories, ['CVE-2099-0001']);
    assert.equal(summary.severity, 'high');
    assert.equal(summary.fixedIn, '1.0.1');
    assert.equal(summary.signature.state, 'valid');
    assert.equal(summary.files[0]?.path, 'index.js');
    assert.equal(summary.files[0]?.changes[0]?.verdict, 'live');

    const text = hotpatch('inspect', out, '--trust', join(keys, 'hotpatch.pub'));
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /signature:\s+valid, trusted key [0-9a-f]{16}/);
    assert.match(text.stdout, /baseline sha256 [0-9a-f]{12}/);

    const noTrust = hotpatch('inspect', out);
    assert.equal(noTrust.status, 0, noTrust.stderr);
    assert.match(noTrust.stdout, /not verified \(no --trust\)/);

    hotpatch('keygen', '--out', join(tmp, 'keys3'));
    const untrusted = hotpatch('inspect', out, '--trust', join(tmp, 'keys3', 'hotpatch.pub'));
    assert.equal(untrusted.status, 2);
    assert.match(untrusted.stdout, /signed by untrusted key/);

    const altered = join(tmp, 'altered.hpatch');
    writeFileSync(altered, readFileSync(out, 'utf8').replace("'__proto__'", "'__proto_x'"));
    const bad = hotpatch('inspect', altered, '--json', '--trust', join(keys, 'hotpatch.pub'));
    assert.equal(bad.status, 2);
    assert.equal((JSON.parse(bad.stdout) as { signature: { state: string } }).signature.state, 'invalid');
  });

  it('build of a fix that needs a restart exits 3 and writes no bundle', () => {
    const out = join(tmp, 'restart.hpatch');
    const r = hotpatch(
      'build',
      '--from',
      v1,
      '--to',
      v2restart,
      '--key',
      join(keys, 'hotpatch.key'),
      '--out',
      out,
    );
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stdout, /restart\s+side-effect-changed/);
    assert.match(r.stderr, /needs a restart/);
    assert.ok(!existsSync(out));
    assert.deepEqual(
      readdirSync(tmp).filter((f) => f.startsWith('restart.hpatch')),
      [],
    );
  });

  it('build --migrate FILE:SCRIPT carries an author migration (with its revert); bad values exit 2', () => {
    const script = join(tmp, 'migrate.js');
    const revert = join(tmp, 'migrate-revert.js');
    writeFileSync(script, 'module.exports.limit = 10;\n');
    writeFileSync(revert, 'delete module.exports.limit;\n');
    const out = join(tmp, 'migrate.hpatch');
    const base = ['build', '--from', v1, '--to', v2, '--key', join(keys, 'hotpatch.key'), '--out', out];
    const r = hotpatch(
      ...base,
      '--migrate',
      `index.js:${script}`,
      '--migrate-revert',
      `./index.js:${revert}`,
      '--json',
    );
    assert.equal(r.status, 0, r.stderr);
    assert.ok(
      (JSON.parse(r.stdout) as { changes: Array<{ id: string }> }).changes.some(
        (c) => c.id === 'migration-author',
      ),
    );
    const bundle = JSON.parse(readFileSync(out, 'utf8')) as {
      payload: { files: Array<{ path: string; migrations: Array<Record<string, unknown>> }> };
    };
    const m = bundle.payload.files
      .find((f) => f.path === 'index.js')!
      .migrations.find((x) => x.kind === 'script');
    assert.deepEqual(m, {
      kind: 'script',
      source: 'module.exports.limit = 10;\n',
      revert: 'delete module.exports.limit;\n',
      author: true,
    });
    const shown = hotpatch('inspect', out);
    assert.equal(shown.status, 0, shown.stderr);
    assert.match(shown.stdout, /assisted:\s+carries migrations written by the patch author/);
    assert.match(shown.stdout, /index\.js .*1 migration\(s\)/);
    assert.match(shown.stdout, /live\s+migration-author/);
    const json = JSON.parse(hotpatch('inspect', out, '--json').stdout) as {
      authorAssisted: boolean;
      files: Array<{ migrations: Array<{ kind: string; author: boolean }> }>;
    };
    assert.equal(json.authorAssisted, true);
    assert.deepEqual(json.files[0]!.migrations, [{ kind: 'script', author: true }]);
    for (const [bad, why] of [
      [['--migrate', 'index.js'], /expected FILE:SCRIPT/],
      [['--migrate', `index.js:${join(tmp, 'nope.js')}`], /cannot read --migrate script/],
      [['--migrate', `nope.js:${script}`], /--migrate nope\.js: no such code file/],
      [['--migrate-revert', `index.js:${revert}`], /no --migrate for index\.js/],
    ] as const) {
      const e = hotpatch(...base, ...bad);
      assert.equal(e.status, 2, `${bad.join(' ')}: ${e.stderr}`);
      assert.match(e.stderr, why);
      // Progress lines may come first; the error is one line.
      assert.equal(e.stderr.split('\n').filter((l) => l.startsWith('hotpatch:')).length, 1, e.stderr);
      assert.doesNotMatch(e.stderr, /\n\s+at /);
    }
  });

  it('build with nothing to hotpatch exits 4; --json prints the changes', () => {
    const same = writeTree(join(tmp, 'tiny-1.0.3'), {
      'package.json': pkg('1.0.3'),
      'index.js':
        '// only a comment changed\nfunction get(obj, key) { return obj[key]; }\nmodule.exports = { get };\n',
    });
    const out = join(tmp, 'nothing.hpatch');
    const r = hotpatch(
      'build',
      '--from',
      v1,
      '--to',
      same,
      '--key',
      join(keys, 'hotpatch.key'),
      '--out',
      out,
      '--json',
    );
    assert.equal(r.status, 4, r.stderr);
    const json = JSON.parse(r.stdout) as { refusal: string; changes: Array<{ kind: string }> };
    assert.equal(json.refusal, 'nothing');
    assert.ok(json.changes.some((c) => c.kind === 'comment-only'));
    assert.ok(!existsSync(out));
  });

  it('build refuses bad keys, missing output directories and mismatched packages with exit 2', () => {
    const key = join(keys, 'hotpatch.key');
    const out = join(tmp, 'x.hpatch');
    const noKey = hotpatch('build', '--from', v1, '--to', v2, '--key', join(tmp, 'nope.key'), '--out', out);
    assert.equal(noKey.status, 2);
    assert.equal(noKey.stderr.trim().split('\n').length, 1, noKey.stderr);
    const notKey = hotpatch(
      'build',
      '--from',
      v1,
      '--to',
      v2,
      '--key',
      join(keys, 'hotpatch.pub'),
      '--out',
      out,
    );
    assert.equal(notKey.status, 2);
    assert.match(notKey.stderr, /not a PEM private key/);
    const noDir = hotpatch(
      'build',
      '--from',
      v1,
      '--to',
      v2,
      '--key',
      key,
      '--out',
      join(tmp, 'missing', 'x.hpatch'),
    );
    assert.equal(noDir.status, 2);
    assert.match(noDir.stderr, /does not exist/);
    const other = writeTree(join(tmp, 'other'), {
      'package.json': JSON.stringify({ name: 'other', version: '1.0.0' }),
    });
    const mismatch = hotpatch('build', '--from', v1, '--to', other, '--key', key, '--out', out);
    assert.equal(mismatch.status, 2);
    assert.match(mismatch.stderr, /both must be versions of one package/);
    assert.ok(!existsSync(out));
  });

  it('inspect of a corrupt or truncated bundle exits 2 with a one-line error', () => {
    const good = readFileSync(join(tmp, 'tiny.hpatch'), 'utf8');
    const truncated = join(tmp, 'truncated.hpatch');
    writeFileSync(truncated, good.slice(0, good.length / 2));
    for (const file of [truncated, join(tmp, 'does-not-exist.hpatch')]) {
      const r = hotpatch('inspect', file);
      assert.equal(r.status, 2);
      assert.equal(r.stdout, '');
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /^hotpatch: /);
    }
  });

  it('a release written as NAME@VERSION (no npm:) exits 2 and names the spelling to use; -o is --out', () => {
    const r = hotpatch(
      'build',
      '--from',
      'left-pad@1.3.0',
      '--to',
      v2,
      '--key',
      join(keys, 'hotpatch.key'),
      '-o',
      'x',
    );
    assert.equal(r.status, 2, r.stderr);
    assert.match(
      r.stderr,
      /^hotpatch: left-pad@1\.3\.0: no such directory .*; did you mean npm:left-pad@1\.3\.0\?$/m,
    );
    assert.doesNotMatch(r.stderr, /required option/, '-o is accepted for --out');
  });

  it('an unknown npm spec exits 2 with a one-line error', () => {
    const r = hotpatch(
      'build',
      '--from',
      'npm:this-package-does-not-exist-hp@1.0.0',
      '--to',
      'npm:this-package-does-not-exist-hp@1.0.1',
      '--key',
      join(keys, 'hotpatch.key'),
      '--out',
      join(tmp, 'unknown.hpatch'),
    );
    assert.equal(r.status, 2, r.stderr);
    const errors = r.stderr
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('hotpatch: '));
    assert.equal(errors.length, 1, r.stderr);
    assert.match(errors[0]!, /this-package-does-not-exist-hp/);
    assert.ok(!existsSync(join(tmp, 'unknown.hpatch')));
  });
});

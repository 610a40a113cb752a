import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// A benchmark asked for --help prints its usage and exits at once (it used to start the whole run).
for (const bench of ['coverage.js', 'oracle.js'])
  test(`${bench} --help prints the usage and runs nothing`, () => {
    const file = fileURLToPath(new URL(bench, import.meta.url));
    const res = spawnSync(process.execPath, [file, '--help'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /^Usage: node packages\/e2e\/dist\/bench\//);
    assert.doesNotMatch(res.stdout + res.stderr, /building|installing/);
  });

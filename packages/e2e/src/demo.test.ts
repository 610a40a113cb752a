/** `hotpatch demo` from start to end: what the README's first command runs. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from './testing/nodes.js';

test('hotpatch demo fixes a real exploit live and cleans up', { timeout: 240_000 }, () => {
  const res = spawnSync(process.execPath, [join(repoRoot, 'packages/cli/bin/hotpatch.js'), 'demo'], {
    encoding: 'utf8',
    timeout: 230_000,
    env: { ...process.env, HOTPATCH_CACHE: join(repoRoot, '.cache', 'builder') },
  });
  const out = `${res.stdout}\n${res.stderr}`;
  assert.equal(res.status, 0, out);
  assert.match(res.stdout, /\[4\/8\] The exploit works[\s\S]*href="javascript:/);
  assert.match(res.stdout, /\[8\/8\][\s\S]*Redirecting to javascript:/);
  assert.doesNotMatch(
    res.stdout.split('[8/8]')[1] ?? '',
    /href="javascript:/,
    'the exploit is gone after the patch',
  );
  assert.match(res.stdout, /0 failed/);
  assert.match(res.stdout, /fixed live, no restart/);
});

/** `hotpatch demo` from start to end: what the README's first command runs. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { validateCycloneDx, validateOpenVex } from '@hotpatch/server';
import { repoRoot } from './testing/nodes.js';

test(
  'hotpatch demo fixes a real exploit live and cleans up; its fleet VEX documents validate',
  { timeout: 240_000 },
  async () => {
    const vexDir = mkdtempSync(join(tmpdir(), 'hotpatch-demo-vex-'));
    const res = spawnSync(
      process.execPath,
      [join(repoRoot, 'packages/cli/bin/hotpatch.js'), 'demo', '--vex-out', vexDir],
      {
        encoding: 'utf8',
        timeout: 230_000,
        env: { ...process.env, HOTPATCH_CACHE: join(repoRoot, '.cache', 'builder') },
      },
    );
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
    // What scanners are told: the express release on disk is fixed in memory.
    assert.match(res.stdout, /VEX for scanners: CVE-2024-43796 on pkg:npm\/express@4\.19\.2: fixed/);
    const openvex = JSON.parse(readFileSync(join(vexDir, 'demo.openvex.json'), 'utf8'));
    assert.equal(validateOpenVex(openvex), null);
    assert.equal(
      await validateCycloneDx(JSON.parse(readFileSync(join(vexDir, 'demo.vex.cdx.json'), 'utf8'))),
      null,
    );
    rmSync(vexDir, { recursive: true, force: true });
  },
);

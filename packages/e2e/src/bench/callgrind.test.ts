import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { callgrindArgs, markTotals, pairSlopes, processTotal } from './callgrind.js';

describe('callgrind marks', () => {
  it('takes (I2 - I1) / (n2 - n1) per consecutive pair of windows', () => {
    const cases: Array<[Array<[number, number]>, number[]]> = [
      // 1,000 fixed + 50 per unit in each window: the fixed part cancels.
      [
        [
          [100, 6_000],
          [300, 16_000],
        ],
        [50],
      ],
      [
        [
          [300, 16_000],
          [100, 6_000],
          [10, 20],
          [20, 40],
        ],
        [50, 2],
      ],
      [[[10, 20]], []],
    ];
    for (const [windows, slopes] of cases) {
      assert.deepEqual(pairSlopes(windows.map(([n, instructions]) => ({ n, instructions }))), slopes);
    }
    assert.throws(() =>
      pairSlopes([
        { n: 5, instructions: 1 },
        { n: 5, instructions: 2 },
      ]),
    );
  });

  it('dumps the instructions since the previous mark at each os.getPriority()', () => {
    const out = mkdtempSync(join(tmpdir(), 'hotpatch-cg-test-'));
    try {
      const script =
        'const os = require("node:os"); os.getPriority(); let s = 0; for (let i = 0; i < 3e6; i++) s += i; os.getPriority(); os.getPriority();';
      const child = execFileSync('valgrind', [...callgrindArgs(out), process.execPath, '-e', script]);
      assert.equal(child.length, 0);
      const pid = Number(/cg\.(\d+)/.exec(execFileSync('ls', [out]).toString())![1]);
      const totals = markTotals(out, pid);
      assert.equal(totals.length, 3);
      // The loop ran between marks 1 and 2; nothing but the mark itself between 2 and 3.
      assert.ok(totals[1]! > 3e6, `loop window ${totals[1]}`);
      assert.ok(totals[2]! < totals[1]! / 10, `empty window ${totals[2]} vs ${totals[1]}`);
      // The whole process: the three dumps and what ran after the last mark, as it exited.
      const whole = processTotal(out, pid);
      assert.ok(whole > totals[0]! + totals[1]! + totals[2]!, `whole ${whole}`);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

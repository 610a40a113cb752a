import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Prepared } from './engines/types.js';
import { commitAll, safePrepare } from './transaction.js';

/** A part over one shared cell, as an engine changes running code: commit sets, rollback restores. */
function part(cells: string[], i: number, value: string, fail?: 'refuse' | 'throw-after-change'): Prepared {
  const before = cells[i]!;
  return {
    ok: true,
    commit: () => {
      if (fail === 'refuse') return { ok: false, pending: true, reason: `cell ${i} is busy` };
      cells[i] = value;
      if (fail === 'throw-after-change') throw new Error(`engine broke on cell ${i}`);
      return null;
    },
    rollback: () => {
      cells[i] = before;
    },
  };
}

describe('commitAll: one change across engines, all or none', () => {
  it('commits every part', () => {
    const cells = ['a', 'b', 'c'];
    assert.equal(commitAll([part(cells, 0, 'A'), part(cells, 1, 'B'), part(cells, 2, 'C')]), null);
    assert.deepEqual(cells, ['A', 'B', 'C']);
  });

  it('a later refusal rolls back the parts before it and is returned as is', () => {
    const cells = ['a', 'b', 'c'];
    const r = commitAll([part(cells, 0, 'A'), part(cells, 1, 'B'), part(cells, 2, 'C', 'refuse')]);
    assert.deepEqual(r, { ok: false, pending: true, reason: 'cell 2 is busy' });
    assert.deepEqual(cells, ['a', 'b', 'c']);
  });

  it('an engine that throws midway is rolled back too, with the parts before it', () => {
    const cells = ['a', 'b', 'c'];
    const r = commitAll([
      part(cells, 0, 'A'),
      part(cells, 1, 'B', 'throw-after-change'),
      part(cells, 2, 'C'),
    ]);
    assert.equal(r?.pending, false);
    assert.match(r?.reason ?? '', /engine error: engine broke on cell 1/);
    assert.deepEqual(cells, ['a', 'b', 'c']);
  });

  it('an exception while preparing is a refusal, before anything changed', () => {
    const r = safePrepare(() => {
      throw new Error('edit beyond the end of lib.js');
    });
    assert.deepEqual(r, { ok: false, pending: false, reason: 'edit beyond the end of lib.js' });
  });
});

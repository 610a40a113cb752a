import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  baselineMonths,
  CalendarError,
  monthKind,
  nextReleases,
  policyCalendar,
  releaseDate,
} from './calendar.js';

test('default cadence: Jan/Apr/Jul/Oct baselines, hotpatches between, 4 restarts a year', () => {
  assert.deepEqual(baselineMonths(), [1, 4, 7, 10]);
  assert.equal(monthKind(1), 'baseline');
  assert.equal(monthKind(2), 'hotpatch');
  assert.equal(monthKind(3), 'hotpatch');
  const cal = policyCalendar(
    [
      { name: 'canary', deferralDays: 0 },
      { name: 'broad', deferralDays: 7 },
    ],
    new Date('2025-01-20T10:00:00Z'),
    4,
  );
  assert.equal(cal.restartsPerYear, 4);
  assert.equal(cal.restartsAvoidedPerYear, 8);
  assert.deepEqual(
    cal.next.map((r) => [r.date, r.kind]),
    [
      ['2025-02-11', 'hotpatch'],
      ['2025-03-11', 'hotpatch'],
      ['2025-04-08', 'baseline'],
      ['2025-05-13', 'hotpatch'],
    ],
  );
  assert.deepEqual(cal.next[0]?.rings, [
    { ring: 'canary', date: '2025-02-11' },
    { ring: 'broad', date: '2025-02-18' },
  ]);
});

test('second Tuesday matches Patch Tuesday (Jan 2025: 14th, Feb 2025: 11th)', () => {
  assert.equal(releaseDate(2025, 1).toISOString().slice(0, 10), '2025-01-14');
  assert.equal(releaseDate(2025, 2).toISOString().slice(0, 10), '2025-02-11');
});

test('configurable months and fixed day; a release on the day itself counts; year wraps', () => {
  const r = nextReleases(new Date('2025-11-05T23:00:00Z'), 3, { baselineMonths: [6, 12], releaseDay: 5 });
  assert.deepEqual(r, [
    { date: '2025-11-05', kind: 'hotpatch', restart: false },
    { date: '2025-12-05', kind: 'baseline', restart: true },
    { date: '2026-01-05', kind: 'hotpatch', restart: false },
  ]);
  assert.equal(
    policyCalendar([], new Date(), 1, { baselineMonths: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] })
      .restartsPerYear,
    12,
  );
});

test('bad options are refused', () => {
  assert.throws(() => baselineMonths({ baselineMonths: [13] }), CalendarError);
  assert.throws(() => baselineMonths({ baselineMonths: [] }), CalendarError);
  assert.throws(() => releaseDate(2025, 1, { releaseDay: 31 }), CalendarError);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pingDecision, stalledRound } from './ping.js';

test('stalledRound: only a round much later than its period', () => {
  for (const [previous, now, want] of [
    [null, 1000, false], // the first round
    [1000, 1300, false], // on time (period 300)
    [1000, 1449, false],
    [1000, 1451, true], // the loop was blocked for half a period or more
    [1000, 9000, true],
  ] as const)
    assert.equal(stalledRound(previous, now, 300), want, `${previous} → ${now}`);
});

test('pingDecision: dropped after two unanswered rounds, never in a stalled round', () => {
  for (const [missed, stalled, want] of [
    [0, false, 'ping'],
    [1, false, 'ping'], // one unanswered round: the pong may be on its way
    [2, false, 'drop'],
    [5, false, 'drop'],
    [2, true, 'ping'], // this process was blocked: the answer may be waiting unread
    [9, true, 'ping'],
  ] as const)
    assert.equal(pingDecision(missed, stalled), want, `missed ${missed}, stalled ${stalled}`);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DeploymentDevice, DeviceState } from '../fleet/model.js';
import { summarize, summarizeCounts } from './deployments.js';

const rows = (...states: DeviceState[]) => states.map((state) => ({ state }) as DeploymentDevice);
const countsOf = (states: DeviceState[]) => {
  const m = new Map<string, number>();
  for (const s of states) m.set(s, (m.get(s) ?? 0) + 1);
  return m;
};

// [states of the deployment's devices, deployment state, settled]
const cases: [DeviceState[], 'active' | 'reverted', boolean][] = [
  [[], 'active', true],
  [['applied', 'applied', 'not-applicable'], 'active', true],
  [['applied', 'applying'], 'active', false],
  [['applied', 'scheduled'], 'active', false],
  [['applied', 'pending'], 'active', false],
  [['failed', 'ineligible', 'superseded'], 'active', true],
  [['reverted', 'reverted'], 'reverted', true],
  [['reverted', 'applied'], 'reverted', false],
];

for (const [states, state, settled] of cases) {
  test(`summary of [${states.join(', ')}] (${state}): settled ${settled}, the same from rows and from counts`, () => {
    const fromRows = summarize(rows(...states), state);
    const fromCounts = summarizeCounts(countsOf(states), state);
    assert.deepEqual(fromCounts, fromRows);
    assert.equal(fromRows.settled, settled);
    assert.equal(fromRows.total, states.length);
    assert.equal(fromRows.counts.applied, states.filter((s) => s === 'applied').length);
  });
}

/**
 * One lock order for the `devices` table. Several statements update many device rows at once, from
 * every server process: facts batches, the status-column refresh, stale marks, disconnects, replica
 * expiry. Left to the plan, each locks its rows in its own order (an index scan's, a hash join's, the
 * batch's), and two of them can each hold a row the other needs: PostgreSQL notices only after
 * `deadlock_timeout` (1 s), aborts one, and the retry waits again. At 5,000 devices these deadlocks
 * stalled the recording of applied states for seconds at a time. Every multi-row update of
 * `devices` therefore first locks its rows in id order through this CTE and joins it: two such
 * statements may wait for each other, never on each other.
 */

/** `WITH locked AS …`: the devices matching `where` (a condition on `devices`), locked in id order. */
export function lockDevicesInOrder(where: string): string {
  return `WITH locked AS MATERIALIZED (SELECT id FROM devices WHERE ${where} ORDER BY id FOR NO KEY UPDATE)`;
}

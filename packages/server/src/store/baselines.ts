/** Baselines: the versions of each target, one of them current. */
import type { Sql } from '../db/types.js';

/** Records a target's version; the first one recorded for a target becomes its current one. */
export async function recordBaseline(q: Sql, target: string, version: string): Promise<void> {
  await q.query(
    `INSERT INTO baselines (target, version, is_current) VALUES ($1, $2, NOT EXISTS (SELECT 1 FROM baselines WHERE target = $1 AND is_current))
     ON CONFLICT (target, version) DO NOTHING`,
    [target, version],
  );
}

/** Makes a version the target's current one (recording it if new). */
export async function setCurrentBaseline(q: Sql, target: string, version: string): Promise<void> {
  await q.query('UPDATE baselines SET is_current = false WHERE target = $1', [target]);
  await q.query(
    'INSERT INTO baselines (target, version, is_current) VALUES ($1, $2, true) ON CONFLICT (target, version) DO UPDATE SET is_current = true',
    [target, version],
  );
}

export async function listBaselines(q: Sql) {
  return (
    await q.query(
      'SELECT target, version, is_current, recorded_at FROM baselines ORDER BY target, recorded_at',
    )
  ).map((r) => ({
    target: r.target,
    version: r.version,
    current: r.is_current,
    recordedAt: r.recorded_at,
  }));
}

/** Health gate reports: each device's windows before and after a patch, with the verdict. */
import type { HealthWindow } from '@hotpatch/protocol';
import type { Sql } from '../db/types.js';
import type { HealthGate, HealthVerdict } from '../fleet/health-gate.js';
import { json } from './convert.js';

/** What judging a device's report needs: the deployment's state, its policy's gate, the device's ring. */
export interface HealthContext {
  state: string;
  halted_at: unknown;
  gate: HealthGate | null;
  ring: string | null;
  host: string;
  service: string;
}

export async function healthContext(
  q: Sql,
  deploymentId: string,
  deviceId: string,
): Promise<HealthContext | undefined> {
  const dep = (
    await q.query<{
      state: string;
      halted_at: unknown;
      health: unknown;
      ring: string | null;
      host: string;
      service: string;
    }>(
      `SELECT d.state, d.halted_at, p.health, dd.ring, v.host, v.service FROM deployments d
       JOIN policies p ON p.id = d.policy_id
       JOIN deployment_devices dd ON dd.deployment_id = d.id AND dd.device_id = $2
       JOIN devices v ON v.id = dd.device_id
       WHERE d.id = $1`,
      [deploymentId, deviceId],
    )
  )[0];
  if (!dep) return undefined;
  const { health, ...rest } = dep;
  return { ...rest, gate: (typeof health === 'string' ? JSON.parse(health) : health) as HealthGate | null };
}

/** Stores a device's report (one per device and deployment: a later one replaces it). */
export async function upsertHealth(
  q: Sql,
  r: {
    deploymentId: string;
    deviceId: string;
    ring: string | null;
    verdict: HealthVerdict;
    before: HealthWindow;
    after: HealthWindow;
  },
): Promise<void> {
  await q.query(
    `INSERT INTO deployment_health (deployment_id, device_id, ring, verdict, breaches, before, after)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (deployment_id, device_id) DO UPDATE SET ring = $3, verdict = $4, breaches = $5, before = $6, after = $7, reported_at = now()`,
    [
      r.deploymentId,
      r.deviceId,
      r.ring,
      r.verdict.verdict,
      JSON.stringify(r.verdict.breaches),
      JSON.stringify(r.before),
      JSON.stringify(r.after),
    ],
  );
}

/** Halts an active deployment (the first breach's reason stays). */
export async function haltDeployment(q: Sql, deploymentId: string, reason: string): Promise<void> {
  await q.query(
    'UPDATE deployments SET halted_at = now(), halt_reason = $2 WHERE id = $1 AND halted_at IS NULL',
    [deploymentId, reason],
  );
}

/** A deployment's reports, oldest first. */
export async function deploymentHealthCount(q: Sql, deploymentId: string): Promise<number> {
  const [row] = await q.query<{ n: number | string }>(
    'SELECT count(*) AS n FROM deployment_health WHERE deployment_id = $1',
    [deploymentId],
  );
  return Number(row?.n ?? 0);
}

export async function deploymentHealth(q: Sql, deploymentId: string) {
  const rows = await q.query<Record<string, unknown>>(
    'SELECT device_id, ring, verdict, breaches, before, after, reported_at FROM deployment_health WHERE deployment_id = $1 ORDER BY reported_at',
    [deploymentId],
  );
  return rows.map((h) => ({
    deviceId: h.device_id,
    ring: h.ring,
    verdict: h.verdict,
    breaches: json<unknown>(h.breaches, h.breaches),
    before: json<unknown>(h.before, h.before),
    after: json<unknown>(h.after, h.after),
    reportedAt: h.reported_at instanceof Date ? h.reported_at.toISOString() : h.reported_at,
  }));
}

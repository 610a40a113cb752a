/** Policies: rows and lookups. */
import type { Row, Sql } from '../db/types.js';
import type { Policy } from '../fleet/model.js';
import { isoReq, json } from './convert.js';

export function toPolicy(r: Row): Policy {
  return {
    id: String(r.id),
    name: String(r.name),
    allowHotpatch: Boolean(r.allow_hotpatch),
    rings: json(r.rings, []),
    deadlineDays: Number(r.deadline_days),
    paused: Boolean(r.paused),
    rollback: json(r.rollback, {}),
    health: json(r.health, null),
    isDefault: Boolean(r.is_default),
    position: Number(r.position),
    createdAt: isoReq(r.created_at),
    updatedAt: isoReq(r.updated_at),
  };
}

export async function listPolicies(q: Sql): Promise<Policy[]> {
  return (await q.query('SELECT * FROM policies ORDER BY position')).map(toPolicy);
}

export async function getPolicyByName(q: Sql, name: string): Promise<Policy | null> {
  const r = await q.query('SELECT * FROM policies WHERE name = $1', [name]);
  return r[0] ? toPolicy(r[0]) : null;
}

export async function policyExists(q: Sql, name: string): Promise<boolean> {
  return (await q.query('SELECT 1 FROM policies WHERE name = $1', [name])).length > 0;
}

export async function hasDefaultPolicy(q: Sql): Promise<boolean> {
  return (await q.query('SELECT 1 FROM policies WHERE is_default LIMIT 1')).length > 0;
}

/** The default policy is one: before another becomes it (`keep`: the one that stays). */
export async function clearDefaultPolicy(q: Sql, keep?: string): Promise<void> {
  if (keep === undefined) await q.query('UPDATE policies SET is_default = false WHERE is_default');
  else await q.query('UPDATE policies SET is_default = false WHERE is_default AND id <> $1', [keep]);
}

export type PolicyFields = Pick<
  Policy,
  'id' | 'name' | 'allowHotpatch' | 'rings' | 'deadlineDays' | 'rollback' | 'isDefault' | 'health'
>;

/** The stored columns' values, in the order insertPolicy and updatePolicy list them. */
const values = (p: Omit<PolicyFields, 'name'>) => [
  p.id,
  p.allowHotpatch,
  JSON.stringify(p.rings),
  p.deadlineDays,
  JSON.stringify(p.rollback),
  p.isDefault,
  p.health ? JSON.stringify(p.health) : null,
];

export async function insertPolicy(q: Sql, p: PolicyFields): Promise<void> {
  await q.query(
    'INSERT INTO policies (id, allow_hotpatch, rings, deadline_days, rollback, is_default, health, name) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
    [...values(p), p.name],
  );
}

export async function updatePolicy(q: Sql, p: Omit<PolicyFields, 'name'>): Promise<void> {
  await q.query(
    `UPDATE policies SET allow_hotpatch = $2, rings = $3, deadline_days = $4, rollback = $5, is_default = $6, health = $7, updated_at = now() WHERE id = $1`,
    values(p),
  );
}

export async function setPolicyPaused(q: Sql, id: string, paused: boolean): Promise<void> {
  await q.query('UPDATE policies SET paused = $2, updated_at = now() WHERE id = $1', [id, paused]);
}

export async function policyHasDeployments(q: Sql, id: string): Promise<boolean> {
  return (await q.query('SELECT 1 FROM deployments WHERE policy_id = $1 LIMIT 1', [id])).length > 0;
}

export async function deletePolicy(q: Sql, id: string): Promise<void> {
  await q.query('DELETE FROM policies WHERE id = $1', [id]);
}

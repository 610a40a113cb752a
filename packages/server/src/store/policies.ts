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

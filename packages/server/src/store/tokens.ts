/** Admin API tokens and enrollment tokens: the stored hash of each secret, never the secret. */
import type { Row, Sql } from '../db/types.js';

export interface ApiTokenRow {
  id: string;
  name: string;
  role: 'viewer' | 'operator' | 'admin';
  token_hash: string;
  revoked_at: unknown;
}

export interface EnrollTokenRow {
  token_hash: string;
  revoked_at: unknown;
  labels: unknown;
  name: string;
  allow_device_labels: boolean;
}

export async function getApiToken(q: Sql, id: string): Promise<ApiTokenRow | undefined> {
  const rows = await q.query<ApiTokenRow & Row>(
    'SELECT id, name, role, token_hash, revoked_at FROM api_tokens WHERE id = $1',
    [id],
  );
  return rows[0];
}

export async function listApiTokens(q: Sql) {
  return (
    await q.query(
      'SELECT id, name, role, created_at, created_by, revoked_at FROM api_tokens ORDER BY created_at',
    )
  ).map((r) => ({
    id: r.id,
    name: r.name,
    role: r.role,
    createdAt: r.created_at,
    createdBy: r.created_by,
    revokedAt: r.revoked_at,
  }));
}

export async function insertApiToken(
  q: Sql,
  t: { id: string; name: string; role: string; hash: string; createdBy: string },
): Promise<void> {
  await q.query(
    'INSERT INTO api_tokens (id, name, role, token_hash, created_by) VALUES ($1, $2, $3, $4, $5)',
    [t.id, t.name, t.role, t.hash, t.createdBy],
  );
}

/** False when there is no such token, or it was already revoked. */
export async function revokeApiToken(q: Sql, id: string): Promise<boolean> {
  const r = await q.query(
    'UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id',
    [id],
  );
  return r.length > 0;
}

export async function getEnrollToken(q: Sql, id: string): Promise<EnrollTokenRow | undefined> {
  return (await q.query<EnrollTokenRow & Row>('SELECT * FROM enroll_tokens WHERE id = $1', [id]))[0];
}

export async function insertEnrollToken(
  q: Sql,
  t: { id: string; name: string; hash: string; labels: Record<string, string>; allowDeviceLabels: boolean },
): Promise<void> {
  await q.query(
    'INSERT INTO enroll_tokens (id, name, token_hash, labels, allow_device_labels) VALUES ($1, $2, $3, $4, $5)',
    [t.id, t.name, t.hash, JSON.stringify(t.labels), t.allowDeviceLabels],
  );
}

/** False when there is no such token, or it was already revoked. */
export async function revokeEnrollToken(q: Sql, id: string): Promise<boolean> {
  const r = await q.query(
    'UPDATE enroll_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id',
    [id],
  );
  return r.length > 0;
}

/** Whether any token of the kind exists (first start creates one of each). */
export async function anyToken(q: Sql, kind: 'api' | 'enroll'): Promise<boolean> {
  const table = kind === 'api' ? 'api_tokens' : 'enroll_tokens';
  return (await q.query(`SELECT 1 FROM ${table} LIMIT 1`)).length > 0;
}

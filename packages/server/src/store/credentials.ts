/** Device credentials: the hash of each device's secret, one live credential per device. */
import type { Sql } from '../db/types.js';

export type CredentialRow = {
  device_id: string;
  token_hash: string;
  revoked_at: unknown;
  device_revoked: unknown;
};

/** The credentials with these ids, with whether their device is revoked. */
export async function credentials(db: Sql, ids: readonly string[]): Promise<Map<string, CredentialRow>> {
  const rows = await db.query<CredentialRow & { id: string }>(
    `SELECT c.id, c.device_id, c.token_hash, c.revoked_at, d.revoked_at AS device_revoked
     FROM device_credentials c JOIN devices d ON d.id = c.device_id WHERE c.id = ANY($1)`,
    [ids],
  );
  return new Map(rows.map((r) => [r.id, r]));
}

export async function dropCredentials(q: Sql, deviceId: string): Promise<void> {
  await q.query('DELETE FROM device_credentials WHERE device_id = $1', [deviceId]);
}

export async function insertCredential(
  q: Sql,
  c: { id: string; deviceId: string; hash: string },
): Promise<void> {
  await q.query('INSERT INTO device_credentials (id, device_id, token_hash) VALUES ($1, $2, $3)', [
    c.id,
    c.deviceId,
    c.hash,
  ]);
}

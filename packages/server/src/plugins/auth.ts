import type { FastifyRequest } from 'fastify';
import type { Ctx, Role } from '../context.js';
import { ROLE_RANK } from '../context.js';
import type { Database, Sql } from '../db/types.js';
import { ForbiddenError, UnauthorizedError } from '../errors.js';
import { bearer, parseToken, secretMatches } from '../secrets.js';

/** API token check: Authorization: Bearer hpt_<id>_<secret>, role at least `role`. */
export function roleGuard(db: Database): Ctx['requireRole'] {
  return (role: Role) => async (req: FastifyRequest) => {
    const token = bearer(req.headers.authorization);
    const parsed = token ? parseToken(token, 'hpt') : null;
    if (!parsed) throw new UnauthorizedError();
    const rows = await db.query<{
      id: string;
      name: string;
      role: Role;
      token_hash: string;
      revoked_at: unknown;
    }>('SELECT id, name, role, token_hash, revoked_at FROM api_tokens WHERE id = $1', [parsed.id]);
    const row = rows[0];
    if (!row || row.revoked_at || !secretMatches(parsed.secret, row.token_hash))
      throw new UnauthorizedError('invalid or revoked API token');
    if (ROLE_RANK[row.role] < ROLE_RANK[role])
      throw new ForbiddenError(`this needs the ${role} role; token ${row.name} is ${row.role}`);
    req.actor = { tokenId: row.id, name: row.name, role: row.role };
  };
}

/** Device credential check: Bearer hpd_<id>_<secret>; returns the device id. */
export async function authenticateDevice(db: Sql, header: string | undefined): Promise<string> {
  const token = bearer(header);
  const parsed = token ? parseToken(token, 'hpd') : null;
  if (!parsed) throw new UnauthorizedError('missing or invalid device credential');
  const rows = await db.query<{
    device_id: string;
    token_hash: string;
    revoked_at: unknown;
    device_revoked: unknown;
  }>(
    `SELECT c.device_id, c.token_hash, c.revoked_at, d.revoked_at AS device_revoked
     FROM device_credentials c JOIN devices d ON d.id = c.device_id WHERE c.id = $1`,
    [parsed.id],
  );
  const row = rows[0];
  if (!row || !secretMatches(parsed.secret, row.token_hash))
    throw new UnauthorizedError('unknown device credential');
  if (row.revoked_at || row.device_revoked)
    throw new ForbiddenError('device credential revoked', 'E_DEVICE_REVOKED');
  return row.device_id;
}

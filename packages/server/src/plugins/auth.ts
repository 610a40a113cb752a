import type { FastifyRequest } from 'fastify';
import type { Ctx, Role } from '../context.js';
import { ROLE_RANK } from '../context.js';
import type { Database, Sql } from '../db/types.js';
import { ForbiddenError, UnauthorizedError } from '../errors.js';
import { Batcher } from '../fleet/batcher.js';
import { bearer, parseToken, secretMatches } from '../secrets.js';
import { type CredentialRow, credentials } from '../store/credentials.js';
import { getApiToken } from '../store/tokens.js';

/** API token check: Authorization: Bearer hpt_<id>_<secret>, role at least `role`. */
export function roleGuard(db: Database): Ctx['requireRole'] {
  return (role: Role) => async (req: FastifyRequest) => {
    const token = bearer(req.headers.authorization);
    const parsed = token ? parseToken(token, 'hpt') : null;
    if (!parsed) throw new UnauthorizedError();
    const row = await getApiToken(db, parsed.id);
    if (!row || row.revoked_at || !secretMatches(parsed.secret, row.token_hash))
      throw new UnauthorizedError('invalid or revoked API token');
    if (ROLE_RANK[row.role] < ROLE_RANK[role])
      throw new ForbiddenError(`this needs the ${role} role; token ${row.name} is ${row.role}`);
    req.actor = { tokenId: row.id, name: row.name, role: row.role };
  };
}

/** One lookup for many connecting devices (a killed replica's devices all reconnect at once). */
const batchers = new WeakMap<Sql, Batcher<string, CredentialRow | null>>();
const batched = (db: Sql) => {
  let b = batchers.get(db);
  if (!b) {
    b = new Batcher(async (ids) => {
      const found = await credentials(db, ids);
      return ids.map((id) => found.get(id) ?? null);
    }, 2);
    batchers.set(db, b);
  }
  return b;
};

/**
 * Device credential check: Bearer hpd_<id>_<secret>; returns the device id. `batch`: share the
 * lookup with other connections arriving together (not inside a transaction).
 */
export async function authenticateDevice(
  db: Sql,
  header: string | undefined,
  batch = false,
): Promise<string> {
  const token = bearer(header);
  const parsed = token ? parseToken(token, 'hpd') : null;
  if (!parsed) throw new UnauthorizedError('missing or invalid device credential');
  const row = batch ? await batched(db).add(parsed.id) : (await credentials(db, [parsed.id])).get(parsed.id);
  if (!row || !secretMatches(parsed.secret, row.token_hash))
    throw new UnauthorizedError('unknown device credential');
  if (row.revoked_at || row.device_revoked)
    throw new ForbiddenError('device credential revoked', 'E_DEVICE_REVOKED');
  return row.device_id;
}

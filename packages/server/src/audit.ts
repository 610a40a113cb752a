import type { Sql } from './db/types.js';

/** Records a change; called inside the transaction that makes it, so both land or neither. */
export async function audit(
  tx: Sql,
  actor: string,
  action: string,
  subject: string,
  detail: Record<string, unknown> = {},
): Promise<void> {
  await tx.query('INSERT INTO audit_log (actor, action, subject, detail) VALUES ($1, $2, $3, $4)', [
    actor,
    action,
    subject,
    JSON.stringify(detail),
  ]);
}

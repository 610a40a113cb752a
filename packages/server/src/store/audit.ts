/** The audit log: one entry inside the transaction that makes the change, or many in one statement; read back newest first. */
import type { Sql } from '../db/types.js';

/** Records audit entries in one statement. */
export async function auditMany(
  q: Sql,
  entries: ReadonlyArray<{ actor: string; action: string; subject: string; detail: Record<string, unknown> }>,
): Promise<void> {
  if (entries.length === 0) return;
  await q.query(
    `INSERT INTO audit_log (actor, action, subject, detail)
     SELECT x.actor, x.action, x.subject, x.detail FROM jsonb_to_recordset($1::jsonb) AS x(actor text, action text, subject text, detail jsonb)`,
    [JSON.stringify(entries)],
  );
}

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

/** The newest `limit` entries, newest first. */
export async function listAudit(q: Sql, limit: number) {
  return (await q.query('SELECT * FROM audit_log ORDER BY id DESC LIMIT $1', [limit])).map((r) => ({
    id: Number(r.id),
    at: r.at,
    actor: r.actor,
    action: r.action,
    subject: r.subject,
    detail: r.detail,
  }));
}

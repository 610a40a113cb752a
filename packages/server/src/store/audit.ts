/** The audit log, written in batches. */
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

import type { AdvisoryImportResponse, OsvRecord } from '@hotpatch/protocol';
import type { Database } from '../db/types.js';
import { kickRefresh } from '../fleet/status-columns.js';
import { advisoryRecords, upsertAdvisory } from '../store/advisories.js';
import { audit } from '../store/audit.js';
import { markAdvisoriesStale } from '../store/status-columns.js';

/** Imports records in one transaction (all or nothing), audited once. */
export async function importAdvisories(
  db: Database,
  records: readonly OsvRecord[],
  source: string,
  actor: string,
): Promise<AdvisoryImportResponse> {
  // Built inside: a transaction may run again (db/types.ts).
  const out = await db.transaction(async (tx) => {
    const out: AdvisoryImportResponse = { added: [], updated: [], unchanged: [] };
    const before = await advisoryRecords(
      tx,
      records.map((r) => r.id),
    );
    for (const r of records) out[await upsertAdvisory(tx, r, source)].push(r.id);
    // The devices a changed record affects, as it is now or as it was.
    const changed = new Set([...out.added, ...out.updated]);
    if (changed.size)
      await markAdvisoriesStale(
        tx,
        [...before, ...records].filter((r) => changed.has(r.id)),
      );
    await audit(tx, actor, 'advisories.import', source, {
      added: out.added.length,
      updated: out.updated.length,
      unchanged: out.unchanged.length,
    });
    return out;
  });
  // Sync runs outside any request: the affected devices are recomputed in the background.
  if (out.added.length || out.updated.length) kickRefresh(db, () => {}, 0);
  return out;
}

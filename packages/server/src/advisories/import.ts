import type { AdvisoryImportResponse, OsvRecord } from '@hotpatch/protocol';
import { audit } from '../audit.js';
import type { Database } from '../db/types.js';
import { kickRefresh, markPackagesStale } from '../fleet/status-columns.js';
import { affectedNames } from './osv.js';
import { advisoryPackages, upsertAdvisory } from './store.js';

/** Imports records in one transaction (all or nothing), audited once. */
export async function importAdvisories(
  db: Database,
  records: readonly OsvRecord[],
  source: string,
  actor: string,
): Promise<AdvisoryImportResponse> {
  const out: AdvisoryImportResponse = { added: [], updated: [], unchanged: [] };
  await db.transaction(async (tx) => {
    const before = await advisoryPackages(
      tx,
      records.map((r) => r.id),
    );
    for (const r of records) out[await upsertAdvisory(tx, r, source)].push(r.id);
    // The devices of the packages a changed record names, now or before.
    const changed = new Set([...out.added, ...out.updated]);
    if (changed.size)
      await markPackagesStale(tx, [
        ...before,
        ...records.filter((r) => changed.has(r.id)).flatMap((r) => affectedNames(r)),
      ]);
    await audit(tx, actor, 'advisories.import', source, {
      added: out.added.length,
      updated: out.updated.length,
      unchanged: out.unchanged.length,
    });
  });
  // Sync runs outside any request: the affected devices are recomputed in the background.
  if (out.added.length || out.updated.length) kickRefresh(db, () => {}, 0);
  return out;
}

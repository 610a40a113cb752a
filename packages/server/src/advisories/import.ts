import type { AdvisoryImportResponse, OsvRecord } from '@hotpatch/protocol';
import { audit } from '../audit.js';
import type { Database } from '../db/types.js';
import { upsertAdvisory } from './store.js';

/** Imports records in one transaction (all or nothing), audited once. */
export async function importAdvisories(
  db: Database,
  records: readonly OsvRecord[],
  source: string,
  actor: string,
): Promise<AdvisoryImportResponse> {
  const out: AdvisoryImportResponse = { added: [], updated: [], unchanged: [] };
  await db.transaction(async (tx) => {
    for (const r of records) out[await upsertAdvisory(tx, r, source)].push(r.id);
    await audit(tx, actor, 'advisories.import', source, {
      added: out.added.length,
      updated: out.updated.length,
      unchanged: out.unchanged.length,
    });
  });
  return out;
}

/** Loads what device statuses are computed from (advisory index, catalog, active deployment rows). */
import type { Sql } from '../db/types.js';
import type { BundleMeta } from '../fleet/model.js';
import { activeDeploymentRows, listAdvisories, listAdvisoriesFor } from '../store/advisories.js';
import { listBundles } from '../store.js';
import { type AdvisoryIndex, indexAdvisories } from './match.js';

export interface StatusSources {
  index: AdvisoryIndex;
  bundles: BundleMeta[];
  rowsByDevice: Map<string, Array<{ patchId: string; state: string; reason: string | null }>>;
}

/**
 * Everything (no argument), or what some devices need: their deployment rows and, when their
 * loaded package names are given, only the advisories naming one of them.
 */
export async function loadStatusSources(
  q: Sql,
  deviceId?: string | readonly string[],
  packageNames?: readonly string[],
): Promise<StatusSources> {
  const [records, bundles, rows] = await Promise.all([
    packageNames ? listAdvisoriesFor(q, packageNames) : listAdvisories(q).then((a) => a.map((x) => x.record)),
    listBundles(q),
    activeDeploymentRows(q, deviceId),
  ]);
  const rowsByDevice = new Map<string, Array<{ patchId: string; state: string; reason: string | null }>>();
  for (const r of rows) {
    const list = rowsByDevice.get(r.deviceId);
    if (list) list.push(r);
    else rowsByDevice.set(r.deviceId, [r]);
  }
  return { index: indexAdvisories(records), bundles, rowsByDevice };
}

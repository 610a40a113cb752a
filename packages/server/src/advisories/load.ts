/** Loads what device statuses are computed from (advisory index, catalog, active deployment rows). */
import type { Sql } from '../db/types.js';
import type { BundleMeta } from '../fleet/model.js';
import { listBundles } from '../store.js';
import { type AdvisoryIndex, indexAdvisories } from './match.js';
import { activeDeploymentRows, listAdvisories } from './store.js';

export interface StatusSources {
  index: AdvisoryIndex;
  bundles: BundleMeta[];
  rowsByDevice: Map<string, Array<{ patchId: string; state: string; reason: string | null }>>;
}

export async function loadStatusSources(q: Sql, deviceId?: string): Promise<StatusSources> {
  const [advisories, bundles, rows] = await Promise.all([
    listAdvisories(q),
    listBundles(q),
    activeDeploymentRows(q, deviceId),
  ]);
  const rowsByDevice = new Map<string, Array<{ patchId: string; state: string; reason: string | null }>>();
  for (const r of rows) rowsByDevice.set(r.deviceId, [...(rowsByDevice.get(r.deviceId) ?? []), r]);
  return { index: indexAdvisories(advisories.map((a) => a.record)), bundles, rowsByDevice };
}

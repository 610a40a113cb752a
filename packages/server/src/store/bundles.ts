/** The patch catalog: bundle metadata and bodies. */
import type { Row, Sql } from '../db/types.js';
import type { BundleMeta } from '../fleet/model.js';
import { iso, isoReq, json } from './convert.js';

export function toBundle(r: Row): BundleMeta {
  return {
    patchId: String(r.patch_id),
    version: String(r.version),
    level: Number(r.level),
    title: String(r.title),
    severity: String(r.severity),
    advisories: json(r.advisories, []),
    targetName: String(r.target_name),
    targetBaseline: String(r.target_baseline),
    fixedIn: (r.fixed_in as string | null) ?? null,
    files: json(r.files, []),
    keyId: String(r.key_id),
    sha256: String(r.sha256),
    publishedAt: isoReq(r.published_at),
    publishedBy: String(r.published_by),
    advisoryPublishedAt: iso(r.advisory_published_at),
  };
}

const BUNDLE_META =
  'patch_id, version, level, title, severity, advisories, target_name, target_baseline, fixed_in, files, key_id, sha256, published_at, published_by, advisory_published_at';

export async function getBundle(q: Sql, patchId: string): Promise<BundleMeta | null> {
  const r = await q.query(`SELECT ${BUNDLE_META} FROM bundles WHERE patch_id = $1`, [patchId]);
  return r[0] ? toBundle(r[0]) : null;
}

export async function listBundles(q: Sql): Promise<BundleMeta[]> {
  return (await q.query(`SELECT ${BUNDLE_META} FROM bundles ORDER BY published_at`)).map(toBundle);
}

export async function getBundleBody(q: Sql, patchId: string): Promise<string | null> {
  const r = await q.query<{ body: string }>('SELECT body FROM bundles WHERE patch_id = $1', [patchId]);
  return r[0]?.body ?? null;
}

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

/** The digest of a published bundle, if one has this patch id (publishing again is idempotent). */
export async function bundleDigest(q: Sql, patchId: string): Promise<string | null> {
  const r = await q.query<{ sha256: string }>('SELECT sha256 FROM bundles WHERE patch_id = $1', [patchId]);
  return r[0]?.sha256 ?? null;
}

export type BundleInsert = Omit<BundleMeta, 'publishedAt'> & { body: string };

export async function insertBundle(q: Sql, b: BundleInsert): Promise<void> {
  await q.query(
    `INSERT INTO bundles (patch_id, version, level, title, severity, advisories, target_name, target_baseline, fixed_in, files, key_id, sha256, body, published_by, advisory_published_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
    [
      b.patchId,
      b.version,
      b.level,
      b.title,
      b.severity,
      JSON.stringify(b.advisories),
      b.targetName,
      b.targetBaseline,
      b.fixedIn,
      JSON.stringify(b.files),
      b.keyId,
      b.sha256,
      b.body,
      b.publishedBy,
      b.advisoryPublishedAt,
    ],
  );
}

/**
 * Version identifiers, the way Windows shows 26100.3107 (hotpatch) beside 26100.3194 (restart update):
 * a hotpatched target keeps its baseline version and gains a hotpatch level, `4.17.20+hp.2`.
 * Build metadata (`+`) keeps scanners that read the semver honest: the files on disk are still 4.17.20.
 */
export function hotpatchVersion(baseline: string, level: number): string {
  if (!Number.isInteger(level) || level < 1) throw new RangeError('hotpatch level must be an integer >= 1');
  return `${baseline}+hp.${level}`;
}

export function parseHotpatchVersion(version: string): { baseline: string; level: number } {
  const m = /^(.*)\+hp\.(\d+)$/.exec(version);
  if (!m) return { baseline: version, level: 0 };
  return { baseline: m[1] ?? version, level: Number(m[2]) };
}

/** A readable catalog id, like a KB number: HP-YYYYMMDD-<6 hex of content>. */
export function defaultPatchId(date: Date, contentHash: string): string {
  const ymd = date.toISOString().slice(0, 10).replaceAll('-', '');
  return `HP-${ymd}-${contentHash.slice(0, 6)}`;
}

/**
 * OSV matching (pure): does an advisory affect a package version? Implements the OSV schema's
 * range evaluation for the npm ecosystem, where ECOSYSTEM and SEMVER ranges both order versions
 * by semver: events sorted by version, `introduced` opens, `fixed` closes (exclusive),
 * `last_affected` closes (inclusive); `versions` lists affected versions explicitly.
 */
import type { OsvRecord } from '@hotpatch/protocol';
import semver from 'semver';

type Event = NonNullable<OsvRecord['affected'][number]['ranges']>[number]['events'][number];

const ORDERED_RANGES = new Set(['SEMVER', 'ECOSYSTEM']);

/** "0" is OSV's "every version": lower than any real one. */
function eventVersion(e: Event): string | null {
  const v = e.introduced ?? e.fixed ?? e.last_affected ?? e.limit ?? null;
  if (v === '0') return '0.0.0-0';
  return v && semver.valid(v, { loose: true }) ? v : null;
}

function inRange(events: readonly Event[], version: string): boolean {
  const sorted = events
    .map((e) => ({ e, v: eventVersion(e) }))
    .filter((x): x is { e: Event; v: string } => x.v !== null)
    .sort((a, b) => semver.compare(a.v, b.v, { loose: true }));
  let affected = false;
  for (const { e, v } of sorted) {
    const cmp = semver.compare(version, v, { loose: true });
    if (e.introduced !== undefined && cmp >= 0) affected = true;
    else if (e.fixed !== undefined && cmp >= 0) affected = false;
    else if (e.last_affected !== undefined && cmp > 0) affected = false;
    else if (e.limit !== undefined && cmp >= 0) affected = false;
  }
  return affected;
}

/** The first fixed version the record names for this package (the baseline to move to), if any. */
export function fixedVersion(record: OsvRecord, name: string, version: string): string | null {
  const fixes: string[] = [];
  for (const a of record.affected) {
    if (a.package.ecosystem !== 'npm' || a.package.name !== name) continue;
    for (const r of a.ranges ?? [])
      for (const e of r.events)
        if (e.fixed && semver.valid(e.fixed, { loose: true }) && semver.gt(e.fixed, version, { loose: true }))
          fixes.push(e.fixed);
  }
  return fixes.sort((x, y) => semver.compare(x, y, { loose: true }))[0] ?? null;
}

/** Whether the record says name@version (npm) is affected. Withdrawn records affect nothing. */
export function affects(record: OsvRecord, name: string, version: string): boolean {
  if (record.withdrawn) return false;
  if (!semver.valid(version, { loose: true })) return false;
  return record.affected.some(
    (a) =>
      a.package.ecosystem === 'npm' &&
      a.package.name === name &&
      ((a.versions ?? []).includes(version) ||
        (a.ranges ?? []).some((r) => ORDERED_RANGES.has(r.type) && inRange(r.events, version))),
  );
}

/** Every id the record is known by, CVE ids first (what admins search for). */
export function advisoryIds(record: Pick<OsvRecord, 'id' | 'aliases'>): string[] {
  const ids = [record.id, ...(record.aliases ?? [])];
  const unique = [...new Set(ids)];
  return [...unique.filter((i) => i.startsWith('CVE-')), ...unique.filter((i) => !i.startsWith('CVE-'))];
}

/** Packages (npm names) a record talks about: the index the matcher uses to skip unrelated records. */
export function affectedNames(record: OsvRecord): string[] {
  return [
    ...new Set(record.affected.filter((a) => a.package.ecosystem === 'npm').map((a) => a.package.name)),
  ];
}

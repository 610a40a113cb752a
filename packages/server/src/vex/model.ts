/**
 * What scanners need to know about live patches, decided once (pure): per advisory and on-disk
 * component (name@version a process has loaded), `fixed` when every instance that loads it runs a
 * hotpatch for that advisory in memory, else `affected` with the action (a hotpatch is available,
 * or only the fixed release, a baseline with a restart, fixes it). The OpenVEX and CycloneDX
 * writers only format these statements.
 *
 * Only components a known hotpatch was built for are stated: the hotpatch's baseline is known to
 * be vulnerable; for other versions of the package this tool knows nothing and says nothing.
 */

import { PackageURL } from 'packageurl-js';

/** A hotpatch the author knows of (the server's catalog, bundles given to the CLI, or patches a process runs). */
export interface VexPatch {
  patchId: string;
  /** Version identifier the patched component reports, e.g. 1.2.5+hp.1. */
  version: string;
  /** The component it was built for: name@version. */
  target: string;
  advisories: readonly string[];
  /** The release carrying the same fix with a restart. */
  fixedIn?: string | null;
}

/** One running process: what it loaded from disk and what it runs in memory. */
export interface VexInstance {
  /** Names the instance in the documents, e.g. host/service pid 1234. */
  name: string;
  pid: number;
  startedAt: string;
  /** False when the process cannot take a hotpatch (ineligible: engine, Node, signatures, policy). */
  hotpatchable?: boolean;
  packages: ReadonlyArray<{ name: string; version: string }>;
  patches: ReadonlyArray<{
    patchId: string;
    version?: string;
    target?: string;
    advisories?: readonly string[];
    state: string;
    appliedAt?: string | null;
  }>;
}

export interface FixedIn {
  instance: string;
  pid: number;
  patchId: string;
  version: string;
  since: string | null;
}

export interface VexStatement {
  advisory: string;
  component: { name: string; version: string; purl: string };
  status: 'fixed' | 'affected';
  /** Instances running the fix in memory (all of them when fixed). */
  fixed: FixedIn[];
  /** Instances still running the vulnerable code. */
  affected: string[];
  /** For affected: what fixes it. */
  action:
    | { kind: 'hotpatch-available'; patchId: string; version: string }
    | { kind: 'baseline-needed'; fixedIn: string | null }
    | null;
  /** When the statement became true: the latest apply of a fixed one (null when unknown or affected). */
  since: string | null;
}

/** States in which the patched code is what runs (a pending revert has changed nothing yet). */
const RUNNING = new Set(['applied', 'revert-pending']);

/** Package URL of an npm package (packageurl-js encodes scopes and versions as the purl spec asks). */
export function npmPurl(name: string, version: string): string {
  const [scope, bare] = name.startsWith('@')
    ? [name.slice(0, name.indexOf('/')), name.slice(name.indexOf('/') + 1)]
    : [undefined, name];
  return new PackageURL('npm', scope, bare, version, undefined, undefined).toString();
}

/** name@version -> [name, version] (scoped names included). */
export function splitTarget(target: string): [string, string] {
  const at = target.lastIndexOf('@');
  return at > 0 ? [target.slice(0, at), target.slice(at + 1)] : [target, ''];
}

/** The statements for these instances, given every hotpatch known (pure). */
export function vexStatements(
  catalog: readonly VexPatch[],
  instances: readonly VexInstance[],
): VexStatement[] {
  // What is known about each advisory and target: the patches built for it.
  const known = new Map<string, VexPatch[]>();
  const add = (p: VexPatch) => {
    for (const a of p.advisories) {
      const key = `${a}\n${p.target}`;
      const list = known.get(key) ?? [];
      if (!list.some((x) => x.patchId === p.patchId)) list.push(p);
      known.set(key, list);
    }
  };
  for (const p of catalog) add(p);
  for (const i of instances)
    for (const p of i.patches)
      if (p.target && p.version)
        add({ patchId: p.patchId, version: p.version, target: p.target, advisories: p.advisories ?? [] });
  const out: VexStatement[] = [];
  for (const [key, patches] of [...known.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const [advisory, target] = key.split('\n') as [string, string];
    const [name, version] = splitTarget(target);
    const loading = instances.filter((i) => i.packages.some((p) => p.name === name && p.version === version));
    if (loading.length === 0) continue;
    const ids = new Set(patches.map((p) => p.patchId));
    const fixed: FixedIn[] = [];
    const affected: string[] = [];
    for (const i of loading) {
      const running = i.patches.find(
        (p) =>
          RUNNING.has(p.state) &&
          (ids.has(p.patchId) || (p.target === target && p.advisories?.includes(advisory))),
      );
      if (running)
        fixed.push({
          instance: i.name,
          pid: i.pid,
          patchId: running.patchId,
          version: running.version ?? '',
          since: running.appliedAt ?? null,
        });
      else affected.push(i.name);
    }
    const newest = [...patches].sort((a, b) => b.version.localeCompare(a.version))[0] as VexPatch;
    const status = affected.length === 0 ? 'fixed' : 'affected';
    const canHotpatch = loading.some((i) => affected.includes(i.name) && i.hotpatchable !== false);
    const times = fixed
      .map((f) => f.since)
      .filter((x): x is string => x !== null)
      .sort();
    out.push({
      advisory,
      component: { name, version, purl: npmPurl(name, version) },
      status,
      fixed,
      affected,
      action:
        status === 'fixed'
          ? null
          : canHotpatch
            ? { kind: 'hotpatch-available', patchId: newest.patchId, version: newest.version }
            : { kind: 'baseline-needed', fixedIn: patches.find((p) => p.fixedIn)?.fixedIn ?? null },
      since: status === 'fixed' && times.length === fixed.length ? (times.at(-1) ?? null) : null,
    });
  }
  return out;
}

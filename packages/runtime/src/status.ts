/** Status: each patch's state observed in the running code, with the process and its packages. */

import { verifyQuietly } from './engine-pair.js';
import type { FileWork } from './engines/types.js';
import type { ActivePatch, Patching, PatchState, RuntimeStatus } from './patching.js';
import { labelOf, notLoadedReason, plan } from './targets.js';

/**
 * A patch's state as the running code shows it, never as a flag: every loaded instance of its
 * files is checked by its engine (LiveEdit: the script's source and the exported functions;
 * redirect: the slots).
 */
export function observe(
  p: Patching,
  a: ActivePatch,
): { state: PatchState; reason: string | null; modules: number } {
  const patchId = a.bundle.payload.patchId;
  let work: FileWork[];
  try {
    work = plan(p.modules, a.bundle);
  } catch (e) {
    return { state: 'failed', reason: (e as Error).message, modules: 0 };
  }
  const modules = work.filter((w) => w.record.patchId === patchId).length;
  if (a.pending?.op === 'apply') return { state: 'pending', reason: a.pending.reason, modules };
  if (work.length === 0) {
    return { state: 'staged', reason: a.error ?? notLoadedReason(p.modules.records, a.bundle), modules };
  }
  const problems = work
    .map((w) =>
      w.record.patchId === patchId ? verifyQuietly(p, w.record, w) : `${w.record.filename}: not patched`,
    )
    .filter((x): x is string => x !== null);
  if (problems.length) {
    const pre = a.pending?.op === 'revert' ? 'revert pending, but ' : '';
    return { state: 'failed', reason: `${pre}${problems[0]}`, modules };
  }
  if (a.pending?.op === 'revert') return { state: 'revert-pending', reason: a.pending.reason, modules };
  a.appliedAt ??= new Date().toISOString();
  return { state: 'applied', reason: a.error, modules };
}

/** The runtime's status: this process, its engines and trust, every active patch as observed, its packages. */
export function runtimeStatus(
  p: Patching,
  about: { engineReason: string | undefined; startedAt: string; counters: RuntimeStatus['counters'] },
): RuntimeStatus {
  return {
    pid: process.pid,
    service: p.service,
    node: process.version,
    cwd: process.cwd(),
    argv: process.argv,
    engine: p.engine.name,
    moduleEngine: p.moduleEngine.name,
    ...(about.engineReason ? { engineReason: about.engineReason } : {}),
    signatureEnforcement: true,
    trustedKeys: p.trust.keyIds(),
    problems: [...p.problems],
    startedAt: about.startedAt,
    patches: [...p.active.values()].map((a) => {
      const seen = observe(p, a);
      return {
        patchId: a.bundle.payload.patchId,
        version: a.bundle.payload.version,
        target: labelOf(a.bundle.payload.target),
        advisories: a.bundle.payload.advisories,
        state: seen.state,
        appliedAt: seen.state === 'applied' || seen.state === 'revert-pending' ? a.appliedAt : null,
        reason: seen.reason,
        modules: seen.modules,
      };
    }),
    packages: packagesOf(p),
    counters: about.counters,
  };
}

/** The loaded packages and their files, each with the patch it runs. */
function packagesOf(p: Patching): RuntimeStatus['packages'] {
  const packages = new Map<string, RuntimeStatus['packages'][number]>();
  for (const r of p.modules.records) {
    if (!r.pkgName) continue;
    const key = `${r.pkgName}@${r.pkgVersion}`;
    const entry = packages.get(key) ?? { name: r.pkgName, version: r.pkgVersion ?? '', files: [] };
    entry.files.push({ path: r.relPath ?? r.filename, sha256: r.sha256, patchId: r.patchId });
    packages.set(key, entry);
  }
  return [...packages.values()];
}

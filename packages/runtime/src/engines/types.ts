import type { FilePatch } from '@hotpatch/core';

/** One loaded instance of a module file the runtime can patch. */
export interface ModuleRecord {
  /** Unique per instance. */
  id: string;
  filename: string;
  sourceType: 'commonjs' | 'module';
  /** sha256 of the source as read from disk (the baseline it is). */
  sha256: string;
  pkgName: string | null;
  pkgVersion: string | null;
  /** Path inside the package, '/'-separated. */
  relPath: string | null;
  /** Patch the module currently runs, if any, and whether it was loaded already patched. */
  patchId: string | null;
  /** Redirect engine: slot holder and the module's own-scope gate. */
  holder?: unknown[];
  gate?: (code: string) => unknown;
  /** Redirect engine: slots this record's current patch filled, and what it put there. */
  filled?: number[];
  compiled?: Map<number, unknown>;
  /** Redirect engine: what the current patch's migrations changed (taken back on revert). */
  committed?: import('./migrations.js').Committed;
  /** Redirect engine: the calling convention of the code as loaded (instrumentation's table). */
  table?: import('@hotpatch/instrument').ModuleTable;
  /** Reads the table kept from load (the instrumentation cache) when an apply first needs it. */
  loadTable?: () => import('@hotpatch/instrument').ModuleTable | null;
  /** Redirect engine: scope accessors of run-once wrappers, by slot index (for migrations). */
  scopes?: Map<number, unknown>;
  /**
   * Compiled by the runtime's code cache (cjs-code-cache.ts), whose entry this is: code compiled
   * in the module's scope (a patch's) cannot call import() there.
   */
  codeCacheEntry?: string;
  /** LiveEdit engine: the sources it went through from the baseline (undone in reverse). */
  liveEditPath?: string[];
}

export interface FileWork {
  record: ModuleRecord;
  file: FilePatch;
  /** Replaces MODULE_TOKEN in patch code: one namespace per module instance and patch. */
  namespace: string;
  /** Replaces PACKAGE_TOKEN: one per package instance (its root) and patch. */
  packageNamespace: string;
}

export type EngineName = 'liveedit' | 'redirect';

export type Refusal = { ok: false; pending: boolean; reason: string };

/**
 * prepare() checks and compiles without changing anything; commit() then changes the running
 * code synchronously, and either succeeds or restores everything it touched and says why.
 */
export type PrepareResult = { ok: true; commit: () => Refusal | null; rollback: () => void } | Refusal;
export type Prepared = Extract<PrepareResult, { ok: true }>;

export interface Engine {
  name: EngineName;
  /** Checks everything and prepares; changes nothing until commit() (all files or none). */
  prepare(work: FileWork[]): PrepareResult;
  /**
   * Prepares restoring the baseline code of records; commit() restores all of them or, when one
   * cannot be restored now (a changed function is running), puts back what it restored and says why.
   */
  prepareRevert(records: ModuleRecord[]): PrepareResult;
  /** Checks that the record runs `file` patched (or the baseline when file is null). */
  verify(record: ModuleRecord, file: FileWork | null): string | null;
}

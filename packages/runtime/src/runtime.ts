import type { Bundle, NewFile, TrustStore } from '@hotpatch/core';
import type { SourceType } from '@hotpatch/instrument';
import { loadStored } from './active.js';
import { applyBundle } from './apply.js';
import { installedCells } from './cells.js';
import { Counters } from './counters.js';
import { engineOf } from './engine-pair.js';
import { RedirectEngine } from './engines/redirect.js';
import { patchedSource, patchImports } from './engines/source.js';
import type { Engine, FileWork, ModuleRecord, PrepareResult } from './engines/types.js';
import { sha256 } from './hash.js';
import { instrumentCached, instrumentNow, packedSha } from './instrument-cache.js';
import { ModuleIndex } from './module-index.js';
import { patchMayImport } from './new-files.js';
import type { ApplyResult, Patching, RuntimeStatus } from './patching.js';
import { Retries } from './retry.js';
import { revertNow, revertWithin } from './revert.js';
import { runtimeStatus } from './status.js';
import { namespaceOf, namespacesOf, newFileAt, workFor } from './targets.js';
import { commitAll, safePrepare } from './transaction.js';

export type { ApplyResult, PatchState, RuntimeStatus } from './patching.js';
export { warnOnce } from './warn.js';

export interface RuntimeOptions {
  /** Engine for CommonJS modules (LiveEdit where V8 has it). */
  engine: Engine;
  /** Engine for ES modules, which are instrumented at load: V8 LiveEdit refuses many ESM changes. */
  moduleEngine: Engine;
  /** Why this engine was chosen, for status. */
  engineReason?: string;
  trust: TrustStore;
  service: string;
  /** Files never instrumented or patched (the runtime's own code). */
  exclude?: (filename: string) => boolean;
  /** Default time to keep retrying while a changed function is running. */
  pendingDeadlineMs?: number;
  /** Start-up problems to show in status (and to explain refused bundles). */
  problems?: string[];
}

/**
 * The in-process hotpatch runtime: knows every module instance it can patch, applies signed
 * bundles through an engine (all files or none, verified after), reverts, and keeps active
 * patches on disk so that modules loaded later and restarted processes run the patched code.
 * The load hooks are here; the apply transaction (apply.ts), revert (revert.ts), retries
 * (retry.ts), status (status.ts), the stored patches (active.ts) and target lookup (targets.ts)
 * each take the runtime's patching state (patching.ts) explicitly.
 */
export class HotpatchRuntime {
  readonly engine: Engine;
  readonly moduleEngine: Engine;
  readonly engineReason: string | undefined;
  readonly trust: TrustStore;
  readonly service: string;
  readonly startedAt = new Date().toISOString();
  readonly records: ModuleRecord[];
  /** Start-up and store problems, shown in status. */
  readonly problems: string[];
  readonly #modules = new ModuleIndex();
  readonly #exclude: (f: string) => boolean;
  readonly #p: Patching;
  readonly #counters = new Counters();
  /** Applies are one at a time (each awaits between its steps so as not to stall the service). */
  #serial: Promise<unknown> = Promise.resolve();
  /** Called before an apply makes a patch active (register.ts starts deferred load hooks). */
  onActivating: ((bundle: Bundle) => void) | null = null;
  /** Whether the ES module load hooks run in this process (they start only when needed). */
  esmHooksStarted = false;

  constructor(opts: RuntimeOptions) {
    this.engine = opts.engine;
    this.moduleEngine = opts.moduleEngine;
    this.engineReason = opts.engineReason;
    this.trust = opts.trust;
    this.service = opts.service;
    this.#exclude = opts.exclude ?? (() => false);
    this.problems = [...(opts.problems ?? [])];
    this.records = this.#modules.records;
    const retries = new Retries();
    this.#p = {
      service: this.service,
      trust: this.trust,
      problems: this.problems,
      engine: this.engine,
      moduleEngine: this.moduleEngine,
      modules: this.#modules,
      active: loadStored(this.service, this.trust, this.problems),
      deadlineMs: opts.pendingDeadlineMs ?? 10_000,
      retryLater: () => retries.schedule(this.#p),
      activating: (bundle) => this.onActivating?.(bundle),
    };
  }

  // ---------------------------------------------------------------- loading

  /** CommonJS compile hook: returns the source to compile for this module. */
  onCompile(filename: string, content: string, sourceType: SourceType): string {
    if (this.#exclude(filename)) return content;
    // The pack knows the sha256 of text it has seen from this file (compared whole); else hashed.
    const sha = packedSha(filename, sourceType, content) ?? sha256(content);
    const record = this.#modules.add(filename, sha, sourceType);
    const work = workFor(this.#p.active.values(), record);
    if (this.engineOf(record).name === 'liveedit') {
      if (!work) return content;
      record.patchId = work.patchId;
      return patchedSource(content, work.file, namespaceOf(record, work.patchId));
    }
    // ES module imports an active patch adds are static imports of a module loading now.
    const imports = work ? patchImports(work.file, namespaceOf(record, work.patchId)) : [];
    if (imports.length) {
      const r = instrumentNow(content, sourceType, record.id, imports);
      record.table = r.table;
      return r.code;
    }
    const { code, table } = instrumentCached(content, record.sha256, sourceType, record.id, filename);
    record.loadTable = table;
    return code;
  }

  /** The record of the module loading now (onCompile just made it), if it is this file's. */
  loading(filename: string): ModuleRecord | null {
    const record = this.records.at(-1);
    return record?.filename === filename ? record : null;
  }

  /** Called by instrumented code at the top of each module (redirect engine). */
  registerModule(gate: (code: string) => unknown, meta: unknown, functions: number): unknown[] {
    // Packed, filled with undefined: what the guards read on every call.
    const holder: unknown[] = new Array(Math.max(0, functions | 0)).fill(undefined);
    const m = (typeof meta === 'string' ? { id: meta } : meta) as {
      id: string;
      filename?: string;
      sha256?: string;
      sourceType?: SourceType;
    };
    let record = this.#modules.byId(m.id);
    if (!record && m.filename && m.sha256)
      record = this.#modules.add(m.filename, m.sha256, m.sourceType ?? 'module', m.id);
    if (!record) return holder;
    this.#modules.setHolder(record, holder);
    record.gate = gate;
    const work = workFor(this.#p.active.values(), record);
    // A patch with module-level migrations waits for the module's own code to run (ready).
    if (work && !work.file.migrations.some((m) => m.kind !== 'cell')) this.#applyAtLoad(record, work, 'load');
    return holder;
  }

  /** A run-once wrapper's scope accessor (instrumentation calls this as the wrapper starts). */
  registerScope(holder: unknown[], index: number, accessor: unknown): void {
    const record = this.#modules.byHolder(holder);
    if (!record) return;
    record.scopes ??= new Map();
    record.scopes.set(index, accessor);
  }

  /** The module's own code has run (its last line): patches active before it loaded finish applying. */
  moduleReady(holder: unknown[]): void {
    const record = this.#modules.byHolder(holder);
    if (!record || record.patchId) return;
    const work = workFor(this.#p.active.values(), record);
    if (work) this.#applyAtLoad(record, work, 'ready');
  }

  /** A module that cannot be patched as it loads runs its own code; status then says "failed". */
  #applyAtLoad(
    record: ModuleRecord,
    work: NonNullable<ReturnType<typeof workFor>>,
    phase: 'load' | 'ready',
  ): void {
    const fw: FileWork = { record, file: work.file, ...namespacesOf(record, work.patchId) };
    const engine = this.engineOf(record);
    const done = (prepared: PrepareResult) => {
      if (prepared.ok && commitAll([prepared]) === null) record.patchId = work.patchId;
    };
    if (!(engine instanceof RedirectEngine)) {
      done(safePrepare(() => engine.prepare([fw])));
      return;
    }
    // ES module imports the patch adds load asynchronously, unless the module imported them
    // statically as it loaded (patchImports): the slots fill once they have.
    const cells = installedCells().c;
    if (patchImports(work.file, fw.namespace).some((im) => !(im.cell in cells))) {
      engine.prepareAsync([fw]).then(done, () => {});
      return;
    }
    done(safePrepare(() => engine.prepareAtLoad(fw, phase)));
  }

  /** ES modules always use the module engine (instrumented at load); CommonJS the main one. */
  engineOf(record: ModuleRecord): Engine {
    return engineOf(this, record);
  }

  /** Whether an active patch (stored from an earlier run, or applied) may import() or add files. */
  patchesMayImport(): boolean {
    return [...this.#p.active.values()].some((a) => patchMayImport(a.bundle.payload));
  }

  /** A file an active hotpatch adds to a package this process has loaded, by absolute path. */
  newFile(filename: string): NewFile | null {
    return newFileAt(this.#p.active.values(), this.records, filename);
  }

  // ---------------------------------------------------------------- apply / revert / status

  /**
   * Applies a signed bundle: all files or none, verified after, stored first (applyBundle).
   * Applies run one at a time.
   */
  apply(bytes: Buffer, opts: { deadlineMs?: number } = {}): Promise<ApplyResult> {
    const run = this.#serial.then(() => this.#counters.count(() => applyBundle(this.#p, bytes, opts)));
    this.#serial = run.catch(() => {});
    return run;
  }

  /** One revert attempt, synchronous (the agent's interface): reverted, or pending and retried. */
  revert(patchId: string): ApplyResult {
    return this.#counters.countSync(() => revertNow(this.#p, patchId));
  }

  /**
   * Reverts, retrying while a changed function is running until the deadline; then the revert is
   * pending (nothing changed, the patch runs whole), retried every second, and status says so.
   */
  async revertWithin(patchId: string, opts: { deadlineMs?: number } = {}): Promise<ApplyResult> {
    return this.#counters.count(() => revertWithin(this.#p, patchId, opts));
  }

  status(): RuntimeStatus {
    return runtimeStatus(this.#p, {
      engineReason: this.engineReason,
      startedAt: this.startedAt,
      counters: this.#counters.snapshot(),
    });
  }
}

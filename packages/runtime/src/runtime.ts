import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import {
  type Bundle,
  type FilePatch,
  HotpatchError,
  isHotpatchError,
  type NewFile,
  type Target,
  type TrustStore,
} from '@hotpatch/core';
import { GLOBAL, type SourceType } from '@hotpatch/instrument';
import { assertRunnable } from './compat.js';
import { RedirectEngine } from './engines/redirect.js';
import { patchedSource, patchImports } from './engines/source.js';
import type {
  Engine,
  EngineName,
  FileWork,
  ModuleRecord,
  Prepared,
  PrepareResult,
  Refusal,
} from './engines/types.js';
import { sha256 } from './hash.js';
import { instrumentCached, instrumentNow } from './instrument-cache.js';
import { newRecord } from './inventory.js';
import { heavy } from './lazy.js';
import { checkedBundle } from './off-thread.js';
import { activeDir } from './paths.js';
import { fsReason, removeDurable, storeFile, writeDurable, writeDurableAsync } from './store.js';
import { commitAll, rollbackAll, safePrepare, safePrepareAsync } from './transaction.js';

/**
 * What a patch is doing in this process, as found by checking the running code:
 * - applied: every loaded instance of its files runs the patched code (verified);
 * - staged: none of its files is loaded; they load patched;
 * - pending: not applied yet, a changed function is running (retried; nothing changed);
 * - revert-pending: a revert waits for a changed function to return (the patch still runs whole);
 * - failed: the running code is neither all patched nor all baseline, or an apply gave up.
 */
export type PatchState = 'applied' | 'staged' | 'pending' | 'revert-pending' | 'failed';

interface ActivePatch {
  bundle: Bundle;
  bytes: Buffer;
  appliedAt: string | null;
  /** An apply or revert waiting for a changed function to return, and why. */
  pending: { op: 'apply' | 'revert'; reason: string } | null;
  /** The entry this pending apply replaces (a lower level), put back if the apply gives up. */
  replaces: ActivePatch | null;
  /** Why the last retry gave up, when it did. */
  error: string | null;
}

export interface ApplyResult {
  patchId: string;
  version: string;
  target: string;
  state: PatchState | 'already-applied' | 'reverted';
  modules: number;
  reason?: string;
}

export interface RuntimeStatus {
  pid: number;
  service: string;
  node: string;
  /** Working directory and command line: tell apart two services started from one script (absent from older runtimes). */
  cwd?: string;
  argv?: string[];
  /** Engine for CommonJS modules; ES modules always use the redirect engine. */
  engine: EngineName;
  moduleEngine: EngineName;
  /** Why this engine (absent from older runtimes). */
  engineReason?: string;
  signatureEnforcement: boolean;
  trustedKeys: string[];
  /** Problems found at start-up (unreadable trusted key, unwritable home, bad variable): the app runs, these explain refusals. */
  problems?: string[];
  startedAt: string;
  patches: Array<{
    patchId: string;
    version: string;
    target: string;
    advisories: string[];
    state: PatchState;
    appliedAt: string | null;
    reason: string | null;
    modules: number;
  }>;
  packages: Array<{
    name: string;
    version: string;
    files: Array<{ path: string; sha256: string; patchId: string | null }>;
  }>;
  /** Since start: patches applied, reverted, and applies or reverts that failed (absent from older runtimes). */
  counters?: { applies: number; reverts: number; failures: number };
}

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
 */
export class HotpatchRuntime {
  readonly engine: Engine;
  readonly moduleEngine: Engine;
  readonly engineReason: string | undefined;
  readonly trust: TrustStore;
  readonly service: string;
  readonly startedAt = new Date().toISOString();
  readonly records: ModuleRecord[] = [];
  readonly #byId = new Map<string, ModuleRecord>();
  /** Records by file name (last path part): an apply's plan looks at these, not at every module. */
  readonly #byName = new Map<string, ModuleRecord[]>();
  readonly #byHolder = new WeakMap<unknown[], ModuleRecord>();
  readonly #active = new Map<string, ActivePatch>(); // by target label
  readonly #exclude: (f: string) => boolean;
  readonly #deadline: number;
  /** Start-up and store problems, shown in status. */
  readonly problems: string[];
  #retry: NodeJS.Timeout | null = null;

  constructor(opts: RuntimeOptions) {
    this.engine = opts.engine;
    this.moduleEngine = opts.moduleEngine;
    this.engineReason = opts.engineReason;
    this.trust = opts.trust;
    this.service = opts.service;
    this.#exclude = opts.exclude ?? (() => false);
    this.#deadline = opts.pendingDeadlineMs ?? 10_000;
    this.problems = [...(opts.problems ?? [])];
    this.#loadActive();
  }

  // ---------------------------------------------------------------- loading

  /** CommonJS compile hook: returns the source to compile for this module. */
  onCompile(filename: string, content: string, sourceType: SourceType): string {
    if (this.#exclude(filename)) return content;
    const record = this.#record(filename, content, sourceType);
    const work = this.#workFor(record);
    if (this.engineOf(record).name === 'liveedit') {
      if (!work) return content;
      record.patchId = work.patchId;
      return patchedSource(content, work.file, this.#namespace(record, work.patchId));
    }
    // ES module imports an active patch adds are static imports of a module loading now.
    const imports = work ? patchImports(work.file, this.#namespace(record, work.patchId)) : [];
    if (imports.length) {
      const r = instrumentNow(content, sourceType, record.id, imports);
      record.table = r.table;
      return r.code;
    }
    const { code, table } = instrumentCached(content, record.sha256, sourceType, record.id);
    record.loadTable = table;
    return code;
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
    let record = this.#byId.get(m.id);
    if (!record && m.filename && m.sha256)
      record = this.#recordFromMeta(m.id, m.filename, m.sha256, m.sourceType ?? 'module');
    if (!record) return holder;
    record.holder = holder;
    record.gate = gate;
    this.#byHolder.set(holder, record);
    const work = this.#workFor(record);
    // A patch with module-level migrations waits for the module's own code to run (ready).
    if (work && !work.file.migrations.some((m) => m.kind !== 'cell')) this.#applyAtLoad(record, work, 'load');
    return holder;
  }

  /** A run-once wrapper's scope accessor (instrumentation calls this as the wrapper starts). */
  registerScope(holder: unknown[], index: number, accessor: unknown): void {
    const record = this.#byHolder.get(holder);
    if (!record) return;
    record.scopes ??= new Map();
    record.scopes.set(index, accessor);
  }

  /** The module's own code has run (its last line): patches active before it loaded finish applying. */
  moduleReady(holder: unknown[]): void {
    const record = this.#byHolder.get(holder);
    if (!record || record.patchId) return;
    const work = this.#workFor(record);
    if (work) this.#applyAtLoad(record, work, 'ready');
  }

  /** A module that cannot be patched as it loads runs its own code; status then says "failed". */
  #applyAtLoad(
    record: ModuleRecord,
    work: { patchId: string; file: FilePatch },
    phase: 'load' | 'ready',
  ): void {
    const fw: FileWork = { record, file: work.file, ...this.#namespaces(record, work.patchId) };
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
    const cells = (globalThis as unknown as Record<string, { c: Record<string, unknown> }>)[GLOBAL]!.c;
    if (patchImports(work.file, fw.namespace).some((im) => !(im.cell in cells))) {
      engine.prepareAsync([fw]).then(done, () => {});
      return;
    }
    done(safePrepare(() => engine.prepareAtLoad(fw, phase)));
  }

  #record(filename: string, content: string, sourceType: SourceType): ModuleRecord {
    return this.#recordFromMeta(this.#uniqueId(filename), filename, sha256(content), sourceType);
  }

  #uniqueId(filename: string): string {
    let id = filename;
    for (let n = 2; this.#byId.has(id); n++) id = `${filename}#${n}`;
    return id;
  }

  #recordFromMeta(id: string, filename: string, sha: string, sourceType: SourceType): ModuleRecord {
    const record = newRecord(id, filename, sha, sourceType);
    this.records.push(record);
    this.#byId.set(id, record);
    const name = lastPart(filename);
    const same = this.#byName.get(name);
    if (same) same.push(record);
    else this.#byName.set(name, [record]);
    return record;
  }

  /** ES modules always use the module engine (instrumented at load); CommonJS the main one. */
  engineOf(record: ModuleRecord): Engine {
    return record.sourceType === 'module' ? this.moduleEngine : this.engine;
  }

  #namespace(record: ModuleRecord, patchId: string): string {
    return `${record.id}@${patchId}`;
  }

  /** A module instance's namespace in patch code, and its package instance's (the package root). */
  #namespaces(record: ModuleRecord, patchId: string): { namespace: string; packageNamespace: string } {
    const root = record.relPath
      ? record.filename.slice(0, record.filename.length - record.relPath.length)
      : record.filename;
    return { namespace: this.#namespace(record, patchId), packageNamespace: `${root}@${patchId}` };
  }

  #matches(record: ModuleRecord, bundle: Bundle): boolean {
    const t = bundle.payload.target;
    const version = t.kind === 'npm' ? t.version : t.baseline;
    return record.pkgName === t.name && record.pkgVersion === version;
  }

  /** The active patch's file for a record, when the record is exactly its baseline. */
  #workFor(record: ModuleRecord): { patchId: string; file: FilePatch } | null {
    for (const a of this.#active.values()) {
      if (!this.#matches(record, a.bundle)) continue;
      const file = a.bundle.payload.files.find(
        (f) => f.path === record.relPath && f.baselineSha256 === record.sha256,
      );
      if (file) return { patchId: a.bundle.payload.patchId, file };
    }
    return null;
  }

  /** A file an active hotpatch adds to a package this process has loaded, by absolute path. */
  newFile(filename: string): NewFile | null {
    for (const a of this.#active.values()) {
      const files = a.bundle.payload.newFiles;
      if (files.length === 0) continue;
      for (const r of this.records) {
        if (!r.relPath || !this.#matches(r, a.bundle)) continue;
        const root = r.filename.slice(0, r.filename.length - r.relPath.length);
        const found = files.find((f) => root + f.path === filename);
        if (found) return found;
      }
    }
    return null;
  }

  // ---------------------------------------------------------------- apply / revert

  /**
   * Applies a signed bundle: all files or none, verified after. The bundle is stored first (a
   * restarted process must come back patched); when it cannot be stored, nothing changes. When a
   * changed function is running, it is retried until the deadline and then reported pending (and
   * retried every second); when the apply fails, the stored state is put back as it was.
   */
  /** Applies are one at a time (each awaits between its steps so as not to stall the service). */
  #serial: Promise<unknown> = Promise.resolve();

  apply(bytes: Buffer, opts: { deadlineMs?: number } = {}): Promise<ApplyResult> {
    const run = this.#serial.then(() => this.#count(() => this.#apply(bytes, opts)));
    this.#serial = run.catch(() => {});
    return run;
  }

  async #apply(bytes: Buffer, opts: { deadlineMs?: number }): Promise<ApplyResult> {
    // Parsed, validated and its signature checked off the event loop (off-thread.ts), from a
    // turn of its own (the request's turn decoded it; the checker's start is a step too).
    await new Promise((r) => setImmediate(r));
    const { bundle, label } = await checkedBundle(bytes, this.trust).catch((e: unknown) => {
      throw this.#explained(e);
    });
    const p = bundle.payload;
    labels.set(p.target, label);
    const current = this.#active.get(label);
    if (current?.bundle.payload.patchId === p.patchId) {
      const seen = this.#observe(current);
      if (seen.state === 'applied' || seen.state === 'revert-pending') {
        if (current.pending?.op === 'revert') {
          // The revert had not changed anything yet: keep the patch, stored again.
          writeDurable(storeFile(this.service, label), current.bytes);
          current.pending = null;
        }
        return this.#result(bundle, 'already-applied');
      }
    }
    if (current && current.bundle.payload.patchId !== p.patchId && current.bundle.payload.level >= p.level) {
      throw new HotpatchError(
        'E_APPLY',
        `${label} already runs ${current.bundle.payload.patchId} (level ${current.bundle.payload.level}); ${p.patchId} is level ${p.level}`,
      );
    }
    this.#plan(bundle); // refuses another baseline before anything is stored
    await writeDurableAsync(storeFile(this.service, label), bytes);
    const replaces = current?.bundle.payload.patchId === p.patchId ? current.replaces : (current ?? null);
    const entry: ActivePatch = { bundle, bytes, appliedAt: null, pending: null, replaces, error: null };
    try {
      this.#active.set(label, entry);
      // Planned again after the write's turns: modules may have loaded meanwhile.
      const work = this.#plan(bundle);
      if (work.length === 0) {
        return this.#result(bundle, 'staged', this.#notLoadedReason(bundle));
      }
      const deadline = Date.now() + (opts.deadlineMs ?? this.#deadline);
      for (;;) {
        const refused = await this.#applyOnce(entry);
        if (!refused) return this.#result(bundle, 'applied');
        if (!refused.pending)
          throw new HotpatchError('E_APPLY', `not applied, nothing changed: ${refused.reason}`);
        if (Date.now() >= deadline) {
          entry.pending = { op: 'apply', reason: refused.reason };
          this.#scheduleRetry();
          return this.#result(bundle, 'pending', refused.reason);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    } catch (e) {
      this.#giveUp(label, entry);
      throw e;
    }
  }

  /** An apply that failed: the entry it replaced comes back, in memory and on disk. */
  #giveUp(label: string, entry: ActivePatch): void {
    if (this.#active.get(label) === entry) {
      if (entry.replaces) this.#active.set(label, entry.replaces);
      else this.#active.delete(label);
    }
    try {
      if (entry.replaces) writeDurable(storeFile(this.service, label), entry.replaces.bytes);
      else removeDurable(storeFile(this.service, label));
    } catch (e) {
      warnOnce(`${(e as Error).message}: a restart may come back with ${entry.bundle.payload.patchId}`);
    }
  }

  /**
   * One attempt: changes every loaded instance of the bundle's files (and takes the files an
   * older cumulative patch changed and this one does not back to their baseline) in one
   * transaction across engines, then verifies; anything short of that is undone.
   */
  async #applyOnce(entry: ActivePatch): Promise<Refusal | null> {
    const bundle = entry.bundle;
    const p = bundle.payload;
    const work = this.#plan(bundle);
    const previous = entry.replaces?.bundle.payload.patchId;
    const leftovers = previous
      ? this.records.filter((r) => r.patchId === previous && !work.some((w) => w.record === r))
      : [];
    const parts: Prepared[] = [];
    for (const engine of this.#engines()) {
      const mine = work.filter((w) => this.engineOf(w.record) === engine);
      const back = leftovers.filter((r) => this.engineOf(r) === engine);
      for (const prepare of [
        // The redirect engine loads the ES modules a patch imports before it prepares.
        mine.length
          ? () => (engine instanceof RedirectEngine ? engine.prepareAsync(mine) : engine.prepare(mine))
          : null,
        back.length ? () => engine.prepareRevert(back) : null,
      ]) {
        if (!prepare) continue;
        const prepared = await safePrepareAsync(prepare);
        if (!prepared.ok) {
          rollbackAll(parts);
          return prepared;
        }
        parts.push(prepared);
      }
    }
    const refused = commitAll(parts);
    if (refused) return refused;
    const problems = [
      ...work.map((w) => this.#verifyQuietly(w.record, w)),
      ...leftovers.map((r) => this.#verifyQuietly(r, null)),
    ].filter((x): x is string => x !== null);
    if (problems.length) {
      rollbackAll(parts);
      throw new HotpatchError('E_VERIFY', `applied code could not be verified, rolled back: ${problems[0]}`);
    }
    for (const w of work) w.record.patchId = p.patchId;
    for (const r of leftovers) r.patchId = null;
    entry.pending = null;
    entry.replaces = null;
    entry.appliedAt = new Date().toISOString();
    return null;
  }

  /** LiveEdit first: it is the engine whose commit can still be refused. */
  #engines(): Engine[] {
    return [...new Set([this.engine, this.moduleEngine])];
  }

  #verifyQuietly(record: ModuleRecord, w: FileWork | null): string | null {
    try {
      return this.engineOf(record).verify(record, w);
    } catch (e) {
      return `${record.filename}: ${(e as Error).message}`;
    }
  }

  /** An untrusted key's refusal names the start-up problems (an unreadable key file explains it). */
  #explained(e: unknown): unknown {
    if (isHotpatchError(e) && e.code === 'E_UNTRUSTED_KEY' && this.problems.length)
      return new HotpatchError(e.code, `${e.message} (${this.problems.join('; ')})`);
    return e;
  }

  #plan(bundle: Bundle): FileWork[] {
    const work: FileWork[] = [];
    for (const file of bundle.payload.files) {
      // The file name first: a package lookup for each of a service's modules costs milliseconds.
      const tail = `${sep}${file.path.split('/').join(sep)}`;
      for (const record of this.#byName.get(lastPart(file.path)) ?? []) {
        if (!record.filename.endsWith(tail) && !record.filename.endsWith(`/${file.path}`)) continue;
        if (!this.#matches(record, bundle) || record.relPath !== file.path) continue;
        if (record.sha256 !== file.baselineSha256) {
          throw new HotpatchError(
            'E_BASELINE_MISMATCH',
            `${record.filename} is not the baseline ${bundle.payload.patchId} applies over (sha256 ${record.sha256.slice(0, 12)}, expected ${file.baselineSha256.slice(0, 12)}); nothing changed`,
          );
        }
        work.push({ record, file, ...this.#namespaces(record, bundle.payload.patchId) });
      }
    }
    return work;
  }

  /** Why a patch has nothing to change here: its package is not loaded, or another version is. */
  #notLoadedReason(bundle: Bundle): string {
    const t = bundle.payload.target;
    const wanted = t.kind === 'npm' ? t.version : t.baseline;
    const others = [
      ...new Set(this.records.filter((r) => r.pkgName === t.name).map((r) => r.pkgVersion ?? '?')),
    ].filter((v) => v !== wanted);
    if (others.length) {
      return `${t.name} ${others.join(', ')} is loaded in this process; this patch is for ${t.name} ${wanted} (applies if that version loads)`;
    }
    return `target ${t.name}@${wanted} not loaded in this process; applies when it loads`;
  }

  #scheduleRetry(): void {
    if (this.#retry) return;
    let running = false;
    this.#retry = setInterval(async () => {
      if (running) return;
      const waiting = [...this.#active.entries()].filter(([, a]) => a.pending);
      if (waiting.length === 0) {
        clearInterval(this.#retry!);
        this.#retry = null;
        return;
      }
      running = true;
      for (const [label, a] of waiting) {
        try {
          const refused = a.pending?.op === 'revert' ? this.#revertOnce(label, a) : await this.#applyOnce(a);
          if (!refused) continue;
          if (refused.pending) a.pending = { op: a.pending!.op, reason: refused.reason };
          else throw new HotpatchError('E_APPLY', refused.reason);
        } catch (e) {
          this.#retryFailed(label, a, (e as Error).message);
        }
      }
      running = false;
    }, 1000);
    this.#retry.unref();
  }

  /** A retry that can no longer succeed: an apply gives up (the older state comes back), a revert is cancelled. */
  #retryFailed(label: string, a: ActivePatch, why: string): void {
    if (a.pending?.op === 'revert') {
      a.pending = null;
      a.error = `revert failed, the patch stays applied: ${why}`;
      try {
        writeDurable(storeFile(this.service, label), a.bytes);
      } catch (e) {
        warnOnce((e as Error).message);
      }
      return;
    }
    a.pending = null;
    this.#giveUp(label, a);
    warnOnce(`${a.bundle.payload.patchId} not applied, nothing changed: ${why}`);
  }

  /** One revert attempt, synchronous (the agent's interface): reverted, or pending and retried. */
  revert(patchId: string): ApplyResult {
    return this.#countSync(() => this.#revertNow(patchId));
  }

  #revertNow(patchId: string): ApplyResult {
    const [label, active] = this.#find(patchId);
    if (active.pending?.op === 'apply') return this.#cancelApply(label, active);
    removeDurable(storeFile(this.service, label));
    return this.#revertStep(label, active, true);
  }

  /**
   * Reverts, retrying while a changed function is running until the deadline; then the revert is
   * pending (nothing changed, the patch runs whole), retried every second, and status says so.
   */
  async revertWithin(patchId: string, opts: { deadlineMs?: number } = {}): Promise<ApplyResult> {
    return this.#count(() => this.#revertWithin(patchId, opts));
  }

  async #revertWithin(patchId: string, opts: { deadlineMs?: number }): Promise<ApplyResult> {
    const [label, active] = this.#find(patchId);
    if (active.pending?.op === 'apply') return this.#cancelApply(label, active);
    // Stored state first: a restart while the revert waits comes back unpatched, as asked.
    removeDurable(storeFile(this.service, label));
    const deadline = Date.now() + (opts.deadlineMs ?? this.#deadline);
    for (;;) {
      const last = Date.now() >= deadline;
      const result = this.#revertStep(label, active, last);
      if (result.state !== 'revert-pending' || last) return result;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Applies, reverts and failures since start, for status (operators read them next to the patches). */
  readonly #counters = { applies: 0, reverts: 0, failures: 0 };

  async #count(op: () => Promise<ApplyResult>): Promise<ApplyResult> {
    return this.#countSync(() => op()).then(
      (r) => this.#tally(r),
      (e) => {
        this.#counters.failures++;
        throw e;
      },
    );
  }

  #countSync<T>(op: () => T): T {
    try {
      const r = op();
      return r instanceof Promise ? r : (this.#tally(r as ApplyResult) as T);
    } catch (e) {
      this.#counters.failures++;
      throw e;
    }
  }

  #tally(r: ApplyResult): ApplyResult {
    if (r.state === 'applied') this.#counters.applies++;
    else if (r.state === 'reverted') this.#counters.reverts++;
    return r;
  }

  #find(patchId: string): [string, ActivePatch] {
    const entry = [...this.#active.entries()].find(([, a]) => a.bundle.payload.patchId === patchId);
    if (!entry) throw new HotpatchError('E_NOT_FOUND', `no patch ${patchId} in this process`);
    return entry;
  }

  /** Reverting a pending apply cancels it: it had changed nothing; what it replaced comes back. */
  #cancelApply(label: string, active: ActivePatch): ApplyResult {
    this.#giveUp(label, active);
    return {
      ...this.#result(active.bundle, 'reverted', 'pending apply cancelled; nothing had changed'),
      modules: 0,
    };
  }

  #revertStep(label: string, active: ActivePatch, last: boolean): ApplyResult {
    let refused: Refusal | null;
    try {
      refused = this.#revertOnce(label, active);
    } catch (e) {
      this.#restoreStored(label, active);
      throw e;
    }
    if (!refused) return { ...this.#result(active.bundle, 'reverted'), modules: 0 };
    if (!refused.pending) {
      this.#restoreStored(label, active);
      throw new HotpatchError('E_APPLY', `not reverted, nothing changed: ${refused.reason}`);
    }
    if (last) {
      active.pending = { op: 'revert', reason: refused.reason };
      active.error = null;
      this.#scheduleRetry();
    }
    return this.#result(active.bundle, 'revert-pending', refused.reason);
  }

  #restoreStored(label: string, active: ActivePatch): void {
    try {
      writeDurable(storeFile(this.service, label), active.bytes);
    } catch (e) {
      warnOnce(`${(e as Error).message}: a restart may come back without ${active.bundle.payload.patchId}`);
    }
  }

  /** Every instance back to its baseline in one transaction, verified; or nothing changed. */
  #revertOnce(label: string, active: ActivePatch): Refusal | null {
    const patchId = active.bundle.payload.patchId;
    const records = this.records.filter((r) => r.patchId === patchId);
    const parts: Prepared[] = [];
    for (const engine of this.#engines()) {
      const mine = records.filter((r) => this.engineOf(r) === engine);
      if (mine.length === 0) continue;
      const prepared = safePrepare(() => engine.prepareRevert(mine));
      if (!prepared.ok) return prepared;
      parts.push(prepared);
    }
    const refused = commitAll(parts);
    if (refused) return refused;
    const problems = records.map((r) => this.#verifyQuietly(r, null)).filter((x): x is string => x !== null);
    if (problems.length) {
      rollbackAll(parts);
      throw new HotpatchError('E_VERIFY', `revert could not be verified, nothing changed: ${problems[0]}`);
    }
    for (const r of records) r.patchId = null;
    if (this.#active.get(label) === active) this.#active.delete(label);
    active.pending = null;
    return null;
  }

  #result(bundle: Bundle, state: ApplyResult['state'], reason?: string): ApplyResult {
    const p = bundle.payload;
    return {
      patchId: p.patchId,
      version: p.version,
      target: labelOf(p.target),
      state,
      modules: this.records.filter((r) => r.patchId === p.patchId).length,
      ...(reason ? { reason } : {}),
    };
  }

  // ---------------------------------------------------------------- persistence

  #loadActive(): void {
    const dir = activeDir(this.service);
    let names: string[];
    try {
      names = existsSync(dir) ? readdirSync(dir) : [];
    } catch (e) {
      this.problems.push(`stored patches in ${dir} cannot be read: ${fsReason(e)}`);
      return;
    }
    for (const name of names) {
      if (!name.endsWith('.hpatch')) continue;
      try {
        const bytes = readFileSync(join(dir, name));
        const bundle = heavy().parseBundle(bytes, name);
        heavy().verifyBundle(bundle, this.trust);
        assertRunnable(bundle.payload, heavy().KEY_SCHEME);
        this.#active.set(labelOf(bundle.payload.target), {
          bundle,
          bytes,
          appliedAt: null,
          pending: null,
          replaces: null,
          error: null,
        });
      } catch (e) {
        this.problems.push(`stored patch ${name} ignored: ${(e as Error).message}`);
      }
    }
  }

  // ---------------------------------------------------------------- status

  /**
   * A patch's state as the running code shows it, never as a flag: every loaded instance of its
   * files is checked by its engine (LiveEdit: the script's source and the exported functions;
   * redirect: the slots).
   */
  #observe(a: ActivePatch): { state: PatchState; reason: string | null; modules: number } {
    const patchId = a.bundle.payload.patchId;
    let work: FileWork[];
    try {
      work = this.#plan(a.bundle);
    } catch (e) {
      return { state: 'failed', reason: (e as Error).message, modules: 0 };
    }
    const modules = work.filter((w) => w.record.patchId === patchId).length;
    if (a.pending?.op === 'apply') return { state: 'pending', reason: a.pending.reason, modules };
    if (work.length === 0) {
      return { state: 'staged', reason: a.error ?? this.#notLoadedReason(a.bundle), modules };
    }
    const problems = work
      .map((w) =>
        w.record.patchId === patchId ? this.#verifyQuietly(w.record, w) : `${w.record.filename}: not patched`,
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

  status(): RuntimeStatus {
    const packages = new Map<string, RuntimeStatus['packages'][number]>();
    for (const r of this.records) {
      if (!r.pkgName) continue;
      const key = `${r.pkgName}@${r.pkgVersion}`;
      const entry = packages.get(key) ?? { name: r.pkgName, version: r.pkgVersion ?? '', files: [] };
      entry.files.push({ path: r.relPath ?? r.filename, sha256: r.sha256, patchId: r.patchId });
      packages.set(key, entry);
    }
    return {
      pid: process.pid,
      service: this.service,
      node: process.version,
      cwd: process.cwd(),
      argv: process.argv,
      engine: this.engine.name,
      moduleEngine: this.moduleEngine.name,
      ...(this.engineReason ? { engineReason: this.engineReason } : {}),
      signatureEnforcement: true,
      trustedKeys: this.trust.keyIds(),
      problems: [...this.problems],
      startedAt: this.startedAt,
      patches: [...this.#active.values()].map((a) => {
        const seen = this.#observe(a);
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
      packages: [...packages.values()],
      counters: { ...this.#counters },
    };
  }
}

/** Warnings the runtime writes itself go to stderr as one line each, once. */
const warned = new Set<string>();
export function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  try {
    process.stderr.write(`hotpatch: warning: ${message}\n`);
  } catch {
    // stderr closed: nothing else to do
  }
}

/** The last part of a path, '/'- or platform-separated. */
function lastPart(path: string): string {
  return path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf(sep)) + 1);
}

/** Labels of the targets of bundles checked off this thread (heavy.js need not load here for them). */
const labels = new WeakMap<Target, string>();

/** A target's label (core's targetLabel, loaded with bundle validation: only patches need it). */
function labelOf(target: Target): string {
  return labels.get(target) ?? heavy().targetLabel(target);
}

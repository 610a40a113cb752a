import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Bundle,
  type FilePatch,
  HotpatchError,
  KEY_SCHEME,
  type NewFile,
  parseBundle,
  sha256,
  type TrustStore,
  targetLabel,
  verifyBundle,
} from '@hotpatch/core';
import { GLOBAL, instrumentModule, type SourceType } from '@hotpatch/instrument';
import { RedirectEngine } from './engines/redirect.js';
import { patchedSource, patchImports } from './engines/source.js';
import type { Engine, EngineName, FileWork, ModuleRecord, PrepareResult } from './engines/types.js';
import { instrumentCached } from './instrument-cache.js';
import { packageOf, relativeTo } from './inventory.js';
import { activeDir, ensurePrivateDir } from './paths.js';

export type PatchState = 'applied' | 'staged' | 'pending';

interface ActivePatch {
  bundle: Bundle;
  bytes: Buffer;
  state: PatchState;
  appliedAt: string | null;
  /** Why it is pending (a running or suspended changed function). */
  reason: string | null;
}

export interface ApplyResult {
  patchId: string;
  version: string;
  target: string;
  state: PatchState | 'already-applied';
  modules: number;
  reason?: string;
}

export interface RuntimeStatus {
  pid: number;
  service: string;
  node: string;
  /** Engine for CommonJS modules; ES modules always use the redirect engine. */
  engine: EngineName;
  moduleEngine: EngineName;
  signatureEnforcement: boolean;
  trustedKeys: string[];
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
}

export interface RuntimeOptions {
  /** Engine for CommonJS modules (LiveEdit where V8 has it). */
  engine: Engine;
  /** Engine for ES modules, which are instrumented at load: V8 LiveEdit refuses many ESM changes. */
  moduleEngine: Engine;
  trust: TrustStore;
  service: string;
  /** Files never instrumented or patched (the runtime's own code). */
  exclude?: (filename: string) => boolean;
  /** Default time to keep retrying while a changed function is running. */
  pendingDeadlineMs?: number;
}

/**
 * The in-process hotpatch runtime: knows every module instance it can patch, applies signed
 * bundles through an engine (all files or none, verified after), reverts, and keeps active
 * patches on disk so that modules loaded later and restarted processes run the patched code.
 */
export class HotpatchRuntime {
  readonly engine: Engine;
  readonly moduleEngine: Engine;
  readonly trust: TrustStore;
  readonly service: string;
  readonly startedAt = new Date().toISOString();
  readonly records: ModuleRecord[] = [];
  readonly #byId = new Map<string, ModuleRecord>();
  readonly #byHolder = new WeakMap<unknown[], ModuleRecord>();
  /** The bundle being applied: its new files load while its migrations run. */
  #applying: Bundle | null = null;
  readonly #active = new Map<string, ActivePatch>(); // by target label
  readonly #exclude: (f: string) => boolean;
  readonly #deadline: number;
  #retry: NodeJS.Timeout | null = null;

  constructor(opts: RuntimeOptions) {
    this.engine = opts.engine;
    this.moduleEngine = opts.moduleEngine;
    this.trust = opts.trust;
    this.service = opts.service;
    this.#exclude = opts.exclude ?? (() => false);
    this.#deadline = opts.pendingDeadlineMs ?? 10_000;
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
    const imports = work ? patchImports(work.file, this.#namespace(record, work.patchId)) : [];
    if (imports.length) {
      const r = instrumentModule(content, sourceType, record.id, undefined, imports);
      record.table = r.table;
      return r.code;
    }
    const { code, table } = instrumentCached(content, record.sha256, sourceType, record.id);
    if (table) record.table = table;
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

  #applyAtLoad(
    record: ModuleRecord,
    work: { patchId: string; file: FilePatch },
    phase: 'load' | 'ready',
  ): void {
    const fw: FileWork = { record, file: work.file, namespace: this.#namespace(record, work.patchId) };
    const engine = this.engineOf(record);
    const done = (prepared: PrepareResult) => {
      if (prepared.ok && prepared.commit() === null) record.patchId = work.patchId;
      else if (!prepared.ok)
        process.emitWarning(`hotpatch: ${record.filename} loads unpatched: ${prepared.reason}`);
    };
    if (!(engine instanceof RedirectEngine)) {
      done(engine.prepare([fw]));
      return;
    }
    // ES module imports the patch adds load asynchronously, unless the module imported them
    // statically as it loaded (patchImports): the slots fill once they have.
    const cells = (globalThis as unknown as Record<string, { c: Record<string, unknown> }>)[GLOBAL]!.c;
    if (patchImports(work.file, fw.namespace).some((im) => !(im.cell in cells))) {
      engine
        .prepareAsync([fw])
        .then(done, (e: Error) => done({ ok: false, pending: false, reason: e.message }));
      return;
    }
    done(engine.prepareAtLoad(fw, phase));
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
    const pkg = packageOf(filename);
    const record: ModuleRecord = {
      id,
      filename,
      sourceType,
      sha256: sha,
      pkgName: pkg?.name ?? null,
      pkgVersion: pkg?.version ?? null,
      relPath: pkg ? relativeTo(pkg.root, filename) : null,
      patchId: null,
    };
    this.records.push(record);
    this.#byId.set(id, record);
    return record;
  }

  /** ES modules always use the module engine (instrumented at load); CommonJS the main one. */
  engineOf(record: ModuleRecord): Engine {
    return record.sourceType === 'module' ? this.moduleEngine : this.engine;
  }

  #namespace(record: ModuleRecord, patchId: string): string {
    return `${record.id}@${patchId}`;
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
    const bundles = [...this.#active.values()].map((a) => a.bundle);
    if (this.#applying) bundles.push(this.#applying);
    for (const bundle of bundles) {
      const files = bundle.payload.newFiles;
      if (files.length === 0) continue;
      for (const r of this.records) {
        if (!r.relPath || !this.#matches(r, bundle)) continue;
        const root = r.filename.slice(0, r.filename.length - r.relPath.length);
        const found = files.find((f) => root + f.path === filename);
        if (found) return found;
      }
    }
    return null;
  }

  // ---------------------------------------------------------------- apply / revert

  async apply(bytes: Buffer, opts: { deadlineMs?: number } = {}): Promise<ApplyResult> {
    const bundle = parseBundle(bytes);
    verifyBundle(bundle, this.trust);
    const p = bundle.payload;
    if (p.keyScheme !== KEY_SCHEME) {
      throw new HotpatchError(
        'E_ENGINE',
        `bundle uses function key scheme ${p.keyScheme}; this runtime knows ${KEY_SCHEME}`,
      );
    }
    const label = targetLabel(p.target);
    const current = this.#active.get(label);
    if (current?.bundle.payload.patchId === p.patchId && current.state === 'applied') {
      const problems = this.#verifyAll(current.bundle);
      if (problems.length === 0) return this.#result(bundle, 'already-applied');
    }
    if (current && current.bundle.payload.patchId !== p.patchId && current.bundle.payload.level >= p.level) {
      throw new HotpatchError(
        'E_APPLY',
        `${label} already runs ${current.bundle.payload.patchId} (level ${current.bundle.payload.level}); ${p.patchId} is level ${p.level}`,
      );
    }
    const work = this.#plan(bundle);
    if (work.length === 0) {
      this.#setActive(label, {
        bundle,
        bytes,
        state: 'staged',
        appliedAt: null,
        reason: 'target not loaded in this process',
      });
      return this.#result(bundle, 'staged', 'target not loaded in this process; applies when it loads');
    }
    const deadline = Date.now() + (opts.deadlineMs ?? this.#deadline);
    for (;;) {
      this.#applying = bundle;
      const staging = this.#stageNewModules(bundle, bytes);
      let prepared = await this.#prepare(work).finally(() => {
        this.#applying = null;
        if (staging) rmSync(staging, { force: true });
      });
      if (prepared.ok) {
        const refused = prepared.commit();
        if (refused) prepared = refused;
      }
      if (prepared.ok) {
        const problems = work
          .map((w) => this.engineOf(w.record).verify(w.record, w))
          .filter((x): x is string => x !== null);
        if (problems.length) {
          prepared.rollback();
          throw new HotpatchError(
            'E_VERIFY',
            `applied code could not be verified, rolled back: ${problems[0]}`,
          );
        }
        const previous = current?.bundle.payload.patchId;
        for (const w of work) w.record.patchId = p.patchId;
        // Files the older cumulative patch changed and this one does not: back to baseline.
        if (previous && previous !== p.patchId) {
          for (const r of this.records) if (r.patchId === previous) this.#revertRecord(r);
        }
        this.#setActive(label, {
          bundle,
          bytes,
          state: 'applied',
          appliedAt: new Date().toISOString(),
          reason: null,
        });
        return this.#result(bundle, 'applied');
      }
      if (!prepared.pending)
        throw new HotpatchError('E_APPLY', `not applied, nothing changed: ${prepared.reason}`);
      if (Date.now() >= deadline) {
        this.#setActive(label, { bundle, bytes, state: 'pending', appliedAt: null, reason: prepared.reason });
        this.#scheduleRetry();
        return this.#result(bundle, 'pending', prepared.reason);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Prepares on each engine involved; commits all of them or none. */
  async #prepare(work: FileWork[]): Promise<PrepareResult> {
    const parts: Array<Extract<PrepareResult, { ok: true }>> = [];
    // LiveEdit first: it is the one whose commit can still be refused.
    for (const engine of new Set([this.engine, this.moduleEngine])) {
      const mine = work.filter((w) => this.engineOf(w.record) === engine);
      if (mine.length === 0) continue;
      const p = engine instanceof RedirectEngine ? await engine.prepareAsync(mine) : engine.prepare(mine);
      if (!p.ok) {
        for (const done of parts) done.rollback();
        return p;
      }
      parts.push(p);
    }
    const committed: typeof parts = [];
    return {
      ok: true,
      commit: () => {
        for (const p of parts) {
          const refused = p.commit();
          if (refused) {
            for (const c of committed.reverse()) c.rollback();
            return refused;
          }
          committed.push(p);
        }
        return null;
      },
      rollback: () => {
        for (const p of parts.reverse()) p.rollback();
      },
    };
  }

  #plan(bundle: Bundle): FileWork[] {
    const work: FileWork[] = [];
    for (const file of bundle.payload.files) {
      for (const record of this.records) {
        if (!this.#matches(record, bundle) || record.relPath !== file.path) continue;
        if (record.sha256 !== file.baselineSha256) {
          throw new HotpatchError(
            'E_BASELINE_MISMATCH',
            `${record.filename} is not the baseline ${bundle.payload.patchId} applies over (sha256 ${record.sha256.slice(0, 12)}, expected ${file.baselineSha256.slice(0, 12)}); nothing changed`,
          );
        }
        work.push({ record, file, namespace: this.#namespace(record, bundle.payload.patchId) });
      }
    }
    return work;
  }

  /**
   * ES modules a bundle adds are served by the module hooks, which on Node 20 run on another
   * thread and read the service's store: the bundle is staged there while it applies.
   */
  #stageNewModules(bundle: Bundle, bytes: Buffer): string | null {
    if (!bundle.payload.newFiles.some((f) => f.sourceType === 'module')) return null;
    const dir = ensurePrivateDir(activeDir(this.service));
    const file = join(dir, `.applying-${process.pid}.hpatch`);
    writeFileSync(file, bytes, { mode: 0o600 });
    return file;
  }

  #scheduleRetry(): void {
    if (this.#retry) return;
    this.#retry = setInterval(() => {
      const pending = [...this.#active.values()].filter((a) => a.state === 'pending');
      if (pending.length === 0) {
        clearInterval(this.#retry!);
        this.#retry = null;
        return;
      }
      for (const a of pending) {
        this.apply(a.bytes, { deadlineMs: 0 }).catch((e: Error) => {
          a.reason = e.message;
        });
      }
    }, 1000);
    this.#retry.unref();
  }

  revert(patchId: string): ApplyResult {
    const entry = [...this.#active.entries()].find(([, a]) => a.bundle.payload.patchId === patchId);
    if (!entry) throw new HotpatchError('E_NOT_FOUND', `no patch ${patchId} in this process`);
    const [label, active] = entry;
    let modules = 0;
    for (const r of this.records) {
      if (r.patchId !== patchId) continue;
      this.#revertRecord(r);
      const problem = this.engineOf(r).verify(r, null);
      if (problem) throw new HotpatchError('E_VERIFY', `revert could not be verified: ${problem}`);
      modules++;
    }
    this.#active.delete(label);
    rmSync(this.#storeFile(label), { force: true });
    return { ...this.#result(active.bundle, 'applied'), state: 'staged', modules, reason: 'reverted' };
  }

  #revertRecord(r: ModuleRecord): void {
    this.engineOf(r).revert(r);
    r.patchId = null;
  }

  #verifyAll(bundle: Bundle): string[] {
    return this.#plan(bundle)
      .map((w) =>
        w.record.patchId === bundle.payload.patchId
          ? this.engineOf(w.record).verify(w.record, w)
          : 'not applied',
      )
      .filter((x): x is string => x !== null);
  }

  #result(bundle: Bundle, state: ApplyResult['state'], reason?: string): ApplyResult {
    const p = bundle.payload;
    return {
      patchId: p.patchId,
      version: p.version,
      target: targetLabel(p.target),
      state,
      modules: this.records.filter((r) => r.patchId === p.patchId).length,
      ...(reason ? { reason } : {}),
    };
  }

  // ---------------------------------------------------------------- persistence

  #storeFile(label: string): string {
    return join(activeDir(this.service), `${encodeURIComponent(label)}.hpatch`);
  }

  #setActive(label: string, a: ActivePatch): void {
    this.#active.set(label, a);
    const dir = ensurePrivateDir(activeDir(this.service));
    const file = this.#storeFile(label);
    const tmp = join(dir, `.${process.pid}.tmp`);
    writeFileSync(tmp, a.bytes, { mode: 0o600 });
    renameSync(tmp, file);
  }

  #loadActive(): void {
    const dir = activeDir(this.service);
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      if (!name.endsWith('.hpatch')) continue;
      try {
        const bytes = readFileSync(join(dir, name));
        const bundle = parseBundle(bytes, name);
        verifyBundle(bundle, this.trust);
        this.#active.set(targetLabel(bundle.payload.target), {
          bundle,
          bytes,
          state: 'staged',
          appliedAt: null,
          reason: null,
        });
      } catch (e) {
        process.emitWarning(`hotpatch: ignoring stored patch ${name}: ${(e as Error).message}`);
      }
    }
  }

  /** Marks staged patches applied once their modules loaded patched. */
  refreshStates(): void {
    for (const a of this.#active.values()) {
      if (a.state === 'staged' && this.records.some((r) => r.patchId === a.bundle.payload.patchId)) {
        a.state = 'applied';
        a.appliedAt ??= new Date().toISOString();
      }
    }
  }

  // ---------------------------------------------------------------- status

  status(): RuntimeStatus {
    this.refreshStates();
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
      engine: this.engine.name,
      moduleEngine: this.moduleEngine.name,
      signatureEnforcement: true,
      trustedKeys: this.trust.keyIds(),
      startedAt: this.startedAt,
      patches: [...this.#active.values()].map((a) => ({
        patchId: a.bundle.payload.patchId,
        version: a.bundle.payload.version,
        target: targetLabel(a.bundle.payload.target),
        advisories: a.bundle.payload.advisories,
        state: a.state,
        appliedAt: a.appliedAt,
        reason: a.reason,
        modules: this.records.filter((r) => r.patchId === a.bundle.payload.patchId).length,
      })),
      packages: [...packages.values()],
    };
  }
}

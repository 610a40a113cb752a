import type { Session } from 'node:inspector';
import Module, { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { HotpatchError } from '@hotpatch/core';
import { baselineSource, patchedSource, spliceEdits, withNamespace } from './source.js';
import type { Engine, FileWork, ModuleRecord, PrepareResult, Refusal } from './types.js';

/** Edits closer than this (in characters of unchanged text) go to different LiveEdit steps. */
const STEP_GAP = 200;

type Result = { status?: string; exceptionDetails?: { text?: string } } & Record<string, unknown>;

/**
 * V8 LiveEdit through an in-process inspector session (no port is opened). Node 20-25.
 * Debugger.enable runs once at start-up, when few scripts exist, so it never stalls a busy
 * process later; script ids are tracked from Debugger.scriptParsed.
 */
export class LiveEditEngine implements Engine {
  readonly name = 'liveedit' as const;
  // node:inspector loads only when LiveEdit is chosen (it is not the default engine).
  readonly #session: Session = new (
    createRequire(import.meta.url)('node:inspector') as typeof import('node:inspector')
  ).Session();
  readonly #scripts = new Map<string, string>(); // filename -> scriptId

  constructor() {
    this.#session.connect();
    this.#session.on('Debugger.scriptParsed', (msg) => {
      const url = (msg.params as { url: string }).url;
      if (!url) return;
      const file = url.startsWith('file://') ? fileURLToPath(url) : url;
      this.#scripts.set(file, (msg.params as { scriptId: string }).scriptId);
    });
    this.#post('Debugger.enable', {});
  }

  /** In-process sessions answer synchronously; keep it that way so that applies are atomic. */
  #post(method: string, params: Record<string, unknown>): Result {
    let out: Result | undefined;
    let error: Error | null = null;
    this.#session.post(method, params, (err, res) => {
      error = err;
      out = res as Result;
    });
    if (error) throw new HotpatchError('E_ENGINE', `${method}: ${(error as Error).message}`);
    if (!out) throw new HotpatchError('E_ENGINE', `${method} did not answer synchronously`);
    return out;
  }

  /** Files V8 has compiled, for modules no load hook saw (ESM). */
  files(): string[] {
    return [...this.#scripts.keys()].filter((f) => f.startsWith('/'));
  }

  #scriptId(record: ModuleRecord): string {
    const id = this.#scripts.get(record.filename);
    if (!id) throw new HotpatchError('E_ENGINE', `no V8 script for ${record.filename}`);
    return id;
  }

  #set(scriptId: string, source: string, dryRun: boolean): Result {
    return this.#post('Debugger.setScriptSource', { scriptId, scriptSource: source, dryRun });
  }

  /**
   * V8 maps the functions of the old and new script through a text diff; when changed functions
   * sit close together the diff can misalign them, and V8 then leaves their running closures on
   * the old code, reporting Ok. So edits are applied in steps whose edits are far apart (one
   * step in the common case), and the result is checked; when closures stayed on the old code,
   * it is undone and redone one function per step. Every step plan is computed here, before
   * anything changes: a bundle whose edits do not fit the running file is refused untouched.
   */
  prepare(work: FileWork[]): PrepareResult {
    const unfit = work.find((w) => w.file.liveEdit !== null);
    if (unfit)
      return {
        ok: false,
        pending: false,
        reason: `${unfit.file.path}: this hotpatch needs the redirect engine (${unfit.file.liveEdit}); run the process with HOTPATCH_ENGINE=redirect`,
      };
    const jobs = work.map((w) => {
      const scriptId = this.#scriptId(w.record);
      const baseline = baselineSource(w.record);
      const current = this.#source(scriptId);
      return {
        w,
        record: w.record,
        scriptId,
        baseline,
        plans: [STEP_GAP, Number.POSITIVE_INFINITY].map((gap) =>
          this.#path(w.record, current, baseline, w, gap),
        ),
      };
    });
    return this.#transaction(
      jobs.length,
      (i) => {
        const job = jobs[i]!;
        let refused: Refusal | null = null;
        for (const path of job.plans) {
          refused = this.#walkOrRestore(job.scriptId, path, job.w.file.path, job.w);
          if (refused) break;
          let stale: string | null;
          try {
            stale = this.#staleFunction(job.record, job.baseline, job.w);
          } catch (e) {
            stale = `a function (${(e as Error).message})`;
          }
          if (!stale) return { path, after: path.slice(path.indexOf(job.baseline)) };
          this.#walk(job.scriptId, [...path].reverse().slice(1));
          refused = {
            ok: false,
            pending: false,
            reason: `${job.w.file.path}: V8 LiveEdit left ${stale} on the old code`,
          };
        }
        return refused!;
      },
      jobs.map((j) => j.record),
    );
  }

  /** Restores baselines: each record the way its patch came (V8 maps functions best that way). */
  prepareRevert(records: ModuleRecord[]): PrepareResult {
    const jobs = records.map((record) => {
      const scriptId = this.#scriptId(record);
      const current = this.#source(scriptId);
      const baseline = baselineSource(record);
      const came = record.liveEditPath;
      const path = came && came[came.length - 1] === current ? [...came].reverse() : [current, baseline];
      return { record, scriptId, path };
    });
    return this.#transaction(
      jobs.length,
      (i) => {
        const job = jobs[i]!;
        const refused = this.#walkOrRestore(job.scriptId, job.path, job.record.filename, null);
        return refused ?? { path: job.path, after: undefined };
      },
      records,
    );
  }

  /**
   * Runs step(i) for each job; a step walks its script along a path of sources or refuses having
   * put it back. On a refusal (or an exception) every script already moved is walked back, so
   * the process runs exactly what it ran before.
   */
  #transaction(
    count: number,
    step: (i: number) => Refusal | { path: string[]; after: string[] | undefined },
    records: ModuleRecord[],
  ): PrepareResult {
    const done: Array<{
      record: ModuleRecord;
      scriptId: string;
      path: string[];
      before: string[] | undefined;
    }> = [];
    const undo = () => {
      for (const d of done.reverse()) {
        const failed = this.#walk(d.scriptId, [...d.path].reverse().slice(1));
        if (failed)
          throw new HotpatchError(
            'E_ENGINE',
            `could not put back ${d.record.filename}: ${failed.refusal.reason}; it runs neither the old nor the new code`,
          );
        d.record.liveEditPath = d.before;
      }
      done.length = 0;
    };
    return {
      ok: true,
      commit: () => {
        for (let i = 0; i < count; i++) {
          const record = records[i]!;
          let out: ReturnType<typeof step>;
          try {
            out = step(i);
          } catch (e) {
            undo();
            throw e;
          }
          if ('ok' in out) {
            undo();
            return out;
          }
          done.push({
            record,
            scriptId: this.#scriptId(record),
            path: out.path,
            before: record.liveEditPath,
          });
          record.liveEditPath = out.after;
        }
        return null;
      },
      rollback: undo,
    };
  }

  /**
   * Walks a script from path[0] along the path; when V8 refuses a step (or the inspector throws),
   * walks it back to path[0] and says why. `w` names the changed functions in the reason.
   */
  #walkOrRestore(scriptId: string, path: string[], what: string, w: FileWork | null): Refusal | null {
    let failed: { index: number; refusal: Refusal } | null;
    try {
      failed = this.#walk(scriptId, path.slice(1));
    } catch (e) {
      const now = this.#source(scriptId);
      const at = path.lastIndexOf(now);
      if (at > 0)
        this.#walk(
          scriptId,
          path
            .slice(0, at + 1)
            .reverse()
            .slice(1),
        );
      return { ok: false, pending: false, reason: `${what}: ${(e as Error).message}` };
    }
    if (!failed) return null;
    const back = this.#walk(
      scriptId,
      path
        .slice(0, failed.index + 1)
        .reverse()
        .slice(1),
    );
    if (back)
      throw new HotpatchError(
        'E_ENGINE',
        `${what}: ${failed.refusal.reason}, and the steps already made could not be undone (${back.refusal.reason})`,
      );
    const live = w ? w.file.changes.filter((c) => c.verdict === 'live').map((c) => c.name) : [];
    return {
      ...failed.refusal,
      reason: `${what}: ${failed.refusal.reason}${failed.refusal.pending && live.length ? `; one of ${live.join(', ')}` : ''}`,
    };
  }

  #source(scriptId: string): string {
    return this.#post('Debugger.getScriptSource', { scriptId }).scriptSource as string;
  }

  /** Sources from what runs now to the patched source: back to the baseline, then edit groups. */
  #path(record: ModuleRecord, current: string, baseline: string, w: FileWork, minGap: number): string[] {
    // Back to the baseline the way the current patch came, when there is one.
    const back =
      record.liveEditPath && record.liveEditPath[record.liveEditPath.length - 1] === current
        ? [...record.liveEditPath].reverse()
        : current === baseline
          ? [current]
          : [current, baseline];
    const path = [...back];
    const groups: Array<typeof w.file.edits> = [];
    for (const e of w.file.edits) {
      const group = groups.find((g) => e.start - g[g.length - 1]!.end >= minGap);
      if (group) group.push(e);
      else groups.push([e]);
    }
    let applied: typeof w.file.edits = [];
    for (const g of groups) {
      applied = [...applied, ...g].sort((x, y) => x.start - y.start);
      path.push(withNamespace(spliceEdits(baseline, applied), w.namespace));
    }
    const last = path[path.length - 1];
    if (last !== patchedSource(baseline, w.file, w.namespace))
      throw new HotpatchError('E_ENGINE', 'step plan does not reach the patched source');
    return path;
  }

  /** Sets each source in turn; on a refusal says at which step (the ones before are applied). */
  #walk(scriptId: string, sources: string[]): { index: number; refusal: Refusal } | null {
    for (let i = 0; i < sources.length; i++) {
      const res = this.#set(scriptId, sources[i]!, false);
      const status = res.status ?? 'Ok';
      if (status === 'Ok') continue;
      const blocked = status.startsWith('BlockedByActive');
      return {
        index: i,
        refusal: {
          ok: false,
          pending: blocked,
          reason: blocked
            ? `a changed function is running or suspended (${status})`
            : `LiveEdit refused (${status}${res.exceptionDetails?.text ? `: ${res.exceptionDetails.text}` : ''})`,
        },
      };
    }
    return null;
  }

  /** A function reachable from the module's exports that still has the code an edit replaced. */
  #staleFunction(record: ModuleRecord, baseline: string, w: FileWork): string | null {
    const old = w.file.edits.map((e) => baseline.slice(e.start, e.end).trim()).filter((t) => t.length > 0);
    for (const fn of reachableFunctions(exportsOf(record.filename))) {
      const text = Function.prototype.toString.call(fn);
      if (old.some((o) => text.endsWith(o))) return fn.name || 'a function';
    }
    return null;
  }

  verify(record: ModuleRecord, w: FileWork | null): string | null {
    const running = this.#source(this.#scriptId(record));
    const baseline = baselineSource(record);
    const expected = w ? patchedSource(baseline, w.file, w.namespace) : baseline;
    if (running !== expected) {
      return `${record.filename}: running source differs from the ${w ? 'patched' : 'baseline'} source`;
    }
    // The script source can change while V8 keeps existing closures on the old code: look at the
    // functions the module exports.
    if (w) {
      const stale = this.#staleFunction(record, baseline, w);
      if (stale) return `${record.filename}: ${stale} still runs the old code after LiveEdit`;
    }
    return null;
  }
}

type AnyFunction = (...args: never[]) => unknown;

function exportsOf(filename: string): unknown {
  const cache = (Module as unknown as { _cache: Record<string, { exports?: unknown } | undefined> })._cache;
  return cache[filename]?.exports;
}

/** Functions reachable from a value (own properties, prototypes), bounded; getters are not called. */
export function reachableFunctions(root: unknown, limit = 5000): AnyFunction[] {
  const seen = new Set<unknown>([Object.prototype, Function.prototype, Array.prototype]);
  const out: AnyFunction[] = [];
  const visit = (v: unknown, depth: number): void => {
    if (
      out.length >= limit ||
      depth > 3 ||
      v === null ||
      (typeof v !== 'object' && typeof v !== 'function') ||
      seen.has(v)
    )
      return;
    seen.add(v);
    if (typeof v === 'function') out.push(v as AnyFunction);
    let keys: string[];
    try {
      keys = Object.getOwnPropertyNames(v);
    } catch {
      return;
    }
    for (const key of keys) {
      const d = Object.getOwnPropertyDescriptor(v, key);
      if (!d) continue;
      if ('value' in d) visit(d.value, depth + 1);
      else {
        visit(d.get, depth + 1);
        visit(d.set, depth + 1);
      }
    }
  };
  visit(root, 0);
  return out;
}

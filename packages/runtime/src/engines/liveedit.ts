import { Session } from 'node:inspector';
import Module from 'node:module';
import { fileURLToPath } from 'node:url';
import { HotpatchError } from '@hotpatch/core';
import { baselineSource, patchedSource } from './source.js';
import type { Engine, FileWork, ModuleRecord, PrepareResult } from './types.js';

type Result = { status?: string; exceptionDetails?: { text?: string } } & Record<string, unknown>;

/**
 * V8 LiveEdit through an in-process inspector session (no port is opened). Node 20-25.
 * Debugger.enable runs once at start-up, when few scripts exist, so it never stalls a busy
 * process later; script ids are tracked from Debugger.scriptParsed.
 */
export class LiveEditEngine implements Engine {
  readonly name = 'liveedit' as const;
  readonly #session = new Session();
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

  prepare(work: FileWork[]): PrepareResult {
    // No dry run: setScriptSource costs ~30 ms plus a walk of the heap (~80 ms with 1,000
    // modules), and a refused call changes nothing, so the real call is the check.
    const plan = work.map((w) => {
      const scriptId = this.#scriptId(w.record);
      return {
        w,
        scriptId,
        previous: this.#post('Debugger.getScriptSource', { scriptId }).scriptSource as string,
        next: patchedSource(baselineSource(w.record), w.file, w.namespace),
      };
    });
    const done: typeof plan = [];
    const undo = () => {
      for (const d of done.reverse()) this.#set(d.scriptId, d.previous, false);
      done.length = 0;
    };
    return {
      ok: true,
      commit: () => {
        for (const p of plan) {
          const res = this.#set(p.scriptId, p.next, false);
          const status = res.status ?? 'Ok';
          if (status !== 'Ok') {
            undo();
            const blocked = status.startsWith('BlockedByActive');
            const live = p.w.file.changes.filter((c) => c.verdict === 'live').map((c) => c.name);
            return {
              ok: false,
              pending: blocked,
              reason: blocked
                ? `${p.w.file.path}: a changed function is running or suspended (${status}); one of ${live.join(', ')}`
                : `${p.w.file.path}: LiveEdit refused (${status}${res.exceptionDetails?.text ? `: ${res.exceptionDetails.text}` : ''})`,
            };
          }
          done.push(p);
        }
        return null;
      },
      rollback: undo,
    };
  }

  revert(record: ModuleRecord): void {
    const res = this.#set(this.#scriptId(record), baselineSource(record), false);
    if ((res.status ?? 'Ok') !== 'Ok') {
      throw new HotpatchError('E_APPLY', `cannot restore ${record.filename}: ${res.status}`);
    }
  }

  verify(record: ModuleRecord, w: FileWork | null): string | null {
    const scriptId = this.#scriptId(record);
    const running = this.#post('Debugger.getScriptSource', { scriptId }).scriptSource as string;
    const baseline = baselineSource(record);
    const expected = w ? patchedSource(baseline, w.file, w.namespace) : baseline;
    if (running !== expected) {
      return `${record.filename}: running source differs from the ${w ? 'patched' : 'baseline'} source`;
    }
    // The script source can change while V8 keeps existing closures on the old code (it does so,
    // silently, when a scope's variable layout changes): look at the functions the module exports.
    if (w) {
      const old = w.file.edits.map((e) => baseline.slice(e.start, e.end).trim()).filter((t) => t.length > 0);
      for (const fn of reachableFunctions(exportsOf(record.filename))) {
        const text = Function.prototype.toString.call(fn);
        if (old.some((o) => text.endsWith(o))) {
          return `${record.filename}: ${fn.name || 'a function'} still runs the old code after LiveEdit`;
        }
      }
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

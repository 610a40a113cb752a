import { isMainThread, Worker } from 'node:worker_threads';
import { type Bundle, type FunctionPatch, HotpatchError, type TrustStore } from '@hotpatch/core';
import type { ModuleTable, SourceType } from '@hotpatch/instrument';
import type { CheckAnswer, CheckOp, CheckRequest } from './check-worker.js';
import { assertRunnable } from './compat.js';
import { heavy } from './lazy.js';

/**
 * The pure checks of an apply in a worker thread (checker.ts), so that an apply stalls the
 * service's event loop only for what must happen on it: compiling the replacements in their
 * modules and the slot swap. The worker starts with the first apply and ends after a quiet
 * while (it holds a second isolate); where it cannot start or dies, the checks run here, as before.
 * Only the main thread uses it (an application's worker threads check in their own thread).
 */
const IDLE_MS = 10_000;
/** In the checker's workerData: the runtime does not start in that thread (register.ts). */
export const CHECKER_MARK = 'hotpatchChecker';
let worker: Worker | null = null;
let broken = false;
let idle: NodeJS.Timeout | null = null;
let next = 1;
/** Answers awaited, by request id; null: the checker is gone (the caller checks in this thread). */
const waiting = new Map<number, (a: CheckAnswer | null) => void>();

function start(): Worker | null {
  if (worker || broken || !isMainThread) return worker;
  try {
    // No execArgv: the service's flags are not the checker's. A preload given in NODE_OPTIONS
    // (what `hotpatch run` sets) still runs in every worker: the mark tells the runtime not to
    // start in this one (it would join every apply as a thread of the service).
    const w = new Worker(new URL('./checker.js', import.meta.url), {
      execArgv: [],
      workerData: { [CHECKER_MARK]: true },
    });
    w.on('message', (a: CheckAnswer) => waiting.get(a.id)?.(a));
    const gone = () => {
      if (worker === w) worker = null;
      for (const done of [...waiting.values()]) done(null);
    };
    w.on('error', () => {
      broken = true; // the same cause would stop the next one: check in this thread from now on
      gone();
    });
    w.on('exit', gone);
    worker = w;
  } catch {
    broken = true;
  }
  return worker;
}

/** One request to the checker; null when it cannot answer (the caller checks in this thread). */
function ask(req: CheckOp): Promise<CheckAnswer | null> {
  const w = start();
  if (!w) return Promise.resolve(null);
  if (idle) clearTimeout(idle);
  // Kept alive while a check is awaited (as the check in this thread would), not after.
  w.ref();
  const id = next++;
  return new Promise((resolve) => {
    waiting.set(id, (a) => {
      waiting.delete(id);
      if (waiting.size === 0) {
        w.unref();
        idle = setTimeout(() => void worker?.terminate(), IDLE_MS);
        idle.unref();
      }
      resolve(a);
    });
    w.postMessage({ ...req, id } as CheckRequest);
  });
}

function unwrap<T>(a: CheckAnswer): T {
  if (!a.ok) throw new HotpatchError(a.code as ConstructorParameters<typeof HotpatchError>[0], a.error);
  return a.result as T;
}

/** A bundle's bytes parsed, validated, signed by a trusted key and runnable here; and its target's label. */
export async function checkedBundle(
  bytes: Buffer,
  trust: TrustStore,
): Promise<{ bundle: Bundle; label: string }> {
  const keys = trust.keyIds().map((id) => trust.get(id)!);
  const a = await ask({ op: 'bundle', bytes, keys });
  if (a) return unwrap(a);
  const bundle = heavy().parseBundle(bytes);
  heavy().verifyBundle(bundle, trust);
  assertRunnable(bundle.payload, heavy().KEY_SCHEME);
  return { bundle, label: heavy().targetLabel(bundle.payload.target) };
}

/** Each replacement checked against its module's running calling convention: null, or why not. */
export async function checkedReplacements(
  items: Array<{ table: ModuleTable; fp: FunctionPatch }>,
): Promise<Array<string | null>> {
  const a = items.length ? await ask({ op: 'replacements', items, globals: globalNames() }) : null;
  if (a) return unwrap(a);
  return items.map(({ table, fp }) => heavy().checkReplacement(table, fp, (n) => n in globalThis));
}

/** A module's table derived from its baseline source, off this thread when possible. */
export async function derivedTable(
  filename: string,
  sha256: string,
  sourceType: SourceType,
): Promise<ModuleTable | null> {
  const a = await ask({ op: 'table', filename, sha256, sourceType });
  return a ? unwrap<ModuleTable>(a) : null;
}

/** Every name `n in globalThis` is true for, now. */
function globalNames(): string[] {
  const names: string[] = [];
  for (let o: object | null = globalThis; o; o = Object.getPrototypeOf(o))
    names.push(...Object.getOwnPropertyNames(o));
  return names;
}

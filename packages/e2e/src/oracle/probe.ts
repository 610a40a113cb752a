/**
 * Behaviour oracle, the process side: started (under the runtime) in a scratch directory, it
 * loads a package's entries from an install directory, reports the shapes of their exports, and
 * runs call plans on request over the IPC channel, answering with one canonical string per call.
 *
 * Generated calls reach arbitrary API, so while a plan runs the process refuses what would
 * escape it: file-system writes outside its scratch directory and the runtime's home, child
 * processes, process.exit/kill/chdir. The refusal is a thrown error, the same in every process,
 * so it is compared like any other result. A call is bounded in time (a vm watchdog interrupts
 * synchronous code; promises get a fixed wait), and whatever a call adds to the shared
 * prototypes is recorded in its result and removed.
 */
import { createRequire, syncBuiltinESMExports } from 'node:module';
import * as vm from 'node:vm';
import { type Outcome, serializeResult } from './canonical.js';
import { type Call, type EntryShape, VALUES } from './inputs.js';
import { exported, walkExports } from './probe-exports.js';
import { installGuards } from './probe-guards.js';
import { installRandomness, startCall } from './probe-random.js';

type Load = (spec: string) => unknown;
type Import = (spec: string) => Promise<unknown>;
const requireHere = createRequire(import.meta.url);
// corpus/exploits/lib/load.cjs: require() and import() from the install directory, as the checks do.
const loadLib = requireHere('../../../../corpus/exploits/lib/load.cjs') as {
  loaders(dir: string): { load: Load; imp: Import };
};

let active = false;
// Captured before the guards: the process leaves when its parent goes, whatever a call left running.
const exitNow = process.exit.bind(process);

const roots = new Map<string, { value?: unknown; error?: string }>();

async function loadEntries(
  dir: string,
  entries: { spec: string; how: 'require' | 'import' }[],
): Promise<EntryShape[]> {
  const { load, imp } = loadLib.loaders(dir);
  const shapes: EntryShape[] = [];
  for (const e of entries) {
    try {
      const value = e.how === 'require' ? load(e.spec) : await imp(e.spec);
      roots.set(`${e.how}:${e.spec}`, { value });
      shapes.push({ ...e, targets: walkExports(value) });
    } catch (err) {
      const error = `${(err as Error)?.name}: ${String((err as Error)?.message).split('\n')[0]}`;
      roots.set(`${e.how}:${e.spec}`, { error });
      shapes.push({ ...e, error, targets: [] });
    }
  }
  return shapes;
}

const PROTOS: [string, object][] = [
  ['Object.prototype', Object.prototype],
  ['Array.prototype', Array.prototype],
  ['Function.prototype', Function.prototype],
  ['String.prototype', String.prototype],
  ['Number.prototype', Number.prototype],
];

/** What the call added to the shared prototypes (removed again) and to the global object (kept). */
function pollutionSince(protoKeys: Set<string>[], globals: Set<string>): string[] {
  const found: string[] = [];
  for (const [i, [name, proto]] of PROTOS.entries())
    for (const k of Object.getOwnPropertyNames(proto))
      if (!protoKeys[i]!.has(k)) {
        found.push(`${name}.${k}`);
        delete (proto as Record<string, unknown>)[k];
      }
  for (const k of Object.getOwnPropertyNames(globalThis))
    if (!globals.has(k)) {
      found.push(`globalThis.${k}`);
      globals.add(k);
    }
  return found;
}

const script = new vm.Script('__oracleCall()');
const context = vm.createContext({ __oracleCall: () => undefined });

/** Runs `fn` with a watchdog: synchronous code past `ms` is interrupted. */
function bounded(fn: () => unknown, ms: number): { value?: unknown; error?: unknown; timeout?: true } {
  context.__oracleCall = fn;
  try {
    return { value: script.runInContext(context, { timeout: ms }) };
  } catch (e) {
    if ((e as { code?: string })?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return { timeout: true };
    return { error: e };
  }
}

function resolveTarget(c: Call): { fn?: unknown; self?: unknown; missing?: string } {
  const root = roots.get(`${c.how}:${c.spec}`);
  if (!root || root.error !== undefined) return { missing: 'entry' };
  let self: unknown;
  let v = root.value;
  for (const k of c.path) {
    if (v === null || (typeof v !== 'object' && typeof v !== 'function')) return { missing: 'export' };
    const x = exported(v, k);
    if (!x.ok) return { missing: 'export' };
    self = v;
    v = x.value;
  }
  return typeof v === 'function' ? { fn: v, self } : { missing: 'export' };
}

async function runCall(
  c: Call,
  callMs: number,
  asyncMs: number,
): Promise<{ outcome: Outcome; args?: unknown[] }> {
  const t = resolveTarget(c);
  if (t.missing) return { outcome: { kind: 'missing', what: t.missing } };
  startCall(c.id);
  const args = c.args.map((i) => VALUES[i]!.make());
  const F = t.fn as new (...a: unknown[]) => unknown;
  const r = bounded(() => {
    if (c.op === 'construct') return new F(...args);
    if (c.op === 'call') return (t.fn as (...a: unknown[]) => unknown).apply(t.self, args);
    const inst = new F() as Record<string, unknown>;
    const m = inst[c.method!];
    if (typeof m !== 'function') return { $oracleMissingMethod: true };
    return (m as (...a: unknown[]) => unknown).apply(inst, args);
  }, callMs);
  if (r.timeout) return { outcome: { kind: 'timeout', ms: callMs }, args };
  if ('error' in r) return { outcome: { kind: 'threw', error: r.error }, args };
  const v = r.value as { then?: unknown; $oracleMissingMethod?: true } | undefined;
  if (v && typeof v === 'object' && v.$oracleMissingMethod)
    return { outcome: { kind: 'missing', what: 'method' } };
  if (v instanceof Promise) {
    let timer: NodeJS.Timeout | undefined;
    const wait = new Promise<Outcome>((res) => {
      timer = setTimeout(() => res({ kind: 'pending', ms: asyncMs }), asyncMs);
    });
    const settled = v.then(
      (value): Outcome => ({ kind: 'returned', value, async: 'resolved' }),
      (error): Outcome => ({ kind: 'threw', error, async: 'rejected' }),
    );
    const outcome = await Promise.race([settled, wait]);
    clearTimeout(timer);
    return { outcome, args };
  }
  return { outcome: { kind: 'returned', value: v }, args };
}

async function runPlan(plan: Call[], callMs: number, asyncMs: number): Promise<string[]> {
  const protoKeys = PROTOS.map(([, p]) => new Set(Object.getOwnPropertyNames(p)));
  const globals = new Set(Object.getOwnPropertyNames(globalThis));
  const out: string[] = [];
  active = true;
  try {
    for (const c of plan) {
      const { outcome, args } = await runCall(c, callMs, asyncMs);
      let s: string;
      try {
        s = serializeResult(outcome, args, pollutionSince(protoKeys, globals));
      } catch (e) {
        s = JSON.stringify({ unserializable: String((e as Error)?.message) });
      }
      out.push(s);
    }
  } finally {
    active = false;
  }
  return out;
}

type Message =
  | { id: number; op: 'load'; dir: string; entries: { spec: string; how: 'require' | 'import' }[] }
  | { id: number; op: 'run'; plan: Call[]; callMs: number; asyncMs: number };

installGuards(() => active);
installRandomness(() => active);
syncBuiltinESMExports();
process.on('message', async (m: Message) => {
  try {
    if (m.op === 'load') process.send?.({ id: m.id, shape: await loadEntries(m.dir, m.entries) });
    else process.send?.({ id: m.id, results: await runPlan(m.plan, m.callMs, m.asyncMs) });
  } catch (e) {
    process.send?.({ id: m.id, error: (e as Error)?.stack ?? String(e) });
  }
});
// A call may leave a rejected promise or throw from a timer later: never fatal (set up last, so
// that a problem of this file itself still ends the process with its error).
process.on('disconnect', () => exitNow(0));
process.on('uncaughtException', () => {});
process.on('unhandledRejection', () => {});
process.send?.({ ready: true, pid: process.pid });

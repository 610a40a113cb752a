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
import { resolve, sep } from 'node:path';
import * as vm from 'node:vm';
import { type Outcome, serializeResult } from './canonical.js';
import { type Call, type EntryShape, type TargetShape, VALUES } from './inputs.js';

type Load = (spec: string) => unknown;
type Import = (spec: string) => Promise<unknown>;
const requireHere = createRequire(import.meta.url);
// The CommonJS module objects (ES namespaces are frozen): what packages call, by require or import.
const fs = requireHere('node:fs') as typeof import('node:fs');
const childProcess = requireHere('node:child_process') as typeof import('node:child_process');
// corpus/exploits/lib/load.cjs: require() and import() from the install directory, as the checks do.
const loadLib = requireHere('../../../../corpus/exploits/lib/load.cjs') as {
  loaders(dir: string): { load: Load; imp: Import };
};

let active = false;
// Captured before the guards: the process leaves when its parent goes, whatever a call left running.
const exitNow = process.exit.bind(process);
const dns = requireHere('node:dns') as typeof import('node:dns');
const net = requireHere('node:net') as typeof import('node:net');
const allowedRoots = [process.cwd(), process.env.HOTPATCH_HOME ?? ''].filter(Boolean).map((d) => resolve(d));

function blocked(what: string): Error {
  return Object.assign(new Error(`oracle: ${what} is blocked`), { code: 'EORACLE' });
}

function pathOf(p: unknown): string | undefined {
  if (typeof p === 'string') return resolve(p);
  if (p instanceof URL && p.protocol === 'file:') return resolve(decodeURIComponent(p.pathname));
  if (Buffer.isBuffer(p)) return resolve(p.toString());
  return undefined;
}

const inside = (p: string) => allowedRoots.some((r) => p === r || p.startsWith(r + sep));

const FS_WRITES = [
  'writeFile',
  'appendFile',
  'unlink',
  'rm',
  'rmdir',
  'mkdir',
  'rename',
  'copyFile',
  'cp',
  'symlink',
  'link',
  'truncate',
  'chmod',
  'chown',
  'utimes',
  'mkdtemp',
  'createWriteStream',
  'lchown',
  'lutimes',
];

/** Wraps `obj[name]` so that, while a plan runs, it refuses paths outside the allowed roots. */
function guardPaths(obj: Record<string, unknown>, name: string): void {
  const orig = obj[name];
  if (typeof orig !== 'function') return;
  obj[name] = function (this: unknown, ...args: unknown[]) {
    if (active)
      for (const a of args.slice(0, 2)) {
        const p = pathOf(a);
        if (p !== undefined && !inside(p)) throw blocked(`fs.${name} outside the scratch directory`);
      }
    return (orig as (...x: unknown[]) => unknown).apply(this, args);
  };
}

function guardAlways(obj: Record<string, unknown>, name: string, what: string): void {
  const orig = obj[name];
  if (typeof orig !== 'function') return;
  obj[name] = function (this: unknown, ...args: unknown[]) {
    if (active) throw blocked(what);
    return (orig as (...x: unknown[]) => unknown).apply(this, args);
  };
}

/**
 * Name resolution during a plan: only localhost and address literals resolve; any other name fails
 * at once with ENOTFOUND, as when offline. Without it a generated call to a real API host
 * (`@octokit/request` defaults to api.github.com) settles within the wait or not depending on the
 * resolver's speed, and the same call would look different in two processes.
 */
function guardLookup(): void {
  const local = (host: unknown) => typeof host !== 'string' || host === 'localhost' || net.isIP(host) !== 0;
  const notFound = (host: unknown) =>
    Object.assign(new Error(`getaddrinfo ENOTFOUND ${String(host)}`), {
      code: 'ENOTFOUND',
      errno: -3008,
      syscall: 'getaddrinfo',
      hostname: host,
    });
  const real = dns.lookup;
  (dns as { lookup: unknown }).lookup = function (this: unknown, host: unknown, ...rest: unknown[]) {
    if (!active || local(host)) return (real as (...a: unknown[]) => unknown).call(this, host, ...rest);
    const cb = rest.find((x) => typeof x === 'function') as ((e: Error) => void) | undefined;
    if (cb) process.nextTick(cb, notFound(host));
  };
  const realP = dns.promises.lookup;
  (dns.promises as { lookup: unknown }).lookup = (host: unknown, ...rest: unknown[]) =>
    !active || local(host)
      ? (realP as (...a: unknown[]) => Promise<unknown>)(host, ...rest)
      : Promise.reject(notFound(host));
}

function installGuards(): void {
  const f = fs as unknown as Record<string, unknown>;
  const fp = fs.promises as unknown as Record<string, unknown>;
  for (const n of FS_WRITES) {
    guardPaths(f, n);
    guardPaths(f, `${n}Sync`);
    guardPaths(fp, n);
  }
  const cp = childProcess as unknown as Record<string, unknown>;
  for (const n of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'])
    guardAlways(cp, n, `child_process.${n}`);
  guardLookup();
  const p = process as unknown as Record<string, unknown>;
  for (const n of ['exit', 'abort', 'kill', 'chdir', 'setuid', 'setgid']) guardAlways(p, n, `process.${n}`);
}

/**
 * Randomness made deterministic while a plan runs: Math.random and node:crypto's random sources
 * draw from a PRNG reseeded before every call from the call's id, so ids, shuffles and samples are
 * the same in every process and compare like any other result (a fix in how randomness is used,
 * e.g. nanoid's pool offset, stays visible); Date.now() likewise. Outside a plan (the runtime
 * applying) they are real.
 */
let state = 1;
function reseed(id: string): void {
  state = 2166136261;
  for (let i = 0; i < id.length; i++) state = Math.imul(state ^ id.charCodeAt(i), 16777619) >>> 0;
}
function next(): number {
  // mulberry32
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
function fill<T extends ArrayBufferView>(view: T, offset = 0, size?: number): T {
  const u8 = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  const end = size === undefined ? u8.length : Math.min(u8.length, offset + size);
  for (let i = offset; i < end; i++) u8[i] = Math.floor(next() * 256);
  return view;
}

/** Date.now() during a plan: a fixed instant, one millisecond later per read (monotonic, the same everywhere). */
let clock = 0;
const EPOCH = Date.UTC(2025, 0, 1);

function installRandomness(): void {
  const real = Math.random;
  Math.random = () => (active ? next() : real());
  const realNow = Date.now;
  Date.now = () => (active ? EPOCH + clock++ : realNow());
  const crypto = requireHere('node:crypto') as Record<string, unknown> & {
    webcrypto: Record<string, unknown>;
  };
  const wrap = (obj: Record<string, unknown>, name: string, fake: (...a: unknown[]) => unknown) => {
    const orig = obj[name] as ((...a: unknown[]) => unknown) | undefined;
    if (typeof orig !== 'function') return;
    obj[name] = function (this: unknown, ...args: unknown[]) {
      return active ? fake(...args) : orig.apply(this, args);
    };
  };
  const later = (cb: unknown, ...v: unknown[]) => {
    if (typeof cb === 'function') process.nextTick(() => (cb as (...a: unknown[]) => void)(...v));
  };
  wrap(crypto, 'randomBytes', (n, cb) => {
    const b = fill(Buffer.alloc(Number(n)));
    if (typeof cb === 'function') return later(cb, null, b);
    return b;
  });
  wrap(crypto, 'randomFillSync', (buf, offset, size) =>
    fill(buf as ArrayBufferView, Number(offset ?? 0), size === undefined ? undefined : Number(size)),
  );
  wrap(crypto, 'randomFill', (buf, ...rest) =>
    later(
      rest.find((x) => typeof x === 'function'),
      null,
      fill(buf as ArrayBufferView),
    ),
  );
  wrap(crypto, 'randomUUID', () => {
    const b = fill(Buffer.alloc(16));
    b[6] = (b[6]! & 0x0f) | 0x40;
    b[8] = (b[8]! & 0x3f) | 0x80;
    const h = b.toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  });
  wrap(crypto, 'randomInt', (a, b, cb) => {
    const [min, max] = typeof b === 'number' ? [Number(a), b] : [0, Number(a)];
    const v = min + Math.floor(next() * (max - min));
    const done = typeof b === 'function' ? b : cb;
    if (typeof done === 'function') return later(done, null, v);
    return v;
  });
  // globalThis.crypto is node:crypto's webcrypto: an own property on the instance shadows the method.
  const web = crypto.webcrypto;
  const realGet = (web.getRandomValues as (a: ArrayBufferView) => ArrayBufferView).bind(web);
  Object.defineProperty(web, 'getRandomValues', {
    value: (arr: ArrayBufferView) => (active ? fill(arr) : realGet(arr)),
    configurable: true,
    writable: true,
  });
  const realUUID = (web.randomUUID as () => string).bind(web);
  Object.defineProperty(web, 'randomUUID', {
    value: () => (active ? (crypto.randomUUID as () => string)() : realUUID()),
    configurable: true,
    writable: true,
  });
}

const roots = new Map<string, { value?: unknown; error?: string }>();

const isClass = (f: (...a: unknown[]) => unknown): boolean => {
  let src = '';
  try {
    src = Function.prototype.toString.call(f);
  } catch {}
  if (src.startsWith('class')) return true;
  const proto = (f as { prototype?: object }).prototype;
  return (
    /^[A-Z]/.test(f.name) &&
    proto !== undefined &&
    proto !== null &&
    Object.getOwnPropertyNames(proto).some((n) => n !== 'constructor')
  );
};

function methodsOf(f: { prototype?: object }): { name: string; length: number }[] {
  const proto = f.prototype;
  if (!proto) return [];
  const out: { name: string; length: number }[] = [];
  for (const name of Object.getOwnPropertyNames(proto).sort()) {
    if (name === 'constructor') continue;
    const d = Object.getOwnPropertyDescriptor(proto, name);
    if (d && typeof d.value === 'function') out.push({ name, length: d.value.length });
  }
  return out.slice(0, 40);
}

/**
 * An own enumerable property as an importer sees it. Data properties as they are; getters too,
 * since compiled CommonJS re-exports are getters (tsc's `Object.defineProperty(exports, 'parse',
 * { enumerable: true, get })`, Babel's and esbuild's alike); a getter that throws is no export.
 */
function exported(o: object, k: string): { ok: boolean; value?: unknown } {
  const d = Object.getOwnPropertyDescriptor(o, k);
  if (!d || !d.enumerable) return { ok: false };
  if ('value' in d) return { ok: true, value: d.value };
  try {
    return { ok: true, value: d.get?.call(o) };
  } catch {
    return { ok: false };
  }
}

/** Functions and classes reachable from an entry's root through data properties, two levels deep. */
function walkExports(root: unknown): TargetShape[] {
  const out: TargetShape[] = [];
  const seen = new Set<unknown>();
  const visit = (v: unknown, path: string[]) => {
    if (v === null || (typeof v !== 'object' && typeof v !== 'function') || seen.has(v)) return;
    seen.add(v);
    if (typeof v === 'function') {
      const f = v as (...a: unknown[]) => unknown;
      const cls = isClass(f);
      out.push({
        path,
        kind: cls ? 'class' : 'function',
        length: f.length,
        ...(cls ? { methods: methodsOf(f as { prototype?: object }) } : {}),
      });
    }
    if (path.length >= 2 || Array.isArray(v)) return;
    let keys: string[] = [];
    try {
      keys = Object.keys(v).sort();
    } catch {}
    for (const k of keys.slice(0, 400)) {
      if (k === 'prototype') continue;
      const x = exported(v, k);
      if (x.ok) visit(x.value, [...path, k]);
    }
  };
  visit(root, []);
  return out;
}

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
  reseed(c.id);
  clock = 0;
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

installGuards();
installRandomness();
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

/**
 * Runs in a fresh child `node` (load-state/runner.ts): loads one file of a package and prints, as
 * JSON, the state that load built (load-state/graph.ts's LoadGraph). No import of our packages: it
 * must run on its own. Usage: node child.js FILE DIR ABOVE commonjs|module MAXNODES: the release's
 * directory DIR is written `<pkg>` in every string, and ABOVE (its first ancestor that differs
 * between the two releases) `<up>`, so that paths compare equal across the two loads.
 *
 * Roots: the file's exports (module.exports, or the ES namespace), every other module the load
 * put in require.cache, what the load added to or changed on objects that existed before it
 * (globals, built-in prototypes, built-in modules: `process._events` for a listener), and a log of
 * effects no object holds (timers, console output, file writes). Through own properties (symbols
 * too, accessors as their functions), prototypes, Map/Set entries, and the closure variables of
 * every function reached (the inspector's [[Scopes]]).
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

type Ref = { r: number } | { v: string | number | boolean | null } | { u: string };
interface Node {
  k: string;
  [field: string]: unknown;
}

const [file, dir, above, sourceType, maxArg] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const MAX_NODES = Number(maxArg) || 200000;
const require = createRequire(import.meta.url);
const inspector = require('node:inspector') as typeof import('node:inspector');
const { writeSync } = require('node:fs') as typeof import('node:fs');

/** Prints the result and exits: written synchronously, all of it, before the exit. */
function finish(result: object): never {
  const data = Buffer.from(JSON.stringify(result));
  for (let at = 0; at < data.length; ) {
    try {
      at += writeSync(1, data, at, Math.min(data.length - at, 1 << 20));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    }
  }
  process.exit(0);
}

class Bound extends Error {}

// ---- the inspector, synchronous in-process
const session = new inspector.Session();
try {
  session.connect();
} catch (e) {
  finish({ ok: false, reason: `the inspector is not available: ${(e as Error).message}` });
}
function post<T>(method: string, params: object = {}): T {
  let result: unknown;
  let error: Error | null = null;
  session.post(method, params, (err, res) => {
    error = err;
    result = res;
  });
  if (error) throw error;
  return result as T;
}
const urls = new Map<string, string>();
session.on('Debugger.scriptParsed', (m) => urls.set(m.params.scriptId, m.params.url));

// ---- objects that existed before the load: named by a path, compared by identity, their own
// properties recorded so that what the load added or changed on them is found.
const BUILTIN_MODULES = [
  'events',
  'util',
  'fs',
  'path',
  'module',
  'http',
  'https',
  'net',
  'stream',
  'buffer',
  'crypto',
  'os',
  'url',
  'querystring',
  'assert',
  'zlib',
  'string_decoder',
  'timers',
  'tty',
];
const preexisting = new Map<object, string>();
type Snapshot = Map<PropertyKey, [unknown, unknown, unknown]>;
const snapshots = new Map<object, Snapshot>();
function ownSnapshot(o: object): Snapshot {
  const s: Snapshot = new Map();
  for (const key of Reflect.ownKeys(o)) {
    const d = Reflect.getOwnPropertyDescriptor(o, key);
    if (d) s.set(key, [d.value, d.get, d.set]);
  }
  return s;
}
function keyName(k: PropertyKey): string {
  return typeof k === 'symbol' ? `[${k.description ?? ''}]` : String(k);
}
function scanPreexisting(): void {
  // process (and Buffer, …) are accessors on globalThis: their values are roots of their own.
  const queue: Array<[object, string]> = [
    [globalThis, 'globalThis'],
    [process, 'process'],
  ];
  for (const m of BUILTIN_MODULES) queue.push([require(`node:${m}`) as object, `node:${m}`]);
  for (const key of Reflect.ownKeys(globalThis)) {
    const get = Reflect.getOwnPropertyDescriptor(globalThis, key)?.get;
    let value: unknown;
    try {
      value = get?.call(globalThis);
    } catch {}
    if ((typeof value === 'object' && value !== null) || typeof value === 'function')
      queue.push([value as object, `globalThis.${keyName(key)}`]);
  }
  for (let i = 0; i < queue.length; i++) {
    const [o, path] = queue[i]!;
    if (preexisting.has(o)) continue;
    preexisting.set(o, path);
    const snap = ownSnapshot(o);
    snapshots.set(o, snap);
    const proto = Object.getPrototypeOf(o) as object | null;
    if (proto) queue.push([proto, `${path}.[[Prototype]]`]);
    for (const [k, [v, g, s]] of snap)
      for (const x of [v, g, s])
        if ((typeof x === 'object' && x !== null) || typeof x === 'function')
          queue.push([x as object, `${path}.${keyName(k)}`]);
  }
}

// ---- effects no object holds, logged in order
const effects: unknown[][] = [];
const unwrapped = { setImmediate: globalThis.setImmediate };
function logEffect(kind: string, args: unknown[]): void {
  effects.push([kind, ...args]);
}
function wrapEffects(): void {
  for (const name of ['setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask'] as const) {
    const orig = globalThis[name] as (...a: unknown[]) => unknown;
    (globalThis as Record<string, unknown>)[name] = function (this: unknown, ...args: unknown[]) {
      if (loading) logEffect(name, args);
      return orig.apply(this, args);
    };
  }
  const tick = process.nextTick;
  process.nextTick = (...args: unknown[]) => {
    if (loading) logEffect('nextTick', args);
    return (tick as (...a: unknown[]) => void)(...args);
  };
  for (const stream of ['stdout', 'stderr'] as const) {
    process[stream].write = ((chunk: unknown) => {
      if (loading) logEffect(stream, [String(chunk)]);
      return true;
    }) as typeof process.stdout.write;
  }
  const writes =
    /^(write|append|mkdir|mkdtemp|rm|rmdir|unlink|rename|copy|cp|symlink|link|chmod|chown|lchown|truncate|ftruncate|utimes|futimes|lutimes|open|createWriteStream)/;
  wrapModule('fs', (n) => writes.test(n));
  wrapModule('fs/promises', (n) => writes.test(n));
  for (const m of ['child_process', 'net', 'http', 'https', 'http2', 'dgram', 'tls', 'cluster'])
    wrapModule(m, (n) => /^(create|connect|request|get|spawn|exec|fork|fork|setup)/.test(n));
  const dlopen = process.dlopen;
  process.dlopen = (...args: Parameters<typeof dlopen>) => {
    if (loading) logEffect('dlopen', args.slice(1));
    return dlopen(...args);
  };
}

/** Calls of the functions of a built-in module that act outside the process are logged. */
function wrapModule(id: string, logged: (name: string) => boolean): void {
  const m = require(`node:${id}`) as Record<string, unknown>;
  for (const name of Object.keys(m)) {
    const orig = m[name];
    if (!logged(name) || typeof orig !== 'function' || /^[A-Z]/.test(name)) continue;
    m[name] = function (this: unknown, ...args: unknown[]) {
      if (loading) logEffect(`${id}.${name}`, args);
      return (orig as (...a: unknown[]) => unknown).apply(this, args);
    };
  }
}

// ---- the walk
const ids = new Map<unknown, number>();
const nodes: Node[] = [];
const queue: Array<[unknown, number]> = [];
const SCOPES = new Set(['closure', 'block', 'catch', 'with', 'module', 'eval', 'local']);
const normalise = (s: string) => s.split(dir).join('<pkg>').split(above).join('<up>');

function ref(x: unknown): Ref {
  if (x === undefined) return { u: 'undefined' };
  if (typeof x === 'number') {
    if (Number.isNaN(x)) return { u: 'NaN' };
    if (Object.is(x, -0)) return { u: '-0' };
    if (!Number.isFinite(x)) return { u: String(x) };
    return { v: x };
  }
  if (typeof x === 'bigint') return { u: `${x}n` };
  if (typeof x === 'string') return { v: normalise(x) };
  if (x === null || typeof x === 'boolean') return { v: x };
  let id = ids.get(x);
  if (id === undefined) {
    id = nodes.length;
    if (id >= MAX_NODES) throw new Bound(`the state has more than ${MAX_NODES} objects`);
    ids.set(x, id);
    nodes.push({ k: 'pending' });
    queue.push([x, id]);
  }
  return { r: id };
}

function keyRef(k: PropertyKey): string | Ref {
  return typeof k === 'symbol' ? ref(k) : String(k);
}

function describe(x: unknown): Node {
  if (typeof x === 'symbol') {
    const reg = Symbol.keyFor(x);
    const known = Object.getOwnPropertyNames(Symbol).find(
      (n) => (Symbol as unknown as Record<string, unknown>)[n] === x,
    );
    return { k: 'symbol', desc: x.description ?? null, reg: reg ?? null, wellKnown: known ?? null };
  }
  const o = x as object;
  const pre = preexisting.get(o);
  if (pre !== undefined) return { k: 'builtin', name: pre };
  const node: Node = { k: typeof o === 'function' ? 'function' : 'object' };
  node.cls = Object.prototype.toString.call(o);
  node.proto = ref(Object.getPrototypeOf(o));
  node.ext = Object.isFrozen(o)
    ? 'frozen'
    : Object.isSealed(o)
      ? 'sealed'
      : Object.isExtensible(o)
        ? ''
        : 'nonext';
  node.props = Reflect.ownKeys(o).map((k) => {
    const d = Reflect.getOwnPropertyDescriptor(o, k)!;
    const f = `${d.enumerable ? 'e' : ''}${d.writable ? 'w' : ''}${d.configurable ? 'c' : ''}`;
    return 'value' in d
      ? [keyRef(k), { v: ref(d.value), f }]
      : [keyRef(k), { g: ref(d.get), s: ref(d.set), f }];
  });
  Object.assign(node, internals(o));
  return node;
}

const types = require('node:util').types as typeof import('node:util').types;
/** What an object holds besides its properties. */
function internals(o: object): Record<string, unknown> {
  if (types.isProxy(o)) return { opaque: 'a Proxy' };
  if (types.isMap(o))
    return { entries: [...Map.prototype.entries.call(o)].map(([k, v]) => [ref(k), ref(v)]) };
  if (types.isSet(o)) return { values: [...Set.prototype.values.call(o)].map(ref) };
  if (types.isDate(o)) return { date: ref(Date.prototype.getTime.call(o)) };
  if (types.isRegExp(o)) {
    const re = o as RegExp;
    return { re: [normalise(re.source), re.flags] };
  }
  if (types.isBoxedPrimitive(o)) return { prim: ref((o as { valueOf(): unknown }).valueOf()) };
  if (types.isArrayBufferView(o) || types.isAnyArrayBuffer(o)) {
    const view = types.isArrayBufferView(o)
      ? new Uint8Array(o.buffer, o.byteOffset, o.byteLength)
      : new Uint8Array(o as ArrayBuffer);
    return { bytes: Buffer.from(view).toString('base64') };
  }
  if (typeof o === 'function') return { fn: functionInternals(o) };
  const proto = Object.getPrototypeOf(o) as object | null;
  if (proto !== null && !preexisting.has(proto)) {
    const priv = privateFields(inspect(o));
    post('Runtime.releaseObjectGroup', { objectGroup: 'walk' });
    if (priv) return { priv };
  }
  if (
    types.isWeakMap(o) ||
    types.isWeakSet(o) ||
    types.isPromise(o) ||
    types.isGeneratorObject(o) ||
    Object.prototype.toString.call(o) === '[object WeakRef]' ||
    Object.prototype.toString.call(o) === '[object FinalizationRegistry]' ||
    types.isExternal(o) ||
    types.isModuleNamespaceObject(o)
  )
    return types.isModuleNamespaceObject(o) ? {} : { opaque: Object.prototype.toString.call(o) };
  return {};
}

interface Remote {
  objectId?: string;
  value?: unknown;
}
interface PropertiesResult {
  result: Array<{ name: string; value?: Remote }>;
  internalProperties?: Array<{ name: string; value?: Remote & { value?: unknown } }>;
  privateProperties?: Array<{ name: string; value?: Remote; get?: Remote; set?: Remote }>;
}

/** An object's own properties as the inspector sees them (private fields included). */
function inspect(o: object): PropertiesResult {
  stash.__hpLoadState = o;
  const remote = post<{ result: Remote }>('Runtime.evaluate', {
    expression: 'globalThis.__hpLoadState',
    objectGroup: 'walk',
  }).result;
  return post<PropertiesResult>('Runtime.getProperties', {
    objectId: remote.objectId,
    ownProperties: true,
    objectGroup: 'walk',
  });
}

/**
 * Private fields (`#x`), which no reflection reaches: read for instances of the package's own
 * classes (an object whose prototype is not one that existed before the load) and for functions.
 */
function privateFields(props: PropertiesResult): Array<[string, Ref]> | undefined {
  const fields = props.privateProperties ?? [];
  if (fields.length === 0) return undefined;
  return fields.map((p) => [
    p.name,
    ref(p.value ? remoteValue(p.value) : [remoteValue(p.get), remoteValue(p.set)]),
  ]);
}
const stash = globalThis as unknown as { __hpLoadState?: unknown };
/** A function's location and closure scopes, through the inspector. */
function functionInternals(f: object): Record<string, unknown> {
  const props = inspect(f);
  const internal = new Map((props.internalProperties ?? []).map((p) => [p.name, p.value]));
  const out: Record<string, unknown> = {};
  const priv = privateFields(props);
  if (priv) out.priv = priv;
  const loc = internal.get('[[FunctionLocation]]')?.value as
    | { scriptId: string; lineNumber: number; columnNumber: number }
    | undefined;
  if (loc) {
    const url = urls.get(loc.scriptId) ?? `script:${loc.scriptId}`;
    out.loc = { url: normalise(url), line: loc.lineNumber, col: loc.columnNumber };
  } else out.native = Function.prototype.toString.call(f).slice(0, 200);
  const target = internal.get('[[TargetFunction]]');
  if (target) {
    out.bound = {
      target: ref(remoteValue(target)),
      this: ref(remoteValue(internal.get('[[BoundThis]]'))),
      args: ref(remoteValue(internal.get('[[BoundArgs]]'))),
    };
  }
  const scopes = internal.get('[[Scopes]]');
  // Node's own functions: the same code in both loads, compared by location; what their closures
  // hold is Node's, not the package's (what the load changed there shows on their objects).
  const own = !loc || !(out.loc as { url: string }).url.startsWith('node:');
  if (scopes?.objectId && own) {
    const list = post<PropertiesResult>('Runtime.getProperties', {
      objectId: scopes.objectId,
      ownProperties: true,
      objectGroup: 'walk',
    });
    out.scopes = [];
    for (const s of list.result) {
      const desc = String((s.value as { description?: string })?.description ?? '');
      const type = desc.split(' ')[0]!.toLowerCase();
      if (!SCOPES.has(type) || !s.value?.objectId) continue;
      const scope = remoteValue(s.value) as { object?: object } | undefined;
      const vars = scope?.object ?? {};
      const entries = Reflect.ownKeys(vars).map((k) => {
        const d = Reflect.getOwnPropertyDescriptor(vars, k)!;
        return [String(k), ref('value' in d ? d.value : undefined)] as [string, Ref];
      });
      (out.scopes as Ref[]).push(scopeRef(type, entries));
    }
  }
  post('Runtime.releaseObjectGroup', { objectGroup: 'walk' });
  return out;
}

/**
 * A closure scope as a node of its own. The inspector gives a fresh object for each function's
 * view of a context, so contexts are told apart by what they hold: two closures of one context
 * share the node (and so do two contexts that hold the very same values).
 */
const scopeIds = new Map<string, number>();
function scopeRef(type: string, vars: Array<[string, Ref]>): Ref {
  const key = `${type} ${JSON.stringify(vars)}`;
  let id = scopeIds.get(key);
  if (id === undefined) {
    id = nodes.length;
    if (id >= MAX_NODES) throw new Bound(`the state has more than ${MAX_NODES} objects`);
    scopeIds.set(key, id);
    nodes.push({ k: 'scope', type, vars });
  }
  return { r: id };
}

/** The JS value behind a remote object. */
function remoteValue(r: (Remote & { value?: unknown }) | undefined): unknown {
  if (!r) return undefined;
  if (!r.objectId) return r.value;
  post('Runtime.callFunctionOn', {
    objectId: r.objectId,
    functionDeclaration: 'function () { globalThis.__hpLoadState = this; }',
  });
  return stash.__hpLoadState;
}

// ---- the load
let loading = false;
async function main(): Promise<void> {
  post('Debugger.enable');
  wrapEffects(); // before the snapshot: the wrappers are not the load's changes
  scanPreexisting();
  const before = new Set(Object.keys(require.cache));
  const target = require.resolve(file);
  let exported: unknown;
  loading = true;
  try {
    if (sourceType === 'module') exported = await import(pathToFileURL(target).href);
    else exported = require(target);
    // Work the load queued (a microtask, an immediate) runs before the state is read.
    await new Promise((r) => unwrapped.setImmediate(r));
  } catch (e) {
    loading = false;
    finish({
      ok: false,
      reason: `loading it threw: ${normalise(String((e as Error)?.message ?? e)).slice(0, 300)}`,
    });
  }
  loading = false;
  const roots: Array<[string, Ref]> = [];
  try {
    roots.push(['exports', ref(exported)]);
    for (const [path, m] of Object.entries(require.cache))
      if (!before.has(path) && path !== target && m)
        roots.push([`module:${normalise(path)}`, ref(m.exports)]);
    // What the load changed on objects that were there before it.
    for (const [o, snap] of snapshots) {
      const now = ownSnapshot(o);
      const path = preexisting.get(o)!;
      for (const [k, [v, g, s]] of now) {
        const old = snap.get(k);
        if (old && Object.is(old[0], v) && old[1] === g && old[2] === s) continue;
        roots.push([normalise(`changed:${path}.${keyName(k)}`), ref([v, g, s])]);
      }
      for (const k of snap.keys())
        if (!now.has(k)) roots.push([normalise(`deleted:${path}.${keyName(k)}`), { v: true }]);
    }
    // Handles and requests still open (a server, a socket, a file read) after the load.
    effects.push(['active', ...process.getActiveResourcesInfo().sort()]);
    for (const [i, e] of effects.entries()) roots.push([`effect:${i}:${String(e[0])}`, ref(e.slice(1))]);
    for (let i = 0; i < queue.length; i++) nodes[queue[i]![1]] = describe(queue[i]![0]);
    if (process.env.HOTPATCH_LOAD_STATE_DEBUG) {
      const count = new Map<string, number>();
      for (const n of nodes) {
        const fn = n.fn as { loc?: { url: string } } | undefined;
        const k = `${n.k} ${fn ? (fn.loc?.url ?? 'native') : String(n.cls ?? n.type ?? '')}`;
        count.set(k, (count.get(k) ?? 0) + 1);
      }
      process.stderr.write(`${JSON.stringify([...count].sort((x, y) => y[1] - x[1]).slice(0, 30))}\n`);
    }
  } catch (e) {
    if (e instanceof Bound) finish({ ok: false, reason: e.message });
    throw e;
  }
  finish({ ok: true, node: process.version, roots, nodes });
}
main().catch((e) => finish({ ok: false, reason: `the walk failed: ${String((e as Error)?.message ?? e)}` }));

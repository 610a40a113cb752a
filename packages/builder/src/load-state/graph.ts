/**
 * The state one load of a file built (what load-state/child.ts prints), and the comparison of two
 * of them: a parallel walk from the roots with an old<->new bijection of objects, so that sharing
 * and cycles count. Pure: no I/O.
 */

/** A value: an object (node id), a JSON primitive, or a primitive JSON cannot carry (`undefined`, NaN, -0, 1n). */
export type Ref = { r: number } | { v: string | number | boolean | null } | { u: string };

export interface Location {
  /** The script's URL, the release's directory written `<pkg>`. */
  url: string;
  /** 0-based, as V8 reports it. */
  line: number;
  col: number;
}

type Descriptor = { v: Ref; f: string } | { g: Ref; s: Ref; f: string };

export interface GraphNode {
  k: 'object' | 'function' | 'symbol' | 'builtin' | 'scope' | string;
  /** A closure scope: its type (closure, block, module, …) and variables. */
  type?: string;
  vars?: Array<[string, Ref]>;
  cls?: string;
  proto?: Ref;
  ext?: string;
  props?: Array<[string | Ref, Descriptor]>;
  name?: string;
  desc?: string | null;
  reg?: string | null;
  wellKnown?: string | null;
  entries?: Array<[Ref, Ref]>;
  values?: Ref[];
  date?: Ref;
  re?: [string, string];
  prim?: Ref;
  bytes?: string;
  opaque?: string;
  /** Private fields (`#x`): name, value (or [getter, setter]). */
  priv?: Array<[string, Ref]>;
  fn?: {
    priv?: Array<[string, Ref]>;
    loc?: Location;
    native?: string;
    bound?: { target: Ref; this: Ref; args: Ref };
    scopes?: Ref[];
  };
}

export interface LoadGraph {
  ok: true;
  /** The Node version that loaded it. */
  node: string;
  /** Under Node's permission model (file writes, child processes, addons refused). */
  permission?: boolean;
  roots: Array<[string, Ref]>;
  nodes: GraphNode[];
}

export type LoadResult = LoadGraph | { ok: false; reason: string };

/** How the builder pairs the two releases' code (diff/match.ts). */
export interface Pairing {
  /** Whether the patch makes the running function at `a` run as the fixed one at `b`. */
  sameFunction(a: Location, b: Location): boolean;
  /** A closure variable of the fixed release under its running name (bundler renames). */
  runningName(b: string): string;
  /** Strings equal, up to the package's version literal. */
  sameString(a: string, b: string): boolean;
}

export type Comparison =
  | {
      equal: true;
      size: number;
      /**
       * Functions whose `prototype` is writable in the running load and read-only in the fixed one
       * (a newer compiler helper, e.g. Babel's _createClass): tolerated, and said in the verdict.
       */
      readOnlyPrototypes?: number;
    }
  | { equal: false; why: string };

/** Pairs functions by location only: two loads of one release. */
export const IDENTITY: Pairing = {
  sameFunction: (a, b) => a.url === b.url && a.line === b.line && a.col === b.col,
  runningName: (b) => b,
  sameString: (a, b) => a === b,
};

class Differs extends Error {}

/**
 * Whether two loads built the same state: roots by name, then every object reached from a pair
 * of roots, in parallel. Closure variables only one side has are not compared (the builder's
 * other verdicts cover new and removed variables); those of the same name are.
 */
export function compareLoads(a: LoadGraph, b: LoadGraph, pairing: Pairing): Comparison {
  const aToB = new Map<number, number>();
  const bToA = new Map<number, number>();
  const work: Array<[number, number, string]> = [];
  const differs = (path: string, what: string): never => {
    throw new Differs(`${path}: ${what}`);
  };
  const show = (r: Ref) => ('r' in r ? 'an object' : 'v' in r ? JSON.stringify(r.v).slice(0, 40) : r.u);
  const tolerated = { readOnlyPrototypes: 0 };

  const sameRef = (x: Ref, y: Ref, path: string): void => {
    if ('r' in x && 'r' in y) {
      const known = aToB.get(x.r);
      if (known === undefined && !bToA.has(y.r)) {
        aToB.set(x.r, y.r);
        bToA.set(y.r, x.r);
        work.push([x.r, y.r, path]);
        return;
      }
      if (known !== y.r) differs(path, 'objects shared differently');
      return;
    }
    if ('v' in x && 'v' in y) {
      const same =
        typeof x.v === 'string' && typeof y.v === 'string' ? pairing.sameString(x.v, y.v) : x.v === y.v;
      if (!same) differs(path, `${show(x)} vs ${show(y)}`);
      return;
    }
    if ('u' in x && 'u' in y && x.u === y.u) return;
    differs(path, `${show(x)} vs ${show(y)}`);
  };

  try {
    const rootsB = new Map(b.roots);
    const rootsA = new Map(a.roots);
    for (const [name] of b.roots)
      if (!rootsA.has(name)) differs(name, 'only the fixed release’s load has it');
    for (const [name, x] of a.roots) {
      const y = rootsB.get(name);
      if (!y) differs(name, 'only the running release’s load has it');
      sameRef(x, y!, name);
    }
    for (let i = 0; i < work.length; i++) {
      const [x, y, path] = work[i]!;
      sameNode(a.nodes[x]!, b.nodes[y]!, path, sameRef, differs, pairing, tolerated);
    }
  } catch (e) {
    if (e instanceof Differs) return { equal: false, why: e.message };
    throw e;
  }
  return {
    equal: true,
    size: work.length,
    ...(tolerated.readOnlyPrototypes ? { readOnlyPrototypes: tolerated.readOnlyPrototypes } : {}),
  };
}

/**
 * A function's `prototype` writable in the running load, read-only in the fixed one: what a newer
 * compiler helper does to the same class (Babel 7.16's _createClass, native class syntax). Code
 * that works with the fixed release's classes works with the running ones (nothing assigns a
 * read-only `prototype` without failing there); the converse difference is not tolerated.
 */
function prototypeMadeReadOnly(x: GraphNode, name: string, fx: string, fy: string): boolean {
  return x.k === 'function' && name === 'prototype' && fx === 'w' && fy === '';
}

type SameRef = (x: Ref, y: Ref, path: string) => void;
type DiffersFn = (path: string, what: string) => never;

function sameNode(
  x: GraphNode,
  y: GraphNode,
  path: string,
  sameRef: SameRef,
  differs: DiffersFn,
  pairing: Pairing,
  tolerated: { readOnlyPrototypes: number },
): void {
  if (x.k !== y.k) differs(path, `${x.k} vs ${y.k}`);
  if (x.opaque || y.opaque) differs(path, `${x.opaque ?? y.opaque}, whose contents cannot be read`);
  if (x.k === 'builtin') {
    if (x.name !== y.name) differs(path, `built-in ${x.name} vs ${y.name}`);
    return;
  }
  if (x.k === 'scope') {
    sameScope(x, y, path, sameRef, differs, pairing);
    return;
  }
  if (x.k === 'symbol') {
    if (x.desc !== y.desc || x.reg !== y.reg || x.wellKnown !== y.wellKnown)
      differs(path, `symbol ${String(x.desc)} vs ${String(y.desc)}`);
    return;
  }
  if (x.cls !== y.cls) differs(path, `${x.cls} vs ${y.cls}`);
  if (x.ext !== y.ext) differs(path, 'frozen, sealed or extensible differently');
  for (const field of ['re', 'bytes'] as const)
    if (JSON.stringify(x[field]) !== JSON.stringify(y[field])) differs(path, `${field} differs`);
  if (x.proto && y.proto) sameRef(x.proto, y.proto, `${path}.[[Prototype]]`);
  for (const field of ['date', 'prim'] as const) {
    const xv = x[field];
    const yv = y[field];
    if (xv && yv) sameRef(xv, yv, `${path}.[[${field}]]`);
    else if (xv || yv) differs(path, `${field} differs`);
  }
  sameList(x.entries ?? [], y.entries ?? [], `${path}.[[Entries]]`, differs, (p, q, at) => {
    sameRef(p[0], q[0], `${at}.key`);
    sameRef(p[1], q[1], `${at}.value`);
  });
  const privateOf = (n: GraphNode) => n.priv ?? n.fn?.priv ?? [];
  sameList(privateOf(x), privateOf(y), `${path}.[[PrivateFields]]`, differs, ([nx, rx], [ny, ry], at) => {
    if (nx !== ny) differs(at, `private field ${nx} vs ${ny}`);
    sameRef(rx, ry, `${at}.${nx}`);
  });
  sameList(x.values ?? [], y.values ?? [], `${path}.[[Entries]]`, differs, (p, q, at) => {
    sameRef(p, q, at);
  });
  sameList(x.props ?? [], y.props ?? [], path, differs, ([kx, dx], [ky, dy]) => {
    const name = typeof kx === 'string' ? kx : '[symbol]';
    const at = `${path}.${name}`;
    if (typeof kx === 'string' || typeof ky === 'string') {
      if (kx !== ky) differs(path, `property ${String(name)} vs ${typeof ky === 'string' ? ky : '[symbol]'}`);
    } else sameRef(kx, ky, `${path}[key]`);
    if (prototypeMadeReadOnly(x, name, dx.f, dy.f)) tolerated.readOnlyPrototypes++;
    else if (dx.f !== dy.f) differs(at, `attributes differ (${dx.f || 'none'} vs ${dy.f || 'none'})`);
    if ('v' in dx && 'v' in dy) sameRef(dx.v, dy.v, at);
    else if ('g' in dx && 'g' in dy) {
      sameRef(dx.g, dy.g, `${at}.get`);
      sameRef(dx.s, dy.s, `${at}.set`);
    } else differs(at, 'a value vs an accessor');
  });
  if (x.fn || y.fn) sameFunction(x.fn ?? {}, y.fn ?? {}, path, sameRef, differs, pairing);
}

function sameList<T>(
  xs: T[],
  ys: T[],
  path: string,
  differs: DiffersFn,
  each: (x: T, y: T, at: string) => void,
): void {
  if (xs.length !== ys.length) differs(path, `${xs.length} vs ${ys.length} entries`);
  for (const [i, x] of xs.entries()) each(x, ys[i]!, `${path}[${i}]`);
}

function sameFunction(
  x: NonNullable<GraphNode['fn']>,
  y: NonNullable<GraphNode['fn']>,
  path: string,
  sameRef: SameRef,
  differs: DiffersFn,
  pairing: Pairing,
): void {
  if (x.loc && y.loc) {
    if (!pairing.sameFunction(x.loc, y.loc))
      differs(path, `function at ${where(x.loc)} is not paired with the one at ${where(y.loc)}`);
  } else if (x.native !== y.native) differs(path, 'different functions');
  if (x.bound || y.bound) {
    if (!x.bound || !y.bound) differs(path, 'a bound function vs another');
    sameRef(x.bound!.target, y.bound!.target, `${path}.[[TargetFunction]]`);
    sameRef(x.bound!.this, y.bound!.this, `${path}.[[BoundThis]]`);
    sameRef(x.bound!.args, y.bound!.args, `${path}.[[BoundArgs]]`);
  }
  const sx = x.scopes ?? [];
  const sy = y.scopes ?? [];
  if (sx.length !== sy.length) differs(path, `${sx.length} vs ${sy.length} closure scopes`);
  for (const [i, scope] of sx.entries()) sameRef(scope, sy[i]!, `${path}.[[Scopes]][${i}]`);
}

/** Variables of the same (running) name; those only one side has are other verdicts' business. */
function sameScope(
  x: GraphNode,
  y: GraphNode,
  path: string,
  sameRef: SameRef,
  differs: DiffersFn,
  pairing: Pairing,
): void {
  if (x.type !== y.type) differs(path, `${x.type} vs ${y.type} scope`);
  const vars = new Map((y.vars ?? []).map(([name, r]) => [pairing.runningName(name), r]));
  for (const [name, r] of x.vars ?? []) {
    const o = vars.get(name);
    if (o) sameRef(r, o, `${path}.${name}`);
  }
}

function where(l: Location): string {
  return `${l.url.replace(/^file:\/\//, '')}:${l.line + 1}:${l.col + 1}`;
}

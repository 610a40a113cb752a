import type { FunctionInfo, ModuleAnalysis } from './analyze.js';
import type { SourceType } from './ast.js';

/**
 * The redirect engine's calling convention: the one definition of how instrumented code, the
 * builder's replacements and the runtime meet. The builder emits replacements against it, the
 * runtime instruments modules with it and checks every replacement against it before filling a
 * slot, and a bundle names the version it was built for (`convention` in the payload): a runtime
 * refuses a bundle of another version, with nothing changed.
 *
 * At the top of each module:
 *   var __hp$s = __hotpatch$.module((__hp$c) => eval(__hp$c), <id>, <functions>);
 * `__hp$s` is the module's slot array (one per function, in source order); the arrow is the
 * module's gate: replacements are compiled through it, so they see every module-level binding (a
 * direct eval makes V8 keep all of them in the module's context, whether a closure uses them or not).
 *
 * At the entry of every function (a guard; `__hp$r` is undefined until a patch fills the slot):
 *   const __hp$r = __hp$s?.[7]; if (__hp$r !== undefined) return __hp$r.call(this, <args>);
 * where <args> are, in order: the function's own name when it is a named function expression
 * (SELF_PARAM: recursion must go through the guard, not straight into the replacement), the
 * nearest enclosing scope accessor when there is one (SCOPE_PARAM), then the function's parameter
 * bindings (`params`) — or `arguments` itself (`apply`) when the function reads `arguments`.
 *
 * At the end of the module, `__hotpatch$.ready(__hp$s)`: its own code has run, so migrations of a
 * patch that was active before it loaded can run now.
 *
 * A function whose variables nested functions can reach declares a scope accessor:
 *   function __hp$a3(__hp$n, __hp$v, __hp$w) { switch (__hp$n) { case "x": return __hp$w === 1 ? (x = __hp$v) : ... ; default: <outer> } }
 * listing `scopeVariables(f)`, with `__hp$w` one of ACCESS (ACCESSOR_PARAMS: reserved names, so
 * that they shadow no variable of the scope); a name it does not list goes to the next
 * accessor outward, and past the last one it throws a ReferenceError. A run-once wrapper also
 * registers its accessor: `__hotpatch$.scope(__hp$s, <index>, __hp$a2)`.
 *
 * A named class that declares private names gets a private accessor as its first element:
 *   static #__hp$p0(__hp$n, __hp$o, __hp$v, __hp$w) { switch (__hp$n) { case "x": return … __hp$o.#x …; default: throw … } }
 * (PRIVATE_ACCESS codes; a static private method, so no instance and no reflection sees it). A
 * replacement is compiled outside the class body, where `#x` is a syntax error: the guard of every
 * function inside such classes passes `C.#__hp$p0` for each (innermost first, after the scope
 * accessor), and the replacement calls it (`__hp$p0("x", this)` for `this.#x`).
 */
export const CONVENTION_VERSION = 6;

export const SLOTS = '__hp$s';
/**
 * The gate's parameter: code a patch compiles in the module (replacements, migrations) is eval'd
 * inside the gate, so its parameter must not shadow a name of the module (it was `c`, and a
 * module variable `c` then read the code string).
 */
export const GATE_PARAM = '__hp$c';
export const RESULT = '__hp$r';
export const ACCESSOR_PREFIX = '__hp$a';
/**
 * A scope accessor's parameters (name, value, access code). Convention 4: they were `n, v, w`,
 * which shadowed the scope's own variables of those names (common in minified code).
 */
export const ACCESSOR_PARAMS = ['__hp$n', '__hp$v', '__hp$w'] as const;
/** Replacement parameter: the scope accessor the guard passes. */
export const SCOPE_PARAM = '__hp$sc';
/** Replacement parameters: the private accessors the guard passes, `__hp$p0` innermost. */
export const PRIVATE_PARAM_PREFIX = '__hp$p';
/** A private accessor's parameters (name, object, value, access code). */
export const PRIVATE_ACCESSOR_PARAMS = ['__hp$n', '__hp$o', '__hp$v', '__hp$w'] as const;
/** Replacement parameter: the running function itself (named function expressions). */
export const SELF_PARAM = '__hp$self';
/** Replacement parameter: the `arguments` object (`apply` shape with a scope or self). */
export const ARGS_PARAM = '__hp$args';
/** The runtime's global: `module()` registers a module, `c` holds per-module hotpatch state cells. */
export const GLOBAL = '__hotpatch$';
/** `__hotpatch$.scope(slots, index, accessor)`: a run-once wrapper registers its accessor. */
export const SCOPE_REGISTER = 'scope';
/**
 * How the module's slot array is declared at its top (`var __hp$s = __hotpatch$.module(gate, …)`):
 * text that has it is instrumented already.
 */
export const MODULE_PROLOGUE = `var ${SLOTS} = ${GLOBAL}.module(`;
/** `__hotpatch$.ready(slots)`: the module's own code has run (last line of the module). */
export const READY = 'ready';
/** Placeholder the runtime replaces with a module instance id inside patch code. */
export const MODULE_TOKEN = '__HOTPATCH_MODULE__';
/**
 * Placeholder for a package instance (its root, and the patch): cells one file of a patch creates
 * and another reads (a new export of an ES module, imported by a changed sibling).
 */
export const PACKAGE_TOKEN = '__HOTPATCH_PACKAGE__';
/** Every name the convention puts into code starts with this; sources that contain it are refused. */
export const RESERVED_PREFIX = '__hp$';

/** How a scope accessor is asked to touch a variable (its third argument). */
export const ACCESS = {
  read: 0,
  assign: 1,
  preIncrement: 2,
  postIncrement: 3,
  preDecrement: 4,
  postDecrement: 5,
} as const;

/**
 * How a private accessor is asked to touch `o.#x` (its fourth argument): the scope accessor's
 * codes, and `#x in o`, a call `o.#x(...v)` (this = o), `o.#x = v(o.#x)` for compound
 * assignments, the logical assignments with `v` a thunk of the right-hand side, and `o.#x?.(...v)`.
 */
export const PRIVATE_ACCESS = {
  ...ACCESS,
  has: 6,
  call: 7,
  update: 8,
  orAssign: 9,
  andAssign: 10,
  nullishAssign: 11,
  optionalCall: 12,
} as const;

/**
 * `__hotpatch$.pf(key, has, init, name, o, v, w)`: a private field the fix adds, which running
 * instances lack, kept beside each instance (held weakly) under `key`; `has(o)` tells instances of
 * the class from other objects (as V8's brand check would), `init()` gives its first value; `name`,
 * `v` and `w` as a private accessor takes them (PRIVATE_ACCESS).
 */
export const PRIVATE_SHADOW = 'pf';

export type CallShape = 'params' | 'apply' | 'arrow' | 'construct';

export interface GuardShape {
  call: CallShape;
  /** Name of the nearest enclosing accessor passed to the replacement, or null. */
  scope: string | null;
  /** The function's own name, passed first, for named function expressions that can see it. */
  self: string | null;
  /** Parameter bindings passed (`params` and `arrow` shapes), in order. */
  params: string[];
  /** The private accessors passed (after the scope accessor), innermost first: `C.#__hp$p0`. */
  privates: string[];
}

/** Depth of a function (1 for module-level functions): accessor names are unique along a chain. */
function depthOf(f: FunctionInfo): number {
  let d = 0;
  for (let p: FunctionInfo | null = f; p; p = p.parent) d++;
  return d;
}

/**
 * Variables a function's accessor lists: those nested functions already capture; for a function
 * that keeps such a context, its parameters too (a factory's options: a fix that adds a variable
 * computed from them can compute it for the closures made before the patch — builder
 * diff/shadows.ts; the cost is a context slot per parameter, in a context that exists anyway);
 * and, for functions that run once (IIFE and UMD wrappers: their variables are the module's
 * state), every variable they declare, so that new code can reach state no running closure
 * happened to capture.
 */
export function scopeVariables(f: FunctionInfo): string[] {
  if (f.once) return f.declared;
  if (f.captured.length === 0) return f.captured;
  return [...f.captured, ...f.paramNames.filter((p) => !f.captured.includes(p))];
}

/** The accessor a function declares for its children, if any. */
export function accessorName(f: FunctionInfo): string | null {
  if (scopeVariables(f).length === 0) return null;
  return `${ACCESSOR_PREFIX}${depthOf(f)}`;
}

/** Nearest enclosing function that declares an accessor. */
export function enclosingAccessor(f: FunctionInfo): FunctionInfo | null {
  for (let p = f.parent; p; p = p.parent) if (accessorName(p)) return p;
  return null;
}

export function guardShape(f: FunctionInfo): GuardShape {
  const outer = enclosingAccessor(f);
  // Referring to `arguments` makes V8 allocate an arguments object on every call (in the tiers
  // below the optimizing compiler), so the guard passes the parameters themselves unless the
  // function uses `arguments` anyway.
  const call: CallShape = f.isArrow
    ? 'arrow'
    : f.kind === 'constructor' && f.derived
      ? 'construct'
      : f.usesArguments
        ? 'apply'
        : 'params';
  return {
    call,
    scope: outer ? accessorName(outer) : null,
    self: call === 'construct' ? null : f.selfName,
    params: call === 'params' || call === 'arrow' ? f.paramNames : [],
    privates: call === 'construct' ? [] : f.privateClasses.map((c) => `${c.binding}.${c.accessor}`),
  };
}

/** What the guard passes after `this`, as the replacement's parameter names. */
export function replacementParams(shape: GuardShape): string[] {
  return [
    ...(shape.self ? [SELF_PARAM] : []),
    ...(shape.scope ? [SCOPE_PARAM] : []),
    ...shape.privates.map((_, i) => `${PRIVATE_PARAM_PREFIX}${i}`),
    ...(shape.call === 'apply' && (shape.self || shape.scope || shape.privates.length) ? [ARGS_PARAM] : []),
    ...shape.params,
  ];
}

/** Names reachable through the accessor chain visible from inside `f` (innermost first). */
export function reachableEnclosing(f: FunctionInfo): Map<string, FunctionInfo> {
  const out = new Map<string, FunctionInfo>();
  for (let p = f.parent; p; p = p.parent) {
    for (const name of scopeVariables(p)) if (!out.has(name)) out.set(name, p);
  }
  return out;
}

/** `__hotpatch$.g(key)`: a cell's value, created from its initializer (`l[key]`) on first read. */
export const CELL_GET = 'g';

/** The full key of a cell: within a module instance, or within the package instance (`shared`). */
export function cellKey(key: string, shared = false): string {
  return `${shared ? PACKAGE_TOKEN : MODULE_TOKEN}#${key}`;
}

/** The expression a cell is written through (`__hotpatch$.c[key] = v`). */
export function cellExpression(key: string, shared = false): string {
  return `${GLOBAL}.c[${JSON.stringify(cellKey(key, shared))}]`;
}

/**
 * `__hotpatch$.sh(accessor, key, init)`: a shadow variable (builder diff/shadows.ts) — a variable
 * the fix adds to a scope whose closures the running code already made. One value per running
 * scope instance (its accessor is the identity) and key, made by `init` on first read.
 */
export const SHADOW_GET = 'sh';

/** The expression a shadow variable is read through, inside a replacement (parenthesised). */
export function shadowRead(key: string, initSource: string): string {
  return `(${GLOBAL}.${SHADOW_GET}(${SCOPE_PARAM}, ${JSON.stringify(key)}, () => (${initSource})))`;
}

/** The expression a cell is read through (parenthesised: it may stand after `new`). */
export function cellRead(key: string, shared = false): string {
  return `(${GLOBAL}.${CELL_GET}(${JSON.stringify(cellKey(key, shared))}))`;
}

/**
 * What the runtime needs to know about an instrumented module to check a replacement against it
 * without parsing the module again: one row per function (slot index = position), the accessors'
 * variables, and the module-level bindings the gate sees. Plain JSON, kept beside the
 * instrumented source in the runtime's cache.
 */
export interface ModuleTable {
  convention: number;
  sourceType: SourceType;
  /**
   * By slot index. `scopeOwner`: the function whose accessor the guard passes; `privateNames`: the
   * names each private accessor it passes serves (index in `privateClasses`).
   */
  functions: Array<{ key: string; scopeOwner: number | null; privateNames?: number[] } & GuardShape>;
  /** Private names of each class with a private accessor (without `#`). */
  privateClasses?: string[][];
  /** By the index of the function declaring it: its variables and the next accessor outward. */
  accessors: Record<string, { vars: string[]; outer: number | null }>;
  moduleVars: string[];
}

export function moduleTable(a: ModuleAnalysis): ModuleTable {
  const accessors: ModuleTable['accessors'] = {};
  for (const f of a.functions) {
    if (!accessorName(f)) continue;
    accessors[`${f.index}`] = { vars: scopeVariables(f), outer: enclosingAccessor(f)?.index ?? null };
  }
  const classIndex = new Map(a.privateClasses.map((c, i) => [c, i]));
  return {
    convention: CONVENTION_VERSION,
    sourceType: a.sourceType,
    functions: a.functions.map((f) => {
      const shape = guardShape(f);
      return {
        key: f.key,
        scopeOwner: enclosingAccessor(f)?.index ?? null,
        ...shape,
        ...(shape.privates.length ? { privateNames: f.privateClasses.map((c) => classIndex.get(c)!) } : {}),
      };
    }),
    accessors,
    moduleVars: [...a.moduleScope.set.keys()],
    ...(a.privateClasses.length ? { privateClasses: a.privateClasses.map((c) => c.names) } : {}),
  };
}

/** Variable names the accessor chain handed to slot `index` can reach, innermost owner first. */
export function tableReachable(table: ModuleTable, index: number): Set<string> {
  const out = new Set<string>();
  for (let owner = table.functions[index]?.scopeOwner ?? null; owner !== null; ) {
    const acc = table.accessors[`${owner}`];
    if (!acc) break;
    for (const v of acc.vars) out.add(v);
    owner = acc.outer;
  }
  return out;
}

/**
 * Behaviour oracle, canonical serialization (pure): any value a call returns, throws or leaves in
 * its arguments becomes one string, equal in two processes exactly when the observable values are
 * equal. Object keys are sorted (two releases may build the same object in another order), cycles
 * and shared references become paths, functions are `typeof function` with their name, errors are
 * class + message (+ code), and size is bounded: depth, keys per object, items per array and the
 * length of the final string (the cut part is replaced by its length and a short hash).
 */
import { createHash } from 'node:crypto';

export interface CanonicalLimits {
  depth: number;
  keys: number;
  items: number;
  /** Characters of the serialized form kept; the rest is summarized by length and hash. */
  chars: number;
}

export const CANONICAL_LIMITS: CanonicalLimits = { depth: 6, keys: 64, items: 64, chars: 4000 };

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** A name for the class of an object, without running user code that may throw. */
function className(v: object): string {
  try {
    const proto = Object.getPrototypeOf(v) as { constructor?: { name?: unknown } } | null;
    if (proto === null) return 'null-prototype';
    const name = proto.constructor?.name;
    return typeof name === 'string' ? name : '?';
  } catch {
    return '?';
  }
}

function isErrorLike(v: object): v is Error {
  // Errors from another realm (vm contexts) are not instanceof Error here.
  return v instanceof Error || Object.prototype.toString.call(v) === '[object Error]';
}

function primitive(v: unknown): Json | undefined {
  switch (typeof v) {
    case 'undefined':
      return { $: 'undefined' };
    case 'number':
      if (Number.isNaN(v) || !Number.isFinite(v) || Object.is(v, -0))
        return { $: 'number', v: Object.is(v, -0) ? '-0' : String(v) };
      return v;
    case 'bigint':
      return { $: 'bigint', v: String(v) };
    case 'symbol':
      return { $: 'symbol', v: v.description ?? '' };
    case 'string':
    case 'boolean':
      return v;
    case 'function':
      return { $: 'function', name: typeof v.name === 'string' ? v.name : '' };
    default:
      return v === null ? null : undefined;
  }
}

function read(o: object, k: string): unknown {
  try {
    return (o as Record<string, unknown>)[k];
  } catch (e) {
    return { $oracleThrew: errorOf(e) };
  }
}

function errorOf(e: unknown): Json {
  if (e && typeof e === 'object' && isErrorLike(e)) {
    const code = (e as { code?: unknown }).code;
    return {
      $: 'error',
      class: className(e),
      message: String(e.message),
      ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    };
  }
  return { $: 'thrown', v: normalize(e) };
}

function bytesOf(v: ArrayBufferView | ArrayBuffer): Json {
  const u8 =
    v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  return {
    $: v instanceof ArrayBuffer ? 'ArrayBuffer' : className(v),
    length: u8.length,
    hex: Buffer.from(u8.subarray(0, 256)).toString('hex'),
  };
}

/** The JSON-able canonical tree of a value. */
export function normalize(value: unknown, limits: CanonicalLimits = CANONICAL_LIMITS): Json {
  const seen = new Map<object, string>();
  const walk = (v: unknown, path: string, depth: number): Json => {
    const p = primitive(v);
    if (p !== undefined) return p;
    const o = v as object;
    const ref = seen.get(o);
    if (ref !== undefined) return { $: 'ref', path: ref };
    if (depth >= limits.depth) return { $: 'deep', class: className(o) };
    seen.set(o, path);
    if (isErrorLike(o)) return errorOf(o);
    if (Array.isArray(o)) {
      const items = o.slice(0, limits.items).map((x, i) => walk(x, `${path}[${i}]`, depth + 1));
      return o.length > limits.items ? [...items, { $: 'more', n: o.length - limits.items }] : items;
    }
    if (ArrayBuffer.isView(o) || o instanceof ArrayBuffer) return bytesOf(o);
    if (o instanceof Date) return { $: 'date', v: Number.isNaN(o.getTime()) ? 'invalid' : o.toISOString() };
    if (o instanceof RegExp) return { $: 'regexp', v: String(o), lastIndex: o.lastIndex };
    if (o instanceof Map)
      return {
        $: 'map',
        entries: [...o]
          .slice(0, limits.items)
          .map(([k, x], i) => [walk(k, `${path}<k${i}>`, depth + 1), walk(x, `${path}<v${i}>`, depth + 1)]),
      };
    if (o instanceof Set)
      return {
        $: 'set',
        values: [...o].slice(0, limits.items).map((x, i) => walk(x, `${path}<${i}>`, depth + 1)),
      };
    if (o instanceof Promise || o instanceof WeakMap || o instanceof WeakSet) return { $: className(o) };
    let keys: string[];
    try {
      keys = Object.keys(o).sort();
    } catch (e) {
      return { $: 'object', class: className(o), keys: errorOf(e) };
    }
    const props: { [k: string]: Json } = {};
    for (const k of keys.slice(0, limits.keys)) {
      const x = read(o, k);
      props[k] =
        x && typeof x === 'object' && '$oracleThrew' in x
          ? { $: 'getter-threw', e: (x as { $oracleThrew: Json }).$oracleThrew }
          : walk(x, `${path}.${k}`, depth + 1);
    }
    const cls = className(o);
    return {
      $: 'object',
      ...(cls === 'Object' ? {} : { class: cls }),
      props,
      ...(keys.length > limits.keys ? { more: keys.length - limits.keys } : {}),
    };
  };
  return walk(value, '$', 0);
}

/** One string per value: the canonical tree as JSON, cut to `limits.chars` with a hash of the rest. */
export function canonical(value: unknown, limits: CanonicalLimits = CANONICAL_LIMITS): string {
  const s = JSON.stringify(normalize(value, limits));
  if (s.length <= limits.chars) return s;
  const hash = createHash('sha256').update(s).digest('hex').slice(0, 16);
  return `${s.slice(0, limits.chars)}…(${s.length} chars, sha256 ${hash})`;
}

/** What one call did, before serialization. */
export type Outcome =
  | { kind: 'returned'; value: unknown; async?: 'resolved' }
  | { kind: 'threw'; error: unknown; async?: 'rejected' }
  | { kind: 'timeout'; ms: number }
  | { kind: 'pending'; ms: number }
  | { kind: 'missing'; what: string };

/**
 * The observed result of a call: its outcome, the arguments as the call left them (when it got
 * objects, which it may mutate), and what it added to shared prototypes or the global object.
 */
export function serializeResult(
  outcome: Outcome,
  argsAfter: unknown[] | undefined,
  pollution: string[],
  limits: CanonicalLimits = CANONICAL_LIMITS,
): string {
  const head: { [k: string]: Json } =
    outcome.kind === 'returned'
      ? { returned: normalize(outcome.value, limits), ...(outcome.async ? { async: outcome.async } : {}) }
      : outcome.kind === 'threw'
        ? { threw: errorOf(outcome.error), ...(outcome.async ? { async: outcome.async } : {}) }
        : outcome.kind === 'missing'
          ? { missing: outcome.what }
          : { [outcome.kind]: true };
  const hasObjects = argsAfter?.some((a) => (a !== null && typeof a === 'object') || typeof a === 'function');
  if (argsAfter && hasObjects) head.args = normalize(argsAfter, limits);
  if (pollution.length) head.pollution = [...pollution].sort();
  const s = JSON.stringify(head);
  if (s.length <= limits.chars) return s;
  const hash = createHash('sha256').update(s).digest('hex').slice(0, 16);
  return `${s.slice(0, limits.chars)}…(${s.length} chars, sha256 ${hash})`;
}

import { createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);

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

/** Installs the deterministic sources; they act only while `active()` says a plan runs. */
export function installRandomness(active: () => boolean): void {
  const real = Math.random;
  Math.random = () => (active() ? next() : real());
  const realNow = Date.now;
  Date.now = () => (active() ? EPOCH + clock++ : realNow());
  const crypto = requireHere('node:crypto') as Record<string, unknown> & {
    webcrypto: Record<string, unknown>;
  };
  const wrap = (obj: Record<string, unknown>, name: string, fake: (...a: unknown[]) => unknown) => {
    const orig = obj[name] as ((...a: unknown[]) => unknown) | undefined;
    if (typeof orig !== 'function') return;
    obj[name] = function (this: unknown, ...args: unknown[]) {
      return active() ? fake(...args) : orig.apply(this, args);
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
    value: (arr: ArrayBufferView) => (active() ? fill(arr) : realGet(arr)),
    configurable: true,
    writable: true,
  });
  const realUUID = (web.randomUUID as () => string).bind(web);
  Object.defineProperty(web, 'randomUUID', {
    value: () => (active() ? (crypto.randomUUID as () => string)() : realUUID()),
    configurable: true,
    writable: true,
  });
}

/** Before each call: the sources start again from the call's id. */
export function startCall(id: string): void {
  reseed(id);
  clock = 0;
}

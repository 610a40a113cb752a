/**
 * Behaviour oracle, input side (pure): the deterministic corpus of argument values and the call
 * plan built from the shapes of a package's exports. The plan is computed once per pair, in the
 * parent, and sent to every process, so the vulnerable, hotpatched and fixed releases answer
 * exactly the same calls in the same order. Values are named by index and built fresh for every
 * call (calls may mutate their arguments, and the mutation is part of the observed result).
 */

/** A value of the argument corpus: a stable name and a factory (a fresh value per call). */
export interface Value {
  name: string;
  make: () => unknown;
}

function oracleCallback(...args: unknown[]): number {
  return args.length;
}

/**
 * The argument corpus. Its order matters: argument vectors take prefixes of it, so the first
 * entries are the most varied (one of each type) and the tricky strings follow.
 */
export const VALUES: readonly Value[] = [
  { name: 'undefined', make: () => undefined },
  { name: "'a'", make: () => 'a' },
  { name: '1', make: () => 1 },
  { name: '{a:1,b:"x",c:{d:[1,2]}}', make: () => ({ a: 1, b: 'x', c: { d: [1, 2] } }) },
  { name: '[1,"a",null]', make: () => [1, 'a', null] },
  { name: 'null', make: () => null },
  { name: 'true', make: () => true },
  { name: "''", make: () => '' },
  { name: '0', make: () => 0 },
  { name: '{}', make: () => ({}) },
  { name: '[]', make: () => [] },
  { name: 'callback', make: () => oracleCallback },
  { name: "'hello world'", make: () => 'hello world' },
  { name: '-1', make: () => -1 },
  { name: 'false', make: () => false },
  { name: "'__proto__'", make: () => '__proto__' },
  { name: "'constructor.prototype.oraclePolluted'", make: () => 'constructor.prototype.oraclePolluted' },
  {
    name: 'JSON {"__proto__":{"oraclePolluted":1}}',
    make: () => JSON.parse('{"__proto__":{"oraclePolluted":1}}'),
  },
  { name: "'<script>alert(1)</script>'", make: () => '<script>alert(1)</script>' },
  { name: "'a/b/../c'", make: () => 'a/b/../c' },
  { name: '3.5', make: () => 3.5 },
  { name: 'NaN', make: () => Number.NaN },
  { name: "'123'", make: () => '123' },
  { name: "'  padded\\t\\n'", make: () => '  padded\t\n' },
  { name: "'line1\\r\\nline2'", make: () => 'line1\r\nline2' },
  { name: "'ß✓😀'", make: () => 'ß✓😀' },
  { name: "'\"q\" & 'single''", make: () => `"q" & 'single'` },
  { name: "'/a/:b/:c?'", make: () => '/a/:b/:c?' },
  { name: "'*.{js,ts}'", make: () => '*.{js,ts}' },
  { name: "'{a,b}{1..3}'", make: () => '{a,b}{1..3}' },
  { name: "'[a-z]+(x|y)*'", make: () => '[a-z]+(x|y)*' },
  { name: "'http://127.0.0.1:1/p?q=1#h'", make: () => 'http://127.0.0.1:1/p?q=1#h' },
  { name: "'a=1; b=2'", make: () => 'a=1; b=2' },
  { name: "'x[y]=z&__proto__[p]=1'", make: () => 'x[y]=z&__proto__[p]=1' },
  { name: "'1.2.3'", make: () => '1.2.3' },
  { name: "'>=1.2.3 <2 || ^3.0.0'", make: () => '>=1.2.3 <2 || ^3.0.0' },
  // A template placeholder on purpose (template engines, format strings).
  { name: "'$' + '{a}{{b}}%s'", make: () => '$' + '{a}{{b}}%s' },
  { name: "'\\u0000\\u001b[31m'", make: () => '\u0000\u001b[31m' },
  { name: "'a'.repeat(64)+'!'", make: () => `${'a'.repeat(64)}!` },
  { name: "' '.repeat(200)+'x'", make: () => `${' '.repeat(200)}x` },
  { name: 'Infinity', make: () => Number.POSITIVE_INFINITY },
  { name: '-0', make: () => -0 },
  { name: '2**53', make: () => 2 ** 53 },
  { name: '255', make: () => 255 },
  { name: '["a",["b",["c"]],{d:1}]', make: () => ['a', ['b', ['c']], { d: 1 }] },
  { name: '{a:{b:{c:{d:{}}}}}', make: () => ({ a: { b: { c: { d: {} } } } }) },
  {
    name: '{constructor:{prototype:{oraclePolluted:1}}}',
    make: () => ({ constructor: { prototype: { oraclePolluted: 1 } } }),
  },
  { name: '{toString:"x",valueOf:1}', make: () => ({ toString: 'x', valueOf: 1 }) },
  { name: 'Object.create(null)', make: () => Object.create(null) },
  { name: 'new Date(0)', make: () => new Date(0) },
  { name: '/a+b/g', make: () => /a+b/g },
  { name: "Buffer.from('abc')", make: () => Buffer.from('abc') },
  { name: "new Map([['a',1]])", make: () => new Map([['a', 1]]) },
  { name: 'new Set([1,2])', make: () => new Set([1, 2]) },
  {
    name: "['--a.b','c','-x','--__proto__.oraclePolluted','1']",
    make: () => ['--a.b', 'c', '-x', '--__proto__.oraclePolluted', '1'],
  },
  { name: "{url:'/a',method:'GET',headers:{}}", make: () => ({ url: '/a', method: 'GET', headers: {} }) },
];

/** An argument vector: indexes into VALUES. */
export type ArgVector = readonly number[];

/**
 * Argument vectors for a function of declared arity `arity`: no arguments, every value alone,
 * then pairs and triples taken on a fixed stride through the corpus (deterministic, varied, no
 * combinatorial explosion). `budget` caps the count; the prefix is the most varied part.
 */
export function argVectors(arity: number, budget: number): ArgVector[] {
  const n = VALUES.length;
  const out: ArgVector[] = [[]];
  const singles = VALUES.map((_, i) => [i]);
  const pairs: ArgVector[] = [];
  const triples: ArgVector[] = [];
  if (arity >= 2) for (let i = 0; i < n; i++) pairs.push([i, (i * 7 + 3) % n]);
  if (arity >= 3) for (let i = 0; i < n; i += 2) triples.push([i, (i * 5 + 1) % n, (i * 11 + 9) % n]);
  // Interleave so that a small budget still gets some of each kind.
  const lists = [singles, pairs, triples].filter((l) => l.length > 0);
  for (let k = 0; out.length < budget && lists.some((l) => k < l.length); k++)
    for (const l of lists) if (k < l.length && out.length < budget) out.push(l[k]!);
  return out;
}

/** What a process saw of one export: a function to call, or a class to construct and its methods. */
export interface TargetShape {
  /** Property path from the entry's root (empty: the root itself). */
  path: string[];
  kind: 'function' | 'class';
  length: number;
  /** Prototype methods (classes only), by name, with their declared arity. */
  methods?: { name: string; length: number }[];
}

export interface EntryShape {
  /** The module specifier, resolved from the install directory. */
  spec: string;
  how: 'require' | 'import';
  /** Why the entry did not load (it then has no targets). */
  error?: string;
  targets: TargetShape[];
}

export interface Call {
  /** Stable id: entry, path, operation and argument vector; the same in every process. */
  id: string;
  spec: string;
  how: 'require' | 'import';
  path: string[];
  op: 'call' | 'construct' | 'method';
  method?: string;
  args: ArgVector;
}

export interface PlanLimits {
  /** Calls per pair, at most. */
  maxCalls: number;
  /** Argument vectors per function or method, at most. */
  perTarget: number;
}

export const DEFAULT_LIMITS: PlanLimits = { maxCalls: 2500, perTarget: 150 };

/** An entry is its specifier and how it is loaded: a dual package's require and import are two. */
const entryKey = (e: { spec: string; how: string }) => `${e.how}:${e.spec}`;
const targetKey = (e: EntryShape, t: TargetShape) => `${entryKey(e)}|${t.path.join('.')}`;

/**
 * Merges the shapes seen in several processes (vulnerable and fixed releases): a target present
 * in either is called everywhere (where it is missing, the result says so). Methods merge too.
 */
export function mergeShapes(...shapes: EntryShape[][]): EntryShape[] {
  const entries = new Map<string, EntryShape>();
  const targets = new Map<string, TargetShape>();
  for (const shape of shapes)
    for (const e of shape) {
      const entry = entries.get(entryKey(e)) ?? { spec: e.spec, how: e.how, targets: [] };
      entries.set(entryKey(e), entry);
      for (const t of e.targets) {
        const k = targetKey(e, t);
        const seen = targets.get(k);
        if (!seen) {
          const copy: TargetShape = { ...t, ...(t.methods ? { methods: [...t.methods] } : {}) };
          targets.set(k, copy);
          entry.targets.push(copy);
        } else if (t.methods) {
          seen.methods ??= [];
          for (const m of t.methods) if (!seen.methods.some((x) => x.name === m.name)) seen.methods.push(m);
        }
      }
    }
  for (const e of entries.values()) e.targets.sort((a, b) => cmp(a.path.join('.'), b.path.join('.')));
  return [...entries.values()];
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The call plan: every function called, every class constructed and every method called on a
 * fresh instance (built with no arguments), each with argument vectors; the per-target budget
 * shrinks when a package exports many functions so the pair stays within `maxCalls`.
 */
export function planCalls(entries: EntryShape[], limits: PlanLimits = DEFAULT_LIMITS): Call[] {
  interface Unit {
    e: EntryShape;
    t: TargetShape;
    op: Call['op'];
    method?: string;
    length: number;
  }
  const units = entries.flatMap((e): Unit[] =>
    e.targets.flatMap((t): Unit[] => [
      { e, t, op: t.kind === 'class' ? 'construct' : 'call', length: t.length },
      ...(t.methods ?? []).map((m) => ({ e, t, op: 'method' as const, method: m.name, length: m.length })),
    ]),
  );
  if (units.length === 0) return [];
  const per = Math.max(1, Math.min(limits.perTarget, Math.floor(limits.maxCalls / units.length)));
  const calls: Call[] = [];
  for (const u of units) {
    for (const args of argVectors(Math.max(u.length, 1), per)) {
      if (calls.length >= limits.maxCalls) return calls;
      const name = `${u.t.path.join('.') || '(root)'}${u.method ? `#${u.method}` : ''}`;
      calls.push({
        id: `${entryKey(u.e)}|${u.op}|${name}|${args.join(',')}`,
        spec: u.e.spec,
        how: u.e.how,
        path: u.t.path,
        op: u.op,
        ...(u.method ? { method: u.method } : {}),
        args,
      });
    }
  }
  return calls;
}

/** How a call reads in a report: `spec path#method('a', 1)`. */
export function describeCall(c: Call): string {
  const fn = `${c.path.join('.') || '(root)'}${c.method ? `#${c.method}` : ''}`;
  const args = c.args.map((i) => VALUES[i]?.name ?? `?${i}`).join(', ');
  return `${c.op === 'construct' ? 'new ' : ''}${c.spec} ${fn}(${args})`;
}

/**
 * The entries a pair is exercised through: the package root (require for CommonJS, import for ES
 * modules, both for dual packages, whose two builds are patched apart: fast-xml-parser's CommonJS
 * build broke after an apply while its ES module build, the only one called, was right) and every
 * specifier its exploit check loads (the check knows which entry carries the fix, e.g.
 * `svelte/compiler`).
 */
export function entriesOf(
  name: string,
  format: string,
  checkSource: string,
): { spec: string; how: 'require' | 'import' }[] {
  const hows: Array<'require' | 'import'> =
    format === 'cjs' ? ['require'] : format === 'dual' ? ['import', 'require'] : ['import'];
  const out = hows.map((how) => ({ spec: name, how }));
  for (const m of checkSource.matchAll(/\b(load|imp)\(\s*(['"`])([^'"`$]+)\2\s*\)/g)) {
    const how = m[1] === 'load' ? 'require' : 'import';
    const spec = m[3]!;
    const own = spec === name || spec.startsWith(`${name}/`);
    if (own && !out.some((x) => x.spec === spec && x.how === how)) out.push({ spec, how });
  }
  return out;
}

/** The conditions an `exports` field names anywhere (`import`, `require`, `node`, `default`, ...). */
function conditionsOf(exports: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(exports)) for (const x of exports) conditionsOf(x, out);
  else if (exports && typeof exports === 'object')
    for (const [k, v] of Object.entries(exports)) {
      if (!k.startsWith('.')) out.add(k);
      conditionsOf(v, out);
    }
  return out;
}

/**
 * How a package is published, as entriesOf names it, from its package.json: `dual` when its
 * exports offer both `import` and `require`, `esm` for an ES module package without a `require`
 * condition, `cjs` otherwise (an `import` condition of a CommonJS package makes it dual).
 */
export function publishedFormat(pkg: { type?: unknown; exports?: unknown }): 'cjs' | 'esm' | 'dual' {
  const c = conditionsOf(pkg.exports);
  if (c.has('import') && c.has('require')) return 'dual';
  if (pkg.type === 'module') return c.has('require') ? 'dual' : 'esm';
  return c.has('import') ? 'dual' : 'cjs';
}

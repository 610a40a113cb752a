/**
 * The behaviour oracle's pure parts: argument vectors and call plans, canonical serialization,
 * classification of the three results of a call, and the tampering helper of the e2e test.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonical, serializeResult } from './canonical.js';
import { type CallResults, classifyCall, comparePair, oracleMarkdown, type PairReport } from './classify.js';
import {
  argVectors,
  describeCall,
  type EntryShape,
  entriesOf,
  mergeShapes,
  planCalls,
  VALUES,
} from './inputs.js';
import { injectReturn } from './tamper.js';

describe('input generation', () => {
  test('argument vectors: none first, then singles, pairs and triples interleaved, within budget', () => {
    const v = argVectors(3, 7);
    assert.equal(v.length, 7);
    assert.deepEqual(v[0], []);
    assert.deepEqual(
      v.slice(1, 4).map((x) => x.length),
      [1, 2, 3],
    );
    assert.ok(v.every((x) => x.every((i) => i >= 0 && i < VALUES.length)));
    // Arity 1 gets no pairs; the full corpus of singles fits a large budget.
    const one = argVectors(1, 1000);
    assert.equal(one.length, 1 + VALUES.length);
    assert.ok(one.every((x) => x.length <= 1));
  });

  test('argument vectors are deterministic', () => {
    assert.deepEqual(argVectors(2, 50), argVectors(2, 50));
  });

  test('values are built fresh for every call (a mutated argument does not leak)', () => {
    const i = VALUES.findIndex((x) => x.name === '{}');
    const a = VALUES[i]!.make() as Record<string, unknown>;
    a.x = 1;
    assert.deepEqual(VALUES[i]!.make(), {});
  });

  const shapeV: EntryShape[] = [
    {
      spec: 'pkg',
      how: 'import',
      targets: [
        { path: ['parse'], kind: 'function', length: 2 },
        { path: ['Thing'], kind: 'class', length: 1, methods: [{ name: 'run', length: 1 }] },
      ],
    },
  ];
  const shapeF: EntryShape[] = [
    {
      spec: 'pkg',
      how: 'import',
      targets: [
        { path: ['parse'], kind: 'function', length: 2 },
        { path: ['Thing'], kind: 'class', length: 1, methods: [{ name: 'check', length: 0 }] },
        { path: ['newExport'], kind: 'function', length: 0 },
      ],
    },
  ];

  test('shapes of both releases merge: every export and method of either is called', () => {
    const m = mergeShapes(shapeV, shapeF);
    assert.deepEqual(
      m[0]!.targets.map((t) => t.path.join('.')),
      ['Thing', 'newExport', 'parse'],
    );
    assert.deepEqual(m[0]!.targets[0]!.methods!.map((x) => x.name).sort(), ['check', 'run']);
    // The inputs are not modified.
    assert.equal(shapeV[0]!.targets[1]!.methods!.length, 1);
  });

  test("a dual package's require and import are two entries, each called (their builds are patched apart)", () => {
    const cjs: EntryShape[] = [
      { spec: 'pkg', how: 'require', targets: [{ path: ['parse'], kind: 'function', length: 2 }] },
    ];
    const m = mergeShapes(shapeF, cjs);
    assert.deepEqual(m.map((e) => `${e.how} ${e.spec} ${e.targets.length}`).sort(), [
      'import pkg 3',
      'require pkg 1',
    ]);
    const plan = planCalls(m, { maxCalls: 1000, perTarget: 2 });
    assert.equal(new Set(plan.map((c) => c.id)).size, plan.length, 'ids differ between the two entries');
    assert.ok(plan.some((c) => c.how === 'require' && c.path[0] === 'parse'));
    assert.ok(plan.some((c) => c.how === 'import' && c.path[0] === 'parse'));
  });

  test('the plan calls functions, constructs classes and calls methods, with unique ids, within limits', () => {
    const plan = planCalls(mergeShapes(shapeV, shapeF), { maxCalls: 40, perTarget: 10 });
    assert.ok(plan.length <= 40);
    assert.equal(new Set(plan.map((c) => c.id)).size, plan.length);
    assert.deepEqual(new Set(plan.map((c) => c.op)), new Set(['construct', 'method', 'call']));
    const big = planCalls(mergeShapes(shapeV, shapeF), { maxCalls: 10_000, perTarget: 10 });
    assert.equal(big.length, 5 * 10);
    assert.deepEqual(planCalls([], { maxCalls: 10, perTarget: 10 }), []);
  });

  test('calls read as code in reports', () => {
    const plan = planCalls(shapeF, { maxCalls: 100, perTarget: 3 });
    assert.equal(describeCall(plan.find((c) => c.op === 'construct')!), 'new pkg Thing()');
    assert.equal(
      describeCall(plan.find((c) => c.op === 'method' && c.args.length === 1)!),
      'pkg Thing#check(undefined)',
    );
  });

  test('entries: the package root by its format, plus the entries its exploit check loads', () => {
    // A computed specifier (a template with a placeholder) is not an entry.
    const check = "const a = load('svelte/compiler'); await imp('svelte'); load('react'); load(`x$" + '{y}`)';
    assert.deepEqual(entriesOf('svelte', 'dual', check), [
      { spec: 'svelte', how: 'import' },
      { spec: 'svelte', how: 'require' },
      { spec: 'svelte/compiler', how: 'require' },
    ]);
    assert.deepEqual(entriesOf('qs', 'cjs', ''), [{ spec: 'qs', how: 'require' }]);
  });
});

describe('canonical serialization', () => {
  test('object keys are sorted; class names, special numbers and undefined are kept', () => {
    assert.equal(canonical({ b: 1, a: 2 }), canonical({ a: 2, b: 1 }));
    assert.notEqual(canonical({ a: 1 }), canonical({ a: '1' }));
    assert.notEqual(canonical(0), canonical(-0));
    assert.notEqual(canonical(Number.NaN), canonical(null));
    assert.notEqual(canonical({ a: undefined }), canonical({}));
    class Point {
      x = 1;
    }
    assert.notEqual(canonical(new Point()), canonical({ x: 1 }));
    assert.match(canonical(new Point()), /"class":"Point"/);
  });

  test('functions are typeof function with their name; errors are class, message and code', () => {
    assert.equal(
      canonical(function named() {}),
      '{"$":"function","name":"named"}',
    );
    const e = Object.assign(new RangeError('bad'), { code: 'E_X' });
    assert.equal(canonical(e), '{"$":"error","class":"RangeError","message":"bad","code":"E_X"}');
    assert.notEqual(canonical(new TypeError('bad')), canonical(new RangeError('bad')));
  });

  test('cycles and shared references become paths; depth, keys and length are bounded', () => {
    const o: Record<string, unknown> = { a: 1 };
    o.self = o;
    assert.equal(canonical(o), '{"$":"object","props":{"a":1,"self":{"$":"ref","path":"$"}}}');
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 20; i++) deep = { d: deep };
    assert.match(canonical(deep), /"\$":"deep"/);
    const wide = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, i]));
    assert.match(canonical(wide), /"more":136/);
    const long = canonical('x'.repeat(10_000));
    assert.ok(long.length < 4100);
    assert.match(long, /10002 chars, sha256 [0-9a-f]{16}/);
    assert.notEqual(canonical(`${'x'.repeat(9999)}y`), long);
  });

  test('built-in types: dates, regexps, maps, sets, buffers, typed arrays, null prototypes', () => {
    assert.equal(canonical(new Date(0)), '{"$":"date","v":"1970-01-01T00:00:00.000Z"}');
    assert.equal(canonical(new Date(Number.NaN)), '{"$":"date","v":"invalid"}');
    assert.equal(canonical(/a+/g), '{"$":"regexp","v":"/a+/g","lastIndex":0}');
    assert.notEqual(canonical(new Map([['a', 1]])), canonical(new Map([['a', 2]])));
    assert.notEqual(canonical(new Set([1])), canonical([1]));
    assert.equal(canonical(Buffer.from('ab')), '{"$":"Buffer","length":2,"hex":"6162"}');
    assert.notEqual(canonical(new Uint16Array([1])), canonical(new Uint8Array([1, 0])));
    assert.match(canonical(Object.create(null)), /null-prototype/);
  });

  test('a throwing getter is recorded, not propagated', () => {
    const o = Object.defineProperty({}, 'x', {
      enumerable: true,
      get() {
        throw new Error('nope');
      },
    });
    assert.match(canonical(o), /getter-threw.*nope/);
  });

  test('a result: outcome, arguments as the call left them (only when it had objects), pollution sorted', () => {
    assert.equal(serializeResult({ kind: 'returned', value: 1 }, ['a', 1], []), '{"returned":1}');
    assert.equal(
      serializeResult({ kind: 'returned', value: undefined }, [{ a: 1 }], ['b', 'a']),
      '{"returned":{"$":"undefined"},"args":[{"$":"object","props":{"a":1}}],"pollution":["a","b"]}',
    );
    assert.equal(serializeResult({ kind: 'timeout', ms: 5 }, [], []), '{"timeout":true}');
    assert.match(
      serializeResult({ kind: 'threw', error: new TypeError('t'), async: 'rejected' }, undefined, []),
      /^\{"threw":\{"\$":"error","class":"TypeError","message":"t"\},"async":"rejected"\}$/,
    );
    assert.equal(serializeResult({ kind: 'missing', what: 'export' }, undefined, []), '{"missing":"export"}');
  });
});

describe('classification', () => {
  const r = (a: string | undefined, c: string, b1: string, b2 = b1, stable = true): CallResults => ({
    ...(a === undefined ? {} : { a }),
    c,
    b1,
    b2,
    stable,
  });
  test('the four cases, and nondeterminism first', () => {
    assert.equal(classifyCall(r('x', 'x', 'x')), 'agree');
    assert.equal(classifyCall(r('fixed', 'old', 'fixed')), 'fix-working');
    assert.equal(classifyCall(r('old', 'old', 'fixed')), 'fix-not-applied');
    assert.equal(classifyCall(r('broken', 'x', 'x')), 'patch-defect');
    assert.equal(classifyCall(r('broken', 'x', 'x', 'x', false)), 'unstable');
  });

  test('a divergence that a process patched before its first call does not show is state left before the patch', () => {
    // nanoid 5.0.8: an earlier call left the pool offset NaN; the patched code cannot undo that.
    const corrupted = { ...r('""', 'id', 'id'), aFresh: 'id' };
    assert.equal(classifyCall(corrupted), 'pre-patch-state');
    // Patched from the start and still wrong: the patch's own defect, whatever came before.
    assert.equal(classifyCall({ ...r('broken', 'x', 'x'), aFresh: 'broken' }), 'patch-defect');
    assert.equal(classifyCall({ ...r('old', 'old', 'fixed'), aFresh: 'old' }), 'fix-not-applied');
  });

  test('names a release renamed (a minifier) that the hotpatch keeps are not a divergence; anything else is', () => {
    const obj = (cls: string, v: number, fn = 'f') =>
      JSON.stringify({ $: 'object', class: cls, props: { v, get: { $: 'function', name: fn } } });
    // fast-xml-parser's minified build: the fixed release calls the class `it`, the running one `et`.
    assert.equal(classifyCall(r(obj('et', 1), obj('et', 1), obj('it', 1))), 'names-kept');
    assert.equal(classifyCall(r(obj('et', 1, 'g'), obj('et', 1, 'g'), obj('it', 1, 'h'))), 'names-kept');
    // A value differs too: not only names (C differs from B by its names: counted as the fix not applied).
    assert.equal(classifyCall(r(obj('et', 2), obj('et', 1), obj('it', 1))), 'fix-not-applied');
    // A name the running release never shows: the hotpatch made it, not the release.
    assert.equal(classifyCall(r(obj('zz', 1), obj('et', 1), obj('it', 1))), 'fix-not-applied');
    // Not a consistent renaming: two running names onto one fixed name.
    const two = (x: string, y: string) =>
      JSON.stringify([
        { $: 'object', class: x, props: {} },
        { $: 'object', class: y, props: {} },
      ]);
    assert.equal(classifyCall(r(two('a', 'b'), two('a', 'b'), two('c', 'c'))), 'fix-not-applied');
    // A cut result (too long to compare by shape) stays what it was.
    assert.equal(classifyCall(r(`${obj('et', 1)}…`, obj('et', 1), obj('it', 1))), 'fix-not-applied');
  });

  test('C is compared with the first run of the fixed release, A with the second', () => {
    // The module counts calls: first runs say 1, second runs 2.
    assert.equal(classifyCall(r('2', '1', '1', '2')), 'agree');
    assert.equal(classifyCall(r('1', '1', '1', '2')), 'patch-defect');
  });

  test('an export only the fixed release has is an API difference; without A, C stands alone', () => {
    const m = '{"missing":"export"}';
    assert.equal(classifyCall(r(m, m, '{"returned":1}')), 'api-added');
    assert.equal(classifyCall(r(undefined, 'x', 'x')), 'agree');
    assert.equal(classifyCall(r(undefined, 'old', 'fixed')), 'fix-not-applied');
    assert.equal(classifyCall(r(undefined, m, 'fixed')), 'api-added');
  });

  test('a pair: counts per class, divergences listed with the call and the three results', () => {
    const plan = planCalls(
      [{ spec: 'p', how: 'require', targets: [{ path: ['f'], kind: 'function', length: 1 }] }],
      { maxCalls: 4, perTarget: 4 },
    );
    const same = ['1', '2', '3', '4'];
    const out = comparePair(plan, {
      a: ['1', 'X', '3', '4'],
      c: ['1', '2', 'old', '4'],
      b1: same,
      b2: same,
      b1Again: same,
      b2Again: ['1', '2', '3', 'random'],
    });
    assert.deepEqual(out.counts, {
      agree: 1,
      'fix-working': 1,
      'fix-not-applied': 0,
      'patch-defect': 1,
      'pre-patch-state': 0,
      'names-kept': 0,
      unstable: 1,
      'api-added': 0,
    });
    assert.deepEqual(
      out.divergences.map((d) => [d.class, d.a, d.b, d.c]),
      [
        ['patch-defect', 'X', '2', '2'],
        ['fix-working', '3', '3', 'old'],
      ],
    );
    assert.equal(out.divergences[0]!.call, 'p f(undefined)');
  });

  test('the markdown section names every pair and lists the unexplained divergences', () => {
    const report: PairReport = {
      pair: 'p@1.0.0',
      fixed: '1.0.1',
      advisory: 'CVE-0',
      set: 'seed',
      node: 26,
      status: 'compared',
      detail: 'applied',
      entries: [],
      calls: 4,
      counts: {
        agree: 1,
        'fix-working': 1,
        'fix-not-applied': 0,
        'patch-defect': 1,
        'pre-patch-state': 0,
        'names-kept': 0,
        unstable: 1,
        'api-added': 0,
      },
      divergences: [{ call: "p f('a')", class: 'patch-defect', a: 'X', b: '2', c: '2' }],
      ms: 1,
    };
    const md = oracleMarkdown([report]);
    assert.match(md, /^## Behaviour oracle$/m);
    assert.match(
      md,
      /\| p@1\.0\.0 → 1\.0\.1 \| seed \| 26 \| compared \| 4 \| 1 \| 1 \| 0 \| 1 \| 0 \| 1 \| 0 \|/,
    );
    assert.match(md, /defects introduced by the hotpatch 1/);
    assert.match(md, /- patch-defect: `p f\('a'\)` — A: `X`; B: `2`; C: `2`/);
    assert.match(md, /1 pairs: \*\*1 compared with the hotpatch applied\*\*, 0 refused/);
    // The short form (docs/coverage.md) has the table but no divergence list.
    const short = oracleMarkdown([report], { divergences: false });
    assert.match(short, /\| p@1\.0\.0 → 1\.0\.1 \|/);
    assert.doesNotMatch(short, /patch-defect:/);
    // A refused pair has no A; where its fix shows is listed apart and not counted as a defect.
    const refused: PairReport = {
      ...report,
      status: 'refused',
      counts: { ...report.counts, 'patch-defect': 0 },
    };
    const both = oracleMarkdown([report, refused]);
    assert.match(both, /refused by the builder/);
    assert.match(both, /### Behaviour oracle: where the fix shows in pairs without an applied hotpatch/);
    assert.match(both, /\*\*defects introduced by the hotpatch 1 \(in 1 pairs\)\*\*/);
  });
});

describe('tampering (the e2e test breaks a replacement on purpose)', () => {
  test('return first in the body of function expressions and arrows', () => {
    assert.equal(
      injectReturn('(function (a, b) {\n  return a;\n})', '0'),
      '(function (a, b) { return 0;\n  return a;\n})',
    );
    assert.equal(
      injectReturn('(async (x) => { await x; })', '"t"'),
      '(async (x) => { return "t"; await x; })',
    );
    assert.throws(() => injectReturn('x => x', '0'), /no function body/);
  });
});

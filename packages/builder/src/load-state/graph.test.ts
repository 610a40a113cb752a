import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Change, changeOf, type VerdictId } from '@hotpatch/core';
import { compareLoads, type GraphNode, IDENTITY, type LoadGraph, type Pairing, type Ref } from './graph.js';
import { type LoadRuns, loadStateDecision, needsLoadState, withLoadStateReason } from './verdict.js';

/** Table tests of the pure comparison (graph.ts) and of the decision (verdict.ts). */
const graph = (roots: Array<[string, Ref]>, nodes: GraphNode[]): LoadGraph => ({
  ok: true,
  node: 'v20.0.0',
  roots,
  nodes,
});
const r = (id: number): Ref => ({ r: id });
const v = (x: string | number | boolean | null): Ref => ({ v: x });
const obj = (props: Array<[string, Ref]>, proto: Ref = v(null)): GraphNode => ({
  k: 'object',
  cls: '[object Object]',
  proto,
  ext: '',
  props: props.map(([k, x]) => [k, { v: x, f: 'ewc' }]),
});
const fn = (line: number, scopes: Ref[] = []): GraphNode => ({
  k: 'function',
  cls: '[object Function]',
  proto: v(null),
  ext: '',
  props: [],
  fn: { loc: { url: 'file://<pkg>/index.js', line, col: 0 }, scopes },
});
/** A function whose `prototype` (node 1) has the attributes `f`. */
const withProto = (f: GraphNode, attrs: string): GraphNode => ({
  ...f,
  props: [['prototype', { v: r(1), f: attrs }]],
});
const scope = (vars: Array<[string, Ref]>): GraphNode => ({ k: 'scope', type: 'closure', vars });
/** Functions paired when the fixed one stands one line lower (a line added above them). */
const SHIFTED: Pairing = { ...IDENTITY, sameFunction: (a, b) => a.line + 1 === b.line };

const cases: Array<{ name: string; a: LoadGraph; b: LoadGraph; pairing?: Pairing; equal: boolean | RegExp }> =
  [
    {
      name: 'the same table',
      a: graph([['exports', r(0)]], [obj([['a', v(1)]])]),
      b: graph([['exports', r(0)]], [obj([['a', v(1)]])]),
      equal: true,
    },
    {
      name: 'a class prototype writable in the running load, read-only in the fixed one (a newer compiler helper): tolerated',
      a: graph([['exports', r(0)]], [withProto(fn(1), 'w'), obj([])]),
      b: graph([['exports', r(0)]], [withProto(fn(1), ''), obj([])]),
      equal: true,
    },
    {
      name: 'a class prototype read-only in the running load, writable in the fixed one: differs',
      a: graph([['exports', r(0)]], [withProto(fn(1), ''), obj([])]),
      b: graph([['exports', r(0)]], [withProto(fn(1), 'w'), obj([])]),
      equal: /exports\.prototype: attributes differ \(none vs w\)/,
    },
    {
      name: 'another property made read-only: differs',
      a: graph([['exports', r(0)]], [{ ...obj([]), props: [['limit', { v: v(1), f: 'ew' }]] }]),
      b: graph([['exports', r(0)]], [{ ...obj([]), props: [['limit', { v: v(1), f: 'e' }]] }]),
      equal: /attributes differ/,
    },
    {
      name: 'a value differs',
      a: graph([['exports', r(0)]], [obj([['a', v(1)]])]),
      b: graph([['exports', r(0)]], [obj([['a', v(2)]])]),
      equal: /exports\.a: 1 vs 2/,
    },
    {
      name: 'one object shared by two properties vs two equal objects',
      a: graph(
        [['exports', r(0)]],
        [
          obj([
            ['x', r(1)],
            ['y', r(1)],
          ]),
          obj([]),
        ],
      ),
      b: graph(
        [['exports', r(0)]],
        [
          obj([
            ['x', r(1)],
            ['y', r(2)],
          ]),
          obj([]),
          obj([]),
        ],
      ),
      equal: /exports\.y: objects shared differently/,
    },
    {
      name: 'a cycle on both sides',
      a: graph([['exports', r(0)]], [obj([['self', r(0)]])]),
      b: graph([['exports', r(0)]], [obj([['self', r(0)]])]),
      equal: true,
    },
    {
      name: 'a root only the fixed release has (a global it adds)',
      a: graph([['exports', r(0)]], [obj([])]),
      b: graph(
        [
          ['exports', r(0)],
          ['changed:globalThis.x', v(1)],
        ],
        [obj([])],
      ),
      equal: /changed:globalThis\.x: only the fixed release/,
    },
    {
      name: 'functions the pairing maps to each other',
      a: graph([['exports', r(0)]], [fn(3)]),
      b: graph([['exports', r(0)]], [fn(4)]),
      pairing: SHIFTED,
      equal: true,
    },
    {
      name: 'functions the pairing does not map to each other',
      a: graph([['exports', r(0)]], [fn(3)]),
      b: graph([['exports', r(0)]], [fn(3)]),
      pairing: SHIFTED,
      equal: /function at <pkg>\/index\.js:4:1 is not paired with the one at <pkg>\/index\.js:4:1/,
    },
    {
      name: 'a closure variable differs',
      a: graph([['exports', r(0)]], [fn(1, [r(1)]), scope([['n', v(1)]])]),
      b: graph([['exports', r(0)]], [fn(1, [r(1)]), scope([['n', v(2)]])]),
      equal: /exports\.\[\[Scopes\]\]\[0\]\.n: 1 vs 2/,
    },
    {
      name: 'a closure variable only the fixed release has: compared by the other verdicts',
      a: graph([['exports', r(0)]], [fn(1, [r(1)]), scope([['n', v(1)]])]),
      b: graph(
        [['exports', r(0)]],
        [
          fn(1, [r(1)]),
          scope([
            ['n', v(1)],
            ['isSane', v(true)],
          ]),
        ],
      ),
      equal: true,
    },
    {
      name: 'a closure variable the bundler renamed: compared under its running name',
      a: graph([['exports', r(0)]], [fn(1, [r(1)]), scope([['n', v(1)]])]),
      b: graph([['exports', r(0)]], [fn(1, [r(1)]), scope([['n$1', v(2)]])]),
      pairing: { ...IDENTITY, runningName: (b) => (b === 'n$1' ? 'n' : b) },
      equal: /n: 1 vs 2/,
    },
    {
      name: 'the version literal',
      a: graph([['exports', r(0)]], [obj([['version', v('1.0.0')]])]),
      b: graph([['exports', r(0)]], [obj([['version', v('1.0.1')]])]),
      pairing: { ...IDENTITY, sameString: (x, y) => x.replace('1.0.0', 'V') === y.replace('1.0.1', 'V') },
      equal: true,
    },
    {
      name: 'a WeakMap, whose contents cannot be read',
      a: graph([['exports', r(0)]], [{ ...obj([]), opaque: '[object WeakMap]' }]),
      b: graph([['exports', r(0)]], [{ ...obj([]), opaque: '[object WeakMap]' }]),
      equal: /WeakMap/,
    },
    {
      name: 'Map entries in another order',
      a: graph(
        [['exports', r(0)]],
        [
          {
            ...obj([]),
            cls: '[object Map]',
            entries: [
              [v('a'), v(1)],
              [v('b'), v(2)],
            ],
          },
        ],
      ),
      b: graph(
        [['exports', r(0)]],
        [
          {
            ...obj([]),
            cls: '[object Map]',
            entries: [
              [v('b'), v(2)],
              [v('a'), v(1)],
            ],
          },
        ],
      ),
      equal: /\[\[Entries\]\]\[0\]\.key: "a" vs "b"/,
    },
  ];

describe('compareLoads', () => {
  for (const c of cases)
    it(c.name, () => {
      const result = compareLoads(c.a, c.b, c.pairing ?? IDENTITY);
      if (c.equal === true) assert.ok(result.equal, result.equal ? '' : result.why);
      else {
        assert.equal(result.equal, false);
        if (!result.equal && c.equal instanceof RegExp) assert.match(result.why, c.equal);
      }
    });
});

describe('loadStateDecision', () => {
  const same = graph([['exports', v(1)]], []);
  const runs = (over: Partial<LoadRuns>): LoadRuns => ({
    old1: same,
    old2: same,
    fixed: same,
    repeat: { equal: true, size: 1 },
    compared: { equal: true, size: 1 },
    ...over,
  });
  const table: Array<[string, LoadRuns, string[] | RegExp]> = [
    ['equal, no permission model: changed-at-load only', runs({}), ['changed-at-load']],
    [
      'equal under the permission model: both',
      runs({ old1: { ...same, permission: true } }),
      ['changed-at-load', 'side-effect-changed'],
    ],
    ['the load failed', runs({ old1: { ok: false, reason: 'boom' } }), /running release failed: boom/],
    ['not deterministic', runs({ repeat: { equal: false, why: 'x: 1 vs 2' } }), /not deterministic/],
    ['the fixed release failed', runs({ fixed: { ok: false, reason: 'no' } }), /fixed release failed: no/],
    ['different', runs({ compared: { equal: false, why: 'x: 1 vs 2' } }), /build different state at load: x/],
  ];
  for (const [name, given, expect] of table)
    it(name, () => {
      const d = loadStateDecision(given);
      if (Array.isArray(expect)) assert.deepEqual(d.lift ? [...d.lift].sort() : null, expect);
      else {
        assert.equal(d.lift, null);
        if (d.lift === null) assert.match(d.why, expect);
      }
    });

  it('only files refused for load-time reasons alone are loaded', () => {
    const c = (id: VerdictId, verdict: 'restart' | 'live'): Change => ({
      ...changeOf(id, 'n'),
      verdict,
      reason: 'r',
    });
    assert.equal(needsLoadState([c('changed-at-load', 'restart'), c('function-changed', 'live')]), true);
    assert.equal(needsLoadState([c('changed-at-load', 'restart'), c('export-changed', 'restart')]), false);
    assert.equal(needsLoadState([c('function-changed', 'live')]), false);
    const kept = withLoadStateReason([c('changed-at-load', 'restart')], { lift: null, why: 'it threw' });
    assert.match(kept[0]!.reason, /r \(not lifted by loading both releases: it threw\)/);
  });
});

/**
 * What the redirect engine's instrumentation costs one call (issue 10, CPU per request): a small
 * module as written and as the instrumenter emits it (the gate's direct eval at the top, a guard
 * at the entry of each function, every slot empty), each function called in a loop.
 *   node packages/e2e/dist/bench/guard-cost.js
 * Prints ns per call (median of 9 rounds, with the range) for each.
 */
import { GLOBAL, instrumentModule } from '@hotpatch/instrument';

const source = `'use strict';
const base = 3;
function helper(x) { return x * 2 + base; }
class Box { constructor(v) { this.v = v; } get twice() { return this.v * 2; } }
module.exports = { helper, read: (b) => b.twice, Box };
`;
type Exports = {
  helper: (x: number) => number;
  read: (b: unknown) => number;
  Box: new (v: number) => unknown;
};

// The runtime's global, reduced to what instrumented code calls at load: empty slots.
(globalThis as Record<string, unknown>)[GLOBAL] = {
  module: (_gate: unknown, _meta: unknown, n: number) => new Array(Math.max(0, n)).fill(undefined),
  ready: () => {},
  scope: () => {},
};

function load(code: string): Exports {
  const m = { exports: {} as Exports };
  new Function('module', 'exports', code)(m, m.exports);
  return m.exports;
}

function nsPerCall(call: (i: number) => number): { median: number; min: number; max: number } {
  const n = 5_000_000;
  let sink = 0;
  for (let i = 0; i < 500_000; i++) sink += call(i); // optimized before it is timed
  const rounds: number[] = [];
  for (let r = 0; r < 9; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink += call(i);
    rounds.push(Number(process.hrtime.bigint() - t0) / n);
  }
  if (sink === Number.NEGATIVE_INFINITY) console.log(sink);
  rounds.sort((a, b) => a - b);
  return { median: rounds[4]!, min: rounds[0]!, max: rounds[8]! };
}

const plain = load(source);
const instrumented = load(instrumentModule(source, 'commonjs', 'guard-cost').code);
const cases: Array<[string, (m: Exports) => (i: number) => number]> = [
  ['function call', (m) => (i) => m.helper(i)],
  ['arrow function', (m) => (i) => m.read({ twice: i })],
  ['class constructor (new)', (m) => (i) => (new m.Box(i) as { v: number }).v],
  [
    'getter',
    (m) => {
      const box = new m.Box(3) as { twice: number };
      return (i) => box.twice + i;
    },
  ],
];
console.log(`Node ${process.versions.node}: ns per call, median of 9 rounds (range)`);
for (const [name, make] of cases) {
  const a = nsPerCall(make(plain));
  const b = nsPerCall(make(instrumented));
  const f = (x: { median: number; min: number; max: number }) =>
    `${x.median.toFixed(2)} (${x.min.toFixed(2)}–${x.max.toFixed(2)})`;
  console.log(
    `  ${name.padEnd(26)} as written ${f(a)}  instrumented ${f(b)}  +${(b.median - a.median).toFixed(2)} ns`,
  );
}

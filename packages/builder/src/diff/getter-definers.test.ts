import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from '@hotpatch/instrument';
import { getterDefiners } from './getter-definers.js';

/** Getter-defining helpers, table-driven: recognised by their loop, not their names. */
const cases: Array<{ name: string; source: string; expect: string[] }> = [
  {
    name: "esbuild's __export, as published",
    source:
      'var __defProp = Object.defineProperty;\n' +
      'var __export = (target, all) => {\n  for (var name in all)\n    __defProp(target, name, { get: all[name], enumerable: true });\n};\n',
    expect: ['__export'],
  },
  {
    name: "esbuild's __export, minified (tar 7.5.16's Br)",
    source: 'var Mr=Object.defineProperty;var Br=(s,t)=>{for(var e in t)Mr(s,e,{get:t[e],enumerable:!0})};',
    expect: ['Br'],
  },
  {
    name: "webpack's define-getters loop, as a function",
    source:
      'function d(exports, definition) { for (var key in definition) { if (o(definition, key) && !o(exports, key)) { Object.defineProperty(exports, key, { enumerable: true, get: definition[key] }); } } }',
    expect: ['d'],
  },
  {
    name: 'not: the getter is something else than the property (a wrapper)',
    source:
      'var ex = (t, a) => { for (var k in a) Object.defineProperty(t, k, { get: () => a[k](), enumerable: true }); };',
    expect: [],
  },
  {
    name: 'not: defines values, not getters',
    source:
      'var ex = (t, a) => { for (var k in a) Object.defineProperty(t, k, { value: a[k], enumerable: true }); };',
    expect: [],
  },
  {
    name: 'not: the loop does more than define',
    source:
      'var ex = (t, a) => { for (var k in a) Object.defineProperty(t, k, { get: a[k], enumerable: true }); log(t); };',
    expect: [],
  },
  {
    name: 'not: the definer is not Object.defineProperty',
    source:
      'var def = Reflect.set;\nvar ex = (t, a) => { for (var k in a) def(t, k, { get: a[k], enumerable: true }); };',
    expect: [],
  },
];

describe('getter-defining helpers', () => {
  for (const c of cases)
    it(c.name, () => {
      assert.deepEqual([...getterDefiners(parse(c.source, 'commonjs'))], c.expect);
    });
});

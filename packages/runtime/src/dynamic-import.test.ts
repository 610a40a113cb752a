import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyzeModule } from '@hotpatch/instrument';
import { mayImport } from './dynamic-import.js';

const may = (source: string) => mayImport(analyzeModule(source, { sourceType: 'commonjs' }).tokens, source);

describe('mayImport: a CommonJS module that may call import()', () => {
  it('a dynamic import in the code, spaced or not', () => {
    assert.equal(may('module.exports = (s) => import(s);'), true);
    assert.equal(may('async function f() { return import ("./x.mjs"); }'), true);
  });

  it('import( in a string or template the module may evaluate', () => {
    assert.equal(may('module.exports = new Function("s", "return import(s)");'), true);
    assert.equal(may('const f = new Function("s", `return import(s)`);'), true);
  });

  it('not in comments (JSDoc types), nor the word alone', () => {
    assert.equal(
      may('/** @param {import("./x").T} a */\nfunction f(a) { return a; }\n// import("y")'),
      false,
    );
    assert.equal(may('const msg = "cannot import this"; exports.important = 1;'), false);
  });
});

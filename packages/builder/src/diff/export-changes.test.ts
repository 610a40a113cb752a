import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exportChanges } from './export-changes.js';

/** Which exports of a changed file may give a caller at load another result (table-driven). */
const cases: Array<{ name: string; a: string; b: string; module?: boolean; changed: string[] | 'all' }> = [
  {
    name: 'only the changed function is changed; an untouched export is not',
    a: 'exports.make = function () { return 1; };\nexports.keep = function () { return 2; };\n',
    b: 'exports.make = function () { return 3; };\nexports.keep = function () { return 2; };\n',
    changed: ['make'],
  },
  {
    name: 'an export calling a changed helper of the file is changed',
    a: 'function helper() { return 1; }\nfunction api() { return helper(); }\nmodule.exports = { api };\n',
    b: 'function helper() { return 2; }\nfunction api() { return helper(); }\nmodule.exports = { api };\n',
    changed: ['api'],
  },
  {
    name: 'an export reading a changed module constant is changed, one that does not is not (terser utils)',
    a: 'const flags = "gim";\nexport function sortFlags(f) { return flags; }\nexport function HOP(o, k) { return Object.prototype.hasOwnProperty.call(o, k); }\n',
    b: 'const flags = "dgimsuy";\nexport function sortFlags(f) { return flags; }\nexport function HOP(o, k) { return Object.prototype.hasOwnProperty.call(o, k); }\n',
    module: true,
    changed: ['sortFlags'],
  },
  {
    name: 'a changed top-level statement makes every export changed',
    a: 'exports.f = function () { return 1; };\nconsole.log("a");\n',
    b: 'exports.f = function () { return 1; };\nconsole.log("b");\n',
    changed: 'all',
  },
  {
    name: 'the module itself (module.exports = function) and an export calling into another file',
    a: "const u = require('./u');\nmodule.exports = function () { return 1; };\nexports.g = function () { return u.x(); };\n",
    b: "const u = require('./u');\nmodule.exports = function () { return 2; };\nexports.g = function () { return u.x(); };\n",
    changed: ['module', 'g'],
  },
  {
    name: 'an export that is not a function counts as changed',
    a: 'export const table = { a: 1 };\nexport function f() { return 1; }\n',
    b: 'export const table = { a: 1 };\nexport function f() { return 2; }\n',
    module: true,
    changed: ['table', 'f'],
  },
];

describe('exportChanges', () => {
  for (const c of cases)
    it(c.name, () => {
      const got = exportChanges(c.a, c.b, c.module ? 'module' : 'commonjs');
      if (c.changed === 'all') assert.equal(got, 'all');
      else {
        assert.notEqual(got, 'all');
        assert.deepEqual([...(got as Set<string>)].sort(), [...c.changed].sort());
      }
    });
});

import type { ShapeCase } from './testing/shapes.js';

/**
 * Fix shapes, one mechanism each, written the way real packages are (hand-written CommonJS, ES
 * modules, UMD bundles, tsc/Babel output). Live cases must apply and fix the behaviour in running
 * processes; restart cases must be refused with the named verdict.
 */
const umd = (body: string) => `(function (global, factory) {
  typeof exports === 'object' && typeof module !== 'undefined' ? factory(exports) :
  typeof define === 'function' && define.amd ? define(['exports'], factory) :
  (global = typeof globalThis !== 'undefined' ? globalThis : global || self, factory(global.demo = {}));
})(this, (function (exports) { 'use strict';
${body}
}));
`;

/** Babel 7 helpers as nunjucks 3.2.3 and 3.2.4 ship them (compiler-helpers.ts lists both releases). */
const BABEL_HELPERS_OLD = `function _inheritsLoose(subClass, superClass) { subClass.prototype = Object.create(superClass.prototype); subClass.prototype.constructor = subClass; _setPrototypeOf(subClass, superClass); }
function _setPrototypeOf(o, p) { _setPrototypeOf = Object.setPrototypeOf || function _setPrototypeOf(o, p) { o.__proto__ = p; return o; }; return _setPrototypeOf(o, p); }
function _defineProperties(target, props) { for (var i = 0; i < props.length; i++) { var descriptor = props[i]; descriptor.enumerable = descriptor.enumerable || false; descriptor.configurable = true; if ("value" in descriptor) descriptor.writable = true; Object.defineProperty(target, descriptor.key, descriptor); } }
function _createClass(Constructor, protoProps, staticProps) { if (protoProps) _defineProperties(Constructor.prototype, protoProps); if (staticProps) _defineProperties(Constructor, staticProps); return Constructor; }`;
const BABEL_HELPERS_NEW = `function _inheritsLoose(subClass, superClass) { subClass.prototype = Object.create(superClass.prototype); subClass.prototype.constructor = subClass; _setPrototypeOf(subClass, superClass); }
function _setPrototypeOf(o, p) { _setPrototypeOf = Object.setPrototypeOf ? Object.setPrototypeOf.bind() : function _setPrototypeOf(o, p) { o.__proto__ = p; return o; }; return _setPrototypeOf(o, p); }
function _defineProperties(target, props) { for (var i = 0; i < props.length; i++) { var descriptor = props[i]; descriptor.enumerable = descriptor.enumerable || false; descriptor.configurable = true; if ("value" in descriptor) descriptor.writable = true; Object.defineProperty(target, _toPropertyKey(descriptor.key), descriptor); } }
function _createClass(Constructor, protoProps, staticProps) { if (protoProps) _defineProperties(Constructor.prototype, protoProps); if (staticProps) _defineProperties(Constructor, staticProps); Object.defineProperty(Constructor, "prototype", { writable: false }); return Constructor; }
function _toPropertyKey(arg) { var key = _toPrimitive(arg, "string"); return typeof key === "symbol" ? key : String(key); }
function _toPrimitive(input, hint) { if (typeof input !== "object" || input === null) return input; var prim = input[Symbol.toPrimitive]; if (prim !== undefined) { var res = prim.call(input, hint || "default"); if (typeof res !== "object") return res; throw new TypeError("@@toPrimitive must return a primitive value."); } return (hint === "string" ? String : Number)(input); }`;

/** A bundle chunk: the function the fix changes (its extra check first), and code the fix leaves alone. */
const chunkSource = (check: string) =>
  `export function parse(s) {\n${check}  return s.split('/');\n}\nexport function count(s) {\n  return parse(s).length;\n}\n${[1, 2, 3, 4, 5, 6].map((i) => `export function part${i}(s) {\n  return parse(s)[${i}];\n}\n`).join('')}`;

/**
 * A webpack + terser build (fast-xml-parser's lib/fxp.cjs): one line, names chosen by the minifier.
 * The long string makes it a minified build by size, as real ones are.
 */
const minifiedBundle = (body: string) =>
  `(()=>{"use strict";var t={};const z="${'x'.repeat(20_000)}";${body}module.exports=t})();\n`;

/**
 * esbuild's CommonJS output for a package of two modules: `__commonJS` wraps each, run the first
 * time it is required (`types`, then `header`, which requires it). `types` is the body of the first
 * module (exports `x`), `ctor` the body of Header's constructor (`t`: types' exports, `c`: a code).
 */
const esbuildCjs = (types: string, ctor: string) =>
  `"use strict";\nvar d = (s, e) => () => (e || s((e = { exports: {} }).exports, e), e.exports);\nvar T = d((x) => {\n  "use strict";\n  ${types}\n});\nvar H = d((exp, mod) => {\n  var t = T();\n  class Header { constructor(c) { ${ctor} } }\n  mod.exports = { Header, isCode: t.isCode };\n});\nmodule.exports = H();\n`;

/** esbuild's ES module output: a namespace object built by `__export`, and a `var X = class`. */
const esbuildEsm = (o: {
  getters: string;
  decls: string;
  symbol: string;
  version: number;
  add: string;
  kind: string;
}) =>
  `var __defProp = Object.defineProperty;\nvar __export = (target, all) => {\n  for (var name in all) __defProp(target, name, { get: all[name], enumerable: true });\n};\nvar types_exports = {};\n__export(types_exports, { ${o.getters} });\n${o.decls}\nvar QUEUE = Symbol("${o.symbol}");\nvar Packer = class {\n  static VERSION = ${o.version};\n  [QUEUE] = new Map();\n  add(k) { ${o.add} return this[QUEUE].size; }\n  kind(c) { ${o.kind} }\n};\nexport { Packer, types_exports as types };\n`;

/**
 * moment's shape: a UMD factory whose `addParseToken` fills the `tokens` table, called at load;
 * `numberBranch` is what it does with a number callback (the line a fix changes), `load` the rest
 * of the factory (its registrations, its API).
 */
const momentLike = (o: {
  helpers?: string;
  numberBranch: string;
  load: string;
}) => `(function (global, factory) {
  typeof exports === 'object' && typeof module !== 'undefined' ? module.exports = factory() : global.mo = factory();
}(this, (function () { 'use strict';
  function isNumber(input) { return typeof input === 'number' || Object.prototype.toString.call(input) === '[object Number]'; }
  function toInt(x) { return x | 0; }
  var tokens = {};
${o.helpers ?? ''}  function addParseToken(token, callback) {
    var i, func = callback;
    if (typeof token === 'string') { token = [token]; }
${o.numberBranch}    for (i = 0; i < token.length; i++) { tokens[token[i]] = func; }
  }
${o.load}})));
`;
const NUMBER_AS_IS =
  '    if (isNumber(callback)) { func = function (input, array) { array[callback] = toInt(input); }; }\n';
/** Registrations by calls, one of them through a wrapper (addWeekParseToken). */
const WEEK_TOKENS = `  function addWeekParseToken(token, callback) {
    addParseToken(token, function (input, array, config, token) { config._w = config._w || {}; callback(input, config._w, config, token); });
  }
  addParseToken(['M', 'MM'], function (input, array) { array[1] = toInt(input) - 1; });
  addParseToken('D', 2);
  addWeekParseToken(['w', 'ww'], function (input, week) { week.w = toInt(input); });
  function parse(tok, input) { var a = [], c = {}; tokens[tok](input, a, c, tok); return [a, c]; }
  return { parse: parse };
`;
/** Registrations by a load-time loop (moment's millisecond tokens), and a helper running code calls. */
const MS_TOKEN_LOOP = `  function parseMs(input, array) { array[6] = toInt(input); }
  var token;
  for (token = 'S'; token.length <= 3; token += 'S') {
    addParseToken(token, parseMs);
  }
  addParseToken('D', 2);
  function parse(tok, input) { var a = [], c = {}; tokens[tok](input, a, c, tok); return a; }
  function set(x) { return isNumber(x) ? x : NaN; }
  return { parse: parse, set: set };
`;

export const SHAPE_CASES: ShapeCase[] = [
  {
    name: 'a minified bundle whose minifier renamed its variables between releases: the fixed function, under the running names, builds the class the running bundle calls `w` (reached through the scope accessor)',
    a: {
      'index.js': minifiedBundle(
        'class w{constructor(t){this.n=t}get(){return this.n}}function x(t){return new Error("E:"+t)}function m(t,e){return t+e}const v=function(t){const e=new w(t);if(e.get()>9)throw x(e.get());return m(e.get(),z.length>0?2:0)};t.check=v,',
      ),
    },
    b: {
      'index.js': minifiedBundle(
        'class n{constructor(t){this.n=t}get(){return this.n}}function m(t){return new Error("E:"+t)}function x(t,e){return t+e}const v=function(t){const i=new n(t);if(i.get()>5)throw m(i.get());return x(i.get(),z.length>0?2:0)};t.check=v,',
      ),
    },
    old: `try { return pkg.check(7) === 9; } catch { return false; }`,
    normal: `try { pkg.check(12); return false; } catch (e) { return e.message === 'E:12' && pkg.check(3) === 5; }`,
    expect: 'live',
    // Live only under the running names (the verdict `mangled-names`, ignored): read by name,
    // `m` and `x` changed their parameters (parameters-changed, a restart).
    verdicts: ['function-changed'],
  },
  {
    name: 'a variable the fix adds to a factory, read by a closure made at load before the patch (body-parser depth)',
    a: {
      'index.js': `'use strict';
function make(options) {
  var opts = options || {};
  var limit = opts.limit || 100;
  return function parse(text) {
    if (text.length > limit) throw new Error('too long');
    return text.split('[').length - 1;
  };
}
exports.make = make;
exports.parse = make();
`,
    },
    b: {
      'index.js': `'use strict';
function make(options) {
  var opts = options || {};
  var limit = opts.limit || 100;
  var depth = typeof opts.depth !== 'number' ? Number(opts.depth || 5) : opts.depth;
  return function parse(text) {
    if (text.length > limit) throw new Error('too long');
    var n = text.split('[').length - 1;
    if (n > depth) throw new Error('too deep');
    return n;
  };
}
exports.make = make;
exports.parse = make();
`,
    },
    old: `try { pkg.parse('[[[[[[[[[['); return true; } catch { return false; }`,
    normal: `return pkg.parse('[[') === 2 && pkg.make({ depth: 1 })('[') === 1 && pkg.make({ depth: '2' })('[[') === 2;`,
    expect: 'live',
    verdicts: ['closure-state-shadowed'],
  },
  {
    name: 'a parameter a bundler renamed (config2 → config$1), read by a closure made before the patch',
    a: {
      'index.js': `'use strict';
function schema(limit) {
  return { run(value, config2) { return function check(extra) { return value.length + extra <= (config2.max || limit); }; } };
}
exports.schema = schema;
exports.check = schema(3).run('abc', { max: 5 });
`,
    },
    b: {
      'index.js': `'use strict';
function schema(limit) {
  return { run(value, config$1) { return function check(extra) { return value.length + extra < (config$1.max || limit); }; } };
}
exports.schema = schema;
exports.check = schema(3).run('abc', { max: 5 });
`,
    },
    old: `return pkg.check(2);`,
    normal: `return pkg.check(1) && pkg.schema(3).run('a', {})(1) && !pkg.schema(3).run('a', {})(5);`,
    expect: 'live',
    verdicts: ['closure-changed'],
  },
  {
    name: 'recursive named function expression returned by a factory in a rollup UMD bundle',
    a: {
      'index.js': umd(`
  var NAME = 'demo';
  function createParser(options) {
    var depth = options.depth || 2;
    return function parse(text, level) {
      level = level || 0;
      var parts = text.split('.');
      return { name: NAME, parts: parts, depth: depth, sub: parts.length > 1 && level < 1 ? parse(parts.slice(1).join('.'), level + 1) : null };
    };
  }
  exports.createParser = createParser;`),
    },
    b: {
      'index.js': umd(`
  var NAME = 'demo';
  function createParser(options) {
    var depth = options.depth || 2;
    return function parse(text, level) {
      level = level || 0;
      var parts = text.split('.').slice(0, depth);
      return { name: NAME, parts: parts, depth: depth, sub: parts.length > 1 && level < 1 ? parse(parts.slice(1).join('.'), level + 1) : null };
    };
  }
  exports.createParser = createParser;`),
    },
    old: `return pkg.createParser({ depth: 2 })('a.b.c.d').parts.length > 2;`,
    normal: `const r = pkg.createParser({})('a.b'); return r.name === 'demo' && r.parts.join() === 'a,b' && r.sub.parts.join() === 'b';`,
    expect: 'live',
    verdicts: ['closure-changed'],
  },
  {
    // The redirect engine reads the factory's helpers through the scope accessor; a replacement
    // that did so at every use made V8 name our plumbing in its messages (`__hp$sc(...)(...).match
    // is not a function`): a service's logs and its callers' error matching would change.
    name: 'a TypeError inside a patched function of a UMD factory names the helper as the running code does',
    a: {
      'index.js': umd(`
  function expand(s) { return s; }
  function format(s) { var m = expand(s).match(/\\d+/g); return m ? m.length : 0; }
  exports.format = format;`),
    },
    b: {
      'index.js': umd(`
  function expand(s) { return s; }
  function format(s) { if (String(s).length > 10) throw new Error('too long'); var m = expand(s).match(/\\d+/g); return m ? m.length : 0; }
  exports.format = format;`),
    },
    old: `try { pkg.format('1'.repeat(20)); return true; } catch { return false; }`,
    normal: `try { pkg.format(5); return false; } catch (e) { return e.message === 'expand(...).match is not a function' && pkg.format('a1b22') === 2; }`,
    expect: 'live',
  },
  {
    name: 'a literal inside a UMD wrapper that no running closure captured',
    a: {
      'index.js': umd(
        `  var LIMIT = 3;\n  var max = LIMIT;\n  exports.check = function check(s) { return s.length < 100; };\n  exports.max = max;`,
      ),
    },
    b: {
      'index.js': umd(
        `  var LIMIT = 3;\n  var max = LIMIT;\n  exports.check = function check(s) { return s.length <= LIMIT; };\n  exports.max = max;`,
      ),
    },
    old: `return pkg.check('abcdef');`,
    normal: `return pkg.check('ab') && pkg.max === 3;`,
    expect: 'live',
  },
  {
    name: 'new module-level helper and regex used by the fix',
    a: { 'index.js': `'use strict';\nfunction clean(s) { return s.trim(); }\nmodule.exports = { clean };\n` },
    b: {
      'index.js': `'use strict';\nconst CONTROL = /[\\u0000-\\u001f]/g;\nfunction strip(s) { return s.replace(CONTROL, ''); }\nfunction clean(s) { return strip(s).trim(); }\nmodule.exports = { clean };\n`,
    },
    old: `return pkg.clean('a\\u0001b') !== 'ab';`,
    normal: `return pkg.clean('  x ') === 'x';`,
    expect: 'live',
    verdicts: ['new-helper', 'new-constant'],
  },
  {
    name: 'changed constant read by an unchanged function',
    a: {
      'index.js': `const MAX = 1000;\nfunction limit(n) { return Math.min(n, MAX); }\nmodule.exports = { limit };\n`,
    },
    b: {
      'index.js': `const MAX = 10;\nfunction limit(n) { return Math.min(n, MAX); }\nmodule.exports = { limit };\n`,
    },
    old: `return pkg.limit(500) === 500;`,
    normal: `return pkg.limit(5) === 5;`,
    expect: 'live',
    verdicts: ['constant-changed', 'uses-changed-state'],
  },
  {
    // Was a false success: the cell's value was computed at commit before the slots were filled,
    // so it called the running (old) function — in this file and in a sibling.
    name: 'a module constant computed at load by a changed function, here and in a sibling file',
    a: {
      'util.js': `exports.make = function () { return 'old'; };\n`,
      'index.js': `const util = require('./util');\nfunction local() { return 'old'; }\nconst X = local();\nconst Y = util.make();\nexports.get = function () { return X + '/' + Y; };\n`,
    },
    b: {
      'util.js': `exports.make = function () { return 'new'; };\n`,
      'index.js': `const util = require('./util');\nfunction local() { return 'new'; }\nconst X = local();\nconst Y = util.make();\nexports.get = function () { return X + '/' + Y; };\n`,
    },
    old: `return pkg.get() !== 'new/new';`,
    normal: `return typeof pkg.get() === 'string';`,
    expect: 'live',
    verdicts: ['constant-changed'],
  },
  {
    // Was a false success: the unchanged file was not even looked at, its state kept the old value.
    name: 'an unchanged file whose module constant was computed at load by a changed sibling (CommonJS)',
    a: {
      'util.js': `exports.limit = function () { return 1000; };\n`,
      'index.js': `const util = require('./util');\nconst LIMIT = util.limit();\nexports.accept = function (n) { return n <= LIMIT; };\n`,
    },
    b: {
      'util.js': `exports.limit = function () { return 10; };\n`,
      'index.js': `const util = require('./util');\nconst LIMIT = util.limit();\nexports.accept = function (n) { return n <= LIMIT; };\n`,
    },
    old: `return pkg.accept(500);`,
    normal: `return pkg.accept(5) && !pkg.accept(5000);`,
    expect: 'live',
    verdicts: ['constant-changed'],
  },
  {
    name: 'an unchanged ES module whose module constant was computed at load by a changed import',
    esm: true,
    a: {
      'util.js': `export function limit() { return 1000; }\n`,
      'index.js': `import { limit } from './util.js';\nconst LIMIT = limit();\nexport function accept(n) { return n <= LIMIT; }\n`,
    },
    b: {
      'util.js': `export function limit() { return 10; }\n`,
      'index.js': `import { limit } from './util.js';\nconst LIMIT = limit();\nexport function accept(n) { return n <= LIMIT; }\n`,
    },
    old: `return pkg.accept(500);`,
    normal: `return pkg.accept(5) && !pkg.accept(5000);`,
    expect: 'live',
    verdicts: ['constant-changed'],
  },
  {
    // The wrapper's call statement used to be refused (changed-at-load) for what its run-once
    // function's own statements already handle.
    name: 'inside an IIFE wrapper: a variable and an export computed at load by a changed function',
    a: {
      'index.js': `(function (root) {\n  function make() { return 'old'; }\n  var X = make();\n  root.Y = make();\n  root.get = function () { return X + '/' + root.Y; };\n})(exports);\n`,
    },
    b: {
      'index.js': `(function (root) {\n  function make() { return 'new'; }\n  var X = make();\n  root.Y = make();\n  root.get = function () { return X + '/' + root.Y; };\n})(exports);\n`,
    },
    old: `return pkg.get() !== 'new/new';`,
    normal: `return pkg.get().length === 7;`,
    expect: 'live',
    verdicts: ['constant-changed', 'export-assigned'],
  },
  {
    // Was a false success: a class's text had not changed, so its static fields were not looked at.
    name: 'a static field computed at load by a changed function (same file and a sibling)',
    a: {
      'limits.js': `exports.max = function () { return 1000; };\n`,
      'index.js': `const limits = require('./limits');\nfunction make() { return 1000; }\nclass C {\n  static LIMIT = make();\n  static MAX = limits.max();\n  static accept(n) { return n <= C.LIMIT && n <= C.MAX; }\n}\nexports.C = C;\n`,
    },
    b: {
      'limits.js': `exports.max = function () { return 10; };\n`,
      'index.js': `const limits = require('./limits');\nfunction make() { return 10; }\nclass C {\n  static LIMIT = make();\n  static MAX = limits.max();\n  static accept(n) { return n <= C.LIMIT && n <= C.MAX; }\n}\nexports.C = C;\n`,
    },
    old: `return pkg.C.accept(500) || pkg.C.LIMIT !== 10 || pkg.C.MAX !== 10;`,
    normal: `return pkg.C.accept(5) && !pkg.C.accept(5000);`,
    expect: 'live',
    verdicts: ['object-updated'],
  },
  {
    // Was a false success: the object became a cell and was re-exported, while a sibling kept the
    // running object it destructured at load.
    name: 'an object property computed at load by a changed function, the object held by a sibling',
    a: {
      'conf.js': `function make() { return 1000; }\nconst conf = { limit: make(), name: 'x', describe() { return this.name; } };\nexports.conf = conf;\n`,
      'index.js': `const { conf } = require('./conf');\nexports.accept = function (n) { return n <= conf.limit; };\n`,
    },
    b: {
      'conf.js': `function make() { return 10; }\nconst conf = { limit: make(), name: 'x', describe() { return this.name; } };\nexports.conf = conf;\n`,
      'index.js': `const { conf } = require('./conf');\nexports.accept = function (n) { return n <= conf.limit; };\n`,
    },
    old: `return pkg.accept(500);`,
    normal: `return pkg.accept(5) && !pkg.accept(5000);`,
    expect: 'live',
    verdicts: ['object-updated'],
  },
  {
    // Was a false success: the export got the new array, the sibling's copy kept the old one.
    name: 'a changed exported constant that a sibling destructured at load (CommonJS): refused',
    a: {
      'conf.js': `const ALLOWED = ['a', 'b'];\nexports.ALLOWED = ALLOWED;\n`,
      'index.js': `const { ALLOWED } = require('./conf');\nexports.check = function (x) { return ALLOWED.includes(x); };\n`,
    },
    b: {
      'conf.js': `const ALLOWED = ['a'];\nexports.ALLOWED = ALLOWED;\n`,
      'index.js': `const { ALLOWED } = require('./conf');\nexports.check = function (x) { return ALLOWED.includes(x); };\n`,
    },
    old: `return pkg.check('b');`,
    normal: `return pkg.check('a');`,
    expect: 'export-changed',
  },
  {
    name: "registration code at load whose function the fix changed (semver's createToken): run again at apply",
    a: {
      'debug.js': `const debug = process.env.NODE_DEBUG ? (...args) => console.error('SHAPE', ...args) : () => {};\nmodule.exports = debug;\n`,
      're.js': `const debug = require('./debug');\nconst re = exports.re = [];\nconst src = exports.src = [];\nconst t = exports.t = {};\nlet R = 0;\nconst createToken = (name, value) => {\n  const index = R++;\n  debug(name, index, value);\n  t[name] = index;\n  src[index] = value;\n  re[index] = new RegExp(value);\n};\ncreateToken('WORD', '^a+$');\ncreateToken('PAIR', src[t.WORD].slice(0, -1) + ',' + src[t.WORD].slice(1));\n`,
      'index.js': `const { re, t } = require('./re');\nexports.isWord = (s) => re[t.WORD].test(s);\nexports.isPair = (s) => re[t.PAIR].test(s);\n`,
    },
    b: {
      'debug.js': `const debug = process.env.NODE_DEBUG ? (...args) => console.error('SHAPE', ...args) : () => {};\nmodule.exports = debug;\n`,
      're.js': `const debug = require('./debug');\nconst re = exports.re = [];\nconst src = exports.src = [];\nconst t = exports.t = {};\nlet R = 0;\nconst createToken = (name, value) => {\n  const safe = value.split('a+').join('a{1,8}');\n  const index = R++;\n  debug(name, index, safe);\n  t[name] = index;\n  src[index] = safe;\n  re[index] = new RegExp(safe);\n};\ncreateToken('WORD', '^a+$');\ncreateToken('PAIR', src[t.WORD].slice(0, -1) + ',' + src[t.WORD].slice(1));\n`,
      'index.js': `const { re, t } = require('./re');\nexports.isWord = (s) => re[t.WORD].test(s);\nexports.isPair = (s) => re[t.PAIR].test(s);\n`,
    },
    old: `return pkg.isWord('a'.repeat(20)) || pkg.isPair('aa,aa'.replace(',', 'a'.repeat(20) + ','));`,
    normal: `return pkg.isWord('aaa') && !pkg.isWord('b') && pkg.isPair('aa,aa');`,
    expect: 'live',
    verdicts: ['registrations-rerun'],
  },
  {
    // Was a false success (found by the oracle on ua-parser-js 0.7.32): `new UAParser(…)` inside
    // the replacement became `new __hp$sc("UAParser")(…)`, which constructs the scope accessor and
    // calls what it returns: every call recursed until the stack overflowed.
    name: 'inside an IIFE: a constructor that calls `new` on itself when called without new, using a changed table',
    a: {
      'index.js': `(function (root) {\n  var rules = [/a/];\n  var Parser = function (s) {\n    if (!(this instanceof Parser)) return new Parser(s).result();\n    var list = rules;\n    this.result = function () { return list.some(function (r) { return r.test(s); }) ? 'match' : 'none'; };\n  };\n  root.Parser = Parser;\n})(exports);\n`,
    },
    b: {
      'index.js': `(function (root) {\n  var rules = [/a/, /b/];\n  var Parser = function (s) {\n    if (!(this instanceof Parser)) return new Parser(s).result();\n    var list = rules;\n    this.result = function () { return list.some(function (r) { return r.test(s); }) ? 'match' : 'none'; };\n  };\n  root.Parser = Parser;\n})(exports);\n`,
    },
    old: `return pkg.Parser('b') === 'none';`,
    normal: `return pkg.Parser('a') === 'match' && new pkg.Parser('x').result() === 'none' && pkg.Parser('zzz') === 'none';`,
    expect: 'live',
  },
  {
    name: 'new require() of an existing file of the package',
    a: {
      'index.js': `exports.escape = function (s) { return s.replace(/</g, '&lt;'); };\n`,
      'entities.js': `module.exports = { '>': '&gt;', '"': '&quot;' };\n`,
    },
    b: {
      'index.js': `const entities = require('./entities');\nexports.escape = function (s) { return s.replace(/</g, '&lt;').replace(/[>"]/g, (c) => entities[c]); };\n`,
      'entities.js': `module.exports = { '>': '&gt;', '"': '&quot;' };\n`,
    },
    old: `return pkg.escape('<a href="x">').includes('"');`,
    normal: `return pkg.escape('<b') === '&lt;b';`,
    expect: 'live',
    verdicts: ['dependency-added'],
  },
  {
    name: 'a new file required by the changed code',
    a: { 'index.js': `exports.isSafe = function (url) { return !url.startsWith('javascript:'); };\n` },
    b: {
      'index.js': `const { BLOCKED } = require('./lib/schemes');\nexports.isSafe = function (url) { return !BLOCKED.some((s) => url.trim().toLowerCase().startsWith(s)); };\n`,
      'lib/schemes.js': `exports.BLOCKED = ['javascript:', 'data:', 'vbscript:'];\n`,
    },
    old: `return pkg.isSafe(' JavaScript:alert(1)');`,
    normal: `return pkg.isSafe('https://example.com') && !pkg.isSafe('javascript:x');`,
    expect: 'live',
    verdicts: ['file-added', 'dependency-added'],
  },
  {
    // semver 7.8.6 (found by the oracle on consecutive releases): `index.js` loads a new file at
    // apply, and that file reads an export `util/constants.js` gains in the same patch. Files were
    // migrated in name order, so the new file read the running exports (undefined) and the apply
    // failed; a file's migrations now run after those of the files it may load.
    name: 'a new file that reads a new export of a sibling the patch changes (migrations in dependency order)',
    a: {
      'index.js': `const { MAX } = require('./util/constants');\nexports.parse = function parse(s) { return s.replace(/\\s/g, ' '); };\nexports.max = MAX;\n`,
      'util/constants.js': `const MAX = 10;\nmodule.exports = { MAX };\n`,
    },
    b: {
      'index.js': `const { MAX } = require('./util/constants');\nconst trim = require('./lib/trim');\nexports.parse = function parse(s) { if (s.length > MAX) throw new Error('too long'); return trim(s); };\nexports.max = MAX;\n`,
      'lib/trim.js': `const { SPACES } = require('../util/constants');\nconst spaces = new Set(SPACES);\nmodule.exports = function trim(s) { let out = ''; for (const c of s) out += spaces.has(c) ? ' ' : c; return out; };\n`,
      'util/constants.js': `const MAX = 10;\nconst SPACES = [' ', '\\t', '\\n'];\nmodule.exports = { MAX, SPACES };\n`,
    },
    old: `try { pkg.parse('a'.repeat(20)); return true; } catch { return false; }`,
    normal: `return pkg.parse('a\\tb') === 'a b' && pkg.max === 10;`,
    expect: 'live',
    verdicts: ['file-added', 'dependency-added', 'export-assigned'],
  },
  {
    name: 'a module variable no running closure retains (a config object)',
    a: {
      'index.js': `const config = require('./config');\nconst banner = config.name;\nexports.banner = banner;\nexports.size = function (s) { return s.length; };\n`,
      'config.js': `module.exports = { name: 'x', maxSize: 4 };\n`,
    },
    b: {
      'index.js': `const config = require('./config');\nconst banner = config.name;\nexports.banner = banner;\nexports.size = function (s) { if (s.length > config.maxSize) throw new Error('too long'); return s.length; };\n`,
      'config.js': `module.exports = { name: 'x', maxSize: 4 };\n`,
    },
    old: `try { pkg.size('abcdefgh'); return true; } catch { return false; }`,
    normal: `return pkg.size('ab') === 2 && pkg.banner === 'x';`,
    expect: 'live',
  },
  {
    name: 'a new export, assigned at apply, used by the fix',
    a: { 'index.js': `function parse(s) { return JSON.parse(s); }\nexports.parse = parse;\n` },
    b: {
      'index.js': `class ParseError extends Error {}\nfunction parse(s) { if (s.includes('__proto__')) throw new ParseError('forbidden key'); return JSON.parse(s); }\nexports.parse = parse;\nexports.ParseError = ParseError;\n`,
    },
    old: `if (typeof pkg.ParseError !== 'function') return true; try { pkg.parse('{"__proto__": {"x": 1}}'); return true; } catch (e) { return !(e instanceof pkg.ParseError); }`,
    normal: `return pkg.parse('{"a":1}').a === 1;`,
    expect: 'live',
    verdicts: ['export-assigned', 'new-helper'],
  },
  {
    name: 'module.exports object gains a property',
    a: { 'index.js': `function a() { return 1; }\nmodule.exports = { a };\n` },
    b: { 'index.js': `function a() { return 1; }\nfunction b() { return 2; }\nmodule.exports = { a, b };\n` },
    old: `return typeof pkg.b !== 'function';`,
    normal: `return pkg.a() === 1;`,
    expect: 'live',
    verdicts: ['export-assigned'],
  },
  {
    name: 'a method that calls super',
    a: {
      'index.js': `class Base { check(v) { return typeof v === 'string'; } }\nclass Strict extends Base { check(v) { return super.check(v); } }\nmodule.exports = { Strict };\n`,
    },
    b: {
      'index.js': `class Base { check(v) { return typeof v === 'string'; } }\nclass Strict extends Base { check(v) { return super.check(v) && v.length < 5; } }\nmodule.exports = { Strict };\n`,
    },
    old: `return new pkg.Strict().check('abcdefgh');`,
    normal: `return new pkg.Strict().check('ab') && !new pkg.Strict().check(3);`,
    expect: 'live',
    verdicts: ['method-changed'],
  },
  {
    name: 'a method added to a class and called by the changed one',
    a: {
      'index.js': `class Cookie {\n  constructor(name) { this.name = name; }\n  serialize() { return this.name + '='; }\n}\nmodule.exports = { Cookie };\n`,
    },
    b: {
      'index.js': `class Cookie {\n  constructor(name) { this.name = name; }\n  validate() { if (!/^[\\w-]+$/.test(this.name)) throw new TypeError('invalid name'); }\n  serialize() { this.validate(); return this.name + '='; }\n}\nmodule.exports = { Cookie };\n`,
    },
    old: `try { new pkg.Cookie('a;b').serialize(); return true; } catch { return false; }`,
    normal: `const c = new pkg.Cookie('sid'); return c.serialize() === 'sid=' && !Object.keys(Object.getPrototypeOf(c)).includes('validate');`,
    expect: 'live',
    verdicts: ['export-assigned', 'method-changed'],
  },
  {
    name: 'a getter and a Symbol.iterator method (computed key) in an esbuild-style bundle',
    a: {
      'index.js': `var __defProp = Object.defineProperty;\nvar List = class {\n  constructor(items) { this.items = items; }\n  get size() { return this.items.length; }\n  *[Symbol.iterator]() { for (const i of this.items) yield i; }\n};\nmodule.exports = { List };\n`,
    },
    b: {
      'index.js': `var __defProp = Object.defineProperty;\nvar List = class {\n  constructor(items) { this.items = items; }\n  get size() { return Math.min(this.items.length, 3); }\n  *[Symbol.iterator]() { let n = 0; for (const i of this.items) { if (n++ >= 3) return; yield i; } }\n};\nmodule.exports = { List };\n`,
    },
    old: `const l = new pkg.List([1, 2, 3, 4, 5]); return l.size > 3 || [...l].length > 3;`,
    normal: `const l = new pkg.List([1, 2]); return l.size === 2 && [...l].join() === '1,2';`,
    expect: 'live',
  },
  {
    name: 'async function and async generator',
    a: {
      'index.js': `async function fetchAll(xs) { return xs.map((x) => x * 2); }\nasync function* stream(xs) { for (const x of xs) yield x; }\nmodule.exports = { fetchAll, stream };\n`,
    },
    b: {
      'index.js': `async function fetchAll(xs) { if (xs.length > 3) throw new Error('too many'); return xs.map((x) => x * 2); }\nasync function* stream(xs) { for (const x of xs.slice(0, 3)) yield x; }\nmodule.exports = { fetchAll, stream };\n`,
    },
    old: `const out = []; for await (const x of pkg.stream([1, 2, 3, 4])) out.push(x); let threw = false; try { await pkg.fetchAll([1, 2, 3, 4]); } catch { threw = true; } return out.length > 3 || !threw;`,
    normal: `const out = []; for await (const x of pkg.stream([1, 2])) out.push(x); return out.join() === '1,2' && (await pkg.fetchAll([1])).join() === '2';`,
    expect: 'live',
  },
  {
    name: 'tsc output: a new prototype method on an ES5 class, and a changed one',
    a: {
      'index.js': `"use strict";\nObject.defineProperty(exports, "__esModule", { value: true });\nexports.Router = void 0;\nvar Router = /** @class */ (function () {\n    function Router() { this.routes = []; }\n    Router.prototype.add = function (path) { this.routes.push(path); return this; };\n    return Router;\n}());\nexports.Router = Router;\n`,
    },
    b: {
      'index.js': `"use strict";\nObject.defineProperty(exports, "__esModule", { value: true });\nexports.Router = void 0;\nvar Router = /** @class */ (function () {\n    function Router() { this.routes = []; }\n    Router.prototype.normalize = function (path) { return path.replace(/\\/\\.\\.(?=\\/|$)/g, ''); };\n    Router.prototype.add = function (path) { this.routes.push(this.normalize(path)); return this; };\n    return Router;\n}());\nexports.Router = Router;\n`,
    },
    old: `return new pkg.Router().add('/a/../etc').routes[0].includes('..');`,
    normal: `return new pkg.Router().add('/a/b').routes[0] === '/a/b';`,
    expect: 'live',
  },
  {
    name: 'ES module, ES2022 class: a method using private fields, a private getter, a private method and a static private field, on an instance made at load before the patch',
    esm: true,
    a: {
      'index.js': `export class Limiter {\n  #max;\n  #used = 0;\n  static #count = 0;\n  constructor(max) { this.#max = max; Limiter.#count++; }\n  get #left() { return this.#max - this.#used; }\n  #record(n) { this.#used += n; return this.#left; }\n  take(n) { return this.#record(n); }\n  static count() { return Limiter.#count; }\n}\nexport const shared = new Limiter(10);\n`,
    },
    b: {
      'index.js': `export class Limiter {\n  #max;\n  #used = 0;\n  static #count = 0;\n  constructor(max) { this.#max = max; Limiter.#count++; }\n  get #left() { return this.#max - this.#used; }\n  #record(n) { this.#used += n; return this.#left; }\n  take(n) {\n    if (!Number.isInteger(n) || n <= 0 || n > this.#left) throw new RangeError('over limit (' + Limiter.#count + ')');\n    return this.#record(n);\n  }\n  static count() { return Limiter.#count; }\n}\nexport const shared = new Limiter(10);\n`,
    },
    old: `try { pkg.shared.take(-5); return true; } catch { return false; }`,
    normal: `const l = new pkg.Limiter(3); return l.take(2) === 1 && typeof pkg.shared.take(1) === 'number' && pkg.Limiter.count() >= 2;`,
    expect: 'live',
    verdicts: ['method-changed'],
  },
  {
    name: 'a method with a nested callback using private names: a static private method, `#x in o`, another instance’s private field',
    a: {
      'index.js': `class Registry {\n  #items = new Map();\n  static #isRegistry(o) { return #items in o; }\n  add(name, v) { this.#items.set(name, v); return this; }\n  merge(other) {\n    if (!Registry.#isRegistry(other)) throw new TypeError('not a registry');\n    other.#items.forEach((v, k) => this.add(k, v));\n    return this;\n  }\n  get(k) { return this.#items.get(k); }\n}\nmodule.exports = { Registry };\n`,
    },
    b: {
      'index.js': `class Registry {\n  #items = new Map();\n  static #isRegistry(o) { return #items in o; }\n  add(name, v) { this.#items.set(name, v); return this; }\n  merge(other) {\n    if (!Registry.#isRegistry(other)) throw new TypeError('not a registry');\n    other.#items.forEach((v, k) => {\n      if (k === '__proto__' || k === 'constructor') return;\n      this.#items.set(k, v);\n    });\n    return this;\n  }\n  get(k) { return this.#items.get(k); }\n}\nmodule.exports = { Registry };\n`,
    },
    old: `return new pkg.Registry().merge(new pkg.Registry().add('__proto__', 1)).get('__proto__') === 1;`,
    normal: `let bad = false; try { new pkg.Registry().merge({}); } catch (e) { bad = e instanceof TypeError; } return bad && new pkg.Registry().merge(new pkg.Registry().add('x', 2)).get('x') === 2;`,
    expect: 'live',
  },
  {
    name: 'ES module: a fix that adds a private method (a validator) and calls it from a changed method; instances made before the patch',
    esm: true,
    a: {
      'index.js': `const MAX = 4;\nexport class Parser {\n  #depth = 0;\n  parse(s) { this.#depth = 0; return this.#walk(s); }\n  #walk(s) { if (s.startsWith('[')) { this.#depth++; return [this.#walk(s.slice(1, -1))]; } return s; }\n}\nexport const shared = new Parser();\n`,
    },
    b: {
      'index.js': `const MAX = 4;\nexport class Parser {\n  #depth = 0;\n  parse(s) { this.#depth = 0; return this.#walk(s); }\n  #enter() { if (++this.#depth > MAX) throw new RangeError('too deep: ' + this.#depth); }\n  #walk(s) { if (s.startsWith('[')) { this.#enter(); return [this.#walk(s.slice(1, -1))]; } return s; }\n}\nexport const shared = new Parser();\n`,
    },
    old: `try { pkg.shared.parse('[[[[[[x]]]]]]'); return true; } catch { return false; }`,
    normal: `return JSON.stringify(pkg.shared.parse('[[x]]')) === '[["x"]]' && JSON.stringify(new pkg.Parser().parse('y')) === '"y"';`,
    expect: 'live',
    verdicts: ['private-method-inlined'],
  },
  {
    name: 'a fix that adds a private field (a counter, `#failures = 0`) read and updated by a changed method; an instance made at load before the patch gets it on first use',
    a: {
      'index.js': `class Login {\n  #users = new Map([['ann', 'pw']]);\n  check(user, pw) { return this.#users.get(user) === pw; }\n}\nmodule.exports = { Login, shared: new Login() };\n`,
    },
    b: {
      'index.js': `class Login {\n  #users = new Map([['ann', 'pw']]);\n  #failures = 0;\n  check(user, pw) {\n    if (this.#failures >= 3) throw new Error('locked');\n    const ok = this.#users.get(user) === pw;\n    if (!ok) this.#failures++;\n    return ok;\n  }\n}\nmodule.exports = { Login, shared: new Login() };\n`,
    },
    old: `try { for (let i = 0; i < 5; i++) pkg.shared.check('ann', 'guess' + i); return pkg.shared.check('ann', 'pw'); } catch (e) { if (e.message !== 'locked') throw e; return false; }`,
    normal: `const l = new pkg.Login(); return l.check('ann', 'pw') === true && l.check('ann', 'x') === false && l.check('ann', 'pw') === true;`,
    expect: 'live',
    verdicts: ['private-field-shadowed'],
  },
  {
    name: 'ES module: changed exported function using a new import of an existing file',
    esm: true,
    a: {
      'index.js': `export function render(s) { return '<p>' + s + '</p>'; }\n`,
      'escape.js': `export function escapeHtml(s) { return s.replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c]); }\n`,
    },
    b: {
      'index.js': `import { escapeHtml } from './escape.js';\nexport function render(s) { return '<p>' + escapeHtml(s) + '</p>'; }\n`,
      'escape.js': `export function escapeHtml(s) { return s.replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c]); }\n`,
    },
    old: `return pkg.render('<script>').includes('<script>');`,
    normal: `return pkg.render('hi') === '<p>hi</p>';`,
    expect: 'live',
    verdicts: ['import-added'],
  },
  {
    name: 'ES module: a new file imported by the changed code',
    esm: true,
    a: { 'index.js': `export function isAllowed(host) { return host !== 'localhost'; }\n` },
    b: {
      'index.js': `import { isPrivate } from './net.js';\nexport function isAllowed(host) { return !isPrivate(host); }\n`,
      'net.js': `export function isPrivate(host) { return host === 'localhost' || host.startsWith('127.') || host.startsWith('10.'); }\n`,
    },
    old: `return pkg.isAllowed('127.0.0.1');`,
    normal: `return pkg.isAllowed('example.com') && !pkg.isAllowed('localhost');`,
    expect: 'live',
    verdicts: ['file-added', 'import-added'],
  },
  {
    name: 'ES module: new module-level constant (a regex table) in the module scope',
    esm: true,
    a: {
      'index.js': `const TOKEN = /^[a-z]+$/;\nexport function valid(s) { return TOKEN.test(s) || s.includes('\\n'); }\n`,
    },
    b: {
      'index.js': `const TOKEN = /^[a-z]+$/;\nconst NEWLINE = /[\\r\\n]/;\nexport function valid(s) { return TOKEN.test(s) && !NEWLINE.test(s); }\n`,
    },
    old: `return pkg.valid('a\\nb');`,
    normal: `return pkg.valid('abc') && !pkg.valid('A1');`,
    expect: 'live',
  },
  {
    name: 'a table a function builds once and keeps (lazy memo), with new entries',
    a: {
      'index.js': `let _schema;\nfunction schema() {\n  if (!_schema) { _schema = {}; for (const k of ['href', 'src']) _schema[k] = 'url'; }\n  return _schema;\n}\nexports.contextOf = (attr) => schema()[attr] || 'none';\n`,
    },
    b: {
      'index.js': `let _schema;\nfunction schema() {\n  if (!_schema) { _schema = {}; for (const k of ['href', 'src', 'formaction']) _schema[k] = 'url'; }\n  return _schema;\n}\nexports.contextOf = (attr) => schema()[attr] || 'none';\n`,
    },
    old: `return pkg.contextOf('formaction') === 'none';`,
    normal: `return pkg.contextOf('href') === 'url';`,
    expect: 'live',
    verdicts: ['memo-reset'],
  },
  {
    name: 'a shorthand property naming an enclosing variable, and a bundler turning a function into an arrow',
    a: {
      'index.js': `function make(limit) {\n  return function check(s) { return { ok: s.length < 100, limit: limit }; };\n}\nconst size = function (s) { return s.length; };\nmodule.exports = { make, size };\n`,
    },
    b: {
      'index.js': `function make(limit) {\n  return function check(s) { return { ok: s.length <= limit, limit }; };\n}\nconst size = (s) => Math.min(s.length, 10);\nmodule.exports = { make, size };\n`,
    },
    old: `return pkg.make(3)('abcdef').ok || pkg.size('x'.repeat(20)) > 10;`,
    normal: `const r = pkg.make(3)('ab'); return r.ok && r.limit === 3 && pkg.size('ab') === 2;`,
    expect: 'live',
  },
  {
    name: 'a callback that needs a block-scoped variable: the function making it is redirected',
    a: {
      'index.js': `function copy(src) {\n  const out = {};\n  for (const key of Object.keys(src)) {\n    const value = src[key];\n    [key].forEach((k) => { out[k] = value; });\n  }\n  return out;\n}\nmodule.exports = { copy };\n`,
    },
    b: {
      'index.js': `function copy(src) {\n  const out = {};\n  for (const key of Object.keys(src)) {\n    const value = src[key];\n    [key].forEach((k) => { if (k !== '__proto__') out[k] = value; });\n  }\n  return out;\n}\nmodule.exports = { copy };\n`,
    },
    old: `const o = pkg.copy(JSON.parse('{"__proto__": {"polluted": 1}}')); return o.polluted === 1;`,
    normal: `return pkg.copy({ a: 1 }).a === 1;`,
    expect: 'live',
    verdicts: ['host-of-changed-closure'],
  },
  {
    name: 'ES module: a new error class one module exports and a changed sibling imports',
    esm: true,
    a: {
      'index.js': `export { inflate } from './zlib.js';\nexport { JOSEError } from './errors.js';\n`,
      'errors.js': `export class JOSEError extends Error {}\n`,
      'zlib.js': `export const inflate = (input) => input.repeat(input.length > 3 ? 1000 : 1);\n`,
    },
    b: {
      'index.js': `export { inflate } from './zlib.js';\nexport { JOSEError } from './errors.js';\n`,
      'errors.js': `export class JOSEError extends Error {}\nexport class DecompressionFailed extends JOSEError {}\n`,
      'zlib.js': `import { DecompressionFailed } from './errors.js';\nexport const inflate = (input) => { if (input.length > 3) throw new DecompressionFailed('too large'); return input; };\n`,
    },
    old: `try { return pkg.inflate('abcdef').length > 100; } catch (e) { return !(e instanceof pkg.JOSEError); }`,
    normal: `return pkg.inflate('ab') === 'ab';`,
    expect: 'live',
  },
  {
    name: 'new parameters with defaults (written, and as Babel compiles them) that no caller passes',
    a: {
      'index.js': `function pad(s) { return s.padStart(4); }\nfunction clip(s) { return s.slice(0, 100); }\nmodule.exports = { pad, clip };\n`,
    },
    b: {
      'index.js': `function pad(s, width = 8) { return s.padStart(width).slice(-width); }\nfunction clip(s) { var max = arguments.length > 1 && arguments[1] !== undefined ? arguments[1] : 3; return s.slice(0, max); }\nmodule.exports = { pad, clip };\n`,
    },
    old: `return pkg.clip('abcdef').length > 3 || pkg.pad('x'.repeat(20)).length > 8;`,
    normal: `return pkg.pad('ab').trim() === 'ab' && pkg.clip('ab') === 'ab';`,
    expect: 'live',
    verdicts: ['parameters-added'],
  },
  {
    name: 'a table that load-time code fills, with a new entry: the loop runs again at apply',
    a: {
      'index.js': `const BLOCKED = Object.create(null);\nfor (const k of ['constructor', 'prototype']) BLOCKED[k] = true;\nexports.safeKey = (k) => !BLOCKED[k];\n`,
    },
    b: {
      'index.js': `const BLOCKED = Object.create(null);\nfor (const k of ['constructor', 'prototype', '__proto__']) BLOCKED[k] = true;\nexports.safeKey = (k) => !BLOCKED[k];\n`,
    },
    old: `return pkg.safeKey('__proto__');`,
    normal: `return pkg.safeKey('name') && !pkg.safeKey('constructor');`,
    expect: 'live',
    verdicts: ['state-rebuilt'],
  },
  {
    // svelte 3.49.0 (CVE-2022-25875): escape(value, is_attr) gains a parameter that the fixed
    // attribute helpers pass; the running escape's guard forwards only `html`.
    name: 'a new parameter that patched callers pass (svelte escape(value, is_attr)): called directly, old callers unchanged',
    a: {
      'index.js': `const escaped = { '"': '&quot;', '&': '&amp;', '<': '&lt;' };\nfunction escape(html) { return String(html).replace(/["&<]/g, (c) => escaped[c]); }\nfunction attr(value) { return typeof value === 'string' ? escape(value) : value; }\nexports.escape = escape;\nexports.attr = attr;\n`,
    },
    b: {
      'index.js': `function escape(value, is_attr = false) { const s = String(value); return is_attr ? s.replace(/[&"]/g, (c) => (c === '&' ? '&amp;' : '&quot;')) : s.replace(/[&<]/g, (c) => (c === '&' ? '&amp;' : '&lt;')); }\nfunction attr(value) { return typeof value === 'string' || (value && typeof value === 'object') ? escape(value, true) : value; }\nexports.escape = escape;\nexports.attr = attr;\n`,
    },
    old: `const r = pkg.attr({ toString: () => '"><img>' }); return typeof r !== 'string' || r.includes('"');`,
    normal: `return pkg.attr('a"b') === 'a&quot;b' && pkg.escape('<a>') === '&lt;a>' && pkg.attr(1) === 1;`,
    expect: 'live',
    verdicts: ['parameters-passed-directly'],
  },
  {
    // semver's createToken inside a UMD factory: the counter and the tables are the factory's
    // variables, reset and refilled through its scope accessor.
    name: 'registration calls with a counter inside a UMD factory (createToken): counter reset and tables refilled through the accessor',
    a: {
      'index.js': `(function (root, factory) { module.exports = factory(); }(this, function () { 'use strict';\n  var re = [];\n  var src = [];\n  var t = {};\n  var R = 0;\n  function createToken(name, value) {\n    var index = R++;\n    t[name] = index;\n    src[index] = value;\n    re[index] = new RegExp(value);\n  }\n  createToken('WORD', '^a+$');\n  createToken('PAIR', src[t.WORD].slice(0, -1) + ',' + src[t.WORD].slice(1));\n  return { isWord: function (s) { return re[t.WORD].test(s); }, isPair: function (s) { return re[t.PAIR].test(s); } };\n}));\n`,
    },
    b: {
      'index.js': `(function (root, factory) { module.exports = factory(); }(this, function () { 'use strict';\n  var re = [];\n  var src = [];\n  var t = {};\n  var R = 0;\n  function createToken(name, value) {\n    var safe = value.split('a+').join('a{1,8}');\n    var index = R++;\n    t[name] = index;\n    src[index] = safe;\n    re[index] = new RegExp(safe);\n  }\n  createToken('WORD', '^a+$');\n  createToken('PAIR', src[t.WORD].slice(0, -1) + ',' + src[t.WORD].slice(1));\n  return { isWord: function (s) { return re[t.WORD].test(s); }, isPair: function (s) { return re[t.PAIR].test(s); } };\n}));\n`,
    },
    old: `return pkg.isWord('a'.repeat(20)) || pkg.isPair('aa,aa'.replace(',', 'a'.repeat(20) + ','));`,
    normal: `return pkg.isWord('aaa') && !pkg.isWord('b') && pkg.isPair('aa,aa');`,
    expect: 'live',
    verdicts: ['registrations-rerun'],
  },
  {
    // moment's addParseToken: load-time calls inside the UMD factory fill its `tokens` table; the
    // fix changes the parser the registration function makes. Run again through the accessor.
    name: 'registration calls inside a UMD factory whose registration function the fix changes: run again, table restored on revert',
    a: {
      'index.js': momentLike({ numberBranch: NUMBER_AS_IS, load: WEEK_TOKENS }),
    },
    b: {
      'index.js': momentLike({
        helpers:
          '  function numberParser(index) { return function (input, array) { array[index] = Math.min(toInt(input), 99); }; }\n',
        numberBranch: '    if (isNumber(callback)) { func = numberParser(callback); }\n',
        load: WEEK_TOKENS,
      }),
    },
    old: `return pkg.parse('D', '500')[0][2] === 500;`,
    normal: `return pkg.parse('M', '3')[0][1] === 2 && pkg.parse('w', '7')[1]._w.w === 7 && pkg.parse('D', '12')[0][2] === 12;`,
    expect: 'live',
    verdicts: ['registrations-rerun'],
  },
  {
    // moment 2.29.1's millisecond tokens: registration calls made by a load-time loop
    // (`for (token = 'S'; …; token += 'S') addParseToken(token, parseMs)`), and a helper of the
    // registration function (isNumber) that running code calls too. The loop runs again.
    name: 'registration calls made by a load-time loop, with a helper running code also calls: the loop runs again',
    a: {
      'index.js': momentLike({ numberBranch: NUMBER_AS_IS, load: MS_TOKEN_LOOP }),
    },
    b: {
      'index.js': momentLike({
        numberBranch:
          '    if (isNumber(callback)) { func = function (input, array) { array[callback] = Math.min(toInt(input), 99); }; }\n' +
          '    else { func = function (input, array, config, tok) { if (String(input).length <= 3) { callback(input, array, config, tok); } }; }\n',
        load: MS_TOKEN_LOOP,
      }),
    },
    old: `return pkg.parse('D', '500')[2] === 500 || pkg.parse('SS', '5000')[6] === 5000;`,
    normal: `return pkg.parse('D', '12')[2] === 12 && pkg.parse('SSS', '120')[6] === 120 && pkg.parse('S', '7')[6] === 7 && pkg.set(3) === 3;`,
    expect: 'live',
    verdicts: ['registrations-rerun'],
  },
  {
    // valibot 1.1.0 → 1.2.0 (tsup → tsdown): the bundler numbered the colliding `store` variables
    // the other way round; pairing them by name made _getWordCount read another function's store.
    name: 'module variables a bundler renumbered (store2 → store, store → store$1): paired by the functions that use them',
    a: {
      'index.js': `var store;\nfunction getGlobal() { if (!store) store = { lang: 'en' }; return store.lang; }\nvar store2;\nfunction count(k) { if (!store2) store2 = new Map(); store2.set(k, (store2.get(k) || 0) + 1); return store2.get(k); }\nexports.getGlobal = getGlobal;\nexports.count = count;\n`,
    },
    b: {
      'index.js': `let store$1;\nfunction getGlobal() { if (!store$1) store$1 = { lang: 'en' }; return store$1.lang; }\nlet store;\nfunction count(k) { if (typeof k !== 'string') throw new TypeError('key'); if (!store) store = new Map(); store.set(k, (store.get(k) || 0) + 1); return store.get(k); }\nexports.getGlobal = getGlobal;\nexports.count = count;\n`,
    },
    old: `try { pkg.count({}); return true; } catch { return false; }`,
    normal: `return pkg.getGlobal() === 'en' && pkg.count('x') >= 1 && pkg.count('x') >= 2;`,
    expect: 'live',
  },
  {
    // valibot's EMOJI_REGEX (CVE-2025-66020): the exported regex is also stored at load in objects
    // (an action's `requirement`), which a new binding would never reach.
    name: "an ES module's exported regular expression the fix changes, stored at load by a sibling: recompiled in place",
    esm: true,
    a: {
      'regex.js': `var WORD_REGEX = /^(a+)+$/;\nexport { WORD_REGEX };\n`,
      'index.js': `import { WORD_REGEX } from './regex.js';\nexport { WORD_REGEX };\nconst rule = { requirement: WORD_REGEX };\nexport function word(s) { return rule.requirement.test(s); }\n`,
    },
    b: {
      'regex.js': `const WORD_REGEX = /^a{1,8}$/;\nexport { WORD_REGEX };\n`,
      'index.js': `import { WORD_REGEX } from './regex.js';\nexport { WORD_REGEX };\nconst rule = { requirement: WORD_REGEX };\nexport function word(s) { return rule.requirement.test(s); }\n`,
    },
    old: `return pkg.word('a'.repeat(12)) || pkg.WORD_REGEX.source !== '^a{1,8}$';`,
    normal: `return pkg.word('aaa') && !pkg.word('b') && pkg.WORD_REGEX.test('aa');`,
    expect: 'live',
    verdicts: ['regex-recompiled'],
  },
  {
    name: 'a CommonJS regular expression a sibling destructured at load, global, mid-iteration kept: recompiled in place',
    a: {
      'tags.js': `const TAG = new RegExp('<(\\\\w+)>', 'g');\nexports.TAG = TAG;\n`,
      'index.js': `const { TAG } = require('./tags');\nexports.tags = function (s) { TAG.lastIndex = 0; const out = []; let m; while ((m = TAG.exec(s))) out.push(m[1]); return out; };\n`,
    },
    b: {
      'tags.js': `const TAG = new RegExp('<([a-z]{1,8})>', 'g');\nexports.TAG = TAG;\n`,
      'index.js': `const { TAG } = require('./tags');\nexports.tags = function (s) { TAG.lastIndex = 0; const out = []; let m; while ((m = TAG.exec(s))) out.push(m[1]); return out; };\n`,
    },
    old: `return pkg.tags('<B1><abcdefghij>').length > 0;`,
    normal: `return pkg.tags('<a><bc>').join() === 'a,bc';`,
    expect: 'live',
    verdicts: ['regex-recompiled'],
  },
  {
    name: "an ES module's exported options object with a changed and a removed property: importers see the fixed object",
    esm: true,
    a: {
      'index.js': `import { defaults } from './defaults.js';\nexport { defaults };\nexport function render(s, opts = defaults) { return opts.allowHtml ? s : s.replace(/</g, '&lt;').slice(0, opts.max); }\n`,
      'defaults.js': `export const defaults = { allowHtml: true, max: 100 };\n`,
    },
    b: {
      'index.js': `import { defaults } from './defaults.js';\nexport { defaults };\nexport function render(s, opts = defaults) { return opts.allowHtml ? s : s.replace(/</g, '&lt;').slice(0, opts.max); }\n`,
      'defaults.js': `export const defaults = { max: 100, escape: true };\n`,
    },
    old: `return pkg.render('<b>') === '<b>' || 'allowHtml' in pkg.defaults || pkg.defaults.escape !== true;`,
    normal: `return pkg.render('ab', { max: 1 }) === 'a' && pkg.defaults.max === 100;`,
    expect: 'live',
    verdicts: ['object-updated'],
  },
  {
    name: 'a CommonJS config object callers keep a reference to, with a tightened limit',
    a: {
      'index.js': `const limits = { depth: 20, keys: 1000 };\nexports.limits = limits;\nexports.parse = function (s) { const parts = s.split('.'); if (parts.length > limits.depth) throw new Error('too deep'); return parts; };\n`,
    },
    b: {
      'index.js': `const limits = { depth: 5, keys: 1000 };\nexports.limits = limits;\nexports.parse = function (s) { const parts = s.split('.'); if (parts.length > limits.depth) throw new Error('too deep'); return parts; };\n`,
    },
    old: `const { limits, parse } = pkg; try { parse('a.b.c.d.e.f.g'); return true; } catch { return limits.depth !== 5; }`,
    normal: `return pkg.parse('a.b').length === 2 && pkg.limits.keys === 1000;`,
    expect: 'live',
    verdicts: ['object-updated'],
  },
  {
    name: "a returned closure whose default parameter is its factory's parameter (nanoid's customRandom)",
    esm: true,
    a: {
      'index.js': `export function customRandom(defaultSize) {\n  const step = 2;\n  return (size = defaultSize) => ({ n: size, step });\n}\n`,
    },
    b: {
      'index.js': `export function customRandom(defaultSize) {\n  const step = 2;\n  return (size = defaultSize) => ({ n: size | 0, step });\n}\n`,
    },
    old: `return pkg.customRandom(3)(2.5).n === 2.5;`,
    normal: `const f = pkg.customRandom(3); return f().n === 3 && f(4).n === 4 && f().step === 2;`,
    expect: 'live',
    verdicts: ['closure-changed'],
  },
  {
    name: 'tsc output: an enum gains a member and a class a static field (another removed), read by changed code',
    a: {
      'index.js': `var Ctx;\n(function (Ctx) {\n    Ctx[Ctx["NONE"] = 0] = "NONE";\n})(Ctx || (Ctx = {}));\nclass Ids {\n    static iframe = { name: 'iframe' };\n}\nexports.Ctx = Ctx;\nexports.Ids = Ids;\nexports.sanitize = function (ctx) { return ctx === Ctx.NONE ? 'none' : 'checked'; };\n`,
    },
    b: {
      'index.js': `var Ctx;\n(function (Ctx) {\n    Ctx[Ctx["NONE"] = 0] = "NONE";\n    Ctx[Ctx["ATTR"] = 6] = "ATTR";\n})(Ctx || (Ctx = {}));\nclass Ids {\n    static attr = { name: 'attr' };\n}\nexports.Ctx = Ctx;\nexports.Ids = Ids;\nexports.sanitize = function (ctx) { return ctx === Ctx.NONE ? 'none' : ctx === Ctx.ATTR ? 'attr' : 'checked'; };\n`,
    },
    old: `return pkg.sanitize(6) !== 'attr' || pkg.Ids.attr?.name !== 'attr' || 'iframe' in pkg.Ids || pkg.Ctx[6] !== 'ATTR';`,
    normal: `return pkg.sanitize(0) === 'none' && pkg.Ctx.NONE === 0 && pkg.Ctx[0] === 'NONE';`,
    expect: 'live',
    verdicts: ['object-updated', 'export-assigned'],
  },
  {
    name: 'a rule table that load-time code copies before the lexer reads the copy (marked 4.0.9)',
    a: {
      'index.js': `const block = { def: /^(a+)+$/, x: 1 };\nblock.normal = Object.assign({}, block);\nexports.lex = (s) => block.normal.def.test(s);\n`,
    },
    b: {
      'index.js': `const block = { def: /^a{1,3}$/, x: 1 };\nblock.normal = Object.assign({}, block);\nexports.lex = (s) => block.normal.def.test(s);\n`,
    },
    old: `return pkg.lex('aaaaa');`,
    normal: `return pkg.lex('aa') && !pkg.lex('b');`,
    expect: 'live',
  },
  {
    name: "a changed table exported under an alias that a changed sibling reads through a module variable named c (validator 13.7.0's CountryCodes; the gate's parameter was c)",
    a: {
      'index.js': `module.exports = { isBIC: require('./bic.js').isBIC, CountryCodes: require('./codes.js').CountryCodes };\n`,
      'codes.js': `var codes = ['AD', 'AE'];\nfunction has(c) { return codes.indexOf(c) >= 0; }\nvar CountryCodes = codes;\nexports.has = has;\nexports.CountryCodes = CountryCodes;\n`,
      'bic.js': `var c = require('./codes.js');\nexports.isBIC = function (s) { return c.CountryCodes.indexOf(s.slice(0, 2)) >= 0; };\n`,
    },
    b: {
      'index.js': `module.exports = { isBIC: require('./bic.js').isBIC, CountryCodes: require('./codes.js').CountryCodes };\n`,
      'codes.js': `var codes = new Set(['AD', 'AE', 'ZZ']);\nfunction has(c) { return codes.has(c); }\nvar CountryCodes = codes;\nexports.has = has;\nexports.CountryCodes = CountryCodes;\n`,
      'bic.js': `var c = require('./codes.js');\nexports.isBIC = function (s) { return c.CountryCodes.has(s.slice(0, 2)); };\n`,
    },
    old: `return !pkg.isBIC('ZZ01');`,
    normal: `return pkg.isBIC('AD01') && !pkg.isBIC('QQ01');`,
    expect: 'live',
  },
  {
    name: 'Babel output rebuilt by a newer Babel beside the fix (nunjucks 3.2.4): new releases of _setPrototypeOf, _createClass and _defineProperties, and `var Symbol` renamed `_Symbol`',
    a: {
      'index.js': `'use strict';
${BABEL_HELPERS_OLD}
var Obj = function () { function Obj() { this.init.apply(this, arguments); } var _proto = Obj.prototype; _proto.init = function init() {}; _createClass(Obj, [{ key: "typename", get: function get() { return this.constructor.name; } }]); return Obj; }();
var Node = /*#__PURE__*/function (_Obj) { _inheritsLoose(Node, _Obj); function Node() { return _Obj.apply(this, arguments) || this; } var _proto2 = Node.prototype; _proto2.init = function init(value) { this.value = value; }; _proto2.render = function render() { return escape(this.value); }; return Node; }(Obj);
function extend(parent) { var C = function (_parent) { _inheritsLoose(C, _parent); function C() { return _parent.apply(this, arguments) || this; } return C; }(parent); return C; }
var Symbol = extend(Node);
function escape(s) { return String(s).replace(/[<>]/g, function (c) { return c === '<' ? '&lt;' : '&gt;'; }); }
function isSymbol(x) { return x instanceof Symbol; }
module.exports = { Obj: Obj, Node: Node, Symbol: Symbol, isSymbol: isSymbol };
`,
    },
    b: {
      'index.js': `'use strict';
${BABEL_HELPERS_NEW}
var Obj = function () { function Obj() { this.init.apply(this, arguments); } var _proto = Obj.prototype; _proto.init = function init() {}; _createClass(Obj, [{ key: "typename", get: function get() { return this.constructor.name; } }]); return Obj; }();
var Node = /*#__PURE__*/function (_Obj) { _inheritsLoose(Node, _Obj); function Node() { return _Obj.apply(this, arguments) || this; } var _proto2 = Node.prototype; _proto2.init = function init(value) { this.value = value; }; _proto2.render = function render() { return escape(this.value); }; return Node; }(Obj);
function extend(parent) { var C = function (_parent) { _inheritsLoose(C, _parent); function C() { return _parent.apply(this, arguments) || this; } return C; }(parent); return C; }
var _Symbol = extend(Node);
function escape(s) { return String(s).replace(/[<>"]/g, function (c) { return c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&quot;'; }); }
function isSymbol(x) { return x instanceof _Symbol; }
module.exports = { Obj: Obj, Node: Node, Symbol: _Symbol, isSymbol: isSymbol };
`,
    },
    old: `return new pkg.Node('"').render() === '"';`,
    normal: `const s = new pkg.Symbol('<'); return s.render() === '&lt;' && pkg.isSymbol(s) && s instanceof pkg.Node && s instanceof pkg.Obj && new pkg.Node('x').typename === 'Node' && Object.getPrototypeOf(pkg.Node) === pkg.Obj;`,
    expect: 'live',
    verdicts: ['function-changed'],
  },
  {
    name: "an object literal of methods handed on at load (d3-color's define(Rgb, rgb, extend(Color, {…}))): method syntax, a changed method reached through the prototype, new methods left off",
    esm: true,
    a: {
      'define.js': `export default function (constructor, factory, prototype) {\n  constructor.prototype = factory.prototype = prototype;\n  prototype.constructor = constructor;\n}\nexport function extend(parent, definition) {\n  var prototype = Object.create(parent.prototype);\n  for (var key in definition) prototype[key] = definition[key];\n  return prototype;\n}\n`,
      'index.js': `import define, { extend } from './define.js';
export function Color() {}
define(Color, color, {
  copy: function(channels) { return Object.assign(new this.constructor, this, channels); },
  toString: color_format
});
function color_format() { return this.rgb().format(); }
export function color(v) { return new Rgb(v, v, v); }
export function Rgb(r, g, b) { this.r = r; this.g = g; this.b = b; }
export function rgb(r, g, b) { return new Rgb(r, g, b); }
define(Rgb, rgb, extend(Color, {
  rgb: function() { return this; },
  format: rgb_format
}));
function rgb_format() { return 'rgb(' + this.r + ', ' + this.g + ', ' + this.b + ')'; }
`,
    },
    b: {
      'define.js': `export default function (constructor, factory, prototype) {\n  constructor.prototype = factory.prototype = prototype;\n  prototype.constructor = constructor;\n}\nexport function extend(parent, definition) {\n  var prototype = Object.create(parent.prototype);\n  for (var key in definition) prototype[key] = definition[key];\n  return prototype;\n}\n`,
      'index.js': `import define, { extend } from './define.js';
export function Color() {}
define(Color, color, {
  copy(channels) { return Object.assign(new this.constructor, this, channels); },
  toString: color_format
});
function color_format() { return this.rgb().format(); }
export function color(v) { return new Rgb(v, v, v); }
export function Rgb(r, g, b) { this.r = r; this.g = g; this.b = b; }
export function rgb(r, g, b) { return new Rgb(r, g, b); }
define(Rgb, rgb, extend(Color, {
  rgb() { return this; },
  clamp() { return new Rgb(clampi(this.r), clampi(this.g), clampi(this.b)); },
  format: rgb_format,
  formatHex: rgb_formatHex,
}));
function rgb_format() { return 'rgb(' + clampi(this.r) + ', ' + clampi(this.g) + ', ' + clampi(this.b) + ')'; }
function rgb_formatHex() { return '#' + [this.r, this.g, this.b].map((v) => clampi(v).toString(16).padStart(2, '0')).join(''); }
function clampi(value) { return Math.max(0, Math.min(255, Math.round(value) || 0)); }
`,
    },
    old: `return String(pkg.rgb(300, 0, 0)) === 'rgb(300, 0, 0)';`,
    normal: `const c = pkg.rgb(1, 2, 3); return String(c) === 'rgb(1, 2, 3)' && c.copy({ r: 9 }).r === 9 && c instanceof pkg.Color && String(pkg.color(4)) === 'rgb(4, 4, 4)';`,
    expect: 'live',
    verdicts: ['function-changed'],
  },
  {
    name: "a bundle chunk the bundler renamed by content hash, holding the fix (vite 7.1.5's chunks/dep-*.js), with a re-exporting chunk loaded on demand",
    esm: true,
    a: {
      'index.js': `import { parse, count } from './chunks/dep-C6pp_iVS.js';\nexport { parse, count };\nexport const lazy = () => import('./chunks/dep-DMXKBGET.js');\n`,
      'chunks/dep-C6pp_iVS.js': chunkSource(''),
      'chunks/dep-DMXKBGET.js': `import { parse } from './dep-C6pp_iVS.js';\nexport { parse };\n`,
    },
    b: {
      'index.js': `import { parse, count } from './chunks/dep-M_KD0XSK.js';\nexport { parse, count };\nexport const lazy = () => import('./chunks/dep-D_YDhiNx.js');\n`,
      'chunks/dep-M_KD0XSK.js': chunkSource(`  if (s.includes('..')) throw new Error('outside the root');\n`),
      'chunks/dep-D_YDhiNx.js': `import { parse } from './dep-M_KD0XSK.js';\nexport { parse };\n`,
    },
    old: `try { pkg.parse('a/../b'); return true; } catch { return false; }`,
    normal: `const m = await pkg.lazy(); return pkg.count('a/b/c') === 3 && m.parse('x/y').length === 2;`,
    expect: 'live',
    verdicts: ['chunk-renamed'],
  },
  {
    name: "an esbuild CommonJS bundle: a lazily required module (`__commonJS`) gains an export a changed constructor reads (tar 7.5.16's shape)",
    a: {
      'index.js': esbuildCjs(
        `x.name = x.isCode = void 0; x.name = new Map([["0", "File"], ["5", "Directory"], ["D", "GNUDumpDir"]]); x.isCode = (c) => x.name.has(c);`,
        `this.type = t.name.get(c); this.usesPath = true;`,
      ),
    },
    b: {
      'index.js': esbuildCjs(
        `x.name = x.normal = x.isCode = void 0; x.name = new Map([["0", "File"], ["5", "Directory"], ["D", "GNUDumpDir"]]); x.normal = new Set(["0", "5"]); x.isCode = (c) => x.name.has(c);`,
        `this.type = t.name.get(c); this.usesPath = t.normal.has(c);`,
      ),
    },
    old: `return new pkg.Header('D').usesPath === true;`,
    normal: `return new pkg.Header('0').usesPath === true && new pkg.Header('5').type === 'Directory' && pkg.isCode('0');`,
    expect: 'live',
    verdicts: ['export-assigned'],
  },
  {
    name: "an esbuild ES module bundle: a namespace object (`__export`) gains a getter, a `var X = class` a static field and a renamed symbol key (tar 7.5.16's shape)",
    esm: true,
    a: {
      'index.js': esbuildEsm({
        getters: 'code: () => code',
        decls: 'var code = new Map([["0", "File"], ["D", "GNUDumpDir"]]);',
        symbol: 'queue',
        version: 1,
        add: 'this[QUEUE].set(k, 1);',
        kind: 'return types_exports.code.get(c);',
      }),
    },
    b: {
      'index.js': esbuildEsm({
        getters: 'code: () => code, normalFsTypes: () => normalFsTypes',
        decls: 'var code = new Map([["0", "File"], ["D", "GNUDumpDir"]]), normalFsTypes = new Set(["0"]);',
        symbol: 'pendingLinks',
        version: 2,
        add: `if (typeof k !== 'string') throw new TypeError('key'); this[QUEUE].set(k, 1);`,
        kind: `return types_exports.normalFsTypes.has(c) ? types_exports.code.get(c) : 'unsupported';`,
      }),
    },
    // An instance made before the patch keeps working: its map is keyed by the running symbol.
    old: `globalThis.__shapePacker ??= new pkg.Packer(); return new pkg.Packer().kind('D') !== 'unsupported' || !('normalFsTypes' in pkg.types) || pkg.Packer.VERSION !== 2;`,
    normal: `const p = (globalThis.__shapePacker ??= new pkg.Packer()); return p.add('a') >= 1 && new pkg.Packer().kind('0') === 'File' && pkg.types.code.size === 2;`,
    expect: 'live',
    verdicts: ['export-getter-added', 'symbol-kept', 'constant-changed'],
  },
  {
    name: "an ES module reads an export the fix adds to a sibling through its namespace object (`import * as types`, tar 7.5.16's unbundled build)",
    esm: true,
    a: {
      'types.js': `export const name = new Map([["0", "File"], ["D", "GNUDumpDir"]]);\n`,
      'index.js': `import * as types from './types.js';\nexport function kind(c) { return types.name.get(c); }\n`,
    },
    b: {
      'types.js': `export const name = new Map([["0", "File"], ["D", "GNUDumpDir"]]);\nexport const normal = new Set(["0"]);\n`,
      'index.js': `import * as types from './types.js';\nexport function kind(c) { return types.normal.has(c) ? types.name.get(c) : 'unsupported'; }\n`,
    },
    old: `return pkg.kind('D') !== 'unsupported';`,
    normal: `return pkg.kind('0') === 'File';`,
    expect: 'live',
    verdicts: ['function-changed'],
  },
  // ---- need a restart
  {
    name: 'an esbuild CommonJS bundle: a lazily required module changes the initial value of state running code mutates',
    a: {
      'index.js': `var d = (s, e) => () => (e || s((e = { exports: {} }).exports, e), e.exports);\nvar L = d((x) => { var budget = { n: 0, max: 10 }; x.take = () => ++budget.n <= budget.max; });\nmodule.exports = L();\n`,
    },
    b: {
      'index.js': `var d = (s, e) => () => (e || s((e = { exports: {} }).exports, e), e.exports);\nvar L = d((x) => { var budget = { n: 0, max: 5 }; x.take = () => ++budget.n <= budget.max; });\nmodule.exports = L();\n`,
    },
    old: `return true;`,
    normal: `return true;`,
    expect: 'state-mutated-changed',
  },
  {
    name: 'changed initial value of state that running code mutates',
    a: { 'index.js': `let seen = 0;\nexports.hit = function () { return ++seen; };\n` },
    b: { 'index.js': `let seen = 100;\nexports.hit = function () { return ++seen; };\n` },
    old: `return true;`,
    normal: `return true;`,
    expect: 'state-mutated-changed',
  },
  {
    name: 'a new parameter that an unchanged caller passes (the guard forwards only the old ones)',
    a: { 'index.js': `function f(a) { return a + 1; }\nexports.g = (x) => f(x, 5);\n` },
    b: { 'index.js': `function f(a, b) { return a + (b || 2); }\nexports.g = (x) => f(x, 5);\n` },
    old: `return true;`,
    normal: `return true;`,
    expect: 'parameters-passed',
  },
  {
    name: 'new code that runs once at load (a process listener)',
    a: { 'index.js': `exports.x = 1;\n` },
    b: { 'index.js': `process.on('warning', () => {});\nexports.x = 1;\n` },
    old: `return true;`,
    normal: `return true;`,
    expect: 'side-effect-changed',
  },
  {
    name: 'a method using a private field of an anonymous class (no name reaches its private accessor)',
    a: { 'index.js': `module.exports = { Box: class { #v = 1; get() { return this.#v; } } };\n` },
    b: { 'index.js': `module.exports = { Box: class { #v = 1; get() { return this.#v + 0; } } };\n` },
    old: `return true;`,
    normal: `return true;`,
    expect: 'unsupported-syntax',
  },
  {
    name: 'a new value computed from state running code changes',
    a: { 'index.js': `let mode = 'a';\nexports.setMode = (m) => { mode = m; };\nexports.get = () => 1;\n` },
    b: {
      'index.js': `let mode = 'a';\nconst LABEL = mode.toUpperCase();\nexports.setMode = (m) => { mode = m; };\nexports.get = () => LABEL;\n`,
    },
    old: `return true;`,
    normal: `return true;`,
    expect: 'state-initialised-at-load',
  },
];

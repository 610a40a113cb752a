import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VERDICT_IDS, type VerdictId } from '@hotpatch/core';
import { analyzeModule, checkReplacement, moduleTable } from '@hotpatch/instrument';
import { type DiffInput, diffFile } from './index.js';

/**
 * The builder's verdicts, table-driven (as ESLint's rule tests): an old and a new version of one
 * file, and the verdict ids the diff must report. `live` cases must produce a patch whose every
 * replacement passes the runtime's own check against the baseline; `restart` cases must produce none.
 */
interface Case {
  name: string;
  a: string;
  b: string;
  sourceType?: 'commonjs' | 'module';
  input?: Partial<DiffInput>;
  /** Every [id, name] must be among the changes (name optional). */
  expect: Array<[VerdictId, string?]>;
  /** No [id, name] of these may be among them (name optional). */
  absent?: Array<[VerdictId, string?]>;
}

/**
 * A UMD factory with moment's registration code (addParseToken filling `tokens`): `load` is its
 * load-time code, `extra` more of the factory; `fixed` the new addParseToken (it caches the length).
 */
function registrationModule(load: string, extra = '', fixed = false): string {
  const loop = fixed
    ? 'var n = token.length;\n    for (i = 0; i < n; i++) { tokens[token[i]] = func; }'
    : 'for (i = 0; i < token.length; i++) { tokens[token[i]] = func; }';
  return `(function (global, factory) {\n  module.exports = factory();\n}(this, (function () { 'use strict';\n  function isNumber(input) { return typeof input === 'number' || Object.prototype.toString.call(input) === '[object Number]'; }\n  function toInt(x) { return x | 0; }\n  var tokens = {};\n  function addParseToken(token, callback) {\n    var i, func = callback;\n    if (typeof token === 'string') { token = [token]; }\n    if (isNumber(callback)) { func = function (input, array) { array[callback] = toInt(input); }; }\n    ${loop}\n  }\n  function parseMs(input, array) { array[6] = toInt(input); }\n${load}\n${extra}\n  function parse(tok, input) { var a = []; tokens[tok](input, a, {}, tok); return a; }\n  return { parse: parse };\n})));\n`;
}
const MS_LOOP =
  "  var token;\n  for (token = 'S'; token.length <= 3; token += 'S') {\n    addParseToken(token, parseMs);\n  }\n  addParseToken('D', 2);";

const live: Case[] = [
  {
    name: "a callback handed on by a recursive helper that only calls it (path-to-regexp 8.4.1's flatten), in a changed function: made anew by its replacement",
    a:
      'function flatten(ts, i, out, cb) { while (i < ts.length) { const t = ts[i++]; if (Array.isArray(t)) { flatten(t, 0, out.slice(), (s) => flatten(ts, i, s, cb)); continue; } out.push(t); } cb(out); }\n' +
      'function compile(paths) { const srcs = []; for (const p of paths) { flatten(p, 0, [], (ts) => { srcs.push(ts.join("")); }); } return srcs; }\nexports.compile = compile;\n',
    b:
      'function flatten(ts, i, out, cb) { while (i < ts.length) { const t = ts[i++]; if (Array.isArray(t)) { flatten(t, 0, out.slice(), (s) => flatten(ts, i, s, cb)); continue; } out.push(t); } cb(out); }\n' +
      'function compile(paths) { const srcs = []; let n = 0; for (const p of paths) { const data = p; flatten(data, 0, [], (ts) => { if (n++ > 8) throw new Error("too many"); srcs.push(ts.join("|") + data.length); }); } return srcs; }\nexports.compile = compile;\n',
    expect: [
      ['function-changed', 'compile'],
      ['callback-in-changed-function', 'compile/flatten:arg3'],
    ],
    absent: [['binding-unreachable']],
  },
  {
    name: 'a symbol constant whose description changed: the running symbol kept (objects hold properties keyed by it)',
    a: 'const QUEUE = Symbol("queue");\nclass P { [QUEUE] = []; add(x) { this[QUEUE].push(x); } }\nmodule.exports = P;\n',
    b: 'const QUEUE = Symbol("pending");\nclass P { [QUEUE] = []; add(x) { if (x == null) throw new TypeError("x"); this[QUEUE].push(x); } }\nmodule.exports = P;\n',
    expect: [
      ['symbol-kept', 'QUEUE'],
      ['method-changed', 'P#add'],
    ],
    absent: [['constant-changed'], ['uses-changed-state']],
  },
  {
    name: "a getter added to a bundled namespace object (esbuild's __export): defined on the running object",
    sourceType: 'module',
    a:
      'var __defProp = Object.defineProperty;\nvar __export = (t, all) => { for (var n in all) __defProp(t, n, { get: all[n], enumerable: true }); };\n' +
      'var ns = {};\n__export(ns, { code: () => code });\nvar code = new Map([["0", "File"]]);\nexport function kind(c) { return ns.code.get(c); }\n',
    b:
      'var __defProp = Object.defineProperty;\nvar __export = (t, all) => { for (var n in all) __defProp(t, n, { get: all[n], enumerable: true }); };\n' +
      'var ns = {};\n__export(ns, { code: () => code, normal: () => normal });\nvar code = new Map([["0", "File"]]), normal = new Set(["0"]);\n' +
      'export function kind(c) { return ns.normal.has(c) ? ns.code.get(c) : "unsupported"; }\n',
    expect: [
      ['export-getter-added', 'normal'],
      ['function-changed', 'kind'],
    ],
    absent: [['property-added-needed'], ['property-added-unused']],
  },
  {
    name: 'a `var X = class` whose static field changed: set on the running class, as for a class declaration',
    sourceType: 'module',
    a: 'var Limits = class { static MAX = 100; check(n) { return n <= Limits.MAX; } };\nexport { Limits };\n',
    b: 'var Limits = class { static MAX = 10; check(n) { return n <= Limits.MAX; } };\nexport { Limits };\n',
    expect: [['constant-changed', 'Limits.MAX']],
    absent: [['export-changed']],
  },
  {
    name: 'a module function an esbuild __commonJS helper runs once: its new export is assigned at apply',
    a:
      'var d = (s, e) => () => (e || s((e = { exports: {} }).exports, e), e.exports);\n' +
      'var T = d((x) => { x.name = new Map([["0", "File"]]); });\n' +
      'var H = d((x) => { var t = T(); x.kind = (c) => t.name.get(c); });\nmodule.exports = H();\n',
    b:
      'var d = (s, e) => () => (e || s((e = { exports: {} }).exports, e), e.exports);\n' +
      'var T = d((x) => { x.name = new Map([["0", "File"]]); x.normal = new Set(["0"]); });\n' +
      'var H = d((x) => { var t = T(); x.kind = (c) => (t.normal.has(c) ? t.name.get(c) : "unsupported"); });\nmodule.exports = H();\n',
    expect: [
      ['export-assigned', 'x.normal'],
      ['function-changed', 'd:arg0@2/x.kind'],
    ],
    absent: [['function-changed', 'd:arg0']],
  },
  {
    name: 'a private field the fix adds, with a literal initializer: kept beside each running instance',
    a: 'class A { #p = 1; m(x) { return this.#p + x; } }\nmodule.exports = A;\n',
    b: 'class A { #p = 1; #calls = 0; m(x) { if (++this.#calls > 100) throw new Error("busy"); return this.#p + x; } }\nmodule.exports = A;\n',
    expect: [
      ['method-changed', 'A#m'],
      ['private-field-shadowed', 'A#calls'],
    ],
    absent: [['side-effect-changed']],
  },
  {
    name: 'a private method the fix adds, called by a changed method: inlined there',
    a: 'class A { #p = 1; m(x) { return this.#p + x; } }\nmodule.exports = A;\n',
    b: 'class A { #p = 1; #check(x) { if (typeof x !== "number") throw new TypeError("x"); return x; } m(x) { return this.#p + this.#check(x); } }\nmodule.exports = A;\n',
    expect: [
      ['method-changed', 'A#m'],
      ['private-method-inlined', 'A#check'],
    ],
    absent: [['side-effect-changed']],
  },
  {
    name: 'private members in a changed method: reads, writes, updates, calls, `#x in o`, static ones, a nested arrow, a class inside the new code',
    a:
      'class A { #p = 1; static #n = 0; #q() { return 2; } get #g() { return this.#p; } set #g(v) { this.#p = v; }\n' +
      '  m(o) { return this.#p; } }\nmodule.exports = A;\n',
    b:
      'class A { #p = 1; static #n = 0; #q() { return 2; } get #g() { return this.#p; } set #g(v) { this.#p = v; }\n' +
      '  m(o) { A.#n++; this.#p += this.#q(1, ...[2]); this.#g = this.#g * 2; this.#p ??= 0; --this.#p;\n' +
      '    const f = () => #p in o && o.#p; class L { #z = 3; z() { return this.#z; } }\n' +
      '    return [f(), new L().z(), A.#n, this.#p]; } }\nmodule.exports = A;\n',
    expect: [['method-changed', 'A#m']],
  },
  {
    name: 'a changed object inside a run-once wrapper that running code only reads (`limits.max`): a constant, every function using it gets the new value',
    a: '(function () {\n  var limits = { max: 10 };\n  var n = 0;\n  function hit() { n++; return n <= limits.max; }\n  module.exports = { hit: hit };\n})();\n',
    b: '(function () {\n  var limits = { max: 5 };\n  var n = 0;\n  function hit() { n++; return n <= limits.max; }\n  module.exports = { hit: hit };\n})();\n',
    expect: [['constant-changed', 'limits']],
    absent: [['state-mutated-changed']],
  },
  {
    name: 'a minified webpack/terser build whose minifier swapped two module variables (`x` ↔ `m`) and renamed locals, beside the fix (fast-xml-parser 5.3.6 lib/fxp.cjs): only the fixed function changes, under the running names',
    a: '(()=>{"use strict";var t={};function x(t){return new Error("E:"+t)}function m(t,e){return t+e}function a(t,e){const i=[];let n=e.exec(t);for(;n;)i.push(m(n[0],1)),n=e.exec(t);return i}function b(t){if(t>9)throw x(t);return m(t,2)}t.a=a,t.b=b,module.exports=t})();\n',
    b: '(()=>{"use strict";var e={};function m(t){return new Error("E:"+t)}function x(t,e){return t+e}function a(t,e){const n=[];let i=e.exec(t);for(;i;)n.push(x(i[0],1)),i=e.exec(t);return n}function b(t){if(t>5)throw m(t);return x(t,2)}e.a=a,e.b=b,module.exports=e})();\n',
    input: { minified: true },
    expect: [['mangled-names'], ['function-changed', '<iife>/b']],
    absent: [
      ['function-changed', '<iife>/a'],
      ['function-changed', '<iife>/x'],
      ['function-changed', '<iife>/m'],
      ['parameters-changed'],
      ['side-effect-changed'],
    ],
  },
  {
    name: "an import of a Node built-in now spelt with node: (vite 7.1.5's `sep` from 'node:path'): the same binding",
    a: "import { sep } from 'path';\nexport function join(a, b) { return a + sep + b; }\n",
    b: "import { sep } from 'node:path';\nexport function join(a, b) { return String(a) + sep + String(b); }\n",
    sourceType: 'module',
    expect: [['function-changed', 'join']],
    absent: [['dependency-unloadable'], ['import-added']],
  },
  {
    name: 'Babel helpers from a newer Babel (nunjucks 3.2.4: _setPrototypeOf binds, _createClass, _defineProperties with _toPropertyKey) beside the fix: the running helpers stay, the classes they built at load too',
    a: 'function _inheritsLoose(subClass, superClass) { subClass.prototype = Object.create(superClass.prototype); subClass.prototype.constructor = subClass; _setPrototypeOf(subClass, superClass); }\nfunction _setPrototypeOf(o, p) { _setPrototypeOf = Object.setPrototypeOf || function _setPrototypeOf(o, p) { o.__proto__ = p; return o; }; return _setPrototypeOf(o, p); }\nfunction _defineProperties(target, props) { for (var i = 0; i < props.length; i++) { var descriptor = props[i]; descriptor.enumerable = descriptor.enumerable || false; descriptor.configurable = true; if ("value" in descriptor) descriptor.writable = true; Object.defineProperty(target, descriptor.key, descriptor); } }\nfunction _createClass(Constructor, protoProps, staticProps) { if (protoProps) _defineProperties(Constructor.prototype, protoProps); if (staticProps) _defineProperties(Constructor, staticProps); return Constructor; }\nvar Base = function () { function Base() {} var _proto = Base.prototype; _proto.init = function init() {}; _createClass(Base, [{ key: "typename", get: function get() { return "Base"; } }]); return Base; }();\nvar Node = /*#__PURE__*/function (_Base) { _inheritsLoose(Node, _Base); function Node() { return _Base.apply(this, arguments) || this; } var _proto2 = Node.prototype; _proto2.render = function render(s) { return escape(s); }; return Node; }(Base);\nfunction escape(s) { return String(s).replace(/[<]/g, \'&lt;\'); }\nexports.Node = Node;\n',
    b: 'function _inheritsLoose(subClass, superClass) { subClass.prototype = Object.create(superClass.prototype); subClass.prototype.constructor = subClass; _setPrototypeOf(subClass, superClass); }\nfunction _setPrototypeOf(o, p) { _setPrototypeOf = Object.setPrototypeOf ? Object.setPrototypeOf.bind() : function _setPrototypeOf(o, p) { o.__proto__ = p; return o; }; return _setPrototypeOf(o, p); }\nfunction _defineProperties(target, props) { for (var i = 0; i < props.length; i++) { var descriptor = props[i]; descriptor.enumerable = descriptor.enumerable || false; descriptor.configurable = true; if ("value" in descriptor) descriptor.writable = true; Object.defineProperty(target, _toPropertyKey(descriptor.key), descriptor); } }\nfunction _createClass(Constructor, protoProps, staticProps) { if (protoProps) _defineProperties(Constructor.prototype, protoProps); if (staticProps) _defineProperties(Constructor, staticProps); Object.defineProperty(Constructor, "prototype", { writable: false }); return Constructor; }\nfunction _toPropertyKey(arg) { var key = _toPrimitive(arg, "string"); return typeof key === "symbol" ? key : String(key); }\nfunction _toPrimitive(input, hint) { if (typeof input !== "object" || input === null) return input; var prim = input[Symbol.toPrimitive]; if (prim !== undefined) { var res = prim.call(input, hint || "default"); if (typeof res !== "object") return res; throw new TypeError("@@toPrimitive must return a primitive value."); } return (hint === "string" ? String : Number)(input); }\nvar Base = function () { function Base() {} var _proto = Base.prototype; _proto.init = function init() {}; _createClass(Base, [{ key: "typename", get: function get() { return "Base"; } }]); return Base; }();\nvar Node = /*#__PURE__*/function (_Base) { _inheritsLoose(Node, _Base); function Node() { return _Base.apply(this, arguments) || this; } var _proto2 = Node.prototype; _proto2.render = function render(s) { return escape(s); }; return Node; }(Base);\nfunction escape(s) { return String(s).replace(/[<\\\\]/g, \'&lt;\'); }\nexports.Node = Node;\n',
    expect: [
      ['helper-equivalent', '_setPrototypeOf'],
      ['helper-equivalent', '_createClass'],
      ['helper-equivalent', '_defineProperties'],
      ['declaration-unused', '_toPropertyKey'],
      ['function-changed', 'escape'],
    ],
    absent: [
      ['function-changed', '_setPrototypeOf'],
      ['uses-changed-state', '_defineProperties'],
      ['changed-at-load'],
    ],
  },
  {
    name: "a module variable Babel renamed because a helper now needs the global of its name (nunjucks's `var Symbol` → `var _Symbol`): paired with the running one",
    a: "function make(n) { return { typename: n }; }\nvar Symbol = make('Symbol');\nfunction check(x) { return x === Symbol; }\nmodule.exports = { Symbol: Symbol, check: check };\n",
    b: "function make(n) { return { typename: n }; }\nvar _Symbol = make('Symbol');\nfunction check(x) { return x === _Symbol && typeof Symbol === 'function'; }\nmodule.exports = { Symbol: _Symbol, check: check };\n",
    expect: [['function-changed', 'check']],
    absent: [['new-constant', '_Symbol'], ['export-assigned'], ['removed-statement']],
  },
  {
    name: "an object literal of methods handed to code at load (d3-color's define(Rgb, rgb, extend(Color, {…}))): method syntax, a changed method and new methods nothing patched reads",
    a: "function define(C, f, proto) { C.prototype = f.prototype = proto; proto.constructor = C; }\nfunction Rgb(r) { this.r = r; }\nfunction rgb(r) { return new Rgb(r); }\nfunction rgb_format() { return 'rgb(' + this.r + ')'; }\ndefine(Rgb, rgb, {\n  brighter: function(k) { return new Rgb(this.r * k); },\n  format: rgb_format,\n  toString: rgb_format\n});\nexports.rgb = rgb;\n",
    b: "function define(C, f, proto) { C.prototype = f.prototype = proto; proto.constructor = C; }\nfunction Rgb(r) { this.r = r; }\nfunction rgb(r) { return new Rgb(r); }\nfunction rgb_format() { return 'rgb(' + clampi(this.r) + ')'; }\nfunction rgb_hex() { return '#' + clampi(this.r).toString(16); }\nfunction clampi(v) { return Math.max(0, Math.min(255, Math.round(v) || 0)); }\ndefine(Rgb, rgb, {\n  brighter(k) { return new Rgb(this.r * k); },\n  clamp() { return new Rgb(clampi(this.r)); },\n  format: rgb_format,\n  formatHex: rgb_hex,\n  toString: rgb_format,\n});\nexports.rgb = rgb;\n",
    expect: [
      ['property-added-unused', 'clamp'],
      ['property-added-unused', 'formatHex'],
      ['function-changed', 'rgb_format'],
      ['new-helper', 'clampi'],
    ],
    absent: [['side-effect-changed'], ['removed-statement'], ['new-helper', 'rgb_hex']],
  },
  {
    name: "registration calls inside a UMD factory (moment's addParseToken), with a borrowed Object.prototype.toString and entry calls tokens[tok](…): run again through the wrapper's accessor",
    a: "(function (global, factory) {\n  typeof exports === 'object' && typeof module !== 'undefined' ? module.exports = factory() : global.mo = factory();\n}(this, (function () { 'use strict';\n  function isNumber(input) { return typeof input === 'number' || Object.prototype.toString.call(input) === '[object Number]'; }\n  function toInt(x) { return x | 0; }\n  var tokens = {};\n  function addParseToken(token, callback) {\n    var i, func = callback;\n    if (typeof token === 'string') { token = [token]; }\n    if (isNumber(callback)) { func = function (input, array) { array[callback] = toInt(input); }; }\n    for (i = 0; i < token.length; i++) { tokens[token[i]] = func; }\n  }\n  function addWeekParseToken(token, callback) {\n    addParseToken(token, function (input, array, config, token) { config._w = config._w || {}; callback(input, config._w, config, token); });\n  }\n  addParseToken(['M', 'MM'], function (input, array) { array[1] = toInt(input) - 1; });\n  addParseToken('D', 2);\n  addWeekParseToken(['w', 'ww'], function (input, week) { week.w = toInt(input); });\n  function parse(tok, input) { var a = [], c = {}; tokens[tok](input, a, c, tok); return [a, c]; }\n  return { parse: parse };\n})));\n",
    b: "(function (global, factory) {\n  typeof exports === 'object' && typeof module !== 'undefined' ? module.exports = factory() : global.mo = factory();\n}(this, (function () { 'use strict';\n  function isNumber(input) { return typeof input === 'number' || Object.prototype.toString.call(input) === '[object Number]'; }\n  function toInt(x) { return x | 0; }\n  var tokens = {};\n  function addParseToken(token, callback) {\n    var i, func = callback, tokenLen;\n    if (typeof token === 'string') { token = [token]; }\n    if (isNumber(callback)) { func = function (input, array) { array[callback] = toInt(input); }; }\n    tokenLen = token.length;\n    for (i = 0; i < tokenLen; i++) { tokens[token[i]] = func; }\n  }\n  function addWeekParseToken(token, callback) {\n    addParseToken(token, function (input, array, config, token) { config._w = config._w || {}; callback(input, config._w, config, token); });\n  }\n  addParseToken(['M', 'MM'], function (input, array) { array[1] = toInt(input) - 1; });\n  addParseToken('D', 2);\n  addWeekParseToken(['w', 'ww'], function (input, week) { week.w = toInt(input); });\n  function parse(tok, input) { var a = [], c = {}; tokens[tok](input, a, c, tok); return [a, c]; }\n  return { parse: parse };\n})));\n",
    expect: [['registrations-rerun'], ['function-changed', 'call:arg1/addParseToken']],
  },
  {
    name: "registration calls made by a load-time loop (moment's `for (token = 'S'; …; token += 'S') addParseToken(token, parseMs)`): the loop runs again",
    a: registrationModule(MS_LOOP),
    b: registrationModule(MS_LOOP, '', true),
    expect: [
      ['registrations-rerun', '2 calls of call:arg1/addParseToken'],
      ['function-changed', 'call:arg1/addParseToken'],
    ],
    absent: [['changed-at-load']],
  },
  {
    name: "a helper of the registration function that running code calls too and that writes nothing (moment's isNumber): the registrations run again",
    a: registrationModule("  addParseToken('D', 2);", '  function set(x) { return isNumber(x) ? x : NaN; }'),
    b: registrationModule(
      "  addParseToken('D', 2);",
      '  function set(x) { return isNumber(x) ? x : NaN; }',
      true,
    ),
    expect: [['registrations-rerun', '1 calls of call:arg1/addParseToken']],
    absent: [['changed-at-load']],
  },
  {
    name: 'an array callback that gains a parameter, in an unchanged function: the function is redirected and makes it anew',
    a: 'function f(xs) { return xs.map((x) => x * 2); }\nexports.f = f;\n',
    b: 'function f(xs) { return xs.map((x, i) => x * i); }\nexports.f = f;\n',
    expect: [['host-of-changed-closure', 'f'], ['callback-in-changed-function']],
  },
  {
    name: "a new parameter that patched code passes (svelte's escape(value, is_attr)): those calls go to the replacement directly",
    a: "const escaped = { '<': '&lt;', '\"': '&quot;' };\nfunction escape(html) { return String(html).replace(/[<\"]/g, (c) => escaped[c]); }\nfunction attr(v) { return typeof v === 'string' ? escape(v) : v; }\nexports.escape = escape;\nexports.attr = attr;\n",
    b: "function escape(value, is_attr = false) { const s = String(value); return is_attr ? s.replace(/[&\"]/g, (c) => (c === '&' ? '&amp;' : '&quot;')) : s.replace(/[&<]/g, (c) => (c === '&' ? '&amp;' : '&lt;')); }\nfunction attr(v) { return typeof v === 'string' || (v && typeof v === 'object') ? escape(v, true) : v; }\nexports.escape = escape;\nexports.attr = attr;\n",
    expect: [
      ['parameters-passed-directly', 'escape'],
      ['function-changed', 'attr'],
    ],
  },
  {
    name: "an ES module's exported regular expression the fix changes (valibot EMOJI_REGEX): recompiled in place",
    a: 'var EMOJI_REGEX = /^(?:\\p{Emoji_Presentation}|\\p{Emoji}\\uFE0F)+$/u;\nfunction emoji() { return { requirement: EMOJI_REGEX, run(s) { return this.requirement.test(s); } }; }\nexport { EMOJI_REGEX, emoji };\n',
    b: 'const EMOJI_REGEX = /^(?:\\p{Emoji_Presentation}|\\p{Emoji}\\uFE0F){1,32}$/u;\nfunction emoji() { return { requirement: EMOJI_REGEX, run(s) { return this.requirement.test(s); } }; }\nexport { EMOJI_REGEX, emoji };\n',
    sourceType: 'module',
    expect: [['regex-recompiled', 'EMOJI_REGEX']],
  },
  {
    name: 'a regular expression of a UMD wrapper, kept by a closure, built with new RegExp of string literals: recompiled in place',
    a: "(function (root) {\n  var TAG = new RegExp('<(\\\\w+)>', 'g');\n  root.tags = function (s) { TAG.lastIndex = 0; return s.match(TAG); };\n})(exports);\n",
    b: "(function (root) {\n  var TAG = new RegExp('<([a-z]{1,16})>', 'g');\n  root.tags = function (s) { TAG.lastIndex = 0; return s.match(TAG); };\n})(exports);\n",
    expect: [['regex-recompiled', 'TAG']],
  },
  {
    name: 'a variable the fix adds to a factory, read by the closure it returns (body-parser depth): a shadow variable',
    a: 'function make(options) {\n  var opts = options || {};\n  var limit = opts.limit || 10;\n  return function handler(x) { return x.length <= limit; };\n}\nexports.make = make;\n',
    b: "function make(options) {\n  var opts = options || {};\n  var limit = opts.limit || 10;\n  var depth = typeof opts.depth !== 'number' ? Number(opts.depth || 32) : opts.depth;\n  return function handler(x) { return x.length <= limit && x.split('[').length <= depth; };\n}\nexports.make = make;\n",
    expect: [['closure-state-shadowed'], ['function-changed', 'make']],
  },
  {
    name: 'a parameter a bundler renamed (config_ → config$1), read by a nested closure: reached under its running name',
    a: 'function wrap(schema) {\n  return { run(data, config_) { return () => [schema, data, config_]; } };\n}\nexports.wrap = wrap;\n',
    b: 'function wrap(schema) {\n  return { run(data, config$1) { return () => [schema, data, config$1, 1]; } };\n}\nexports.wrap = wrap;\n',
    expect: [['closure-changed']],
  },
  {
    name: 'a removed helper replaced by one the fixed code calls with more values (urlToOptions → spreadUrlObject): a new function',
    a: 'function toOptions(u) { return { host: u.host }; }\nfunction go(u) { return toOptions(u); }\nexports.go = go;\n',
    b: 'function spread(u, target) { var t = target || {}; t.host = u.host; return t; }\nfunction go(u) { return spread(u, {}); }\nexports.go = go;\n',
    expect: [
      ['new-helper', 'spread'],
      ['removed-function', 'toOptions'],
    ],
  },
  {
    name: 'a new module variable set by a try statement at load (follow-redirects useNativeURL): run again at apply',
    a: "var assert = require('assert');\nfunction parse(s) { return new URL(s); }\nexports.parse = parse;\n",
    b: "var assert = require('assert');\nvar native = false;\ntry { assert(new URL('http://a')); } catch (error) { native = error.code === 'ERR_INVALID_URL'; }\nfunction parse(s) { return native ? new URL(s) : null; }\nexports.parse = parse;\n",
    expect: [['state-rebuilt'], ['new-state', 'native']],
  },
  {
    name: 'an object literal inside a UMD/IIFE wrapper (ua-parser-js regexes): a cell, not updated in place',
    a: '(function (root) {\n  var regexes = { browser: [/a/], os: [/x/] };\n  root.parse = function (s) { return regexes.browser[0].test(s); };\n})(exports);\n',
    b: '(function (root) {\n  var regexes = { browser: [/b/], os: [/x/] };\n  root.parse = function (s) { return regexes.browser[0].test(s); };\n})(exports);\n',
    expect: [['constant-changed', 'regexes']],
  },
  {
    name: 'an unchanged alias of a changed constant, exported (validator 13.7.0 CountryCodes): rebuilt and re-exported',
    a: "var codes = ['AD', 'AE'];\nfunction has(c) { return codes.indexOf(c) >= 0; }\nvar CountryCodes = codes;\nexports.has = has;\nexports.CountryCodes = CountryCodes;\n",
    b: "var codes = new Set(['AD', 'AE']);\nfunction has(c) { return codes.has(c); }\nvar CountryCodes = codes;\nexports.has = has;\nexports.CountryCodes = CountryCodes;\n",
    expect: [
      ['constant-changed', 'CountryCodes'],
      ['export-assigned', 'exports.CountryCodes'],
    ],
  },
  {
    name: 'an object literal that load-time code copies (marked: block.normal = merge({}, block)): a cell, and the copy made again',
    a: 'const block = { def: /a+/, x: 1 };\nblock.normal = Object.assign({}, block);\nexports.lex = (s) => block.normal.def.test(s);\n',
    b: 'const block = { def: /b+/, x: 1 };\nblock.normal = Object.assign({}, block);\nexports.lex = (s) => block.normal.def.test(s);\n',
    expect: [
      ['constant-changed', 'block'],
      ['export-assigned', 'block.normal'],
    ],
  },
  {
    name: 'a TypeScript enum gained a member (tsc: E[E["B"] = 1] = "B")',
    a: 'var E;\n(function (E) {\n  E[E["A"] = 0] = "A";\n})(E || (E = {}));\nexports.E = E;\n',
    b: 'var E;\n(function (E) {\n  E[E["A"] = 0] = "A";\n  E[E["B"] = 1] = "B";\n})(E || (E = {}));\nexports.E = E;\n',
    expect: [
      ['export-assigned', 'E["B"]'],
      ['export-assigned', 'E[1]'],
    ],
  },
  {
    name: 'a class gained a static field and lost another: set and deleted on the running class',
    a: 'class C { static OLD = 1; static get(k) { return C[k]; } }\nexports.C = C;\n',
    b: "class C { static NEW = { name: 'n' }; static get(k) { return C[k]; } }\nexports.C = C;\n",
    expect: [
      ['object-updated', 'C.NEW'],
      ['object-updated', 'C.OLD (removed)'],
    ],
  },
  {
    name: "a changed closure whose default parameter reads its factory's parameter",
    a: 'function make(def) { return (size = def) => ({ n: size }); }\nexports.make = make;\n',
    b: 'function make(def) { return (size = def) => ({ n: size | 0 }); }\nexports.make = make;\n',
    expect: [['closure-changed']],
  },
  {
    name: 'an exported object literal with a changed, a new and a removed property: updated in place',
    a: "const defaults = { depth: 10, html: true, mode: 'a' };\nexport { defaults };\nexport const get = (k) => defaults[k];\n",
    b: "const defaults = { depth: 5, mode: 'a', strict: true };\nexport { defaults };\nexport const get = (k) => defaults[k];\n",
    sourceType: 'module',
    expect: [
      ['object-updated', 'defaults.depth'],
      ['object-updated', 'defaults.strict'],
      ['object-updated', 'defaults.html (removed)'],
    ],
  },
  {
    name: "a bundler's frozen namespace object that only loses a helper the fix removed",
    a: 'function assign(t, p) { for (const k in p) t[k] = p[k]; return t; }\nfunction merge(a, b) { return assign(assign({}, a), b); }\nvar utils = Object.freeze({ __proto__: null, assign: assign, merge: merge });\nexport { utils };\n',
    b: 'function merge(a, b) { return Object.assign({}, a, b); }\nvar utils = Object.freeze({ __proto__: null, merge: merge });\nexport { utils };\n',
    sourceType: 'module',
    expect: [
      ['function-changed', 'merge'],
      ['removed-statement', 'utils.assign'],
    ],
  },
  {
    name: 'the last statement of a file without a trailing newline, unchanged',
    a: 'function f(a) { return a + 1; }\nmodule.exports = f;',
    b: 'function f(a) { return a + 2; }\nmodule.exports = f;\n',
    expect: [['function-changed', 'f']],
  },
  {
    name: 'an arrow function gained a parameter no caller passes: it takes its default',
    a: 'const f = (a) => a + 1;\nmodule.exports = f;\n',
    b: 'const f = (a, b = 2) => a + b;\nmodule.exports = f;\n',
    expect: [
      ['function-changed', 'f'],
      ['parameters-added', 'f'],
    ],
  },
  {
    name: 'a default parameter as Babel compiles it (arguments.length > K && arguments[K] !== undefined)',
    a: 'function f(a) { return a + 1; }\nexports.f = f;\n',
    b: 'function f(a) { var b = arguments.length > 1 && arguments[1] !== undefined ? arguments[1] : 2; return a + b; }\nexports.f = f;\n',
    expect: [
      ['function-changed', 'f'],
      ['parameters-added', 'f'],
    ],
  },
  {
    name: 'a table load-time code fills, with new entries: the code runs again at apply',
    a: "const T = {};\nfor (const k of ['a', 'b']) T[k] = true;\nexports.has = (k) => T[k] === true;\n",
    b: "const T = {};\nfor (const k of ['a', 'b', 'c']) T[k] = true;\nexports.has = (k) => T[k] === true;\n",
    expect: [['state-rebuilt']],
  },
  {
    name: 'a changed top-level function',
    a: 'function f(a) { return a + 1; }\nmodule.exports = f;\n',
    b: 'function f(a) { return a + 2; }\nmodule.exports = f;\n',
    expect: [['function-changed', 'f']],
  },
  {
    name: 'a function that uses arguments keeps receiving all of them',
    a: 'function f() { return arguments.length; }\nmodule.exports = f;\n',
    b: 'function f() { return arguments.length + 1; }\nmodule.exports = f;\n',
    expect: [['function-changed', 'f']],
  },
  {
    name: 'an ES module export',
    sourceType: 'module',
    a: 'export function f(a) { return a + 1; }\n',
    b: 'export function f(a) { return a + 2; }\n',
    expect: [['function-changed', 'f']],
  },
  {
    name: 'a closure made by a factory',
    a: 'function make(n) { return function inner(x) { return x + n; }; }\nmodule.exports = make;\n',
    b: 'function make(n) { return function inner(x) { return x - n; }; }\nmodule.exports = make;\n',
    expect: [['closure-changed', 'make/inner']],
  },
  {
    name: 'a recursive named function expression (goes through its guard)',
    a: 'function make(n) { return function walk(x) { return x > n ? walk(x - 1) : x; }; }\nmodule.exports = make;\n',
    b: 'function make(n) { return function walk(x) { return x > n ? walk(x - 2) : x; }; }\nmodule.exports = make;\n',
    expect: [['closure-changed', 'make/walk']],
  },
  {
    name: 'a class method',
    a: 'class A { m(x) { return x + 1; } }\nmodule.exports = A;\n',
    b: 'class A { m(x) { return x + 2; } }\nmodule.exports = A;\n',
    expect: [['method-changed', 'A#m']],
  },
  {
    name: 'a method that calls super',
    a: 'class B { m() { return 1; } }\nclass A extends B { m() { return super.m() + 1; } }\nmodule.exports = A;\n',
    b: 'class B { m() { return 1; } }\nclass A extends B { m() { return super.m() + 2; } }\nmodule.exports = A;\n',
    expect: [['method-changed', 'A#m']],
  },
  {
    name: 'a class constructor',
    a: 'class A { constructor(x) { this.x = x; } }\nmodule.exports = A;\n',
    b: 'class A { constructor(x) { this.x = String(x); } }\nmodule.exports = A;\n',
    expect: [['constructor-changed', 'A#constructor']],
  },
  {
    name: 'the constructor of a derived class',
    a: 'class B {}\nclass A extends B { constructor(x) { super(); this.y = x; } }\nmodule.exports = A;\n',
    b: 'class B {}\nclass A extends B { constructor(x) { super(); this.y = String(x); } }\nmodule.exports = A;\n',
    expect: [['derived-constructor-changed', 'A#constructor']],
  },
  {
    name: 'a callback nested in a changed function, using a new variable of it',
    a: 'function f(xs) { return xs.map(function (x) { return x; }); }\nmodule.exports = f;\n',
    b: 'function f(xs) { const k = 2; return xs.map(function (x) { return x * k; }); }\nmodule.exports = f;\n',
    expect: [['function-changed', 'f'], ['callback-in-changed-function']],
  },
  {
    name: 'a new module-level helper',
    a: 'function f(a) { return a; }\nmodule.exports = f;\n',
    b: "function check(a) { if (a === '__proto__') throw new Error('no'); }\nfunction f(a) { check(a); return a; }\nmodule.exports = f;\n",
    expect: [
      ['new-helper', 'check'],
      ['function-changed', 'f'],
    ],
  },
  {
    name: 'a new module-level constant',
    a: 'function f(a) { return a.length < 10; }\nmodule.exports = f;\n',
    b: 'const MAX = 5;\nfunction f(a) { return a.length < MAX; }\nmodule.exports = f;\n',
    expect: [['new-constant', 'MAX']],
  },
  {
    name: 'new state kept from first use',
    a: 'function f(a) { return a; }\nmodule.exports = f;\n',
    b: 'let calls = 0;\nfunction f(a) { calls++; return calls > 100 ? null : a; }\nmodule.exports = f;\n',
    expect: [['new-state', 'calls']],
  },
  {
    name: 'new state built at load (a Map)',
    a: 'function f(a) { return a; }\nmodule.exports = f;\n',
    b: 'const seen = new Map();\nfunction f(a) { seen.set(a, 1); return a; }\nmodule.exports = f;\n',
    expect: [['new-constant', 'seen']],
  },
  {
    name: 'a changed module-level regex, read by an unchanged function: recompiled in place, the function left alone',
    a: 'const RE = /(a+)+b/;\nfunction f(a) { return RE.test(a); }\nmodule.exports = f;\n',
    b: 'const RE = /a+b/;\nfunction f(a) { return RE.test(a); }\nmodule.exports = f;\n',
    expect: [['regex-recompiled', 'RE']],
  },
  {
    name: 'a changed regex that load-time code derives another from: a cell, the derived one rebuilt',
    a: "const RE = /(a+)+b/;\nconst FULL = new RegExp('^' + RE.source + '$');\nfunction f(a) { return FULL.test(a); }\nmodule.exports = f;\n",
    b: "const RE = /a+b/;\nconst FULL = new RegExp('^' + RE.source + '$');\nfunction f(a) { return FULL.test(a); }\nmodule.exports = f;\n",
    expect: [['constant-changed', 'RE']],
  },
  {
    name: 'a renamed function, matched to the running one by content',
    a: 'function oldName(a) { return a + 1; }\nfunction g(a) { return oldName(a); }\nmodule.exports = g;\n',
    b: 'function newName(a) { return a + 2; }\nfunction g(a) { return newName(a); }\nmodule.exports = g;\n',
    expect: [['function-changed', 'oldName']],
  },
  {
    name: 'a new require() of a built-in module',
    a: 'function f(a) { return String(a); }\nmodule.exports = f;\n',
    b: "const util = require('node:util');\nfunction f(a) { return util.inspect(a); }\nmodule.exports = f;\n",
    expect: [['dependency-added', 'util']],
  },
  {
    name: 'a destructured new require()',
    a: 'function f(a) { return String(a); }\nmodule.exports = f;\n',
    b: "const { inspect } = require('node:util');\nfunction f(a) { return inspect(a); }\nmodule.exports = f;\n",
    expect: [['dependency-added', 'inspect']],
  },
  {
    name: 'a new ES module import',
    sourceType: 'module',
    a: 'export function f(a) { return String(a); }\n',
    b: "import { inspect } from 'node:util';\nexport function f(a) { return inspect(a); }\n",
    expect: [['import-added', 'inspect']],
  },
  {
    name: 'module.exports gains a property',
    a: 'function f(a) { return a; }\nfunction g(a) { return a; }\nmodule.exports = { f };\n',
    b: 'function f(a) { return a; }\nfunction g(a) { return a; }\nmodule.exports = { f, g };\n',
    expect: [['export-assigned', 'module.exports.g']],
  },
  {
    name: 'a changed export computed at load (re-run at apply)',
    a: "exports.pattern = (function () { return new RegExp('(a+)+$'); })();\nexports.test = function (s) { return exports.pattern.test(s); };\n",
    b: "exports.pattern = (function () { return new RegExp('a+$'); })();\nexports.test = function (s) { return exports.pattern.test(s); };\n",
    expect: [['export-assigned', 'exports.pattern']],
  },
  {
    name: 'a method added to a class',
    a: 'class A { m() { return 1; } }\nmodule.exports = A;\n',
    b: 'class A { check() { return true; } m() { return this.check() ? 1 : 0; } }\nmodule.exports = A;\n',
    expect: [
      ['export-assigned', 'A#check'],
      ['method-changed', 'A#m'],
    ],
  },
  {
    name: 'a literal of a UMD wrapper no closure captured',
    a: '(function (f) { f(exports); })(function (exports) { var LIMIT = 3; var m = LIMIT; exports.check = function (s) { return s.length < 100; }; exports.m = m; });\n',
    b: '(function (f) { f(exports); })(function (exports) { var LIMIT = 3; var m = LIMIT; exports.check = function (s) { return s.length <= LIMIT; }; exports.m = m; });\n',
    expect: [['function-changed']],
  },
  {
    name: 'an uncaptured literal of the enclosing function, inlined',
    a: 'function make() { const unit = 10; return function inner(x) { return x; }; }\nmodule.exports = make;\n',
    b: 'function make() { const unit = 10; return function inner(x) { return x * unit; }; }\nmodule.exports = make;\n',
    expect: [['closure-changed', 'make/inner']],
  },
  {
    name: 'a constant copied at load from another file whose export changed',
    a: "const { MAX } = require('./constants');\nfunction f(a) { return a.length < MAX; }\nmodule.exports = f;\n",
    b: "const { MAX } = require('./constants');\nfunction f(a) { return a.length < MAX; }\nmodule.exports = f;\n",
    input: { importedConstants: new Map([['MAX', { text: '100', from: "constants.js's MAX" }]]) },
    expect: [
      ['imported-constant-changed', 'MAX'],
      ['uses-changed-state', 'f'],
    ],
  },
  {
    name: 'an unchanged file whose constant was computed at load by a changed sibling: a cell, computed again',
    a: "const util = require('./util');\nconst LIMIT = util.limit();\nexports.accept = (n) => n <= LIMIT;\n",
    b: "const util = require('./util');\nconst LIMIT = util.limit();\nexports.accept = (n) => n <= LIMIT;\n",
    input: {
      path: 'lib/index.js',
      changedFiles: new Map([['lib/util.js', 'all' as const]]),
      importsChangedFile: true,
    },
    expect: [
      ['constant-changed', 'LIMIT'],
      ['uses-changed-state', 'exports.accept'],
    ],
  },
  {
    name: 'an unchanged statement that exports what a changed imported function computes at load: run again',
    a: "import { make } from './make.js';\nconst table = make();\nexport function get(k) { return table[k]; }\n",
    b: "import { make } from './make.js';\nconst table = make();\nexport function get(k) { return table[k]; }\n",
    sourceType: 'module',
    input: {
      path: 'index.js',
      changedFiles: new Map([['make.js', new Set(['make'])]]),
      importsChangedFile: true,
    },
    expect: [
      ['constant-changed', 'table'],
      ['uses-changed-state', 'get'],
    ],
  },
  {
    name: 'an unchanged class whose static field a changed function computes at load: set on the running class',
    a: 'function make() { return 1000; }\nclass C { static LIMIT = make(); x = make(); }\nexports.C = C;\n',
    b: 'function make() { return 10; }\nclass C { static LIMIT = make(); x = make(); }\nexports.C = C;\n',
    expect: [
      ['constant-changed', 'C.LIMIT'],
      ['object-updated', 'C.LIMIT'],
    ],
  },
  {
    name: "an IIFE's call statement is not refused for what its own statements handle (a cell and an export re-run)",
    a: "(function (root) {\n  function make() { return 'old'; }\n  var X = make();\n  root.Y = make();\n  root.get = function () { return X; };\n})(exports);\n",
    b: "(function (root) {\n  function make() { return 'new'; }\n  var X = make();\n  root.Y = make();\n  root.get = function () { return X; };\n})(exports);\n",
    expect: [
      ['constant-changed', 'X'],
      ['export-assigned', 'root.Y'],
    ],
  },
  {
    name: "registration calls of a changed function that fills the module's tables (semver's createToken): run again, counter reset",
    a: "const debug = require('./debug');\nconst re = exports.re = [];\nconst t = exports.t = {};\nlet R = 0;\nconst createToken = (name, value) => {\n  const index = R++;\n  debug(name, index);\n  t[name] = index;\n  re[index] = new RegExp(value);\n};\ncreateToken('A', 'a\\\\s*');\ncreateToken('B', re[t.A].source + 'b');\nexports.test = (s) => re[t.B].test(s);\n",
    b: "const debug = require('./debug');\nconst re = exports.re = [];\nconst safeRe = exports.safeRe = [];\nconst t = exports.t = {};\nlet R = 0;\nconst createToken = (name, value) => {\n  const safe = value.split('\\\\s*').join('\\\\s{0,1}');\n  const index = R++;\n  debug(name, index);\n  t[name] = index;\n  re[index] = new RegExp(value);\n  safeRe[index] = new RegExp(safe);\n};\ncreateToken('A', 'a\\\\s*');\ncreateToken('B', re[t.A].source + 'b');\nexports.test = (s) => safeRe[t.B].test(s);\n",
    input: { quietModule: (spec) => spec === './debug' },
    expect: [
      ['registrations-rerun', '2 calls of createToken'],
      ['new-constant', 'safeRe'],
    ],
  },
  {
    name: 'a version literal stays as it is',
    a: "exports.version = '1.0.0';\nexports.f = function f(a) { return a; };\n",
    b: "exports.version = '1.0.1';\nexports.f = function f(a) { return a + 1; };\n",
    input: { oldVersion: '1.0.0', newVersion: '1.0.1' },
    expect: [['version-literal'], ['function-changed', 'f']],
  },
  {
    name: 'a removed function and a removed statement are deferred',
    a: "function old(a) { return a; }\nfunction f(a) { return a; }\nconsole.debug('x');\nmodule.exports = f;\n",
    b: 'function f(a) { return a + 1; }\nmodule.exports = f;\n',
    expect: [['removed-function', 'old'], ['removed-statement']],
  },
  {
    name: '--exclude leaves a change out',
    a: 'function f(a) { return a + 1; }\nfunction g(a) { return a; }\nmodule.exports = { f, g };\n',
    b: 'function f(a) { return a + 2; }\nfunction g(a) { return a * 2; }\nmodule.exports = { f, g };\n',
    input: { exclude: new Set(['g']) },
    expect: [
      ['function-changed', 'f'],
      ['excluded', 'g'],
    ],
  },
  {
    name: '--only selects, and defers what it leaves out',
    a: 'function f(a) { return a + 1; }\nfunction g(a) { return a; }\nmodule.exports = { f, g };\n',
    b: 'function f(a) { return a + 2; }\nfunction g(a) { return a * 2; }\nmodule.exports = { f, g };\n',
    input: { only: new Set(['f']) },
    expect: [
      ['function-changed', 'f'],
      ['not-selected', 'g'],
    ],
  },
  {
    name: 'a new export nobody needs is deferred',
    sourceType: 'module',
    a: 'function f(a) { return a; }\nexport { f };\n',
    b: 'function f(a) { return a + 1; }\nfunction g() {}\nexport { f, g };\n',
    expect: [['export-added-unused'], ['function-changed', 'f']],
  },
  {
    name: 'a memo a changed function builds once is reset at apply',
    a: 'let table;\nfunction get() { if (!table) { table = { a: 1 }; } return table; }\nexports.get = get;\n',
    b: 'let table;\nfunction get() { if (!table) { table = { a: 1, b: 2 }; } return table; }\nexports.get = get;\n',
    expect: [
      ['memo-reset', 'table'],
      ['function-changed', 'get'],
    ],
  },
  {
    name: 'a changed callback that needs a block-scoped variable: its host is redirected',
    a: 'function f(xs) { for (const x of xs) { const y = x; [1].forEach(() => g(y)); } }\nfunction g() {}\nmodule.exports = f;\n',
    b: 'function f(xs) { for (const x of xs) { const y = x; [1].forEach(() => g(y, 1)); } }\nfunction g() {}\nmodule.exports = f;\n',
    expect: [['host-of-changed-closure', 'f'], ['callback-in-changed-function']],
  },
  {
    name: 'a function expression that became an arrow (no this, no arguments)',
    a: 'const f = function (a) { return a + 1; };\nmodule.exports = f;\n',
    b: 'const f = (a) => a + 2;\nmodule.exports = f;\n',
    expect: [['function-changed', 'f']],
  },
  {
    name: 'a shorthand property naming an enclosing variable keeps its key',
    a: 'function make(limit) { return function check(s) { return { ok: true, limit: limit }; }; }\nmodule.exports = make;\n',
    b: 'function make(limit) { return function check(s) { return { ok: s.length < limit, limit }; }; }\nmodule.exports = make;\n',
    expect: [['closure-changed', 'make/check']],
  },
];

const restart: Case[] = [
  {
    name: 'a callback a helper keeps in a closure it stores (not only called): the running closures persist, a variable only the new caller has is out of reach',
    a:
      'const later = [];\nfunction defer(cb) { later.push(() => cb()); }\n' +
      'function compile(paths) { for (const p of paths) { defer(() => p.length); } }\nexports.compile = compile;\n',
    b:
      'const later = [];\nfunction defer(cb) { later.push(() => cb()); }\n' +
      'function compile(paths) { for (const p of paths) { const d = p; defer(() => d.length + 1); } }\nexports.compile = compile;\n',
    expect: [['binding-unreachable', 'compile/defer:arg0']],
  },
  {
    name: 'a `var X = class` that running code reassigns, changed beyond its methods',
    a: 'var C = class { static N = 1; };\nexports.reset = () => { C = class {}; };\nexports.C = () => C;\n',
    b: 'var C = class { static N = 2; };\nexports.reset = () => { C = class {}; };\nexports.C = () => C;\n',
    expect: [['state-mutated-changed', 'C']],
  },
  {
    name: 'a changed object inside a run-once wrapper that running code changes in place (a counter `t.n++`): a new object would drop what it holds',
    a: '(function () {\n  var t = { n: 0, max: 10 };\n  function hit() { t.n++; return t.n <= t.max; }\n  module.exports = { hit: hit };\n})();\n',
    b: '(function () {\n  var t = { n: 0, max: 5 };\n  function hit() { t.n++; return t.n <= t.max; }\n  module.exports = { hit: hit };\n})();\n',
    expect: [['state-mutated-changed', 't']],
    absent: [['constant-changed'], ['uses-changed-state']],
  },
  {
    name: 'a changed list inside a run-once wrapper that running code pushes to, or a property of it (`seen.list.push(x)`, `Object.assign(o, …)`)',
    a: '(function () {\n  var seen = { list: [] };\n  var o = { a: 1 };\n  function see(x) { seen.list.push(x); Object.assign(o, x); return seen.list.length; }\n  module.exports = { see: see };\n})();\n',
    b: '(function () {\n  var seen = { list: [], max: 3 };\n  var o = { a: 2 };\n  function see(x) { seen.list.push(x); Object.assign(o, x); return seen.list.length; }\n  module.exports = { see: see };\n})();\n',
    expect: [
      ['state-mutated-changed', 'seen'],
      ['state-mutated-changed', 'o'],
    ],
    absent: [['constant-changed']],
  },
  {
    name: 'a minified build whose module counter really starts elsewhere now, under a new minified name (`t` became `n`): the same variable, a changed initial value of state running code assigns (read by name, it looked like new state)',
    a: '(()=>{let t=0;const r=10;function e(){if(t>=r)throw new Error("full");return++t}module.exports={take:e}})();\n',
    b: '(()=>{let n=1;const r=10;function e(){if(n>=r)throw new Error("full");return++n}module.exports={take:e}})();\n',
    input: { minified: true },
    expect: [['state-mutated-changed', 't']],
    absent: [['function-changed', '<iife>/e'], ['new-state']],
  },

  {
    name: 'an import that moves to another package of the same name without node: (not a built-in)',
    a: "import { parse } from 'qs';\nexport function f(s) { return parse(s); }\n",
    b: "import { parse } from 'node:qs';\nexport function f(s) { return parse(s); }\n",
    sourceType: 'module',
    expect: [['dependency-unloadable']],
  },
  {
    name: 'a compiler helper whose new version is not a listed release (edited by hand): compared as code, its load-time calls refused',
    a: 'function _inheritsLoose(subClass, superClass) { subClass.prototype = Object.create(superClass.prototype); subClass.prototype.constructor = subClass; _setPrototypeOf(subClass, superClass); }\nfunction _setPrototypeOf(o, p) { _setPrototypeOf = Object.setPrototypeOf || function _setPrototypeOf(o, p) { o.__proto__ = p; return o; }; return _setPrototypeOf(o, p); }\nfunction _defineProperties(target, props) { for (var i = 0; i < props.length; i++) { var descriptor = props[i]; descriptor.enumerable = descriptor.enumerable || false; descriptor.configurable = true; if ("value" in descriptor) descriptor.writable = true; Object.defineProperty(target, descriptor.key, descriptor); } }\nfunction _createClass(Constructor, protoProps, staticProps) { if (protoProps) _defineProperties(Constructor.prototype, protoProps); if (staticProps) _defineProperties(Constructor, staticProps); return Constructor; }\nvar Base = function () { function Base() {} var _proto = Base.prototype; _proto.init = function init() {}; _createClass(Base, [{ key: "typename", get: function get() { return "Base"; } }]); return Base; }();\nvar Node = /*#__PURE__*/function (_Base) { _inheritsLoose(Node, _Base); function Node() { return _Base.apply(this, arguments) || this; } var _proto2 = Node.prototype; _proto2.render = function render(s) { return escape(s); }; return Node; }(Base);\nexports.Node = Node;\n',
    b: 'function _inheritsLoose(subClass, superClass) { subClass.prototype = Object.create(superClass.prototype); subClass.prototype.constructor = subClass; _setPrototypeOf(subClass, superClass); }\nfunction _setPrototypeOf(o, p) { _setPrototypeOf = Object.setPrototypeOf ? Object.setPrototypeOf.bind(Object) : function _setPrototypeOf(o, p) { o.__proto__ = p; return o; }; return _setPrototypeOf(o, p); }\nfunction _defineProperties(target, props) { for (var i = 0; i < props.length; i++) { var descriptor = props[i]; descriptor.enumerable = descriptor.enumerable || false; descriptor.configurable = true; if ("value" in descriptor) descriptor.writable = true; Object.defineProperty(target, _toPropertyKey(descriptor.key), descriptor); } }\nfunction _createClass(Constructor, protoProps, staticProps) { if (protoProps) _defineProperties(Constructor.prototype, protoProps); if (staticProps) _defineProperties(Constructor, staticProps); Object.defineProperty(Constructor, "prototype", { writable: false }); return Constructor; }\nfunction _toPropertyKey(arg) { var key = _toPrimitive(arg, "string"); return typeof key === "symbol" ? key : String(key); }\nfunction _toPrimitive(input, hint) { if (typeof input !== "object" || input === null) return input; var prim = input[Symbol.toPrimitive]; if (prim !== undefined) { var res = prim.call(input, hint || "default"); if (typeof res !== "object") return res; throw new TypeError("@@toPrimitive must return a primitive value."); } return (hint === "string" ? String : Number)(input); }\nvar Base = function () { function Base() {} var _proto = Base.prototype; _proto.init = function init() {}; _createClass(Base, [{ key: "typename", get: function get() { return "Base"; } }]); return Base; }();\nvar Node = /*#__PURE__*/function (_Base) { _inheritsLoose(Node, _Base); function Node() { return _Base.apply(this, arguments) || this; } var _proto2 = Node.prototype; _proto2.render = function render(s) { return escape(s); }; return Node; }(Base);\nexports.Node = Node;\n',
    expect: [['changed-at-load']],
  },
  {
    name: 'an object literal handed on at load that gains a property computed by a call: not a quiet addition',
    a: 'function define(C, proto) { C.prototype = proto; }\nfunction Rgb() {}\ndefine(Rgb, { a: function() { return 1; } });\nexports.Rgb = Rgb;\n',
    b: 'function define(C, proto) { C.prototype = proto; }\nfunction Rgb() {}\nfunction make() { return function () { return 2; }; }\ndefine(Rgb, { a() { return 1; }, b: make() });\nexports.Rgb = Rgb;\n',
    expect: [['side-effect-changed']],
  },
  {
    name: 'an object literal handed on at load whose existing property changes value: not only additions',
    a: 'function define(C, proto) { C.prototype = proto; }\nfunction Rgb() {}\nfunction f() { return 1; }\nfunction g() { return 2; }\ndefine(Rgb, { a: f });\nexports.Rgb = Rgb;\n',
    b: 'function define(C, proto) { C.prototype = proto; }\nfunction Rgb() {}\nfunction f() { return 1; }\nfunction g() { return 2; }\ndefine(Rgb, { a: g, b: f });\nexports.Rgb = Rgb;\n',
    expect: [['side-effect-changed']],
  },
  {
    name: 'a bundler-renumbered module variable that cannot be paired (its namesake is used by other functions)',
    a: 'var store;\nfunction a() { if (!store) store = 1; return store; }\nvar store2 = new Map();\nvar store3 = new Map();\nfunction b(k) { return store2.get(k) ?? store3.get(k); }\nexports.a = a;\nexports.b = b;\n',
    b: 'var store$1;\nfunction a() { if (!store$1) store$1 = 1; return store$1; }\nvar store = new Map();\nfunction b(k) { return store.get(k) ?? 0; }\nexports.a = a;\nexports.b = b;\n',
    expect: [['binding-renamed', 'store']],
  },
  {
    name: 'a registration loop whose variable running code reads afterwards: not run again',
    a: registrationModule(MS_LOOP, '  function last() { return token; }'),
    b: registrationModule(MS_LOOP, '  function last() { return token; }', true),
    expect: [['changed-at-load']],
    absent: [['registrations-rerun']],
  },
  {
    name: 'a registration loop whose head reads a list that running code extends: not run again',
    a: registrationModule(
      "  var k, names = ['S', 'SS'];\n  for (k = 0; k < names.length; k++) addParseToken(names[k], parseMs);",
      '  function more(n) { names.push(n); }',
    ),
    b: registrationModule(
      "  var k, names = ['S', 'SS'];\n  for (k = 0; k < names.length; k++) addParseToken(names[k], parseMs);",
      '  function more(n) { names.push(n); }',
      true,
    ),
    expect: [['changed-at-load']],
    absent: [['registrations-rerun']],
  },
  {
    name: 'a registration loop whose head calls a function (its steps may differ when run again): not run again',
    a: registrationModule(
      "  var k, m = [3];\n  function count() { return m.length; }\n  for (k = 0; k < count(); k++) addParseToken('S' + k, parseMs);",
    ),
    b: registrationModule(
      "  var k, m = [3];\n  function count() { return m.length; }\n  for (k = 0; k < count(); k++) addParseToken('S' + k, parseMs);",
      '',
      true,
    ),
    expect: [['changed-at-load']],
    absent: [['registrations-rerun']],
  },
  {
    name: 'a helper of the registration function that writes the table and that running code calls too: not run again',
    a: registrationModule(
      "  function put(k, f) { tokens[k] = f; }\n  addParseToken('D', 2);",
      '  function later(k) { put(k, parseMs); }',
    ).replace('tokens[token[i]] = func;', 'put(token[i], func);'),
    b: registrationModule(
      "  function put(k, f) { tokens[k] = f; }\n  addParseToken('D', 2);",
      '  function later(k) { put(k, parseMs); }',
      true,
    ).replace('tokens[token[i]] = func;', 'put(token[i], func);'),
    expect: [['changed-at-load']],
    absent: [['registrations-rerun']],
  },
  {
    name: 'registration calls that store a function reading `this` in a table called as tokens[tok](…): not run again',
    a: "(function (global, factory) {\n  typeof exports === 'object' && typeof module !== 'undefined' ? module.exports = factory() : global.mo = factory();\n}(this, (function () { 'use strict';\n  function isNumber(input) { return typeof input === 'number' || Object.prototype.toString.call(input) === '[object Number]'; }\n  function toInt(x) { return x | 0; }\n  var tokens = {};\n  function addParseToken(token, callback) {\n    var i, func = callback;\n    if (typeof token === 'string') { token = [token]; }\n    if (isNumber(callback)) { func = function (input, array) { array[callback] = toInt(input); }; }\n    for (i = 0; i < token.length; i++) { tokens[token[i]] = func; }\n  }\n  function addWeekParseToken(token, callback) {\n    addParseToken(token, function (input, array, config, token) { config._w = config._w || {}; callback(input, config._w, config, token); });\n  }\n  addParseToken(['M', 'MM'], function (input, array) { array[1] = toInt(input) - 1; });\n  addParseToken('D', 2);\n  addParseToken('T', function (input, array) { this.last = input; });\n  addWeekParseToken(['w', 'ww'], function (input, week) { week.w = toInt(input); });\n  function parse(tok, input) { var a = [], c = {}; tokens[tok](input, a, c, tok); return [a, c]; }\n  return { parse: parse };\n})));\n",
    b: "(function (global, factory) {\n  typeof exports === 'object' && typeof module !== 'undefined' ? module.exports = factory() : global.mo = factory();\n}(this, (function () { 'use strict';\n  function isNumber(input) { return typeof input === 'number' || Object.prototype.toString.call(input) === '[object Number]'; }\n  function toInt(x) { return x | 0; }\n  var tokens = {};\n  function addParseToken(token, callback) {\n    var i, func = callback, tokenLen;\n    if (typeof token === 'string') { token = [token]; }\n    if (isNumber(callback)) { func = function (input, array) { array[callback] = toInt(input); }; }\n    tokenLen = token.length;\n    for (i = 0; i < tokenLen; i++) { tokens[token[i]] = func; }\n  }\n  function addWeekParseToken(token, callback) {\n    addParseToken(token, function (input, array, config, token) { config._w = config._w || {}; callback(input, config._w, config, token); });\n  }\n  addParseToken(['M', 'MM'], function (input, array) { array[1] = toInt(input) - 1; });\n  addParseToken('D', 2);\n  addParseToken('T', function (input, array) { this.last = input; });\n  addWeekParseToken(['w', 'ww'], function (input, week) { week.w = toInt(input); });\n  function parse(tok, input) { var a = [], c = {}; tokens[tok](input, a, c, tok); return [a, c]; }\n  return { parse: parse };\n})));\n",
    expect: [['changed-at-load']],
  },
  {
    name: 'load-time code that calls util.inherits (it changes its first argument): not run again',
    a: 'function Base() {}\nexports.Base = Base;\nexports.f = function () { return 1; };\n',
    b: "var inherits = require('util').inherits;\nfunction Base() {}\nvar ok = false;\ntry { inherits(Base, Error); ok = true; } catch (e) {}\nexports.Base = Base;\nexports.f = function () { return ok ? 2 : 1; };\n",
    expect: [['side-effect-changed']],
  },
  {
    name: 'a new factory variable computed from an input the factory reassigns: no shadow variable',
    a: 'function make(options) {\n  var opts = options || {};\n  var limit = opts.limit || 10;\n  return function handler(x) { return x.length <= limit; };\n}\nexports.make = make;\n',
    b: 'function make(options) {\n  var opts = options || {};\n  var limit = opts.limit || 10;\n  limit = limit * 2;\n  var depth = limit + 1;\n  return function handler(x) { return x.length <= limit && x.length !== depth; };\n}\nexports.make = make;\n',
    expect: [['stale-closure-state']],
  },
  {
    name: 'a new factory variable computed by a call that may have effects: no shadow variable',
    a: 'function make(options) {\n  var opts = options || {};\n  var limit = opts.limit || 10;\n  return function handler(x) { return x.length <= limit; };\n}\nexports.make = make;\n',
    b: 'function make(options) {\n  var opts = options || {};\n  var limit = opts.limit || 10;\n  var depth = compute(opts);\n  return function handler(x) { return x.length <= limit && x.length !== depth; };\n}\nexports.make = make;\n',
    expect: [['stale-closure-state']],
  },
  {
    name: 'a new factory variable the factory may return before declaring: no shadow variable',
    a: 'function make(options) {\n  var opts = options || {};\n  var limit = opts.limit || 10;\n  return function handler(x) { return x.length <= limit; };\n}\nexports.make = make;\n',
    b: 'function make(options) {\n  var opts = options || {};\n  var limit = opts.limit || 10;\n  if (!options) return null;\n  var depth = opts.depth || 32;\n  return function handler(x) { return x.length <= limit && x.length !== depth; };\n}\nexports.make = make;\n',
    expect: [['stale-closure-state']],
  },
  {
    name: 'registration calls whose function also runs later (it is exported): not run again',
    a: "const t = {};\nlet R = 0;\nfunction add(name) { t[name] = R++; }\nadd('a');\nexports.add = add;\nexports.get = (k) => t[k];\n",
    b: "const t = {};\nlet R = 0;\nfunction add(name) { t[name] = R += 2; }\nadd('a');\nexports.add = add;\nexports.get = (k) => t[k];\n",
    expect: [['changed-at-load']],
  },
  {
    name: 'registration calls that call an unknown module (a registry elsewhere): not run again',
    a: "const reg = require('./registry');\nconst t = {};\nfunction add(name) { t[name] = 1; reg.register(name); }\nadd('a');\nexports.get = (k) => t[k];\n",
    b: "const reg = require('./registry');\nconst t = {};\nfunction add(name) { t[name] = 2; reg.register(name); }\nadd('a');\nexports.get = (k) => t[k];\n",
    expect: [['changed-at-load']],
  },
  {
    name: 'registration into a table running code also writes: not run again',
    a: "const t = {};\nfunction add(name) { t[name] = 1; }\nadd('a');\nexports.set = (k) => { t[k] = 3; };\n",
    b: "const t = {};\nfunction add(name) { t[name] = 2; }\nadd('a');\nexports.set = (k) => { t[k] = 3; };\n",
    expect: [['changed-at-load']],
  },
  {
    name: 'a static block that runs a changed function at load',
    a: 'function make() { return 1; }\nclass C { static { C.x = make(); } }\nexports.C = C;\n',
    b: 'function make() { return 2; }\nclass C { static { C.x = make(); } }\nexports.C = C;\n',
    expect: [['side-effect-changed', 'C']],
  },
  {
    name: 'an IIFE that returns what a changed function computes, its value kept',
    a: "var T = (function () {\n  function make() { return 'old'; }\n  return make();\n})();\nexports.get = function () { return T; };\n",
    b: "var T = (function () {\n  function make() { return 'new'; }\n  return make();\n})();\nexports.get = function () { return T; };\n",
    expect: [['changed-at-load']],
  },
  {
    name: 'an ES module exports a constant the fix changes (importers hold the binding)',
    a: 'export const MAX = 10;\nexport function check(n) { return n <= MAX; }\n',
    b: 'export const MAX = 5;\nexport function check(n) { return n <= MAX; }\n',
    sourceType: 'module',
    expect: [['export-changed', 'MAX']],
  },
  {
    name: 'a new static field whose initializer reads `this` (the class being defined)',
    a: 'class C { static get(k) { return C[k]; } }\nexports.C = C;\n',
    b: 'class C { static NAME = this.name; static get(k) { return C[k]; } }\nexports.C = C;\n',
    expect: [['side-effect-changed']],
  },
  {
    name: 'an exported frozen object whose property changed (it cannot change in place)',
    a: 'const LIMITS = Object.freeze({ depth: 10 });\nexport { LIMITS };\nexport const ok = (d) => d <= LIMITS.depth;\n',
    b: 'const LIMITS = Object.freeze({ depth: 5 });\nexport { LIMITS };\nexport const ok = (d) => d <= LIMITS.depth;\n',
    sourceType: 'module',
    expect: [['export-changed']],
  },
  {
    name: 'changed code that runs at load',
    a: "function f(a) { return a; }\nprocess.env.X = 'a';\nmodule.exports = f;\n",
    b: "function f(a) { return a; }\nprocess.env.X = 'b';\nmodule.exports = f;\n",
    expect: [['side-effect-changed']],
  },
  {
    name: 'a function the module calls at load changed (the state it built is old)',
    a: "const table = [];\nfunction add(x) { table.push(x); }\nadd('a');\nadd('b');\nexports.has = (x) => table.includes(x);\n",
    b: "const table = [];\nfunction add(x) { table.push(x.toLowerCase()); }\nadd('a');\nadd('b');\nexports.has = (x) => table.includes(x);\n",
    expect: [['changed-at-load', '2 statements']],
  },
  {
    name: 'a replaced exports object',
    a: 'function f(a) { return a; }\nmodule.exports = f;\n',
    b: 'function f(a) { return a; }\nmodule.exports = { f };\n',
    expect: [['export-changed']],
  },
  {
    name: 'a changed default export',
    sourceType: 'module',
    a: 'export default 1;\n',
    b: 'export default 2;\n',
    expect: [['export-changed']],
  },
  {
    name: 'changed initial state that running code mutates',
    a: 'let n = 0;\nexports.f = function () { return ++n; };\n',
    b: 'let n = 5;\nexports.f = function () { return ++n; };\n',
    expect: [['state-mutated-changed', 'n']],
  },
  {
    name: 'new state computed from state running code changes',
    a: "let mode = 'a';\nexports.set = function (m) { mode = m; };\nexports.get = function () { return 1; };\n",
    b: "let mode = 'a';\nconst LABEL = mode.toUpperCase();\nexports.set = function (m) { mode = m; };\nexports.get = function () { return LABEL; };\n",
    expect: [['state-initialised-at-load', 'LABEL']],
  },
  {
    name: 'new state in a destructuring pattern with defaults',
    a: 'function f() { return 1; }\nmodule.exports = f;\n',
    b: 'const [x = 1] = [2];\nfunction f() { return x; }\nmodule.exports = f;\n',
    expect: [['state-initialised-at-load', 'x']],
  },
  {
    name: 'a closure needs a variable running closures do not retain',
    a: 'function make() { let count = 0; count++; return function inner(x) { return x; }; }\nmodule.exports = make;\n',
    b: 'function make() { let count = 0; count++; return function inner(x) { return x + count; }; }\nmodule.exports = make;\n',
    expect: [['binding-unreachable', 'make/inner']],
  },
  {
    name: 'the inner name of a class expression',
    a: 'const A = class Inner { m() { return 1; } };\nmodule.exports = A;\n',
    b: 'const A = class Inner { m() { return Inner.name; } };\nmodule.exports = A;\n',
    expect: [['binding-inner-name']],
  },
  {
    name: 'a variable of the enclosing function that is not a literal and no closure retains',
    a: 'function make() { var x = Date.now(); return function inner() { return 1; }; }\nmodule.exports = make;\n',
    b: 'function make() { var x = Date.now(); return function inner() { return x; }; }\nmodule.exports = make;\n',
    expect: [['binding-unreachable', 'make/inner']],
  },
  {
    name: 'a variable shadowed, in the running code, between the closure and its owner',
    a: 'function make(x) { const g = () => x; function mid() { var x = Date.now(); return function inner() { return x; }; } return [g, mid]; }\nmodule.exports = make;\n',
    b: 'function make(x) { const g = () => x; function mid() { var z = Date.now(); return function inner() { return x + 0; }; } return [g, mid]; }\nmodule.exports = make;\n',
    expect: [['binding-shadowed']],
  },
  {
    name: 'a parameter became a destructuring pattern',
    a: 'const f = (a) => a.x + 1;\nmodule.exports = f;\n',
    b: 'const f = ({ x }) => x + 1;\nmodule.exports = f;\n',
    expect: [['parameters-changed', 'f']],
  },
  {
    name: 'a new parameter that code the patch leaves alone passes',
    a: 'function f(a) { return a; }\nmodule.exports = (x) => f(x, true);\n',
    b: 'function f(a, strict) { return strict ? String(a) : a; }\nmodule.exports = (x) => f(x, true);\n',
    expect: [['parameters-passed', 'f']],
  },
  {
    name: 'a new parameter that patched code passes, to a function of a run-once wrapper reached through its accessor',
    a: '(function (root) {\n  var n = 0;\n  function f(a) { n++; return a; }\n  root.g = function (x) { return f(x); };\n})(exports);\n',
    b: '(function (root) {\n  var n = 0;\n  function f(a, strict) { n++; return strict ? String(a) : a; }\n  root.g = function (x) { return f(x, true); };\n})(exports);\n',
    expect: [['parameters-passed', '<iife>/f']],
  },
  {
    name: 'a new parameter of a callback (its caller may pass it)',
    a: 'function f(a) { return a; }\nmodule.exports = (xs) => xs.map(f);\n',
    b: 'function f(a, i) { return i ? a : null; }\nmodule.exports = (xs) => xs.map(f);\n',
    expect: [['parameters-passed', 'f']],
  },
  {
    name: 'a new parameter of a method that the fixed code passes',
    a: 'class A { m(a) { return a; } n(x) { return this.m(x); } }\nmodule.exports = A;\n',
    b: 'class A { m(a, b) { return b ? a : 0; } n(x) { return this.m(x, 1); } }\nmodule.exports = A;\n',
    expect: [['parameters-passed', 'A#m']],
  },
  {
    name: 'new code reads `arguments`',
    a: 'function f(a) { return a; }\nmodule.exports = f;\n',
    b: 'function f(a) { return arguments.length ? a : null; }\nmodule.exports = f;\n',
    expect: [['arguments-added', 'f']],
  },
  {
    name: 'a function became async',
    a: 'function f(a) { return a; }\nmodule.exports = f;\n',
    b: 'async function f(a) { return a; }\nmodule.exports = f;\n',
    expect: [['function-kind-changed', 'f']],
  },
  {
    name: 'private members of an anonymous class in a changed method (no name reaches its accessor)',
    a: 'module.exports = class { #p = 1; m() { return this.#p; } };\n',
    b: 'module.exports = class { #p = 1; m() { return this.#p + 1; } };\n',
    expect: [['unsupported-syntax', 'module.exports#m']],
  },
  {
    name: 'private members of an anonymous class in a variable whose static block runs at load (the variable is empty then)',
    a: 'var K = class { #p = 1; static { K.n = 0; } m() { return this.#p; } };\nmodule.exports = K;\n',
    b: 'var K = class { #p = 1; static { K.n = 0; } m() { return this.#p + 1; } };\nmodule.exports = K;\n',
    expect: [['unsupported-syntax', 'K#m']],
  },
  {
    name: 'private members of an anonymous class in a variable assigned again',
    a: 'var K = class { #p = 1; m() { return this.#p; } };\nK = wrap(K);\nfunction wrap(c) { return c; }\nmodule.exports = K;\n',
    b: 'var K = class { #p = 1; m() { return this.#p + 1; } };\nK = wrap(K);\nfunction wrap(c) { return c; }\nmodule.exports = K;\n',
    expect: [['unsupported-syntax', 'K#m']],
  },
  {
    name: 'private members of a class whose name a parameter hides',
    a: 'class A { #p = 1; m(A) { return this.#p; } }\nmodule.exports = A;\n',
    b: 'class A { #p = 1; m(A) { return this.#p + 1; } }\nmodule.exports = A;\n',
    expect: [['unsupported-syntax', 'A#m']],
  },
  {
    name: 'a private getter the fix adds (running instances cannot gain one; only methods are inlined)',
    a: 'class A { #p = 1; m() { return this.#p; } }\nmodule.exports = A;\n',
    b: 'class A { #p = 1; get #q() { return 2; } m() { return this.#p + this.#q; } }\nmodule.exports = A;\n',
    expect: [['unsupported-syntax']],
  },
  {
    name: 'a private method the fix adds, read as a value (only calls can be inlined)',
    a: 'class A { #p = 1; m() { return this.#p; } }\nmodule.exports = A;\n',
    b: 'class A { #p = 1; #q() { return 2; } m() { const f = this.#q; return f.call(this); } }\nmodule.exports = A;\n',
    expect: [['unsupported-syntax', 'A#m']],
  },
  {
    name: 'a private method the fix adds that calls itself',
    a: 'class A { #p = 1; m(n) { return n; } }\nmodule.exports = A;\n',
    b: 'class A { #p = 1; #f(n) { return n > 0 ? this.#f(n - 1) : this.#p; } m(n) { return this.#f(n); } }\nmodule.exports = A;\n',
    expect: [['unsupported-syntax', 'A#m']],
  },
  {
    name: 'a private field the fix adds, initialized from its context',
    a: 'const LIMIT = 3;\nclass A { #p = 1; m() { return this.#p; } }\nmodule.exports = A;\n',
    b: 'const LIMIT = 3;\nclass A { #p = 1; #left = LIMIT; m() { return this.#left-- > 0 ? this.#p : 0; } }\nmodule.exports = A;\n',
    expect: [['unsupported-syntax', 'A#m']],
  },
  {
    name: 'a private field the fix adds, `new Map()` where `Map` is not the global one (a parameter of the factory making the class)',
    a: 'function make(Map) { return class K { #p = 1; m() { return this.#p; } }; }\nmodule.exports = make;\n',
    b: 'function make(Map) { return class K { #p = 1; #c = new Map(); m() { return this.#c.size + this.#p; } }; }\nmodule.exports = make;\n',
    expect: [['unsupported-syntax']],
  },
  {
    name: 'a private field the fix adds to a class whose instances have no other private name',
    a: 'class A { static #s = 1; m() { return A.#s; } }\nmodule.exports = A;\n',
    b: 'class A { static #s = 1; #n = 0; m() { return A.#s + this.#n++; } }\nmodule.exports = A;\n',
    expect: [['unsupported-syntax', 'A#m']],
  },
  {
    name: 'a static private field the fix adds',
    a: 'class A { #p = 1; m() { return this.#p; } }\nmodule.exports = A;\n',
    b: 'class A { #p = 1; static #n = 0; m() { return this.#p + A.#n++; } }\nmodule.exports = A;\n',
    expect: [['side-effect-changed']],
  },
  {
    name: 'a private callback called with ?.() inside a longer chain',
    a: 'class A { #cb = null; m(o) { return o; } }\nmodule.exports = A;\n',
    b: 'class A { #cb = null; m(o) { return this.#cb?.(o).x; } }\nmodule.exports = A;\n',
    expect: [['unsupported-syntax', 'A#m']],
  },
  {
    name: 'a private member after an optional chain',
    a: 'class A { #p = 1; m(o) { return o.x; } }\nmodule.exports = A;\n',
    b: 'class A { #p = 1; m(o) { return o?.x.#p; } }\nmodule.exports = A;\n',
    expect: [['unsupported-syntax', 'A#m']],
  },
  {
    name: 'a compound assignment to a private field from an await',
    a: 'class A { #p = 1; async m(f) { return this.#p; } }\nmodule.exports = A;\n',
    b: 'class A { #p = 1; async m(f) { this.#p += await f(); return this.#p; } }\nmodule.exports = A;\n',
    expect: [['unsupported-syntax', 'A#m']],
  },
  {
    name: 'a closure assigns an enclosing variable with a logical operator',
    a: 'function make() { let v = 0; return function inner() { return v; }; }\nmodule.exports = make;\n',
    b: 'function make() { let v = 0; return function inner() { v ||= 1; return v; }; }\nmodule.exports = make;\n',
    expect: [['write-unsupported', 'make/inner']],
  },
  {
    name: 'a changed import of an existing binding',
    sourceType: 'module',
    a: "import { a } from './x.js';\nexport function f() { return a; }\n",
    b: "import { a } from './y.js';\nexport function f() { return a; }\n",
    expect: [['dependency-unloadable', 'a']],
  },
  {
    name: 'a class whose superclass changed',
    a: 'class B {}\nclass C {}\nclass A extends B { m() { return 1; } }\nmodule.exports = A;\n',
    b: 'class B {}\nclass C {}\nclass A extends C { m() { return 1; } }\nmodule.exports = A;\n',
    expect: [['side-effect-changed', 'A']],
  },
  {
    name: 'sources that use the convention’s reserved names',
    a: 'function f() { return 1; }\nmodule.exports = f;\n',
    b: 'function f() { return __hp$s; }\nmodule.exports = f;\n',
    expect: [['reserved-name']],
  },
];

function run(c: Case) {
  return diffFile({
    path: 'index.js',
    sourceType: c.sourceType ?? 'commonjs',
    oldSource: c.a,
    newSource: c.b,
    ...c.input,
  });
}

function assertReports(c: Case, changes: ReturnType<typeof run>['changes']): void {
  const got = changes.map((x) => `${x.verdict} ${x.id} ${x.name}`).join('\n  ');
  for (const [id, name] of c.expect)
    assert.ok(
      changes.some((x) => x.id === id && (name === undefined || x.name === name)),
      `${c.name}: expected ${id}${name ? ` ${name}` : ''}; got\n  ${got}`,
    );
  for (const [id, name] of c.absent ?? [])
    assert.ok(
      !changes.some((x) => x.id === id && (name === undefined || x.name === name)),
      `${c.name}: did not expect ${id}${name ? ` ${name}` : ''}; got\n  ${got}`,
    );
}

describe('verdicts: applied live', () => {
  for (const c of live) {
    it(c.name, () => {
      const r = run(c);
      assertReports(c, r.changes);
      assert.ok(r.patch, `${c.name}: no patch; ${r.changes.map((x) => `${x.id}: ${x.reason}`).join('; ')}`);
      // Every replacement passes the runtime's own check against the baseline.
      const table = moduleTable(analyzeModule(c.a, { sourceType: c.sourceType ?? 'commonjs' }));
      for (const fp of r.patch.functions)
        assert.equal(
          checkReplacement(table, fp, (n) => n in globalThis),
          null,
        );
    });
  }
});

describe('verdicts: need a restart', () => {
  for (const c of restart) {
    it(c.name, () => {
      const r = run(c);
      assertReports(c, r.changes);
      assert.equal(r.patch, null, `${c.name}: expected no patch`);
      for (const [id] of c.expect) assert.ok(r.changes.some((x) => x.id === id && x.verdict === 'restart'));
    });
  }
});

/** Cases whose changes are both live and refused: the reports, and no patch. */
const mixed: Case[] = [
  {
    name: "registration calls beside another load-time call of a changed function (moment 2.29.1's getSetGlobalLocale('en', …) reaching loadLocale): the registrations run again, only the other is refused",
    a: registrationModule(
      "  addParseToken('D', 2);\n  var current = null;\n  function choose(name) { current = name; }\n  choose('en');",
    ),
    b: registrationModule(
      "  addParseToken('D', 2);\n  var current = null;\n  function choose(name) { current = name.slice(0, 8); }\n  choose('en');",
      '',
      true,
    ),
    expect: [
      ['registrations-rerun', '1 calls of call:arg1/addParseToken'],
      ['changed-at-load', "choose('en');"],
    ],
    absent: [['changed-at-load', "addParseToken('D', 2);"]],
  },
];

describe('verdicts: part live, part refused', () => {
  for (const c of mixed) {
    it(c.name, () => {
      const r = run(c);
      assertReports(c, r.changes);
      assert.equal(r.patch, null, `${c.name}: expected no patch`);
    });
  }
});

/** Verdicts only the whole-package build gives (build.test.ts covers them). */
export const BUILD_LEVEL: VerdictId[] = [
  'file-added',
  'removed-file',
  'entry-moved',
  'new-file-unused',
  'file-not-loaded',
  'minified-build',
  'dependency-range',
  'entry-points-changed',
  'package-version',
  'package-metadata',
  'not-code',
  'docs-or-tests',
  'parse-error',
  'migration-author',
  // Needs both releases on disk, loaded in child processes: load-state/load-state.test.ts.
  'load-state-equal',
  'property-added-needed',
  'chunk-renamed',
];

describe('verdict catalogue', () => {
  it('every verdict id is exercised by a case here or in build.test.ts', () => {
    const seen = new Set<string>([
      ...BUILD_LEVEL,
      ...[...live, ...restart].flatMap((c) => c.expect.map(([id]) => id)),
    ]);
    // Reported alongside others in the cases above, or only when the builder has a bug.
    for (const id of [
      'declaration-unused',
      'comment-only',
      'stale-closure-state',
      'invalid-output',
      'binding-missing',
    ])
      seen.add(id);
    const missing = VERDICT_IDS.filter((id) => !seen.has(id));
    assert.deepEqual(missing, [], `verdict ids no case exercises: ${missing.join(', ')}`);
  });
});

import type { Change, Edit, FilePatch, FunctionPatch } from '@hotpatch/core';
import { sha256 } from '@hotpatch/core';
import type { Reference, Scope, Variable } from '@hotpatch/instrument';
import {
  type AstNode,
  analyzeModule,
  bindingNames,
  childrenOf,
  type FunctionInfo,
  GLOBAL,
  guardShape,
  MODULE_TOKEN,
  type ModuleAnalysis,
  parse,
  reachableEnclosing,
  type SourceType,
  tokenTexts,
} from '@hotpatch/instrument';

/**
 * Function-level diff of one file between a baseline and a fixed version, and the builder's
 * verdict on every change. The output serves both engines:
 *  - `edits` turn the baseline into the source LiveEdit installs (and fresh loads run): changed
 *    functions get their new text, and nothing at module level moves, so V8 keeps every
 *    existing closure's context (a new module-level binding would silently stop V8 from
 *    updating closures; measured);
 *  - `functions` are replacements for the redirect engine, compiled in the module's scope.
 * New or changed module-level helpers and constants are reached through a lazily filled
 * per-module cache on `globalThis.__hotpatch$`, evaluated once, at first use.
 */

export interface DiffInput {
  path: string;
  sourceType: SourceType;
  oldSource: string;
  newSource: string;
  oldVersion?: string;
  newVersion?: string;
  /** When set, only these function keys (and what they need) are patched. */
  only?: Set<string>;
  /** Function keys or top-level binding names left out (--exclude): deferred to the next baseline. */
  exclude?: Set<string>;
  /**
   * Module-level bindings copied at load from another file's exported constants that the fix
   * changed (`const { MAX } = require('./constants')`): local name -> new value's source text.
   */
  importedConstants?: Map<string, { text: string; from: string }>;
}

export interface FileDiff {
  patch: FilePatch | null;
  changes: Change[];
}

interface Decl {
  name: string;
  /** Statement holding the declaration (range used to exclude it from executable code). */
  stmt: AstNode;
  /** Initializer or the function/class node itself. */
  init: AstNode | null;
  kind: 'function' | 'const' | 'state';
}

interface Unit {
  /** null for the module itself. */
  fn: FunctionInfo | null;
  body: AstNode[];
  decls: Map<string, Decl>;
  /** Statements that run (everything but pure declarations). */
  executable: AstNode[];
}

const PURE_CALLEES = new Set(['RegExp', 'String', 'Number', 'Symbol', 'Object.freeze', 'String.raw']);

function isPureExpr(node: AstNode | null, pureNames: Set<string>): boolean {
  if (!node) return true;
  switch (node.type) {
    case 'Literal':
      return true;
    case 'TemplateLiteral':
      return (node.expressions as AstNode[]).every((e) => isPureExpr(e, pureNames));
    case 'TaggedTemplateExpression':
      return calleeName(node.tag as AstNode) === 'String.raw' && isPureExpr(node.quasi as AstNode, pureNames);
    case 'Identifier':
      return pureNames.has(node.name as string) || node.name === 'undefined';
    case 'UnaryExpression':
      return node.operator !== 'delete' && isPureExpr(node.argument as AstNode, pureNames);
    case 'BinaryExpression':
    case 'LogicalExpression':
      return isPureExpr(node.left as AstNode, pureNames) && isPureExpr(node.right as AstNode, pureNames);
    case 'ConditionalExpression':
      return ['test', 'consequent', 'alternate'].every((k) => isPureExpr(node[k] as AstNode, pureNames));
    case 'ArrayExpression':
      return (node.elements as (AstNode | null)[]).every((e) => e === null || isPureExpr(e, pureNames));
    case 'ObjectExpression':
      return (node.properties as AstNode[]).every(
        (p) =>
          p.type === 'Property' &&
          !p.computed &&
          p.kind === 'init' &&
          isPureExpr(p.value as AstNode, pureNames),
      );
    case 'NewExpression':
    case 'CallExpression':
      return (
        PURE_CALLEES.has(calleeName(node.callee as AstNode) ?? '') &&
        (node.arguments as AstNode[]).every((a) => isPureExpr(a, pureNames))
      );
    case 'MemberExpression':
      // `'abc'.length`, `[...].join('|')` style: pure when object is pure and the member is plain.
      return !node.computed && isPureExpr(node.object as AstNode, pureNames);
    default:
      return false;
  }
}

function calleeName(node: AstNode): string | null {
  if (node.type === 'Identifier') return node.name as string;
  if (node.type === 'MemberExpression' && !node.computed) {
    const o = calleeName(node.object as AstNode);
    return o ? `${o}.${(node.property as AstNode).name as string}` : null;
  }
  return null;
}

function isFunctionLike(node: AstNode | null): boolean {
  return (
    !!node &&
    (node.type === 'FunctionExpression' ||
      node.type === 'ArrowFunctionExpression' ||
      node.type === 'ClassExpression')
  );
}

/** Declarations and executable statements of a body (module or function). */
function unitOf(fn: FunctionInfo | null, body: AstNode[]): Unit {
  const decls = new Map<string, Decl>();
  const executable: AstNode[] = [];
  const pureNames = new Set<string>();
  // Two passes so that constants built from other constants count as pure.
  for (let pass = 0; pass < 2; pass++) {
    for (const stmt of body) {
      if (stmt.type === 'FunctionDeclaration' && stmt.id) pureNames.add((stmt.id as AstNode).name as string);
      if (stmt.type === 'VariableDeclaration') {
        for (const d of stmt.declarations as AstNode[]) {
          const id = d.id as AstNode;
          if (
            id.type === 'Identifier' &&
            (isFunctionLike(d.init as AstNode) || isPureExpr(d.init as AstNode, pureNames))
          ) {
            pureNames.add(id.name as string);
          }
        }
      }
    }
  }
  for (const stmt of body) {
    if (stmt.type === 'FunctionDeclaration' && stmt.id) {
      const name = (stmt.id as AstNode).name as string;
      decls.set(name, { name, stmt, init: stmt, kind: 'function' });
      continue;
    }
    if (stmt.type === 'VariableDeclaration') {
      const ds = stmt.declarations as AstNode[];
      const allPure = ds.every(
        (d) => (d.id as AstNode).type === 'Identifier' && pureNames.has((d.id as AstNode).name as string),
      );
      for (const d of ds) {
        for (const name of bindingNames(d.id as AstNode)) {
          const init = (d.init as AstNode | null) ?? null;
          decls.set(name, {
            name,
            stmt,
            init,
            kind: !allPure ? 'state' : isFunctionLike(init) ? 'function' : 'const',
          });
        }
      }
      if (!allPure) executable.push(stmt);
      continue;
    }
    executable.push(stmt);
  }
  // A constant that executable code touches (mutates, passes around) is state, not a constant.
  return { fn, body, decls, executable };
}

function bodyStatements(a: ModuleAnalysis, fn: FunctionInfo | null): AstNode[] {
  if (!fn) return a.ast.body as AstNode[];
  return fn.bodyIsExpression ? [] : ((fn.body.body as AstNode[]) ?? []);
}

/** Tokens of a node range with nested functions replaced by their keys. */
function ownTokens(
  a: ModuleAnalysis,
  start: number,
  end: number,
  nested: FunctionInfo[],
  keyOf: (f: FunctionInfo) => string,
  rename?: (name: string) => string,
  versionFrom?: string,
): string[] {
  const holes = nested.map((f) => ({ start: f.node.start, end: f.node.end, label: `ƒ${keyOf(f)}` }));
  const toks = tokenTexts(a, start, end, holes, rename);
  if (!versionFrom) return toks;
  const quoted = new Set([`'${versionFrom}'`, `"${versionFrom}"`]);
  return toks.map((t) => (quoted.has(t) ? '<version>' : t));
}

function same(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((t, i) => t === b[i]);
}

function lineOf(source: string, pos: number): number {
  let n = 1;
  for (let i = 0; i < pos && i < source.length; i++) if (source.charCodeAt(i) === 10) n++;
  return n;
}

/** References made from inside `node` to bindings declared outside it. */
function freeRefs(a: ModuleAnalysis, node: AstNode): Reference[] {
  const out: Reference[] = [];
  for (const s of a.scopes.scopes) {
    // A scope that ends before the node or starts after it holds no reference inside it.
    if (s.block.end <= node.start || s.block.start >= node.end) continue;
    for (const r of s.references) {
      const at = r.identifier.start;
      if (at < node.start || at >= node.end) continue;
      const v = r.resolved;
      if (!v) continue;
      // `arguments` of the function itself (or, for arrows, of the enclosing one: flagged apart).
      if (v.name === 'arguments' && v.defs.length === 0) continue;
      // Declared inside when its scope is (a function declaration's own name is not: it binds outside).
      const block = v.scope.block;
      if (block.start >= node.start && block.end <= node.end) continue;
      out.push(r);
    }
  }
  return out;
}

function declaringFunction(a: ModuleAnalysis, v: Variable): FunctionInfo | null | 'block' {
  let scope: Scope | null = v.scope;
  // A class's own name binding lives in the class scope; the same name is declared just outside.
  if (scope.type === 'class' || scope.type === 'function-expression-name') return 'block';
  if (scope === a.moduleScope) return null;
  if (scope.type !== 'function') return 'block';
  scope = scope.variableScope;
  return a.functions.find((f) => f.node === scope!.block) ?? 'block';
}

export function diffFile(input: DiffInput): FileDiff {
  const changes: Change[] = [];
  const A = analyzeModule(input.oldSource, { sourceType: input.sourceType });
  const B = analyzeModule(input.newSource, { sourceType: input.sourceType });
  const file = input.path;

  const allSame = same(tokenTexts(A, 0, A.source.length), tokenTexts(B, 0, B.source.length));
  if (allSame && !input.importedConstants?.size) {
    return {
      patch: null,
      changes: [
        {
          kind: 'comment-only',
          name: file,
          verdict: 'ignored',
          reason: 'only comments or whitespace changed',
        },
      ],
    };
  }

  // 1. Match functions by key; detect renamed function declarations.
  const renameNewToOld = new Map<string, string>();
  const matchA = new Map<FunctionInfo, FunctionInfo>(); // B -> A
  for (const fb of B.functions) {
    const fa = A.byKey.get(fb.key);
    if (fa) matchA.set(fb, fa);
  }
  const unmatchedA = A.functions.filter((f) => ![...matchA.values()].includes(f));
  for (const fb of B.functions) {
    if (matchA.has(fb) || fb.kind !== 'declaration') continue;
    const parentA = fb.parent ? matchA.get(fb.parent) : null;
    const candidates = unmatchedA.filter(
      (fa) =>
        fa.kind === 'declaration' && (fa.parent ?? null) === (parentA ?? null) && !renameNewToOld.has(fb.key),
    );
    const best = candidates.find((fa) => similar(A, fa, B, fb));
    if (best) {
      const oldName = (best.node.id as AstNode).name as string;
      const newName = (fb.node.id as AstNode).name as string;
      renameNewToOld.set(newName, oldName);
      matchA.set(fb, best);
      unmatchedA.splice(unmatchedA.indexOf(best), 1);
    }
  }
  // Keys of B functions expressed in A's naming (nested functions of renamed ones included).
  const keyInA = (fb: FunctionInfo): string => {
    const fa = matchA.get(fb);
    if (fa) return fa.key;
    return fb.parent ? `${keyInA(fb.parent)}/+${fb.key.split('/').pop()}` : `+${fb.key}`;
  };
  const rename = (name: string) => renameNewToOld.get(name) ?? name;

  // 2. Units whose declarations outlive them: the module and run-once functions.
  const unitsB = new Map<FunctionInfo | null, Unit>([[null, unitOf(null, bodyStatements(B, null))]]);
  const unitsA = new Map<FunctionInfo | null, Unit>([[null, unitOf(null, bodyStatements(A, null))]]);
  for (const fb of B.functions) {
    const fa = matchA.get(fb);
    if (fb.once && fa?.once) {
      unitsB.set(fb, unitOf(fb, bodyStatements(B, fb)));
      unitsA.set(fa, unitOf(fa, bodyStatements(A, fa)));
    }
  }
  const unitA = (ub: Unit): Unit | undefined => unitsA.get(ub.fn ? (matchA.get(ub.fn) ?? null) : null);

  // Declarations reached lazily: name -> key in the per-module cache, and the init node in B.
  const lazy = new Map<Variable, Lazy>();
  const varOf = (a: ModuleAnalysis, unit: Unit, name: string): Variable | undefined => {
    const scope = unit.fn ? a.scopeOf.get(unit.fn.node) : a.moduleScope;
    return scope?.set.get(name);
  };
  const changedFns = new Map<FunctionInfo, { kind: Change['kind']; reason: string }>();
  let restart = false;
  const refuse = (change: Omit<Change, 'verdict'>) => {
    if (input.exclude?.has(change.name)) {
      changes.push({ ...change, verdict: 'deferred', reason: `${change.reason} (left out with --exclude)` });
      return;
    }
    changes.push({ ...change, verdict: 'restart' });
    restart = true;
  };

  for (const [name, imported] of input.importedConstants ?? []) {
    const v = B.moduleScope.set.get(name);
    const stmt = v?.defs[0]?.parent as AstNode | undefined;
    if (!v || !stmt || !A.moduleScope.set.has(name)) continue;
    lazy.set(v, {
      cacheKey: `/${name}#${sha256(imported.text).slice(0, 8)}`,
      init: null,
      initText: imported.text,
      decl: { name, stmt, init: null, kind: 'const' },
      unitKey: '',
      cell: false,
    });
    changes.push({
      kind: 'module-constant',
      name,
      verdict: 'live',
      reason: `constant copied at load from ${imported.from}, which the fix changed: every function using it gets the new value`,
    });
  }

  for (const [fnB, ub] of unitsB) {
    const ua = unitA(ub);
    if (!ua) continue;
    const unitKey = fnB ? keyInA(fnB) : '';
    const where = fnB ? `in ${keyInA(fnB)}` : 'at module level';
    // Declarations: added, changed, removed.
    for (const [name, db] of ub.decls) {
      const oldName = rename(name);
      const da = ua.decls.get(oldName);
      const line = lineOf(B.source, db.stmt.start);
      if (db.kind === 'function') {
        if (!da) {
          const v = varOf(B, ub, name);
          if (v)
            lazy.set(v, { cacheKey: `${unitKey}/${name}`, init: db.init!, decl: db, unitKey, cell: false });
        }
        continue; // changed functions are diffed as functions
      }
      if (db.kind === 'const') {
        const initTokens = db.init
          ? ownTokens(
              B,
              db.init.start,
              db.init.end,
              [],
              keyInA,
              rename,
              input.oldVersion === undefined ? undefined : input.newVersion,
            )
          : [];
        const oldTokens = da?.init
          ? ownTokens(A, da.init.start, da.init.end, [], (f) => f.key, undefined, input.oldVersion)
          : [];
        if (da && da.kind !== 'state' && same(initTokens, oldTokens)) continue;
        const v = varOf(B, ub, name);
        if (!v) continue;
        if (da?.kind === 'state') {
          refuse({
            kind: 'module-state',
            name,
            reason: `${name} ${where} was state and became a constant`,
            line,
          });
          continue;
        }
        // A new `let`/`var` the patched code writes is new state: a cell in the per-module cache.
        const mutable = db.stmt.kind !== 'const' && v.references.some((r) => r.isWrite() && !r.init);
        if (da && mutable) {
          refuse({
            kind: 'module-state',
            name,
            reason: `changed initial value of ${name} ${where}, which running code mutates`,
            line,
          });
          continue;
        }
        if (!da && !db.init && !mutable) continue;
        lazy.set(v, {
          cacheKey: `${unitKey}/${name}#${sha256(db.init ? B.source.slice(db.init.start, db.init.end) : '').slice(0, 8)}`,
          init: db.init,
          decl: db,
          unitKey,
          cell: mutable,
        });
        if (da)
          changes.push({
            kind: 'module-constant',
            name,
            verdict: 'live',
            reason: `changed constant ${where}: every function using it gets the new value`,
            line,
          });
      }
    }
    // A new `const X = <expression>` whose expression is exactly that of an existing const in the
    // same scope (bundlers emit such duplicates, e.g. URL$1) is the same value: an alias.
    for (const stmt of ub.executable) {
      const alias = aliasOf(A, ua, B, stmt, rename);
      if (alias) renameNewToOld.set(alias.newName, alias.oldName);
    }
    // Executable statements: compare in order.
    const execTok = (a: ModuleAnalysis, u: Unit, r?: (n: string) => string, ver?: string) =>
      u.executable.map((s: AstNode) =>
        ownTokens(
          a,
          s.start,
          s.end,
          a.functions.filter((f) => f.node.start >= s.start && f.node.end <= s.end && f.parent === u.fn),
          (f) => (a === B ? keyInA(f) : f.key),
          r,
          ver,
        )
          .join(' ')
          // `var x = ...` → `const x = ...` changes nothing for code already running.
          .replace(/^(?:var|let|const) /, '<declare> '),
      );
    const ea = execTok(A, ua, undefined, input.oldVersion);
    const aliasStmts = new Set(ub.executable.filter((st) => aliasOf(A, ua, B, st, rename) !== null));
    ub.executable = ub.executable.filter((st) => !aliasStmts.has(st));
    const eb = execTok(B, ub, rename, input.oldVersion === undefined ? undefined : input.newVersion);
    const eaSet = new Map<string, number>();
    for (const t of ea) eaSet.set(t, (eaSet.get(t) ?? 0) + 1);
    for (let i = 0; i < eb.length; i++) {
      const t = eb[i]!;
      const n = eaSet.get(t) ?? 0;
      if (n > 0) {
        eaSet.set(t, n - 1);
        continue;
      }
      const stmt = ub.executable[i]!;
      const line = lineOf(B.source, stmt.start);
      // Declarations are named by what they declare (what --exclude takes); others by their text.
      const text =
        stmt.type === 'VariableDeclaration'
          ? (stmt.declarations as AstNode[]).flatMap((d) => bindingNames(d.id as AstNode)).join(', ')
          : B.source.slice(stmt.start, Math.min(stmt.end, stmt.start + 60)).replace(/\s+/g, ' ');
      const literalChanges = exportedLiteralChanges(A, ua, B, stmt);
      if (literalChanges) {
        changes.push({
          kind: 'module-constant',
          name: literalChanges.join(', '),
          verdict: 'deferred',
          reason:
            'exported constants changed: this module keeps its exports object; code that copied them at load gets the new values live (see the importing files)',
          line,
        });
        continue;
      }
      if (isExportAddition(stmt)) {
        changes.push({
          kind: 'export-shape',
          name: text,
          verdict: 'deferred',
          reason: `new export ${where}; not needed by the live changes, available after the next baseline`,
          line,
        });
      } else if (isRequireDecl(stmt)) {
        refuse({
          kind: 'new-dependency',
          name: text,
          reason: `new dependency loaded ${where}: needs a restart`,
          line,
        });
      } else if (stmt.type === 'VariableDeclaration') {
        refuse({
          kind: 'module-state',
          name: text,
          reason: `new or changed state ${where} (initialised when the module loaded): needs a restart`,
          line,
        });
      } else if (/module\.exports|exports\./.test(text) || stmt.type.startsWith('Export')) {
        refuse({
          kind: 'export-shape',
          name: text,
          reason: `changed exports ${where}: needs a restart`,
          line,
        });
      } else {
        refuse({
          kind: 'top-level-side-effect',
          name: text,
          reason: `changed code that runs once ${where} (at load): needs a restart`,
          line,
        });
      }
    }
    for (const [t, n] of eaSet) {
      if (n <= 0) continue;
      // Removed executable statements: only harmless when they were declarations nobody uses now.
      changes.push({
        kind: 'top-level-side-effect',
        name: t.slice(0, 60),
        verdict: 'deferred',
        reason: `removed code that ran once ${where}; its effect stays until the next baseline`,
        line: undefined,
      });
    }
  }

  // Version literals (exports.version = '1.2.3') are left as they are: a hotpatched process keeps
  // reporting its baseline version, and its patch level separately (1.2.3+hp.1).
  if (input.oldVersion && input.newVersion && input.oldVersion !== input.newVersion) {
    const quoted = (v: string) => new Set([`'${v}'`, `"${v}"`]);
    const inA = A.tokens.some((t) => quoted(input.oldVersion!).has(A.source.slice(t.start, t.end)));
    const inB = B.tokens.some((t) => quoted(input.newVersion!).has(B.source.slice(t.start, t.end)));
    if (inA && inB) {
      changes.push({
        kind: 'version-string',
        name: `'${input.oldVersion}' → '${input.newVersion}'`,
        verdict: 'ignored',
        reason:
          'version literal left as is: the process keeps reporting its baseline version, with its hotpatch level',
      });
    }
  }

  // 3. Changed functions (own code).
  for (const fb of B.functions) {
    const fa = matchA.get(fb);
    if (!fa) continue;
    if (fb.once) continue; // run-once bodies are handled as units above
    const ta = ownTokens(
      A,
      fa.node.start,
      fa.node.end,
      fa.children,
      (f) => f.key,
      undefined,
      input.oldVersion,
    );
    const tb = ownTokens(
      B,
      fb.node.start,
      fb.node.end,
      fb.children,
      keyInA,
      rename,
      input.oldVersion === undefined ? undefined : input.newVersion,
    );
    if (same(ta, tb)) continue;
    changedFns.set(fb, { kind: kindOf(fa), reason: 'changed code' });
  }
  // Removed functions: harmless unless still referenced (then the new code would not have them).
  for (const fa of unmatchedA) {
    changes.push({
      kind: 'removed-function',
      name: fa.key,
      verdict: 'deferred',
      reason: 'removed in the fix; the old code stays unused in memory',
      line: lineOf(A.source, fa.node.start),
    });
  }

  // 4. Users of changed constants and new helpers are changed too.
  for (const [v, info] of lazy) {
    for (const r of v.references) {
      if (r.init) continue;
      const user = innermostFunction(B, r.identifier.start);
      if (!user) continue;
      if (
        info.decl.init &&
        r.identifier.start >= info.decl.init.start &&
        r.identifier.end <= info.decl.init.end
      )
        continue;
      let target: FunctionInfo | null = user;
      while (target && !matchA.has(target)) target = target.parent;
      if (!target || target.once) continue;
      if (!changedFns.has(target))
        changedFns.set(target, {
          kind: kindOf(matchA.get(target)!),
          reason: `uses ${v.name}, changed ${info.unitKey ? `in ${info.unitKey}` : 'at module level'}`,
        });
    }
  }

  // 5. Selective build.
  for (const fb of [...changedFns.keys()]) {
    const key = keyInA(fb);
    if (!input.exclude?.has(key)) continue;
    changedFns.delete(fb);
    changes.push({
      kind: kindOf(matchA.get(fb)!),
      name: key,
      verdict: 'deferred',
      reason: 'left out with --exclude',
      line: lineOf(B.source, fb.node.start),
    });
  }
  if (input.only) {
    for (const fb of [...changedFns.keys()]) {
      const key = keyInA(fb);
      if (!input.only.has(key)) {
        changedFns.delete(fb);
        changes.push({
          kind: kindOf(matchA.get(fb)!),
          name: key,
          verdict: 'deferred',
          reason: 'not selected with --only',
          line: lineOf(B.source, fb.node.start),
        });
      }
    }
    // Restart verdicts outside the selection are deferred too.
    for (const c of changes) if (c.verdict === 'restart' && c.kind !== 'parse-error') c.verdict = 'deferred';
    restart = changes.some((c) => c.verdict === 'restart');
  }

  // Where ExpressionStatements start (ASI hazards for rewrites that begin with '(').
  const statementStarts = new Set<number>();
  const collectStatements = (n: AstNode): void => {
    if (n.type === 'ExpressionStatement') statementStarts.add(n.start);
    for (const c of childrenOf(n)) collectStatements(c);
  };
  collectStatements(B.ast);
  const statementStartOf = (pos: number): number => {
    if (statementStarts.has(pos)) return pos;
    const p = parentOfIdentifier(B, pos);
    return p && statementStarts.has(p.start) ? p.start : pos;
  };

  // 6. Produce replacement text per changed function and check it can run where it will.
  const edits: Edit[] = [];
  const functions: FunctionPatch[] = [];
  const lazyUsed = new Set<Variable>();
  const outermost = [...changedFns.keys()].filter((fb) => {
    for (let p = fb.parent; p; p = p.parent) if (changedFns.has(p)) return false;
    return true;
  });
  for (const fb of [...changedFns.keys()].sort((x, y) => x.node.start - y.node.start)) {
    const fa = matchA.get(fb)!;
    const info = changedFns.get(fb)!;
    const line = lineOf(B.source, fb.node.start);
    const problems: string[] = [];
    const rewrites: Rewrite[] = [];
    const shape = guardShape(fa);
    const reachable = reachableEnclosing(fa);
    const parentChanged = fb.parent ? changedFns.has(fb.parent) : false;
    const staleClosures: string[] = [];

    /** Resolves one reference of new code run from inside `fb` (its own, or a helper's). */
    const resolveRef = (r: Reference, out: Rewrite[], allowStale: boolean): void => {
      const v = r.resolved!;
      const id = r.identifier;
      const lz = lazy.get(v);
      if (lz) {
        lazyUsed.add(v);
        const expr = lazyExpr(B, lz, lazy, lazyUsed, problems, (ref, inner) => resolveRef(ref, inner, false));
        // Our expression starts with '(': at the start of a statement after a line without a
        // semicolon it would call the previous line's value. `void` makes it a statement of its own.
        if (
          statementStarts.has(id.start) ||
          (r.isWrite() && statementStarts.has(parentOfIdentifier(B, id.start)?.start ?? -1))
        ) {
          out.push({ start: statementStartOf(id.start), end: statementStartOf(id.start), text: 'void ' });
        }
        if (!r.isWrite()) {
          out.push({ start: id.start, end: id.end, text: expr.live, redirectText: expr.redirect });
          return;
        }
        if (!lz.cell) {
          problems.push(`assigns ${v.name}, a changed declaration`);
          return;
        }
        const write = cellWrite(B, id.start, lz, expr);
        if (typeof write === 'string') problems.push(write);
        else out.push(...write);
        return;
      }
      const newName = v.name;
      const oldName = rename(newName);
      const where = declaringFunction(B, v);
      if (oldName !== newName) out.push({ start: id.start, end: id.end, text: oldName });
      if (where === null) {
        // Module level: must exist in the baseline and be retained by some closure there.
        if (!A.moduleScope.set.has(oldName))
          problems.push(`needs ${newName}, which the running module does not have`);
        else if (!A.moduleCaptured.has(oldName) && !isFunctionDecl(A, oldName)) {
          problems.push(`needs module variable ${oldName}, which no running function retains`);
        }
        return;
      }
      if (where === 'block') {
        if (v.scope.type === 'class' || v.scope.type === 'function-expression-name') return;
        problems.push(`needs ${newName}, a block-scoped variable outside the function`);
        return;
      }
      const whereA = matchA.get(where);
      if (!whereA || !whereA.captured.includes(oldName)) {
        if (allowStale && parentChanged && fb.parent === where) {
          staleClosures.push(oldName);
          return;
        }
        problems.push(`needs ${newName} from ${keyInA(where)}, which running closures do not retain`);
        return;
      }
      if (reachable.get(oldName) !== whereA) {
        problems.push(`needs ${oldName} from ${whereA.key}, shadowed by a nearer variable of the same name`);
        return;
      }
      const access = scopeAccess(B, id.start, oldName, r.isWrite(), r.isReadWrite());
      if (typeof access === 'string') problems.push(access);
      else for (const a of access) out.push({ ...a, redirectOnly: true });
    };
    for (const r of freeRefs(B, fb.node)) resolveRef(r, rewrites, true);
    // A renamed function declaration keeps its running name.
    const ownId = fb.kind === 'declaration' ? (fb.node.id as AstNode | null) : null;
    if (ownId && rename(ownId.name as string) !== ownId.name) {
      rewrites.push({ start: ownId.start, end: ownId.end, text: rename(ownId.name as string) });
    }
    // V8 keeps existing closures on their old code, silently, when a change alters the variable
    // layout of an enclosing scope; dropping the last reference to a captured variable does. So
    // the new code keeps referring (in dead code) to every enclosing variable the old code used.
    if (outermost.includes(fb)) {
      const still = new Set(
        freeRefs(B, fb.node)
          .filter((r) => !lazy.has(r.resolved!))
          .map((r) => rename(r.resolved!.name)),
      );
      const dropped = [
        ...new Set(
          freeRefs(A, fa.node)
            .filter((r) => !still.has(r.resolved!.name) && isRetained(A, r.resolved!))
            .map((r) => r.resolved!.name),
        ),
      ];
      if (dropped.length) rewrites.push(retention(fb, dropped));
    }

    if (fb.isArrow && fb.usesArguments) problems.push('arrow function uses the enclosing `arguments`');
    if (fb.usesSuper && !(fb.kind === 'constructor'))
      problems.push('uses `super` in a method (the redirect engine cannot rebind it)');
    if (fb.usesNewTarget && fb.kind !== 'constructor') problems.push('uses `new.target`');
    if (
      fa.isArrow !== fb.isArrow ||
      fa.isGenerator !== fb.isGenerator ||
      fa.isAsync !== fb.isAsync ||
      fa.kind !== fb.kind
    ) {
      problems.push('changed the kind of function (arrow, async, generator, method)');
    }
    if (shape.call === 'arrow' || shape.call === 'params') {
      // The guard passes the baseline's parameters: the new code must take the same ones.
      const pa = tokenTexts(A, fa.paramsRange[0], fa.paramsRange[1]);
      const pb = tokenTexts(B, fb.paramsRange[0], fb.paramsRange[1], [], rename);
      if (
        fa.simpleParams && fb.simpleParams ? fa.paramNames.length !== fb.paramNames.length : !same(pa, pb)
      ) {
        problems.push(`changed the parameters of ${fb.isArrow ? 'an arrow function' : 'the function'}`);
      }
      if (!fb.isArrow && fb.usesArguments)
        problems.push('the new code uses `arguments`, which the running function does not');
    }
    if (shape.call === 'construct' && shape.scope)
      problems.push('derived-class constructor inside another function');
    if (shape.call === 'construct' && hasPrivate(fb.classNode)) problems.push('class with private fields');
    if (staleClosures.length && !isCallbackArgument(fb)) {
      problems.push(
        `closures made before the patch cannot reach new variable(s) ${staleClosures.join(', ')} of ${keyInA(fb.parent!)}`,
      );
    }
    if (input.newSource.includes(MODULE_TOKEN) || input.oldSource.includes(MODULE_TOKEN))
      problems.push(`source contains ${MODULE_TOKEN}`);

    const name = fa.key;
    if (problems.length) {
      refuse({
        kind: problems.some((p) => p.includes('parameters'))
          ? 'parameter-list'
          : problems.some((p) => p.includes('retain') || p.includes('does not have'))
            ? 'uncaptured-binding'
            : 'unsupported-syntax',
        name,
        reason: problems.join('; '),
        line,
      });
      continue;
    }
    const how = describe(fa, info.reason, staleClosures.length > 0);
    changes.push({ kind: info.kind, name, verdict: 'live', reason: how, line });

    const liveText = rewriteRange(B.source, fb.node.start, fb.node.end, liveRewrites(rewrites));
    if (outermost.includes(fb)) edits.push({ start: fa.node.start, end: fa.node.end, text: liveText });
    if (staleClosures.length) continue; // reached only through its (changed) parent
    functions.push({
      key: fa.key,
      call: shape.call,
      usesScope: shape.scope !== null,
      source: replacementSource(B, fb, fa, shape, redirectRewrites(rewrites)),
    });
  }

  // New helpers and constants: live when a live change uses them; otherwise not shipped.
  for (const [v, info] of lazy) {
    const line = lineOf(B.source, info.decl.stmt.start);
    const kind = info.decl.kind === 'function' ? 'new-helper' : 'new-constant';
    if (changes.some((c) => c.name === v.name && c.kind === 'module-constant')) continue;
    if (lazyUsed.has(v)) {
      const where = info.unitKey ? `in ${info.unitKey}` : 'at module level';
      if (info.cell) {
        changes.push({
          kind: 'new-constant',
          name: v.name,
          verdict: 'live',
          reason: `new state ${where}, kept in the module's hotpatch cache from first use`,
          line,
        });
        continue;
      }
      changes.push({
        kind,
        name: v.name,
        verdict: 'live',
        reason: `new ${kind === 'new-helper' ? 'helper' : 'constant'} ${where}, created once on first use`,
        line,
      });
    } else {
      changes.push({ kind, name: v.name, verdict: 'deferred', reason: 'not used by any live change', line });
    }
  }

  if (restart || (edits.length === 0 && functions.length === 0)) {
    return { patch: null, changes };
  }
  edits.sort((x, y) => x.start - y.start);
  let patched = '';
  let pos = 0;
  for (const e of edits) {
    patched += A.source.slice(pos, e.start) + e.text;
    pos = e.end;
  }
  patched += A.source.slice(pos);
  // The patched source must still be valid JavaScript, and every replacement an expression.
  try {
    parse(patched, input.sourceType);
  } catch (e) {
    refuse({
      kind: 'parse-error',
      name: file,
      reason: `builder produced invalid code (${(e as Error).message}); please report`,
    });
    return { patch: null, changes };
  }
  const layout = layoutChanges(A, analyzeModule(patched, { sourceType: input.sourceType }), edits);
  if (layout) {
    refuse({
      kind: 'uncaptured-binding',
      name: file,
      reason: `${layout}: V8 would keep running closures on the old code`,
    });
    return { patch: null, changes };
  }
  for (const f of functions) {
    try {
      parse(`(${f.source});`, 'commonjs');
    } catch (e) {
      refuse({
        kind: 'parse-error',
        name: f.key,
        reason: `builder produced an invalid replacement (${(e as Error).message}); please report`,
      });
      return { patch: null, changes };
    }
  }
  return {
    patch: {
      path: file,
      sourceType: input.sourceType,
      baselineSha256: sha256(A.source),
      patchedSha256: sha256(patched),
      edits,
      functions,
      changes,
    },
    changes,
  };
}

function isFunctionDecl(a: ModuleAnalysis, name: string): boolean {
  // Function declarations at module level are always reachable when referenced by name from
  // another function: the reference itself makes them captured in the patched code only if
  // they were captured before; a declaration referenced only at top level is not.
  return (
    a.topLevel.some((f) => f.kind === 'declaration' && (f.node.id as AstNode | null)?.name === name) &&
    a.moduleCaptured.has(name)
  );
}

function similar(A: ModuleAnalysis, fa: FunctionInfo, B: ModuleAnalysis, fb: FunctionInfo): boolean {
  const ta = tokenTexts(A, fa.node.start, fa.node.end);
  const tb = tokenTexts(B, fb.node.start, fb.node.end);
  const setA = new Map<string, number>();
  for (const t of ta) setA.set(t, (setA.get(t) ?? 0) + 1);
  let common = 0;
  for (const t of tb) {
    const n = setA.get(t) ?? 0;
    if (n > 0) {
      common++;
      setA.set(t, n - 1);
    }
  }
  return common / Math.max(ta.length, tb.length) >= 0.5;
}

function kindOf(fa: FunctionInfo): Change['kind'] {
  if (fa.kind === 'constructor') return 'class-constructor';
  if (fa.kind === 'method' || fa.kind === 'getter' || fa.kind === 'setter')
    return fa.classNode || fa.key.includes('#') ? 'class-method' : 'function-body';
  if (fa.parent && !fa.parent.once) return 'nested-closure';
  return 'function-body';
}

function describe(fa: FunctionInfo, reason: string, staleOnly: boolean): string {
  const what =
    fa.kind === 'constructor'
      ? fa.derived
        ? 'derived-class constructor: new instances are constructed by the replacement'
        : 'class constructor redirected'
      : fa.parent && !fa.parent.once
        ? staleOnly
          ? 'callback nested in a changed function: new closures get the new code'
          : 'nested closure redirected; existing closures reach their captured variables through the scope accessor'
        : 'calls redirected to the new code';
  return `${reason}; ${what}`;
}

function innermostFunction(a: ModuleAnalysis, pos: number): FunctionInfo | null {
  let best: FunctionInfo | null = null;
  for (const f of a.functions) if (f.node.start <= pos && pos < f.node.end) best = f;
  return best;
}

function isCallbackArgument(f: FunctionInfo): boolean {
  return /:arg\d+(@\d+)?$/.test(f.key) || f.key.endsWith('<iife>');
}

function hasPrivate(cls: AstNode | null): boolean {
  if (!cls) return false;
  return ((cls.body as AstNode).body as AstNode[]).some(
    (m) => (m.key as AstNode | undefined)?.type === 'PrivateIdentifier',
  );
}

/** The node whose direct child is the identifier at `idStart` (assignment, update, ...). */
function parentOfIdentifier(a: ModuleAnalysis, idStart: number): AstNode | null {
  let found: AstNode | null = null;
  const visit = (n: AstNode): void => {
    if (n.start > idStart || n.end <= idStart) return;
    for (const c of childrenOf(n)) {
      if (c.type === 'Identifier' && c.start === idStart) {
        found = n;
        return;
      }
      visit(c);
      if (found) return;
    }
  };
  visit(a.ast);
  return found;
}

/**
 * How a replacement reaches an enclosing variable through the scope accessor
 * `__hp$sc(name, value, w)`: w = 0 read, 1 assign, 2 ++x, 3 x++, 4 --x, 5 x-- (the same codes
 * packages/instrument generates). Returns a rewrite, or a reason it cannot.
 */
function scopeAccess(
  B: ModuleAnalysis,
  idStart: number,
  name: string,
  write: boolean,
  readWrite: boolean,
): Array<{ start: number; end: number; text: string }> | string {
  const q = JSON.stringify(name);
  const idEnd = idStart + name.length;
  if (!write) return [{ start: idStart, end: idEnd, text: `__hp$sc(${q})` }];
  const p = parentOfIdentifier(B, idStart);
  if (p?.type === 'UpdateExpression') {
    const code = p.operator === '++' ? (p.prefix ? 2 : 3) : p.prefix ? 4 : 5;
    return [{ start: p.start, end: p.end, text: `__hp$sc(${q}, undefined, ${code})` }];
  }
  if (p?.type === 'AssignmentExpression' && (p.left as AstNode).start === idStart) {
    // Replace `x op=` and close after the right-hand side, so that rewrites inside it still apply.
    const right = p.right as AstNode;
    const op = p.operator as string;
    const close = { start: right.end, end: right.end, text: '), 1)' };
    if (op === '=') return [{ start: p.start, end: right.start, text: `__hp$sc(${q}, (` }, close];
    if (!readWrite || /^(&&|\|\||\?\?)=$/.test(op)) return `assigns enclosing variable ${name} with ${op}`;
    return [
      { start: p.start, end: right.start, text: `__hp$sc(${q}, __hp$sc(${q}) ${op.slice(0, -1)} (` },
      close,
    ];
  }
  return `writes enclosing variable ${name} in a destructuring pattern or loop head`;
}

/**
 * The expression that reaches a new or changed declaration from patched code: evaluated once,
 * at first use, and kept in the per-module cache. Returns the LiveEdit text and the redirect
 * text (which reaches enclosing variables through the scope accessor).
 */
function lazyExpr(
  B: ModuleAnalysis,
  lz: Lazy,
  lazy: Map<Variable, Lazy>,
  used: Set<Variable>,
  problems: string[],
  resolve: (r: Reference, out: Rewrite[]) => void,
  depth = 0,
): { live: string; redirect: string } {
  if (depth > 8) {
    problems.push('new helpers refer to each other in a cycle');
    return { live: 'undefined', redirect: 'undefined' };
  }
  const init = lz.init;
  const key = cacheKeyOf(lz);
  const wrap = (text: string) =>
    `(${key} in ${GLOBAL}.c ? ${GLOBAL}.c[${key}] : (${GLOBAL}.c[${key}] = (${text})))`;
  if (!init) return { live: wrap(lz.initText ?? 'undefined'), redirect: wrap(lz.initText ?? 'undefined') };
  const inner: Rewrite[] = [];
  for (const r of freeRefs(B, init)) {
    const other = lazy.get(r.resolved!);
    if (other) {
      used.add(r.resolved!);
      const e = lazyExpr(B, other, lazy, used, problems, resolve, depth + 1);
      inner.push({
        start: r.identifier.start,
        end: r.identifier.end,
        text: e.live,
        redirectText: e.redirect,
      });
    } else {
      resolve(r, inner);
    }
  }
  // A declaration's text is also a valid named function expression.
  return {
    live: wrap(rewriteRange(B.source, init.start, init.end, liveRewrites(inner))),
    redirect: wrap(rewriteRange(B.source, init.start, init.end, redirectRewrites(inner))),
  };
}

interface Lazy {
  cacheKey: string;
  /** Initializer (or the function declaration itself); null for `let x;`. */
  init: AstNode | null;
  /** Source text of the value when it does not stand in this file (imported constants). */
  initText?: string;
  decl: Decl;
  unitKey: string;
  /** New mutable state: patched code writes it (assignments go to the cache cell). */
  cell: boolean;
}

function cacheKeyOf(lz: Lazy): string {
  return JSON.stringify(`${MODULE_TOKEN}#${lz.cacheKey}`);
}

/** Rewrites a write to a new state cell: `x = v` stores into the cache; updates read it first. */
function cellWrite(
  B: ModuleAnalysis,
  idStart: number,
  lz: Lazy,
  read: { live: string; redirect: string },
): Rewrite[] | string {
  const cell = `${GLOBAL}.c[${cacheKeyOf(lz)}]`;
  const p = parentOfIdentifier(B, idStart);
  if (p?.type === 'UpdateExpression') {
    const op = p.operator === '++' ? '+' : '-';
    const undo = p.operator === '++' ? '-' : '+';
    const make = (r: string) =>
      p.prefix ? `(${cell} = ${r} ${op} 1)` : `((${cell} = ${r} ${op} 1) ${undo} 1)`;
    return [{ start: p.start, end: p.end, text: make(read.live), redirectText: make(read.redirect) }];
  }
  if (p?.type === 'AssignmentExpression' && (p.left as AstNode).start === idStart) {
    const right = p.right as AstNode;
    const op = p.operator as string;
    const close = { start: right.end, end: right.end, text: '))' };
    if (op === '=') return [{ start: p.start, end: right.start, text: `(${cell} = (` }, close];
    if (/^(&&|\|\||\?\?)=$/.test(op)) return `assigns ${lz.decl.name} with ${op}`;
    const bin = op.slice(0, -1);
    return [
      {
        start: p.start,
        end: right.start,
        text: `(${cell} = ${read.live} ${bin} (`,
        redirectText: `(${cell} = ${read.redirect} ${bin} (`,
      },
      close,
    ];
  }
  return `writes ${lz.decl.name} in a destructuring pattern or loop head`;
}

interface Rewrite {
  start: number;
  end: number;
  text: string;
  /** Text for the redirect engine when it differs (scope accessor inside). */
  redirectText?: string;
  /** Only in the redirect engine's replacement (scope accessor calls). */
  redirectOnly?: boolean;
}

function liveRewrites(rs: Rewrite[]): Rewrite[] {
  return rs.filter((r) => !r.redirectOnly);
}

/** Redirect form: accessor rewrites win over plain ones of the same identifier. */
function redirectRewrites(rs: Rewrite[]): Rewrite[] {
  const acc = rs.filter((r) => r.redirectOnly);
  return rs
    .filter((r) => r.redirectOnly || !acc.some((o) => o.start <= r.start && o.end >= r.end))
    .map((r) => (r.redirectText === undefined ? r : { ...r, text: r.redirectText }));
}

function rewriteRange(
  source: string,
  start: number,
  end: number,
  rewrites: Array<{ start: number; end: number; text: string }>,
): string {
  const sorted = [...rewrites].sort((a, b) => a.start - b.start);
  let out = '';
  let pos = start;
  for (const r of sorted) {
    if (r.start < pos) continue; // nested in an earlier rewrite
    out += source.slice(pos, r.start) + r.text;
    pos = r.end;
  }
  return out + source.slice(pos, end);
}

/** The replacement expression the redirect engine compiles, shaped to match the baseline's guard. */
function replacementSource(
  B: ModuleAnalysis,
  fb: FunctionInfo,
  fa: FunctionInfo,
  shape: { call: string; scope: string | null },
  rewrites: Array<{ start: number; end: number; text: string }>,
): string {
  const params = B.source.slice(fb.paramsRange[0], fb.paramsRange[1]);
  let body = rewriteRange(B.source, fb.body.start, fb.body.end, rewrites);
  if (fb.bodyIsExpression) body = `{ return (${body}); }`;
  const asyncKw = fb.isAsync ? 'async ' : '';
  const star = fb.isGenerator ? '*' : '';
  if (shape.call === 'construct') {
    const cls = fb.classNode!;
    const heritage = B.source.slice((cls.superClass as AstNode).start, (cls.superClass as AstNode).end);
    const fields = ((cls.body as AstNode).body as AstNode[])
      .filter((m) => m.type === 'PropertyDefinition' && !m.static)
      .map(
        (m) =>
          `${B.source.slice(m.start, m.end)}${B.source.slice(m.start, m.end).trim().endsWith(';') ? '' : ';'}`,
      )
      .join(' ');
    return `(class extends (${heritage}) { ${fields} constructor(${params}) ${body} })`;
  }
  if (shape.call === 'arrow' || shape.call === 'params') {
    const names = fb.simpleParams ? fb.paramNames : fa.paramNames;
    const list = [...(shape.scope ? ['__hp$sc'] : []), ...names].join(', ');
    const selfName =
      fb.kind === 'expression' && fb.node.id ? ` ${(fb.node.id as AstNode).name as string}` : '';
    return `(${asyncKw}function${star}${selfName} (${list}) ${body})`;
  }
  const selfName = fb.kind === 'expression' && fb.node.id ? ` ${(fb.node.id as AstNode).name as string}` : '';
  const fn = `${asyncKw}function${star}${selfName}(${params}) ${body}`;
  if (shape.scope) {
    return `(function${star} (__hp$sc, __hp$args) { return ${star ? 'yield* ' : ''}(${fn}).apply(this, __hp$args); })`;
  }
  return `(${fn})`;
}

/** `x.name = ...` / `export ...` added at top level: a new export. */
function isExportAddition(stmt: AstNode): boolean {
  if (stmt.type === 'ExportNamedDeclaration') return true;
  if (stmt.type !== 'ExpressionStatement') return false;
  const e = stmt.expression as AstNode;
  const right = e.right as AstNode;
  return (
    e.type === 'AssignmentExpression' &&
    (e.left as AstNode).type === 'MemberExpression' &&
    (right.type === 'Identifier' || (right.type === 'MemberExpression' && isPlainRead(right)))
  );
}

function isRequireDecl(stmt: AstNode): boolean {
  if (stmt.type === 'ImportDeclaration') return true;
  if (stmt.type !== 'VariableDeclaration') return false;
  return (stmt.declarations as AstNode[]).some((d) => {
    let init = d.init as AstNode | null;
    while (init && init.type === 'MemberExpression') init = init.object as AstNode;
    return init?.type === 'CallExpression' && calleeName(init.callee as AstNode) === 'require';
  });
}

/** Only identifiers, member reads and logical/conditional operators: same text, same value. */
function isPlainRead(node: AstNode): boolean {
  switch (node.type) {
    case 'Identifier':
    case 'Literal':
      return true;
    case 'MemberExpression':
      return !node.computed && isPlainRead(node.object as AstNode);
    case 'LogicalExpression':
      return isPlainRead(node.left as AstNode) && isPlainRead(node.right as AstNode);
    default:
      return false;
  }
}

function aliasOf(
  A: ModuleAnalysis,
  ua: Unit,
  B: ModuleAnalysis,
  stmt: AstNode,
  rename: (n: string) => string,
): { newName: string; oldName: string } | null {
  if (stmt.type !== 'VariableDeclaration' || stmt.kind !== 'const') return null;
  const decls = stmt.declarations as AstNode[];
  if (decls.length !== 1) return null;
  const d = decls[0]!;
  const id = d.id as AstNode;
  const init = d.init as AstNode | null;
  if (id.type !== 'Identifier' || !init || !isPlainRead(init)) return null;
  const name = id.name as string;
  if (ua.decls.has(name)) return null;
  const want = tokenTexts(B, init.start, init.end, [], rename).join(' ');
  for (const [oldName, da] of ua.decls) {
    if (!da.init || da.stmt.type !== 'VariableDeclaration' || da.stmt.kind !== 'const') continue;
    if (tokenTexts(A, da.init.start, da.init.end).join(' ') === want) return { newName: name, oldName };
  }
  return null;
}

/** Captured (context-allocated) in the baseline: a closure refers to it. */
function isRetained(A: ModuleAnalysis, v: Variable): boolean {
  if (v.scope === A.moduleScope) return A.moduleCaptured.has(v.name);
  const owner = A.functions.find((f) => f.node === v.scope.variableScope.block);
  return owner?.captured.includes(v.name) ?? false;
}

/** A dead reference to variables, at the start of the function body. */
function retention(fb: FunctionInfo, names: string[]): Rewrite {
  const list = names.join(', ');
  if (fb.bodyIsExpression) {
    return { start: fb.body.start, end: fb.body.start, text: `0 && void [${list}], ` };
  }
  let at = fb.body.start + 1;
  for (const st of fb.body.body as AstNode[]) {
    if (st.type === 'ExpressionStatement' && typeof st.directive === 'string') at = st.end;
    else break;
  }
  return { start: at, end: at, text: ` if (0) void [${list}];` };
}

/**
 * Checks that the patched source keeps the variable layout of every scope enclosing an edit
 * (module scope and outer functions): what V8 LiveEdit needs to update running closures.
 */
function layoutChanges(A: ModuleAnalysis, P: ModuleAnalysis, edits: Edit[]): string | null {
  const same = (x: Iterable<string>, y: Iterable<string>) => {
    const a = [...x].sort().join(',');
    const b = [...y].sort().join(',');
    return a === b ? null : `captured {${a}} became {${b}}`;
  };
  const moduleDiff = same(A.moduleCaptured, P.moduleCaptured);
  if (moduleDiff) return `module scope: ${moduleDiff}`;
  for (const fa of A.functions) {
    // Only scopes that enclose an edit and are not themselves rewritten.
    const encloses = edits.some((e) => fa.node.start < e.start && e.end <= fa.node.end);
    const inside = edits.some((e) => e.start <= fa.node.start && fa.node.end <= e.end);
    if (!encloses || inside) continue;
    const fp = P.byKey.get(fa.key);
    if (!fp) return `${fa.key} is missing from the patched source`;
    const d = same(fa.captured, fp.captured);
    if (d) return `${fa.key}: ${d}`;
  }
  return null;
}

/** The module.exports = { ... } object literal of a statement, if that is what it is. */
function exportsObject(stmt: AstNode): AstNode | null {
  if (stmt.type !== 'ExpressionStatement') return null;
  const e = stmt.expression as AstNode;
  if (e.type !== 'AssignmentExpression' || e.operator !== '=') return null;
  const left = e.left as AstNode;
  const isModuleExports =
    left.type === 'MemberExpression' &&
    (left.object as AstNode).type === 'Identifier' &&
    (left.object as AstNode).name === 'module' &&
    (left.property as AstNode).name === 'exports';
  return isModuleExports && (e.right as AstNode).type === 'ObjectExpression' ? (e.right as AstNode) : null;
}

/** Literal values of `module.exports = { KEY: literal, ... }` by key. */
export function exportedLiterals(a: ModuleAnalysis, obj: AstNode): Map<string, string> | null {
  const out = new Map<string, string>();
  for (const p of obj.properties as AstNode[]) {
    if (p.type !== 'Property' || p.computed || p.kind !== 'init') return null;
    const key =
      (p.key as AstNode).type === 'Identifier'
        ? ((p.key as AstNode).name as string)
        : String((p.key as AstNode).value);
    const value = p.value as AstNode;
    if (!isPureExpr(value, new Set())) return null;
    out.set(key, a.source.slice(value.start, value.end));
  }
  return out;
}

/** Keys whose literal values changed, when that is the only difference of an exports object. */
function exportedLiteralChanges(
  A: ModuleAnalysis,
  ua: Unit,
  B: ModuleAnalysis,
  stmt: AstNode,
): string[] | null {
  const objB = exportsObject(stmt);
  if (!objB) return null;
  const stmtA = ua.executable.find((s) => exportsObject(s) !== null);
  const objA = stmtA ? exportsObject(stmtA) : null;
  if (!objA) return null;
  const la = exportedLiterals(A, objA);
  const lb = exportedLiterals(B, objB);
  if (!la || !lb || la.size !== lb.size) return null;
  const changed: string[] = [];
  for (const [k, v] of lb) {
    const old = la.get(k);
    if (old === undefined) return null;
    if (old.replace(/\s+/g, '') !== v.replace(/\s+/g, '')) changed.push(k);
  }
  return changed.length ? changed : null;
}

/** The changed literal exports of a file (for importers): key -> new value text. */
export function changedExportedLiterals(
  oldSource: string,
  newSource: string,
  sourceType: SourceType,
): Map<string, string> | null {
  let A: ModuleAnalysis;
  let B: ModuleAnalysis;
  try {
    A = analyzeModule(oldSource, { sourceType });
    B = analyzeModule(newSource, { sourceType });
  } catch {
    return null;
  }
  const objA = (A.ast.body as AstNode[]).map(exportsObject).find((o) => o !== null);
  const objB = (B.ast.body as AstNode[]).map(exportsObject).find((o) => o !== null);
  if (!objA || !objB) return null;
  const la = exportedLiterals(A, objA);
  const lb = exportedLiterals(B, objB);
  if (!la || !lb) return null;
  const out = new Map<string, string>();
  for (const [k, v] of lb)
    if (la.get(k) !== undefined && la.get(k)!.replace(/\s+/g, '') !== v.replace(/\s+/g, '')) out.set(k, v);
  return out.size ? out : null;
}

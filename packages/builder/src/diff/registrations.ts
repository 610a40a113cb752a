import {
  ACCESS,
  type AstNode,
  childrenOf,
  type FunctionInfo,
  isFunctionNode,
  type Reference,
  SCOPE_PARAM,
  type Variable,
} from '@hotpatch/instrument';
import type { DiffContext } from './context.js';
import {
  changedLater,
  isBuiltinPrototypeRead,
  PURE_CONSTRUCTORS,
  PURE_FUNCTIONS,
  pureArguments,
  READ_ONLY_METHODS,
} from './registration-effects.js';
import { lineOf, referencesByStart } from './scope.js';
import type { StatementPatch } from './state.js';
import { requiredSpec, type Unit } from './units.js';

/**
 * Registration code (semver's `createToken('NAME', '…')` ×40, moment's `addParseToken(…)`): load-
 * time calls of a function of the module whose only effects are writes into the module's own
 * tables (`t[name] = index; re[index] = new RegExp(…)`) and counters (`R++`). When the fix changes
 * that function, what the calls built at load is the old version's; running them again at apply,
 * with the counters back at their initial values, rebuilds the same tables in place with the new
 * code — everything holding a table sees it. Proven, not guessed: every write of the function
 * (and of the module functions it calls) goes to a table or counter of the unit, every call is
 * one of those functions or a built-in without effects, every load-time statement that touches a
 * table or counter is such a call, the functions are called from nowhere else (nothing at run
 * time), and running code only reads the tables.
 */

export interface RegistrationPlan {
  /** Counters set back to their initial value first (their declarators, re-run as assignments). */
  resets: AstNode[];
  /** Every load-time statement that calls a registration function, in source order. */
  calls: AstNode[];
  names: string[];
  /** The running tables the calls fill, saved before and restored on revert. */
  tables: string[];
}

/**
 * The plan for running a unit's registration code again, when `stale` (load-time statements that
 * call a function the fix changed) are all registration calls; null otherwise.
 * `quiet(spec)`: whether a module the registration code calls (`debug(…)`) only writes output.
 */
export function registrationPlan(
  ctx: DiffContext,
  unit: Unit,
  stale: AstNode[],
  quiet: (spec: string) => boolean,
): RegistrationPlan | null {
  const B = ctx.B;
  // Module level, or a run-once wrapper's level (moment's UMD factory): there the migrations reach
  // its tables and counters through its scope accessor, which lists every variable it declares.
  const scope = unit.fn ? B.scopeOf.get(unit.fn.node) : B.moduleScope;
  const running = unit.fn ? ctx.A.scopeOf.get(ctx.m.toA.get(unit.fn)?.node as AstNode) : ctx.A.moduleScope;
  if (!scope || !running) return null;
  const refs = referencesByStart(B);
  const unitVar = (id: AstNode): Variable | null => {
    const v = id.type === 'Identifier' ? refs.get(id.start)?.resolved : null;
    return v && v.scope === scope ? v : null;
  };
  const byNode = new Map(B.functions.map((f) => [f.node, f]));
  const functionOf = (v: Variable | null): FunctionInfo | null => {
    const def = v?.defs[0];
    if (!def || v!.defs.length !== 1) return null;
    const node = def.node as unknown as AstNode;
    if (def.type === 'FunctionName') return byNode.get(node) ?? null;
    if (def.type === 'Variable' && node.init) return byNode.get(node.init as AstNode) ?? null;
    return null;
  };
  // The functions a load-time statement calls to register (null: it does anything else).
  const calleesOf = (stmt: AstNode): FunctionInfo[] | null => {
    const calls = registrationCalls(stmt);
    const fns = calls?.map((c) => functionOf(unitVar(c.callee as AstNode)));
    return fns?.every((f) => f !== null) ? (fns as FunctionInfo[]) : null;
  };

  // The functions the stale statements call, and those they call in turn.
  const registrars = new Set<FunctionInfo>();
  for (const stmt of stale) {
    const fns = calleesOf(stmt);
    if (!fns) return null;
    for (const f of fns) registrars.add(f);
  }
  const tables = new Set<Variable>();
  const counters = new Set<Variable>();
  const closure = new Set<FunctionInfo>();
  // What each function of the closure calls, and those that write a table or counter themselves.
  const callees = new Map<FunctionInfo, FunctionInfo[]>();
  const writing = new Set<FunctionInfo>();
  const queue = [...registrars];
  while (queue.length) {
    const f = queue.pop()!;
    if (closure.has(f)) continue;
    closure.add(f);
    const more = effects(f);
    if (more === null) return null;
    callees.set(f, more);
    queue.push(...more);
  }
  const writers = writersOf(callees, writing);

  /** The module functions `f` calls, or null when it does anything but fill tables and counters. */
  function effects(f: FunctionInfo): FunctionInfo[] | null {
    const calls: FunctionInfo[] = [];
    const isLocal = (v: Variable | null | undefined) =>
      !!v && v.scope.block.start >= f.node.start && v.scope.block.end <= f.node.end;
    const target = (n: AstNode, update: boolean): boolean => {
      if (n.type === 'Identifier') {
        const v = refs.get(n.start)?.resolved;
        if (isLocal(v)) return true;
        if (!update || !v || v.scope !== scope) return false;
        counters.add(v);
        writing.add(f);
        return true;
      }
      if (n.type !== 'MemberExpression') return false;
      let root = n;
      while (root.type === 'MemberExpression') root = root.object as AstNode;
      const v = unitVar(root);
      if (!v) return false;
      tables.add(v);
      writing.add(f);
      return true;
    };
    // A value of the function's own: a literal, a local, or a read-only method's result on one.
    const localValue = (o: AstNode): boolean =>
      o.type === 'Literal' ||
      o.type === 'TemplateLiteral' ||
      (o.type === 'Identifier' && isLocal(refs.get(o.start)?.resolved)) ||
      (o.type === 'CallExpression' &&
        (o.callee as AstNode).type === 'MemberExpression' &&
        !(o.callee as AstNode).computed &&
        READ_ONLY_METHODS.has(((o.callee as AstNode).property as AstNode).name as string) &&
        localValue((o.callee as AstNode).object as AstNode));
    const statementCalls = new Set<AstNode>();
    const isStatement = (call: AstNode) => statementCalls.has(call);
    let ok = true;
    const visit = (n: AstNode): void => {
      if (!ok) return;
      if (isFunctionNode(n) && n !== f.node) return; // made now, run later: a value, not an effect
      switch (n.type) {
        case 'ExpressionStatement':
          // Seen before its call (pre-order): a call whose value nothing uses.
          if ((n.expression as AstNode).type === 'CallExpression')
            statementCalls.add(n.expression as AstNode);
          break;
        case 'ThisExpression':
        case 'AwaitExpression':
        case 'YieldExpression':
          ok = false;
          return;
        case 'AssignmentExpression':
          if (!target(n.left as AstNode, n.operator !== '=')) ok = false;
          break;
        case 'UpdateExpression':
          if (!target(n.argument as AstNode, true)) ok = false;
          break;
        case 'UnaryExpression':
          if (n.operator === 'delete' && !target(n.argument as AstNode, false)) ok = false;
          break;
        case 'NewExpression': {
          const c = n.callee as AstNode;
          if (
            c.type !== 'Identifier' ||
            refs.get(c.start)?.resolved ||
            !PURE_CONSTRUCTORS.has(c.name as string)
          )
            ok = false;
          break;
        }
        case 'CallExpression': {
          const c = n.callee as AstNode;
          if (c.type === 'Identifier') {
            const v = refs.get(c.start)?.resolved;
            const g = v && v.scope === scope ? functionOf(v) : null;
            if (g) calls.push(g);
            else if (!v && PURE_FUNCTIONS.has(c.name as string)) {
              /* a built-in */
            } else if (!(v && quietImport(v) && isStatement(n))) ok = false;
          } else if (isBuiltinPrototypeRead(c, refs)) {
            /* `Object.prototype.toString.call(x)`: a read */
          } else if (c.type === 'MemberExpression' && !c.computed) {
            const method = (c.property as AstNode).name as string;
            const o = c.object as AstNode;
            if (!localValue(o) || !READ_ONLY_METHODS.has(method)) ok = false;
          } else ok = false;
          break;
        }
      }
      for (const c of childrenOf(n)) visit(c);
    };
    visit(f.body);
    return ok ? calls : null;
  }

  /** `const debug = require('./debug')`: a module that only writes output, called for nothing else. */
  function quietImport(v: Variable): boolean {
    const def = v.defs[0];
    if (def?.type !== 'Variable' || (def.node as unknown as AstNode).id !== def.name) return false;
    const init = (def.node as unknown as AstNode).init as AstNode | null;
    const spec = init ? requiredSpec(init) : null;
    return spec !== null && quiet(spec);
  }

  // Tables: declared once in the unit from a fresh literal; counters: from a number.
  for (const v of tables) if (!freshTable(v)) return null;
  for (const v of counters) if (!numericStart(v)) return null;
  const touched = new Set([...tables, ...counters]);
  const inClosure = (pos: number) => [...closure].some((f) => pos >= f.node.start && pos < f.node.end);
  const loadCalls: AstNode[] = [];
  const statementOf = (pos: number) => unit.executable.find((s) => pos >= s.start && pos < s.end);
  // Every other use: a registration call at load, or a read by code that runs later.
  for (const v of touched)
    for (const r of v.references) {
      const pos = r.identifier.start;
      if (inClosure(pos) || isDeclaration(v, r)) continue;
      const stmt = statementOf(pos);
      if (stmt && !runsLater(pos, stmt)) {
        if (!registers(stmt)) return null;
        continue;
      }
      if (r.isWrite()) return null; // running code changes it: not a table built once
    }
  // Functions the registration code may store in its tables: made inside the registration
  // functions or in the arguments of the load-time calls.
  const registering = unit.executable.filter(registers);
  const stored = B.functions.filter(
    (f) => inClosure(f.node.start) || registering.some((s) => f.node.start >= s.start && f.node.end <= s.end),
  );
  const mayUseThis = stored.some((f) => f.usesThis && !f.isArrow);
  if (changedLater(B.ast, touched, refs, inClosure, mayUseThis)) return null;
  // The registration functions that write are called at load, by whole statements, and from
  // nowhere else; helpers that only read (moment's isNumber) may be called by running code too.
  for (const f of writers) {
    const v = (scope.variables as Variable[]).find((x) => functionOf(x) === f);
    if (!v) return null;
    for (const r of v.references) {
      const pos = r.identifier.start;
      if (inClosure(pos) || isDeclaration(v, r)) continue;
      const stmt = statementOf(pos);
      const calls = stmt && registers(stmt) ? registrationCalls(stmt)! : [];
      if (!calls.some((c) => c.callee === r.identifier)) return null;
    }
  }
  for (const s of unit.executable) {
    if (!registers(s)) continue;
    if (!registrationCalls(s)!.every((c) => pureArguments(c.arguments as AstNode[]))) return null;
    if (s.type === 'ForStatement' && !rerunnableLoop(s)) return null;
    loadCalls.push(s);
  }
  if (!stale.every((s) => loadCalls.includes(s))) return null;
  const resets = [...counters].map((v) => v.defs[0]!.node as unknown as AstNode);
  return {
    resets,
    calls: loadCalls,
    names: [...closure].filter((f) => writers.has(f)).map((f) => ctx.m.keyInA(f)),
    // New tables are cells (dropped on revert); the running ones are saved and put back.
    tables: [...tables].map((v) => v.name).filter((n) => unit.decls.has(n) && running.set.has(n)),
  };

  /** A load-time statement whose every call is a call of a registration function. */
  function registers(stmt: AstNode): boolean {
    return calleesOf(stmt)?.every((f) => closure.has(f)) ?? false;
  }
  /**
   * A loop of registration calls that runs the same way again: its head computes its variables
   * from values alone, and only load-time code uses them (nothing that runs later reads what the
   * loop leaves in them; a re-run from the same start takes the same steps).
   */
  function rerunnableLoop(loop: AstNode): boolean {
    const vars = loopVariables(loop, refs);
    if (!vars) return false;
    return vars.every((v) =>
      v.references.every((r) => {
        const pos = r.identifier.start;
        const stmt = statementOf(pos);
        return !!stmt && !runsLater(pos, stmt);
      }),
    );
  }
  function runsLater(pos: number, stmt: AstNode): boolean {
    return B.functions.some(
      (f) => !f.once && f.node.start >= stmt.start && f.node.start <= pos && pos < f.node.end,
    );
  }
  function isDeclaration(v: Variable, r: Reference): boolean {
    return v.defs.some((d) => d.name === r.identifier) || r.init === true;
  }
  function freshTable(v: Variable): boolean {
    const def = v.defs[0];
    if (v.defs.length !== 1 || def?.type !== 'Variable') return false;
    let init = (def.node as unknown as AstNode).init as AstNode | null;
    while (init?.type === 'AssignmentExpression' && init.operator === '=') init = init.right as AstNode;
    if (init?.type !== 'ArrayExpression' && init?.type !== 'ObjectExpression') return false;
    return v.references.every((r) => !r.isWrite() || r.init === true);
  }
  function numericStart(v: Variable): boolean {
    const def = v.defs[0];
    if (v.defs.length !== 1 || def?.type !== 'Variable') return false;
    const init = (def.node as unknown as AstNode).init as AstNode | null;
    return init?.type === 'Literal' && typeof init.value === 'number';
  }
}

/** The functions that write (`writing`) or call, directly or not, one that does. */
export function writersOf(
  callees: ReadonlyMap<FunctionInfo, FunctionInfo[]>,
  writing: ReadonlySet<FunctionInfo>,
): Set<FunctionInfo> {
  const out = new Set(writing);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [f, gs] of callees)
      if (!out.has(f) && gs.some((g) => out.has(g))) {
        out.add(f);
        grew = true;
      }
  }
  return out;
}

/**
 * The calls a load-time statement makes: `f(…);`, or a `for` loop whose body is only such
 * statements (moment's `for (token = 'S'; token.length <= 9; token += 'S') addParseToken(token, parseMs);`).
 */
export function registrationCalls(stmt: AstNode): AstNode[] | null {
  const callOf = (s: AstNode): AstNode | null =>
    s.type === 'ExpressionStatement' && (s.expression as AstNode).type === 'CallExpression'
      ? (s.expression as AstNode)
      : null;
  if (stmt.type !== 'ForStatement') {
    const c = callOf(stmt);
    return c ? [c] : null;
  }
  const body = stmt.body as AstNode;
  const calls = (body.type === 'BlockStatement' ? (body.body as AstNode[]) : [body]).map(callOf);
  return calls.length > 0 && calls.every((c) => c !== null) ? (calls as AstNode[]) : null;
}

/**
 * The variables a `for` loop's head steps, when the head is made of values alone: its init sets
 * them from pure expressions (`i = 0`, `let t = 'S'`), its test reads, its update writes only
 * them (`i++`, `t += 'S'`), and it reads no other variable. Null for any other head.
 */
export function loopVariables(loop: AstNode, refs: Map<number, Reference>): Variable[] | null {
  const vars = new Set<Variable>();
  const bind = (id: AstNode): boolean => {
    const v = id.type === 'Identifier' ? refs.get(id.start)?.resolved : null;
    if (v) vars.add(v);
    return !!v;
  };
  const init = loop.init as AstNode | null;
  if (!init) return null;
  if (init.type === 'VariableDeclaration') {
    for (const d of init.declarations as AstNode[])
      if (!d.init || !pureArguments([d.init as AstNode]) || !bind(d.id as AstNode)) return null;
  } else {
    const parts = init.type === 'SequenceExpression' ? (init.expressions as AstNode[]) : [init];
    for (const e of parts)
      if (
        e.type !== 'AssignmentExpression' ||
        e.operator !== '=' ||
        !pureArguments([e.right as AstNode]) ||
        !bind(e.left as AstNode)
      )
        return null;
  }
  const stepped = (id: AstNode): boolean =>
    id.type === 'Identifier' && vars.has(refs.get(id.start)?.resolved as Variable);
  const update = loop.update as AstNode | null;
  const steps = !update
    ? []
    : update.type === 'SequenceExpression'
      ? (update.expressions as AstNode[])
      : [update];
  for (const e of steps) {
    const ok =
      (e.type === 'UpdateExpression' && stepped(e.argument as AstNode)) ||
      (e.type === 'AssignmentExpression' &&
        !/^(&&|\|\||\?\?)=$/.test(e.operator as string) &&
        stepped(e.left as AstNode) &&
        pureArguments([e.right as AstNode]));
    if (!ok) return null;
  }
  const test = loop.test as AstNode | null;
  if (test && !pureArguments([test])) return null;
  // The head reads nothing but its own variables: a value running code may have changed since
  // load (`i < list.length`) would make the re-run take other steps.
  const values = [init, test, update].filter((n): n is AstNode => n !== null);
  return values.every((n) => readsOnly(n, vars, refs)) ? [...vars] : null;
}

/** Whether every variable `node` reads is one of `vars`. */
function readsOnly(node: AstNode, vars: ReadonlySet<Variable>, refs: Map<number, Reference>): boolean {
  if (node.type === 'Identifier') {
    const r = refs.get(node.start);
    return !r || (!!r.resolved && vars.has(r.resolved));
  }
  return childrenOf(node).every((c) => readsOnly(c, vars, refs));
}

/** Statement patches that run the plan at apply: counters reset, then every registration call. */
export function registrationPatches(ctx: DiffContext, unit: Unit, plan: RegistrationPlan): StatementPatch[] {
  const patch = (value: AstNode, name: string): StatementPatch => ({
    kind: 'rerun',
    target: null,
    key: '',
    value,
    name,
    unit: unit.fn,
    line: lineOf(ctx.B.source, value.start),
    registration: true,
  });
  // In a run-once wrapper a counter is the wrapper's variable: set through its scope accessor.
  const reset = (d: AstNode): StatementPatch => {
    const name = (d.id as AstNode).name as string;
    const p = patch(d, `${name} (counter reset)`);
    if (unit.fn === null) return p;
    const init = ctx.B.source.slice((d.init as AstNode).start, (d.init as AstNode).end);
    return {
      ...p,
      valueText: `${SCOPE_PARAM}(${JSON.stringify(ctx.m.rename(name))}, ${init}, ${ACCESS.assign});`,
    };
  };
  const patches = [
    ...plan.resets.map(reset),
    ...plan.calls.map((s) => patch(s, ctx.B.source.slice(s.start, Math.min(s.end, s.start + 60)))),
  ];
  if (plan.tables.length) patches[0]!.snapshot = plan.tables;
  return patches;
}

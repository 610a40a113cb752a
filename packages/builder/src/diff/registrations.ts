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
  const calleeOf = (stmt: AstNode): Variable | null => {
    if (stmt.type !== 'ExpressionStatement') return null;
    const e = stmt.expression as AstNode;
    return e.type === 'CallExpression' ? unitVar(e.callee as AstNode) : null;
  };

  // The functions the stale statements call, and those they call in turn.
  const registrars = new Set<FunctionInfo>();
  for (const stmt of stale) {
    const f = functionOf(calleeOf(stmt));
    if (!f) return null;
    registrars.add(f);
  }
  const tables = new Set<Variable>();
  const counters = new Set<Variable>();
  const closure = new Set<FunctionInfo>();
  const queue = [...registrars];
  while (queue.length) {
    const f = queue.pop()!;
    if (closure.has(f)) continue;
    closure.add(f);
    const more = effects(f);
    if (more === null) return null;
    queue.push(...more);
  }

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
        return true;
      }
      if (n.type !== 'MemberExpression') return false;
      let root = n;
      while (root.type === 'MemberExpression') root = root.object as AstNode;
      const v = unitVar(root);
      if (!v) return false;
      tables.add(v);
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
        if (!closure.has(functionOf(calleeOf(stmt)) as FunctionInfo)) return null;
        continue;
      }
      if (r.isWrite()) return null; // running code changes it: not a table built once
    }
  // Functions the registration code may store in its tables: made inside the registration
  // functions or in the arguments of the load-time calls.
  const registering = unit.executable.filter((s) => closure.has(functionOf(calleeOf(s)) as FunctionInfo));
  const stored = B.functions.filter(
    (f) => inClosure(f.node.start) || registering.some((s) => f.node.start >= s.start && f.node.end <= s.end),
  );
  const mayUseThis = stored.some((f) => f.usesThis && !f.isArrow);
  if (changedLater(B.ast, touched, refs, inClosure, mayUseThis)) return null;
  // The registration functions are called at load, by whole statements, and from nowhere else.
  for (const f of closure) {
    const v = (scope.variables as Variable[]).find((x) => functionOf(x) === f);
    if (!v) return null;
    for (const r of v.references) {
      const pos = r.identifier.start;
      if (inClosure(pos) || isDeclaration(v, r)) continue;
      const stmt = statementOf(pos);
      if (!stmt || calleeOf(stmt) !== v || (stmt.expression as AstNode).callee !== r.identifier) return null;
    }
  }
  for (const s of unit.executable) {
    const f = functionOf(calleeOf(s));
    if (f && closure.has(f)) {
      if (!pureArguments((s.expression as AstNode).arguments as AstNode[])) return null;
      loadCalls.push(s);
    }
  }
  if (!stale.every((s) => loadCalls.includes(s))) return null;
  const resets = [...counters].map((v) => v.defs[0]!.node as unknown as AstNode);
  return {
    resets,
    calls: loadCalls,
    names: [...closure].map((f) => ctx.m.keyInA(f)),
    // New tables are cells (dropped on revert); the running ones are saved and put back.
    tables: [...tables].map((v) => v.name).filter((n) => unit.decls.has(n) && running.set.has(n)),
  };

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

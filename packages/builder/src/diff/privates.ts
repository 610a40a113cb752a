import {
  type AstNode,
  cellKey,
  childrenOf,
  type FunctionInfo,
  GLOBAL,
  isFunctionNode,
  type ModuleAnalysis,
  PRIVATE_ACCESS,
  PRIVATE_PARAM_PREFIX,
  PRIVATE_SHADOW,
} from '@hotpatch/instrument';
import type { Problem } from './resolution.js';
import type { Rewrite } from './rewrites.js';
import { globalRefs } from './scope.js';

/**
 * Phase 4, private names: a replacement is compiled outside its class body, where `#x` does not
 * parse. Each use of a private name of an enclosing class becomes a call of that class's private
 * accessor, which the guard passes (convention.ts: `__hp$p0("x", o)` for `o.#x`). Only the redirect
 * form changes: the LiveEdit form stays in the class body, where `#x` means what it meant.
 */

/** The parameter a replacement receives the i-th enclosing class's private accessor as. */
const accessor = (i: number) => `${PRIVATE_PARAM_PREFIX}${i}`;

/** Variable the compound-assignment updater takes the current value as (reserved, shadows nothing). */
const CURRENT = '__hp$u';

const LOGICAL: Record<string, number> = {
  '||=': PRIVATE_ACCESS.orAssign,
  '&&=': PRIVATE_ACCESS.andAssign,
  '??=': PRIVATE_ACCESS.nullishAssign,
};

export interface PrivateRewrites {
  rewrites: Rewrite[];
  problems: Problem[];
  /** New private methods whose calls were inlined (`Class#name`). */
  inlined: string[];
  /** New private fields kept beside the running instances (`Class#name`). */
  shadowed: string[];
}

/**
 * How a new private method's code becomes an expression a replacement can call: its function
 * text, references resolved where the method stands, with `privateEdits` (its own uses of private
 * names) applied; or why it cannot.
 */
export type MethodInliner = (method: AstNode, privateEdits: Rewrite[]) => string | Problem;

/**
 * Rewrites of every private-name use in `fb` (fixed version) that refers to a class around it,
 * for the running function `fa` whose guard passes the accessors; or why one cannot be reached.
 * A call of a private method the fix adds (the running class has none, and running instances
 * cannot gain one) is inlined through `inline`: `this.#m(a)` → `(function (a) { … }).call(this, a)`;
 * a private field the fix adds is kept beside each instance (shadowField).
 */
export function privateRewrites(
  B: ModuleAnalysis,
  fb: FunctionInfo,
  fa: FunctionInfo,
  inline?: MethodInliner,
): PrivateRewrites {
  const names = new PrivateNames(B, fb, fa, inline);
  names.out.rewrites = names.rewritesIn(fb.node);
  return names.out;
}

class PrivateNames {
  readonly out: PrivateRewrites = { rewrites: [], problems: [], inlined: [], shadowed: [] };
  /** New private methods being inlined (one calling itself is refused). */
  readonly #inlining: AstNode[] = [];

  constructor(
    readonly B: ModuleAnalysis,
    readonly fb: FunctionInfo,
    readonly fa: FunctionInfo,
    readonly inline?: MethodInliner,
  ) {}

  /** The rewrites of the private-name uses in `root` (the function, or an inlined method). */
  rewritesIn(root: AstNode): Rewrite[] {
    const into: Rewrite[] = [];
    const around = classesAround(this.B.ast, root);
    const visit = (node: AstNode, up: AstNode[]): void => {
      if (node.type === 'PrivateIdentifier' && !isDeclaration(node, up[0])) {
        const problem = this.#use(node, [...up, ...around], into);
        if (problem) this.#problem(problem);
      }
      for (const c of childrenOf(node)) visit(c, [node, ...up]);
    };
    visit(root, []);
    return into;
  }

  #problem(detail: string): void {
    if (!this.out.problems.some((p) => p.detail === detail))
      this.out.problems.push({ id: 'unsupported-syntax', detail });
  }

  #owner(index: number, name: string): string {
    return `${this.fb.privateClasses[index]!.binding}#${name}`;
  }

  /** Adds the rewrites of one use to `into`; or why it cannot be reached. */
  #use(id: AstNode, up: AstNode[], into: Rewrite[]): string | null {
    const name = id.name as string;
    const found = accessorIndex(this.fb, this.fa, name, up);
    if (found === null) return null;
    if (typeof found === 'string') return found;
    let head = `${accessor(found.index)}(`;
    if ('added' in found) {
      const r = this.#inlineCall(id, up, found.added, found.index);
      if (typeof r === 'string') return `#${name}, a private method the fix adds, ${r}`;
      into.push(...r);
      return null;
    }
    if ('field' in found) {
      const key = cellKey(`${this.fb.privateClasses[found.index]!.binding}.#${name}`);
      const shadow = shadowField(found.field, found.brand, accessor(found.index), key, this.B);
      if (typeof shadow === 'string') return `#${name} ${shadow}`;
      head = shadow.head;
    }
    const r = useRewrites(id, up, head, name);
    if (typeof r === 'string') return `#${name} ${r}`;
    into.push(...r.map((x) => ({ ...x, redirectOnly: true })));
    const owner = this.#owner(found.index, name);
    if ('field' in found && !this.out.shadowed.includes(owner)) this.out.shadowed.push(owner);
    return null;
  }

  #inlineCall(id: AstNode, up: AstNode[], method: AstNode, index: number): Rewrite[] | string {
    const [member, call] = up;
    if (!this.inline) return 'cannot be inlined here';
    if (call?.type !== 'CallExpression' || call.callee !== member || call.optional || member!.optional)
      return 'is used other than by a call';
    const o = member!.object as AstNode;
    if (hasOptionalLink(o)) return 'is called after an optional chain (`?.`)';
    if (method.kind !== 'method') return `is a ${method.kind === 'get' ? 'getter' : 'setter'}`;
    if (this.#inlining.includes(method)) return 'calls itself';
    this.#inlining.push(method);
    const edits = this.rewritesIn(method.value as AstNode);
    this.#inlining.pop();
    const text = this.inline(method, edits);
    if (typeof text !== 'string') return text.detail;
    const owner = this.#owner(index, id.name as string);
    if (!this.out.inlined.includes(owner)) this.out.inlined.push(owner);
    const args = call.arguments as AstNode[];
    const head = { start: o.start, end: o.start, text: `(${text}).call((`, redirectOnly: true };
    if (args.length === 0) return [head, { start: o.end, end: call.end, text: '))', redirectOnly: true }];
    return [
      head,
      { start: o.end, end: args[0]!.start, text: '), ', redirectOnly: true },
      { start: args[args.length - 1]!.end, end: call.end, text: ')', redirectOnly: true },
    ];
  }
}

/** The classes whose bodies contain `node`, innermost first. */
function classesAround(program: AstNode, node: AstNode): AstNode[] {
  const out: AstNode[] = [];
  for (let n: AstNode | undefined = program; n && n !== node; ) {
    if (n.type === 'ClassDeclaration' || n.type === 'ClassExpression') out.unshift(n);
    n = childrenOf(n).find((c) => c.start <= node.start && node.end <= c.end);
  }
  return out;
}

/** A class element's own key (`#x = 1`, `#m() {}`): not a use. */
function isDeclaration(id: AstNode, parent: AstNode | undefined): boolean {
  return (parent?.type === 'PropertyDefinition' || parent?.type === 'MethodDefinition') && parent.key === id;
}

/**
 * Which accessor the guard passes serves `#name` here: the innermost class around the use that
 * declares it must be one the guard hands over, at the same position in the running code and
 * declaring the same name there. Null for a class inside the new code itself (it keeps its `#name`).
 */
function accessorIndex(
  fb: FunctionInfo,
  fa: FunctionInfo,
  name: string,
  up: AstNode[],
): Found | string | null {
  const cls = up.find(
    (n) => (n.type === 'ClassDeclaration' || n.type === 'ClassExpression') && declaring(n, name),
  );
  if (!cls) return `#${name} is declared by no class around the function`;
  if (cls.start >= fb.node.start && cls.end <= fb.node.end) return null;
  const index = fb.privateClasses.findIndex((c) => c.node === cls);
  if (index === -1)
    return `uses #${name} of a class whose name the function does not see (anonymous or shadowed)`;
  const running = fa.privateClasses[index];
  if (fa.privateClasses.length !== fb.privateClasses.length || !running)
    return `uses #${name} of ${fb.privateClasses[index]!.binding}, which declares no private names in the running code (or is not around the running function)`;
  if (running.names.includes(name)) return { index };
  // A name the fix adds: a method (a getter and setter pair shares it) or a field, never both.
  const el = declaring(cls, name)!;
  if (el.type === 'MethodDefinition') return { index, added: el };
  if (el.type === 'PropertyDefinition') return { index, field: el, brand: instanceBrand(running.node) };
  return `uses #${name}, which the running class ${running.binding} does not declare`;
}

/** The first element of a class that declares the private name `#name`. */
function declaring(cls: AstNode, name: string): AstNode | undefined {
  return ((cls.body as AstNode).body as AstNode[]).find(
    (el) =>
      (el.key as AstNode | undefined)?.type === 'PrivateIdentifier' && (el.key as AstNode).name === name,
  );
}

type Found =
  | { index: number }
  | { index: number; added: AstNode }
  | { index: number; field: AstNode; brand: string | null };

/** A private name every instance of the running class has (a field or method): its brand. */
function instanceBrand(cls: AstNode): string | null {
  const el = ((cls.body as AstNode).body as AstNode[]).find(
    (e) =>
      !e.static &&
      (e.type === 'PropertyDefinition' || (e.type === 'MethodDefinition' && e.kind !== 'constructor')) &&
      (e.key as AstNode).type === 'PrivateIdentifier',
  );
  return el ? ((el.key as AstNode).name as string) : null;
}

/**
 * A private field the fix adds, which running instances do not have (nor those the running
 * constructor makes after the patch): kept beside each instance by the runtime (`__hotpatch$.pf`),
 * its initializer computed on first read — the same value only for an initializer that computes
 * nothing from its context (a literal, a new empty object, array or collection). Instances are told
 * from other objects by a private name the running class already gives them.
 */
function shadowField(
  field: AstNode,
  brand: string | null,
  acc: string,
  key: string,
  B: ModuleAnalysis,
): { head: string } | string {
  if (field.static) return 'is a static field the fix adds';
  if (!brand) return 'is a field the fix adds to a class whose instances have no other private name';
  const value = field.value as AstNode | null;
  // `new Map()` makes the same empty Map in the replacement only if `Map` is the global one there too.
  const globals = new Set(value ? globalRefs(B, value) : []);
  if (!freshValue(value, globals))
    return 'is a field the fix adds, with an initializer that depends on where it runs';
  // It names nothing a replacement could see otherwise (freshValue): its text as written.
  const init = value ? `() => (${B.source.slice(value.start, value.end)})` : '() => undefined';
  const has = `(${SHADOW_OBJECT}) => ${acc}(${JSON.stringify(brand)}, ${SHADOW_OBJECT}, undefined, ${PRIVATE_ACCESS.has})`;
  return { head: `${GLOBAL}.${PRIVATE_SHADOW}(${JSON.stringify(key)}, ${has}, ${init}, ` };
}

const SHADOW_OBJECT = '__hp$x';

/** Globals whose `new X()` with no arguments makes a fresh, empty object. */
const EMPTY_COLLECTIONS = new Set(['Map', 'Set', 'WeakMap', 'WeakSet', 'Array', 'Object']);

/** Whether `n` makes a value that depends on nothing around it (`globals`: the names it uses that are globals). */
function freshValue(n: AstNode | null, globals: Set<string>): boolean {
  if (!n) return true;
  switch (n.type) {
    case 'Literal':
      return !(n as { regex?: unknown }).regex;
    case 'TemplateLiteral':
      return (n.expressions as AstNode[]).length === 0;
    case 'UnaryExpression':
      return (
        (n.operator === '-' || n.operator === '!' || n.operator === 'void') &&
        freshValue(n.argument as AstNode, globals)
      );
    case 'ArrayExpression':
      return (n.elements as Array<AstNode | null>).every(
        (e) => e !== null && e.type !== 'SpreadElement' && freshValue(e, globals),
      );
    case 'ObjectExpression':
      return (n.properties as AstNode[]).every(
        (p) =>
          p.type === 'Property' &&
          !p.computed &&
          p.kind === 'init' &&
          !p.method &&
          freshValue(p.value as AstNode, globals),
      );
    case 'NewExpression':
      return (
        (n.callee as AstNode).type === 'Identifier' &&
        EMPTY_COLLECTIONS.has((n.callee as AstNode).name as string) &&
        globals.has((n.callee as AstNode).name as string) &&
        (n.arguments as AstNode[]).length === 0
      );
    default:
      return false;
  }
}

type Edit = { start: number; end: number; text: string };

/**
 * The edits that turn one use of `#name` (`id`, with its ancestors `up`) into an accessor call, or
 * why this form of use cannot be. Edits only touch the text around the object expression and the
 * right-hand side, so that rewrites inside them (scope accessors, renames) still apply.
 */
function useRewrites(id: AstNode, up: AstNode[], head: string, name: string): Edit[] | string {
  const q = JSON.stringify(name);
  const open = (at: number) => ({ start: at, end: at, text: `${head}${q}, (` });
  const [parent, grand] = up;
  if (parent?.type === 'BinaryExpression' && parent.left === id) {
    // `#x in o`
    const o = parent.right as AstNode;
    return [
      { start: parent.start, end: o.start, text: `${head}${q}, (` },
      { start: o.end, end: parent.end, text: `), undefined, ${PRIVATE_ACCESS.has})` },
    ];
  }
  if (parent?.type !== 'MemberExpression' || parent.property !== id)
    return 'in a form the builder does not know';
  const member = parent;
  const o = member.object as AstNode;
  if (member.optional || hasOptionalLink(o)) return 'after an optional chain (`?.`)';
  const where = grand;
  if (where?.type === 'CallExpression' && where.callee === member) {
    // `o.#f?.()`: the accessor short-circuits the call itself; only as the last link of its chain
    // (a longer chain would short-circuit what follows too).
    if (where.optional && up[2]?.type !== 'ChainExpression')
      return 'called with `?.()` inside a longer chain';
    const args = where.arguments as AstNode[];
    const close = `], ${where.optional ? PRIVATE_ACCESS.optionalCall : PRIVATE_ACCESS.call})`;
    if (args.length === 0) return [open(o.start), { start: o.end, end: where.end, text: `), [${close}` }];
    return [
      open(o.start),
      { start: o.end, end: args[0]!.start, text: '), [' },
      { start: args[args.length - 1]!.end, end: where.end, text: close },
    ];
  }
  if (where?.type === 'AssignmentExpression' && where.left === member) {
    const v = where.right as AstNode;
    const op = where.operator as string;
    if (op !== '=' && suspends(v)) return `assigned with ${op} from an expression that awaits or yields`;
    const head =
      op === '='
        ? '), ('
        : op in LOGICAL
          ? '), () => ('
          : `), (${CURRENT}) => ${CURRENT} ${op.slice(0, -1)} (`;
    const code = op === '=' ? PRIVATE_ACCESS.assign : (LOGICAL[op] ?? PRIVATE_ACCESS.update);
    return [
      open(o.start),
      { start: o.end, end: v.start, text: head },
      { start: v.end, end: v.end, text: `), ${code})` },
    ];
  }
  if (where?.type === 'UpdateExpression') {
    const P = PRIVATE_ACCESS;
    const code =
      where.operator === '++'
        ? where.prefix
          ? P.preIncrement
          : P.postIncrement
        : where.prefix
          ? P.preDecrement
          : P.postDecrement;
    return [
      { start: where.start, end: o.start, text: `${head}${q}, (` },
      { start: o.end, end: where.end, text: `), undefined, ${code})` },
    ];
  }
  if (where?.type === 'TaggedTemplateExpression' && where.tag === member) return 'as a template tag';
  if (isPatternTarget(member, up.slice(1))) return 'as a destructuring or loop target';
  // A read: parenthesised, since it may stand after `new` or before a call.
  return [
    { start: o.start, end: o.start, text: `(${head}${q}, (` },
    { start: o.end, end: member.end, text: ')))' },
  ];
}

/** `a?.b.#x`: the object's own chain short-circuits, which an accessor call would not. */
function hasOptionalLink(o: AstNode): boolean {
  for (let n: AstNode | undefined = o; n; ) {
    if (n.type === 'ChainExpression') return true;
    if ((n.type === 'MemberExpression' || n.type === 'CallExpression') && n.optional) return true;
    n =
      n.type === 'MemberExpression'
        ? (n.object as AstNode)
        : n.type === 'CallExpression'
          ? (n.callee as AstNode)
          : undefined;
  }
  return false;
}

/** Whether the member is written by a pattern (destructuring, `for (o.#x of …)`). */
function isPatternTarget(member: AstNode, up: AstNode[]): boolean {
  let child = member;
  for (const n of up) {
    if (n.type === 'ArrayPattern' || n.type === 'RestElement') return true;
    if (n.type === 'AssignmentPattern') return n.left === child;
    if (n.type === 'Property' && up.includes(n) && n.value === child) {
      child = n;
      continue;
    }
    if (n.type === 'ObjectPattern') return true;
    if ((n.type === 'ForOfStatement' || n.type === 'ForInStatement') && n.left === child) return true;
    return false;
  }
  return false;
}

/** Whether an expression awaits or yields outside functions of its own (a thunk would break it). */
function suspends(node: AstNode): boolean {
  if (node.type === 'AwaitExpression' || node.type === 'YieldExpression') return true;
  if (isFunctionNode(node)) return false;
  return childrenOf(node).some(suspends);
}

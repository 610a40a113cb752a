import {
  type AstNode,
  analyzeModule,
  childKeys,
  type FunctionInfo,
  type ModuleAnalysis,
  type Scope,
} from '@hotpatch/instrument';
import { commonSubsequence } from '../common-subsequence.js';

/**
 * Phase 0, for minified builds: a minifier names variables by how often they are used, so from one
 * release to the next the same variable gets another name (terser's `x` becomes `m` and `m`
 * becomes `x`), and every function and statement that refers to it looks changed. Two programs
 * that differ only by a consistent renaming of their variables are the same program
 * (alpha-equivalence): this phase renames the fixed version's variables to the names their
 * counterparts have in the running version, so that only real changes remain for the other phases
 * and code emitted from the fixed version uses the running names.
 *
 * Counterparts: both token streams, with every variable occurrence made anonymous, are aligned
 * (longest common subsequence); each aligned pair of occurrences is a vote that the two variables
 * are one, and pairs are taken by most votes, each variable at most once, and only within
 * functions paired the same way. A fixed-version variable with no counterpart keeps its name
 * unless the counterpart of its function (or the module) has a variable of that name, or the
 * program a global, then gets a fresh one (`t$1`). Names declared by `export` stay.
 *
 * The result is checked before use: re-parsed, it must have the fixed version's syntax tree
 * except for variable names, and every identifier must denote the renamed counterpart of what it
 * denoted in the fixed version (globals the same globals). A variable that captures another's
 * references gets a fresh name and the check runs again; anything else and the fixed version is
 * diffed as published. (A function's `.name` follows its new name: minified names carry no meaning.)
 */
export interface MangledRenaming {
  /** The fixed version under the running version's names, analysed. */
  analysis: ModuleAnalysis;
  /** Fixed-version variables given their running counterpart's name (where it differs). */
  renamed: number;
  /** Fixed-version variables with no counterpart given a fresh name. */
  fresh: number;
}

/** More insertions and deletions than this between the two streams: not the same build (a toolchain change). */
const MAX_EDITS = 4000;

export function toRunningNames(A: ModuleAnalysis, B: ModuleAnalysis): MangledRenaming | null {
  const inA = bindingsOf(A);
  const inB = bindingsOf(B);
  if (!inA || !inB) return null;
  const paired = counterparts(A, inA, B, inB);
  if (!paired) return null;
  const { toA } = paired;
  const names = new Names(inA, inB, A, B, paired.homes);
  for (const b of inB.list) {
    const a = toA.get(b);
    if (!b.exported && a) names.set(b, a.name);
  }
  for (const b of inB.list) if (!b.exported && !toA.has(b) && names.taken(b)) names.refresh(b);
  const shorthand = shorthandsOf(B.ast);
  for (let round = 0; round < 20; round++) {
    for (const b of sharedInScope(inB, names)) names.refresh(b);
    const source = rewrite(B.source, inB, names, shorthand);
    if (source === B.source) return { analysis: B, renamed: 0, fresh: 0 }; // the minifier kept every name
    let C: ModuleAnalysis;
    try {
      C = analyzeModule(source, { sourceType: B.sourceType });
    } catch {
      return null; // a name clash our scope rules did not foresee (a `let` beside a hoisted `var`)
    }
    const inC = bindingsOf(C);
    if (!inC) return null;
    const captors = captured(B, inB, C, inC);
    if (captors === null) return null;
    if (captors.length === 0) {
      const renamed = inB.list.filter((b) => toA.has(b) && names.of(b) !== b.name).length;
      return { analysis: C, renamed, fresh: names.freshCount() };
    }
    for (const b of captors) {
      if (b.exported) return null;
      names.refresh(b);
    }
  }
  return null;
}

/** One variable as the renaming sees it: every place its name is written. */
interface Binding {
  name: string;
  /** Starts of the identifiers naming it, its first declaration first. */
  at: number[];
  /** Declared by `export` at module level: its name is part of the module's interface. */
  exported: boolean;
  /** The scopes that declare it (a class declaration's name: outside and inside the class). */
  scopes: Scope[];
  /** The function it belongs to (that of the scope declaring it), or the module. */
  home: Home;
}

interface Bindings {
  list: Binding[];
  at: Map<number, Binding>;
  /** Names the program reads as globals. */
  globals: Set<string>;
}

/** The program's variables, or null when some are looked up by name at run time (`with`, direct `eval`). */
function bindingsOf(a: ModuleAnalysis): Bindings | null {
  const list: Binding[] = [];
  const at = new Map<number, Binding>();
  const byNode = new Map<unknown, FunctionInfo>(a.functions.map((f) => [f.node, f]));
  for (const scope of a.scopes.scopes) {
    if (scope.type === 'with' || scope.directCallToEvalScope) return null;
    if (scope.type === 'global') continue;
    for (const v of scope.variables) {
      if (v.defs.length === 0) continue; // `arguments`
      const places = [...v.identifiers.map((i) => i.start), ...v.references.map((r) => r.identifier.start)];
      let b = places.map((p) => at.get(p)).find((x) => x !== undefined);
      if (!b) {
        b = {
          name: v.name,
          at: [],
          exported: false,
          scopes: [],
          home: byNode.get(scope.variableScope.block) ?? MODULE,
        };
        list.push(b);
      }
      b.scopes.push(scope);
      for (const p of places)
        if (!at.has(p)) {
          at.set(p, b);
          b.at.push(p);
        }
    }
  }
  // `export function f`, `export const x = …`: the declaration (or its declarator list) starts where the export's declaration does.
  const exportedAt = new Set<number>();
  for (const stmt of a.ast.body as AstNode[])
    if (stmt.type === 'ExportNamedDeclaration' && stmt.declaration)
      exportedAt.add((stmt.declaration as AstNode).start);
  for (const v of a.moduleScope.variables) {
    const b = v.identifiers[0] ? at.get(v.identifiers[0].start) : undefined;
    if (b && v.defs.some((d) => exportedAt.has((d.parent ?? d.node).start))) b.exported = true;
  }
  const globals = new Set(a.scopes.globalScope.through.map((r) => r.identifier.name));
  return { list, at, globals };
}

/**
 * Fixed-version variable → running counterpart, by votes of aligned occurrences; null when the
 * builds are too far apart. Functions are paired first, by their aligned tokens, and a variable
 * is paired only with one declared in the counterpart of its function: a parameter of a new
 * function that happens to align with a running one's is not that one's parameter.
 */
function counterparts(
  A: ModuleAnalysis,
  inA: Bindings,
  B: ModuleAnalysis,
  inB: Bindings,
): { toA: Map<Binding, Binding>; homes: Map<Home, Home> } | null {
  const ta = anonymousTokens(A, inA);
  const tb = anonymousTokens(B, inB);
  const pairs = commonSubsequence(ta.texts, tb.texts, MAX_EDITS);
  if (!pairs) return null;
  const homes = greedyPairs<Home>(
    pairs.map(([i, j]) => ({ a: ta.functions[i]!, b: tb.functions[j]!, same: false })),
  );
  homes.set(MODULE, MODULE);
  const votes: Array<{ a: Binding; b: Binding; same: boolean }> = [];
  for (const [i, j] of pairs) {
    const a = ta.bindings[i];
    const b = tb.bindings[j];
    if (!a || !b) continue;
    if (homes.get(b.home) !== a.home) continue;
    votes.push({ a, b, same: a.name === b.name });
  }
  return { toA: greedyPairs(votes), homes };
}

const MODULE = Symbol('module');
/** Where code is: the innermost function, or the module. */
type Home = FunctionInfo | typeof MODULE;

/**
 * One-to-one pairs from votes (one per aligned occurrence): most votes first; on a tie, the pair
 * whose names are the same (minifiers keep many names from one build to the next).
 */
function greedyPairs<X>(votes: Array<{ a: X; b: X; same: boolean }>): Map<X, X> {
  const counts = new Map<X, Map<X, { n: number; same: boolean }>>();
  for (const { a, b, same } of votes) {
    let row = counts.get(b);
    if (!row) counts.set(b, (row = new Map()));
    const c = row.get(a);
    if (c) c.n++;
    else row.set(a, { n: 1, same });
  }
  const ranked = [...counts].flatMap(([b, row]) => [...row].map(([a, c]) => ({ a, b, ...c })));
  ranked.sort((x, y) => y.n - x.n || Number(y.same) - Number(x.same));
  const out = new Map<X, X>();
  const claimed = new Set<X>();
  for (const { a, b } of ranked) {
    if (out.has(b) || claimed.has(a)) continue;
    out.set(b, a);
    claimed.add(a);
  }
  return out;
}

/**
 * Token texts with every variable occurrence the same placeholder, which variable each is, and
 * the innermost function each token is in.
 */
function anonymousTokens(
  a: ModuleAnalysis,
  inA: Bindings,
): { texts: string[]; bindings: Array<Binding | undefined>; functions: Home[] } {
  const texts: string[] = [];
  const bindings: Array<Binding | undefined> = [];
  const functions: Home[] = [];
  const open: FunctionInfo[] = [];
  let next = 0; // a.functions is in source order (pre-order)
  for (const tok of a.tokens) {
    if (tok.type.label === 'eof') break;
    while (next < a.functions.length && a.functions[next]!.node.start <= tok.start) {
      const f = a.functions[next++]!;
      while (open.length && open[open.length - 1]!.node.end <= f.node.start) open.pop();
      open.push(f);
    }
    while (open.length && open[open.length - 1]!.node.end <= tok.start) open.pop();
    const b = tok.type.label === 'name' ? inA.at.get(tok.start) : undefined;
    texts.push(b ? '\u0000' : a.source.slice(tok.start, tok.end));
    bindings.push(b);
    functions.push(open[open.length - 1] ?? MODULE);
  }
  return { texts, bindings, functions };
}

/** The name each fixed-version variable gets. */
class Names {
  readonly #given = new Map<Binding, string>();
  /** Names that would mean something else anywhere if a new variable took them (globals, exports). */
  readonly #reserved = new Set<string>();
  /** The running version's names, by the fixed version's function (or module) they are declared in. */
  readonly #declared = new Map<Home, Set<string>>();
  /** Every name written anywhere, so that a fresh one is fresh. */
  readonly #used = new Set<string>();
  #fresh = 0;

  constructor(inA: Bindings, inB: Bindings, A: ModuleAnalysis, B: ModuleAnalysis, homes: Map<Home, Home>) {
    const inHomeA = new Map<Home, Set<string>>();
    for (const b of inA.list) inHomeA.set(b.home, (inHomeA.get(b.home) ?? new Set()).add(b.name));
    for (const [hb, ha] of homes) this.#declared.set(hb, inHomeA.get(ha) ?? new Set());
    for (const g of [...inA.globals, ...inB.globals]) this.#reserved.add(g);
    for (const b of inB.list) if (b.exported) this.#reserved.add(b.name);
    for (const x of [A, B])
      for (const tok of x.tokens)
        if (tok.type.label === 'name') this.#used.add(x.source.slice(tok.start, tok.end));
  }

  of(b: Binding): string {
    return this.#given.get(b) ?? b.name;
  }

  set(b: Binding, name: string): void {
    this.#given.set(b, name);
  }

  /**
   * Whether a variable with no running counterpart must not keep its name: a running variable of
   * its function has it (the later phases would take one for the other), or a global or an export.
   */
  taken(b: Binding): boolean {
    return this.#reserved.has(b.name) || Boolean(this.#declared.get(b.home)?.has(b.name));
  }

  /** A name nothing else has: `t$1`, `t$2`… */
  refresh(b: Binding): void {
    let n = 1;
    while (this.#used.has(`${b.name}$${n}`)) n++;
    const name = `${b.name}$${n}`;
    this.#used.add(name);
    this.#given.set(b, name);
    this.#fresh++;
  }

  freshCount(): number {
    return this.#fresh;
  }
}

/** Variables that would share a name with another of the same scope (the later ones, exported ones kept). */
function sharedInScope(inB: Bindings, names: Names): Binding[] {
  const out = new Set<Binding>();
  const byScope = new Map<Scope, Binding[]>();
  for (const b of inB.list)
    for (const scope of b.scopes) {
      const list = byScope.get(scope);
      if (list) list.push(b);
      else byScope.set(scope, [b]);
    }
  for (const inScope of byScope.values()) {
    const seen = new Map<string, Binding>();
    for (const b of [...inScope.filter((x) => x.exported), ...inScope.filter((x) => !x.exported)]) {
      const name = names.of(b);
      const other = seen.get(name);
      if (other && other !== b) out.add(b);
      else seen.set(name, b);
    }
  }
  return [...out];
}

type Shorthand = 'property' | 'import' | 'export';

/** Identifiers that are a key and a variable at once (`{ a }`, `import { a }`, `export { a }`): renaming one spells out the key. */
function shorthandsOf(ast: AstNode): Map<number, Shorthand> {
  const out = new Map<number, Shorthand>();
  const visit = (node: AstNode): void => {
    if (node.type === 'Property' && node.shorthand) {
      const value = node.value as AstNode;
      out.set(value.type === 'AssignmentPattern' ? (value.left as AstNode).start : value.start, 'property');
    } else if (
      node.type === 'ImportSpecifier' &&
      (node.imported as AstNode).start === (node.local as AstNode).start
    )
      out.set((node.local as AstNode).start, 'import');
    else if (
      node.type === 'ExportSpecifier' &&
      (node.local as AstNode).start === (node.exported as AstNode).start
    )
      out.set((node.local as AstNode).start, 'export');
    for (const key of childKeys(node.type)) {
      const v = node[key];
      for (const c of Array.isArray(v) ? v : [v]) if (c && typeof c === 'object') visit(c as AstNode);
    }
  };
  visit(ast);
  return out;
}

function rewrite(source: string, inB: Bindings, names: Names, shorthand: Map<number, Shorthand>): string {
  const edits: Array<{ at: number; from: string; to: string }> = [];
  for (const b of inB.list) {
    const name = names.of(b);
    if (name === b.name) continue;
    for (const at of b.at) {
      const kind = shorthand.get(at);
      const to =
        kind === 'property'
          ? `${b.name}: ${name}`
          : kind === 'import'
            ? `${b.name} as ${name}`
            : kind === 'export'
              ? `${name} as ${b.name}`
              : name;
      edits.push({ at, from: b.name, to });
    }
  }
  edits.sort((x, y) => x.at - y.at);
  let out = '';
  let last = 0;
  for (const e of edits) {
    out += source.slice(last, e.at) + e.to;
    last = e.at + e.from.length;
  }
  return out + source.slice(last);
}

/**
 * The check: C (the renamed program) has B's syntax tree but for variable names, and each
 * identifier denotes in C the counterpart of what it denotes in B. Returns the variables of B
 * whose new name captured identifiers meant for another variable or a global (to rename again),
 * [] when C is B up to renaming, null when C differs otherwise.
 */
function captured(B: ModuleAnalysis, inB: Bindings, C: ModuleAnalysis, inC: Bindings): Binding[] | null {
  const places: Array<[number, number]> = [];
  if (!sameTree(B.ast, C.ast, false, inB, inC, places)) return null;
  const inCAt = new Map(places);
  // A variable of C is the one declared where B's was: its counterpart.
  const image = new Map<Binding, Binding>();
  const preimage = new Map<Binding, Binding>();
  for (const b of inB.list) {
    const c = inC.at.get(inCAt.get(b.at[0]!)!);
    if (!c || preimage.has(c)) return null;
    image.set(b, c);
    preimage.set(c, b);
  }
  const captors = new Set<Binding>();
  for (const [pb, pc] of places) {
    const b = inB.at.get(pb);
    const c = inC.at.get(pc);
    if ((b ? image.get(b) : undefined) === c) continue;
    // The identifier reached another variable of C (or a global): whoever now holds that name takes another.
    if (!c) return null;
    captors.add(preimage.get(c)!);
  }
  return [...captors];
}

/** Fields compared as values (everything but positions, children, and what renaming may change). */
const NOT_VALUES = new Set(['type', 'start', 'end', 'range', 'loc', 'shorthand', 'name', 'value']);

/**
 * B's and C's trees are the same but for the names of variables; records the pairs of positions of
 * variable identifiers (and of identifiers read as globals, which must keep their name).
 */
function sameTree(
  b: AstNode,
  c: AstNode,
  isKey: boolean,
  inB: Bindings,
  inC: Bindings,
  places: Array<[number, number]>,
): boolean {
  if (b.type !== c.type) return false;
  if (b.type === 'Identifier') {
    if (!isKey && (inB.at.has(b.start) || inC.at.has(c.start))) places.push([b.start, c.start]);
    else if (b.name !== c.name) return false;
    return true;
  }
  if (b.type === 'Literal' ? b.raw !== c.raw : b.type === 'PrivateIdentifier' && b.name !== c.name)
    return false;
  const children = childKeys(b.type);
  for (const key of Object.keys(b)) {
    if (NOT_VALUES.has(key) || children.includes(key)) continue;
    if (key === 'value' || key === 'raw' || key === 'bigint' || key === 'regex') continue; // literals: raw above
    if (JSON.stringify(b[key]) !== JSON.stringify(c[key])) return false;
  }
  if (b.type === 'TemplateElement' && JSON.stringify(b.value) !== JSON.stringify(c.value)) return false;
  for (const key of children) {
    const xb = b[key];
    const xc = c[key];
    const lb = Array.isArray(xb) ? xb : [xb];
    const lc = Array.isArray(xc) ? xc : [xc];
    if (Array.isArray(xb) !== Array.isArray(xc) || lb.length !== lc.length) return false;
    for (let i = 0; i < lb.length; i++) {
      const nb = lb[i] as AstNode | null | undefined;
      const nc = lc[i] as AstNode | null | undefined;
      if (!nb || !nc) {
        if (Boolean(nb) !== Boolean(nc)) return false;
        continue;
      }
      if (!sameTree(nb, nc, keySlot(b, key), inB, inC, places)) return false;
    }
  }
  return true;
}

/** Whether an identifier in this field of this node is a name, not a variable (a property key, a label). */
function keySlot(parent: AstNode, key: string): boolean {
  switch (parent.type) {
    case 'MemberExpression':
      return key === 'property' && !parent.computed;
    case 'Property':
    case 'MethodDefinition':
    case 'PropertyDefinition':
      return key === 'key' && !parent.computed;
    case 'ImportSpecifier':
      return key === 'imported';
    case 'ExportSpecifier':
    case 'ExportAllDeclaration':
      return key === 'exported';
    case 'LabeledStatement':
    case 'BreakStatement':
    case 'ContinueStatement':
    case 'MetaProperty':
      return true;
    default:
      return false;
  }
}

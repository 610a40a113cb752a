import {
  type AstNode,
  analyzeModule,
  type FunctionInfo,
  type ModuleAnalysis,
  type SourceType,
} from './analyze.js';

/**
 * Load-time instrumentation for the redirect engine (the engine that works where V8 LiveEdit is
 * gone, Node 26). Every function gets a guard at entry:
 *
 *   const __hp$r = __hp$s[7]; if (__hp$r !== undefined) return __hp$r.call(this, a, b);
 *
 * `__hp$s` is the module's slot array (a plain packed array: the cheapest thing for V8 to read at
 * every call); the runtime fills a slot with a replacement compiled in the module's own scope through one gate
 * per module, `(c) => eval(c)` at top level (a direct eval inside ordinary functions would make
 * them ~5x slower; at top level it runs once). Functions nested in other functions reach their
 * enclosing variables through a per-scope accessor, `__hp$a<depth>(name, value, write)`, which
 * lists only variables some closure already captures, so no variable changes storage.
 *
 * Line numbers are preserved: nothing here inserts a newline.
 */

/** The module's slot array (a hoisted `var`: undefined until the module's first line runs). */
export const GATE = '__hp$s';
export const RESULT = '__hp$r';
export const ACCESSOR_PREFIX = '__hp$a';
export const GLOBAL = '__hotpatch$';
/** Placeholder the runtime replaces with a module instance id inside patch code. */
export const MODULE_TOKEN = '__HOTPATCH_MODULE__';

export type CallShape = 'params' | 'apply' | 'arrow' | 'construct';

export interface GuardShape {
  call: CallShape;
  /** Name of the nearest enclosing accessor passed to the replacement, or null at module level. */
  scope: string | null;
}

/** The accessor a function declares for its children, if any of its variables are captured. */
export function accessorName(f: FunctionInfo): string | null {
  if (f.captured.length === 0) return null;
  return `${ACCESSOR_PREFIX}${depthOf(f)}`;
}

function depthOf(f: FunctionInfo): number {
  let d = 0;
  for (let p: FunctionInfo | null = f; p; p = p.parent) d++;
  return d;
}

/** Nearest enclosing function that declares an accessor. */
export function enclosingAccessor(f: FunctionInfo): FunctionInfo | null {
  for (let p = f.parent; p; p = p.parent) if (accessorName(p)) return p;
  return null;
}

export function guardShape(f: FunctionInfo): GuardShape {
  const outer = enclosingAccessor(f);
  // Referring to `arguments` makes V8 allocate an arguments object on every call (in the tiers
  // below the optimizing compiler), so the guard passes the parameters themselves unless the
  // function uses `arguments` anyway.
  const call: CallShape = f.isArrow
    ? 'arrow'
    : f.kind === 'constructor' && f.derived
      ? 'construct'
      : f.usesArguments
        ? 'apply'
        : 'params';
  return { call, scope: outer ? accessorName(outer) : null };
}

/** Names reachable through the accessor chain visible from inside `f` (innermost first). */
export function reachableEnclosing(f: FunctionInfo): Map<string, FunctionInfo> {
  const out = new Map<string, FunctionInfo>();
  for (let p = f.parent; p; p = p.parent) {
    for (const name of p.captured) if (!out.has(name)) out.set(name, p);
  }
  return out;
}

export interface InstrumentResult {
  code: string;
  /** Function key -> slot index. */
  slots: Map<string, number>;
  analysis: ModuleAnalysis;
}

function guardText(f: FunctionInfo): string {
  const shape = guardShape(f);
  const slot = `${GATE}?.[${f.index}]`;
  const head = `const ${RESULT} = ${slot}; if (${RESULT} !== undefined) `;
  const yieldStar = f.isGenerator ? 'yield* ' : '';
  if (shape.call === 'construct') {
    return `${head}return Reflect.construct(${RESULT}, arguments, new.target);`;
  }
  if (shape.call === 'arrow' || shape.call === 'params') {
    const args = [...(shape.scope ? [shape.scope] : []), ...f.paramNames].join(', ');
    return `${head}return ${yieldStar}${RESULT}.call(this${args ? `, ${args}` : ''});`;
  }
  if (shape.scope) return `${head}return ${yieldStar}${RESULT}.call(this, ${shape.scope}, arguments);`;
  return `${head}return ${yieldStar}${RESULT}.apply(this, arguments);`;
}

function accessorText(f: FunctionInfo): string {
  const name = accessorName(f)!;
  const outer = enclosingAccessor(f);
  // w: 0 read, 1 assign, 2 ++x, 3 x++, 4 --x, 5 x-- (see ACCESS in the builder)
  const cases = f.captured
    .map(
      (v) =>
        `case ${JSON.stringify(v)}: return w === 1 ? (${v} = v) : w === 2 ? ++${v} : w === 3 ? ${v}++ : w === 4 ? --${v} : w === 5 ? ${v}-- : ${v};`,
    )
    .join(' ');
  const fallback = outer
    ? `return ${accessorName(outer)}(n, v, w);`
    : 'throw new ReferenceError(n + " is not reachable from hotpatch code");';
  return `function ${name}(n, v, w) { switch (n) { ${cases} default: ${fallback} } }`;
}

/** Position just after the `=>` of an arrow function. */
function arrowBodyStart(a: ModuleAnalysis, f: FunctionInfo): number {
  const from = f.paramsRange[1];
  for (const tok of a.tokens) {
    if (tok.start < from) continue;
    if (tok.start >= f.body.start) break;
    if (tok.type.label === '=>') return tok.end;
  }
  throw new Error(`cannot find => of ${f.key}`);
}

/** Where code may be inserted in a block without moving its directive prologue ('use strict'). */
function directiveEnd(block: AstNode): { pos: number; afterDirective: boolean } {
  let pos = block.type === 'Program' ? block.start : block.start + 1;
  let afterDirective = false;
  for (const stmt of block.body as AstNode[]) {
    if (stmt.type === 'ExpressionStatement' && typeof stmt.directive === 'string') {
      pos = stmt.end;
      afterDirective = true;
    } else break;
  }
  return { pos, afterDirective };
}

/**
 * Instruments a module's source. `moduleId` is passed to the runtime's registry so that it can
 * tell module instances apart (two copies of one package file are two instances).
 */
export function instrumentModule(
  source: string,
  sourceType: SourceType,
  moduleId: string | Record<string, string>,
  analysis: ModuleAnalysis = analyzeModule(source, { sourceType }),
): InstrumentResult {
  const inserts: Array<{ pos: number; text: string; order: number }> = [];
  let order = 0;
  const add = (pos: number, text: string) => inserts.push({ pos, text, order: order++ });

  const program = analysis.ast;
  const prologue = `var ${GATE} = ${GLOBAL}.module((c) => eval(c), ${JSON.stringify(moduleId)}, ${analysis.functions.length});`;
  const top = directiveEnd(program);
  if (!top.afterDirective && source.startsWith('#!')) {
    // A hashbang line stays first: insert after it, on the same line as the first code.
    const nl = source.indexOf('\n');
    add(nl === -1 ? source.length : nl + 1, prologue);
  } else {
    add(top.pos, `${top.afterDirective ? ';' : ''}${prologue}`);
  }

  for (const f of analysis.functions) {
    const guard = guardText(f);
    const acc = accessorName(f) ? accessorText(f) : '';
    if (f.bodyIsExpression) {
      add(arrowBodyStart(analysis, f), ` { ${guard} ${acc} return (`);
      add(f.node.end, ') }');
    } else {
      const at = directiveEnd(f.body);
      add(at.pos, `${at.afterDirective ? ';' : ''} ${guard} ${acc}`);
    }
  }

  inserts.sort((a, b) => a.pos - b.pos || a.order - b.order);
  let code = '';
  let pos = 0;
  for (const ins of inserts) {
    code += source.slice(pos, ins.pos) + ins.text;
    pos = ins.pos;
  }
  code += source.slice(pos);
  const slots = new Map(analysis.functions.map((f) => [f.key, f.index]));
  return { code, slots, analysis };
}

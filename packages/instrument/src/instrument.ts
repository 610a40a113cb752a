import { analyzeModule, type FunctionInfo, type ModuleAnalysis, type PrivateClass } from './analyze.js';
import { type AstNode, directiveEnd, type SourceType } from './ast.js';

import {
  ACCESS,
  ACCESSOR_PARAMS,
  accessorName,
  enclosingAccessor,
  GATE_PARAM,
  GLOBAL,
  guardShape,
  MODULE_PROLOGUE,
  type ModuleTable,
  moduleTable,
  PRIVATE_ACCESS,
  PRIVATE_ACCESSOR_PARAMS,
  READY,
  RESERVED_PREFIX,
  RESULT,
  SCOPE_REGISTER,
  SLOTS,
  scopeVariables,
} from './convention.js';

/**
 * Load-time instrumentation for the redirect engine: a gate at the top of the module, a guard at
 * the entry of every function, and scope accessors where nested code may need them, as
 * convention.ts defines them. Line numbers are preserved: nothing here inserts a newline.
 */

/** An import an active patch adds to an ES module: the specifier, and the cell key it fills. */
export interface PatchImport {
  specifier: string;
  cell: string;
}

export interface InstrumentResult {
  code: string;
  /** What the runtime checks replacements against (see convention.ts). */
  table: ModuleTable;
  analysis: ModuleAnalysis;
}

function guardText(f: FunctionInfo): string {
  const shape = guardShape(f);
  const head = `const ${RESULT} = ${SLOTS}?.[${f.index}]; if (${RESULT} !== undefined) `;
  const yieldStar = f.isGenerator ? 'yield* ' : '';
  if (shape.call === 'construct') {
    return `${head}return Reflect.construct(${RESULT}, arguments, new.target);`;
  }
  const lead = [
    ...(shape.self ? [shape.self] : []),
    ...(shape.scope ? [shape.scope] : []),
    ...shape.privates,
  ];
  if (shape.call === 'apply') {
    if (lead.length === 0) return `${head}return ${yieldStar}${RESULT}.apply(this, arguments);`;
    return `${head}return ${yieldStar}${RESULT}.call(this, ${lead.join(', ')}, arguments);`;
  }
  const args = [...lead, ...shape.params].join(', ');
  return `${head}return ${yieldStar}${RESULT}.call(this${args ? `, ${args}` : ''});`;
}

/**
 * The accessor's own parameters: reserved names, so that no variable of the scope it serves is
 * shadowed by them (they were `n, v, w`, and a minified module's variable `w` read the access code).
 */
const [NAME, VALUE, HOW] = ACCESSOR_PARAMS;

function accessorText(f: FunctionInfo): string {
  const name = accessorName(f)!;
  const outer = enclosingAccessor(f);
  const A = ACCESS;
  const cases = scopeVariables(f)
    .map(
      (v) =>
        `case ${JSON.stringify(v)}: return ${HOW} === ${A.assign} ? (${v} = ${VALUE}) : ${HOW} === ${A.preIncrement} ? ++${v} : ${HOW} === ${A.postIncrement} ? ${v}++ : ${HOW} === ${A.preDecrement} ? --${v} : ${HOW} === ${A.postDecrement} ? ${v}-- : ${v};`,
    )
    .join(' ');
  const fallback = outer
    ? `return ${accessorName(outer)}(${NAME}, ${VALUE}, ${HOW});`
    : `throw new ReferenceError(${NAME} + " is not reachable from hotpatch code");`;
  return `function ${name}(${NAME}, ${VALUE}, ${HOW}) { switch (${NAME}) { ${cases} default: ${fallback} } }`;
}

/** A class's private accessor: every access a replacement may make to one of its private names. */
function privateAccessorText(c: PrivateClass): string {
  const [n, o, v, w] = PRIVATE_ACCESSOR_PARAMS;
  const P = PRIVATE_ACCESS;
  const cases = c.names
    .map((name) => {
      const x = `${o}.#${name}`;
      const ops: Array<[number, string]> = [
        [P.call, `${x}(...${v})`],
        [P.assign, `(${x} = ${v})`],
        [P.has, `#${name} in ${o}`],
        [P.update, `(${x} = ${v}(${x}))`],
        [P.preIncrement, `++${x}`],
        [P.postIncrement, `${x}++`],
        [P.preDecrement, `--${x}`],
        [P.postDecrement, `${x}--`],
        [P.orAssign, `(${x} ||= ${v}())`],
        [P.andAssign, `(${x} &&= ${v}())`],
        [P.nullishAssign, `(${x} ??= ${v}())`],
        [P.optionalCall, `${x}?.(...${v})`],
      ];
      return `case ${JSON.stringify(name)}: return ${w} === undefined ? ${x} : ${ops.map(([code, e]) => `${w} === ${code} ? ${e} : `).join('')}${x};`;
    })
    .join(' ');
  return `static ${c.accessor}(${n}, ${o}, ${v}, ${w}) { switch (${n}) { ${cases} default: throw new ReferenceError("#" + ${n} + " is not a private name of ${c.binding}"); } }`;
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

/**
 * Instruments a module's source. `moduleId` is passed to the runtime's registry so that it can
 * tell module instances apart (two copies of one package file are two instances).
 */
export function instrumentModule(
  source: string,
  sourceType: SourceType,
  moduleId: string | Record<string, string>,
  analysis: ModuleAnalysis = analyzeModule(source, { sourceType }),
  imports: PatchImport[] = [],
): InstrumentResult {
  const inserts: Array<{ pos: number; text: string; order: number }> = [];
  let order = 0;
  const add = (pos: number, text: string) => inserts.push({ pos, text, order: order++ });

  const program = analysis.ast;
  // Imports an active patch adds (ES modules loading after it applied): static, so they are
  // loaded before the module's first line, where their cells are set.
  const cellsSet = imports
    .map((im, i) => `${GLOBAL}.c[${JSON.stringify(im.cell)}] = ${RESERVED_PREFIX}i${i};`)
    .join(' ');
  const importDecls = imports
    .map((im, i) => ` import * as ${RESERVED_PREFIX}i${i} from ${JSON.stringify(im.specifier)};`)
    .join('');
  const prologue = `${cellsSet}${MODULE_PROLOGUE}(${GATE_PARAM}) => eval(${GATE_PARAM}), ${JSON.stringify(moduleId)}, ${analysis.functions.length});${importDecls}`;
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
    const name = accessorName(f);
    // A run-once wrapper hands its accessor to the runtime: migrations of its state run with it.
    const acc = name
      ? `${accessorText(f)}${f.once ? ` ${GLOBAL}.${SCOPE_REGISTER}(${SLOTS}, ${f.index}, ${name});` : ''}`
      : '';
    if (f.bodyIsExpression) {
      add(arrowBodyStart(analysis, f), ` { ${guard} ${acc} return (`);
      add(f.node.end, ') }');
    } else {
      const at = directiveEnd(f.body);
      add(at.pos, `${at.afterDirective ? ';' : ''} ${guard} ${acc}`);
    }
  }

  // Each class a guard hands a private accessor of declares it, first in its body.
  for (const c of analysis.privateClasses)
    add((c.node.body as AstNode).start + 1, ` ${privateAccessorText(c)}`);

  // After the module's own code has run (on a line of its own, past any trailing line comment).
  add(source.length, `\n;${GLOBAL}.${READY}(${SLOTS});`);

  inserts.sort((a, b) => a.pos - b.pos || a.order - b.order);
  let code = '';
  let pos = 0;
  for (const ins of inserts) {
    code += source.slice(pos, ins.pos) + ins.text;
    pos = ins.pos;
  }
  code += source.slice(pos);
  return { code, table: moduleTable(analysis), analysis };
}

import {
  type AstNode,
  analyzeModule,
  childrenOf,
  type FunctionInfo,
  type ModuleAnalysis,
  type SourceType,
} from '@hotpatch/instrument';
import { matchFunctions } from '../diff/match.js';
import type { Location, Pairing } from './graph.js';

/**
 * The builder's pairing of the two releases' functions (diff/match.ts), by the locations V8
 * reports ([[FunctionLocation]]: a function's parameter list, a class's first token): the running
 * function at `a` is the fixed one at `b` when the patch redirects it there (or leaves it as it is).
 * Functions of other files are the same when the file did not change and they stand at the same
 * place; Node's own, when they stand at the same place.
 */
export interface PairingInput {
  /** The file's URL as the loads report it (`file://<pkg>/…`). */
  url: string;
  sourceType: SourceType;
  oldSource: string;
  newSource: string;
  oldVersion: string;
  newVersion: string;
  /** Whether another file (its URL as the loads report it) is the same in both releases. */
  unchangedFile: (url: string) => boolean;
}

export function filePairing(input: PairingInput): Pairing {
  const A = analyzeModule(input.oldSource, { sourceType: input.sourceType });
  const B = analyzeModule(input.newSource, { sourceType: input.sourceType });
  const m = matchFunctions(A, B);
  const at = { A: locator(A), B: locator(B) };
  const pairedFn = (fa: FunctionInfo | null, fb: FunctionInfo | null) =>
    fa === fb || (fa !== null && fb !== null && m.toA.get(fb) === fa);
  const versioned = (s: string, v: string) => (v ? s.split(v).join('\u0000version') : s);
  return {
    sameFunction(a: Location, b: Location): boolean {
      if (a.url !== b.url) return false;
      if (a.url !== input.url)
        return (
          a.line === b.line && a.col === b.col && (a.url.startsWith('node:') || input.unchangedFile(a.url))
        );
      const x = at.A(a);
      const y = at.B(b);
      if (!x || !y) return false;
      if ('fn' in x && 'fn' in y) return pairedFn(x.fn, y.fn);
      if ('cls' in x && 'cls' in y)
        return pairedFn(x.within, y.within) && x.name === y.name && x.ordinal === y.ordinal;
      return false;
    },
    runningName: (b) => m.rename(b),
    sameString: (a, b) => a === b || versioned(a, input.oldVersion) === versioned(b, input.newVersion),
  };
}

type Found =
  | { fn: FunctionInfo }
  | { cls: AstNode; within: FunctionInfo | null; name: string; ordinal: number };

/** The function or class that starts at a V8 location of a module. */
function locator(a: ModuleAnalysis): (l: Location) => Found | null {
  const starts = lineStarts(a.source);
  const classes = classNodes(a.ast);
  const innermost = (offset: number): FunctionInfo | null => {
    let best: FunctionInfo | null = null;
    for (const f of a.functions)
      if (f.node.start <= offset && offset < f.node.end && (!best || f.node.start >= best.node.start))
        best = f;
    return best;
  };
  return (l) => {
    const start = starts[l.line];
    if (start === undefined) return null;
    const offset = start + l.col;
    const cls = classes.find((c) => c.start === offset);
    if (cls) {
      const ctor = a.functions.find((f) => f.classNode === cls);
      if (ctor) return { fn: ctor };
      const within = innermost(offset);
      const name = ((cls.id as AstNode | null)?.name as string | undefined) ?? '';
      const siblings = classes.filter(
        (c) => innermost(c.start) === within && (((c.id as AstNode | null)?.name as string) ?? '') === name,
      );
      return { cls, within, name, ordinal: siblings.indexOf(cls) };
    }
    const fn = innermost(offset);
    return fn ? { fn } : null;
  };
}

/** Offsets where lines start, as V8 counts lines (\n, \r\n, \r, U+2028, U+2029). */
export function lineStarts(source: string): number[] {
  const out = [0];
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\r' && source[i + 1] === '\n') continue;
    if (c === '\n' || c === '\r' || c === '\u2028' || c === '\u2029') out.push(i + 1);
  }
  return out;
}

function classNodes(ast: AstNode): AstNode[] {
  const out: AstNode[] = [];
  const visit = (n: AstNode): void => {
    if (n.type === 'ClassDeclaration' || n.type === 'ClassExpression') out.push(n);
    for (const c of childrenOf(n)) visit(c);
  };
  visit(ast);
  return out;
}

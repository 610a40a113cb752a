import type { Edit, FunctionPatch, Migration } from '@hotpatch/core';
import {
  analyzeModule,
  checkReplacement,
  type ModuleAnalysis,
  moduleTable,
  parse,
} from '@hotpatch/instrument';
import type { DiffContext } from './context.js';

/**
 * Phase 6, self-check: the builder checks its own output the way the runtime will, before writing
 * anything. Every replacement must pass the runtime's own check against the baseline's calling
 * convention (packages/instrument/src/check.ts) and every migration must parse: otherwise the
 * build fails with `invalid-output` (a builder bug, never a bundle that breaks a process). The
 * LiveEdit form must parse and keep V8's scope layout, or LiveEdit is marked unavailable.
 */
export function selfCheck(
  ctx: DiffContext,
  patched: string,
  edits: Edit[],
  functions: FunctionPatch[],
  migrations: Migration[],
): { invalid: string | null; liveEdit: string | null } {
  const table = moduleTable(ctx.A);
  const isGlobal = (name: string) => name in globalThis;
  for (const fp of functions) {
    const problem = checkReplacement(table, fp, isGlobal);
    if (problem) return { invalid: problem, liveEdit: null };
  }
  for (const mg of migrations) {
    const parts =
      mg.kind === 'import'
        ? []
        : [
            mg.source,
            ...(mg.target ? [mg.target] : []),
            ...(mg.kind !== 'cell' && mg.key ? [mg.key] : []),
            ...(mg.kind === 'recompile' && mg.revert ? [mg.revert] : []),
          ];
    for (const text of parts) {
      try {
        // Statements run inside a function; everything else is an expression.
        parse(
          mg.kind === 'rerun' || mg.kind === 'script' ? `(() => { ${text}\n});` : `(${text});`,
          'commonjs',
        );
      } catch (e) {
        return {
          invalid: `migration ${mg.kind} ${mg.key ?? mg.target ?? ''} does not parse (${(e as Error).message})`,
          liveEdit: null,
        };
      }
    }
  }
  let P: ModuleAnalysis;
  try {
    P = analyzeModule(patched, { sourceType: ctx.input.sourceType });
  } catch (e) {
    return {
      invalid: null,
      liveEdit: `the LiveEdit form does not parse (${(e as Error).message}); please report`,
    };
  }
  const layout = layoutChanges(ctx.A, P, edits);
  return {
    invalid: null,
    liveEdit: layout ? `${layout}: V8 LiveEdit would keep running closures on the old code` : null,
  };
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

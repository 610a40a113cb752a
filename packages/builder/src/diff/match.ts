import { type AstNode, type FunctionInfo, type ModuleAnalysis, tokenTexts } from '@hotpatch/instrument';
import { sharedCount } from '../multiset.js';
import { parameterRenames } from './local-renames.js';
import { extraArgumentsReason } from './params.js';
import { type VariableRenames, variableRenames } from './variable-renames.js';

/**
 * Phase 1, matching: which function of the fixed version (B) is which function of the baseline
 * (A). By key first (packages/instrument names functions by where they stand); a function
 * declaration that has no match by key is matched to an unmatched declaration of the same parent
 * with mostly the same tokens (a rename).
 */
export interface Matching {
  /** B function -> its A counterpart. */
  toA: Map<FunctionInfo, FunctionInfo>;
  /** A functions with no counterpart (removed in the fix). */
  unmatchedA: FunctionInfo[];
  /** Key of a B function in A's naming (new functions get a `+` marker). */
  keyInA(fb: FunctionInfo): string;
  /** New binding name -> running one (renamed declarations, bundler aliases). */
  renames: Map<string, string>;
  rename(name: string): string;
  /** The running name of a variable `fb` declares (its parameters may be renamed: local-renames.ts). */
  renameIn(fb: FunctionInfo, name: string): string;
  /** Module-level variables whose running namesake is another variable (variable-renames.ts). */
  unpaired: VariableRenames['unpaired'];
}

export function matchFunctions(A: ModuleAnalysis, B: ModuleAnalysis): Matching {
  const renames = new Map<string, string>();
  const toA = new Map<FunctionInfo, FunctionInfo>();
  for (const fb of B.functions) {
    const fa = A.byKey.get(fb.key);
    if (fa) toA.set(fb, fa);
  }
  const matched = new Set(toA.values());
  const unmatchedA = A.functions.filter((f) => !matched.has(f));
  for (const fb of B.functions) {
    if (toA.has(fb) || fb.kind !== 'declaration') continue;
    const parentA = fb.parent ? toA.get(fb.parent) : null;
    const candidates = unmatchedA.filter(
      (fa) => fa.kind === 'declaration' && (fa.parent ?? null) === (parentA ?? null),
    );
    // Not a rename when the fixed code passes the new function more values than the running one
    // takes: its guard would forward only the old ones. It is a new function then (the running
    // one stays for whoever still holds it).
    const best = candidates.find(
      (fa) =>
        similar(A, fa, B, fb) &&
        !(
          fb.paramNames.length > fa.paramNames.length &&
          extraArgumentsReason(B.ast, fb.node, fb.key, fa.paramNames.length) !== null
        ),
    );
    if (!best) continue;
    renames.set((fb.node.id as AstNode).name as string, (best.node.id as AstNode).name as string);
    toA.set(fb, best);
    unmatchedA.splice(unmatchedA.indexOf(best), 1);
  }
  // Bundler-renumbered module variables, told apart by the functions that use them.
  const variables = variableRenames(A, B, toA);
  for (const [b, a] of variables.renames) if (!renames.has(b)) renames.set(b, a);
  const keyInA = (fb: FunctionInfo): string => {
    const fa = toA.get(fb);
    if (fa) return fa.key;
    return fb.parent ? `${keyInA(fb.parent)}/+${fb.key.split('/').pop()}` : `+${fb.key}`;
  };
  const local = new Map<FunctionInfo, Map<string, string>>();
  const renameIn = (fb: FunctionInfo, name: string): string => {
    const fa = toA.get(fb);
    if (!fa) return name;
    let map = local.get(fb);
    if (!map) local.set(fb, (map = parameterRenames(fa, fb)));
    return map.get(name) ?? name;
  };
  return {
    toA,
    unmatchedA,
    keyInA,
    renames,
    rename: (name) => renames.get(name) ?? name,
    renameIn,
    unpaired: variables.unpaired,
  };
}

/** At least half of the tokens in common: the same function under another name. */
function similar(A: ModuleAnalysis, fa: FunctionInfo, B: ModuleAnalysis, fb: FunctionInfo): boolean {
  const ta = tokenTexts(A, fa.node.start, fa.node.end);
  const tb = tokenTexts(B, fb.node.start, fb.node.end);
  return sharedCount(ta, tb) / Math.max(ta.length, tb.length) >= 0.5;
}

import type { FunctionInfo, ModuleAnalysis, Variable } from '@hotpatch/instrument';
import { innermostFunction } from './scope.js';

/**
 * Module-level variables a bundler renumbered. Bundlers name colliding bindings with a counter
 * (`store`, `store2` … `store5` from one build; `store$4` … `store$1`, `store` from the next: valibot
 * 1.1.0 → 1.2.0), so the same name can denote another variable in each version. Pairing them by
 * name made a patched `_getWordCount` read the running `store` of another function (a Segmenter,
 * not its Map) after "applied and verified". A variable is identified by the functions that use
 * it, not by its name: within a family of names (one base, counter suffixes), a fixed-version
 * variable is the running one that the same (matched) functions use.
 */
export interface VariableRenames {
  /** Fixed-version name → running name, where they differ. */
  renames: Map<string, string>;
  /** Fixed-version names whose running namesake is another variable, with no counterpart found. */
  unpaired: Array<{ name: string; detail: string }>;
}

/** `store2`, `store$1` → `store`. */
export function baseName(name: string): string {
  return name.replace(/(\$\d+|\d+)$/, '');
}

export function variableRenames(
  A: ModuleAnalysis,
  B: ModuleAnalysis,
  toA: Map<FunctionInfo, FunctionInfo>,
): VariableRenames {
  const matchedA = new Set(toA.values());
  // Only functions present in both versions say who uses a variable: new and removed ones differ.
  const usersA = (v: Variable) => users(A, v, (f) => (matchedA.has(f) ? f.key : null));
  const usersB = (v: Variable) => users(B, v, (f) => toA.get(f)?.key ?? null);
  const family = (a: ModuleAnalysis) => {
    const out = new Map<string, Variable[]>();
    for (const v of a.moduleScope.variables as Variable[]) {
      if (v.defs.length !== 1 || v.defs[0]!.type !== 'Variable') continue;
      const base = baseName(v.name);
      out.set(base, [...(out.get(base) ?? []), v]);
    }
    return out;
  };
  const familiesA = family(A);
  const renames = new Map<string, string>();
  const unpaired: VariableRenames['unpaired'] = [];
  for (const [base, inB] of family(B)) {
    const inA = familiesA.get(base) ?? [];
    if (inA.length < 2 && inB.length < 2) continue; // no counters: names are identities
    const sigA = new Map(inA.map((v) => [v, usersA(v)]));
    const claims = new Map<Variable, Variable[]>();
    const wanted = new Map<Variable, Variable>();
    for (const vb of inB) {
      const sb = usersB(vb);
      if (sb === '') continue; // used by nothing both versions have: nothing to tell it by
      const same = inA.filter((va) => sigA.get(va) === sb);
      if (same.length !== 1) continue;
      wanted.set(vb, same[0]!);
      claims.set(same[0]!, [...(claims.get(same[0]!) ?? []), vb]);
    }
    for (const vb of inB) {
      const va = wanted.get(vb);
      if (va && claims.get(va)!.length === 1) {
        if (va.name !== vb.name) renames.set(vb.name, va.name);
        continue;
      }
      // No counterpart: keeping the name is right only if the namesake is used the same way.
      const namesake = inA.find((x) => x.name === vb.name);
      const sb = usersB(vb);
      const sa = namesake ? sigA.get(namesake)! : '';
      if (namesake && sb !== '' && sa !== '' && sa !== sb)
        unpaired.push({ name: vb.name, detail: `used by ${sb} in the fix, by ${sa} in the running code` });
    }
  }
  return { renames, unpaired };
}

/** The sorted keys of the functions (or `<load>`) that use `v`, as one string. */
function users(a: ModuleAnalysis, v: Variable, key: (f: FunctionInfo) => string | null): string {
  const out = new Set<string>();
  for (const r of v.references) {
    if (r.init) continue;
    const f = innermostFunction(a, r.identifier.start);
    const k = f ? key(f) : '<load>';
    if (k !== null) out.add(k);
  }
  return [...out].sort().join(', ');
}

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
  uidRenames(A, B, usersA, usersB, renames);
  for (const [base, inB] of family(B)) {
    const inA = familiesA.get(base) ?? [];
    if (inA.length < 2 && inB.length < 2) continue; // no counters: names are identities
    const usedA = new Map(inA.map((v) => [v, usersA(v)]));
    const claims = new Map<Variable, Variable[]>();
    const wanted = new Map<Variable, Variable>();
    const ambiguous: Array<{ vb: Variable; detail: string }> = [];
    for (const vb of inB) {
      const ub = usersB(vb);
      if (ub.size === 0) continue; // used by nothing both versions have: nothing to tell it by
      const namesake = inA.find((x) => x.name === vb.name);
      const own = namesake ? overlap(ub, usedA.get(namesake)!) : 0;
      // The fix may add or drop uses: the namesake stays the counterpart unless another
      // variable of the family is used more alike; a tie is not a pairing.
      const scored = inA
        .map((va) => ({ va, score: overlap(ub, usedA.get(va)!) }))
        .sort((x, y) => y.score - x.score);
      const [best, next] = scored;
      if (best && best.score > own && best.score > 0 && (!next || next.score < best.score)) {
        wanted.set(vb, best.va);
        claims.set(best.va, [...(claims.get(best.va) ?? []), vb]);
      } else if (namesake && own === 0 && usedA.get(namesake)!.size > 0) {
        // The namesake shares no user with it while others of the family do, and none is the
        // one: the name points at another variable, and the counterpart cannot be told.
        const other = Math.max(0, ...scored.filter((x) => x.va !== namesake).map((x) => x.score));
        if (other > 0)
          ambiguous.push({
            vb,
            detail: `used by ${[...ub].join(', ')} in the fix, by ${[...usedA.get(namesake)!].join(', ')} in the running code`,
          });
      }
    }
    for (const vb of inB) {
      const va = wanted.get(vb);
      if (va && claims.get(va)!.length === 1) {
        if (va.name !== vb.name) renames.set(vb.name, va.name);
      } else if (va)
        unpaired.push({ name: vb.name, detail: `${va.name} of the running code is claimed twice` });
    }
    for (const a of ambiguous) if (!wanted.has(a.vb)) unpaired.push({ name: a.vb.name, detail: a.detail });
  }
  return { renames, unpaired };
}

/**
 * A module variable renamed with nothing else of its name family around: Babel renames a binding
 * whose name a helper it adds needs as a global (`var Symbol = …` → `var _Symbol = …` once
 * `_toPrimitive` reads `Symbol.toPrimitive`), a bundler gives a lone binding a suffix. Paired when
 * each name exists in one version only, one of each per family (`_`-prefix and counter suffix
 * aside), and the same functions present in both versions use them.
 */
function uidRenames(
  A: ModuleAnalysis,
  B: ModuleAnalysis,
  usersA: (v: Variable) => Set<string>,
  usersB: (v: Variable) => Set<string>,
  renames: Map<string, string>,
): void {
  const only = (a: ModuleAnalysis, other: ModuleAnalysis) => {
    const out = new Map<string, Variable[]>();
    for (const v of a.moduleScope.variables as Variable[]) {
      if (v.defs.length !== 1 || v.defs[0]!.type !== 'Variable' || other.moduleScope.set.has(v.name))
        continue;
      const base = uidBase(v.name);
      out.set(base, [...(out.get(base) ?? []), v]);
    }
    return out;
  };
  const onlyA = only(A, B);
  for (const [base, inB] of only(B, A)) {
    const inA = onlyA.get(base) ?? [];
    if (inA.length !== 1 || inB.length !== 1) continue;
    if (overlap(usersB(inB[0]!), usersA(inA[0]!)) > 0) renames.set(inB[0]!.name, inA[0]!.name);
  }
}

/** `_Symbol`, `_Symbol2`, `Symbol$1` → `Symbol`. */
function uidBase(name: string): string {
  return baseName(name.replace(/^_+/, '')) || name;
}

/** The keys of the functions (or `<load>`) that use `v`. */
function users(a: ModuleAnalysis, v: Variable, key: (f: FunctionInfo) => string | null): Set<string> {
  const out = new Set<string>();
  for (const r of v.references) {
    if (r.init) continue;
    const f = innermostFunction(a, r.identifier.start);
    const k = f ? key(f) : '<load>';
    if (k !== null) out.add(k);
  }
  return out;
}

/** How alike two sets of users are (shared / all), 0 when either is empty. */
function overlap(x: Set<string>, y: Set<string>): number {
  if (x.size === 0 || y.size === 0) return 0;
  let shared = 0;
  for (const k of x) if (y.has(k)) shared++;
  return shared / (x.size + y.size - shared);
}

import {
  type AstNode,
  analyzeModule,
  type FunctionInfo,
  type ModuleAnalysis,
  tokenTexts,
} from '@hotpatch/instrument';

/**
 * Compiler helpers (Babel's `_setPrototypeOf`, `_createClass`, …) that a fix release carries in a
 * newer version only because it was compiled by a newer compiler. Such a change is not the fix, but
 * the builder sees a changed function that every class definition calls at load, and would refuse
 * the whole file (`changed-at-load`). A helper pair whose both versions are releases of that helper
 * listed here, in the same family, is left as is (`helper-equivalent`): the running helper, and
 * what it built at load, do what the new one would, up to the difference the family names.
 *
 * Matching is by exact token text of the whole declaration, so a helper a package edited, or a
 * release not listed, is compared as ordinary code. A helper that is itself the fix (as in
 * @babel/runtime's own advisories) is never listed: only versions whose difference is known and
 * cannot matter to the package's code are. Add a release by copying the helper as the compiler emits it.
 */
interface HelperFamily {
  /** The name compilers give the helper. */
  name: string;
  /** What the versions differ in, for the verdict; none of it observable by the package's own code. */
  difference: string;
  /** Releases of the helper, as emitted (whitespace and comments do not matter). */
  versions: string[];
  /**
   * Other helpers a newer version calls: they must be listed releases too (in the fixed file), so
   * that the version compared is the whole helper.
   */
  uses?: string[];
}

export const HELPER_FAMILIES: readonly HelperFamily[] = [
  {
    name: '_setPrototypeOf',
    difference:
      'Babel 7.17+ binds Object.setPrototypeOf instead of using it unbound; both set the same prototype',
    versions: [
      'function _setPrototypeOf(o, p) { _setPrototypeOf = Object.setPrototypeOf || function _setPrototypeOf(o, p) { o.__proto__ = p; return o; }; return _setPrototypeOf(o, p); }',
      'function _setPrototypeOf(o, p) { _setPrototypeOf = Object.setPrototypeOf ? Object.setPrototypeOf.bind() : function _setPrototypeOf(o, p) { o.__proto__ = p; return o; }; return _setPrototypeOf(o, p); }',
    ],
  },
  {
    name: '_defineProperties',
    difference:
      'Babel 7.20+ converts each key with _toPropertyKey, the conversion Object.defineProperty makes itself',
    versions: [
      'function _defineProperties(target, props) { for (var i = 0; i < props.length; i++) { var descriptor = props[i]; descriptor.enumerable = descriptor.enumerable || false; descriptor.configurable = true; if ("value" in descriptor) descriptor.writable = true; Object.defineProperty(target, descriptor.key, descriptor); } }',
      'function _defineProperties(target, props) { for (var i = 0; i < props.length; i++) { var descriptor = props[i]; descriptor.enumerable = descriptor.enumerable || false; descriptor.configurable = true; if ("value" in descriptor) descriptor.writable = true; Object.defineProperty(target, _toPropertyKey(descriptor.key), descriptor); } }',
    ],
    uses: ['_toPropertyKey'],
  },
  {
    name: '_createClass',
    difference:
      "Babel 7.16+ also makes the class's prototype property read-only, as a native class's is; classes made before the patch keep a writable one",
    versions: [
      'function _createClass(Constructor, protoProps, staticProps) { if (protoProps) _defineProperties(Constructor.prototype, protoProps); if (staticProps) _defineProperties(Constructor, staticProps); return Constructor; }',
      'function _createClass(Constructor, protoProps, staticProps) { if (protoProps) _defineProperties(Constructor.prototype, protoProps); if (staticProps) _defineProperties(Constructor, staticProps); Object.defineProperty(Constructor, "prototype", { writable: false }); return Constructor; }',
    ],
  },
  {
    name: '_toPropertyKey',
    difference: 'none (listed so that helpers calling it can be recognised)',
    versions: [
      'function _toPropertyKey(arg) { var key = _toPrimitive(arg, "string"); return typeof key === "symbol" ? key : String(key); }',
    ],
    uses: ['_toPrimitive'],
  },
  {
    name: '_toPrimitive',
    difference: 'none (listed so that helpers calling it can be recognised)',
    versions: [
      'function _toPrimitive(input, hint) { if (typeof input !== "object" || input === null) return input; var prim = input[Symbol.toPrimitive]; if (prim !== undefined) { var res = prim.call(input, hint || "default"); if (typeof res !== "object") return res; throw new TypeError("@@toPrimitive must return a primitive value."); } return (hint === "string" ? String : Number)(input); }',
    ],
  },
];

/** Token text of a helper version, the form the comparison uses. */
function textOf(a: Pick<ModuleAnalysis, 'tokens' | 'source'>, start: number, end: number): string {
  return tokenTexts(a, start, end).join(' ');
}

let known: Map<string, { family: HelperFamily; texts: Set<string> }> | undefined;

function catalogue(): Map<string, { family: HelperFamily; texts: Set<string> }> {
  known ??= new Map(
    HELPER_FAMILIES.map((family) => [
      family.name,
      {
        family,
        texts: new Set(
          family.versions.map((v) => textOf(analyzeModule(v, { sourceType: 'commonjs' }), 0, v.length)),
        ),
      },
    ]),
  );
  return known;
}

/** The name of a function declaration (helpers are declared wherever the compiler put the module: top level, a wrapper, a bundle's module function). */
function declaredName(f: FunctionInfo): string | null {
  if (f.node.type !== 'FunctionDeclaration') return null;
  return ((f.node.id as AstNode | null)?.name as string | undefined) ?? null;
}

/** Whether `f` of module `a` is a listed release of the helper it is named after. */
function isListed(a: ModuleAnalysis, f: FunctionInfo): boolean {
  const name = declaredName(f);
  const entry = name === null ? undefined : catalogue().get(name);
  return entry?.texts.has(textOf(a, f.node.start, f.node.end)) === true;
}

/** The helper `name` declared in `a` beside `near` (same enclosing function), if it is a listed release. */
function listedSibling(a: ModuleAnalysis, near: FunctionInfo, name: string): boolean {
  const f = a.functions.find((x) => x.parent === near.parent && declaredName(x) === name);
  return f !== undefined && isListed(a, f);
}

/**
 * If `fa` (running) and `fb` (fixed) are two listed releases of one compiler helper, whose newer
 * version calls only listed helpers of the fixed file: what they differ in. Else null.
 */
export function equivalentHelper(
  A: ModuleAnalysis,
  fa: FunctionInfo,
  B: ModuleAnalysis,
  fb: FunctionInfo,
): string | null {
  const name = declaredName(fb);
  if (name === null || declaredName(fa) !== name || !isListed(A, fa) || !isListed(B, fb)) return null;
  const family = catalogue().get(name)!.family;
  const uses = closure(family);
  if (![...uses].every((u) => listedSibling(B, fb, u))) return null;
  return family.difference;
}

/** The helpers a family calls, directly or through others. */
function closure(family: HelperFamily): Set<string> {
  const out = new Set<string>();
  const visit = (names: readonly string[] | undefined) => {
    for (const n of names ?? []) {
      if (out.has(n)) continue;
      out.add(n);
      visit(catalogue().get(n)?.family.uses);
    }
  };
  visit(family.uses);
  return out;
}

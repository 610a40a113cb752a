/**
 * The catalogue of the builder's verdicts: every kind of change it recognises, by id, with what it
 * means for a running process and the message shown for it. Like .NET Hot Reload's table of
 * supported and "rude" edits, this is the one list the builder, the CLI, the docs
 * (docs/verdicts.md, generated from here) and the tests refer to: code compares ids, never message
 * text. `{name}`, `{where}` and `{detail}` in a message are filled in per change.
 *
 * verdict: `live` — applied in memory; `restart` — needs the fixed release (a baseline);
 * `deferred` — not needed by the live changes, takes effect at the next baseline;
 * `ignored` — no effect on running code.
 */
export const VERDICTS = {
  // ---- applied live: functions
  'function-changed': {
    kind: 'function-body',
    verdict: 'live',
    message: 'changed code; calls redirected to the new code',
  },
  'method-changed': {
    kind: 'class-method',
    verdict: 'live',
    message: 'changed method; calls redirected to the new code',
  },
  'constructor-changed': {
    kind: 'class-constructor',
    verdict: 'live',
    message: 'changed constructor; calls redirected to the new code',
  },
  'derived-constructor-changed': {
    kind: 'class-constructor',
    verdict: 'live',
    message: 'changed derived-class constructor: new instances are constructed by the replacement',
  },
  'closure-changed': {
    kind: 'nested-closure',
    verdict: 'live',
    message: 'changed nested closure; existing closures reach their variables through the scope accessor',
  },
  'callback-in-changed-function': {
    kind: 'nested-closure',
    verdict: 'live',
    message: 'callback nested in a changed function: closures made after the patch run the new code',
  },
  'host-of-changed-closure': {
    kind: 'function-body',
    verdict: 'live',
    message:
      'makes {detail}, a short-lived closure that changed and needs variables of this function: calls redirected to the new code (calls already running finish on the old code)',
  },
  'private-method-inlined': {
    kind: 'class-method',
    verdict: 'live',
    message:
      'private method the fix adds; running instances cannot gain one, so {detail} calls its code in its place',
  },
  'private-field-shadowed': {
    kind: 'class-method',
    verdict: 'live',
    message:
      'private field the fix adds; running instances cannot gain one, so {detail} keeps it beside each instance, set to its initial value on first use',
  },
  'uses-changed-state': {
    kind: 'function-body',
    verdict: 'live',
    message: 'uses {detail}; calls redirected to code that reads the new value',
  },
  // ---- applied live: module state
  'new-helper': {
    kind: 'new-helper',
    verdict: 'live',
    message: 'new helper {where}, created once in the module',
  },
  'new-constant': {
    kind: 'new-constant',
    verdict: 'live',
    message: 'new constant {where}, computed once in the module',
  },
  'new-state': {
    kind: 'new-constant',
    verdict: 'live',
    message: "new state {where}, kept in the module's hotpatch state from first use",
  },
  'constant-changed': {
    kind: 'module-constant',
    verdict: 'live',
    message: 'changed constant {where}: every function using it gets the new value',
  },
  'symbol-kept': {
    kind: 'module-constant',
    verdict: 'live',
    message:
      "changed symbol {where}: the running symbol is kept, since running objects hold properties keyed by it; only its description differs from the fixed release's",
  },
  'imported-constant-changed': {
    kind: 'module-constant',
    verdict: 'live',
    message:
      'constant copied at load from {detail}, which the fix changed: every function using it gets the new value',
  },
  'dependency-added': {
    kind: 'new-dependency',
    verdict: 'live',
    message:
      'new dependency {where} ({detail}), loaded in the module at apply (and where the module loads after the patch, when first needed)',
  },
  'import-added': {
    kind: 'new-dependency',
    verdict: 'live',
    message: 'new import {where} ({detail}), loaded at apply',
  },
  'file-added': {
    kind: 'new-file',
    verdict: 'live',
    message: 'new file carried in the hotpatch, loaded as a module of the package on first use',
  },
  'export-assigned': {
    kind: 'export-shape',
    verdict: 'live',
    message: 'module-level assignment {detail} re-run at apply with the new value (undone on revert)',
  },
  'export-getter-added': {
    kind: 'export-shape',
    verdict: 'live',
    message:
      "new export {detail} of a bundled module's namespace object: its getter is defined on the running object at apply (removed on revert)",
  },
  'object-updated': {
    kind: 'module-state',
    verdict: 'live',
    message:
      'property {detail} of a module-level object updated on the running object at apply: everything holding the object sees it (undone on revert)',
  },
  'regex-recompiled': {
    kind: 'module-state',
    verdict: 'live',
    message:
      'regular expression {detail} recompiled in place on the running RegExp object at apply: everything holding it (importers, stored copies) sees the new pattern (undone on revert)',
  },
  'state-rebuilt': {
    kind: 'module-state',
    verdict: 'live',
    message:
      'load-time code that fills {detail} runs again at apply, on the new value (nothing the running process holds is touched)',
  },
  'registrations-rerun': {
    kind: 'module-state',
    verdict: 'live',
    message:
      'registration code that ran at load ({detail}) runs again at apply with the fixed code, its counters reset first: it rebuilds the module’s own tables in place, and everything holding them sees the new entries',
  },
  'memo-reset': {
    kind: 'module-state',
    verdict: 'live',
    message:
      '{name}, which {detail} builds once and keeps, is reset at apply so that the new code builds it again (revert puts the old value back)',
  },
  'load-state-equal': {
    kind: 'top-level-side-effect',
    verdict: 'live',
    message: 'load-time code: {detail}',
  },
  'migration-author': {
    kind: 'migration',
    verdict: 'live',
    message: 'state migration written by the patch author, run once at apply in the module (author-assisted)',
  },
  // ---- need a restart
  'state-mutated-changed': {
    kind: 'module-state',
    verdict: 'restart',
    message: 'changed initial value of {name} {where}, which running code mutates',
  },
  'state-initialised-at-load': {
    kind: 'module-state',
    verdict: 'restart',
    message: 'new or changed state {where} initialised at load from {detail}: not computable at apply',
  },
  'side-effect-changed': {
    kind: 'top-level-side-effect',
    verdict: 'restart',
    message: 'changed code that runs once {where} (at load)',
  },
  'changed-at-load': {
    kind: 'top-level-side-effect',
    verdict: 'restart',
    message:
      'code that runs once {where} (at load) depends on {detail}, which the fix changed: the state it built then is the old version’s',
  },
  'property-added-needed': {
    kind: 'export-shape',
    verdict: 'restart',
    message:
      'new property {name} of an object literal handed on at load, which the running object would not get: {detail}',
  },
  'binding-renamed': {
    kind: 'module-state',
    verdict: 'restart',
    message:
      'a module-level variable the bundler renumbered cannot be paired with the running one ({detail}): the patched code would read another variable',
  },
  'export-changed': {
    kind: 'export-shape',
    verdict: 'restart',
    message: 'changed exports {where}: {detail}',
  },
  'dependency-unloadable': {
    kind: 'new-dependency',
    verdict: 'restart',
    message: 'new dependency {where}: {detail}',
  },
  'binding-unreachable': {
    kind: 'uncaptured-binding',
    verdict: 'restart',
    message: 'needs {detail}, which running closures do not retain',
  },
  'binding-missing': {
    kind: 'uncaptured-binding',
    verdict: 'restart',
    message: 'needs {detail}, which the running module does not have',
  },
  'binding-shadowed': {
    kind: 'uncaptured-binding',
    verdict: 'restart',
    message: 'needs {detail}, shadowed by a nearer variable of the same name',
  },
  'binding-inner-name': {
    kind: 'uncaptured-binding',
    verdict: 'restart',
    message:
      'needs {detail}, the inner name of a class or function expression, which replacements cannot see',
  },
  'closure-state-shadowed': {
    kind: 'uncaptured-binding',
    verdict: 'live',
    message:
      'closures made before the patch get the new variable(s) {detail} as shadow variables: one per running scope, computed from that scope on first use (the values it reads are never reassigned)',
  },
  'stale-closure-state': {
    kind: 'uncaptured-binding',
    verdict: 'restart',
    message: 'closures made before the patch cannot reach new variable(s) {detail}',
  },
  'parameters-passed-directly': {
    kind: 'parameter-list',
    verdict: 'live',
    message:
      'the fixed code takes new parameters, and the patched code that passes them ({detail}) calls the replacement directly, with every argument; running callers the patch leaves alone pass only the old ones',
  },
  'parameters-added': {
    kind: 'parameter-list',
    verdict: 'live',
    message:
      'the fixed code takes new parameters ({detail}); running callers pass only the old ones, so the new ones take their defaults',
  },
  'parameters-changed': {
    kind: 'parameter-list',
    verdict: 'restart',
    message: 'changed the parameters of the function (the running callers pass the old ones)',
  },
  'parameters-passed': {
    kind: 'parameter-list',
    verdict: 'restart',
    message:
      'the fixed code takes new parameters, and {detail}: the running function forwards only the old ones, so they would be lost',
  },
  'arguments-added': {
    kind: 'parameter-list',
    verdict: 'restart',
    message: 'the new code reads `arguments`, which the running function does not pass on',
  },
  'function-kind-changed': {
    kind: 'unsupported-syntax',
    verdict: 'restart',
    message: 'changed the kind of function ({detail})',
  },
  'unsupported-syntax': { kind: 'unsupported-syntax', verdict: 'restart', message: '{detail}' },
  'write-unsupported': {
    kind: 'unsupported-syntax',
    verdict: 'restart',
    message: 'writes {detail}',
  },
  'reserved-name': {
    kind: 'unsupported-syntax',
    verdict: 'restart',
    message: 'source uses the reserved name {detail}',
  },
  'parse-error': { kind: 'parse-error', verdict: 'restart', message: 'cannot parse: {detail}' },
  'invalid-output': {
    kind: 'parse-error',
    verdict: 'restart',
    message: 'builder produced code that failed its own check ({detail}); please report',
  },
  // ---- deferred to the next baseline
  excluded: { kind: 'excluded', verdict: 'deferred', message: '{detail} (left out with --exclude)' },
  'not-selected': { kind: 'excluded', verdict: 'deferred', message: 'not selected with --only' },
  'removed-function': {
    kind: 'removed-function',
    verdict: 'deferred',
    message: 'removed in the fix; the old code stays unused in memory',
  },
  'removed-statement': {
    kind: 'top-level-side-effect',
    verdict: 'deferred',
    message: 'removed code that ran once {where}; its effect stays until the next baseline',
  },
  'chunk-renamed': {
    kind: 'removed-file',
    verdict: 'live',
    message:
      'the bundler renamed this chunk to {detail} (its content hash changed): the fixed release is compared, and patched, under the running name',
  },
  'entry-moved': {
    kind: 'removed-file',
    verdict: 'live',
    message:
      'the fixed release moved this entry point to {detail} (same place in package.json): the running file is patched with its code',
  },
  'removed-file': {
    kind: 'removed-file',
    verdict: 'deferred',
    message: 'removed in the fix; a running copy stays loaded',
  },
  'property-added-unused': {
    kind: 'export-shape',
    verdict: 'deferred',
    message:
      'new property {name} of an object literal that code run {where} (at load) hands on ({detail}): the running object does not get it (no patched code reads it); available after the next baseline',
  },
  'export-added-unused': {
    kind: 'export-shape',
    verdict: 'deferred',
    message: 'new export {where}; not needed by the live changes, available after the next baseline',
  },
  'new-file-unused': {
    kind: 'new-file',
    verdict: 'deferred',
    message: 'new file that no live change loads; available after the next baseline',
  },
  'declaration-unused': {
    kind: 'new-constant',
    verdict: 'deferred',
    message: 'not used by any live change',
  },
  'file-not-loaded': {
    kind: 'not-code',
    verdict: 'deferred',
    message:
      '{detail} (file not loaded through the package entry points; processes that load it directly need the fixed release)',
  },
  'minified-build': {
    kind: 'not-code',
    verdict: 'deferred',
    message: 'minified build that Node entry points do not load; not patched',
  },
  'dependency-range': {
    kind: 'dependency-range',
    verdict: 'deferred',
    message:
      'dependency ranges changed; they take effect at the next baseline (each dependency is hotpatched on its own)',
  },
  'entry-points-changed': {
    kind: 'export-shape',
    verdict: 'deferred',
    message: 'entry points changed; take effect at the next baseline',
  },
  // ---- no effect on running code
  'comment-only': {
    kind: 'comment-only',
    verdict: 'ignored',
    message: 'only comments or whitespace changed',
  },
  'version-literal': {
    kind: 'version-string',
    verdict: 'ignored',
    message:
      'version literal left as is: the process keeps reporting its baseline version, with its hotpatch level',
  },
  'mangled-names': {
    kind: 'mangled-names',
    verdict: 'ignored',
    message:
      'minified build whose variable names the minifier chose anew ({detail}): compared and patched under the running names',
  },
  'helper-equivalent': {
    kind: 'compiler-helper',
    verdict: 'ignored',
    message:
      'compiler helper from a newer compiler, not part of the fix: the running release of it stays, and what it built at load ({detail})',
  },
  'package-version': { kind: 'version-string', verdict: 'ignored', message: '{detail}' },
  'package-metadata': { kind: 'not-code', verdict: 'ignored', message: 'package metadata' },
  'not-code': { kind: 'not-code', verdict: 'ignored', message: 'not JavaScript code' },
  'docs-or-tests': { kind: 'not-code', verdict: 'ignored', message: 'tests, docs or examples' },
} as const satisfies Record<
  string,
  { kind: string; verdict: 'live' | 'restart' | 'deferred' | 'ignored'; message: string }
>;

export type VerdictId = keyof typeof VERDICTS;

export const VERDICT_IDS = Object.keys(VERDICTS) as VerdictId[];

/** Fills a verdict's message template. */
export function verdictMessage(
  id: VerdictId,
  values: { name?: string; where?: string; detail?: string } = {},
): string {
  return VERDICTS[id].message.replace(
    /\{(name|where|detail)\}/g,
    (_, k: 'name' | 'where' | 'detail') => values[k] ?? '',
  );
}

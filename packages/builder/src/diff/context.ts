import { type Change, changeOf, type VerdictId, verdictMessage } from '@hotpatch/core';
import { type FunctionInfo, type ModuleAnalysis, type SourceType, tokenTexts } from '@hotpatch/instrument';
import type { ExportChanges } from './export-changes.js';
import type { Matching } from './match.js';

export interface DiffInput {
  path: string;
  sourceType: SourceType;
  oldSource: string;
  newSource: string;
  oldVersion?: string;
  newVersion?: string;
  /** When set, only these function keys (and what they need) are patched. */
  only?: Set<string>;
  /** Function keys or top-level binding names left out (--exclude): deferred to the next baseline. */
  exclude?: Set<string>;
  /**
   * Module-level bindings copied at load from another file's exported constants that the fix
   * changed (`const { MAX } = require('./constants')`): local name -> new value's source text.
   */
  importedConstants?: Map<string, { text: string; from: string }>;
  /** Files the fix adds (paths in the package): a require()/import of one is loaded live. */
  newFiles?: Set<string>;
  /**
   * ES modules of the patch and the exports the fix adds to each (path in the package → names):
   * an import of one of those from a changed sibling reads the exporting module's cell.
   */
  newExports?: Map<string, Set<string>>;
  /** Code files of the package (paths) whose code the fix changes, this one included, with the exports that changed. */
  changedFiles?: ReadonlyMap<string, ExportChanges>;
  /** This file names one of `changedFiles` in a require()/import: its load-time calls into it are checked. */
  importsChangedFile?: boolean;
  /**
   * A minified build: variable names are the minifier's, and the fixed version's are matched to
   * the running ones before diffing (mangled-names.ts).
   */
  minified?: boolean;
  /** Whether the package module a relative specifier of this file names only writes output when called (diff/quiet-module.ts). */
  quietModule?: (spec: string) => boolean;
  /**
   * Both releases were loaded and built the same state (load-state/): these load-time refusals
   * (verdict ids) are live, with `detail` saying how that was established.
   */
  loadState?: { lift: ReadonlySet<string>; detail: string };
}

/** Where a verdict's words go: `{where}` in the catalogue's messages. */
export interface Place {
  where?: string;
  detail?: string;
}

/** What every phase reads, and where verdicts are recorded. */
export class DiffContext {
  readonly changes: Change[] = [];
  restart = false;
  /** Fixed-version compiler helpers left as they run (compiler-helpers.ts): never redirected. */
  readonly keptHelpers = new Set<FunctionInfo>();

  constructor(
    readonly input: DiffInput,
    readonly A: ModuleAnalysis,
    readonly B: ModuleAnalysis,
    readonly m: Matching,
  ) {}

  /** Records a change with its catalogue verdict. */
  note(id: VerdictId, name: string, place: Place = {}, line?: number): void {
    this.changes.push(changeOf(id, name, place, line));
  }

  /** A change that needs a restart, unless the user left it out with --exclude. */
  refuse(id: VerdictId, name: string, place: Place = {}, line?: number): void {
    if (this.input.exclude?.has(name)) {
      this.note('excluded', name, { detail: verdictMessage(id, { name, ...place }) }, line);
      return;
    }
    if (this.input.loadState?.lift.has(id)) {
      const detail = `${verdictMessage(id, { name, ...place })}; but ${this.input.loadState.detail}`;
      this.note('load-state-equal', name, { detail }, line);
      return;
    }
    this.note(id, name, place, line);
    this.restart = true;
  }

  /** Version literals compare equal across the two versions (see the version-literal verdict). */
  #versioned(a: ModuleAnalysis): string | undefined {
    if (this.input.oldVersion === undefined) return undefined;
    return a === this.A ? this.input.oldVersion : this.input.newVersion;
  }

  /**
   * Tokens of a range of A or B, with nested functions replaced by their keys (in A's naming),
   * B's renamed bindings in their running names, and the version literal neutralised. Tokens in
   * `extraHoles` are replaced by their label (nothing when the label is empty).
   */
  tokens(
    a: ModuleAnalysis,
    start: number,
    end: number,
    nested: FunctionInfo[] = [],
    extraHoles: Array<{ start: number; end: number; label: string }> = [],
  ): string[] {
    const keyOf = (f: FunctionInfo) => (a === this.B ? this.m.keyInA(f) : f.key);
    const holes = [
      ...nested.map((f) => ({ start: f.node.start, end: f.node.end, label: `ƒ${keyOf(f)}` })),
      ...extraHoles,
    ];
    const toks = tokenTexts(a, start, end, holes, a === this.B ? this.m.rename : undefined);
    return withoutVersion(extraHoles.length ? toks.filter((t) => t !== '') : toks, this.#versioned(a));
  }
}

/** Token texts with the package's version literal (`'1.2.3'`, `"1.2.3"`) neutralised. */
export function withoutVersion(toks: string[], version: string | undefined): string[] {
  if (!version) return toks;
  const quoted = new Set([`'${version}'`, `"${version}"`]);
  return toks.map((t) => (quoted.has(t) ? '<version>' : t));
}

export function sameTokens(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((t, i) => t === b[i]);
}

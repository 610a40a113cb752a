import type { VerdictId } from '@hotpatch/core';
import type { AstNode, FunctionInfo } from '@hotpatch/instrument';

/**
 * A new or changed module-level value (of the module or a run-once wrapper), reached by patched
 * code through the module's hotpatch state: `__hotpatch$.c["<instance>#<key>"]`, created from
 * `init` on first use (and at apply, where it can be: see Migration `cell`).
 */
export interface Cell {
  key: string;
  /** Binding name in the fixed version. */
  name: string;
  /** Node whose text computes the value in the fixed version (initializer, function, class). */
  init: AstNode | null;
  /** Value text from elsewhere (a constant another file exports). */
  initText?: string;
  /** The value is a property of what `init` computes (`const { a } = require('x')`). */
  member?: string;
  /** An ES module namespace loaded at apply (`import ... from spec`); `member` picks a binding. */
  importSpec?: string;
  /**
   * Kept in the package instance's state, not the module's: a new export of this ES module that a
   * changed sibling imports (its key names the file), or the sibling's read of it.
   */
  shared?: boolean;
  /** Created by another file of the patch (the one exporting it): nothing to set up here. */
  providedBy?: string;
  /** The run-once function (in the fixed version) declaring it; null at module level. */
  unit: FunctionInfo | null;
  /** Patched code assigns it: writes go to the cell. */
  mutable: boolean;
  /** Verdict reported when a live change uses it. */
  id: VerdictId;
  line: number;
  /** A live change uses it (set while resolving references). */
  used: boolean;
}

/** A module-level statement re-run at apply with the fixed version's value (Migration assign/define). */
export interface StatementPatch {
  kind: 'assign' | 'define' | 'delete' | 'rerun' | 'recompile';
  /** The object whose property changes, in the fixed version (or its text, for `module.exports`). */
  target: AstNode | null;
  targetText?: string;
  /** The property key, as a JavaScript expression (a string literal). */
  key: string;
  /** assign: the value; define: an expression evaluating to a property descriptor. */
  value: AstNode;
  /** Synthetic value text instead of a node (e.g. `void 0` for new tsc export slots). */
  valueText?: string;
  /** define: `value` is a getter; the descriptor is an enumerable, configurable accessor with it. */
  getter?: true;
  /** Wrap the descriptor text (define of a class member: make it non-enumerable). */
  descriptorOf?: { member: AstNode; isStatic: boolean };
  name: string;
  unit: FunctionInfo | null;
  line: number;
  /** recompile: the running version's regular expression (its text), put back on revert. */
  previousText?: string;
  /** A property of a module-level object literal (or a regular expression), updated on the running object. */
  inPlace?: true;
  /** A registration call (or counter reset) run again at apply (registrations.ts). */
  registration?: true;
  /** rerun: module variables whose objects the statements fill in place (saved, restored on revert). */
  snapshot?: string[];
}

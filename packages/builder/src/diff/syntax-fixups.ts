import { type AstNode, childrenOf } from '@hotpatch/instrument';
import type { Rewrite } from './rewrites.js';

/**
 * Rewrites of identifiers that the syntax around them would misread, fixed after the fact: a
 * shorthand property's value, and the root of a `new` callee. The positions of both are read
 * from the new module's AST once, on first use.
 */
export class SyntaxFixups {
  #shorthand: Map<number, string> | null = null;
  #newRoots: Set<number> | null = null;

  constructor(readonly ast: AstNode) {}

  /**
   * `new X(…)` and `new X.Y(…)` with X rewritten to a call (`__hp$sc("X")`, a cell read): `new`
   * would take that call's callee as the constructor (`new __hp$sc("X")(…)` constructs the scope
   * accessor and calls what it returns — ua-parser-js's `new UAParser(…)` recursed forever).
   * Parenthesized, the rewritten expression is the constructor.
   */
  newCallees(rewrites: Rewrite[]): void {
    if (!this.#newRoots) {
      const roots = new Set<number>();
      const visit = (n: AstNode): void => {
        if (n.type === 'NewExpression') {
          let root = n.callee as AstNode;
          while (root.type === 'MemberExpression') root = root.object as AstNode;
          if (root.type === 'Identifier') roots.add(root.start);
        }
        for (const c of childrenOf(n)) visit(c);
      };
      visit(this.ast);
      this.#newRoots = roots;
    }
    const plain = /^[A-Za-z_$][\w$]*$/;
    for (const r of rewrites) {
      if (!this.#newRoots.has(r.start)) continue;
      if (!plain.test(r.text)) r.text = `(${r.text})`;
      if (r.redirectText !== undefined && !plain.test(r.redirectText)) r.redirectText = `(${r.redirectText})`;
    }
  }

  /**
   * `{ x }` names its key and its value at once: a rewrite of the value must keep the key
   * (`{ x: __hp$sc("x") }`).
   */
  shorthands(rewrites: Rewrite[], within: AstNode): void {
    if (!this.#shorthand) {
      this.#shorthand = new Map();
      const visit = (n: AstNode): void => {
        if (n.type === 'ObjectExpression')
          for (const p of n.properties as AstNode[])
            if (p.type === 'Property' && p.shorthand && (p.value as AstNode).type === 'Identifier')
              this.#shorthand!.set((p.value as AstNode).start, (p.value as AstNode).name as string);
        for (const c of childrenOf(n)) visit(c);
      };
      visit(this.ast);
    }
    for (const r of rewrites) {
      const key = this.#shorthand.get(r.start);
      if (key === undefined || r.end !== r.start + key.length) continue;
      if (r.start === within.start && r.end === within.end) continue; // the value alone, out of its object
      r.text = `${key}: ${r.text}`;
      if (r.redirectText !== undefined) r.redirectText = `${key}: ${r.redirectText}`;
    }
  }
}

import type { AstNode, FunctionInfo } from '@hotpatch/instrument';

/**
 * Parameters a compiler or bundler renamed: rollup, rolldown and esbuild rename a function's
 * parameter when a new module-level binding takes its name (`config` becomes `config$1`), so a fix
 * elsewhere in a bundle renames parameters of functions it never touched. Code a patch compiles
 * reaches an enclosing function's variables by their running names (through the scope accessor),
 * so a renamed parameter must be read under its old name.
 *
 * A parameter counts as renamed when it stands at the same position in both versions, in the same
 * single-name form (`a`, `a = …`, `...a`), under different names, and neither name means something
 * else in the other version (the old name is not declared in the new function, nor the new name in
 * the old one). Destructured parameters are not mapped.
 *
 * Returns new name → running name.
 */
export function parameterRenames(fa: FunctionInfo, fb: FunctionInfo): Map<string, string> {
  const out = new Map<string, string>();
  const pa = fa.node.params as AstNode[];
  const pb = fb.node.params as AstNode[];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const a = singleName(pa[i]!);
    const b = singleName(pb[i]!);
    if (!a || !b || a.form !== b.form) break; // positions after a change of form are not aligned
    if (a.name === b.name) continue;
    if (fb.declared.includes(a.name) || fa.declared.includes(b.name)) continue;
    out.set(b.name, a.name);
  }
  return out;
}

/** `a`, `a = …` or `...a`: the one name the parameter binds, and its form. */
function singleName(p: AstNode): { name: string; form: 'plain' | 'default' | 'rest' } | null {
  if (p.type === 'Identifier') return { name: p.name as string, form: 'plain' };
  if (p.type === 'AssignmentPattern' && (p.left as AstNode).type === 'Identifier')
    return { name: (p.left as AstNode).name as string, form: 'default' };
  if (p.type === 'RestElement' && (p.argument as AstNode).type === 'Identifier')
    return { name: (p.argument as AstNode).name as string, form: 'rest' };
  return null;
}

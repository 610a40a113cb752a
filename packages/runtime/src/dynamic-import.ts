/**
 * Whether a module may call import(): a dynamic import in its code, or the text `import(` in a
 * string or template (code it builds and evaluates: `new Function('s', 'return import(s)')`).
 * Comments do not count (JSDoc's `{import('x').T}` is everywhere). Node 20 starts its off-thread
 * ESM hooks before such a module runs, and only then (register.ts).
 */
export interface Token {
  type: { label: string; keyword?: string };
  start: number;
  end: number;
}

const IN_TEXT = /\bimport\s*\(/;

export function mayImport(tokens: readonly Token[], source: string): boolean {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.type.keyword === 'import' && tokens[i + 1]?.type.label === '(') return true;
    const label = t.type.label;
    if (
      (label === 'string' || label === 'template' || label === 'regexp') &&
      IN_TEXT.test(source.slice(t.start, t.end))
    )
      return true;
  }
  return false;
}

/** Appended to the instrumented code of such a module (a comment: no line moves). */
export const DYNAMIC_IMPORT_MARK = '\n//# hotpatch: import()';

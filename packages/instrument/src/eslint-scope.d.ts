// eslint-scope ships no types; analyze() is typed in scope-types.ts and cast where called.
declare module 'eslint-scope' {
  export function analyze(
    ast: unknown,
    options?: {
      ecmaVersion?: number;
      sourceType?: 'script' | 'module' | 'commonjs';
      nodejsScope?: boolean;
      childVisitorKeys?: Record<string, readonly string[]>;
      ignoreEval?: boolean;
    },
  ): unknown;
}

declare module 'eslint-visitor-keys' {
  export const KEYS: Record<string, readonly string[]>;
}

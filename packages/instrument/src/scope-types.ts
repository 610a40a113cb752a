// Types for the parts of eslint-scope we use (the package ships none).
export interface Reference {
  identifier: { name: string; start: number; end: number };
  from: Scope;
  resolved: Variable | null;
  isWrite(): boolean;
  isRead(): boolean;
  isReadWrite(): boolean;
  init?: boolean;
  writeExpr?: unknown;
}
export interface Definition {
  type: string;
  name: { name: string; start: number; end: number };
  node: { type: string; start: number; end: number };
  parent?: { type: string; kind?: string; start: number; end: number } | null;
}
export interface Variable {
  name: string;
  scope: Scope;
  references: Reference[];
  defs: Definition[];
  identifiers: Array<{ start: number; end: number }>;
}
export interface Scope {
  type: string;
  block: { type: string; start: number; end: number };
  upper: Scope | null;
  variableScope: Scope;
  variables: Variable[];
  references: Reference[];
  through: Reference[];
  childScopes: Scope[];
  set: Map<string, Variable>;
  isStrict: boolean;
  /** A direct eval() runs in this scope or one nested in it: names are looked up at run time. */
  directCallToEvalScope?: boolean;
  functionExpressionScope: boolean;
}
export interface ScopeManager {
  scopes: Scope[];
  globalScope: Scope;
  acquire(node: unknown, inner?: boolean): Scope | null;
}

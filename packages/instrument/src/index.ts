export * from './analyze.js';
export * from './ast.js';
export * from './check.js';
export * from './convention.js';
export * from './instrument.js';
export type * from './scope-types.js';
export * from './tokens.js';

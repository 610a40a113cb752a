export * from './analyze.js';
export * from './instrument.js';
export type * from './scope-types.js';

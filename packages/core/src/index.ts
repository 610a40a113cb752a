export * from './bundle.js';
export * from './canonical.js';
export * from './errors.js';
export * from './hash.js';
export * from './signing.js';
export * from './version-id.js';

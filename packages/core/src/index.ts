export * from './bundle.js';
export * from './calendar.js';
export * from './canonical.js';
export * from './eligibility.js';
export * from './errors.js';
export * from './hash.js';
export * from './signing.js';
export * from './version-id.js';

/**
 * SQL for the fleet tables, mapped to the model types: one file per concern in store/. Every
 * function takes the Sql to run on (a transaction or the pool).
 */
export * from './store/advisories.js';
export * from './store/audit.js';
export * from './store/baselines.js';
export * from './store/bundles.js';
export * from './store/credentials.js';
export * from './store/deployments.js';
export * from './store/device-channel.js';
export * from './store/devices.js';
export * from './store/fleet-rules.js';
export * from './store/health.js';
export * from './store/locks.js';
export * from './store/policies.js';
export * from './store/replicas.js';
export * from './store/status-columns.js';
export * from './store/tokens.js';

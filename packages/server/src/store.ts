/**
 * SQL for the fleet tables, mapped to the model types: one file per concern in store/. Every
 * function takes the Sql to run on (a transaction or the pool).
 */
export * from './store/audit.js';
export * from './store/bundles.js';
export * from './store/deployments.js';
export * from './store/device-channel.js';
export * from './store/devices.js';
export * from './store/fleet-rules.js';
export * from './store/policies.js';
export * from './store/replicas.js';

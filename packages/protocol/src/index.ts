export * from './advisories.js';
export * from './agent.js';
export * from './api-devices.js';
export * from './health.js';
export * from './states.js';

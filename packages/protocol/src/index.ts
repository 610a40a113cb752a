export * from './agent.js';
export * from './health.js';
export * from './states.js';

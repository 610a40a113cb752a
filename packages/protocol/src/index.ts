export * from './agent.js';
export * from './states.js';

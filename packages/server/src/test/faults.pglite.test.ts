import { agentEnvSuite, faultSuite } from './faults.js';

faultSuite('pglite');
agentEnvSuite();

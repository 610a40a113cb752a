import { agentEnvSuite } from './agent-env.js';
import { faultSuite } from './faults.js';

faultSuite('pglite');
agentEnvSuite();

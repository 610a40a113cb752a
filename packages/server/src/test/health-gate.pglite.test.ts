import { healthGateSuite } from './health-gate.js';

healthGateSuite('pglite');

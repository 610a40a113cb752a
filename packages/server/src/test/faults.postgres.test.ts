import { failoverSuite } from './failover.js';
import { faultSuite } from './faults.js';

faultSuite('postgres');
failoverSuite();

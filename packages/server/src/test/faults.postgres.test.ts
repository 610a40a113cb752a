import { failoverSuite, faultSuite } from './faults.js';

faultSuite('postgres');
failoverSuite();

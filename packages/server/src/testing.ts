/**
 * Test helpers for other packages' tests (`@hotpatch/server/testing`): simulated devices speaking
 * the real protocol, API client, a booted server (startTestServer), polling, OSV fixtures. Not part of the server's runtime API.
 */
export * from './test/fixture.js';
export { MINIMIST_OSV } from './test/osv-fixtures.js';
export * from './test/sim.js';
export { startTestServer, type TestServer } from './test/test-server.js';

/**
 * Test helpers for other packages' tests (`@hotpatch/server/testing`): simulated devices speaking
 * the real protocol, API client, polling, OSV fixtures. Not part of the server's runtime API.
 */
export {
  type AppProcess,
  client,
  type Fixture,
  fixture,
  freePort,
  readToken,
  startApp,
  until,
  waitDeployment,
} from './test/fixture.js';
export { MINIMIST_OSV } from './test/osv-fixtures.js';
export { connect, enroll, enrollOk, type Msg, online, type Sim } from './test/sim.js';

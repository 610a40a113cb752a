/**
 * ESM load hooks for Node versions without module.registerHooks (Node 20): ES modules are
 * instrumented for the redirect engine as they load. Runs off the main thread; the main thread
 * learns about each module when its code registers, and fills its slots then.
 */
import { fileURLToPath } from 'node:url';
import { sha256 } from '@hotpatch/core';
import { instrumentModule } from '@hotpatch/instrument';

interface Data {
  service: string;
  ownRoot: string;
}

let data: Data | null = null;

export function initialize(d: Data): void {
  data = d;
}

type LoadResult = {
  format?: string | null;
  source?: string | ArrayBuffer | Uint8Array | null;
  shortCircuit?: boolean;
};
type NextLoad = (url: string, context: unknown) => Promise<LoadResult>;

export async function load(url: string, context: unknown, nextLoad: NextLoad): Promise<LoadResult> {
  const result = await nextLoad(url, context);
  if (!data || result.format !== 'module' || !url.startsWith('file:') || result.source == null) return result;
  const filename = fileURLToPath(url);
  if (filename.startsWith(`${data.ownRoot}/`) || filename.includes('/node_modules/@hotpatch/')) return result;
  const source =
    typeof result.source === 'string'
      ? result.source
      : Buffer.from(result.source as Uint8Array).toString('utf8');
  const sha = sha256(source);
  try {
    const meta = { id: filename, filename, sha256: sha, sourceType: 'module' };
    return { ...result, source: instrumentModule(source, 'module', meta).code };
  } catch {
    return result;
  }
}

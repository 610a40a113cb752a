import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { instrumentModule, type SourceType } from '@hotpatch/instrument';
import { hotpatchHome } from './paths.js';

/**
 * Instrumented sources cached on disk by content hash: parsing every module on every start is
 * the redirect engine's main start-up cost, and a module's instrumented form depends only on
 * its text. The module id is not part of the cached text: a marker stands in for it.
 */
const VERSION = 3;
const MARKER = '\u0000hotpatch-module-id';
const QUOTED_MARKER = JSON.stringify(MARKER);

export function instrumentCached(
  source: string,
  sha: string,
  sourceType: SourceType,
  moduleId: string,
): string {
  if (source.includes(QUOTED_MARKER)) return instrumentModule(source, sourceType, moduleId).code;
  const dir = join(hotpatchHome(), 'instrumented', `v${VERSION}`);
  const file = join(dir, `${sha}.${sourceType === 'module' ? 'mjs' : 'cjs'}`);
  let code: string | null = null;
  try {
    code = readFileSync(file, 'utf8');
  } catch {
    code = instrumentModule(source, sourceType, MARKER).code;
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      writeFileSync(tmp, code, { mode: 0o600 });
      renameSync(tmp, file);
    } catch {
      // a read-only or full home only costs speed; leave no partial file behind
      rmSync(tmp, { force: true });
    }
  }
  return code.replace(QUOTED_MARKER, JSON.stringify(moduleId));
}

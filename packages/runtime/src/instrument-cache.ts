import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { instrumentModule, type ModuleTable, type SourceType } from '@hotpatch/instrument';
import { hotpatchHome } from './paths.js';

/**
 * Instrumented sources cached on disk by content hash: parsing every module on every start is
 * the redirect engine's main start-up cost, and a module's instrumented form depends only on
 * its text. The module id is not part of the cached text: a marker stands in for it.
 */
const VERSION = 5;
const MARKER = '\u0000hotpatch-module-id';
const QUOTED_MARKER = JSON.stringify(MARKER);

/** Instrumented code for a module, and its table when it was computed here (else derived at apply). */
export function instrumentCached(
  source: string,
  sha: string,
  sourceType: SourceType,
  moduleId: string,
): { code: string; table: ModuleTable | null } {
  if (source.includes(QUOTED_MARKER)) {
    const r = instrumentModule(source, sourceType, moduleId);
    return { code: r.code, table: r.table };
  }
  const dir = join(hotpatchHome(), 'instrumented', `v${VERSION}`);
  const file = join(dir, `${sha}.${sourceType === 'module' ? 'mjs' : 'cjs'}`);
  let code: string | null = null;
  let table: ModuleTable | null = null;
  try {
    code = readFileSync(file, 'utf8');
    table = JSON.parse(readFileSync(`${file}.json`, 'utf8')) as ModuleTable;
  } catch {
    const r = instrumentModule(source, sourceType, MARKER);
    code = r.code;
    table = r.table;
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      writeFileSync(tmp, JSON.stringify(table), { mode: 0o600 });
      renameSync(tmp, `${file}.json`);
      writeFileSync(tmp, code, { mode: 0o600 });
      renameSync(tmp, file);
    } catch {
      // a read-only or full home only costs speed; leave no partial file behind
      try {
        rmSync(tmp, { force: true });
      } catch {
        // the directory itself is unusable: nothing was written
      }
    }
  }
  return { code: code.replace(QUOTED_MARKER, JSON.stringify(moduleId)), table };
}

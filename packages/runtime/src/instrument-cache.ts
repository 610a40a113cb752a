import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModuleTable, PatchImport, SourceType } from '@hotpatch/instrument';
import { writeFileAtomic } from './atomic-file.js';
import { fnv1a } from './code-cache.js';
import { DYNAMIC_IMPORT_MARK, mayImport } from './dynamic-import.js';
import { heavy } from './lazy.js';
import {
  type PackEntry,
  type PackIndex,
  packCode,
  packEntry,
  packFile,
  packIndex,
  packSource,
  writePack,
} from './pack.js';
import { hotpatchHome } from './paths.js';

/**
 * Instrumented sources cached on disk by content hash: parsing every module on every start is
 * the redirect engine's main start-up cost, and a module's instrumented form depends only on
 * its text. The module id is not part of the cached text: a marker stands in for it.
 *
 * Two tiers, both keyed by the sha256 of the module's text (so any entry found is the right one):
 * - a pack per service and main script (pack.ts): what one start of the service loaded, in one
 *   file, read once at start; written again, after the start-up burst, when a module was missing;
 *   it also keeps each entry's source and which file loaded it, so that a start finds a module's
 *   entry by its file and compares the text it loads with that source: the same text, so the
 *   entry's sha256 is the text's, without hashing it (`packedSha`; the sha256 of every module
 *   was ~28-50 M instructions of a start, BENCHMARKS.md §3, sixth pass);
 * - one file per module (and its table as `.json`), written when a module is instrumented: what a
 *   start that misses the pack (a new release, two releases side by side) falls back to.
 * A module's table (what an apply checks replacements against) is read only when a patch targets it.
 */
const VERSION = 11; // 11: lazy run-once wrappers (esbuild __commonJS/__esm) register their scope (convention 6)
const MARKER = '\u0000hotpatch-module-id';
const QUOTED_MARKER = JSON.stringify(MARKER);
/** The pack is written this long after the last module loaded (start-up is a burst of loads). */
const SETTLE_MS = 1000;

const dir = () => join(hotpatchHome(), 'instrumented', `v${VERSION}`);
const extOf = (sourceType: SourceType) => (sourceType === 'module' ? 'mjs' : 'cjs');
const keyOf = (sha: string, sourceType: SourceType) => `${sha}.${extOf(sourceType)}`;
const fileKeyOf = (filename: string, sourceType: SourceType) => `${extOf(sourceType)}:${filename}`;

interface PackState {
  file: string;
  /** The pack as read at start (released once start-up settles). */
  bytes: Buffer | null;
  index: PackIndex | null;
  /** Keys this process loaded, in order: the next pack holds exactly these. */
  used: Set<string>;
  /** Entries instrumented or read from per-module files since the pack was read. */
  added: Map<string, PackEntry>;
  /** Files this process loaded -> their entry's key (the next pack names them). */
  files: Map<string, string>;
  /** A file loaded that the pack does not name with this entry: the pack is written again. */
  renamed: boolean;
  timer: NodeJS.Timeout | null;
  /** Modules loaded since the timer was armed (start-up has settled when a period sees none). */
  loads: number;
}

let pack: PackState | null = null;

/**
 * Uses a pack for this process (named by what identifies a release of the service: its name and
 * main script). Without a call, only per-module files are used.
 */
export function openPack(name: string): void {
  // Not a check of anything (entries are checked by their text): a short name for a long one.
  const file = join(dir(), 'packs', `${fnv1a(name)}.pack`);
  let bytes: Buffer | null = null;
  let index: PackIndex | null = null;
  try {
    bytes = readFileSync(file);
    index = packIndex(bytes);
  } catch {
    bytes = null; // no pack yet, or unreadable: every module comes from the second tier
  }
  pack = {
    file,
    bytes,
    index,
    used: new Set(),
    added: new Map(),
    files: new Map(),
    renamed: false,
    timer: null,
    loads: 0,
  };
  process.once('exit', () => settle());
}

/**
 * The sha256 of a module's text when the pack has an entry made from exactly this text for this
 * file (the entry's key is that text's sha256), else null (the caller hashes it). Equal text, not
 * a cheaper hash: an entry made from other text is never taken for this one.
 */
export function packedSha(filename: string, sourceType: SourceType, source: string): string | null {
  if (!pack?.bytes || !pack.index) return null;
  const key = packFile(pack.index, fileKeyOf(filename, sourceType));
  if (!key?.endsWith(`.${extOf(sourceType)}`) || packSource(pack.bytes, pack.index, key) !== source)
    return null;
  return key.slice(0, -4);
}

/** Instrumented code for a module, and a way to its table (null: derive it from the source). */
export function instrumentCached(
  source: string,
  sha: string,
  sourceType: SourceType,
  moduleId: string,
  filename?: string,
): { code: string; table: () => ModuleTable | null } {
  if (source.includes(QUOTED_MARKER)) {
    const r = instrumentNow(source, sourceType, moduleId);
    return { code: r.code, table: () => r.table };
  }
  const key = keyOf(sha, sourceType);
  if (pack && filename !== undefined) nameFile(pack, fileKeyOf(filename, sourceType), key);
  const code = fromPack(key) ?? fromFiles(key, source, sourceType);
  return { code: code.replace(QUOTED_MARKER, JSON.stringify(moduleId)), table: () => tableOf(key) };
}

/** Notes which entry a file loaded; one the pack does not name so makes the pack written again. */
function nameFile(p: PackState, fileKey: string, key: string): void {
  p.files.set(fileKey, key);
  if (!p.renamed && (!p.index || packFile(p.index, fileKey) !== key)) p.renamed = true;
}

function fromPack(key: string): string | null {
  if (!pack) return null;
  pack.used.add(key);
  schedule(pack);
  return pack.bytes && pack.index ? packCode(pack.bytes, pack.index, key) : null;
}

/** Per-module files, else the parser (and the files written for the next start). */
function fromFiles(key: string, source: string, sourceType: SourceType): string {
  const file = join(dir(), key);
  let code: string;
  let table: string;
  try {
    code = readFileSync(file, 'utf8');
    table = readFileSync(`${file}.json`, 'utf8');
  } catch {
    const r = instrumentNow(source, sourceType, MARKER);
    code = r.code;
    table = JSON.stringify(r.table);
    try {
      mkdirSync(dir(), { recursive: true, mode: 0o700 });
      writeFileAtomic(`${file}.json`, table);
      writeFileAtomic(file, code);
    } catch {
      // a read-only or full home only costs speed (writeFileAtomic leaves no partial file)
    }
  }
  pack?.added.set(key, { code, table, source });
  return code;
}

/**
 * Instruments a module; the code of one that may call import() ends with DYNAMIC_IMPORT_MARK
 * (kept in the cache with it: Node 20 starts its ESM hooks before such a module runs).
 */
export function instrumentNow(
  source: string,
  sourceType: SourceType,
  moduleId: string,
  imports: PatchImport[] = [],
): { code: string; table: ModuleTable } {
  const r = heavy().instrumentModule(source, sourceType, moduleId, undefined, imports);
  const mark = mayImport(r.analysis.tokens, source) ? DYNAMIC_IMPORT_MARK : '';
  return { code: r.code + mark, table: r.table };
}

/** A module's table, read when an apply needs it: its own file, else the pack, else null. */
function tableOf(key: string): ModuleTable | null {
  try {
    return JSON.parse(readFileSync(join(dir(), `${key}.json`), 'utf8')) as ModuleTable;
  } catch {
    // not written (unwritable home): the pack may have it
  }
  const added = pack?.added.get(key);
  if (added) return JSON.parse(added.table) as ModuleTable;
  if (!pack) return null;
  try {
    const bytes = readFileSync(pack.file);
    const hit = packEntry(bytes, packIndex(bytes), key);
    return hit ? (JSON.parse(hit.table) as ModuleTable) : null;
  } catch {
    return null;
  }
}

/**
 * Start-up has settled when a period of SETTLE_MS saw no module load (so between one and two
 * periods after the last). A load only counts: re-arming a timer per module (refresh) cost
 * ~4 ms of a 1,131-module start.
 */
function schedule(p: PackState): void {
  p.loads++;
  p.timer ??= setTimeout(function check() {
    if (p.loads === 0) return settle();
    p.loads = 0;
    p.timer = setTimeout(check, SETTLE_MS).unref();
  }, SETTLE_MS).unref();
}

/**
 * After start-up: the pack is written again when a module was missing from it (the next start
 * reads one file), and the bytes read at start are let go.
 */
export function settle(): void {
  const p = pack;
  if (!p) return;
  if (p.timer) clearTimeout(p.timer);
  p.timer = null;
  if (p.added.size > 0 || p.renamed) {
    try {
      // What another process wrote since is as good as ours (same keys, same content).
      let bytes = p.bytes;
      let index = p.index;
      try {
        const onDisk = readFileSync(p.file);
        index = packIndex(onDisk);
        bytes = onDisk;
      } catch {
        // none on disk, or not a pack of this format: ours, or nothing
      }
      const entries = [...p.used].flatMap((key) => {
        const e = p.added.get(key) ?? (bytes && index ? packEntry(bytes, index, key) : null);
        return e ? [{ key, ...e }] : [];
      });
      mkdirSync(join(dir(), 'packs'), { recursive: true, mode: 0o700 });
      writePack(p.file, entries, Object.fromEntries(p.files));
    } catch {
      // an unwritable home only costs speed at the next start
    }
  }
  p.bytes = null;
  p.index = null;
  p.added.clear();
  p.files.clear();
  p.renamed = false;
}

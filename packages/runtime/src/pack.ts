import { writeFileAtomic } from './atomic-file.js';
import { type Crc32, zlibCrc32 } from './crc32.js';

/**
 * The instrumentation cache's pack: many entries (instrumented code, its table and the source it
 * was made from, by key) in one file, so that a start reads one file instead of two per module,
 * and decodes only the entries it uses. `files` names, per module file loaded by the start that
 * wrote the pack, the entry of its text then: a start finds a module's entry by its file and
 * compares the text (no sha256 of every module at every start; instrument-cache.ts). Layout:
 *   hotpatch-pack 3\n
 *   <index: JSON {entries: key -> [code offset, code length, table offset, table length,
 *     source offset, source length, CRC-32 of the entry's bytes], files: file key -> entry key}>\n
 *   <data: the entries' UTF-8 bytes; offsets are from the start of the data>
 * An entry's code runs as the module: its CRC-32 (code, table and source, contiguous) is checked
 * before any part of it is used, so a corrupted entry is never run (it is made again). Without
 * zlib.crc32 (Node < 20.15) there is no pack: packBytes and packIndex throw, and modules come from
 * the per-module files.
 */
const MAGIC = 'hotpatch-pack 3\n';

function crc32(): Crc32 {
  const crc = zlibCrc32();
  if (!crc) throw new Error('no zlib.crc32 on this Node: no pack');
  return crc;
}

export interface PackIndex {
  /** key -> [code offset, code length, table offset, table length, source offset, source length, CRC-32] */
  entries: Record<string, [number, number, number, number, number, number, number]>;
  /** A module file (its source type and path) -> the key of the entry made from its text. */
  files: Record<string, string>;
  /** Where the data starts in the file. */
  data: number;
  /** Entries whose CRC-32 was checked: true (good) or false (corrupt). */
  checked: Map<string, boolean>;
}

export interface PackEntry {
  code: string;
  /** The module table as JSON text (parsed only when an apply needs it). */
  table: string;
  /** The module's text the code was made from. */
  source: string;
}

/** The index and where the data starts; throws on anything that is not a whole pack. */
export function packIndex(bytes: Buffer): PackIndex {
  crc32();
  if (bytes.toString('latin1', 0, MAGIC.length) !== MAGIC) throw new Error('not a hotpatch pack');
  const end = bytes.indexOf(10, MAGIC.length);
  if (end < 0) throw new Error('truncated pack');
  const { entries, files } = JSON.parse(bytes.toString('utf8', MAGIC.length, end)) as Omit<PackIndex, 'data'>;
  if (!entries || !files) throw new Error('not a hotpatch pack');
  let size = 0;
  for (const [, , , , sourceOffset, sourceLength] of Object.values(entries))
    size = Math.max(size, sourceOffset + sourceLength);
  if (end + 1 + size !== bytes.length) throw new Error('truncated pack');
  return { entries, files, data: end + 1, checked: new Map() };
}

/** The entry, when its bytes are what was written (CRC-32, checked once per key and index). */
function at(bytes: Buffer, index: PackIndex, key: string) {
  const e = Object.hasOwn(index.entries, key) ? index.entries[key] : undefined;
  if (!e) return undefined;
  let good = index.checked.get(key);
  if (good === undefined) {
    const start = index.data + e[0];
    good = e.length === 7 && crc32()(bytes.subarray(start, start + e[1] + e[3] + e[5])) === e[6];
    index.checked.set(key, good);
  }
  return good ? e : undefined;
}
const text = (bytes: Buffer, index: PackIndex, offset: number, length: number) =>
  bytes.toString('utf8', index.data + offset, index.data + offset + length);

/** An entry's code alone (a module loading needs no table: ~30% of a pack's bytes not decoded). */
export function packCode(bytes: Buffer, index: PackIndex, key: string): string | null {
  const e = at(bytes, index, key);
  return e ? text(bytes, index, e[0], e[1]) : null;
}

/** The key of the entry made from `file`'s text when the pack was written, if any. */
export function packFile(index: PackIndex, file: string): string | null {
  return Object.hasOwn(index.files, file) ? index.files[file]! : null;
}

/** An entry's source: the text its code was made from. */
export function packSource(bytes: Buffer, index: PackIndex, key: string): string | null {
  const e = at(bytes, index, key);
  return e ? text(bytes, index, e[4], e[5]) : null;
}

export function packEntry(bytes: Buffer, index: PackIndex, key: string): PackEntry | null {
  const e = at(bytes, index, key);
  if (!e) return null;
  return {
    code: text(bytes, index, e[0], e[1]),
    table: text(bytes, index, e[2], e[3]),
    source: text(bytes, index, e[4], e[5]),
  };
}

/** The bytes of a pack holding `entries`, and the files whose text each was made from. */
export function packBytes(
  entries: ReadonlyArray<PackEntry & { key: string }>,
  files: Readonly<Record<string, string>> = {},
): Buffer {
  const index: PackIndex['entries'] = {};
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const code = Buffer.from(e.code, 'utf8');
    const table = Buffer.from(e.table, 'utf8');
    const source = Buffer.from(e.source, 'utf8');
    const tableAt = offset + code.length;
    const sourceAt = tableAt + table.length;
    const crc = crc32();
    const sum = crc(source, crc(table, crc(code)));
    index[e.key] = [offset, code.length, tableAt, table.length, sourceAt, source.length, sum];
    chunks.push(code, table, source);
    offset = sourceAt + source.length;
  }
  // Only files whose entry is in this pack.
  const named = Object.fromEntries(Object.entries(files).filter(([, key]) => Object.hasOwn(index, key)));
  const head = `${MAGIC}${JSON.stringify({ entries: index, files: named })}\n`;
  return Buffer.concat([Buffer.from(head, 'utf8'), ...chunks]);
}

/** Writes a pack atomically (a reader sees the old pack or the new one, never a part). */
export function writePack(
  file: string,
  entries: ReadonlyArray<PackEntry & { key: string }>,
  files: Readonly<Record<string, string>> = {},
): void {
  writeFileAtomic(file, packBytes(entries, files));
}

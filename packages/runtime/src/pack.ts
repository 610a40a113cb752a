import { writeFileAtomic } from './atomic-file.js';

/**
 * The instrumentation cache's pack: many entries (instrumented code and its table, by key) in
 * one file, so that a start reads one file instead of two per module, and decodes only the
 * entries it uses. Layout:
 *   hotpatch-pack 1\n
 *   <index: JSON object, key -> [code offset, code length, table offset, table length]>\n
 *   <data: the entries' UTF-8 bytes; offsets are from the start of the data>
 */
const MAGIC = 'hotpatch-pack 1\n';

export interface PackIndex {
  /** key -> [code offset, code length, table offset, table length] */
  entries: Record<string, [number, number, number, number]>;
  /** Where the data starts in the file. */
  data: number;
}

export interface PackEntry {
  code: string;
  /** The module table as JSON text (parsed only when an apply needs it). */
  table: string;
}

/** The index and where the data starts; throws on anything that is not a whole pack. */
export function packIndex(bytes: Buffer): PackIndex {
  if (bytes.toString('latin1', 0, MAGIC.length) !== MAGIC) throw new Error('not a hotpatch pack');
  const end = bytes.indexOf(10, MAGIC.length);
  if (end < 0) throw new Error('truncated pack');
  const entries = JSON.parse(bytes.toString('utf8', MAGIC.length, end)) as PackIndex['entries'];
  let size = 0;
  for (const [, , tableOffset, tableLength] of Object.values(entries))
    size = Math.max(size, tableOffset + tableLength);
  if (end + 1 + size !== bytes.length) throw new Error('truncated pack');
  return { entries, data: end + 1 };
}

/** An entry's code alone (a module loading needs no table: ~30% of a pack's bytes not decoded). */
export function packCode(bytes: Buffer, index: PackIndex, key: string): string | null {
  const at = Object.hasOwn(index.entries, key) ? index.entries[key] : undefined;
  return at ? bytes.toString('utf8', index.data + at[0], index.data + at[0] + at[1]) : null;
}

export function packEntry(bytes: Buffer, index: PackIndex, key: string): PackEntry | null {
  const at = Object.hasOwn(index.entries, key) ? index.entries[key] : undefined;
  if (!at) return null;
  const base = index.data;
  const [codeOffset, codeLength, tableOffset, tableLength] = at;
  return {
    code: bytes.toString('utf8', base + codeOffset, base + codeOffset + codeLength),
    table: bytes.toString('utf8', base + tableOffset, base + tableOffset + tableLength),
  };
}

/** The bytes of a pack holding `entries`. */
export function packBytes(entries: ReadonlyArray<PackEntry & { key: string }>): Buffer {
  const index: PackIndex['entries'] = {};
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const code = Buffer.from(e.code, 'utf8');
    const table = Buffer.from(e.table, 'utf8');
    index[e.key] = [offset, code.length, offset + code.length, table.length];
    chunks.push(code, table);
    offset += code.length + table.length;
  }
  return Buffer.concat([Buffer.from(`${MAGIC}${JSON.stringify(index)}\n`, 'utf8'), ...chunks]);
}

/** Writes a pack atomically (a reader sees the old pack or the new one, never a part). */
export function writePack(file: string, entries: ReadonlyArray<PackEntry & { key: string }>): void {
  writeFileAtomic(file, packBytes(entries));
}

import { createRequire } from 'node:module';

/** zlib.crc32: `value` continues a running CRC, so crc(b, crc(a)) is the CRC of a then b. */
export type Crc32 = (data: Uint8Array | string, value?: number) => number;

let crc: Crc32 | null | undefined;

/**
 * zlib.crc32 (Node 20.15+, 22.2+), or null before; loaded on first use, so a process that checks
 * nothing does not load zlib. The runtime's caches check their entries with it (cjs-code-cache.ts,
 * pack.ts).
 */
export function zlibCrc32(): Crc32 | null {
  crc ??= (createRequire(import.meta.url)('node:zlib') as { crc32?: Crc32 }).crc32 ?? null;
  return crc;
}

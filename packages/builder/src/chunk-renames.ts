import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { isCode } from './files.js';
import { sharedCount } from './multiset.js';

/**
 * Bundle chunks the bundler renamed because their content hash changed (rollup, rolldown, vite,
 * esbuild splitting: `chunks/dep-C6pp_iVS.js` → `chunks/dep-M_KD0XSK.js`). The running process
 * loaded the old names; the fixed release imports the new ones everywhere, so every importer
 * looks changed ("now comes from ./chunks/dep-M_KD0XSK.js") and the fix inside the chunk looks
 * like a new file. A renamed chunk is the running chunk: the fixed release is compared as if the
 * bundler had kept the running names — each renamed chunk at its running path, and every mention
 * of its new file name replaced by the running one.
 *
 * Pairing: a file only in the running release and one only in the fixed release, in the same
 * directory, whose names differ only in a hash-like part (`stem-HASH.ext`, same stem and
 * extension), with nearly the same lines once the chunks paired so far are renamed; each must be
 * the other's unique best match. Rounds repeat while new pairs appear (a small chunk that only
 * re-exports a renamed one matches once that one is paired).
 */

/** `dep-C6pp_iVS.js` → { stem: 'dep-', ext: '.js' } (the rest is the hash). */
function splitHashed(base: string): { stem: string; ext: string } | null {
  const m = /^(.*?[-.])([A-Za-z0-9_-]{6,16})(\.[cm]?js)$/.exec(base);
  if (!m) return null;
  // A content hash is not a lowercase word (`helpers`, `runtime`); it may be all capitals (`DMXKBGET`).
  return /^[a-z]+$/.test(m[2]!) ? null : { stem: m[1]!, ext: m[3]! };
}

/** How alike two texts are by their lines (shared / all, as multisets). */
function lineSimilarity(x: string, y: string): number {
  const xs = x.split('\n');
  const ys = y.split('\n');
  const shared = sharedCount(xs, ys);
  return shared / (xs.length + ys.length - shared);
}

const SIMILAR = 0.8;

/** Renamed chunks: fixed-release path → running path. */
export function hashedChunkRenames(
  fromDir: string,
  toDir: string,
  filesA: Set<string>,
  filesB: Set<string>,
): Map<string, string> {
  const onlyA = [...filesA].filter((f) => !filesB.has(f) && isCode(f));
  const onlyB = [...filesB].filter((f) => !filesA.has(f) && isCode(f));
  const key = (f: string) => {
    const h = splitHashed(posix.basename(f));
    return h ? `${posix.dirname(f)}/${h.stem}*${h.ext}` : null;
  };
  const groups = new Map<string, { a: string[]; b: string[] }>();
  for (const [side, list] of [
    ['a', onlyA],
    ['b', onlyB],
  ] as const)
    for (const f of list) {
      const k = key(f);
      if (k === null) continue;
      const g = groups.get(k) ?? { a: [], b: [] };
      g[side].push(f);
      groups.set(k, g);
    }
  const textA = new Map<string, string>();
  const textB = new Map<string, string>();
  for (const g of groups.values()) {
    if (g.a.length === 0 || g.b.length === 0) continue;
    for (const f of g.a) textA.set(f, readFileSync(join(fromDir, f), 'utf8'));
    for (const f of g.b) textB.set(f, readFileSync(join(toDir, f), 'utf8'));
  }
  const renames = new Map<string, string>();
  for (let round = 0; round < 8; round++) {
    const found = pairRound(groups, textA, textB, renames);
    if (found === 0) break;
  }
  return renames;
}

/** One round of pairing with the renames so far applied to the fixed texts; returns how many pairs it added. */
function pairRound(
  groups: Map<string, { a: string[]; b: string[] }>,
  textA: Map<string, string>,
  textB: Map<string, string>,
  renames: Map<string, string>,
): number {
  const pairedA = new Set(renames.values());
  let added = 0;
  for (const g of groups.values()) {
    const as = g.a.filter((f) => !pairedA.has(f));
    const bs = g.b.filter((f) => !renames.has(f));
    if (as.length === 0 || bs.length === 0) continue;
    const score = new Map<string, number>();
    for (const b of bs) {
      const tb = withRunningNames(textB.get(b)!, renames);
      for (const a of as) score.set(`${a}\u0000${b}`, lineSimilarity(textA.get(a)!, tb));
    }
    const best = (list: string[], s: (x: string) => number) => {
      const sorted = [...list].sort((x, y) => s(y) - s(x));
      const [first, second] = sorted;
      return first !== undefined && s(first) >= SIMILAR && (second === undefined || s(second) < s(first))
        ? first
        : null;
    };
    for (const b of bs) {
      const a = best(as, (x) => score.get(`${x}\u0000${b}`)!);
      if (a === null || renames.has(b) || pairedA.has(a)) continue;
      if (best(bs, (y) => score.get(`${a}\u0000${y}`)!) !== b) continue;
      renames.set(b, a);
      pairedA.add(a);
      added++;
    }
  }
  return added;
}

/** `text` with every renamed chunk's file name replaced by its running one. */
export function withRunningNames(text: string, renames: Map<string, string>): string {
  let out = text;
  for (const [b, a] of renames) {
    const from = posix.basename(b);
    if (out.includes(from)) out = out.split(from).join(posix.basename(a));
  }
  return out;
}

/**
 * A copy of the fixed release as if the bundler had kept the running chunk names (renamed chunks
 * at their running paths, mentions of their new names replaced), in a temporary directory the
 * caller removes.
 */
export function withRunningChunkNames(
  toDir: string,
  filesB: Set<string>,
  renames: Map<string, string>,
): { dir: string; remove: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'hotpatch-chunks-'));
  const dir = join(root, 'package');
  cpSync(toDir, dir, { recursive: true });
  for (const file of filesB) {
    if (!isCode(file)) continue;
    const text = readFileSync(join(toDir, file), 'utf8');
    const normalized = withRunningNames(text, renames);
    const running = renames.get(file);
    if (running) {
      // Same directory (pairs are made within one): the chunk takes its running name.
      rmSync(join(dir, file));
      writeFileSync(join(dir, running), normalized);
    } else if (normalized !== text) writeFileSync(join(dir, file), normalized);
  }
  return { dir, remove: () => rmSync(root, { recursive: true, force: true }) };
}

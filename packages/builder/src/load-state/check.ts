import { readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SourceType } from '@hotpatch/instrument';
import { compareLoads, IDENTITY } from './graph.js';
import { filePairing } from './pairing.js';
import { loadState } from './runner.js';
import { type LoadStateDecision, loadStateDecision } from './verdict.js';

/** One file of two releases, to be loaded from each. */
export interface LoadStateInput {
  oldDir: string;
  newDir: string;
  /** Path inside both releases. */
  file: string;
  sourceType: SourceType;
  oldSource: string;
  newSource: string;
  oldVersion: string;
  newVersion: string;
}

/**
 * Loads the file from the running release twice and from the fixed one once, each in a fresh
 * child process (runner.ts), and compares what they built (graph.ts) under the builder's
 * pairing of functions (pairing.ts).
 */
export function checkLoadState(input: LoadStateInput): LoadStateDecision {
  const [oldAbove, newAbove] = distinctAncestors(input.oldDir, input.newDir);
  const load = (dir: string, above: string) =>
    loadState({
      file: join(dir, input.file),
      dir,
      above,
      readable: [dir],
      sourceType: input.sourceType === 'module' ? 'module' : 'commonjs',
    });
  const old1 = load(input.oldDir, oldAbove);
  const old2 = old1.ok ? load(input.oldDir, oldAbove) : null;
  const repeat = old1.ok && old2?.ok ? compareLoads(old1, old2, IDENTITY) : null;
  const fixed = repeat?.equal ? load(input.newDir, newAbove) : null;
  let compared = null;
  if (old1.ok && fixed?.ok) {
    const pairing = filePairing({
      url: urlOf(input.file),
      sourceType: input.sourceType,
      oldSource: input.oldSource,
      newSource: input.newSource,
      oldVersion: input.oldVersion,
      newVersion: input.newVersion,
      unchangedFile: (u) => sameFile(u, input.oldDir, input.newDir),
    });
    compared = compareLoads(old1, fixed, pairing);
  }
  return loadStateDecision({ old1, old2, fixed, compared, repeat });
}

/** A file of the release as the loads name it. */
function urlOf(file: string): string {
  return `file://<pkg>${pathToFileURL(join('/', file)).pathname}`;
}

/** Whether a file both loads reached (its URL with `<pkg>`) has the same bytes in both releases. */
function sameFile(url: string, oldDir: string, newDir: string): boolean {
  const rest = url.startsWith('file://<pkg>/') ? decodeURIComponent(url.slice('file://<pkg>/'.length)) : null;
  if (rest === null) return false;
  try {
    return readFileSync(join(oldDir, rest)).equals(readFileSync(join(newDir, rest)));
  } catch {
    return false;
  }
}

/**
 * The first ancestors of the two releases' directories that differ (`…/moment@2.29.1` for
 * `…/moment@2.29.1/package`): node_modules directories under them are where a dependency of
 * either would be found, and compare equal as `<up>/…`.
 */
export function distinctAncestors(a: string, b: string): [string, string] {
  const pa = a.split(sep);
  const pb = b.split(sep);
  let i = 0;
  while (i < pa.length && i < pb.length && pa[i] === pb[i]) i++;
  return [pa.slice(0, i + 1).join(sep), pb.slice(0, i + 1).join(sep)];
}

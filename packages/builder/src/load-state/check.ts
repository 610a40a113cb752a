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
  const [oldPrefix, newPrefix] = distinctPrefixes(input.oldDir, input.newDir);
  const load = (dir: string, prefix: string) =>
    loadState({
      file: join(dir, input.file),
      prefix,
      readable: [dir],
      sourceType: input.sourceType === 'module' ? 'module' : 'commonjs',
    });
  const old1 = load(input.oldDir, oldPrefix);
  const old2 = old1.ok ? load(input.oldDir, oldPrefix) : null;
  const repeat = old1.ok && old2?.ok ? compareLoads(old1, old2, IDENTITY) : null;
  const fixed = repeat?.equal ? load(input.newDir, newPrefix) : null;
  let compared = null;
  if (old1.ok && fixed?.ok) {
    const url = (dir: string, prefix: string) =>
      pathToFileURL(join(dir, input.file)).href.replace(pathToFileURL(prefix).href, 'file://<pkg>');
    const target = url(input.oldDir, oldPrefix);
    const pairing = filePairing({
      url: target,
      sourceType: input.sourceType,
      oldSource: input.oldSource,
      newSource: input.newSource,
      oldVersion: input.oldVersion,
      newVersion: input.newVersion,
      unchangedFile: (u) => sameFile(u, oldPrefix, newPrefix),
    });
    compared = compareLoads(old1, fixed, pairing);
  }
  return loadStateDecision({ old1, old2, fixed, compared, repeat });
}

/** Whether a file both loads reached (its URL with `<pkg>`) has the same bytes in both releases. */
function sameFile(url: string, oldPrefix: string, newPrefix: string): boolean {
  const rest = url.startsWith('file://<pkg>/') ? decodeURIComponent(url.slice('file://<pkg>/'.length)) : null;
  if (rest === null) return false;
  try {
    return readFileSync(join(oldPrefix, rest)).equals(readFileSync(join(newPrefix, rest)));
  } catch {
    return false;
  }
}

/**
 * The ancestors of the two releases' directories just below the one they share
 * (`…/moment@2.29.1`, `…/moment@2.29.2`): written `<pkg>` in both loads' strings, so that paths
 * under them compare equal.
 */
export function distinctPrefixes(a: string, b: string): [string, string] {
  const pa = a.split(sep);
  const pb = b.split(sep);
  let i = 0;
  while (i < pa.length && i < pb.length && pa[i] === pb[i]) i++;
  if (i === pa.length || i === pb.length) return [a, b];
  return [pa.slice(0, i + 1).join(sep), pb.slice(0, i + 1).join(sep)];
}

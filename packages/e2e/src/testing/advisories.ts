import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { type BuildResult, buildPatch, resolveSpec } from '@hotpatch/builder';
import { type KeyPairPem, loadPrivateKey, serializeBundle, signBundle } from '@hotpatch/core';
import { repoRoot } from './nodes.js';

const requireCjs = createRequire(import.meta.url);

export interface Advisory {
  name: string;
  vulnerable: string;
  fixed: string;
  advisory: string;
  kind: string;
  /** How the package is published: cjs, esm (ES modules only) or dual. */
  format: string;
  /** What produced the published code: source, tsc, babel, esbuild, rollup, webpack, umd, ... */
  build: string;
  /** Where the fix is (changed method, nested closure, new file, new module state, ...). */
  shape: string;
  /** seed: the first 19 pairs, tuned on; new: added later (see corpusSet). */
  origin: string;
}

/** corpus/advisories.tsv: real npm security fixes, vulnerable and first fixed release. */
export function readAdvisories(): Advisory[] {
  return parseAdvisories(readFileSync(join(repoRoot, 'corpus', 'advisories.tsv'), 'utf8'));
}

export function parseAdvisories(text: string): Advisory[] {
  const [head, ...lines] = text.trim().split('\n');
  const columns = head!.split('\t');
  return lines.map((line) => {
    const cells = line.split('\t');
    const get = (c: string) => cells[columns.indexOf(c)] ?? '';
    return {
      name: get('package'),
      vulnerable: get('vulnerable'),
      fixed: get('fixed'),
      advisory: get('advisory'),
      kind: get('kind'),
      format: get('format'),
      build: get('build'),
      shape: get('shape'),
      origin: get('origin'),
    };
  });
}

/**
 * Which part of the corpus a pair belongs to: `seed` (the 19 pairs the builder was developed on),
 * `holdout` (about a quarter of the rest, set aside by a hash of the pair's label, so the choice
 * was made before any result was seen and cannot drift) or `tune`.
 */
export function corpusSet(a: Advisory): 'seed' | 'tune' | 'holdout' | 'releases' {
  if (a.origin === 'seed') return 'seed';
  // Consecutive releases of a package, not a security fix (testing/releases.ts): outside the corpus.
  if (a.origin === 'releases') return 'releases';
  const h = createHash('sha256')
    .update(`hotpatch-holdout-v1\0${label(a)}`)
    .digest();
  return h[0]! < 64 ? 'holdout' : 'tune';
}

export const label = (a: Advisory) => `${a.name}@${a.vulnerable}`;

/** Our exploit check for an advisory (corpus/exploits/NAME@VULNERABLE.cjs, `@scope+name@...` when scoped). */
export function checkFile(a: Advisory): string {
  return join(repoRoot, 'corpus', 'exploits', `${label(a).replace('/', '+')}.cjs`);
}

export function cacheDir(...parts: string[]): string {
  const dir = join(repoRoot, '.cache', ...parts);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Installs NAME@VERSION (with its dependencies, from the npm registry) into a cached app dir. */
export function installApp(name: string, version: string): string {
  const dir = cacheDir('apps', `${name.replace('/', '+')}@${version}`);
  const marker = join(dir, 'node_modules', name, 'package.json');
  if (
    existsSync(marker) &&
    (JSON.parse(readFileSync(marker, 'utf8')) as { version: string }).version === version
  )
    return dir;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'hotpatch-probe-app', private: true }));
  execFileSync(
    'npm',
    ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', `${name}@${version}`],
    {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  return dir;
}

export interface SignedBuild {
  bytes: Buffer;
  result: BuildResult;
}

export async function buildSigned(
  a: Advisory,
  key: KeyPairPem,
  selection: { only?: string[]; exclude?: string[] } = {},
): Promise<SignedBuild> {
  process.env.HOTPATCH_CACHE ??= cacheDir('builder');
  const from = await resolveSpec(`npm:${a.name}@${a.vulnerable}`);
  const to = await resolveSpec(`npm:${a.name}@${a.fixed}`);
  const result = buildPatch({
    from,
    to,
    advisories: [a.advisory],
    severity: 'high',
    ...(selection.only ? { only: selection.only } : {}),
    ...(selection.exclude ? { exclude: selection.exclude } : {}),
  });
  if (!result.payload) return { bytes: Buffer.alloc(0), result };
  return {
    bytes: Buffer.from(serializeBundle(signBundle(result.payload, loadPrivateKey(key.privateKeyPem)))),
    result,
  };
}

export interface Selection {
  only?: string[];
  exclude?: string[];
  why: string;
}

/** corpus/selections.json: --only/--exclude a person chose for an advisory, with the reason. */
export function readSelections(): Record<string, Selection> {
  return JSON.parse(readFileSync(join(repoRoot, 'corpus', 'selections.json'), 'utf8')) as Record<
    string,
    Selection
  >;
}

export interface PreparedCase {
  advisory: Advisory;
  build: SignedBuild;
  /** The vulnerable version installed with its dependencies. */
  dir: string;
  /** The release the hotpatch is built against, installed too (a control for the check). */
  fixed: string;
  fixedDir: string;
  check: string;
  /** The check says the advisory's fixed version is incomplete and names the real fix. */
  realFix?: string;
  selection?: Selection;
}

/** Builds the signed hotpatch for an advisory the way the coverage benchmark and tests do. */
export async function prepareCase(
  a: Advisory,
  key: KeyPairPem,
  selections = readSelections(),
): Promise<PreparedCase> {
  const check = checkFile(a);
  const realFix = existsSync(check) ? (requireCjs(check) as { realFix?: string }).realFix : undefined;
  const fixed = realFix ?? a.fixed;
  const selection = selections[label(a)];
  const build = await buildSigned({ ...a, fixed }, key, selection);
  return {
    advisory: a,
    build,
    dir: installApp(a.name, a.vulnerable),
    fixed,
    fixedDir: installApp(a.name, fixed),
    check,
    ...(realFix ? { realFix } : {}),
    ...(selection ? { selection } : {}),
  };
}

/** One pair of the corpus by its label (`name@vulnerable`). */
export function advisoryOf(which: string): Advisory {
  const a = readAdvisories().find((x) => label(x) === which);
  if (!a) throw new Error(`no pair ${which} in corpus/advisories.tsv`);
  return a;
}

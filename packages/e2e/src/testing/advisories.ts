import { execFileSync } from 'node:child_process';
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
}

/** ../shared/corpus/advisories.tsv: real npm security fixes (the checkout's sibling folder). */
export function readAdvisories(): Advisory[] {
  const file = join(repoRoot, '..', 'shared', 'corpus', 'advisories.tsv');
  const lines = readFileSync(file, 'utf8').trim().split('\n').slice(1);
  return lines.map((l) => {
    const [name, vulnerable, fixed, advisory, kind] = l.split('\t') as [
      string,
      string,
      string,
      string,
      string,
    ];
    return { name, vulnerable, fixed, advisory, kind };
  });
}

export const label = (a: Advisory) => `${a.name}@${a.vulnerable}`;

/** Our exploit check for an advisory (corpus/exploits/NAME@VULNERABLE.cjs). */
export function checkFile(a: Advisory): string {
  return join(repoRoot, 'corpus', 'exploits', `${label(a)}.cjs`);
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

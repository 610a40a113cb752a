import { execFileSync } from 'node:child_process';
import semver from 'semver';
import type { Advisory } from './advisories.js';

/**
 * Consecutive releases of a package as pairs the oracle can run (issue 9 item 2: "for consecutive
 * releases of widely used packages generally"): not security fixes, so no advisory and no exploit
 * check; the oracle's generated calls are the only judge. `origin: 'releases'` keeps them out of
 * the corpus's parts.
 */
export function consecutivePairs(name: string, versions: readonly string[], last: number): Advisory[] {
  const stable = versions
    .filter((v) => semver.valid(v) !== null && semver.prerelease(v) === null)
    .sort(semver.compare)
    .slice(-(last + 1));
  return stable.slice(1).map((fixed, i) => ({
    name,
    vulnerable: stable[i]!,
    fixed,
    advisory: 'release',
    kind: 'consecutive release',
    format: 'cjs', // read from the installed release before the run (publishedFormat)
    build: '?',
    shape: '?',
    origin: 'releases',
  }));
}

/** Every version of a package the registry lists. */
export function registryVersions(name: string): string[] {
  const out = execFileSync('npm', ['view', name, 'versions', '--json'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const v = JSON.parse(out) as string[] | string;
  return Array.isArray(v) ? v : [v];
}

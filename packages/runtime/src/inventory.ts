import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import type { ModuleRecord } from './engines/types.js';

export interface PackageInfo {
  name: string;
  version: string;
  root: string;
}

const cache = new Map<string, PackageInfo | null>();

/** The package a file belongs to: the nearest package.json with a name, upward from the file. */
export function packageOf(filename: string): PackageInfo | null {
  let dir = dirname(filename);
  const seen: string[] = [];
  let found: PackageInfo | null = null;
  while (true) {
    const hit = cache.get(dir);
    if (hit !== undefined) {
      found = hit;
      break;
    }
    seen.push(dir);
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        const json = JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string; version?: string };
        if (json.name) {
          found = { name: json.name, version: json.version ?? 'unversioned', root: dir };
          break;
        }
      } catch {
        // unreadable package.json: keep looking upward
      }
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  for (const d of seen) cache.set(d, found);
  return found;
}

export function relativeTo(root: string, filename: string): string {
  return relative(root, filename).split(sep).join('/');
}

/**
 * A module's record, its package looked up when first asked for (a patch for the package, a
 * status): most modules of a service are never patched, and a start need not read their
 * package.json files.
 */
export function newRecord(
  id: string,
  filename: string,
  sha256: string,
  sourceType: ModuleRecord['sourceType'],
): ModuleRecord {
  let pkg: { name: string; version: string; relPath: string } | null | undefined;
  const info = () => {
    if (pkg === undefined) {
      const found = packageOf(filename);
      pkg = found && { name: found.name, version: found.version, relPath: relativeTo(found.root, filename) };
    }
    return pkg;
  };
  return {
    id,
    filename,
    sourceType,
    sha256,
    get pkgName() {
      return info()?.name ?? null;
    },
    get pkgVersion() {
      return info()?.version ?? null;
    },
    get relPath() {
      return info()?.relPath ?? null;
    },
    patchId: null,
  };
}

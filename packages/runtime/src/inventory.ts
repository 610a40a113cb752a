import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import type { ModuleRecord } from './engines/types.js';

export interface PackageInfo {
  name: string;
  version: string;
  root: string;
}

const cache = new Map<string, PackageInfo | null>();

/**
 * The package a file belongs to. Under node_modules, the installed package (`node_modules/NAME`
 * or `node_modules/@scope/NAME`), as npm installed it and as the builder sees its tarball: a
 * package.json deeper inside (terser's `dist/package.json`, named "dist", only sets the module
 * type) does not make another package. Elsewhere, the nearest package.json with a name.
 */
export function packageOf(filename: string): PackageInfo | null {
  const installed = installedRoot(filename);
  if (installed) {
    const hit = cache.get(installed);
    if (hit !== undefined) return hit;
    const info = readPackage(installed);
    if (info) {
      cache.set(installed, info);
      return info;
    }
  }
  return nearestNamed(filename);
}

/** `…/node_modules/NAME` or `…/node_modules/@scope/NAME` holding the file, if any. */
function installedRoot(filename: string): string | null {
  const parts = filename.split(sep);
  const at = parts.lastIndexOf('node_modules');
  if (at === -1 || at + 2 >= parts.length) return null;
  const scoped = parts[at + 1]!.startsWith('@');
  if (scoped && at + 3 >= parts.length) return null;
  return parts.slice(0, at + (scoped ? 3 : 2)).join(sep);
}

function readPackage(dir: string): PackageInfo | null {
  const pkg = join(dir, 'package.json');
  if (!existsSync(pkg)) return null;
  try {
    const json = JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string; version?: string };
    return json.name ? { name: json.name, version: json.version ?? 'unversioned', root: dir } : null;
  } catch {
    return null; // unreadable package.json
  }
}

function nearestNamed(filename: string): PackageInfo | null {
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
    found = readPackage(dir);
    if (found) break;
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
 * package.json files. A class, not an object literal with getters: every module loading makes
 * one, and a literal with accessors is built on V8's slow path with four closures per record.
 */
class Record implements ModuleRecord {
  patchId: string | null = null;
  /** The package, once asked for (undefined: not looked up yet). */
  #pkg: { name: string; version: string; relPath: string } | null | undefined = undefined;

  constructor(
    readonly id: string,
    readonly filename: string,
    readonly sha256: string,
    readonly sourceType: ModuleRecord['sourceType'],
  ) {}

  get pkgName(): string | null {
    return this.#info()?.name ?? null;
  }

  get pkgVersion(): string | null {
    return this.#info()?.version ?? null;
  }

  get relPath(): string | null {
    return this.#info()?.relPath ?? null;
  }

  #info(): { name: string; version: string; relPath: string } | null {
    if (this.#pkg === undefined) {
      const found = packageOf(this.filename);
      this.#pkg = found && {
        name: found.name,
        version: found.version,
        relPath: relativeTo(found.root, this.filename),
      };
    }
    return this.#pkg;
  }
}

export function newRecord(
  id: string,
  filename: string,
  sha256: string,
  sourceType: ModuleRecord['sourceType'],
): ModuleRecord {
  return new Record(id, filename, sha256, sourceType);
}

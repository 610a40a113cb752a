import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

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

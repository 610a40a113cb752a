import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { detectSourceType, type SourceType } from '@hotpatch/instrument';

export const CODE_EXT = /\.(?:c|m)?js$/;
const NOT_CODE =
  /(?:\.d\.(?:c|m)?ts|\.map|\.md|\.markdown|\.txt|LICEN[CS]E[^/]*|CHANGELOG[^/]*|\.ya?ml|\.eslintrc[^/]*|\.npmignore|\.editorconfig)$/i;

/** All files under a directory, '/'-separated, without node_modules and VCS folders. */
export function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name === '.git') continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) out.push(relative(root, full).split(sep).join('/'));
    }
  };
  walk(root);
  return out.sort();
}

export function isCode(path: string): boolean {
  return CODE_EXT.test(path) && !/\.d\.(?:c|m)?ts$/.test(path);
}

export function isDocLike(path: string): boolean {
  return NOT_CODE.test(path) || /(^|\/)(test|tests|__tests__|docs?|example|examples|\.github)\//.test(path);
}

export function isMinified(path: string, source: string): boolean {
  if (/\.min\.(?:c|m)?js$/.test(path)) return true;
  const lines = source.split('\n');
  return source.length > 20_000 && source.length / lines.length > 500;
}

/**
 * CommonJS or ESM, the way Node decides: extension, then the nearest package.json "type". A .js
 * file with ESM syntax under a CommonJS package is a bundler build (the "module" field): ESM.
 */
export function sourceTypeOf(root: string, path: string, source?: string): SourceType {
  const byNode = nodeSourceType(root, path);
  if (byNode === 'commonjs' && source !== undefined && !path.endsWith('.cjs'))
    return detectSourceType(source);
  return byNode;
}

function nodeSourceType(root: string, path: string): SourceType {
  if (path.endsWith('.mjs')) return 'module';
  if (path.endsWith('.cjs')) return 'commonjs';
  let dir = dirname(join(root, path));
  while (dir.startsWith(root)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        const type = (JSON.parse(readFileSync(pkg, 'utf8')) as { type?: string }).type;
        return type === 'module' ? 'module' : 'commonjs';
      } catch {
        return 'commonjs';
      }
    }
    if (dir === root) break;
    dir = dirname(dir);
  }
  return 'commonjs';
}

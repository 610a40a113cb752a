import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { HotpatchError } from '@hotpatch/core';

const run = promisify(execFile);

/** A resolved version of the code to patch: a directory plus what it is. */
export interface ResolvedSpec {
  spec: string;
  dir: string;
  name: string;
  version: string;
  kind: 'npm' | 'app';
}

export function cacheRoot(): string {
  return process.env.HOTPATCH_CACHE || join(homedir(), '.cache', 'hotpatch');
}

const NPM_SPEC = /^npm:((?:@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*)@(.+)$/i;
const EXACT_VERSION = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

export async function resolveSpec(spec: string, onProgress?: (msg: string) => void): Promise<ResolvedSpec> {
  const npm = NPM_SPEC.exec(spec);
  if (npm) {
    const [, name, version] = npm as unknown as [string, string, string];
    if (!EXACT_VERSION.test(version)) {
      throw new HotpatchError(
        'E_SPEC',
        `${spec}: give an exact version (npm:NAME@1.2.3), not a range or tag`,
      );
    }
    const dir = await fetchNpm(name, version, onProgress);
    return { spec, dir, name, version, kind: 'npm' };
  }
  if (spec.startsWith('npm:')) throw new HotpatchError('E_SPEC', `${spec}: expected npm:NAME@VERSION`);
  const dir = resolve(spec);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    // `name@1.2.3` is how npm users write a release: point them at the spelling we take.
    const hint = NPM_SPEC.test(`npm:${spec}`) ? `; did you mean npm:${spec}?` : '';
    throw new HotpatchError(
      'E_SPEC',
      `${spec}: no such directory (a SPEC is a directory or npm:NAME@VERSION)${hint}`,
    );
  }
  const pkgFile = join(dir, 'package.json');
  let name = dir.split('/').pop() ?? 'app';
  let version = 'unversioned';
  if (existsSync(pkgFile)) {
    try {
      const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { name?: string; version?: string };
      name = pkg.name ?? name;
      version = pkg.version ?? version;
    } catch {
      throw new HotpatchError('E_SPEC', `${pkgFile}: not valid JSON`);
    }
  }
  return { spec, dir, name, version, kind: 'app' };
}

/** Fetches NAME@VERSION from the npm registry with npm itself, into a content cache. */
async function fetchNpm(name: string, version: string, onProgress?: (msg: string) => void): Promise<string> {
  const target = join(cacheRoot(), 'npm', `${name.replace('/', '+')}@${version}`);
  if (existsSync(join(target, 'package.json'))) return target;
  mkdirSync(join(cacheRoot(), 'npm'), { recursive: true });
  const tmp = mkdtempSync(join(cacheRoot(), 'npm', '.fetch-'));
  try {
    onProgress?.(`fetching ${name}@${version} from the npm registry`);
    let stdout: string;
    try {
      ({ stdout } = await run(
        'npm',
        ['pack', `${name}@${version}`, '--json', '--pack-destination', tmp, '--ignore-scripts'],
        {
          cwd: tmp,
          timeout: 120_000,
          maxBuffer: 16 << 20,
        },
      ));
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      const text = `${err.stderr ?? ''} ${err.message}`;
      if (/E404|404 Not Found|No matching version|ETARGET/i.test(text)) {
        throw new HotpatchError(
          'E_SPEC',
          `npm:${name}@${version}: no such package version in the npm registry`,
        );
      }
      const line = text.split('\n').find((l) => /ERR!|error/i.test(l)) ?? text.split('\n')[0] ?? '';
      throw new HotpatchError(
        'E_REGISTRY',
        `cannot fetch ${name}@${version} from the npm registry: ${line.trim()}`,
      );
    }
    const packed = JSON.parse(stdout) as Array<{ filename: string }>;
    const tgz = join(tmp, packed[0]!.filename.replace(/^@[^/]+\//, '').replace('/', '-'));
    const out = join(tmp, 'x');
    mkdirSync(out);
    await run('tar', [
      'xzf',
      existsSync(tgz) ? tgz : join(tmp, packed[0]!.filename),
      '-C',
      out,
      '--strip-components=1',
    ]);
    rmSync(target, { recursive: true, force: true });
    renameSync(out, target);
    return target;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

import { accessSync, chmodSync, constants, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** Where the runtime keeps state. Private to the user: directories are 0700, sockets 0600. */
export function hotpatchHome(): string {
  return process.env.HOTPATCH_HOME ?? join(homedir(), '.cache', 'hotpatch');
}

export function socketDir(): string {
  return join(hotpatchHome(), 'run');
}

export function socketPath(pid: number): string {
  return join(socketDir(), `${pid}.sock`);
}

/** Active patches of a service, re-applied when its processes (re)start. */
export function activeDir(service: string): string {
  return join(hotpatchHome(), 'active', encodeURIComponent(service));
}

export function ensurePrivateDir(dir: string): string {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw whyNotCreated(dir, e as NodeJS.ErrnoException);
  }
  chmodSync(dir, 0o700);
  return dir;
}

/**
 * A recursive mkdir on a read-only or unwritable parent reports ENOENT for the missing part;
 * the useful reason is why the nearest existing directory cannot be written.
 */
function whyNotCreated(dir: string, e: NodeJS.ErrnoException): NodeJS.ErrnoException {
  if (e.code !== 'ENOENT') return e;
  let up = dirname(dir);
  while (!existsSync(up) && dirname(up) !== up) up = dirname(up);
  try {
    accessSync(up, constants.W_OK);
  } catch (denied) {
    return denied as NodeJS.ErrnoException;
  }
  return e;
}

/** Left by `hotpatch run` beside the sockets: names the app's pid for its own. */
export function launcherFile(pid: number): string {
  return join(socketDir(), `${pid}.launcher`);
}

/**
 * The service a process belongs to: HOTPATCH_SERVICE, or else the `name` of the nearest
 * package.json above the main script (with the script's path inside the package when it is not
 * the package's main file: `api:scripts/worker.js`), or else the script's last two path parts.
 */
export function serviceName(env: NodeJS.ProcessEnv = process.env, main = process.argv[1]): string {
  if (env.HOTPATCH_SERVICE) return env.HOTPATCH_SERVICE;
  if (!main) return 'node';
  const script = resolve(main);
  const pkg = appPackage(script);
  if (!pkg) return legacyServiceName(main) ?? 'node';
  const rel = relative(pkg.root, script).split(sep).join('/');
  return isPackageMain(pkg.root, pkg.main, script) ? pkg.name : `${pkg.name}:${rel}`;
}

/** The name services had before package names were used: the main script's last two path parts. */
export function legacyServiceName(main = process.argv[1]): string | null {
  return main ? main.split('/').slice(-2).join('/') : null;
}

function appPackage(script: string): { name: string; main: string | undefined; root: string } | null {
  for (let dir = dirname(script); ; dir = dirname(dir)) {
    try {
      const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: unknown;
        main?: unknown;
      };
      if (typeof json.name === 'string' && json.name) {
        return { name: json.name, main: typeof json.main === 'string' ? json.main : undefined, root: dir };
      }
    } catch {
      // no package.json here, or one without a name: keep looking upward
    }
    if (dirname(dir) === dir) return null;
  }
}

function isPackageMain(root: string, main: string | undefined, script: string): boolean {
  const entry = resolve(root, main ?? 'index.js');
  return [entry, `${entry}.js`, `${entry}.cjs`, `${entry}.mjs`, join(entry, 'index.js')].includes(script);
}

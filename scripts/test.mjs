// Runs every compiled test (packages/*/dist/**/*.test.js) with node:test, one file at a time.
// Node 20's --test takes no globs, so the files are listed here. Usage: node scripts/test.mjs [filter...]
// (a filter keeps files whose path contains it). Exit status is node --test's.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const filters = process.argv.slice(2).filter((a) => !a.startsWith('--'));

function walk(dir, out) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) walk(full, out);
    else if (entry.isFile() && entry.name.endsWith('.test.js')) out.push(full);
  }
  return out;
}

const files = [];
for (const pkg of readdirSync(join(root, 'packages')).sort()) {
  const dist = join(root, 'packages', pkg, 'dist');
  if (existsSync(dist)) walk(dist, files);
}
const selected = files.sort().filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
if (selected.length === 0) {
  console.error(
    files.length ? 'no test file matches the filter' : 'no compiled tests found: run `npm run build` first',
  );
  process.exit(1);
}
console.error(
  `running ${selected.length} test file(s):\n  ${selected.map((f) => relative(root, f)).join('\n  ')}`,
);
const res = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...selected], {
  cwd: root,
  stdio: 'inherit',
});
if (res.error) {
  console.error(res.error.message);
  process.exit(1);
}
process.exit(res.status ?? 1);

/**
 * The order of a bundle's files. The runtime fills every file's slots, then runs each file's
 * migrations in bundle order; a migration that loads code (a new dependency, a new file) runs
 * that code at once, and it may read what another file's migrations add (semver 7.8.6: range.js
 * loads a new file at apply, which reads constants.js's new export WHITESPACE_CHARACTERS). So a
 * file comes after every patched file it may load, directly or through other files of the fixed
 * release; files in a cycle, and unrelated ones, keep their order.
 */
export function dependenciesFirst<T extends { path: string }>(
  items: readonly T[],
  imports: (file: string) => readonly string[],
): T[] {
  const reach = new Map(items.map((it) => [it.path, reachFrom(it.path, imports)]));
  const out: T[] = [];
  const placed = new Set<string>();
  const visiting = new Set<string>();
  const visit = (it: T) => {
    if (placed.has(it.path) || visiting.has(it.path)) return;
    visiting.add(it.path);
    for (const dep of items) {
      const mutual = reach.get(dep.path)!.has(it.path);
      if (dep !== it && reach.get(it.path)!.has(dep.path) && !mutual) visit(dep);
    }
    visiting.delete(it.path);
    placed.add(it.path);
    out.push(it);
  };
  for (const it of items) visit(it);
  return out;
}

/** Every file `file` may load, directly or through others. */
function reachFrom(file: string, imports: (file: string) => readonly string[]): Set<string> {
  const seen = new Set<string>();
  const queue = [...imports(file)];
  while (queue.length) {
    const f = queue.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    queue.push(...imports(f));
  }
  return seen;
}

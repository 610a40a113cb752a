/** How many items two lists share, counted as multisets (an item twice in each counts twice). */
export function sharedCount(xs: readonly string[], ys: readonly string[]): number {
  const count = new Map<string, number>();
  for (const x of xs) count.set(x, (count.get(x) ?? 0) + 1);
  let shared = 0;
  for (const y of ys) {
    const n = count.get(y) ?? 0;
    if (n > 0) {
      shared++;
      count.set(y, n - 1);
    }
  }
  return shared;
}

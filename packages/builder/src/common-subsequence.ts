/**
 * Index pairs `[i, j]` with `a[i] === b[j]` along a longest common subsequence of `a` and `b`, in
 * order, or null when the two differ by more than `maxEdits` insertions and deletions (the cost
 * grows with it: Myers' O((N+M)·D) algorithm, keeping one row of D per step to walk back).
 */
export function commonSubsequence(
  a: readonly string[],
  b: readonly string[],
  maxEdits: number,
): Array<[number, number]> | null {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf])
    suf++;
  const middle = myers(a, b, pre, a.length - pre - suf, b.length - pre - suf, maxEdits);
  if (!middle) return null;
  const out: Array<[number, number]> = [];
  for (let i = 0; i < pre; i++) out.push([i, i]);
  for (const [i, j] of middle) out.push([pre + i, pre + j]);
  for (let k = suf; k > 0; k--) out.push([a.length - k, b.length - k]);
  return out;
}

/** Myers' greedy LCS of a[from, from+n) and b[from, from+m); pairs relative to `from`. */
function myers(
  a: readonly string[],
  b: readonly string[],
  from: number,
  n: number,
  m: number,
  maxEdits: number,
): Array<[number, number]> | null {
  const limit = Math.min(n + m, maxEdits);
  const offset = limit + 1;
  const v = new Int32Array(2 * limit + 3);
  // trace[d] holds v[-d..d] after step d: where each diagonal's furthest path ended.
  const trace: Int32Array[] = [];
  for (let d = 0; d <= limit; d++) {
    for (let k = -d; k <= d; k += 2) {
      let x =
        k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!)
          ? v[offset + k + 1]!
          : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[from + x] === b[from + y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        trace.push(v.slice(offset - d, offset + d + 1));
        return walkBack(trace, n, m);
      }
    }
    trace.push(v.slice(offset - d, offset + d + 1));
  }
  return null;
}

function walkBack(trace: Int32Array[], n: number, m: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d > 0; d--) {
    const prev = trace[d - 1]!;
    const at = (k: number) => prev[k + d - 1]!;
    const k = x - y;
    const down = k === -d || (k !== d && at(k - 1) < at(k + 1)); // came from k+1: an insertion
    const prevK = down ? k + 1 : k - 1;
    const prevX = at(prevK);
    const snakeX = down ? prevX : prevX + 1;
    while (x > snakeX) {
      x--;
      y--;
      out.push([x, y]);
    }
    x = prevX;
    y = prevX - prevK;
  }
  while (x > 0 && y > 0) {
    x--;
    y--;
    out.push([x, y]);
  }
  return out.reverse();
}

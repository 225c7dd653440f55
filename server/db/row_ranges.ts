/**
 * Sets of rows of one row group as sorted, disjoint, non-adjacent half-open ranges, stored flat:
 * `[from0, to0, from1, to1, ...]`. Matcher evaluation narrows them, materialisation walks them.
 *
 * @module
 */

/** Flat `[from, to)` pairs, sorted, disjoint and non-adjacent. */
export type RowRanges = number[];

/** All rows `[0, n)`. */
export function allRows(n: number): RowRanges {
  return n > 0 ? [0, n] : [];
}

/** Number of rows in `r`. */
export function countRows(r: RowRanges): number {
  let n = 0;
  for (let i = 0; i < r.length; i += 2) n += r[i + 1] - r[i];
  return n;
}

/** Appends `[from, to)` to ranges built in ascending order, merging adjacent ranges. */
export function pushRange(out: RowRanges, from: number, to: number): void {
  if (to <= from) return;
  const n = out.length;
  if (n > 0 && out[n - 1] >= from) out[n - 1] = Math.max(out[n - 1], to);
  else out.push(from, to);
}

/** The rows in both `a` and `b`. */
export function intersectRows(a: RowRanges, b: RowRanges): RowRanges {
  const out: RowRanges = [];
  let i = 0, j = 0;
  while (i < a.length && j < b.length) {
    const from = Math.max(a[i], b[j]);
    const to = Math.min(a[i + 1], b[j + 1]);
    pushRange(out, from, to);
    if (a[i + 1] < b[j + 1]) i += 2;
    else j += 2;
  }
  return out;
}

/** The first `limit` rows of `r`. */
export function limitRows(r: RowRanges, limit: number): RowRanges {
  const out: RowRanges = [];
  let left = limit;
  for (let i = 0; i < r.length && left > 0; i += 2) {
    const take = Math.min(r[i + 1] - r[i], left);
    out.push(r[i], r[i] + take);
    left -= take;
  }
  return out;
}

/** Reports whether `r` has a row in `[from, to)`. */
export function overlapsRows(r: RowRanges, from: number, to: number): boolean {
  // Binary search for the first range ending after `from`.
  let lo = 0, hi = r.length / 2;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (r[mid * 2 + 1] <= from) lo = mid + 1;
    else hi = mid;
  }
  return lo < r.length / 2 && r[lo * 2] < to;
}

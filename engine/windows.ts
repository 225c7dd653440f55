/**
 * Sample window helpers over sorted timestamp arrays: window bounds by binary search, and the
 * boundary values of anchored and smoothed range selectors (picked or linearly interpolated).
 *
 * @module
 */

/**
 * The samples of an anchored or smoothed window `(mint, maxt]` from the samples `[fa, fb)`
 * around it: boundary points at `mint` and `maxt` (picked, or interpolated when smoothed)
 * around the samples strictly inside. `undefined` when no sample reaches into the window.
 */
export function extendFloats(
  ft: Float64Array,
  fv: Float64Array,
  fa: number,
  fb: number,
  mint: number,
  maxt: number,
  smoothed: boolean,
): [Float64Array, Float64Array] | undefined {
  let last = fb - 1;
  let first = Math.max(fa, searchAbove(ft, fa, last, mint) - 1);
  if (smoothed) last = searchAtLeast(ft, fa, last, maxt);
  if (ft[last] <= mint) return undefined;
  const left = pickLeft(ft, fv, first, mint, smoothed, false);
  const right = pickRight(ft, fv, fa, last, maxt, smoothed, false);
  if (ft[first] <= mint) first++;
  if (ft[last] >= maxt) last--;
  const count = Math.max(last - first + 1, 0);
  const t = new Float64Array(count + 2);
  const v = new Float64Array(count + 2);
  t[0] = mint;
  v[0] = left;
  t.set(ft.subarray(first, first + count), 1);
  v.set(fv.subarray(first, first + count), 1);
  t[count + 1] = maxt;
  v[count + 1] = right;
  return [t, v];
}

/** First index in `[a, b)` with `ft[i] > t`, else `b` (Go's `sort.Search`). */
export function searchAbove(ft: Float64Array, a: number, b: number, t: number): number {
  while (a < b && ft[a] <= t) a++;
  return a;
}

/** First index in `[a, b)` with `ft[i] >= t`, else `b`. */
export function searchAtLeast(ft: Float64Array, a: number, b: number, t: number): number {
  while (a < b && ft[a] < t) a++;
  return a;
}

/** Linear interpolation at `t` between samples `i` and `j`; counters restart from 0. */
export function interpolateAt(
  ft: Float64Array,
  fv: Float64Array,
  i: number,
  j: number,
  t: number,
  isCounter: boolean,
): number {
  let y1 = fv[i];
  const y2 = fv[j];
  if (isCounter && y2 < y1) y1 = 0;
  return y1 + (y2 - y1) * (t - ft[i]) / (ft[j] - ft[i]);
}

/** The value at the window start: the first sample's, or interpolated when smoothed. */
export function pickLeft(
  ft: Float64Array,
  fv: Float64Array,
  first: number,
  start: number,
  smoothed: boolean,
  isCounter: boolean,
): number {
  if (smoothed && ft[first] < start) {
    return interpolateAt(ft, fv, first, first + 1, start, isCounter);
  }
  return fv[first];
}

/** The value at the window end: the last sample's, or interpolated when smoothed. */
export function pickRight(
  ft: Float64Array,
  fv: Float64Array,
  fa: number,
  last: number,
  end: number,
  smoothed: boolean,
  isCounter: boolean,
): number {
  if (smoothed && last > fa && ft[last] > end) {
    return interpolateAt(ft, fv, last - 1, last, end, isCounter);
  }
  return fv[last];
}

/** Index of the first element > `t` in ascending `a` (so `(lo, hi]` windows are `[idx(lo), idx(hi))`). */
export function lowerIndex(a: Float64Array, t: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

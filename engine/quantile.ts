/**
 * Quantile estimation: φ-quantiles of plain values (the `quantile` aggregation,
 * `quantile_over_time`) and of classic histograms given as cumulative `le` buckets
 * (`histogram_quantile`, `histogram_fraction`), with Prometheus' rules for unsorted,
 * duplicated and non-monotonic buckets.
 *
 * @module
 */

/** Relative tolerance under which bucket count differences are treated as float noise. */
const SMALL_DELTA_TOLERANCE = 1e-12;

/**
 * Returns the φ-quantile of `values[0..n)` by linear interpolation between closest ranks.
 * Sorts that prefix in place. NaN for no values or φ = NaN; ±Inf for φ outside [0, 1].
 */
export function quantileOf(q: number, values: Float64Array, n: number): number {
  if (n === 0 || Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const v = values.subarray(0, n);
  sortNaNFirst(v);
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return v[lower] * (1 - weight) + v[upper] * weight;
}

/** Sorts ascending with NaNs first, the order Prometheus' value heap gives. */
export function sortNaNFirst(v: Float64Array): void {
  v.sort((a, b) => {
    const an = a !== a;
    const bn = b !== b;
    if (an || bn) return an === bn ? 0 : an ? -1 : 1;
    return a < b ? -1 : a > b ? 1 : 0;
  });
}

/** One cumulative bucket of a classic histogram. */
export interface Bucket {
  /** The `le` bound. */
  upperBound: number;
  /** Cumulative count of observations ≤ `upperBound`. */
  count: number;
}

/** Outcome of {@linkcode bucketQuantile}. */
export interface BucketQuantileResult {
  /** The estimated quantile. */
  value: number;
  /** True when decreasing bucket counts had to be raised. */
  forcedMonotonic: boolean;
}

function sortAndCoalesce(buckets: Bucket[]): Bucket[] {
  buckets.sort((a, b) => a.upperBound - b.upperBound);
  const out: Bucket[] = [];
  for (const b of buckets) {
    const last = out[out.length - 1];
    if (last !== undefined && last.upperBound === b.upperBound) last.count += b.count;
    else out.push({ upperBound: b.upperBound, count: b.count });
  }
  return out;
}

function almostEqual(a: number, b: number, epsilon: number): boolean {
  if (a === b) return true;
  const minNormal = 2.2250738585072014e-308;
  const diff = Math.abs(a - b);
  const sum = Math.abs(a) + Math.abs(b);
  if (a === 0 || b === 0 || sum < minNormal) return diff < epsilon * minNormal;
  return diff / Math.min(sum, Number.MAX_VALUE) < epsilon;
}

/**
 * Estimates the φ-quantile from cumulative buckets, interpolating linearly inside the bucket
 * that holds the rank. Needs a `+Inf` bucket; decreasing counts are raised to keep the
 * sequence monotonic (reported through `forcedMonotonic`).
 */
export function bucketQuantile(q: number, input: Bucket[]): BucketQuantileResult {
  const res = { value: NaN, forcedMonotonic: false };
  if (Number.isNaN(q)) return res;
  if (q < 0) return { value: -Infinity, forcedMonotonic: false };
  if (q > 1) return { value: Infinity, forcedMonotonic: false };
  const buckets = sortAndCoalesce(input);
  if (buckets[buckets.length - 1].upperBound !== Infinity) return res;
  let prev = buckets[0].count;
  for (let i = 1; i < buckets.length; i++) {
    const curr = buckets[i].count;
    if (curr === prev) continue;
    if (almostEqual(prev, curr, SMALL_DELTA_TOLERANCE)) {
      buckets[i].count = prev;
      continue;
    }
    if (curr < prev) {
      buckets[i].count = prev;
      res.forcedMonotonic = true;
      continue;
    }
    prev = curr;
  }
  if (buckets.length < 2) return res;
  const observations = buckets[buckets.length - 1].count;
  if (observations === 0) return res;
  let rank = q * observations;
  // First bucket (excluding +Inf) whose count reaches the rank.
  let b = 0;
  while (b < buckets.length - 1 && !(buckets[b].count >= rank)) b++;
  if (b === buckets.length - 1) {
    res.value = buckets[buckets.length - 2].upperBound;
  } else if (b === 0 && buckets[0].upperBound <= 0) {
    res.value = buckets[0].upperBound;
  } else {
    let bucketStart = 0;
    const bucketEnd = buckets[b].upperBound;
    let count = buckets[b].count;
    if (b > 0) {
      bucketStart = buckets[b - 1].upperBound;
      count -= buckets[b - 1].count;
      rank -= buckets[b - 1].count;
    }
    res.value = bucketStart + (bucketEnd - bucketStart) * (rank / count);
  }
  return res;
}

/**
 * Estimates the fraction of observations between `lower` and `upper` from cumulative buckets,
 * interpolating linearly inside buckets (no interpolation in infinite-width buckets).
 */
export function bucketFraction(lower: number, upper: number, input: Bucket[]): number {
  const buckets = sortAndCoalesce(input);
  if (buckets[buckets.length - 1].upperBound !== Infinity) return NaN;
  const count = buckets[buckets.length - 1].count;
  if (count === 0 || Number.isNaN(lower) || Number.isNaN(upper)) return NaN;
  if (lower >= upper) return 0;
  let rank = 0;
  let lowerRank = 0;
  let upperRank = 0;
  let lowerSet = false;
  let upperSet = false;
  let lowerBound = buckets[0].upperBound <= 0 ? -Infinity : 0;
  for (let i = 0; i < buckets.length; i++) {
    const b = buckets[i];
    if (i > 0) lowerBound = buckets[i - 1].upperBound;
    const upperBound = b.upperBound;
    const interpolate = (v: number) =>
      lowerBound === -Infinity
        ? b.count
        : rank + (b.count - rank) * (v - lowerBound) / (upperBound - lowerBound);
    if (!lowerSet && lowerBound >= lower) {
      lowerRank = rank;
      lowerSet = true;
    }
    if (!upperSet && lowerBound >= upper) {
      upperRank = rank;
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    if (!lowerSet && lowerBound < lower && upperBound > lower) {
      lowerRank = interpolate(lower);
      lowerSet = true;
    }
    if (!upperSet && lowerBound < upper && upperBound > upper) {
      upperRank = interpolate(upper);
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    rank = b.count;
  }
  if (!lowerSet || lowerRank > count) lowerRank = count;
  if (!upperSet || upperRank > count) upperRank = count;
  return (upperRank - lowerRank) / count;
}

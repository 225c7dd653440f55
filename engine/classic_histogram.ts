/**
 * `histogram_quantile` and `histogram_fraction` over classic histograms: cumulative `le` bucket
 * series, interpolated linearly (Prometheus' `BucketQuantile` and `BucketFraction`).
 *
 * @module
 */
import { almostEqual } from "./almost.ts";

/** One classic bucket: its upper bound (`le`) and cumulative count. */
export interface ClassicBucket {
  /** The `le` bound. */
  upperBound: number;
  /** Observations at or below the bound. */
  count: number;
}

/** Relative differences below this between neighbouring buckets are float noise. */
export const SMALL_DELTA_TOLERANCE = 1e-12;

/** The quantile and what the caller may have to annotate. */
export interface ClassicQuantileResult {
  /** The estimated quantile. */
  value: number;
  /** Some bucket counted less than a lower one and was raised (Prometheus adds an info). */
  forcedMonotonic: boolean;
  /** Counts differing only by float noise were made equal. */
  fixedPrecision: boolean;
  /** Lowest bound whose count was raised (when `forcedMonotonic`). */
  minBucket: number;
  /** Highest bound whose count was raised (when `forcedMonotonic`). */
  maxBucket: number;
  /** Largest decrease that was removed. */
  maxDiff: number;
}

// Buckets sorted by bound, with buckets of equal bound merged.
function sortedCoalesced(buckets: readonly ClassicBucket[]): ClassicBucket[] {
  const sorted = buckets.map((b) => ({ ...b })).sort((a, b) => a.upperBound - b.upperBound);
  const out: ClassicBucket[] = [];
  for (const b of sorted) {
    const last = out[out.length - 1];
    if (last && last.upperBound === b.upperBound) last.count += b.count;
    else out.push(b);
  }
  return out;
}

/**
 * `histogram_quantile(q, …)` over classic buckets. Counts are first made monotonic (float noise
 * ignored, decreases removed). The result interpolates linearly in the bucket holding rank
 * `q × total`, assuming the lowest bucket starts at 0 unless its bound is not positive (then
 * that bound is the answer); in the `+Inf` bucket the answer is the highest finite bound.
 * NaN for NaN `q`, no `+Inf` bucket, fewer than two buckets, or no observations.
 */
export function classicBucketQuantile(
  q: number,
  input: readonly ClassicBucket[],
): ClassicQuantileResult {
  const res: ClassicQuantileResult = {
    value: NaN,
    forcedMonotonic: false,
    fixedPrecision: false,
    minBucket: Infinity,
    maxBucket: -Infinity,
    maxDiff: 0,
  };
  if (Number.isNaN(q)) return res;
  if (q < 0) return { ...res, value: -Infinity };
  if (q > 1) return { ...res, value: Infinity };
  if (input.length === 0) return res;
  const buckets = sortedCoalesced(input);
  if (buckets[buckets.length - 1].upperBound !== Infinity) return res;
  ensureMonotonic(buckets, res);
  if (buckets.length < 2) return res;
  const observations = buckets[buckets.length - 1].count;
  if (observations === 0) return res;
  let rank = q * observations;
  let b = 0;
  while (b < buckets.length - 1 && buckets[b].count < rank) b++;
  if (b === buckets.length - 1) {
    res.value = buckets[buckets.length - 2].upperBound;
  } else if (b === 0 && buckets[0].upperBound <= 0) {
    res.value = buckets[0].upperBound;
  } else {
    let start = 0;
    let count = buckets[b].count;
    if (b > 0) {
      start = buckets[b - 1].upperBound;
      count -= buckets[b - 1].count;
      rank -= buckets[b - 1].count;
    }
    res.value = start + (buckets[b].upperBound - start) * (rank / count);
  }
  return res;
}

// Raises every count to at least the previous one; near-equal counts become equal.
function ensureMonotonic(buckets: ClassicBucket[], res: ClassicQuantileResult): void {
  let prev = buckets[0].count;
  for (let i = 1; i < buckets.length; i++) {
    const curr = buckets[i].count;
    if (curr === prev) continue;
    if (almostEqual(prev, curr, SMALL_DELTA_TOLERANCE)) {
      buckets[i].count = prev;
      res.fixedPrecision = true;
      continue;
    }
    if (curr < prev) {
      buckets[i].count = prev;
      res.forcedMonotonic = true;
      res.minBucket = Math.min(res.minBucket, buckets[i].upperBound);
      res.maxBucket = Math.max(res.maxBucket, buckets[i].upperBound);
      res.maxDiff = Math.max(res.maxDiff, prev - curr);
      continue;
    }
    prev = curr;
  }
}

/**
 * `histogram_fraction(lower, upper, …)` over classic buckets: the share of observations between
 * the bounds, interpolating linearly (the lowest bucket starts at 0 when its bound is positive;
 * nothing is interpolated inside buckets reaching ±Inf). NaN without a `+Inf` bucket, without
 * observations or for NaN bounds; 0 when `lower >= upper`.
 */
export function classicBucketFraction(
  lower: number,
  upper: number,
  input: readonly ClassicBucket[],
): number {
  if (input.length === 0) return NaN;
  const buckets = sortedCoalesced(input);
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
    const interpolate = (v: number): number => {
      if (lowerBound === -Infinity) return b.count;
      return rank + (b.count - rank) * (v - lowerBound) / (upperBound - lowerBound);
    };
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

/**
 * Native histogram arithmetic with Prometheus' semantics (`model/histogram` FloatHistogram and
 * `promql/quantile.go`): bucket bounds and iteration, compaction, resolution reduction, addition
 * and subtraction (schema reconciliation, zero bucket widening, custom bucket bounds
 * intersection, counter reset hints), Kahan-compensated addition for aggregations, scaling,
 * equality, counter reset detection, trimming (`</`, `>/`), and the `histogram_*` functions.
 *
 * Every operation returns a new histogram and leaves its inputs untouched. Results are not
 * compacted unless stated; PromQL compacts after `+`, `-`, `*` and `/`.
 *
 * @module
 */
import type { BucketSpan, FloatHistogram } from "../model/histogram.ts";
import { CounterResetHint, CUSTOM_BUCKETS_SCHEMA } from "../model/histogram.ts";

/** Thrown when two histograms cannot be combined or a histogram is malformed. */
export class HistogramError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "HistogramError";
  }
}

/** Prometheus' message for adding a custom-bucket histogram to an exponential one. */
export const INCOMPATIBLE_SCHEMA_MESSAGE =
  "cannot apply this operation on histograms with a mix of exponential and custom bucket schemas";

/** The lowest valid exponential schema. */
export const MIN_EXPONENTIAL_SCHEMA = -4;
/** The highest valid exponential schema. */
export const MAX_EXPONENTIAL_SCHEMA = 8;

/** Reports whether the histogram uses custom bucket bounds (schema -53). */
export function usesCustomBuckets(h: FloatHistogram): boolean {
  return h.schema === CUSTOM_BUCKETS_SCHEMA;
}

/** Returns a deep copy of a histogram (custom bounds are shared: they are never mutated). */
export function copyHistogram(h: FloatHistogram): FloatHistogram {
  return {
    counterResetHint: h.counterResetHint,
    schema: h.schema,
    zeroThreshold: h.zeroThreshold,
    zeroCount: h.zeroCount,
    count: h.count,
    sum: h.sum,
    positiveSpans: h.positiveSpans.map((s) => ({ offset: s.offset, length: s.length })),
    negativeSpans: h.negativeSpans.map((s) => ({ offset: s.offset, length: s.length })),
    positiveBuckets: h.positiveBuckets.slice(),
    negativeBuckets: h.negativeBuckets.slice(),
    customValues: h.customValues,
  };
}

// A copy sharing spans and bucket arrays, for operations that replace rather than write them.
function shallowCopy(h: FloatHistogram): FloatHistogram {
  return { ...h };
}

// ---------------------------------------------------------------------------------------------
// Bucket bounds.

// f × 2^e for integer e, rounding once like Go's math.Ldexp: the scaling is split so that no
// intermediate power of two overflows or underflows.
function ldexp(f: number, e: number): number {
  if (e > 1023) return f * 2 ** (e - 1023) * 2 ** 1023;
  if (e < -1022) return f * 2 ** (e + 1022) * 2 ** -1022;
  return f * 2 ** e;
}

/**
 * The upper bound of exponential bucket `index` at `schema` (its absolute value on the negative
 * side): `2^(index / 2^schema)`. The last finite bucket ends at the largest float64, so that
 * observations of ±Inf have a bucket of their own.
 */
export function exponentialBound(index: number, schema: number): number {
  if (schema < 0) {
    const exp = index * 2 ** -schema;
    if (exp === 1024) return Number.MAX_VALUE;
    return ldexp(1, exp);
  }
  const perPowerOfTwo = 2 ** schema;
  const fracIdx = index - Math.floor(index / perPowerOfTwo) * perPowerOfTwo;
  const exp = Math.floor(index / perPowerOfTwo) + 1;
  if (fracIdx === 0 && exp === 1025) return Number.MAX_VALUE;
  // frac in [0.5, 1): the bound is frac × 2^exp.
  const frac = 2 ** (fracIdx / perPowerOfTwo - 1);
  return ldexp(frac, exp);
}

/**
 * The upper bound of bucket `index` of a histogram with `schema`: exponential bounds, or for
 * custom buckets `customValues[index]`, with `+Inf` one past the last bound and `-Inf` at -1.
 *
 * @throws {HistogramError} for a custom bucket index outside the bounds.
 */
export function bucketBound(
  index: number,
  schema: number,
  customValues: ArrayLike<number>,
): number {
  if (schema !== CUSTOM_BUCKETS_SCHEMA) return exponentialBound(index, schema);
  if (index === customValues.length) return Infinity;
  if (index === -1) return -Infinity;
  if (index < -1 || index > customValues.length) {
    throw new HistogramError(
      `index ${index} out of bounds for custom bounds of length ${customValues.length}`,
    );
  }
  return customValues[index];
}

// ---------------------------------------------------------------------------------------------
// Sparse bucket lists: bucket indices with their counts (and Kahan compensations), ascending.

interface Side {
  idx: number[];
  v: number[];
  /** Kahan compensation per bucket, when tracked. */
  c?: number[];
}

function sideOf(
  spans: readonly BucketSpan[],
  buckets: ArrayLike<number>,
  comp?: ArrayLike<number>,
): Side {
  const side: Side = { idx: [], v: [] };
  if (comp) side.c = [];
  let i = 0;
  let b = 0;
  for (const s of spans) {
    i += s.offset;
    for (let j = 0; j < s.length && b < buckets.length; j++, i++, b++) {
      side.idx.push(i);
      side.v.push(buckets[b]);
      side.c?.push(comp![b] ?? 0);
    }
  }
  return side;
}

// Walks the buckets of one side in index order without allocating.
class SpanCursor {
  spans: readonly BucketSpan[] = [];
  buckets: ArrayLike<number> = [];
  /** Index of the current bucket. */
  idx = 0;
  /** Position of the current bucket in `buckets`. */
  pos = -1;
  #span = 0;
  #left = 0;
  #nextIdx = 0;

  reset(spans: readonly BucketSpan[], buckets: ArrayLike<number>): this {
    this.spans = spans;
    this.buckets = buckets;
    this.pos = -1;
    this.#span = 0;
    this.#left = 0;
    this.#nextIdx = 0;
    return this;
  }

  next(): boolean {
    while (this.#left === 0) {
      if (this.#span >= this.spans.length) return false;
      const s = this.spans[this.#span++];
      this.#nextIdx += s.offset;
      this.#left = s.length;
    }
    this.idx = this.#nextIdx++;
    this.#left--;
    return ++this.pos < this.buckets.length;
  }

  get count(): number {
    return this.buckets[this.pos];
  }

  // Advances past the buckets whose upper bound is within `start` (exponential schemas only).
  skipWithin(schema: number, start: number, has: boolean): boolean {
    if (start === 0 || schema === CUSTOM_BUCKETS_SCHEMA) return has;
    while (has && exponentialBound(this.idx, schema) <= start) has = this.next();
    return has;
  }
}

// Spans covering exactly the side's buckets (consecutive indices share a span).
function spansOf(idx: readonly number[]): BucketSpan[] {
  const spans: BucketSpan[] = [];
  let next = 0;
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k];
    if (spans.length > 0 && i === next) spans[spans.length - 1].length++;
    else spans.push({ offset: spans.length === 0 ? i : i - next, length: 1 });
    next = i + 1;
  }
  return spans;
}

// The bucket index at a lower schema that contains bucket `idx` of `fromSchema`.
function targetIndex(idx: number, fromSchema: number, toSchema: number): number {
  return Math.floor((idx - 1) / 2 ** (fromSchema - toSchema)) + 1;
}

// Merges buckets into a lower schema, adding merged counts in index order (Kahan when tracked).
function reduceSide(side: Side, fromSchema: number, toSchema: number): Side {
  if (fromSchema === toSchema) return side;
  const out: Side = { idx: [], v: [] };
  if (side.c) out.c = [];
  for (let k = 0; k < side.idx.length; k++) {
    const t = targetIndex(side.idx[k], fromSchema, toSchema);
    const last = out.idx.length - 1;
    if (last >= 0 && out.idx[last] === t) {
      if (out.c) {
        kahanInto(out.v, out.c, last, side.v[k]);
        kahanInto(out.v, out.c, last, side.c![k]);
      } else {
        out.v[last] += side.v[k];
      }
    } else {
      out.idx.push(t);
      out.v.push(side.v[k]);
      out.c?.push(side.c![k]);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Kahan (Neumaier) summation, as Prometheus' kahansum.Inc.

/** A running Kahan sum: the sum and its compensation term. */
export interface KahanPair {
  /** The running sum. */
  sum: number;
  /** The compensation term; the best estimate of the total is `sum + c`. */
  c: number;
}

/** Adds `inc` to a Kahan sum in place (Neumaier's variant; an infinite sum resets `c`). */
export function kahanInc(acc: KahanPair, inc: number): void {
  const t = acc.sum + inc;
  if (t === Infinity || t === -Infinity) acc.c = 0;
  else if (Math.abs(acc.sum) >= Math.abs(inc)) acc.c += (acc.sum - t) + inc;
  else acc.c += (inc - t) + acc.sum;
  acc.sum = t;
}

const scratch: KahanPair = { sum: 0, c: 0 };

// Kahan-adds `inc` into v[k] with compensation c[k].
function kahanInto(v: number[], c: number[], k: number, inc: number): void {
  scratch.sum = v[k];
  scratch.c = c[k];
  kahanInc(scratch, inc);
  v[k] = scratch.sum;
  c[k] = scratch.c;
}

// ---------------------------------------------------------------------------------------------
// Compaction and resolution.

/**
 * Returns the histogram with empty buckets removed: buckets at the ends of spans always, and
 * runs of more than `maxEmptyBuckets` empty buckets inside; spans at most that far apart are
 * merged (filling the gap with empty buckets).
 */
export function compactHistogram(h: FloatHistogram, maxEmptyBuckets = 0): FloatHistogram {
  const out = copyHistogram(h);
  [out.positiveSpans, out.positiveBuckets] = compactSide(
    sideOf(h.positiveSpans, h.positiveBuckets),
    maxEmptyBuckets,
  );
  [out.negativeSpans, out.negativeBuckets] = compactSide(
    sideOf(h.negativeSpans, h.negativeBuckets),
    maxEmptyBuckets,
  );
  return out;
}

function compactSide(side: Side, maxEmpty: number): [BucketSpan[], Float64Array] {
  const spans: BucketSpan[] = [];
  const values: number[] = [];
  let next = 0;
  for (let k = 0; k < side.idx.length; k++) {
    if (side.v[k] === 0 && (side.c === undefined || side.c[k] === 0)) continue;
    const i = side.idx[k];
    const gap = i - next;
    if (spans.length > 0 && gap <= maxEmpty) {
      for (let g = 0; g < gap; g++) values.push(0);
      spans[spans.length - 1].length += gap + 1;
    } else {
      spans.push({ offset: spans.length === 0 ? i : gap, length: 1 });
    }
    values.push(side.v[k]);
    next = i + 1;
  }
  return [spans, Float64Array.from(values)];
}

/**
 * Returns the histogram at the lower `targetSchema`, neighbouring buckets merged.
 *
 * @throws {HistogramError} for custom-bucket histograms or a target schema that is not lower.
 */
export function reduceResolution(h: FloatHistogram, targetSchema: number): FloatHistogram {
  if (usesCustomBuckets(h)) {
    throw new HistogramError("cannot reduce resolution when there are custom buckets");
  }
  if (targetSchema === CUSTOM_BUCKETS_SCHEMA) {
    throw new HistogramError("cannot reduce resolution to custom buckets schema");
  }
  if (targetSchema >= h.schema) {
    throw new HistogramError(`cannot reduce resolution from schema ${h.schema} to ${targetSchema}`);
  }
  const out = copyHistogram(h);
  out.schema = targetSchema;
  const pos = reduceSide(sideOf(h.positiveSpans, h.positiveBuckets), h.schema, targetSchema);
  const neg = reduceSide(sideOf(h.negativeSpans, h.negativeBuckets), h.schema, targetSchema);
  out.positiveSpans = spansOf(pos.idx);
  out.positiveBuckets = Float64Array.from(pos.v);
  out.negativeSpans = spansOf(neg.idx);
  out.negativeBuckets = Float64Array.from(neg.v);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Bucket iteration.

/** One bucket with its bounds. */
export interface HistogramBucket {
  /** Lower bound. */
  lower: number;
  /** Upper bound. */
  upper: number;
  /** Whether `lower` belongs to the bucket. */
  lowerInclusive: boolean;
  /** Whether `upper` belongs to the bucket. */
  upperInclusive: boolean;
  /** Observations in the bucket. */
  count: number;
  /** The bucket index in its schema (meaningless for the zero bucket). */
  index: number;
}

function makeBucket(
  index: number,
  count: number,
  positive: boolean,
  h: FloatHistogram,
): HistogramBucket {
  const hi = bucketBound(index, h.schema, h.customValues);
  const lo = bucketBound(index - 1, h.schema, h.customValues);
  const lower = positive ? lo : -hi;
  const upper = positive ? hi : -lo;
  const custom = usesCustomBuckets(h);
  return {
    lower,
    upper,
    lowerInclusive: custom ? index === 0 : lower < 0,
    upperInclusive: custom ? true : upper > 0,
    count,
    index,
  };
}

/** The positive buckets in ascending order (all spans' buckets, empty ones included). */
export function positiveBuckets(h: FloatHistogram): HistogramBucket[] {
  const s = sideOf(h.positiveSpans, h.positiveBuckets);
  return s.idx.map((i, k) => makeBucket(i, s.v[k], true, h));
}

/** The negative buckets from the zero bucket outwards (descending values). */
export function negativeBuckets(h: FloatHistogram): HistogramBucket[] {
  const s = sideOf(h.negativeSpans, h.negativeBuckets);
  return s.idx.map((i, k) => makeBucket(i, s.v[k], false, h));
}

/** The zero bucket `[-threshold, threshold]`. */
export function zeroBucket(h: FloatHistogram): HistogramBucket {
  return {
    lower: -h.zeroThreshold,
    upper: h.zeroThreshold,
    lowerInclusive: true,
    upperInclusive: true,
    count: h.zeroCount,
    index: 0,
  };
}

/**
 * All buckets by ascending value: negative buckets, the zero bucket (only when populated),
 * positive buckets. Buckets overlapping the zero bucket are clipped to its threshold.
 */
export function allBuckets(h: FloatHistogram): HistogramBucket[] {
  const out = negativeBuckets(h).reverse();
  for (const b of out) {
    if (b.upper < 0 && b.upper > -h.zeroThreshold) b.upper = -h.zeroThreshold;
  }
  if (h.zeroCount > 0) out.push(zeroBucket(h));
  for (const b of positiveBuckets(h)) {
    if (b.lower > 0 && b.lower < h.zeroThreshold) b.lower = h.zeroThreshold;
    out.push(b);
  }
  return out;
}

/** {@linkcode allBuckets} in descending order. */
export function allBucketsReverse(h: FloatHistogram): HistogramBucket[] {
  return allBuckets(h).reverse();
}

// ---------------------------------------------------------------------------------------------
// Zero bucket reconciliation.

/**
 * What the zero count would be with the larger (or equal) threshold `larger`: buckets below
 * it join the zero bucket. A populated bucket straddling the new threshold moves the threshold
 * up to that bucket's bound. Returns the (Kahan) zero count, its compensation and the threshold.
 */
function zeroCountForLargerThreshold(
  h: FloatHistogram,
  larger: number,
  comp?: FloatHistogram,
): { count: number; c: number; threshold: number } {
  const base = comp?.zeroCount ?? 0;
  if (larger === h.zeroThreshold) return { count: h.zeroCount, c: base, threshold: larger };
  if (larger < h.zeroThreshold) {
    throw new HistogramError(
      `new threshold ${larger} is less than old threshold ${h.zeroThreshold}`,
    );
  }
  const pos = positiveBuckets(h);
  const neg = negativeBuckets(h);
  outer: for (;;) {
    const acc: KahanPair = { sum: h.zeroCount, c: base };
    for (let k = 0; k < pos.length; k++) {
      const b = pos[k];
      if (b.lower >= larger) break;
      kahanInc(acc, b.count);
      if (comp) kahanInc(acc, comp.positiveBuckets[k]);
      if (b.upper > larger) {
        if (b.count !== 0) larger = b.upper;
        break;
      }
    }
    for (let k = 0; k < neg.length; k++) {
      const b = neg[k];
      if (b.upper <= -larger) break;
      kahanInc(acc, b.count);
      if (comp) kahanInc(acc, comp.negativeBuckets[k]);
      if (b.lower < -larger) {
        if (b.count !== 0) {
          larger = -b.lower;
          continue outer;
        }
        break;
      }
    }
    return { count: acc.sum, c: acc.c, threshold: larger };
  }
}

// Sets the buckets now inside the zero bucket to zero (here and in the compensation), compacts.
function trimBucketsInZeroBucket(h: FloatHistogram, comp?: FloatHistogram): void {
  // Copy on write: h and comp may share their bucket arrays with the caller's histograms.
  h.positiveBuckets = h.positiveBuckets.slice();
  h.negativeBuckets = h.negativeBuckets.slice();
  if (comp) {
    comp.positiveBuckets = comp.positiveBuckets.slice();
    comp.negativeBuckets = comp.negativeBuckets.slice();
  }
  const pos = positiveBuckets(h);
  for (let k = 0; k < pos.length && pos[k].lower < h.zeroThreshold; k++) {
    h.positiveBuckets[k] = 0;
    if (comp) comp.positiveBuckets[k] = 0;
  }
  const neg = negativeBuckets(h);
  for (let k = 0; k < neg.length && neg[k].upper > -h.zeroThreshold; k++) {
    h.negativeBuckets[k] = 0;
    if (comp) comp.negativeBuckets[k] = 0;
  }
  compactInPlace(h, comp);
}

// Removes empty buckets (those empty in both h and comp) from h and, aligned, from comp.
function compactInPlace(h: FloatHistogram, comp?: FloatHistogram): void {
  for (const positive of [true, false]) {
    const spans = positive ? h.positiveSpans : h.negativeSpans;
    const side = sideOf(
      spans,
      positive ? h.positiveBuckets : h.negativeBuckets,
      comp ? (positive ? comp.positiveBuckets : comp.negativeBuckets) : undefined,
    );
    const keep: number[] = [];
    for (let k = 0; k < side.idx.length; k++) {
      if (side.v[k] !== 0 || (side.c !== undefined && side.c[k] !== 0)) keep.push(k);
    }
    const newSpans = spansOf(keep.map((k) => side.idx[k]));
    const vals = Float64Array.from(keep, (k) => side.v[k]);
    if (positive) {
      h.positiveSpans = newSpans;
      h.positiveBuckets = vals;
    } else {
      h.negativeSpans = newSpans;
      h.negativeBuckets = vals;
    }
    if (comp) {
      const cv = Float64Array.from(keep, (k) => side.c![k]);
      if (positive) {
        comp.positiveSpans = newSpans;
        comp.positiveBuckets = cv;
      } else {
        comp.negativeSpans = newSpans;
        comp.negativeBuckets = cv;
      }
    }
  }
}

// Widens h's zero bucket (mutating h and comp) until it covers other's, and returns the zero
// count (and compensation) other would have with the common threshold.
function reconcileZeroBuckets(
  h: FloatHistogram,
  other: FloatHistogram,
  comp?: FloatHistogram,
): { count: number; c: number } {
  let otherCount = other.zeroCount;
  let otherC = 0;
  let otherThreshold = other.zeroThreshold;
  while (otherThreshold !== h.zeroThreshold) {
    if (h.zeroThreshold > otherThreshold) {
      const r = zeroCountForLargerThreshold(other, h.zeroThreshold);
      otherCount = r.count;
      otherC = r.c;
      otherThreshold = r.threshold;
    }
    if (otherThreshold > h.zeroThreshold) {
      const r = zeroCountForLargerThreshold(h, otherThreshold, comp);
      h.zeroCount = r.count;
      h.zeroThreshold = r.threshold;
      if (comp) {
        comp.zeroCount = r.c;
        comp.zeroThreshold = r.threshold;
      }
      trimBucketsInZeroBucket(h, comp);
    }
  }
  return { count: otherCount, c: otherC };
}

// ---------------------------------------------------------------------------------------------
// Addition and subtraction.

/** The outcome of adding or subtracting histograms. */
export interface HistogramSumResult {
  /** The result (not compacted). */
  histogram: FloatHistogram;
  /** One side was a counter reset and the other not: Prometheus warns about it. */
  counterResetCollision: boolean;
  /** The custom bucket bounds differed and were reduced to their intersection (an info). */
  nhcbBoundsReconciled: boolean;
}

// Combines counter reset hints as Prometheus does for + and -; true on a reset collision.
function adjustCounterReset(h: FloatHistogram, other: FloatHistogram): boolean {
  const a = h.counterResetHint;
  const b = other.counterResetHint;
  if (a === b || a === CounterResetHint.Gauge) return false;
  if (b === CounterResetHint.Gauge) {
    h.counterResetHint = CounterResetHint.Gauge;
    return false;
  }
  if (a === CounterResetHint.Unknown) return false;
  h.counterResetHint = CounterResetHint.Unknown;
  // Either other is unknown (no collision) or one says reset and the other not.
  return b !== CounterResetHint.Unknown;
}

/** Reports whether two custom bucket bound lists are identical. */
export function customBoundsMatch(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The bounds two custom bucket lists have in common. */
export function intersectCustomBounds(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      out.push(a[i]);
      i++;
      j++;
    } else if (a[i] < b[j]) i++;
    else j++;
  }
  return Float64Array.from(out);
}

// Maps custom buckets onto coarser bounds: each bucket goes to the first target bucket whose
// bound is at least its own upper bound (the +Inf bucket otherwise).
function mapCustomSide(
  side: Side,
  bounds: ArrayLike<number>,
  target: ArrayLike<number>,
  into: number[],
  intoC: number[],
  sign: number,
  withCompensation: boolean,
): void {
  let t = 0;
  for (let k = 0; k < side.idx.length; k++) {
    const src = side.idx[k];
    let targetIdx = target.length;
    if (src < bounds.length) {
      const bound = bounds[src];
      while (t < target.length) {
        if (target[t] >= bound) {
          targetIdx = t;
          break;
        }
        t++;
      }
    }
    kahanInto(into, intoC, targetIdx, sign * side.v[k]);
    if (withCompensation && side.c) kahanInto(into, intoC, targetIdx, side.c[k]);
  }
}

function checkCompatible(a: FloatHistogram, b: FloatHistogram): void {
  if (usesCustomBuckets(a) !== usesCustomBuckets(b)) {
    throw new HistogramError(INCOMPATIBLE_SCHEMA_MESSAGE);
  }
}

// Adds (sign 1) or subtracts (sign -1) side b into side a. With Kahan tracking, a.c must be set;
// b.c, when present, is added too. Leading buckets of b whose absolute upper bound is within the
// zero threshold are skipped: reconcileZeroBuckets has already counted them.
function addSides(a: Side, b: Side, sign: number, schema: number, threshold: number): Side {
  const out: Side = { idx: [], v: [] };
  if (a.c) out.c = [];
  const exponential = schema !== CUSTOM_BUCKETS_SCHEMA;
  let j = 0;
  while (j < b.idx.length && exponential && exponentialBound(b.idx[j], schema) <= threshold) j++;
  let i = 0;
  while (i < a.idx.length || j < b.idx.length) {
    if (j >= b.idx.length || (i < a.idx.length && a.idx[i] < b.idx[j])) {
      out.idx.push(a.idx[i]);
      out.v.push(a.v[i]);
      out.c?.push(a.c![i]);
      i++;
      continue;
    }
    const bv = sign * b.v[j];
    const bc = b.c ? sign * b.c[j] : 0;
    if (i < a.idx.length && a.idx[i] === b.idx[j]) {
      out.idx.push(a.idx[i]);
      if (out.c) {
        out.v.push(a.v[i]);
        out.c.push(a.c![i]);
        const k = out.v.length - 1;
        kahanInto(out.v, out.c, k, bv);
        if (bc !== 0) kahanInto(out.v, out.c, k, bc);
      } else {
        out.v.push(a.v[i] + bv);
      }
      i++;
    } else {
      out.idx.push(b.idx[j]);
      out.v.push(bv);
      out.c?.push(bc);
    }
    j++;
  }
  return out;
}

function setSides(h: FloatHistogram, pos: Side, neg: Side, comp?: FloatHistogram): void {
  h.positiveSpans = spansOf(pos.idx);
  h.positiveBuckets = Float64Array.from(pos.v);
  h.negativeSpans = spansOf(neg.idx);
  h.negativeBuckets = Float64Array.from(neg.v);
  if (comp) {
    comp.schema = h.schema;
    comp.zeroThreshold = h.zeroThreshold;
    comp.customValues = h.customValues;
    comp.positiveSpans = h.positiveSpans;
    comp.negativeSpans = h.negativeSpans;
    comp.positiveBuckets = Float64Array.from(pos.c ?? []);
    comp.negativeBuckets = Float64Array.from(neg.c ?? []);
  }
}

const cursorA = new SpanCursor();
const cursorB = new SpanCursor();

// Spans for the bucket indices idx[0..n) (ascending; consecutive indices share a span).
function spansOfIndices(idx: Int32Array, n: number): BucketSpan[] {
  const spans: BucketSpan[] = [];
  let next = 0;
  for (let k = 0; k < n; k++) {
    const i = idx[k];
    if (spans.length > 0 && i === next) spans[spans.length - 1].length++;
    else spans.push({ offset: spans.length === 0 ? i : i - next, length: 1 });
    next = i + 1;
  }
  return spans;
}

/**
 * addSides for two sides at the same schema, read straight from their spans into typed arrays
 * (the common case). With `aComp`, Kahan-adds and returns the compensations aligned with the
 * result; `b` then has no compensation of its own.
 */
function mergeSameSchema(
  aSpans: readonly BucketSpan[],
  aVals: Float64Array,
  aComp: Float64Array | undefined,
  bSpans: readonly BucketSpan[],
  bVals: Float64Array,
  sign: number,
  schema: number,
  threshold: number,
): [BucketSpan[], Float64Array, Float64Array | undefined] {
  const cap = aVals.length + bVals.length;
  const idx = new Int32Array(cap);
  const v = new Float64Array(cap);
  const c = aComp ? new Float64Array(cap) : undefined;
  const a = cursorA.reset(aSpans, aVals);
  const b = cursorB.reset(bSpans, bVals);
  let aHas = a.next();
  let bHas = b.skipWithin(schema, threshold, b.next());
  let n = 0;
  while (aHas || bHas) {
    if (!bHas || (aHas && a.idx < b.idx)) {
      idx[n] = a.idx;
      v[n] = a.count;
      if (c) c[n] = aComp![a.pos];
      n++;
      aHas = a.next();
      continue;
    }
    const bv = sign * b.count;
    if (aHas && a.idx === b.idx) {
      idx[n] = a.idx;
      if (c) {
        scratch.sum = a.count;
        scratch.c = aComp![a.pos];
        kahanInc(scratch, bv);
        v[n] = scratch.sum;
        c[n] = scratch.c;
      } else {
        v[n] = a.count + bv;
      }
      aHas = a.next();
    } else {
      idx[n] = b.idx;
      v[n] = bv;
    }
    n++;
    bHas = b.next();
  }
  return [spansOfIndices(idx, n), v.slice(0, n), c?.slice(0, n)];
}

function combine(a: FloatHistogram, b: FloatHistogram, sign: number): HistogramSumResult {
  checkCompatible(a, b);
  const h = shallowCopy(a);
  const counterResetCollision = adjustCounterReset(h, b);
  let nhcbBoundsReconciled = false;
  if (!usesCustomBuckets(h)) {
    // Reconciling may widen h's own zero bucket, so it must run before h.zeroCount is read.
    const other = reconcileZeroBuckets(h, b).count;
    h.zeroCount += sign * other;
  }
  h.count += sign * b.count;
  h.sum += sign * b.sum;
  const custom = usesCustomBuckets(h);
  if (h.schema === b.schema && (!custom || customBoundsMatch(h.customValues, b.customValues))) {
    [h.positiveSpans, h.positiveBuckets] = mergeSameSchema(
      h.positiveSpans,
      h.positiveBuckets,
      undefined,
      b.positiveSpans,
      b.positiveBuckets,
      sign,
      h.schema,
      h.zeroThreshold,
    );
    if (!custom) {
      [h.negativeSpans, h.negativeBuckets] = mergeSameSchema(
        h.negativeSpans,
        h.negativeBuckets,
        undefined,
        b.negativeSpans,
        b.negativeBuckets,
        sign,
        h.schema,
        h.zeroThreshold,
      );
    }
    return { histogram: h, counterResetCollision, nhcbBoundsReconciled };
  }
  if (custom) {
    // Different custom bounds: add on the bounds both have.
    nhcbBoundsReconciled = true;
    const bounds = intersectCustomBounds(h.customValues, b.customValues);
    const sa = sideOf(h.positiveSpans, h.positiveBuckets);
    const sb = sideOf(b.positiveSpans, b.positiveBuckets);
    setSides(h, mapMismatched(sa, h.customValues, sb, b.customValues, bounds, sign), {
      idx: [],
      v: [],
    });
    h.customValues = bounds;
    return { histogram: h, counterResetCollision, nhcbBoundsReconciled };
  }
  let pa = sideOf(h.positiveSpans, h.positiveBuckets);
  let na = sideOf(h.negativeSpans, h.negativeBuckets);
  let pb = sideOf(b.positiveSpans, b.positiveBuckets);
  let nb = sideOf(b.negativeSpans, b.negativeBuckets);
  if (b.schema < h.schema) {
    pa = reduceSide(pa, h.schema, b.schema);
    na = reduceSide(na, h.schema, b.schema);
    h.schema = b.schema;
  } else if (b.schema > h.schema) {
    pb = reduceSide(pb, b.schema, h.schema);
    nb = reduceSide(nb, b.schema, h.schema);
  }
  setSides(
    h,
    addSides(pa, pb, sign, h.schema, h.zeroThreshold),
    addSides(na, nb, sign, h.schema, h.zeroThreshold),
  );
  return { histogram: h, counterResetCollision, nhcbBoundsReconciled };
}

// Adds two custom-bucket sides with different bounds on the intersected bounds; empty result
// buckets are dropped.
function mapMismatched(
  a: Side,
  boundsA: ArrayLike<number>,
  b: Side,
  boundsB: ArrayLike<number>,
  bounds: ArrayLike<number>,
  sign: number,
): Side {
  const v = new Array<number>(bounds.length + 1).fill(0);
  const c = new Array<number>(bounds.length + 1).fill(0);
  mapCustomSide(a, boundsA, bounds, v, c, 1, true);
  mapCustomSide(b, boundsB, bounds, v, c, sign, false);
  const out: Side = { idx: [], v: [], c: [] };
  for (let i = 0; i < v.length; i++) {
    if (v[i] === 0 && c[i] === 0) continue;
    out.idx.push(i);
    out.v.push(v[i]);
    out.c!.push(c[i]);
  }
  return out;
}

/**
 * `a + b` with Prometheus' rules: the result has the lower schema, the larger zero threshold
 * (widened further if it would split a populated bucket), counts added bucket by bucket.
 * Custom-bucket histograms with different bounds are added on the bounds both have.
 *
 * @throws {HistogramError} when one histogram uses custom buckets and the other does not.
 */
export function addHistograms(a: FloatHistogram, b: FloatHistogram): HistogramSumResult {
  return combine(a, b, 1);
}

/**
 * `a - b` with the rules of {@linkcode addHistograms}. As upstream, the counter reset hint is
 * combined like for addition; PromQL's `-` operator marks its result as a gauge afterwards.
 *
 * @throws {HistogramError} when one histogram uses custom buckets and the other does not.
 */
export function subHistograms(a: FloatHistogram, b: FloatHistogram): HistogramSumResult {
  return combine(a, b, -1);
}

/** A Kahan-compensated histogram sum (`sum` and `avg` aggregations). */
export interface KahanHistogramSum {
  /** The running sum. */
  sum: FloatHistogram;
  /** The compensation histogram, laid out like `sum`. */
  c: FloatHistogram;
  /** As in {@linkcode HistogramSumResult}. */
  counterResetCollision: boolean;
  /** As in {@linkcode HistogramSumResult}. */
  nhcbBoundsReconciled: boolean;
}

/** Returns an all-zero compensation histogram with the layout of `h`. */
export function newCompensationHistogram(h: FloatHistogram): FloatHistogram {
  return {
    counterResetHint: h.counterResetHint,
    schema: h.schema,
    zeroThreshold: h.zeroThreshold,
    zeroCount: 0,
    count: 0,
    sum: 0,
    positiveSpans: h.positiveSpans,
    negativeSpans: h.negativeSpans,
    positiveBuckets: new Float64Array(h.positiveBuckets.length),
    negativeBuckets: new Float64Array(usesCustomBuckets(h) ? 0 : h.negativeBuckets.length),
    customValues: h.customValues,
  };
}

/**
 * `sum + other` with Kahan compensation tracked in `c` (created when absent). The best
 * estimate of the total is `addHistograms(result.sum, result.c)`.
 *
 * @throws {HistogramError} when one histogram uses custom buckets and the other does not.
 */
export function kahanAddHistogram(
  sum: FloatHistogram,
  other: FloatHistogram,
  c?: FloatHistogram,
): KahanHistogramSum {
  checkCompatible(sum, other);
  const h = shallowCopy(sum);
  const counterResetCollision = adjustCounterReset(h, other);
  const comp = c ? shallowCopy(c) : newCompensationHistogram(h);
  let nhcbBoundsReconciled = false;
  if (!usesCustomBuckets(h)) {
    const z = reconcileZeroBuckets(h, other, comp);
    const acc: KahanPair = { sum: h.zeroCount, c: comp.zeroCount };
    kahanInc(acc, z.count);
    kahanInc(acc, z.c);
    h.zeroCount = acc.sum;
    comp.zeroCount = acc.c;
  }
  const count: KahanPair = { sum: h.count, c: comp.count };
  kahanInc(count, other.count);
  h.count = count.sum;
  comp.count = count.c;
  const total: KahanPair = { sum: h.sum, c: comp.sum };
  kahanInc(total, other.sum);
  h.sum = total.sum;
  comp.sum = total.c;

  const custom = usesCustomBuckets(h);
  if (
    h.schema === other.schema && (!custom || customBoundsMatch(h.customValues, other.customValues))
  ) {
    let pc: Float64Array | undefined;
    [h.positiveSpans, h.positiveBuckets, pc] = mergeSameSchema(
      h.positiveSpans,
      h.positiveBuckets,
      comp.positiveBuckets,
      other.positiveSpans,
      other.positiveBuckets,
      1,
      h.schema,
      h.zeroThreshold,
    );
    comp.positiveSpans = h.positiveSpans;
    comp.positiveBuckets = pc!;
    if (!custom) {
      let nc: Float64Array | undefined;
      [h.negativeSpans, h.negativeBuckets, nc] = mergeSameSchema(
        h.negativeSpans,
        h.negativeBuckets,
        comp.negativeBuckets,
        other.negativeSpans,
        other.negativeBuckets,
        1,
        h.schema,
        h.zeroThreshold,
      );
      comp.negativeSpans = h.negativeSpans;
      comp.negativeBuckets = nc!;
    }
    return { sum: h, c: comp, counterResetCollision, nhcbBoundsReconciled };
  }
  let pa = sideOf(h.positiveSpans, h.positiveBuckets, comp.positiveBuckets);
  let pb = sideOf(other.positiveSpans, other.positiveBuckets);
  if (usesCustomBuckets(h)) {
    if (customBoundsMatch(h.customValues, other.customValues)) {
      setSides(h, addSides(pa, pb, 1, h.schema, 0), { idx: [], v: [], c: [] }, comp);
    } else {
      nhcbBoundsReconciled = true;
      const bounds = intersectCustomBounds(h.customValues, other.customValues);
      const merged = mapMismatched(pa, h.customValues, pb, other.customValues, bounds, 1);
      h.customValues = bounds;
      setSides(h, merged, { idx: [], v: [], c: [] }, comp);
    }
    return { sum: h, c: comp, counterResetCollision, nhcbBoundsReconciled };
  }
  let na = sideOf(h.negativeSpans, h.negativeBuckets, comp.negativeBuckets);
  let nb = sideOf(other.negativeSpans, other.negativeBuckets);
  if (other.schema < h.schema) {
    pa = reduceSide(pa, h.schema, other.schema);
    na = reduceSide(na, h.schema, other.schema);
    h.schema = other.schema;
  } else if (other.schema > h.schema) {
    // Merging the other side's buckets gets compensation terms of its own.
    pb = reduceSide({ ...pb, c: pb.v.map(() => 0) }, other.schema, h.schema);
    nb = reduceSide({ ...nb, c: nb.v.map(() => 0) }, other.schema, h.schema);
  }
  setSides(
    h,
    addSides(pa, pb, 1, h.schema, h.zeroThreshold),
    addSides(na, nb, 1, h.schema, h.zeroThreshold),
    comp,
  );
  return { sum: h, c: comp, counterResetCollision, nhcbBoundsReconciled };
}

// ---------------------------------------------------------------------------------------------
// Scaling.

/** `h * factor`: every count and the sum scaled; a negative factor makes it a gauge. */
export function mulHistogram(h: FloatHistogram, factor: number): FloatHistogram {
  const out = copyHistogram(h);
  out.zeroCount *= factor;
  out.count *= factor;
  out.sum *= factor;
  for (let i = 0; i < out.positiveBuckets.length; i++) out.positiveBuckets[i] *= factor;
  for (let i = 0; i < out.negativeBuckets.length; i++) out.negativeBuckets[i] *= factor;
  if (factor < 0) out.counterResetHint = CounterResetHint.Gauge;
  return out;
}

/**
 * `h / divisor`. Dividing by zero leaves the count, sum and zero count infinite (or NaN) and
 * removes all buckets, as Prometheus does; a negative divisor makes it a gauge.
 */
export function divHistogram(h: FloatHistogram, divisor: number): FloatHistogram {
  const out = copyHistogram(h);
  out.zeroCount /= divisor;
  out.count /= divisor;
  out.sum /= divisor;
  if (divisor === 0) {
    out.positiveSpans = [];
    out.negativeSpans = [];
    out.positiveBuckets = new Float64Array(0);
    out.negativeBuckets = new Float64Array(0);
    return out;
  }
  for (let i = 0; i < out.positiveBuckets.length; i++) out.positiveBuckets[i] /= divisor;
  for (let i = 0; i < out.negativeBuckets.length; i++) out.negativeBuckets[i] /= divisor;
  if (divisor < 0) out.counterResetHint = CounterResetHint.Gauge;
  return out;
}

/** Reports whether any count, the sum or a custom bound is infinite (a sum overflowed). */
export function hasOverflow(h: FloatHistogram): boolean {
  const inf = (x: number) => x === Infinity || x === -Infinity;
  if (inf(h.zeroCount) || inf(h.count) || inf(h.sum)) return true;
  return h.positiveBuckets.some(inf) || h.negativeBuckets.some(inf) || h.customValues.some(inf);
}

// ---------------------------------------------------------------------------------------------
// Equality.

const eqView = new DataView(new ArrayBuffer(16));
// Bit-pattern equality of two floats (NaN equals NaN with the same payload; 0 and -0 differ).
function sameBits(a: number, b: number): boolean {
  eqView.setFloat64(0, a);
  eqView.setFloat64(8, b);
  return eqView.getBigUint64(0) === eqView.getBigUint64(8);
}

function sideBitsEqual(
  sa: readonly BucketSpan[],
  ba: Float64Array,
  sb: readonly BucketSpan[],
  bb: Float64Array,
): boolean {
  if (ba.length !== bb.length) return false;
  const a = sideOf(sa, ba);
  const b = sideOf(sb, bb);
  if (a.idx.length !== b.idx.length) return false;
  for (let k = 0; k < a.idx.length; k++) {
    if (a.idx[k] !== b.idx[k] || !sameBits(a.v[k], b.v[k])) return false;
  }
  return true;
}

/**
 * Exact equality as PromQL's `==` on histograms: same schema, thresholds, custom bounds and
 * bucket layout (zero-length spans aside), and bit-identical counts, sum and buckets. The
 * counter reset hint is not compared. Compact both sides first for value equality.
 */
export function histogramsEqual(a: FloatHistogram, b: FloatHistogram): boolean {
  if (a.schema !== b.schema || !sameBits(a.count, b.count) || !sameBits(a.sum, b.sum)) {
    return false;
  }
  if (usesCustomBuckets(a) && !customBoundsMatch(a.customValues, b.customValues)) return false;
  if (a.zeroThreshold !== b.zeroThreshold || !sameBits(a.zeroCount, b.zeroCount)) return false;
  return sideBitsEqual(a.negativeSpans, a.negativeBuckets, b.negativeSpans, b.negativeBuckets) &&
    sideBitsEqual(a.positiveSpans, a.positiveBuckets, b.positiveSpans, b.positiveBuckets);
}

// ---------------------------------------------------------------------------------------------
// Counter resets.

// Buckets of a side merged to `schema`, skipping those whose bound is within `start`.
function sideForReset(
  spans: readonly BucketSpan[],
  buckets: Float64Array,
  fromSchema: number,
  toSchema: number,
  start: number,
): Side {
  const s = reduceSide(sideOf(spans, buckets), fromSchema, toSchema);
  if (toSchema === CUSTOM_BUCKETS_SCHEMA || start === 0) return s;
  let k = 0;
  while (k < s.idx.length && exponentialBound(s.idx[k], toSchema) <= start) k++;
  return { idx: s.idx.slice(k), v: s.v.slice(k) };
}

const curCursor = new SpanCursor();
const prevCursor = new SpanCursor();

// sideReset for two sides at the same schema, walking the spans directly (the common case of
// rate() over a series: no allocation per sample).
function sideResetSameSchema(
  cs: readonly BucketSpan[],
  cb: Float64Array,
  ps: readonly BucketSpan[],
  pb: Float64Array,
  schema: number,
  start: number,
): boolean {
  const c = curCursor.reset(cs, cb);
  const p = prevCursor.reset(ps, pb);
  let cHas = c.skipWithin(schema, start, c.next());
  let pHas = p.skipWithin(schema, start, p.next());
  while (pHas) {
    while (cHas && c.idx < p.idx) cHas = c.next();
    if (cHas && c.idx === p.idx) {
      if (c.count < p.count) return true;
    } else if (p.count !== 0) {
      return true;
    }
    pHas = p.next();
  }
  return false;
}

// A bucket of prev that cur lacks or has fewer observations in means a reset.
function sideReset(cur: Side, prev: Side): boolean {
  let i = 0;
  for (let j = 0; j < prev.idx.length; j++) {
    while (i < cur.idx.length && cur.idx[i] < prev.idx[j]) i++;
    if (i < cur.idx.length && cur.idx[i] === prev.idx[j]) {
      if (cur.v[i] < prev.v[j]) return true;
    } else if (prev.v[j] !== 0) {
      return true;
    }
  }
  return false;
}

// Cumulative counts of custom buckets at each bound (ascending; the last is +Inf).
function cumulativeAtBounds(h: FloatHistogram): Map<number, number> {
  const out = new Map<number, number>();
  const s = sideOf(h.positiveSpans, h.positiveBuckets);
  let acc = 0;
  let k = 0;
  for (let i = 0; i <= h.customValues.length; i++) {
    while (k < s.idx.length && s.idx[k] <= i) acc += s.v[k++];
    out.set(i < h.customValues.length ? h.customValues[i] : Infinity, acc);
  }
  return out;
}

/**
 * Reports whether `cur` follows a counter reset after `prev`: from the hint when it is
 * `reset`/`not_reset`, else by comparing counts (total, zero bucket, every bucket). A lower
 * resolution or a smaller zero threshold in `prev` also means a reset; custom buckets with
 * different bounds are compared on the bounds both have.
 */
export function detectReset(cur: FloatHistogram, prev: FloatHistogram): boolean {
  if (cur.counterResetHint === CounterResetHint.CounterReset) return true;
  if (cur.counterResetHint === CounterResetHint.NotCounterReset) return false;
  if (cur.count < prev.count) return true;
  if (usesCustomBuckets(cur)) {
    if (!usesCustomBuckets(prev)) return true;
    if (!customBoundsMatch(cur.customValues, prev.customValues)) {
      // Compare the observations below each common bound: any decrease is a reset.
      const c = cumulativeAtBounds(cur);
      const p = cumulativeAtBounds(prev);
      let below = 0;
      let prevBelow = 0;
      for (const [bound, n] of c) {
        const pn = p.get(bound);
        if (pn === undefined) continue;
        if (n - below < pn - prevBelow) return true;
        below = n;
        prevBelow = pn;
      }
      return false;
    }
  }
  if (cur.schema > prev.schema) return true;
  if (cur.zeroThreshold < prev.zeroThreshold) return true;
  const z = zeroCountForLargerThreshold(prev, cur.zeroThreshold);
  if (z.threshold !== cur.zeroThreshold) return true;
  if (cur.zeroCount < z.count) return true;
  const schema = cur.schema;
  const start = usesCustomBuckets(cur) ? 0 : cur.zeroThreshold;
  if (prev.schema === schema) {
    return sideResetSameSchema(
      cur.positiveSpans,
      cur.positiveBuckets,
      prev.positiveSpans,
      prev.positiveBuckets,
      schema,
      start,
    ) || sideResetSameSchema(
      cur.negativeSpans,
      cur.negativeBuckets,
      prev.negativeSpans,
      prev.negativeBuckets,
      schema,
      start,
    );
  }
  return sideReset(
    sideForReset(cur.positiveSpans, cur.positiveBuckets, cur.schema, schema, start),
    sideForReset(prev.positiveSpans, prev.positiveBuckets, prev.schema, schema, start),
  ) || sideReset(
    sideForReset(cur.negativeSpans, cur.negativeBuckets, cur.schema, schema, start),
    sideForReset(prev.negativeSpans, prev.negativeBuckets, prev.schema, schema, start),
  );
}

// ---------------------------------------------------------------------------------------------
// histogram_* functions.

/** `histogram_count`. */
export function histogramCount(h: FloatHistogram): number {
  return h.count;
}

/** `histogram_sum`. */
export function histogramSum(h: FloatHistogram): number {
  return h.sum;
}

/** `histogram_avg`: sum / count. */
export function histogramAvg(h: FloatHistogram): number {
  return h.sum / h.count;
}

/**
 * `histogram_stdvar`: the variance of the observations, each bucket's observations taken at its
 * midpoint (arithmetic for custom buckets, 0 in the zero bucket, geometric otherwise), around
 * the histogram's mean `sum / count`.
 */
export function histogramStdVar(h: FloatHistogram): number {
  const mean = h.sum / h.count;
  const acc: KahanPair = { sum: 0, c: 0 };
  const custom = usesCustomBuckets(h);
  for (const b of allBuckets(h)) {
    if (b.count === 0) continue;
    let val: number;
    if (custom) val = (b.upper + b.lower) / 2;
    else if (b.lower <= 0 && b.upper >= 0) val = 0;
    else {
      val = Math.sqrt(b.upper * b.lower);
      if (b.upper < 0) val = -val;
    }
    const delta = val - mean;
    kahanInc(acc, b.count * delta * delta);
  }
  return (acc.sum + acc.c) / h.count;
}

/** `histogram_stddev`: the square root of {@linkcode histogramStdVar}. */
export function histogramStdDev(h: FloatHistogram): number {
  return Math.sqrt(histogramStdVar(h));
}

/** The value of `histogram_quantile` and what its caller must annotate. */
export interface QuantileResult {
  /** The estimated quantile. */
  value: number;
  /** NaN because the rank fell among NaN observations (Prometheus adds an info). */
  nanResult: boolean;
  /** The histogram has NaN observations that may skew the result upwards (an info). */
  nanSkew: boolean;
}

/**
 * `histogram_quantile(q, h)` for a native histogram: finds the bucket holding rank `q × count`
 * and interpolates in it, linearly for custom buckets and the zero bucket, exponentially
 * (linearly on a log scale) for exponential buckets. `q < 0` gives -Inf, `q > 1` +Inf; an empty
 * histogram or NaN `q` gives NaN. A zero bucket next to buckets of one sign only is taken to end
 * at 0; custom buckets start at 0 unless the first bound is not positive.
 */
export function histogramQuantile(q: number, h: FloatHistogram): QuantileResult {
  const res = (value: number, nanResult = false, nanSkew = false): QuantileResult => ({
    value,
    nanResult,
    nanSkew,
  });
  if (q < 0) return res(-Infinity);
  if (q > 1) return res(Infinity);
  if (h.count === 0 || Number.isNaN(q)) return res(NaN);
  const forward = Number.isNaN(h.sum) || q < 0.5;
  const buckets = forward ? allBuckets(h) : allBucketsReverse(h);
  let rank = forward ? q * h.count : (1 - q) * h.count;
  let count = 0;
  let k = 0;
  // Without any bucket the "current bucket" is empty at 0, as Prometheus' zero-value bucket.
  let bucket: HistogramBucket = {
    lower: 0,
    upper: 0,
    lowerInclusive: false,
    upperInclusive: false,
    count: 0,
    index: 0,
  };
  for (; k < buckets.length; k++) {
    bucket = buckets[k];
    if (bucket.count === 0) continue;
    count += bucket.count;
    if (count >= rank) break;
  }
  k++;
  const custom = usesCustomBuckets(h);
  let { lower, upper } = bucket;
  if (!custom && lower < 0 && upper > 0) {
    if (h.negativeBuckets.length === 0 && h.positiveBuckets.length > 0) lower = 0;
    else if (h.positiveBuckets.length === 0 && h.negativeBuckets.length > 0) upper = 0;
  } else if (custom) {
    if (lower === -Infinity) {
      if (upper <= 0) return res(upper);
      lower = 0;
    } else if (upper === Infinity) {
      return res(lower);
    }
  }
  if (count > h.count) count = h.count;
  if (count < rank) {
    if (Number.isNaN(h.sum)) return res(NaN, true);
    return res(upper);
  }
  if (forward) rank -= count - bucket.count;
  else rank = count - rank;
  let nanSkew = false;
  if (Number.isNaN(h.sum)) {
    let all = count;
    for (; k < buckets.length; k++) all += buckets[k].count;
    nanSkew = all < h.count;
  }
  const fraction = rank / bucket.count;
  if (custom || (lower <= 0 && upper >= 0)) {
    return res(lower + (upper - lower) * fraction, false, nanSkew);
  }
  const logLower = Math.log2(Math.abs(lower));
  const logUpper = Math.log2(Math.abs(upper));
  if (lower > 0) return res(2 ** (logLower + (logUpper - logLower) * fraction), false, nanSkew);
  return res(-(2 ** (logUpper + (logLower - logUpper) * (1 - fraction))), false, nanSkew);
}

/**
 * The fraction of a bucket's width at or below `v` (strictly inside its finite bounds), linear
 * or on a logarithmic scale (mirrored for negative buckets).
 */
export function fractionBelow(b: HistogramBucket, v: number, linear: boolean): number {
  if (linear) return (v - b.lower) / (b.upper - b.lower);
  const logLower = Math.log2(Math.abs(b.lower));
  const logUpper = Math.log2(Math.abs(b.upper));
  const logV = Math.log2(Math.abs(v));
  if (v > 0) return (logV - logLower) / (logUpper - logLower);
  return 1 - (logV - logUpper) / (logLower - logUpper);
}

/** The value of `histogram_fraction` and whether NaN observations were left out (an info). */
export interface FractionResult {
  /** The estimated fraction. */
  value: number;
  /** The histogram has NaN observations, which no bucket counts. */
  nanObservations: boolean;
}

/**
 * `histogram_fraction(lower, upper, h)`: the estimated fraction of observations between the
 * bounds, interpolating like {@linkcode histogramQuantile}. An empty histogram or a NaN bound
 * gives NaN; `lower >= upper` gives 0.
 */
export function histogramFraction(lower: number, upper: number, h: FloatHistogram): FractionResult {
  if (h.count === 0 || Number.isNaN(lower) || Number.isNaN(upper)) {
    return { value: NaN, nanObservations: false };
  }
  if (lower >= upper) return { value: 0, nanObservations: false };
  const custom = usesCustomBuckets(h);
  const buckets = allBuckets(h);
  let count = 0;
  let rank = 0;
  let lowerRank = 0;
  let upperRank = 0;
  let lowerSet = false;
  let upperSet = false;
  let k = 0;
  for (; k < buckets.length; k++) {
    const b = { ...buckets[k] };
    count += b.count;
    let zero = false;
    if (b.lower <= 0 && b.upper >= 0) {
      zero = true;
      if (h.negativeBuckets.length === 0 && h.positiveBuckets.length > 0) b.lower = 0;
      else if (h.positiveBuckets.length === 0 && h.negativeBuckets.length > 0) b.upper = 0;
    }
    const interpolate = (v: number): number => {
      if (custom || zero) {
        // No interpolation inside a bucket reaching -Inf: it counts as a whole.
        if (b.lower === -Infinity) return b.count;
        return rank + b.count * fractionBelow(b, v, true);
      }
      return rank + b.count * fractionBelow(b, v, false);
    };
    if (!lowerSet && b.lower >= lower) {
      lowerRank = rank;
      lowerSet = true;
    }
    if (!upperSet && b.lower >= upper) {
      upperRank = rank;
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    if (!lowerSet && b.lower < lower && b.upper > lower) {
      lowerRank = interpolate(lower);
      lowerSet = true;
    }
    if (!upperSet && b.lower < upper && b.upper > upper) {
      upperRank = interpolate(upper);
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    rank += b.count;
  }
  let nanObservations = false;
  if (Number.isNaN(h.sum)) {
    for (k++; k < buckets.length; k++) count += buckets[k].count;
    nanObservations = count < h.count;
  } else {
    count = h.count;
  }
  if (!lowerSet || lowerRank > count) lowerRank = count;
  if (!upperSet || upperRank > count) upperRank = count;
  return { value: (upperRank - lowerRank) / h.count, nanObservations };
}

// ---------------------------------------------------------------------------------------------
// Trimming (`</` and `>/`).

function midpoint(lo: number, hi: number, positive: boolean, linear: boolean): number {
  const loInf = lo === Infinity || lo === -Infinity;
  const hiInf = hi === Infinity || hi === -Infinity;
  if (loInf) {
    if (hiInf) return 0;
    return hi > 0 ? hi / 2 : hi;
  }
  if (hiInf) return lo;
  if (linear) return (lo + hi) / 2;
  const geo = Math.sqrt(Math.abs(lo * hi));
  return positive ? geo : -geo;
}

// Kept count and the midpoint of the kept part for a bucket with an infinite bound.
function trimInfiniteBucket(upperTrim: boolean, b: HistogramBucket, rhs: number): [number, number] {
  const finite = (x: number) => (x === Infinity || x === -Infinity ? 0 : x);
  if (b.lower === -Infinity) {
    if (upperTrim) {
      if (rhs >= b.upper) return [b.count, 0];
      // Only custom buckets start at -Inf with a positive upper bound: treat them as starting at 0.
      if (rhs > 0 && b.upper > 0 && b.upper !== Infinity) return [b.count * rhs / b.upper, rhs / 2];
      if (b.upper <= 0) return [b.count, rhs];
      return [0, finite(b.upper)];
    }
    if (rhs <= b.lower) return [b.count, 0];
    if (rhs >= 0 && b.upper > rhs && b.upper !== Infinity) {
      return [b.count * (1 - rhs / b.upper), (rhs + b.upper) / 2];
    }
    return [0, finite(b.upper)];
  }
  // The upper bound is +Inf: how the observations spread above the lower bound is unknown.
  if (upperTrim) return [0, finite(b.lower)];
  if (rhs >= b.lower) return [b.count, rhs];
  return [0, finite(b.lower)];
}

function trimBucket(
  b: HistogramBucket,
  rhs: number,
  upperTrim: boolean,
  positive: boolean,
  custom: boolean,
): [number, number] {
  if (b.lower === -Infinity || b.upper === Infinity) return trimInfiniteBucket(upperTrim, b, rhs);
  let under: number;
  if (rhs <= b.lower) under = 0;
  else if (rhs >= b.upper) under = b.count;
  else under = b.count * fractionBelow(b, rhs, custom);
  if (upperTrim) return [under, midpoint(b.lower, rhs, positive, custom)];
  return [b.count - under, midpoint(rhs, b.upper, positive, custom)];
}

function trimZeroBucket(
  zb: HistogramBucket,
  rhs: number,
  hasNegative: boolean,
  hasPositive: boolean,
  upperTrim: boolean,
): [number, number] {
  let lower = zb.lower;
  let upper = zb.upper;
  if (hasNegative && !hasPositive) upper = 0;
  if (hasPositive && !hasNegative) lower = 0;
  if (upperTrim) {
    if (rhs <= lower) return [0, 0];
    if (rhs >= upper) return [zb.count, (lower + upper) / 2];
    return [zb.count * (rhs - lower) / (upper - lower), (lower + rhs) / 2];
  }
  if (rhs <= lower) return [zb.count, (lower + upper) / 2];
  if (rhs >= upper) return [0, 0];
  return [zb.count * (upper - rhs) / (upper - lower), (rhs + upper) / 2];
}

/**
 * The trim operators: `h </ rhs` (`upperTrim`, keep observations below `rhs`) and `h >/ rhs`
 * (keep those above). Buckets across `rhs` keep the interpolated share; count and sum are
 * re-estimated from bucket midpoints when anything was removed, and the result is compacted.
 */
export function trimHistogram(h: FloatHistogram, rhs: number, upperTrim: boolean): FloatHistogram {
  const out = copyHistogram(h);
  const custom = usesCustomBuckets(h);
  let count = 0;
  let sum = 0;
  let trimmed = false;
  let hasPositive = false;
  let hasNegative = false;
  for (const positive of [true, false]) {
    const buckets = positive ? positiveBuckets(h) : negativeBuckets(h);
    const values = positive ? out.positiveBuckets : out.negativeBuckets;
    for (let i = 0; i < buckets.length; i++) {
      const b = buckets[i];
      if (b.count === 0) continue;
      if (positive) hasPositive = true;
      else hasNegative = true;
      const keepAll = upperTrim ? b.upper <= rhs : b.lower >= rhs;
      const partial = upperTrim ? b.lower < rhs : b.upper > rhs;
      if (keepAll) {
        count += b.count;
        sum += midpoint(b.lower, b.upper, positive, custom) * b.count;
      } else if (partial) {
        const [keep, mid] = trimBucket(b, rhs, upperTrim, positive, custom);
        count += keep;
        sum += mid * keep;
        if (values[i] !== keep) {
          values[i] = keep;
          trimmed = true;
        }
      } else {
        values[i] = 0;
        trimmed = true;
      }
    }
  }
  if (h.zeroCount > 0) {
    const [keep, mid] = trimZeroBucket(zeroBucket(h), rhs, hasNegative, hasPositive, upperTrim);
    if (out.zeroCount !== keep) {
      out.zeroCount = keep;
      trimmed = true;
    }
    sum += mid * keep;
    count += keep;
  }
  if (!trimmed) return out;
  out.count = count;
  out.sum = sum;
  return compactHistogram(out, 0);
}

// ---------------------------------------------------------------------------------------------
// sum and avg of histograms.

/**
 * Sums or averages histograms the way PromQL's `sum`/`avg` aggregations and `sum_over_time`/
 * `avg_over_time` do: Kahan-compensated addition; for `avg` a direct mean (sum / count) until
 * the running sum overflows, then an incremental mean. Call {@linkcode add} per histogram in
 * input order, then {@linkcode result}.
 *
 * @example
 * ```ts
 * const acc = new HistogramAggregator("avg");
 * for (const h of histograms) acc.add(h);
 * const mean = acc.result(); // undefined if they mixed exponential and custom buckets
 * ```
 */
export class HistogramAggregator {
  /** Histograms added so far. */
  count = 0;
  /** A `reset` and a `not_reset` hint were both seen (Prometheus warns). */
  counterResetSeen = false;
  /** See {@linkcode counterResetSeen}. */
  notCounterResetSeen = false;
  /** Custom bucket bounds differed and were intersected (Prometheus adds an info). */
  nhcbBoundsReconciled = false;
  /** Exponential and custom-bucket histograms were mixed: there is no result. */
  incompatible = false;
  #value: FloatHistogram | undefined;
  #c: FloatHistogram | undefined;
  #mean: FloatHistogram | undefined;

  /** Creates an aggregator computing the sum or the mean. */
  constructor(readonly mode: "sum" | "avg") {}

  /** Whether both a counter reset and a not-reset hint were seen. */
  get counterResetCollision(): boolean {
    return this.counterResetSeen && this.notCounterResetSeen;
  }

  /** Adds one histogram. */
  add(h: FloatHistogram): void {
    if (h.counterResetHint === CounterResetHint.CounterReset) this.counterResetSeen = true;
    else if (h.counterResetHint === CounterResetHint.NotCounterReset) {
      this.notCounterResetSeen = true;
    }
    this.count++;
    if (this.incompatible) return;
    if (this.count === 1) {
      this.#value = copyHistogram(h);
      return;
    }
    try {
      if (this.mode === "sum") {
        this.#kahanAdd(this.#value!, h, (s) => this.#value = s);
        return;
      }
      if (this.#mean === undefined) {
        // Direct mean while the running sum stays finite.
        const r = kahanAddHistogram(this.#value!, h, this.#c);
        if (r.nhcbBoundsReconciled) this.nhcbBoundsReconciled = true;
        if (!hasOverflow(r.sum)) {
          this.#value = r.sum;
          this.#c = r.c;
          return;
        }
        this.#mean = divHistogram(this.#value!, this.count - 1);
        if (this.#c) this.#c = divHistogram(this.#c, this.count - 1);
      }
      const q = (this.count - 1) / this.count;
      if (this.#c) this.#c = mulHistogram(this.#c, q);
      this.#kahanAdd(
        mulHistogram(this.#mean, q),
        divHistogram(h, this.count),
        (s) => this.#mean = s,
      );
    } catch (e) {
      if (!(e instanceof HistogramError)) throw e;
      this.incompatible = true;
    }
  }

  #kahanAdd(a: FloatHistogram, b: FloatHistogram, set: (s: FloatHistogram) => void): void {
    const r = kahanAddHistogram(a, b, this.#c);
    if (r.nhcbBoundsReconciled) this.nhcbBoundsReconciled = true;
    set(r.sum);
    this.#c = r.c;
  }

  /** The compacted sum or mean; `undefined` without input or after incompatible histograms. */
  result(): FloatHistogram | undefined {
    if (this.incompatible || this.#value === undefined) return undefined;
    let out: FloatHistogram;
    if (this.mode === "sum") {
      out = this.#c ? addHistograms(this.#value, this.#c).histogram : this.#value;
    } else if (this.#mean !== undefined) {
      out = this.#c ? addHistograms(this.#mean, this.#c).histogram : this.#mean;
    } else {
      out = divHistogram(this.#value, this.count);
      if (this.#c) out = addHistograms(out, divHistogram(this.#c, this.count)).histogram;
    }
    return compactHistogram(out);
  }
}

// ---------------------------------------------------------------------------------------------
// rate, increase and delta of histograms.

/** The raw increase (or delta) of histogram samples and what the caller must annotate. */
export interface HistogramIncreaseResult {
  /** `last - first`, corrected for counter resets; a compacted gauge. Unset on failure. */
  histogram?: FloatHistogram;
  /** A float sample among the histograms: no result (Prometheus warns). */
  mixedFloatsHistograms: boolean;
  /** Exponential and custom-bucket histograms mixed: no result (a warning). */
  mixedExponentialCustom: boolean;
  /** A counter function met a gauge histogram (a warning). */
  notCounter: boolean;
  /** `delta` met a histogram that is not a gauge (a warning). */
  notGauge: boolean;
  /** Custom bounds differed and were intersected (an info). */
  nhcbBoundsReconciled: boolean;
}

/**
 * The unextrapolated increase of histogram samples in time order, as PromQL's `rate`/`increase`
 * (`isCounter`) and `delta` compute it: the last minus the first histogram at the lowest schema
 * seen; for counters every detected reset adds back the histogram before it, and a reset right
 * after the first sample discards that sample. `undefined` entries stand for float samples.
 * The caller extrapolates (scaling with {@linkcode mulHistogram}).
 *
 * @param resetBefore for counters, whether something other than the histograms themselves
 *   (start timestamps) shows a reset between `points[i - 1]` and `points[i]`
 */
export function histogramIncrease(
  points: readonly (FloatHistogram | undefined)[],
  isCounter: boolean,
  resetBefore?: (i: number) => boolean,
): HistogramIncreaseResult {
  const res: HistogramIncreaseResult = {
    mixedFloatsHistograms: false,
    mixedExponentialCustom: false,
    notCounter: false,
    notGauge: false,
    nhcbBoundsReconciled: false,
  };
  let prev = points[0]!;
  const last = points[points.length - 1];
  if (!last) {
    res.mixedFloatsHistograms = true;
    return res;
  }
  const gauge = CounterResetHint.Gauge;
  if (isCounter && (prev.counterResetHint === gauge || last.counterResetHint === gauge)) {
    res.notCounter = true;
  }
  let custom = usesCustomBuckets(prev);
  if (isCounter && points.length > 1) {
    const second = points[1];
    if (second && (resetBefore?.(1) || detectReset(second, prev))) {
      // Counting starts again after the first sample: compare with an empty histogram.
      prev = {
        counterResetHint: CounterResetHint.Unknown,
        schema: second.schema,
        zeroThreshold: 0,
        zeroCount: 0,
        count: 0,
        sum: 0,
        positiveSpans: [],
        negativeSpans: [],
        positiveBuckets: new Float64Array(0),
        negativeBuckets: new Float64Array(0),
        customValues: second.customValues,
      };
      custom = usesCustomBuckets(second);
    }
  }
  if (usesCustomBuckets(last) !== custom) {
    res.mixedExponentialCustom = true;
    return res;
  }
  let minSchema = Math.min(last.schema, prev.schema);
  for (let i = 1; i < points.length - 1; i++) {
    const cur = points[i];
    if (!cur) {
      res.mixedFloatsHistograms = true;
      return res;
    }
    if (!isCounter) continue;
    if (cur.counterResetHint === gauge) res.notCounter = true;
    minSchema = Math.min(minSchema, cur.schema);
    if (usesCustomBuckets(cur) !== custom) {
      res.mixedExponentialCustom = true;
      return res;
    }
  }
  let h = last.schema > minSchema ? reduceResolution(last, minSchema) : copyHistogram(last);
  try {
    const d = subHistograms(h, prev);
    h = d.histogram;
    if (d.nhcbBoundsReconciled) res.nhcbBoundsReconciled = true;
    if (isCounter) {
      for (let i = 1; i < points.length; i++) {
        const cur = points[i]!;
        if (resetBefore?.(i) || detectReset(cur, prev)) {
          const a = addHistograms(h, prev);
          h = a.histogram;
          if (a.nhcbBoundsReconciled) res.nhcbBoundsReconciled = true;
        }
        prev = cur;
      }
    } else if (points[0]!.counterResetHint !== gauge || last.counterResetHint !== gauge) {
      res.notGauge = true;
    }
  } catch (e) {
    if (!(e instanceof HistogramError)) throw e;
    res.mixedExponentialCustom = true;
    return res;
  }
  h.counterResetHint = gauge;
  res.histogram = compactHistogram(h);
  return res;
}

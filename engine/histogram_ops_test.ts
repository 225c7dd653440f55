/**
 * Native histogram arithmetic, checked against values derived by hand from the bucket
 * definitions: exponential bucket i at schema s is (2^((i-1)/2^s), 2^(i/2^s)], custom bucket i
 * is (bound[i-1], bound[i]] with -Inf and +Inf at the ends.
 */
import assert from "node:assert/strict";
import { type BucketSpan, CounterResetHint, type FloatHistogram } from "../model/histogram.ts";
import {
  addHistograms,
  allBuckets,
  bucketBound,
  compactHistogram,
  detectReset,
  divHistogram,
  exponentialBound,
  hasOverflow,
  HistogramAggregator,
  HistogramError,
  histogramFraction,
  histogramIncrease,
  histogramQuantile,
  histogramsEqual,
  histogramStdDev,
  histogramStdVar,
  intersectCustomBounds,
  kahanAddHistogram,
  mulHistogram,
  negativeBuckets,
  positiveBuckets,
  reduceResolution,
  subHistograms,
  trimHistogram,
} from "./histogram_ops.ts";

interface Spec {
  schema?: number;
  count?: number;
  sum?: number;
  zt?: number;
  zc?: number;
  /** Positive buckets as index → count. */
  pos?: Record<number, number>;
  /** Negative buckets as index → count. */
  neg?: Record<number, number>;
  custom?: number[];
  hint?: CounterResetHint;
}

function layout(m: Record<number, number> = {}): [BucketSpan[], Float64Array] {
  const idx = Object.keys(m).map(Number).sort((a, b) => a - b);
  const spans: BucketSpan[] = [];
  let next = 0;
  for (const i of idx) {
    if (spans.length > 0 && i === next) spans[spans.length - 1].length++;
    else spans.push({ offset: spans.length === 0 ? i : i - next, length: 1 });
    next = i + 1;
  }
  return [spans, Float64Array.from(idx, (i) => m[i])];
}

function H(s: Spec): FloatHistogram {
  const [positiveSpans, positiveBuckets] = layout(s.pos);
  const [negativeSpans, negativeBuckets] = layout(s.neg);
  return {
    counterResetHint: s.hint ?? CounterResetHint.Unknown,
    schema: s.custom ? -53 : s.schema ?? 0,
    zeroThreshold: s.zt ?? 0,
    zeroCount: s.zc ?? 0,
    count: s.count ?? 0,
    sum: s.sum ?? 0,
    positiveSpans,
    negativeSpans,
    positiveBuckets,
    negativeBuckets,
    customValues: Float64Array.from(s.custom ?? []),
  };
}

// The buckets of one side as index → count, empty ones included.
function buckets(spans: BucketSpan[], values: Float64Array): Record<number, number> {
  const out: Record<number, number> = {};
  let i = 0;
  let b = 0;
  for (const s of spans) {
    i += s.offset;
    for (let j = 0; j < s.length; j++) out[i++] = values[b++];
  }
  return out;
}

const pos = (h: FloatHistogram) => buckets(h.positiveSpans, h.positiveBuckets);
const neg = (h: FloatHistogram) => buckets(h.negativeSpans, h.negativeBuckets);

function close(actual: number, expected: number, msg?: string): void {
  assert.ok(
    Math.abs(actual - expected) <= 1e-12 * Math.max(1, Math.abs(expected)),
    `${msg ?? ""} expected ${expected}, got ${actual}`,
  );
}

Deno.test("exponentialBound: 2^(i/2^schema), with the largest float as the last finite bound", () => {
  assert.equal(exponentialBound(0, 0), 1);
  assert.equal(exponentialBound(1, 0), 2);
  assert.equal(exponentialBound(-1, 0), 0.5);
  assert.equal(exponentialBound(3, 0), 8);
  close(exponentialBound(1, 1), Math.SQRT2);
  assert.equal(exponentialBound(2, 1), 2);
  close(exponentialBound(-1, 1), Math.SQRT1_2);
  assert.equal(exponentialBound(8, 3), 2);
  close(exponentialBound(1, 3), 2 ** 0.125);
  assert.equal(exponentialBound(1, -1), 4);
  assert.equal(exponentialBound(-1, -2), 1 / 16);
  assert.equal(exponentialBound(1023, 0), 2 ** 1023);
  assert.equal(exponentialBound(1024, 0), Number.MAX_VALUE);
  assert.equal(exponentialBound(1025, 0), Infinity);
  assert.equal(exponentialBound(512, -1), Number.MAX_VALUE);
  assert.equal(exponentialBound(256 * 1024, 8), Number.MAX_VALUE);
  // Just below the top at schema 1: 2^1023.5, finite although 2^1024 is not.
  close(exponentialBound(2047, 1), 2 ** 1023 * Math.SQRT2);
  assert.equal(exponentialBound(-1074, 0), 2 ** -1074);
});

Deno.test("bucketBound for custom buckets: bounds, -Inf before, +Inf after", () => {
  const cv = [0.5, 1];
  assert.equal(bucketBound(0, -53, cv), 0.5);
  assert.equal(bucketBound(1, -53, cv), 1);
  assert.equal(bucketBound(2, -53, cv), Infinity);
  assert.equal(bucketBound(-1, -53, cv), -Infinity);
  assert.throws(() => bucketBound(3, -53, cv), HistogramError);
});

Deno.test("bucket iteration gives bounds, inclusivity and zero bucket clipping", () => {
  const h = H({ schema: 0, zt: 0.75, zc: 3, pos: { 0: 1, 1: 2 }, neg: { 0: 4, 2: 5 } });
  assert.deepEqual(positiveBuckets(h).map((b) => [b.lower, b.upper, b.count]), [[0.5, 1, 1], [
    1,
    2,
    2,
  ]]);
  assert.deepEqual(negativeBuckets(h).map((b) => [b.lower, b.upper, b.count]), [[-1, -0.5, 4], [
    -4,
    -2,
    5,
  ]]);
  const all = allBuckets(h);
  assert.deepEqual(all.map((b) => [b.lower, b.upper, b.count]), [
    [-4, -2, 5],
    [-1, -0.75, 4],
    [-0.75, 0.75, 3],
    [0.75, 1, 1],
    [1, 2, 2],
  ]);
  assert.deepEqual(all.map((b) => [b.lowerInclusive, b.upperInclusive]), [
    [true, false],
    [true, false],
    [true, true],
    [false, true],
    [false, true],
  ]);
  const c = H({ custom: [1, 2], pos: { 0: 1, 2: 3 } });
  assert.deepEqual(
    allBuckets(c).map((b) => [b.lower, b.upper, b.lowerInclusive, b.upperInclusive]),
    [
      [-Infinity, 1, true, true],
      [2, Infinity, false, true],
    ],
  );
});

Deno.test("compactHistogram drops empty buckets and merges spans up to the allowed gap", () => {
  const h = H({ pos: { 0: 0, 1: 1, 2: 0, 5: 0, 6: 2 }, neg: { 3: 0 } });
  const c0 = compactHistogram(h);
  assert.deepEqual(c0.positiveSpans, [{ offset: 1, length: 1 }, { offset: 4, length: 1 }]);
  assert.deepEqual([...c0.positiveBuckets], [1, 2]);
  assert.deepEqual(c0.negativeSpans, []);
  const c4 = compactHistogram(h, 4);
  assert.deepEqual(c4.positiveSpans, [{ offset: 1, length: 6 }]);
  assert.deepEqual([...c4.positiveBuckets], [1, 0, 0, 0, 0, 2]);
  assert.equal(compactHistogram(h, 3).positiveSpans.length, 2);
  // The input is untouched.
  assert.equal(h.positiveBuckets.length, 5);
});

Deno.test("reduceResolution merges 2^d neighbours: (1,√2] and (√2,2] become (1,2]", () => {
  const h = H({ schema: 1, pos: { [-1]: 5, 0: 6, 1: 1, 2: 2, 3: 3, 4: 4 }, neg: { 1: 7 } });
  const r = reduceResolution(h, 0);
  assert.equal(r.schema, 0);
  assert.deepEqual(pos(r), { 0: 11, 1: 3, 2: 7 });
  assert.deepEqual(neg(r), { 1: 7 });
  assert.deepEqual(pos(reduceResolution(h, -1)), { 0: 11, 1: 10 });
  assert.throws(() => reduceResolution(h, 1), /cannot reduce resolution from schema 1 to 1/);
  assert.throws(() => reduceResolution(H({ custom: [1] }), -1), /custom buckets/);
});

Deno.test("addHistograms reduces to the coarser schema", () => {
  const a = H({ schema: 1, count: 10, sum: 20, pos: { 1: 1, 2: 2, 3: 3, 4: 4 } });
  const b = H({ schema: 0, count: 5, sum: 7, pos: { 1: 2, 3: 3 } });
  for (const r of [addHistograms(a, b), addHistograms(b, a)]) {
    assert.equal(r.histogram.schema, 0);
    assert.equal(r.histogram.count, 15);
    assert.equal(r.histogram.sum, 27);
    assert.deepEqual(pos(compactHistogram(r.histogram)), { 1: 5, 2: 7, 3: 3 });
    assert.equal(r.counterResetCollision, false);
  }
  assert.equal(a.schema, 1);
  assert.deepEqual(pos(a), { 1: 1, 2: 2, 3: 3, 4: 4 });
});

Deno.test("addHistograms widens the zero bucket, absorbing buckets below the new threshold", () => {
  const a = H({ zt: 0.5, zc: 2, count: 6, pos: { 0: 1, 1: 3 } });
  const b = H({ zt: 1, zc: 1, count: 10, pos: { 1: 4, 2: 5 } });
  const r = compactHistogram(addHistograms(a, b).histogram);
  assert.equal(r.zeroThreshold, 1);
  // a's (0.5,1] bucket joins its zero bucket: 2 + 1, plus b's 1.
  assert.equal(r.zeroCount, 4);
  assert.deepEqual(pos(r), { 1: 7, 2: 5 });
  assert.equal(r.count, 16);
  // A new threshold inside a populated bucket moves up to that bucket's upper bound.
  const c = H({ count: 2, pos: { 0: 2 } });
  const d = H({ zt: 0.7, zc: 1, count: 1 });
  const s = compactHistogram(addHistograms(c, d).histogram);
  assert.equal(s.zeroThreshold, 1);
  assert.equal(s.zeroCount, 3);
  assert.deepEqual(pos(s), {});
  // b's buckets below a larger threshold of a are counted in the zero bucket, not twice.
  const e = H({ zt: 2, zc: 1, count: 1 });
  const f = H({ count: 5, pos: { 0: 1, 1: 2, 2: 2 }, neg: { 1: 3 } });
  const t = compactHistogram(addHistograms(e, f).histogram);
  assert.equal(t.zeroThreshold, 2);
  assert.equal(t.zeroCount, 1 + 1 + 2 + 3);
  assert.deepEqual(pos(t), { 2: 2 });
  assert.deepEqual(neg(t), {});
});

Deno.test("subHistograms subtracts bucket by bucket, keeping the layout", () => {
  const a = H({ count: 10, sum: 20, zc: 1, pos: { 1: 4, 2: 5 }, neg: { 0: 1 } });
  const b = H({ count: 3, sum: 2, pos: { 2: 1, 3: 2 }, neg: { 0: 1 } });
  const r = subHistograms(a, b).histogram;
  assert.equal(r.count, 7);
  assert.equal(r.sum, 18);
  assert.equal(r.zeroCount, 1);
  assert.deepEqual(pos(r), { 1: 4, 2: 4, 3: -2 });
  assert.deepEqual(neg(r), { 0: 0 });
  assert.deepEqual(neg(compactHistogram(r)), {});
});

Deno.test("custom buckets: same bounds add, different bounds meet on their intersection", () => {
  const a = H({ custom: [1, 2, 4], count: 10, pos: { 0: 1, 1: 2, 2: 3, 3: 4 } });
  const same = addHistograms(a, a);
  assert.deepEqual(pos(same.histogram), { 0: 2, 1: 4, 2: 6, 3: 8 });
  assert.equal(same.nhcbBoundsReconciled, false);
  const b = H({ custom: [2, 4, 8], count: 4, pos: { 0: 1, 1: 1, 2: 1, 3: 1 } });
  assert.deepEqual([...intersectCustomBounds(a.customValues, b.customValues)], [2, 4]);
  const r = addHistograms(a, b);
  assert.equal(r.nhcbBoundsReconciled, true);
  assert.deepEqual([...r.histogram.customValues], [2, 4]);
  // a: ≤2 → 1+2, (2,4] → 3, +Inf → 4; b: ≤2 → 1, (2,4] → 1, (4,8] and +Inf → +Inf.
  assert.deepEqual(pos(r.histogram), { 0: 4, 1: 4, 2: 6 });
  assert.equal(r.histogram.count, 14);
  const d = subHistograms(a, b).histogram;
  assert.deepEqual(pos(d), { 0: 2, 1: 2, 2: 2 });
  assert.throws(
    () => addHistograms(a, H({ count: 1 })),
    /mix of exponential and custom bucket schemas/,
  );
});

Deno.test("counter reset hints combine as Prometheus does", () => {
  const hint = (x: CounterResetHint, y: CounterResetHint) => {
    const r = addHistograms(H({ hint: x }), H({ hint: y }));
    return [r.histogram.counterResetHint, r.counterResetCollision];
  };
  const { Unknown, CounterReset, NotCounterReset, Gauge } = CounterResetHint;
  assert.deepEqual(hint(CounterReset, NotCounterReset), [Unknown, true]);
  assert.deepEqual(hint(NotCounterReset, CounterReset), [Unknown, true]);
  assert.deepEqual(hint(CounterReset, CounterReset), [CounterReset, false]);
  assert.deepEqual(hint(Unknown, Gauge), [Gauge, false]);
  assert.deepEqual(hint(Gauge, CounterReset), [Gauge, false]);
  assert.deepEqual(hint(NotCounterReset, Unknown), [Unknown, false]);
  assert.deepEqual(hint(Unknown, CounterReset), [Unknown, false]);
});

Deno.test("kahanAddHistogram keeps what plain addition loses", () => {
  const big = H({ count: 1e100, sum: 1e100, zc: 1e100, pos: { 1: 1e100 } });
  const one = H({ count: 1, sum: 1, zc: 1, pos: { 1: 1, 2: 1 } });
  const minus = H({ count: -1e100, sum: -1e100, zc: -1e100, pos: { 1: -1e100 } });
  const plain = addHistograms(addHistograms(big, one).histogram, minus).histogram;
  assert.equal(plain.count, 0);
  const k1 = kahanAddHistogram(big, one);
  const k2 = kahanAddHistogram(k1.sum, minus, k1.c);
  const total = addHistograms(k2.sum, k2.c).histogram;
  assert.equal(total.count, 1);
  assert.equal(total.sum, 1);
  assert.equal(total.zeroCount, 1);
  assert.deepEqual(pos(compactHistogram(total)), { 1: 1, 2: 1 });
  // Custom buckets with matching bounds take the same path.
  const cb = (n: number) => H({ custom: [1], count: n, pos: { 0: n } });
  const c1 = kahanAddHistogram(cb(1e100), cb(1));
  const c2 = kahanAddHistogram(c1.sum, cb(-1e100), c1.c);
  assert.deepEqual(pos(compactHistogram(addHistograms(c2.sum, c2.c).histogram)), { 0: 1 });
  // A finer histogram added to a coarser sum is merged first.
  const fine = H({ schema: 1, count: 2, pos: { 1: 1, 2: 1 } });
  const k3 = kahanAddHistogram(H({ count: 1, pos: { 1: 1 } }), fine);
  assert.deepEqual(pos(addHistograms(k3.sum, k3.c).histogram), { 1: 3 });
});

Deno.test("mulHistogram and divHistogram scale everything; negative factors make gauges", () => {
  const h = H({
    count: 4,
    sum: 6,
    zc: 1,
    pos: { 1: 2 },
    neg: { 0: 1 },
    hint: CounterResetHint.NotCounterReset,
  });
  const m = mulHistogram(h, -2);
  assert.deepEqual([m.count, m.sum, m.zeroCount], [-8, -12, -2]);
  assert.deepEqual(pos(m), { 1: -4 });
  assert.deepEqual(neg(m), { 0: -2 });
  assert.equal(m.counterResetHint, CounterResetHint.Gauge);
  const d = divHistogram(h, 4);
  assert.deepEqual([d.count, d.sum, d.zeroCount], [1, 1.5, 0.25]);
  assert.deepEqual(pos(d), { 1: 0.5 });
  assert.equal(d.counterResetHint, CounterResetHint.NotCounterReset);
  const z = divHistogram(h, 0);
  assert.deepEqual([z.count, z.sum, z.zeroCount], [Infinity, Infinity, Infinity]);
  assert.deepEqual([z.positiveSpans, z.negativeSpans], [[], []]);
  assert.ok(hasOverflow(z));
  assert.ok(!hasOverflow(h));
  assert.equal(h.count, 4);
});

Deno.test("histogramsEqual compares layout and bits, ignoring zero-length spans", () => {
  const a = H({ count: 3, sum: 2, pos: { 1: 1, 3: 2 } });
  const b = {
    ...a,
    positiveSpans: [{ offset: 1, length: 1 }, { offset: 0, length: 0 }, { offset: 1, length: 1 }],
  };
  assert.ok(histogramsEqual(a, b));
  assert.ok(!histogramsEqual(a, { ...a, sum: -0 + 2.0000000000000004 }));
  assert.ok(!histogramsEqual(H({ sum: 0 }), H({ sum: -0 })));
  assert.ok(histogramsEqual(H({ sum: NaN }), H({ sum: NaN })));
  // Same values, but one layout has an explicit empty bucket: not equal until compacted.
  const c = H({ count: 3, sum: 2, pos: { 1: 1, 2: 0, 3: 2 } });
  assert.ok(!histogramsEqual(a, c));
  assert.ok(histogramsEqual(a, compactHistogram(c)));
  assert.ok(histogramsEqual(a, { ...a, counterResetHint: CounterResetHint.Gauge }));
  assert.ok(!histogramsEqual(H({ custom: [1] }), H({ custom: [2] })));
});

Deno.test("detectReset: hints first, then counts, buckets, schema and zero threshold", () => {
  const prev = H({ count: 5, zc: 1, pos: { 1: 2, 2: 2 } });
  assert.equal(detectReset(H({ count: 6, zc: 1, pos: { 1: 3, 2: 2 } }), prev), false);
  assert.equal(detectReset(H({ count: 4, zc: 1, pos: { 1: 2, 2: 2 } }), prev), true);
  assert.equal(detectReset(H({ count: 6, zc: 1, pos: { 1: 1, 2: 5 } }), prev), true);
  // A populated bucket of prev missing in cur.
  assert.equal(detectReset(H({ count: 6, zc: 1, pos: { 1: 5 } }), prev), true);
  assert.equal(detectReset(H({ count: 6, zc: 0, pos: { 1: 3, 2: 3 } }), prev), true);
  assert.equal(detectReset(H({ count: 1, hint: CounterResetHint.NotCounterReset }), prev), false);
  assert.equal(detectReset(H({ count: 9, hint: CounterResetHint.CounterReset }), H({})), true);
  // Higher resolution than before: reset. Lower: prev's buckets are merged first.
  assert.equal(detectReset(H({ schema: 1, count: 6 }), H({ count: 1 })), true);
  assert.equal(
    detectReset(
      H({ schema: 0, count: 4, pos: { 1: 4 } }),
      H({ schema: 1, count: 4, pos: { 1: 2, 2: 2 } }),
    ),
    false,
  );
  assert.equal(
    detectReset(
      H({ schema: 0, count: 4, pos: { 1: 3 } }),
      H({ schema: 1, count: 3, pos: { 1: 2, 2: 2 } }),
    ),
    true,
  );
  // Zero threshold: a smaller one is a reset; a larger one absorbs prev's low buckets.
  assert.equal(detectReset(H({ zt: 0.5, count: 9 }), H({ zt: 1, count: 1 })), true);
  assert.equal(detectReset(H({ zt: 1, zc: 3, count: 3 }), H({ count: 3, pos: { 0: 3 } })), false);
  assert.equal(
    detectReset(H({ zt: 1, zc: 2, count: 3, pos: { 1: 1 } }), H({ count: 3, pos: { 0: 3 } })),
    true,
  );
  // A threshold splitting a populated bucket of prev.
  assert.equal(detectReset(H({ zt: 0.7, zc: 9, count: 9 }), H({ count: 2, pos: { 0: 2 } })), true);
});

Deno.test("detectReset: custom buckets, matching and mismatched bounds", () => {
  const prev = H({ custom: [2, 4], count: 3, pos: { 0: 3 } });
  assert.equal(detectReset(H({ custom: [2, 4], count: 3, pos: { 0: 3 } }), prev), false);
  assert.equal(detectReset(H({ custom: [2, 4], count: 3, pos: { 0: 2, 1: 1 } }), prev), true);
  // Compared on the common bounds 2, 4, +Inf: below 2 cur has 1 + 1 < 3.
  assert.equal(
    detectReset(H({ custom: [1, 2, 4], count: 4, pos: { 0: 1, 1: 1, 2: 1, 3: 1 } }), prev),
    true,
  );
  assert.equal(
    detectReset(
      H({ custom: [1, 2, 4], count: 4, pos: { 0: 1, 1: 2, 2: 1 } }),
      H({ custom: [2, 4], count: 3, pos: { 0: 3 } }),
    ),
    false,
  );
  assert.equal(detectReset(H({ custom: [2], count: 9 }), H({ count: 1 })), true);
});

Deno.test("histogramQuantile interpolates exponentially in exponential buckets", () => {
  // Two observations in (1,2], two in (2,4].
  const h = H({ count: 4, sum: 6, pos: { 1: 2, 2: 2 } });
  close(histogramQuantile(0.5, h).value, 2);
  close(histogramQuantile(0.25, h).value, Math.SQRT2);
  close(histogramQuantile(0.75, h).value, 2 ** 1.5);
  close(histogramQuantile(1, h).value, 4);
  close(histogramQuantile(0, h).value, 1);
  assert.equal(histogramQuantile(-0.1, h).value, -Infinity);
  assert.equal(histogramQuantile(1.1, h).value, Infinity);
  assert.ok(Number.isNaN(histogramQuantile(NaN, h).value));
  assert.ok(Number.isNaN(histogramQuantile(0.5, H({})).value));
  // Negative buckets mirror the interpolation: [-4,-2) and [-2,-1).
  const n = H({ count: 4, sum: -6, neg: { 1: 2, 2: 2 } });
  close(histogramQuantile(0.25, n).value, -(2 ** 1.5));
  close(histogramQuantile(0.75, n).value, -Math.SQRT2);
});

Deno.test("histogramQuantile: zero bucket and custom buckets interpolate linearly", () => {
  // Zero bucket [-1,1] holds 2, but with only positive buckets it is taken as [0,1].
  const z = H({ zt: 1, zc: 2, count: 4, sum: 3, pos: { 1: 2 } });
  close(histogramQuantile(0.25, z).value, 0.5);
  const both = H({ zt: 1, zc: 2, count: 4, sum: 0, pos: { 1: 1 }, neg: { 1: 1 } });
  close(histogramQuantile(0.5, both).value, 0);
  // Custom bounds 1, 2: (-Inf,1] 1, (1,2] 2, (2,+Inf] 1.
  const c = H({ custom: [1, 2], count: 4, sum: 5, pos: { 0: 1, 1: 2, 2: 1 } });
  close(histogramQuantile(0.5, c).value, 1.5);
  // In the first bucket the lower bound is taken as 0.
  close(histogramQuantile(0.1, c).value, 0.4);
  // In the +Inf bucket the result is its lower bound.
  assert.equal(histogramQuantile(0.9, c).value, 2);
  // A first bucket ending at or below 0 returns its upper bound.
  const neg = H({ custom: [-1, 2], count: 2, sum: -1, pos: { 0: 1, 1: 1 } });
  assert.equal(histogramQuantile(0.25, neg).value, -1);
});

Deno.test("histogramQuantile with NaN observations (sum NaN, buckets short of count)", () => {
  const h = H({ count: 4, sum: NaN, pos: { 1: 2 } });
  const low = histogramQuantile(0.25, h);
  close(low.value, Math.SQRT2);
  assert.deepEqual([low.nanResult, low.nanSkew], [false, true]);
  const high = histogramQuantile(0.9, h);
  assert.ok(Number.isNaN(high.value));
  assert.equal(high.nanResult, true);
});

Deno.test("histogramFraction interpolates like the quantile", () => {
  const h = H({ count: 4, sum: 6, pos: { 1: 2, 2: 2 } });
  close(histogramFraction(-Infinity, 2, h).value, 0.5);
  close(histogramFraction(2, Infinity, h).value, 0.5);
  close(histogramFraction(-Infinity, Infinity, h).value, 1);
  // log2(1.5) of (1,2] below 1.5 and log2(3) - 1 of (2,4] below 3.
  const lowRank = 2 * Math.log2(1.5);
  const highRank = 2 + 2 * (Math.log2(3) - 1);
  close(histogramFraction(1.5, 3, h).value, (highRank - lowRank) / 4);
  assert.equal(histogramFraction(3, 1, h).value, 0);
  assert.ok(Number.isNaN(histogramFraction(NaN, 1, h).value));
  assert.ok(Number.isNaN(histogramFraction(0, 1, H({})).value));
  // Custom buckets: linear. The first bucket (-Inf,1] spans zero and, without negative
  // buckets, is taken as [0,1]: all of it lies above 0.
  const c = H({ custom: [1, 2], count: 4, sum: 5, pos: { 0: 1, 1: 2, 2: 1 } });
  close(histogramFraction(0, 1.5, c).value, (1 + 1) / 4);
  close(histogramFraction(0.5, 1.5, c).value, (0.5 + 1) / 4);
  close(histogramFraction(1.5, 2, c).value, 1 / 4);
  // Zero bucket with only positive neighbours covers [0, zt].
  const z = H({ zt: 1, zc: 2, count: 4, sum: 3, pos: { 1: 2 } });
  close(histogramFraction(0, 0.5, z).value, 0.25);
  const n = H({ count: 4, sum: NaN, pos: { 1: 2 } });
  const r = histogramFraction(-Infinity, Infinity, n);
  close(r.value, 0.5);
  assert.equal(r.nanObservations, true);
});

Deno.test("histogramStdVar and histogramStdDev use bucket midpoints around sum / count", () => {
  const h = H({ count: 4, sum: 6, pos: { 1: 2, 2: 2 } });
  const mean = 1.5;
  const expected = (2 * (Math.SQRT2 - mean) ** 2 + 2 * (Math.sqrt(8) - mean) ** 2) / 4;
  close(histogramStdVar(h), expected);
  close(histogramStdDev(h), Math.sqrt(expected));
  // Zero bucket counts at 0, negative buckets at the negated geometric mean.
  const z = H({ zt: 1, zc: 1, count: 2, sum: -1, neg: { 1: 1 } });
  close(histogramStdVar(z), ((0 + 0.5) ** 2 + (-Math.SQRT2 + 0.5) ** 2) / 2);
  // Custom buckets count at the arithmetic midpoint.
  const c = H({ custom: [1, 3], count: 2, sum: 4, pos: { 1: 2 } });
  close(histogramStdVar(c), 0);
});

Deno.test("trimHistogram keeps observations below (</) or above (>/) the trim value", () => {
  // Custom bounds 1, 2: (1,2] holds 2 observations. Trimming at 1.5 keeps half.
  const c = H({ custom: [1, 2], count: 4, sum: 6, pos: { 1: 2, 2: 2 } });
  const below = trimHistogram(c, 1.5, true);
  assert.deepEqual(pos(below), { 1: 1 });
  assert.equal(below.count, 1);
  // The kept part [1,1.5] is counted at its midpoint 1.25.
  close(below.sum, 1.25);
  const above = trimHistogram(c, 1.5, false);
  // (1.5,2] keeps 1 at 1.75; (2,+Inf] keeps all, counted at its lower bound 2.
  assert.deepEqual(pos(above), { 1: 1, 2: 2 });
  assert.equal(above.count, 3);
  close(above.sum, 1.75 + 2 * 2);
  // Nothing to trim: the histogram comes back unchanged.
  const same = trimHistogram(H({ count: 2, sum: 3, pos: { 1: 2 } }), 10, true);
  assert.deepEqual([same.count, same.sum], [2, 3]);
  // Exponential: (1,2] split at √2 keeps half on a log scale; the midpoint is geometric.
  const e = trimHistogram(H({ count: 2, sum: 3, pos: { 1: 2 } }), Math.SQRT2, true);
  close(e.count, 1);
  close(e.sum, Math.sqrt(Math.SQRT2));
  // Zero bucket [0,1] (positive neighbours only) trimmed at 0.5 from above keeps half.
  const z = trimHistogram(H({ zt: 1, zc: 2, count: 3, sum: 2, pos: { 1: 1 } }), 0.5, false);
  close(z.zeroCount, 1);
  close(z.count, 2);
  close(z.sum, 0.75 + Math.SQRT2);
});

Deno.test("HistogramAggregator sums with Kahan compensation and averages", () => {
  const hs = [
    H({ count: 2, sum: 3, pos: { 1: 2 }, hint: CounterResetHint.CounterReset }),
    H({ count: 4, sum: 5, pos: { 1: 1, 2: 3 } }),
    H({ schema: 1, count: 6, sum: 1, pos: { 1: 6 }, hint: CounterResetHint.NotCounterReset }),
  ];
  const sum = new HistogramAggregator("sum");
  const avg = new HistogramAggregator("avg");
  for (const h of hs) {
    sum.add(h);
    avg.add(h);
  }
  const s = sum.result()!;
  assert.equal(s.schema, 0);
  assert.deepEqual([s.count, s.sum], [12, 9]);
  // Schema 1 bucket 1, (1,√2], lies in schema 0 bucket 1.
  assert.deepEqual(pos(s), { 1: 9, 2: 3 });
  assert.equal(sum.counterResetCollision, true);
  const a = avg.result()!;
  assert.deepEqual([a.count, a.sum], [4, 3]);
  assert.deepEqual(pos(a), { 1: 3, 2: 1 });
  // 1e308 twice overflows the direct sum: the mean switches to the incremental formula.
  const big = new HistogramAggregator("avg");
  for (const n of [1e308, 1e308, 4e307]) big.add(H({ count: n, sum: n, pos: { 0: n } }));
  const m = big.result()!;
  close(m.count, 8e307);
  close(pos(m)[0], 8e307);
  // Mixing exponential and custom buckets gives no result.
  const mixed = new HistogramAggregator("sum");
  mixed.add(hs[0]);
  mixed.add(H({ custom: [1], count: 1, pos: { 0: 1 } }));
  assert.equal(mixed.incompatible, true);
  assert.equal(mixed.result(), undefined);
  const nhcb = new HistogramAggregator("sum");
  nhcb.add(H({ custom: [1, 2], count: 2, pos: { 0: 1, 1: 1 } }));
  nhcb.add(H({ custom: [2], count: 1, pos: { 1: 1 } }));
  assert.equal(nhcb.nhcbBoundsReconciled, true);
  assert.deepEqual(pos(nhcb.result()!), { 0: 2, 1: 1 });
  assert.equal(new HistogramAggregator("sum").result(), undefined);
});

Deno.test("histogramIncrease: last minus first, adding back what resets lost", () => {
  const { Gauge } = CounterResetHint;
  const plain = histogramIncrease([
    H({ count: 2, sum: 2, pos: { 1: 2 } }),
    H({ count: 5, sum: 9, pos: { 1: 3, 2: 2 } }),
  ], true);
  assert.deepEqual([plain.histogram!.count, plain.histogram!.sum], [3, 7]);
  assert.deepEqual(pos(plain.histogram!), { 1: 1, 2: 2 });
  assert.equal(plain.histogram!.counterResetHint, Gauge);
  // 4 → 1 (reset: +1 from zero) → 3 (+2): an increase of 3.
  const reset = histogramIncrease([
    H({ count: 4, pos: { 1: 4 } }),
    H({ count: 1, pos: { 1: 1 } }),
    H({ count: 3, pos: { 1: 3 } }),
  ], true).histogram!;
  assert.equal(reset.count, 3);
  assert.deepEqual(pos(reset), { 1: 3 });
  // A reset right after the first sample: 1 then +1.
  const early = histogramIncrease([
    H({ count: 5, pos: { 1: 5 } }),
    H({ count: 1, pos: { 1: 1 } }),
    H({ count: 2, pos: { 1: 2 } }),
  ], true).histogram!;
  assert.equal(early.count, 2);
  assert.deepEqual(pos(early), { 1: 2 });
  // Different schemas meet at the lowest.
  const coarse = histogramIncrease([
    H({ schema: 1, count: 2, pos: { 1: 1, 2: 1 } }),
    H({ schema: 0, count: 4, pos: { 1: 4 } }),
  ], true).histogram!;
  assert.equal(coarse.schema, 0);
  assert.deepEqual(pos(coarse), { 1: 2 });
  // delta does not look for resets and wants gauges.
  const delta = histogramIncrease(
    [H({ count: 4, pos: { 1: 4 } }), H({ count: 1, pos: { 1: 1 } })],
    false,
  );
  assert.deepEqual(pos(delta.histogram!), { 1: -3 });
  assert.equal(delta.notGauge, true);
  const gauges = [H({ count: 1, hint: Gauge }), H({ count: 2, hint: Gauge })];
  assert.equal(histogramIncrease(gauges, false).notGauge, false);
  assert.equal(histogramIncrease(gauges, true).notCounter, true);
  // Floats among the histograms, or custom and exponential buckets mixed: no result.
  const mixed = histogramIncrease([H({ count: 1 }), undefined, H({ count: 2 })], true);
  assert.deepEqual([mixed.histogram, mixed.mixedFloatsHistograms], [undefined, true]);
  // (A reset right after the first sample would discard it, incompatible or not.)
  const schemas = histogramIncrease([
    H({ count: 1 }),
    H({ count: 2 }),
    H({ custom: [1], count: 3 }),
  ], true);
  const dropped = histogramIncrease([H({ count: 1 }), H({ custom: [1], count: 2 })], true);
  assert.equal(dropped.histogram!.count, 2);
  assert.deepEqual([schemas.histogram, schemas.mixedExponentialCustom], [undefined, true]);
  const bounds = histogramIncrease([
    H({ custom: [1, 2], count: 1, pos: { 0: 1 } }),
    H({ custom: [2], count: 3, pos: { 0: 3 } }),
  ], true);
  assert.equal(bounds.nhcbBoundsReconciled, true);
  assert.deepEqual(pos(bounds.histogram!), { 0: 2 });
});

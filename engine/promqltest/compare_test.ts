import assert from "node:assert/strict";
import { CounterResetHint, type FloatHistogram } from "../../model/histogram.ts";
import { labelsFromRecord } from "../../model/labels.ts";
import { STALE_NAN } from "../../model/series.ts";
import type { MatrixSeries, Sample } from "../value.ts";
import { almostEqual, compareResult, formatHistogram, histogramsMatch } from "./compare.ts";
import { type EvalCommand, parseScript } from "./script.ts";

Deno.test("almostEqual: relative epsilon over the sum of magnitudes", () => {
  // |a-b| / (|a|+|b|) = 1e-6 / 2.000001 < 1e-6.
  assert.ok(almostEqual(1, 1.000001));
  // 2.1e-6 / 2.0000021 > 1e-6.
  assert.ok(!almostEqual(1, 1.0000021));
  assert.ok(almostEqual(1e300, 1e300 * (1 + 1e-7)));
  assert.ok(almostEqual(Number.MAX_VALUE, Number.MAX_VALUE));
  assert.ok(almostEqual(Infinity, Infinity));
  assert.ok(!almostEqual(Infinity, -Infinity));
  assert.ok(!almostEqual(Infinity, 1e308));
  // Zero on one side: only differences below epsilon × smallest normal count.
  assert.ok(!almostEqual(0, 1e-300));
  assert.ok(almostEqual(0, -0));
  assert.ok(almostEqual(0, 1e-323));
  assert.ok(almostEqual(NaN, NaN));
  assert.ok(!almostEqual(NaN, 1));
  assert.ok(almostEqual(STALE_NAN, STALE_NAN));
  assert.ok(!almostEqual(STALE_NAN, NaN));
  assert.ok(!almostEqual(NaN, STALE_NAN));
});

function h(fields: Partial<FloatHistogram>): FloatHistogram {
  return {
    counterResetHint: CounterResetHint.Unknown,
    schema: 0,
    zeroThreshold: 0,
    zeroCount: 0,
    count: 0,
    sum: 0,
    positiveSpans: [],
    negativeSpans: [],
    positiveBuckets: new Float64Array(0),
    negativeBuckets: new Float64Array(0),
    customValues: new Float64Array(0),
    ...fields,
  };
}

Deno.test("histogramsMatch ignores empty buckets and span layout", () => {
  // Buckets 1 and 4 holding 2 and 3, written as one span with zeros and as two spans.
  const a = h({
    count: 5,
    sum: 10,
    positiveSpans: [{ offset: 0, length: 5 }],
    positiveBuckets: Float64Array.of(0, 2, 0, 0, 3),
  });
  const b = h({
    count: 5,
    sum: 10.000001,
    positiveSpans: [{ offset: 1, length: 1 }, { offset: 2, length: 1 }],
    positiveBuckets: Float64Array.of(2, 3),
  });
  assert.ok(histogramsMatch(a, b, false));
  assert.ok(!histogramsMatch(a, { ...b, schema: 1 }, false));
  assert.ok(!histogramsMatch(a, { ...b, zeroThreshold: 0.001 }, false));
  assert.ok(!histogramsMatch(a, { ...b, positiveBuckets: Float64Array.of(2, 3.1) }, false));
  // The same counts in other buckets differ.
  const shifted = { ...b, positiveSpans: [{ offset: 2, length: 1 }, { offset: 1, length: 1 }] };
  assert.ok(!histogramsMatch(a, shifted, false));
  // Negative buckets count separately from positive ones.
  const neg = { ...b, negativeSpans: b.positiveSpans, negativeBuckets: b.positiveBuckets };
  assert.ok(!histogramsMatch(a, neg, false));
  // The hint matters only when the expectation states it.
  const gauge = { ...b, counterResetHint: CounterResetHint.Gauge };
  assert.ok(histogramsMatch(a, gauge, false));
  assert.ok(!histogramsMatch(a, gauge, true));
});

Deno.test("histogramsMatch compares custom bounds only for custom-bucket expectations", () => {
  const exp = h({
    schema: -53,
    count: 1,
    positiveSpans: [{ offset: 0, length: 1 }],
    positiveBuckets: Float64Array.of(1),
    customValues: Float64Array.of(1, 2),
  });
  assert.ok(histogramsMatch(exp, { ...exp, customValues: Float64Array.of(1, 2) }, false));
  assert.ok(!histogramsMatch(exp, { ...exp, customValues: Float64Array.of(1, 3) }, false));
  assert.ok(!histogramsMatch(exp, { ...exp, customValues: Float64Array.of(1) }, false));
});

Deno.test("formatHistogram writes a readable test-language literal", () => {
  assert.equal(
    formatHistogram(h({
      schema: 1,
      count: 4,
      sum: 3,
      zeroCount: 1,
      zeroThreshold: 0.5,
      positiveSpans: [{ offset: -1, length: 3 }],
      positiveBuckets: Float64Array.of(1, 0, 2),
      counterResetHint: CounterResetHint.Gauge,
    })),
    "{{schema:1 count:4 sum:3 z_bucket_w:0.5 z_bucket:1 buckets:{-1:1 1:2} counter_reset_hint:gauge}}",
  );
});

function evalOf(script: string): EvalCommand {
  const c = parseScript(script)[0];
  assert.equal(c.kind, "eval");
  return c as EvalCommand;
}

const sample = (rec: Record<string, string>, f: number, hist?: FloatHistogram): Sample => ({
  labels: labelsFromRecord(rec),
  t: 0,
  f,
  h: hist,
});

Deno.test("compareResult: vectors match by exact label set, order only when asked", () => {
  const ev = evalOf('eval instant at 0 x\n  x{a="1"} 1\n  {a="2"} 2\n');
  const good = [sample({ a: "2" }, 2), sample({ __name__: "x", a: "1" }, 1.0000001)];
  assert.equal(compareResult(ev, { type: "vector", samples: good }), undefined);
  assert.match(
    compareResult(ev, { type: "vector", samples: [sample({ __name__: "x", a: "2" }, 2)] })!,
    /unexpected metric x\{a="2"\}/,
  );
  assert.match(
    compareResult(ev, { type: "vector", samples: [good[0]] })!,
    /expected metric x\{a="1"\} with 1 not found \(result has \{a="2"\} 2\)$/,
  );
  assert.match(
    compareResult(ev, { type: "vector", samples: [sample({ a: "2" }, 3), good[1]] })!,
    /expected 2 for \{a="2"\} but got 3/,
  );
  const ordered = evalOf('eval instant at 0 x\n  expect ordered\n  x{a="1"} 1\n  {a="2"} 2\n');
  assert.match(
    compareResult(ordered, { type: "vector", samples: good })!,
    /at position 2 but was at 1/,
  );
  assert.equal(compareResult(ordered, { type: "vector", samples: [good[1], good[0]] }), undefined);
  assert.match(compareResult(ordered, { type: "matrix", series: [] })!, /ordered result/);
  const empty = evalOf("eval instant at 0 x\n");
  assert.equal(compareResult(empty, { type: "vector", samples: [] }), undefined);
  assert.equal(compareResult(empty, { type: "matrix", series: [] }), undefined);
});

Deno.test("compareResult: floats and histograms never match each other", () => {
  const hist = h({
    count: 2,
    sum: 1,
    positiveSpans: [{ offset: 0, length: 1 }],
    positiveBuckets: Float64Array.of(2),
  });
  const ev = evalOf("eval instant at 0 x\n  x {{count:2 sum:1 buckets:[2]}}\n");
  assert.equal(
    compareResult(ev, { type: "vector", samples: [sample({ __name__: "x" }, 0, hist)] }),
    undefined,
  );
  assert.match(
    compareResult(ev, { type: "vector", samples: [sample({ __name__: "x" }, 2)] })!,
    /expected histogram .* but got float value 2/,
  );
  const fl = evalOf("eval instant at 0 x\n  x 0\n");
  assert.match(
    compareResult(fl, { type: "vector", samples: [sample({ __name__: "x" }, 0, hist)] })!,
    /expected float value 0 for x but got histogram/,
  );
});

function series(rec: Record<string, string>, pts: [number, number][]): MatrixSeries {
  return {
    labels: labelsFromRecord(rec),
    floatTimes: pts.map((p) => p[0]),
    floatValues: pts.map((p) => p[1]),
    histograms: [],
  };
}

Deno.test("compareResult: matrices check sorting, timestamps from start + i × step, gaps", () => {
  const ev = evalOf('eval range from 1m to 3m step 1m x\n  x{a="1"} 1 _ 3\n  x{a="2"} _x2\n');
  const s1 = series({ __name__: "x", a: "1" }, [[60_000, 1], [180_000, 3]]);
  assert.match(
    compareResult(ev, { type: "matrix", series: [s1] })!,
    /expected metric x\{a="2"\} not found \(result has x\{a="1"\}\)$/,
  );
  const s2 = series({ __name__: "x", a: "2" }, []);
  assert.equal(compareResult(ev, { type: "matrix", series: [s1, s2] }), undefined);
  assert.match(compareResult(ev, { type: "matrix", series: [s2, s1] })!, /not sorted/);
  const late = series({ __name__: "x", a: "1" }, [[60_000, 1], [120_000, 3]]);
  assert.match(
    compareResult(ev, { type: "matrix", series: [late, s2] })!,
    /index 1 for x\{a="1"\} to have timestamp 180000, but it had timestamp 120000/,
  );
  const extra = series({ __name__: "x", a: "1" }, [[60_000, 1], [120_000, 2], [180_000, 3]]);
  assert.match(
    compareResult(ev, { type: "matrix", series: [extra, s2] })!,
    /expected 2 float points and 0 histogram points/,
  );
  const tooMany = evalOf("eval range from 0 to 1m step 1m x\n  x 1 2 3\n");
  assert.match(
    compareResult(tooMany, { type: "matrix", series: [series({ __name__: "x" }, [])] })!,
    /cannot return this many points/,
  );
});

Deno.test("compareResult: scalars and strings", () => {
  const ev = evalOf("eval instant at 0 1\n  1.0000001\n");
  assert.equal(compareResult(ev, { type: "scalar", t: 0, v: 1 }), undefined);
  assert.match(
    compareResult(ev, { type: "scalar", t: 0, v: 2 })!,
    /expected scalar 1.0000001 but got 2/,
  );
  assert.match(compareResult(ev, { type: "vector", samples: [] })!, /expected scalar result/);
  const noScalar = evalOf("eval instant at 0 1\n");
  assert.match(
    compareResult(noScalar, { type: "scalar", t: 0, v: 1 })!,
    /expected vector or matrix/,
  );
  const str = evalOf('eval instant at 0 "a"\n  expect string "a"\n');
  assert.equal(compareResult(str, { type: "string", t: 0, v: "a" }), undefined);
  assert.match(
    compareResult(str, { type: "string", t: 0, v: "b" })!,
    /expected string "a" but got "b"/,
  );
});

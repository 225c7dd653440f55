/**
 * Result comparison of the PromQL test language: floats with Prometheus' relative epsilon
 * (`util/almost`), native histograms after dropping empty buckets, and whole vector, matrix,
 * scalar and string results against an eval block's expectations.
 *
 * @module
 */
import type { BucketSpan, FloatHistogram } from "../../model/histogram.ts";
import { CUSTOM_BUCKETS_SCHEMA } from "../../model/histogram.ts";
import type { Labels } from "../../model/labels.ts";
import { compareLabels, labelsKey, labelsToString } from "../../model/labels.ts";
import { isStaleNaN } from "../../model/series.ts";
import { almostEqual as almost } from "../almost.ts";
import type { MatrixSeries, Sample, Value } from "../value.ts";
import type { EvalCommand } from "./script.ts";

/** The relative error the test language allows between expected and actual values. */
export const DEFAULT_EPSILON = 0.000001;

/**
 * Prometheus' `almost.Equal` with the test language's epsilon by default: equal within a
 * relative error over the sum of magnitudes; NaNs equal; stale markers equal only each other.
 */
export function almostEqual(a: number, b: number, epsilon = DEFAULT_EPSILON): boolean {
  return almost(a, b, epsilon);
}

// The non-empty buckets of one side as parallel index/count arrays, in index order.
function nonEmptyBuckets(
  spans: readonly BucketSpan[],
  buckets: Float64Array,
): [number[], number[]] {
  const idx: number[] = [];
  const counts: number[] = [];
  let i = 0;
  let b = 0;
  for (const s of spans) {
    i += s.offset;
    for (let j = 0; j < s.length; j++, i++, b++) {
      if (buckets[b] !== 0) {
        idx.push(i);
        counts.push(buckets[b]);
      }
    }
  }
  return [idx, counts];
}

function bucketsMatch(
  expSpans: readonly BucketSpan[],
  expBuckets: Float64Array,
  curSpans: readonly BucketSpan[],
  curBuckets: Float64Array,
): boolean {
  const [ei, ec] = nonEmptyBuckets(expSpans, expBuckets);
  const [ci, cc] = nonEmptyBuckets(curSpans, curBuckets);
  if (ei.length !== ci.length) return false;
  for (let k = 0; k < ei.length; k++) {
    if (ei[k] !== ci[k] || !almostEqual(ec[k], cc[k])) return false;
  }
  return true;
}

/**
 * Compares an expected and an actual histogram as the test language does: both compacted
 * (empty buckets dropped), schema and zero threshold exact, counts, sum and buckets within
 * epsilon, custom bounds equal when the expectation uses custom buckets, and the counter reset
 * hint only when the expected literal stated it.
 */
export function histogramsMatch(
  exp: FloatHistogram,
  cur: FloatHistogram,
  compareHint: boolean,
): boolean {
  if (
    exp.schema !== cur.schema || !almostEqual(exp.count, cur.count) ||
    !almostEqual(exp.sum, cur.sum)
  ) {
    return false;
  }
  if (exp.schema === CUSTOM_BUCKETS_SCHEMA) {
    if (exp.customValues.length !== cur.customValues.length) return false;
    for (let i = 0; i < exp.customValues.length; i++) {
      if (exp.customValues[i] !== cur.customValues[i]) return false;
    }
  }
  if (exp.zeroThreshold !== cur.zeroThreshold || !almostEqual(exp.zeroCount, cur.zeroCount)) {
    return false;
  }
  if (
    !bucketsMatch(exp.negativeSpans, exp.negativeBuckets, cur.negativeSpans, cur.negativeBuckets)
  ) {
    return false;
  }
  if (
    !bucketsMatch(exp.positiveSpans, exp.positiveBuckets, cur.positiveSpans, cur.positiveBuckets)
  ) {
    return false;
  }
  return !compareHint || exp.counterResetHint === cur.counterResetHint;
}

const HINT_NAMES = ["unknown", "reset", "not_reset", "gauge"];

/** Formats a histogram in the test language's `{{...}}` notation (for failure messages). */
export function formatHistogram(h: FloatHistogram): string {
  const parts: string[] = [];
  if (h.schema !== 0) parts.push(`schema:${h.schema}`);
  parts.push(`count:${h.count}`, `sum:${h.sum}`);
  if (h.zeroThreshold !== 0) parts.push(`z_bucket_w:${h.zeroThreshold}`);
  if (h.zeroCount !== 0) parts.push(`z_bucket:${h.zeroCount}`);
  if (h.customValues.length > 0) parts.push(`custom_values:[${h.customValues.join(" ")}]`);
  const side = (spans: readonly BucketSpan[], buckets: Float64Array, neg: boolean) => {
    const [idx, counts] = nonEmptyBuckets(spans, buckets);
    if (idx.length === 0) return;
    const pairs = idx.map((i, k) => `${i}:${counts[k]}`);
    parts.push(`${neg ? "n_buckets" : "buckets"}:{${pairs.join(" ")}}`);
  };
  side(h.positiveSpans, h.positiveBuckets, false);
  side(h.negativeSpans, h.negativeBuckets, true);
  if (h.counterResetHint !== 0) parts.push(`counter_reset_hint:${HINT_NAMES[h.counterResetHint]}`);
  return `{{${parts.join(" ")}}}`;
}

function formatValue(v: number | FloatHistogram | null): string {
  if (v === null) return "_";
  if (typeof v === "number") return isStaleNaN(v) ? "stale" : String(v);
  return formatHistogram(v);
}

function formatSeries(s: MatrixSeries): string {
  const floats = s.floatTimes.map((t, i) => `${s.floatValues[i]} @[${t}]`);
  const hists = s.histograms.map((p) => `${formatHistogram(p.h)} @[${p.t}]`);
  return `${floats.length} float point(s) [${
    floats.join(", ")
  }] and ${hists.length} histogram point(s) [${hists.join(", ")}]`;
}

/** Reports the first label set out of order in a matrix, or `undefined` when it is sorted. */
export function checkMatrixSorted(series: readonly { labels: Labels }[]): string | undefined {
  for (let i = 0; i + 1 < series.length; i++) {
    if (compareLabels(series[i].labels, series[i + 1].labels) > 0) {
      return `matrix results should always be sorted by labels, but matrix is not sorted: series at index ${
        i + 1
      } with labels ${
        labelsToString(series[i + 1].labels)
      } sorts before series at index ${i} with labels ${labelsToString(series[i].labels)}`;
    }
  }
  return undefined;
}

function isOrdered(ev: EvalCommand): boolean {
  return ev.ordered || ev.expects.ordered.length > 0;
}

/**
 * Compares a query result with an eval block's expectations. Returns the reason for the first
 * mismatch, or `undefined` when the result is as expected.
 */
export function compareResult(ev: EvalCommand, value: Value): string | undefined {
  switch (value.type) {
    case "matrix":
      return compareMatrix(ev, value.series);
    case "vector":
      return compareVector(ev, value.samples);
    case "scalar":
      if (ev.expectScalar === undefined) {
        return `expected vector or matrix result, but got scalar ${value.v}`;
      }
      if (!almostEqual(ev.expectScalar, value.v)) {
        return `expected scalar ${ev.expectScalar} but got ${value.v}`;
      }
      return undefined;
    case "string":
      if (ev.expectedString !== value.v) {
        return `expected string ${JSON.stringify(ev.expectedString ?? "")} but got ${
          JSON.stringify(value.v)
        }`;
      }
      return undefined;
  }
}

function compareMatrix(ev: EvalCommand, series: readonly MatrixSeries[]): string | undefined {
  if (isOrdered(ev)) return "expected ordered result, but query returned a matrix";
  if (ev.expectScalar !== undefined) {
    return `expected scalar result, but got matrix of ${series.length} series`;
  }
  const unsorted = checkMatrixSorted(series);
  if (unsorted) return unsorted;
  const seen = new Set<string>();
  for (const s of series) {
    const key = labelsKey(s.labels);
    const exp = ev.expected.get(key);
    if (!exp) {
      return `unexpected metric ${labelsToString(s.labels)} in result, has ${formatSeries(s)}`;
    }
    seen.add(key);
    const expFloats: [number, number][] = [];
    const expHists: [number, FloatHistogram, boolean][] = [];
    for (let i = 0; i < exp.values.length; i++) {
      const t = ev.start + i * ev.step;
      if (t > ev.end) {
        return `expected ${exp.values.length} points for ${
          labelsToString(exp.labels)
        }, but query time range cannot return this many points`;
      }
      const v = exp.values[i];
      if (v === null) continue;
      if (typeof v === "number") expFloats.push([t, v]);
      else expHists.push([t, v, exp.hintSet[i]]);
    }
    const name = labelsToString(exp.labels);
    if (expFloats.length !== s.floatTimes.length || expHists.length !== s.histograms.length) {
      return `expected ${expFloats.length} float points and ${expHists.length} histogram points for ${name}, but got ${
        formatSeries(s)
      }`;
    }
    for (let i = 0; i < expFloats.length; i++) {
      const [t, v] = expFloats[i];
      if (t !== s.floatTimes[i]) {
        return `expected float value at index ${i} for ${name} to have timestamp ${t}, but it had timestamp ${
          s.floatTimes[i]
        } (result has ${formatSeries(s)})`;
      }
      if (!almostEqual(s.floatValues[i], v)) {
        return `expected float value at index ${i} (t=${t}) for ${name} to be ${v}, but got ${
          s.floatValues[i]
        } (result has ${formatSeries(s)})`;
      }
    }
    for (let i = 0; i < expHists.length; i++) {
      const [t, h, hint] = expHists[i];
      const cur = s.histograms[i];
      if (t !== cur.t) {
        return `expected histogram value at index ${i} for ${name} to have timestamp ${t}, but it had timestamp ${cur.t} (result has ${
          formatSeries(s)
        })`;
      }
      if (!histogramsMatch(h, cur.h, hint)) {
        return `expected histogram value at index ${i} (t=${t}) for ${name} to be ${
          formatHistogram(h)
        }, but got ${formatHistogram(cur.h)}`;
      }
    }
  }
  for (const [key, exp] of ev.expected) {
    if (!seen.has(key)) {
      return `expected metric ${labelsToString(exp.labels)} not found (result has ${
        series.length === 0 ? "no series" : series.map((s) => labelsToString(s.labels)).join(", ")
      })`;
    }
  }
  return undefined;
}

// The first few samples of a result, for failure messages.
function describeSamples(samples: readonly Sample[]): string {
  if (samples.length === 0) return "no samples";
  const shown = samples.slice(0, 3).map((v) =>
    `${labelsToString(v.labels)} ${v.h ? formatHistogram(v.h) : String(v.f)}`
  );
  if (samples.length > 3) shown.push(`${samples.length - 3} more`);
  return shown.join(", ");
}

function compareVector(ev: EvalCommand, samples: readonly Sample[]): string | undefined {
  if (ev.expectScalar !== undefined) {
    return `expected scalar result, but got vector of ${samples.length} samples`;
  }
  const seen = new Set<string>();
  for (let pos = 0; pos < samples.length; pos++) {
    const v = samples[pos];
    const key = labelsKey(v.labels);
    const name = labelsToString(v.labels);
    const exp = ev.expected.get(key);
    if (!exp) {
      return `unexpected metric ${name} in result, has value ${
        v.h ? formatHistogram(v.h) : String(v.f)
      }`;
    }
    if (seen.has(key)) return `duplicate metric ${name} in result`;
    if (isOrdered(ev) && exp.pos !== pos + 1) {
      return `expected metric ${name} with ${
        exp.values.map(formatValue).join(" ")
      } at position ${exp.pos} but was at ${pos + 1}`;
    }
    if (exp.values.length === 0) return `expected metric ${name} has no value`;
    const e = exp.values[0];
    if (e === null) return `expected metric ${name} has no value (_)`;
    if (typeof e === "number") {
      if (v.h) {
        return `expected float value ${e} for ${name} but got histogram ${formatHistogram(v.h)}`;
      }
      if (!almostEqual(e, v.f)) return `expected ${e} for ${name} but got ${v.f}`;
    } else {
      if (!v.h) {
        return `expected histogram ${formatHistogram(e)} for ${name} but got float value ${v.f}`;
      }
      if (!histogramsMatch(e, v.h, exp.hintSet[0])) {
        return `expected ${formatHistogram(e)} for ${name} but got ${formatHistogram(v.h)}`;
      }
    }
    seen.add(key);
  }
  for (const [key, exp] of ev.expected) {
    if (!seen.has(key)) {
      return `expected metric ${labelsToString(exp.labels)} with ${
        exp.values.map(formatValue).join(" ")
      } not found (result has ${describeSamples(samples)})`;
    }
  }
  return undefined;
}

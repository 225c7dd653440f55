/**
 * Histogram functions: `histogram_quantile` and `histogram_fraction` over classic histograms
 * (float series with an `le` label) and native histograms, and `histogram_count`, `_sum`,
 * `_avg`, `_stddev`, `_stdvar` over native histograms.
 *
 * @module
 */
import type { Call, Expr } from "./ast.ts";
import { formatGoG } from "./printer.ts";
import { CUSTOM_BUCKETS_SCHEMA, type FloatHistogram } from "./histogram.ts";
import { getLabel, type Labels, labelsKey, METRIC_NAME, setLabel } from "./labels.ts";
import type { Evaluator } from "./evaluator.ts";
import { kahanInc, kahanOut } from "./kahan.ts";
import { type Bucket, bucketFraction, bucketQuantile } from "./quantile.ts";
import { FLOAT, HIST, SeriesBuilder, type StepSeries, type StepValue } from "./step_vector.ts";

/** Names of the functions this module evaluates. */
export const HISTOGRAM_FUNCTIONS: ReadonlySet<string> = new Set([
  "histogram_quantile",
  "histogram_quantiles",
  "histogram_fraction",
  "histogram_count",
  "histogram_sum",
  "histogram_avg",
  "histogram_stddev",
  "histogram_stdvar",
]);

/** One bucket of a native histogram with its bounds. */
interface NativeBucket {
  lower: number;
  upper: number;
  count: number;
}

/** Upper bound of bucket `idx` of an exponential schema. */
function exponentialBound(idx: number, schema: number): number {
  if (schema < 0) {
    const exp = idx * 2 ** -schema;
    if (exp >= 1024) return exp === 1024 ? Number.MAX_VALUE : Infinity;
    return 2 ** exp;
  }
  const b = 2 ** (idx / 2 ** schema);
  return b === Infinity && idx === 1024 * 2 ** schema ? Number.MAX_VALUE : b;
}

function spanBuckets(
  schema: number,
  spans: { offset: number; length: number }[],
  counts: Float64Array,
  custom: Float64Array,
  negative: boolean,
  out: NativeBucket[],
): void {
  let idx = 0;
  let k = 0;
  for (let s = 0; s < spans.length; s++) {
    idx += spans[s].offset;
    for (let j = 0; j < spans[s].length; j++, idx++, k++) {
      let lower: number;
      let upper: number;
      if (schema === CUSTOM_BUCKETS_SCHEMA) {
        lower = idx === 0 ? -Infinity : custom[idx - 1];
        upper = idx >= custom.length ? Infinity : custom[idx];
      } else {
        lower = exponentialBound(idx - 1, schema);
        upper = exponentialBound(idx, schema);
      }
      if (negative) out.push({ lower: -upper, upper: -lower, count: counts[k] });
      else out.push({ lower, upper, count: counts[k] });
    }
  }
}

/** All buckets in ascending order: negative, zero (if it has a count), positive. */
function allBuckets(h: FloatHistogram): NativeBucket[] {
  const neg: NativeBucket[] = [];
  spanBuckets(h.schema, h.negativeSpans, h.negativeBuckets, h.customValues, true, neg);
  neg.reverse();
  const zt = h.zeroThreshold;
  for (const b of neg) if (b.upper < 0 && b.upper > -zt) b.upper = -zt;
  if (h.zeroCount > 0) neg.push({ lower: -zt, upper: zt, count: h.zeroCount });
  const pos: NativeBucket[] = [];
  spanBuckets(h.schema, h.positiveSpans, h.positiveBuckets, h.customValues, false, pos);
  for (const b of pos) if (b.lower > 0 && b.lower < zt) b.lower = zt;
  return neg.concat(pos);
}

/** The φ-quantile of a native histogram. */
export function nativeQuantile(q: number, h: FloatHistogram): number {
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  if (h.count === 0 || Number.isNaN(q)) return NaN;
  const custom = h.schema === CUSTOM_BUCKETS_SCHEMA;
  let buckets = allBuckets(h);
  const forward = Number.isNaN(h.sum) || q < 0.5;
  if (!forward) buckets = buckets.reverse();
  let rank = forward ? q * h.count : (1 - q) * h.count;
  let count = 0;
  let bucket: NativeBucket = { lower: 0, upper: 0, count: 0 };
  let k = 0;
  for (; k < buckets.length; k++) {
    bucket = { ...buckets[k] };
    if (bucket.count === 0) continue;
    count += bucket.count;
    if (count >= rank) break;
  }
  if (!custom && bucket.lower < 0 && bucket.upper > 0) {
    if (h.negativeBuckets.length === 0 && h.positiveBuckets.length > 0) bucket.lower = 0;
    else if (h.positiveBuckets.length === 0 && h.negativeBuckets.length > 0) bucket.upper = 0;
  } else if (custom) {
    if (bucket.lower === -Infinity) {
      if (bucket.upper <= 0) return bucket.upper;
      bucket.lower = 0;
    } else if (bucket.upper === Infinity) return bucket.lower;
  }
  if (count > h.count) count = h.count;
  if (count < rank) return Number.isNaN(h.sum) ? NaN : bucket.upper;
  if (forward) rank -= count - bucket.count;
  else rank = count - rank;
  const fraction = rank / bucket.count;
  if (custom || (bucket.lower <= 0 && bucket.upper >= 0)) {
    return bucket.lower + (bucket.upper - bucket.lower) * fraction;
  }
  const logLower = Math.log2(Math.abs(bucket.lower));
  const logUpper = Math.log2(Math.abs(bucket.upper));
  if (bucket.lower > 0) return 2 ** (logLower + (logUpper - logLower) * fraction);
  return -(2 ** (logUpper + (logLower - logUpper) * (1 - fraction)));
}

/** The fraction of a native histogram's observations between `lower` and `upper`. */
export function nativeFraction(lower: number, upper: number, h: FloatHistogram): number {
  if (h.count === 0 || Number.isNaN(lower) || Number.isNaN(upper)) return NaN;
  if (lower >= upper) return 0;
  const custom = h.schema === CUSTOM_BUCKETS_SCHEMA;
  const buckets = allBuckets(h);
  let rank = 0, lowerRank = 0, upperRank = 0;
  let lowerSet = false, upperSet = false;
  let count = 0;
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
    const interp = (v: number) => {
      if (custom || zero) {
        if (b.lower === -Infinity) return b.count;
        return rank + b.count * (v - b.lower) / (b.upper - b.lower);
      }
      const logLower = Math.log2(Math.abs(b.lower));
      const logUpper = Math.log2(Math.abs(b.upper));
      const logV = Math.log2(Math.abs(v));
      const f = v > 0
        ? (logV - logLower) / (logUpper - logLower)
        : 1 - (logV - logUpper) / (logLower - logUpper);
      return rank + b.count * f;
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
      lowerRank = interp(lower);
      lowerSet = true;
    }
    if (!upperSet && b.lower < upper && b.upper > upper) {
      upperRank = interp(upper);
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    rank += b.count;
  }
  if (Number.isNaN(h.sum)) {
    for (k++; k < buckets.length; k++) count += buckets[k].count;
  } else count = h.count;
  if (!lowerSet || lowerRank > count) lowerRank = count;
  if (!upperSet || upperRank > count) upperRank = count;
  return (upperRank - lowerRank) / h.count;
}

function nativeVariance(h: FloatHistogram): number {
  const mean = h.sum / h.count;
  const custom = h.schema === CUSTOM_BUCKETS_SCHEMA;
  let variance = 0;
  let c = 0;
  for (const b of allBuckets(h)) {
    if (b.count === 0) continue;
    let val: number;
    if (custom) val = (b.upper + b.lower) / 2;
    else if (b.lower <= 0 && b.upper >= 0) val = 0;
    else {
      val = Math.sqrt(b.upper * b.lower);
      if (b.upper < 0) val = -val;
    }
    const d = val - mean;
    kahanInc(b.count * d * d, variance, c);
    variance = kahanOut[0];
    c = kahanOut[1];
  }
  return (variance + c) / h.count;
}

const SIMPLE_HIST: Record<string, (h: FloatHistogram) => number> = {
  histogram_count: (h) => h.count,
  histogram_sum: (h) => h.sum,
  histogram_avg: (h) => h.sum / h.count,
  histogram_stddev: (h) => Math.sqrt(nativeVariance(h)),
  histogram_stdvar: nativeVariance,
};

/** Evaluates one of {@linkcode HISTOGRAM_FUNCTIONS}. */
export async function evalHistogramFunction(ev: Evaluator, call: Call): Promise<StepValue> {
  const name = call.func.name;
  const n = ev.n;
  const simple = SIMPLE_HIST[name];
  if (simple) {
    const input = await ev.evalVector(call.args[0]);
    const out = new SeriesBuilder(n);
    for (const s of input) {
      let o = -1;
      for (let i = 0; i < n; i++) {
        if (s.k[i] !== HIST) continue;
        if (o < 0) o = out.index(ev.nameDropped(s.labels), true);
        out.putFloat(o, i, simple(s.h![i]!));
      }
    }
    return { type: "vector", series: out.result() };
  }
  const isFraction = name === "histogram_fraction";
  // histogram_quantile(φ, v), histogram_quantiles(v, "label", φ...), histogram_fraction(lo, hi, v).
  const vecArg = call.args[name === "histogram_quantiles" ? 0 : isFraction ? 2 : 1];
  const quantileLabel = name === "histogram_quantiles" ? stringArg(call.args[1]) : undefined;
  const paramArgs = name === "histogram_quantiles"
    ? call.args.slice(2)
    : isFraction
    ? call.args.slice(0, 2)
    : call.args.slice(0, 1);
  const params: Float64Array[] = [];
  for (const a of paramArgs) params.push(await ev.evalScalar(a));
  const input = await ev.evalVector(vecArg);
  const out = new SeriesBuilder(n);
  // Quantile φs of each output (one for histogram_quantile, several for histogram_quantiles).
  const qs = isFraction ? [params[0]] : params;
  if (!isFraction) {
    for (let a = 0; a < qs.length; a++) {
      for (let i = 0; i < n; i++) {
        const q = qs[a][i];
        if (Number.isNaN(q) || q < 0 || q > 1) {
          ev.warn(`quantile value should be between 0 and 1, got ${fmtG(q)}`, paramArgs[a].pos);
          break;
        }
      }
    }
  }
  const outCache = new Map<string, number>();
  const outFor = (labels: Labels, a: number, i: number): number => {
    let l = ev.nameDropped(labels);
    if (quantileLabel !== undefined) {
      l = setLabel(l, quantileLabel, formatOpenMetricsFloat(qs[a][i]));
    }
    const key = labelsKey(l);
    let o = outCache.get(key);
    if (o === undefined) {
      o = out.index(l, true);
      outCache.set(key, o);
    }
    return o;
  };
  // Classic histograms: group bucket series by their labels without `le`, once.
  const groupOf = new Int32Array(input.length).fill(-1);
  const bounds = new Float64Array(input.length);
  const groupLabels: Labels[] = [];
  const groupKeys = new Map<string, number>();
  let badLe = false;
  for (let j = 0; j < input.length; j++) {
    const s = input[j];
    const le = getLabel(s.labels, "le");
    const ub = parseGoFloat(le);
    if (Number.isNaN(ub) && le.toLowerCase() !== "nan") {
      if (s.k.some((k) => k === FLOAT)) badLe = true;
      continue;
    }
    bounds[j] = ub;
    const labels = setLabel(s.labels, "le", "");
    const key = labelsKey(labels);
    let g = groupKeys.get(key);
    if (g === undefined) {
      g = groupLabels.length;
      groupLabels.push(labels);
      groupKeys.set(key, g);
    }
    groupOf[j] = g;
  }
  if (badLe) {
    for (let j = 0; j < input.length; j++) {
      const le = getLabel(input[j].labels, "le");
      if (groupOf[j] < 0 && input[j].k.some((k) => k === FLOAT)) {
        ev.warn(
          `bucket label "le" is missing or has a malformed value of "${le}" for metric name "${
            getLabel(input[j].labels, METRIC_NAME)
          }"`,
          vecArg.pos,
        );
      }
    }
  }
  const perGroup: Bucket[][] = groupLabels.map(() => []);
  for (let i = 0; i < n; i++) {
    for (const b of perGroup) b.length = 0;
    for (let j = 0; j < input.length; j++) {
      const s = input[j];
      if (s.k[i] === HIST) {
        const h = s.h![i]!;
        const g = groupKeys.get(labelsKey(s.labels));
        if (g !== undefined && hasBucketAt(input, groupOf, g, i)) {
          ev.warn(
            `vector contains a mix of classic and native histograms for metric name "${
              getLabel(s.labels, METRIC_NAME)
            }"`,
            vecArg.pos,
          );
          continue;
        }
        for (let a = 0; a < qs.length; a++) {
          const v = isFraction
            ? nativeFraction(params[0][i], params[1][i], h)
            : nativeQuantile(qs[a][i], h);
          out.putFloat(outFor(s.labels, a, i), i, v);
        }
        continue;
      }
      if (s.k[i] !== FLOAT || groupOf[j] < 0) continue;
      perGroup[groupOf[j]].push({ upperBound: bounds[j], count: s.f[i] });
    }
    for (let g = 0; g < perGroup.length; g++) {
      const buckets = perGroup[g];
      if (buckets.length === 0) continue;
      if (nativeAt(input, groupLabels[g], i)) continue;
      for (let a = 0; a < qs.length; a++) {
        let v: number;
        if (isFraction) v = bucketFraction(params[0][i], params[1][i], buckets);
        else {
          const r = bucketQuantile(qs[a][i], buckets);
          v = r.value;
          if (r.forcedMonotonic) {
            ev.info(
              `input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name "${
                getLabel(groupLabels[g], METRIC_NAME)
              }"`,
              vecArg.pos,
            );
          }
        }
        out.putFloat(outFor(groupLabels[g], a, i), i, v);
      }
    }
  }
  return { type: "vector", series: out.result() };
}

function hasBucketAt(input: StepSeries[], groupOf: Int32Array, g: number, i: number): boolean {
  for (let j = 0; j < input.length; j++) {
    if (groupOf[j] === g && input[j].k[i] === FLOAT) return true;
  }
  return false;
}

function nativeAt(input: StepSeries[], labels: Labels, i: number): boolean {
  const key = labelsKey(labels);
  for (const s of input) if (s.k[i] === HIST && labelsKey(s.labels) === key) return true;
  return false;
}

/** Parses a float the way Go's `strconv.ParseFloat` does for `le` values (NaN when invalid). */
export function parseGoFloat(s: string): number {
  const t = s.trim() === s ? s : "";
  if (/^[+-]?(inf|infinity)$/i.test(t)) return t.startsWith("-") ? -Infinity : Infinity;
  if (/^nan$/i.test(t)) return NaN;
  if (/^[+-]?(\d[\d_]*\.?[\d_]*|\.\d[\d_]*)([eE][+-]?\d+)?$/.test(t)) {
    return Number(t.replaceAll("_", ""));
  }
  if (/^[+-]?0[xX][0-9a-fA-F]+$/.test(t)) return Number(t);
  return NaN;
}

function fmtG(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  return String(v);
}

function stringArg(e: Expr): string {
  while (e.kind === "ParenExpr") e = e.expr;
  return e.kind === "StringLiteral" ? e.value : "";
}

/** Formats like Prometheus' `FormatOpenMetricsFloat` (`1.0`, `0.25`, `+Inf`). */
function formatOpenMetricsFloat(v: number): string {
  const s = formatGoG(v);
  return /[.eIN]/.test(s) ? s : s + ".0";
}

/** Formats a histogram like Go's `FloatHistogram.String()` (used by `count_values`). */
export function histogramToString(h: FloatHistogram): string {
  let out = `{count:${formatGoG(h.count)}, sum:${formatGoG(h.sum)}`;
  const neg: NativeBucket[] = [];
  spanBuckets(h.schema, h.negativeSpans, h.negativeBuckets, h.customValues, true, neg);
  for (let k = neg.length - 1; k >= 0; k--) {
    const b = neg[k];
    if (b.count !== 0) {
      out += `, [${formatGoG(b.lower)},${formatGoG(b.upper)}):${formatGoG(b.count)}`;
    }
  }
  if (h.zeroCount !== 0) {
    out += `, [${formatGoG(-h.zeroThreshold)},${formatGoG(h.zeroThreshold)}]:${
      formatGoG(h.zeroCount)
    }`;
  }
  const pos: NativeBucket[] = [];
  spanBuckets(h.schema, h.positiveSpans, h.positiveBuckets, h.customValues, false, pos);
  for (const b of pos) {
    if (b.count !== 0) {
      out += `, (${formatGoG(b.lower)},${formatGoG(b.upper)}]:${formatGoG(b.count)}`;
    }
  }
  return out + "}";
}

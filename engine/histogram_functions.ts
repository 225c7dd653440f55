/**
 * Histogram functions: `histogram_quantile` and `histogram_fraction` over classic histograms
 * (float series with an `le` label) and native histograms, and `histogram_count`, `_sum`,
 * `_avg`, `_stddev`, `_stdvar` over native histograms.
 *
 * @module
 */
import type { Call, Expr } from "./ast.ts";
import { formatGoG } from "./printer.ts";
import type { FloatHistogram } from "../model/histogram.ts";
import {
  histogramAvg,
  type HistogramBucket,
  histogramCount,
  histogramFraction,
  histogramQuantile,
  histogramStdDev,
  histogramStdVar,
  histogramSum,
  negativeBuckets,
  positiveBuckets,
  zeroBucket,
} from "./histogram_ops.ts";
import { getLabel, type Labels, labelsKey, METRIC_NAME, setLabel } from "../model/labels.ts";
import type { StepEvaluator } from "./step_evaluator.ts";
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

const SIMPLE_HIST: Record<string, (h: FloatHistogram) => number> = {
  histogram_count: histogramCount,
  histogram_sum: histogramSum,
  histogram_avg: histogramAvg,
  histogram_stddev: histogramStdDev,
  histogram_stdvar: histogramStdVar,
};

/** Evaluates one of {@linkcode HISTOGRAM_FUNCTIONS}. */
export async function evalHistogramFunction(ev: StepEvaluator, call: Call): Promise<StepValue> {
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
  // Native histogram series with a classic group's labels take precedence over that group at
  // the steps where they have a sample: find them once, not per step and group.
  const nativeOf: number[][] = groupLabels.map(() => []);
  for (let j = 0; j < input.length; j++) {
    if (!input[j].k.some((k) => k === HIST)) continue;
    const g = groupKeys.get(labelsKey(input[j].labels));
    if (g !== undefined) nativeOf[g].push(j);
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
        const name = getLabel(s.labels, METRIC_NAME);
        const suffix = name === "" ? "" : ` for metric name "${name}"`;
        for (let a = 0; a < qs.length; a++) {
          let v: number;
          if (isFraction) {
            const r = histogramFraction(params[0][i], params[1][i], h);
            v = r.value;
            if (r.nanObservations) {
              ev.info(
                "input to histogram_fraction has NaN observations, which are excluded from all fractions" +
                  suffix,
                vecArg.pos,
              );
            }
          } else {
            const r = histogramQuantile(qs[a][i], h);
            v = r.value;
            if (r.nanResult) {
              ev.info(
                "input to histogram_quantile has NaN observations, result is NaN" + suffix,
                vecArg.pos,
              );
            }
            if (r.nanSkew) {
              ev.info(
                "input to histogram_quantile has NaN observations, result is skewed higher" +
                  suffix,
                vecArg.pos,
              );
            }
          }
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
      if (nativeAt(input, nativeOf[g], i)) continue;
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

function nativeAt(input: StepSeries[], candidates: readonly number[], i: number): boolean {
  for (const j of candidates) if (input[j].k[i] === HIST) return true;
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
  const bucket = (b: HistogramBucket) =>
    `, ${b.lowerInclusive ? "[" : "("}${formatGoG(b.lower)},${formatGoG(b.upper)}${
      b.upperInclusive ? "]" : ")"
    }:${formatGoG(b.count)}`;
  for (const b of negativeBuckets(h).reverse()) if (b.count !== 0) out += bucket(b);
  if (h.zeroCount !== 0) out += bucket(zeroBucket(h));
  for (const b of positiveBuckets(h)) if (b.count !== 0) out += bucket(b);
  return out + "}";
}

/**
 * PromQL functions over range vectors (`rate`, `increase`, `delta`, `irate`, `idelta`, `deriv`,
 * `predict_linear`, `changes`, `resets`, `*_over_time`, `double_exponential_smoothing`, ...).
 * Input series are read one at a time; for every step a window `(t - range, t]` slides over the
 * series' typed arrays and the function reads the window in place, without copying samples.
 *
 * @module
 */
import type { Call, Expr, PositionRange } from "./ast.ts";
import { QueryError } from "./errors.ts";
import { CounterResetHint, type FloatHistogram } from "../model/histogram.ts";
import {
  addHistograms,
  compactHistogram,
  copyHistogram,
  detectReset,
  divHistogram,
  HistogramAggregator,
  HistogramError,
  histogramIncrease,
  histogramsEqual,
  mulHistogram,
  subHistograms,
  usesCustomBuckets,
} from "./histogram_ops.ts";
import { getLabel, labelsKey, METRIC_NAME } from "../model/labels.ts";
import type { RangeInput, StepEvaluator } from "./step_evaluator.ts";
import { dropMetricName } from "./metric_name.ts";
import { pickLeft, pickRight, searchAbove, searchAtLeast } from "./windows.ts";
import { kahanInc, kahanOut } from "./kahan.ts";
import { quantileOf, sortNaNFirst } from "./quantile.ts";
import {
  countPresent,
  duplicateLabelsetError,
  FLOAT,
  newStepSeries,
  type RangeSeries,
  setHist,
  type StepSeries,
} from "./step_vector.ts";
import type { SeriesStream, StepBatch } from "./series_stream.ts";
import { absentLabels } from "./absent_labels.ts";
import {
  isStartTimestampReset,
  startTimeOverlapMessage,
  startTimeOverlaps,
} from "./start_timestamps.ts";

/** The window of one series at one step. Reused across steps and series. */
export interface Window {
  /** Float timestamps and values of the whole series; the window is `[fa, fb)`. */
  ft: Float64Array;
  fv: Float64Array;
  fa: number;
  fb: number;
  /** Histogram timestamps and values; the window is `[ha, hb)`. */
  ht: Float64Array;
  hv: FloatHistogram[];
  ha: number;
  hb: number;
  /** Start timestamps aligned with `ft` and `ht`, when loaded (`use-start-timestamps`). */
  fst?: Float64Array;
  hst?: Float64Array;
  /** Exclusive window start and inclusive end, ms. */
  rangeStart: number;
  rangeEnd: number;
  /** Range of the selector, ms. */
  range: number;
  /** The evaluation time of the step, ms. */
  evalT: number;
  /** 0: plain window; 1: `anchored`; 2: `smoothed` (the window then extends past the range). */
  mode: number;
  /** The input series' metric name, for annotations. */
  name: string;
  /** Scalar arguments at this step, in argument order (the range vector excluded). */
  params: number[];
  /** Output: float value. */
  outF: number;
  /** Output: histogram value (when the function returns `HIST_OUT`). */
  outH?: FloatHistogram;
}

const NONE = 0;
const FLOAT_OUT = 1;
const HIST_OUT = 2;

type RangeFn = (w: Window, ev: StepEvaluator, call: Call) => number;

let scratch = new Float64Array(64);
function scratchOf(n: number): Float64Array {
  if (scratch.length < n) scratch = new Float64Array(Math.max(n, scratch.length * 2));
  return scratch;
}

function mixedWarning(ev: StepEvaluator, w: Window, call: Call): void {
  ev.warn(
    `encountered a mix of histograms and floats for metric name "${w.name}"`,
    call.args[0].pos,
  );
}

function extrapolatedRate(isCounter: boolean, isRate: boolean): RangeFn {
  return (w, ev, call) => {
    const nf = w.fb - w.fa;
    const nh = w.hb - w.ha;
    if (nf > 0 && nh > 0) {
      mixedWarning(ev, w, call);
      return NONE;
    }
    if (w.mode !== 0) {
      if (nh > 0 && nf > 0) {
        mixedWarning(ev, w, call);
        return NONE;
      }
      if (nh > 0) return extendedHistogramRate(w, ev, call, isCounter, isRate);
      return nf === 0 ? NONE : extendedRate(w, isCounter, isRate);
    }
    if (nh > 0) return histogramRate(w, ev, call, isCounter, isRate);
    // With start timestamps one sample can do: see `startsInWindow`.
    if (nf === 0 || (nf < 2 && w.fst === undefined)) return NONE;
    const { ft, fv, fa, fb, fst } = w;
    const firstT = ft[fa];
    const lastT = ft[fb - 1];
    let result = fv[fb - 1] - fv[fa];
    if (isCounter) {
      let overlap = false;
      for (let i = fa + 1; i < fb; i++) {
        if (fst !== undefined && !overlap && startTimeOverlaps(fst[i - 1], ft[i - 1], fst[i])) {
          ev.ctx.annotations.warnCounted(startTimeOverlapMessage(w.name), call.args[0].pos);
          overlap = true;
        }
        if (
          fv[i] < fv[i - 1] ||
          (fst !== undefined && isStartTimestampReset(fst[i - 1], ft[i - 1], fst[i], ft[i]))
        ) {
          result += fv[i - 1];
        }
      }
    }
    let durationToStart = (firstT - w.rangeStart) / 1000;
    let durationToEnd = (w.rangeEnd - lastT) / 1000;
    let sampledInterval = (lastT - firstT) / 1000;
    const avg = nf > 1 ? sampledInterval / (nf - 1) : 0;
    const threshold = avg * 1.1;
    const st = isCounter && fst !== undefined ? startsInWindow(fst[fa], w, firstT) : 0;
    if (st !== 0) {
      // The counter started inside the window: count from a zero at its start timestamp
      // instead of extrapolating to the left.
      durationToStart = 0;
      sampledInterval = (lastT - st) / 1000;
      result += fv[fa];
    } else if (nf < 2) {
      return NONE;
    } else {
      if (durationToStart >= threshold) durationToStart = avg / 2;
      if (isCounter) {
        let durationToZero = durationToStart;
        if (result > 0 && fv[fa] >= 0) durationToZero = sampledInterval * (fv[fa] / result);
        if (durationToZero < durationToStart) durationToStart = durationToZero;
      }
    }
    if (durationToEnd >= threshold) durationToEnd = avg / 2;
    let factor = 1;
    if (sampledInterval !== 0) {
      factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
    }
    if (isRate) factor /= w.range / 1000;
    w.outF = result * factor;
    return FLOAT_OUT;
  };
}

/**
 * The start timestamp `st` of the first sample of a window when it lies inside the window
 * (after its exclusive start) and before the sample, else 0: the counter then started from
 * zero at `st` within the window.
 */
function startsInWindow(st: number, w: Window, firstT: number): number {
  return st !== 0 && st > w.rangeStart && st < firstT ? st : 0;
}

function instantValue(isRate: boolean): RangeFn {
  return (w, ev, call) => {
    const nf = w.fb - w.fa;
    const nh = w.hb - w.ha;
    if (nf + nh < 2) return NONE;
    // The last two samples, floats and histograms merged by time.
    let i = w.fb - 1;
    let j = w.hb - 1;
    const pickHist = () => j >= w.ha && (i < w.fa || w.ht[j] > w.ft[i]);
    const lastIsHist = pickHist();
    const t1 = lastIsHist ? w.ht[j] : w.ft[i];
    const st1 = (lastIsHist ? w.hst?.[j] : w.fst?.[i]) ?? 0;
    const h1 = lastIsHist ? w.hv[j--] : undefined;
    const v1 = lastIsHist ? 0 : w.fv[i--];
    const prevIsHist = pickHist();
    const t0 = prevIsHist ? w.ht[j] : w.ft[i];
    const st0 = (prevIsHist ? w.hst?.[j] : w.fst?.[i]) ?? 0;
    const h0 = prevIsHist ? w.hv[j] : undefined;
    const v0 = prevIsHist ? 0 : w.fv[i];
    const interval = t1 - t0;
    if (interval === 0) return NONE;
    const stReset = isStartTimestampReset(st0, t0, st1, t1);
    if (h1 === undefined && h0 === undefined) {
      let r = v1;
      if (!isRate || !(v1 < v0 || stReset)) r = v1 - v0;
      if (isRate) r /= interval / 1000;
      w.outF = r;
      return FLOAT_OUT;
    }
    if (h1 === undefined || h0 === undefined) {
      mixedWarning(ev, w, call);
      return NONE;
    }
    const gauge = CounterResetHint.Gauge;
    if (isRate && (h1.counterResetHint === gauge || h0.counterResetHint === gauge)) {
      ev.warn(`this native histogram metric is not a counter: "${w.name}"`, call.args[0].pos);
    }
    if (!isRate && (h1.counterResetHint !== gauge || h0.counterResetHint !== gauge)) {
      ev.warn(`this native histogram metric is not a gauge: "${w.name}"`, call.args[0].pos);
    }
    let h = h1;
    if (!isRate || (!stReset && !detectReset(h1, h0))) {
      try {
        const d = subHistograms(h1, h0);
        h = d.histogram;
        if (d.nhcbBoundsReconciled) {
          ev.info(
            "mismatched custom buckets were reconciled during subtraction",
            call.args[0].pos,
          );
        }
      } catch (e) {
        if (!(e instanceof HistogramError)) throw e;
        mixedSchemasWarning(ev, w, call);
        return NONE;
      }
    }
    h = compactHistogram({ ...h, counterResetHint: gauge });
    w.outH = isRate ? divHistogram(h, interval / 1000) : h;
    return HIST_OUT;
  };
}

function mixedSchemasWarning(ev: StepEvaluator, w: Window, call: Call): void {
  ev.warn(
    `vector contains a mix of histograms with exponential and custom buckets schemas for metric name "${w.name}"`,
    call.args[0].pos,
  );
}

/** The extrapolated rate/increase/delta of the histograms of a window. */
function histogramRate(
  w: Window,
  ev: StepEvaluator,
  call: Call,
  isCounter: boolean,
  isRate: boolean,
): number {
  const nh = w.hb - w.ha;
  const { ht, hst, ha } = w;
  // With start timestamps one sample can do: see `startsInWindow`.
  if (nh < 2 && hst === undefined) return NONE;
  const pos = call.args[0].pos;
  let result: FloatHistogram | undefined;
  if (nh > 1) {
    const stReset = hst === undefined
      ? undefined
      : (i: number) =>
        isStartTimestampReset(hst[ha + i - 1], ht[ha + i - 1], hst[ha + i], ht[ha + i]);
    const r = histogramIncrease(w.hv.slice(ha, w.hb), isCounter, stReset);
    if (r.notCounter) ev.warn(`this native histogram metric is not a counter: "${w.name}"`, pos);
    if (r.notGauge) ev.warn(`this native histogram metric is not a gauge: "${w.name}"`, pos);
    if (r.nhcbBoundsReconciled) {
      ev.info("mismatched custom buckets were reconciled during subtraction", pos);
    }
    if (r.mixedFloatsHistograms) {
      mixedWarning(ev, w, call);
      return NONE;
    }
    if (r.mixedExponentialCustom || r.histogram === undefined) {
      mixedSchemasWarning(ev, w, call);
      return NONE;
    }
    if (isCounter && hst !== undefined) {
      for (let i = ha + 1; i < w.hb; i++) {
        if (startTimeOverlaps(hst[i - 1], ht[i - 1], hst[i])) {
          ev.ctx.annotations.warnCounted(startTimeOverlapMessage(w.name), pos);
          break;
        }
      }
    }
    result = r.histogram;
  }
  const firstT = ht[ha];
  const lastT = ht[w.hb - 1];
  let durationToStart = (firstT - w.rangeStart) / 1000;
  let durationToEnd = (w.rangeEnd - lastT) / 1000;
  let sampledInterval = (lastT - firstT) / 1000;
  const avg = nh > 1 ? sampledInterval / (nh - 1) : 0;
  const threshold = avg * 1.1;
  const first = w.hv[ha];
  const st = isCounter && hst !== undefined ? startsInWindow(hst[ha], w, firstT) : 0;
  if (st !== 0) {
    // The counter started inside the window: count from a zero at its start timestamp
    // instead of extrapolating to the left.
    durationToStart = 0;
    sampledInterval = (lastT - st) / 1000;
    if (result === undefined) result = copyHistogram(first);
    else {
      try {
        const a = addHistograms(result, first);
        if (a.nhcbBoundsReconciled) {
          ev.info("mismatched custom buckets were reconciled during addition", pos);
        }
        result = a.histogram;
      } catch (e) {
        if (!(e instanceof HistogramError)) throw e;
        mixedSchemasWarning(ev, w, call);
        return NONE;
      }
    }
  } else if (result === undefined) {
    return NONE;
  } else {
    if (durationToStart >= threshold) durationToStart = avg / 2;
    if (isCounter && result.count > 0 && first.count >= 0) {
      const durationToZero = sampledInterval * (first.count / result.count);
      if (durationToZero < durationToStart) durationToStart = durationToZero;
    }
  }
  if (durationToEnd >= threshold) durationToEnd = avg / 2;
  let factor = 1;
  if (sampledInterval !== 0) {
    factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
  }
  if (isRate) factor /= w.range / 1000;
  w.outH = mulHistogram(result, factor);
  return HIST_OUT;
}

/** `sum_over_time`/`avg_over_time` of a window holding only histograms. */
function histogramOverTime(w: Window, ev: StepEvaluator, call: Call, mode: "sum" | "avg"): number {
  const agg = new HistogramAggregator(mode);
  for (let k = w.ha; k < w.hb; k++) agg.add(w.hv[k]);
  const pos = call.args[0].pos;
  if (agg.counterResetCollision) {
    ev.warn("conflicting counter resets during histogram aggregation", pos);
  }
  if (agg.nhcbBoundsReconciled) {
    ev.info("mismatched custom buckets were reconciled during aggregation", pos);
  }
  const h = agg.result();
  if (h === undefined) {
    mixedSchemasWarning(ev, w, call);
    return NONE;
  }
  w.outH = h;
  return HIST_OUT;
}

/** Least-squares slope and intercept at `interceptT` over the float window. */
function linearRegression(w: Window, interceptT: number): [number, number] {
  const { ft, fv, fa, fb } = w;
  let n = 0;
  let sumX = 0, cX = 0, sumY = 0, cY = 0, sumXY = 0, cXY = 0, sumX2 = 0, cX2 = 0;
  const initY = fv[fa];
  let constY = true;
  for (let i = fa; i < fb; i++) {
    const y = fv[i];
    if (constY && i > fa && y !== initY) constY = false;
    n++;
    const x = (ft[i] - interceptT) / 1000;
    kahanInc(x, sumX, cX);
    sumX = kahanOut[0];
    cX = kahanOut[1];
    kahanInc(y, sumY, cY);
    sumY = kahanOut[0];
    cY = kahanOut[1];
    kahanInc(x * y, sumXY, cXY);
    sumXY = kahanOut[0];
    cXY = kahanOut[1];
    kahanInc(x * x, sumX2, cX2);
    sumX2 = kahanOut[0];
    cX2 = kahanOut[1];
  }
  if (constY) {
    if (!Number.isFinite(initY) && !Number.isNaN(initY)) return [NaN, NaN];
    return [0, initY];
  }
  sumX += cX;
  sumY += cY;
  sumXY += cXY;
  sumX2 += cX2;
  const covXY = sumXY - sumX * sumY / n;
  const varX = sumX2 - sumX * sumX / n;
  const slope = covXY / varX;
  return [slope, sumY / n - slope * sumX / n];
}

function floatsOnly(
  fn: (w: Window, ev: StepEvaluator, call: Call) => number,
  minFloats = 1,
): RangeFn {
  return (w, ev, call) => {
    const nf = w.fb - w.fa;
    const nh = w.hb - w.ha;
    if (nf < minFloats) {
      if (nf > 0 && nh > 0) histogramIgnoredInfo(ev, w, call);
      return NONE;
    }
    if (nh > 0) histogramIgnoredInfo(ev, w, call);
    return fn(w, ev, call);
  };
}

function histogramIgnoredInfo(ev: StepEvaluator, w: Window, call: Call): void {
  ev.info(
    `ignored histograms in a range containing both floats and histograms for metric name "${w.name}"`,
    call.args[0].pos,
  );
}

function sumOverTime(w: Window): number {
  let sum = 0;
  let c = 0;
  for (let i = w.fa; i < w.fb; i++) {
    kahanInc(w.fv[i], sum, c);
    sum = kahanOut[0];
    c = kahanOut[1];
  }
  return sum === Infinity || sum === -Infinity ? sum : sum + c;
}

function avgOverTime(w: Window): number {
  const { fv, fa, fb } = w;
  let sum = fv[fa];
  let count = 1;
  let mean = 0;
  let c = 0;
  let incremental = false;
  for (let i = fa + 1; i < fb; i++) {
    const f = fv[i];
    count = i - fa + 1;
    if (!incremental) {
      kahanInc(f, sum, c);
      if (kahanOut[0] !== Infinity && kahanOut[0] !== -Infinity) {
        sum = kahanOut[0];
        c = kahanOut[1];
        continue;
      }
      incremental = true;
      mean = sum / (count - 1);
      c /= count - 1;
    }
    const q = (count - 1) / count;
    kahanInc(f / count, q * mean, q * c);
    mean = kahanOut[0];
    c = kahanOut[1];
  }
  return incremental ? mean + c : sum / count + c / count;
}

function varianceOverTime(w: Window): number {
  let count = 0;
  let mean = 0, cMean = 0, aux = 0, cAux = 0;
  for (let i = w.fa; i < w.fb; i++) {
    const f = w.fv[i];
    count++;
    const delta = f - (mean + cMean);
    kahanInc(delta / count, mean, cMean);
    mean = kahanOut[0];
    cMean = kahanOut[1];
    kahanInc(delta * (f - (mean + cMean)), aux, cAux);
    aux = kahanOut[0];
    cAux = kahanOut[1];
  }
  return (aux + cAux) / count;
}

function compareOverTime(isMax: boolean, returnTs: boolean): RangeFn {
  return floatsOnly((w) => {
    let best = w.fv[w.fa];
    let bestT = w.ft[w.fa];
    for (let i = w.fa; i < w.fb; i++) {
      const f = w.fv[i];
      if ((isMax ? f > best : f < best) || Number.isNaN(best)) {
        best = f;
        bestT = w.ft[i];
      }
    }
    w.outF = returnTs ? bestT / 1000 : best;
    return FLOAT_OUT;
  });
}

/**
 * rate/increase/delta over an anchored or smoothed window: the difference of the boundary
 * values (picked or interpolated), corrected for counter resets, without extrapolation.
 */
function extendedRate(w: Window, isCounter: boolean, isRate: boolean): number {
  const { ft, fv, fa, fb, rangeStart, rangeEnd } = w;
  const smoothed = w.mode === 2;
  let last = fb - 1;
  let first = Math.max(fa, searchAbove(ft, fa, last, rangeStart) - 1);
  if (smoothed) last = searchAtLeast(ft, fa, last, rangeEnd);
  if (ft[last] <= rangeStart) return NONE;
  if (smoothed && ft[first] > rangeEnd) return NONE;
  const left = pickLeft(ft, fv, first, rangeStart, smoothed, isCounter);
  const right = pickRight(ft, fv, fa, last, rangeEnd, smoothed, isCounter);
  let result = right - left;
  if (isCounter) {
    if (ft[first] <= rangeStart) first++;
    if (ft[last] >= rangeEnd) last--;
    let prev = left;
    for (let i = first; i <= last; i++) {
      if (fv[i] < prev) result += prev;
      prev = fv[i];
    }
    if (right < prev) result += prev;
  }
  if (isRate) result /= w.range / 1000;
  w.outF = result;
  return FLOAT_OUT;
}

/**
 * Linear interpolation of two histograms at `t` (`h1 + (h2 - h1) * fraction`); a counter reset
 * between them is modelled as counting from zero. Throws {@linkcode HistogramError} for
 * incompatible schemas.
 */
export function interpolateHistograms(
  ev: StepEvaluator,
  pos: PositionRange,
  h1: FloatHistogram,
  t1: number,
  h2: FloatHistogram,
  t2: number,
  t: number,
  isCounter: boolean,
): FloatHistogram {
  if (t === t1) return copyHistogram(h1);
  if (t === t2) return copyHistogram(h2);
  const fraction = (t - t1) / (t2 - t1);
  if (isCounter && detectReset(h2, h1)) return mulHistogram(h2, fraction);
  const d = subHistograms(h2, h1);
  if (d.nhcbBoundsReconciled) reconciledInfo(ev, pos, "subtraction");
  const a = addHistograms(mulHistogram(d.histogram, fraction), h1);
  if (a.nhcbBoundsReconciled) reconciledInfo(ev, pos, "addition");
  return a.histogram;
}

function reconciledInfo(ev: StepEvaluator, pos: PositionRange, op: string): void {
  ev.info(`mismatched custom buckets were reconciled during ${op}`, pos);
}

/** rate/increase/delta of histograms over an anchored or smoothed window. */
function extendedHistogramRate(
  w: Window,
  ev: StepEvaluator,
  call: Call,
  isCounter: boolean,
  isRate: boolean,
): number {
  const { ht, hv, ha, hb, rangeStart, rangeEnd } = w;
  const smoothed = w.mode === 2;
  const pos = call.args[0].pos;
  let last = hb - 1;
  const first = Math.max(ha, searchAbove(ht, ha, last, rangeStart) - 1);
  if (smoothed) last = searchAtLeast(ht, ha, last, rangeEnd);
  if (ht[last] <= rangeStart) return NONE;
  if (smoothed && ht[first] > rangeEnd) return NONE;
  const custom = usesCustomBuckets(hv[first]);
  for (let i = first; i <= last; i++) {
    if (usesCustomBuckets(hv[i]) !== custom) {
      mixedSchemasWarning(ev, w, call);
      return NONE;
    }
    if (isCounter && hv[i].counterResetHint === CounterResetHint.Gauge) {
      ev.warn(`this native histogram metric is not a counter: "${w.name}"`, pos);
    }
  }
  try {
    const left = smoothed && ht[first] < rangeStart
      ? interpolateHistograms(
        ev,
        pos,
        hv[first],
        ht[first],
        hv[first + 1],
        ht[first + 1],
        rangeStart,
        isCounter,
      )
      : copyHistogram(hv[first]);
    const right = smoothed && last > ha && ht[last] > rangeEnd
      ? interpolateHistograms(
        ev,
        pos,
        hv[last - 1],
        ht[last - 1],
        hv[last],
        ht[last],
        rangeEnd,
        isCounter,
      )
      : copyHistogram(hv[last]);
    const gauge = CounterResetHint.Gauge;
    if (!isCounter && (left.counterResetHint !== gauge || right.counterResetHint !== gauge)) {
      ev.warn(`this native histogram metric is not a gauge: "${w.name}"`, pos);
    }
    const d = subHistograms(right, left);
    if (d.nhcbBoundsReconciled) reconciledInfo(ev, pos, "subtraction");
    let result = d.histogram;
    if (isCounter) {
      // Resets strictly between the boundary samples; the boundaries handle their own.
      let from = first + 1;
      let prev = left;
      if (smoothed && ht[first] < rangeStart && detectReset(hv[first + 1], hv[first])) {
        prev = hv[first + 1];
        from++;
      }
      const to = last - 1;
      if (from <= to + 1) {
        let correction: FloatHistogram | undefined;
        const add = (h: FloatHistogram) => {
          if (correction === undefined) {
            correction = copyHistogram(h);
            return;
          }
          const a = addHistograms(correction, h);
          if (a.nhcbBoundsReconciled) reconciledInfo(ev, pos, "addition");
          correction = a.histogram;
        };
        for (let i = from; i <= to; i++) {
          if (detectReset(hv[i], prev)) add(prev);
          prev = hv[i];
        }
        if (detectReset(right, prev)) add(prev);
        if (correction !== undefined) {
          const a = addHistograms(result, correction);
          if (a.nhcbBoundsReconciled) reconciledInfo(ev, pos, "addition");
          result = a.histogram;
        }
      }
    }
    if (isRate) result = divHistogram(result, w.range / 1000);
    w.outH = compactHistogram({ ...result, counterResetHint: gauge });
    return HIST_OUT;
  } catch (e) {
    if (!(e instanceof HistogramError)) throw e;
    mixedSchemasWarning(ev, w, call);
    return NONE;
  }
}

/**
 * For anchored `changes`/`resets`: starts at the newest sample at or before the range start,
 * so a change across the boundary counts. `false` when nothing lies inside the range.
 */
function anchoredStart(w: Window): boolean {
  const lastF = searchAbove(w.ft, w.fa, w.fb, w.rangeStart) - 1;
  const lastH = searchAbove(w.ht, w.ha, w.hb, w.rangeStart) - 1;
  if (lastF + 1 >= w.fb && lastH + 1 >= w.hb) return false;
  const hasF = lastF >= w.fa;
  const hasH = lastH >= w.ha;
  if (!hasF && !hasH) return true;
  if (!hasH || (hasF && w.ft[lastF] >= w.ht[lastH])) {
    w.fa = lastF;
    w.ha = lastH + 1;
  } else {
    w.fa = lastF + 1;
    w.ha = lastH;
  }
  return true;
}

/** Walks floats and histograms of the window in time order, counting changes or resets. */
function countTransitions(w: Window, changes: boolean): number {
  const fa0 = w.fa;
  const ha0 = w.ha;
  if (w.mode === 1 && !anchoredStart(w)) return -1;
  let i = w.fa;
  let j = w.ha;
  w.fa = fa0;
  w.ha = ha0;
  let prevH: FloatHistogram | undefined;
  let prevF = 0;
  let prevT = 0;
  let prevST = 0;
  let first = true;
  let n = 0;
  while (i < w.fb || j < w.hb) {
    let curH: FloatHistogram | undefined;
    let curF = 0;
    let curT: number;
    let curST: number;
    if (j >= w.hb || (i < w.fb && w.ft[i] < w.ht[j])) {
      curT = w.ft[i];
      curST = w.fst?.[i] ?? 0;
      curF = w.fv[i++];
    } else {
      curT = w.ht[j];
      curST = w.hst?.[j] ?? 0;
      curH = w.hv[j++];
    }
    if (!first) {
      // Start timestamps (loaded for `resets` only) may show resets the values do not.
      const stReset = !changes && isStartTimestampReset(prevST, prevT, curST, curT);
      if (prevH === undefined && curH === undefined) {
        if (changes) {
          if (curF !== prevF && !(Number.isNaN(curF) && Number.isNaN(prevF))) n++;
        } else if (curF < prevF || stReset) n++;
      } else if (prevH === undefined || curH === undefined) {
        n++;
      } else if (changes ? !histogramsEqual(prevH, curH) : stReset || detectReset(curH, prevH)) {
        n++;
      }
    }
    first = false;
    prevH = curH;
    prevF = curF;
    prevT = curT;
    prevST = curST;
  }
  return n;
}

const RANGE_FUNCTIONS: Record<string, RangeFn> = {
  rate: extrapolatedRate(true, true),
  increase: extrapolatedRate(true, false),
  delta: extrapolatedRate(false, false),
  irate: instantValue(true),
  idelta: instantValue(false),
  deriv: floatsOnly((w) => {
    w.outF = linearRegression(w, w.ft[w.fa])[0];
    return FLOAT_OUT;
  }, 2),
  predict_linear: floatsOnly((w) => {
    const [slope, intercept] = linearRegression(w, w.evalT);
    w.outF = slope * w.params[0] + intercept;
    return FLOAT_OUT;
  }, 2),
  double_exponential_smoothing: floatsOnly((w) => {
    const sf = w.params[0];
    const tf = w.params[1];
    if (!(sf > 0 && sf < 1)) {
      throw new QueryError(
        "execution",
        `invalid smoothing factor. Expected: 0 < sf < 1, got: ${goF(sf)}`,
      );
    }
    if (!(tf > 0 && tf < 1)) {
      throw new QueryError(
        "execution",
        `invalid trend factor. Expected: 0 < tf < 1, got: ${goF(tf)}`,
      );
    }
    const { fv, fa, fb } = w;
    let s0 = 0;
    let s1 = fv[fa];
    let b = fv[fa + 1] - fv[fa];
    for (let i = fa + 1; i < fb; i++) {
      const x = sf * fv[i];
      b = i - 1 === fa ? b : tf * (s1 - s0) + (1 - tf) * b;
      const y = (1 - sf) * (s1 + b);
      s0 = s1;
      s1 = x + y;
    }
    w.outF = s1;
    return FLOAT_OUT;
  }, 2),
  changes: (w) => {
    if (w.fb - w.fa + w.hb - w.ha === 0) return NONE;
    w.outF = countTransitions(w, true);
    return w.outF < 0 ? NONE : FLOAT_OUT;
  },
  resets: (w) => {
    if (w.fb - w.fa + w.hb - w.ha === 0) return NONE;
    w.outF = countTransitions(w, false);
    return w.outF < 0 ? NONE : FLOAT_OUT;
  },
  count_over_time: (w) => {
    const c = w.fb - w.fa + w.hb - w.ha;
    if (c === 0) return NONE;
    w.outF = c;
    return FLOAT_OUT;
  },
  present_over_time: (w) => {
    if (w.fb - w.fa + w.hb - w.ha === 0) return NONE;
    w.outF = 1;
    return FLOAT_OUT;
  },
  last_over_time: (w) => {
    const hasF = w.fb > w.fa;
    const hasH = w.hb > w.ha;
    if (!hasF && !hasH) return NONE;
    if (!hasH || (hasF && w.ht[w.hb - 1] < w.ft[w.fb - 1])) {
      w.outF = w.fv[w.fb - 1];
      return FLOAT_OUT;
    }
    w.outH = w.hv[w.hb - 1];
    return HIST_OUT;
  },
  first_over_time: (w) => {
    const hasF = w.fb > w.fa;
    const hasH = w.hb > w.ha;
    if (!hasF && !hasH) return NONE;
    if (!hasH || (hasF && w.ft[w.fa] < w.ht[w.ha])) {
      w.outF = w.fv[w.fa];
      return FLOAT_OUT;
    }
    w.outH = w.hv[w.ha];
    return HIST_OUT;
  },
  ts_of_first_over_time: (w) => {
    const tf = w.fb > w.fa ? w.ft[w.fa] : Infinity;
    const th = w.hb > w.ha ? w.ht[w.ha] : Infinity;
    if (tf === Infinity && th === Infinity) return NONE;
    w.outF = Math.min(tf, th) / 1000;
    return FLOAT_OUT;
  },
  ts_of_last_over_time: (w) => {
    const tf = w.fb > w.fa ? w.ft[w.fb - 1] : -Infinity;
    const th = w.hb > w.ha ? w.ht[w.hb - 1] : -Infinity;
    if (tf === -Infinity && th === -Infinity) return NONE;
    w.outF = Math.max(tf, th) / 1000;
    return FLOAT_OUT;
  },
  max_over_time: compareOverTime(true, false),
  min_over_time: compareOverTime(false, false),
  ts_of_max_over_time: compareOverTime(true, true),
  ts_of_min_over_time: compareOverTime(false, true),
  sum_over_time: (w, ev, call) => {
    if (w.fb > w.fa && w.hb > w.ha) {
      mixedWarning(ev, w, call);
      return NONE;
    }
    if (w.fb === w.fa) return w.hb > w.ha ? histogramOverTime(w, ev, call, "sum") : NONE;
    w.outF = sumOverTime(w);
    return FLOAT_OUT;
  },
  avg_over_time: (w, ev, call) => {
    if (w.fb > w.fa && w.hb > w.ha) {
      mixedWarning(ev, w, call);
      return NONE;
    }
    if (w.fb === w.fa) return w.hb > w.ha ? histogramOverTime(w, ev, call, "avg") : NONE;
    w.outF = avgOverTime(w);
    return FLOAT_OUT;
  },
  stddev_over_time: floatsOnly((w) => {
    w.outF = Math.sqrt(varianceOverTime(w));
    return FLOAT_OUT;
  }),
  stdvar_over_time: floatsOnly((w) => {
    w.outF = varianceOverTime(w);
    return FLOAT_OUT;
  }),
  quantile_over_time: floatsOnly((w, ev, call) => {
    const q = w.params[0];
    if (Number.isNaN(q) || q < 0 || q > 1) {
      ev.warn(`quantile value should be between 0 and 1, got ${goG(q)}`, call.args[0].pos);
    }
    const n = w.fb - w.fa;
    const buf = scratchOf(n);
    buf.set(w.fv.subarray(w.fa, w.fb));
    w.outF = quantileOf(q, buf, n);
    return FLOAT_OUT;
  }),
  mad_over_time: floatsOnly((w) => {
    const n = w.fb - w.fa;
    const buf = scratchOf(n);
    for (let i = 0; i < n; i++) {
      const v = w.fv[w.fa + i];
      if (Number.isNaN(v)) {
        w.outF = NaN;
        return FLOAT_OUT;
      }
      buf[i] = v;
    }
    const median = quantileOf(0.5, buf, n);
    for (let i = 0; i < n; i++) buf[i] = Math.abs(buf[i] - median);
    sortNaNFirst(buf.subarray(0, n));
    w.outF = quantileOf(0.5, buf, n);
    return FLOAT_OUT;
  }),
};

/** Formats like Go's `%f`. */
function goF(v: number): string {
  return Number.isFinite(v) ? v.toFixed(6) : Number.isNaN(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf";
}

/** Formats like Go's `%g` for the common cases. */
function goG(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  return String(v);
}

const ANCHOR_SAFE = ["changes", "delta", "increase", "rate", "resets"];
const SMOOTH_SAFE = ["delta", "increase", "rate"];

/**
 * Evaluates a function whose argument `idx` is a range vector, one input series at a time:
 * each series' samples are read, its windows slid over every step, and its output kept; the
 * samples are dropped before the next series is read (Prometheus' engine does the same). The
 * output comes a storage batch at a time; see {@linkcode SeriesStream} for the accounting.
 */
export async function streamRangeCall(
  ev: StepEvaluator,
  call: Call,
  idx: number,
): Promise<SeriesStream> {
  const name = call.func.name;
  const fn = RANGE_FUNCTIONS[name];
  const arg = unwrapParens(call.args[idx]);
  if (arg.kind !== "MatrixSelector" && arg.kind !== "SubqueryExpr") {
    throw new QueryError("execution", `${name}: expected a range vector argument`);
  }
  if (arg.kind === "MatrixSelector") {
    const vs = arg.vectorSelector;
    if (vs.anchored && !ANCHOR_SAFE.includes(name)) {
      throw new QueryError(
        "execution",
        `anchored modifier can only be used with: ${ANCHOR_SAFE.join(", ")} - not with ${name}`,
      );
    }
    if (vs.smoothed && !SMOOTH_SAFE.includes(name)) {
      throw new QueryError(
        "execution",
        `smoothed modifier can only be used with: ${SMOOTH_SAFE.join(", ")} - not with ${name}`,
      );
    }
  }
  if (fn === undefined && name !== "absent_over_time") {
    throw new QueryError("execution", `function ${name}() is not supported by this engine`);
  }
  // Scalar arguments, evaluated for every step before the range vector.
  const scalarArgs: Float64Array[] = [];
  for (let i = 0; i < call.args.length; i++) {
    if (i !== idx) scalarArgs.push(await ev.evalScalar(call.args[i]));
  }
  const mode = arg.kind === "MatrixSelector" && arg.vectorSelector.anchored
    ? 1
    : arg.kind === "MatrixSelector" && arg.vectorSelector.smoothed
    ? 2
    : 0;
  const input = await ev.rangeInput(arg, name);
  if (fn === undefined) return new AbsentOverTimeStream(ev, call, idx, input);
  return new RangeCallStream(ev, call, idx, fn, input, scalarArgs, mode);
}

/** The output of a range function over a range-vector argument, a batch at a time. */
class RangeCallStream implements SeriesStream {
  readonly #w: Window;
  /** Drops the metric name from the output (all but `last_over_time`/`first_over_time`). */
  readonly #dropName: boolean;
  /** Output label sets so far, when dropping names now can make two of them equal. */
  readonly #seen: Set<string> | undefined;

  constructor(
    readonly ev: StepEvaluator,
    readonly call: Call,
    readonly idx: number,
    readonly fn: RangeFn,
    readonly input: RangeInput,
    readonly scalarArgs: Float64Array[],
    mode: number,
  ) {
    const name = call.func.name;
    this.#dropName = name !== "last_over_time" && name !== "first_over_time";
    this.#seen = this.#dropName && !ev.ctx.delayedNameRemoval ? new Set() : undefined;
    this.#w = {
      ft: EMPTY,
      fv: EMPTY,
      fa: 0,
      fb: 0,
      ht: EMPTY,
      hv: [],
      ha: 0,
      hb: 0,
      rangeStart: 0,
      rangeEnd: 0,
      range: input.range,
      evalT: 0,
      mode,
      name: "",
      params: new Array(scalarArgs.length).fill(0),
      outF: 0,
    };
  }

  async next(): Promise<StepBatch | null> {
    const ev = this.ev;
    for (let b = await this.input.next(); b !== null; b = await this.input.next()) {
      const series: StepSeries[] = [];
      let samples = 0;
      for (let j = 0; j < b.length; j++) {
        ev.checkAbort();
        const s = b.read(j);
        if (s === undefined) continue;
        const out = this.#evalSeries(s);
        if (out === undefined) continue;
        series.push(out);
        samples += countPresent(out);
      }
      ev.releaseSamples(b.samples);
      if (series.length === 0) continue;
      ev.addSamples(samples);
      return { series, samples };
    }
    return null;
  }

  close(): Promise<void> {
    return this.input.close();
  }

  /** The function's value at every step over one input series (`undefined`: none). */
  #evalSeries(s: RangeSeries): StepSeries | undefined {
    const { ev, call, input, scalarArgs } = this;
    const w = this.#w;
    const n = ev.n;
    const name = call.func.name;
    w.name = getLabel(s.labels, METRIC_NAME);
    w.ft = s.ft;
    w.fv = s.fv;
    w.ht = s.ht;
    w.hv = s.hv;
    w.fst = s.fst;
    w.hst = s.hst;
    w.fa =
      w.fb =
      w.ha =
      w.hb =
        0;
    let out: StepSeries | undefined;
    let floatsOut = false;
    // Prometheus holds one window of the series at a time: that is what it accounts.
    let maxWindow = 0;
    for (let i = 0; i < n; i++) {
      const t = ev.time(i);
      const ref = (input.at ?? t) - input.offset;
      const lo = ref - input.range - input.extendLow;
      const hi = ref + input.extendHigh;
      // Windows move forward (or stay, with @), so the bounds only ever advance.
      while (w.fb < s.ft.length && s.ft[w.fb] <= hi) w.fb++;
      while (w.fa < w.fb && s.ft[w.fa] <= lo) w.fa++;
      while (w.hb < s.ht.length && s.ht[w.hb] <= hi) w.hb++;
      while (w.ha < w.hb && s.ht[w.ha] <= lo) w.ha++;
      const size = w.fb - w.fa + w.hb - w.ha;
      if (size === 0) continue;
      if (size > maxWindow) maxWindow = size;
      w.rangeStart = ref - input.range;
      w.rangeEnd = ref;
      w.evalT = t;
      for (let p = 0; p < scalarArgs.length; p++) w.params[p] = scalarArgs[p][i];
      const r = this.fn(w, ev, call);
      if (r === NONE) continue;
      if (out === undefined) {
        const dropName = this.#dropName || s.dropName;
        const labels = dropName && !ev.ctx.delayedNameRemoval ? dropMetricName(s.labels) : s.labels;
        out = newStepSeries(labels, dropName, n);
      }
      if (r === FLOAT_OUT) {
        out.k[i] = FLOAT;
        out.f[i] = w.outF;
        floatsOut = true;
      } else setHist(out, i, w.outH!);
    }
    ev.addSamples(maxWindow);
    ev.releaseSamples(maxWindow);
    if ((name === "rate" || name === "increase") && floatsOut && w.name !== "") {
      if (!/(_total|_sum|_count|_bucket)$/.test(w.name)) {
        ev.info(
          `metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "${w.name}"`,
          call.args[this.idx].pos,
        );
      }
    }
    if (out !== undefined && this.#seen !== undefined) {
      // As Prometheus: a range function's output may not hold a label set twice.
      const key = labelsKey(out.labels);
      if (this.#seen.has(key)) throw duplicateLabelsetError();
      this.#seen.add(key);
    }
    return out;
  }
}

/** `absent_over_time`: one series holding 1 at the steps where no input series has a sample. */
class AbsentOverTimeStream implements SeriesStream {
  #done = false;

  constructor(
    readonly ev: StepEvaluator,
    readonly call: Call,
    readonly idx: number,
    readonly input: RangeInput,
  ) {}

  async next(): Promise<StepBatch | null> {
    if (this.#done) return null;
    this.#done = true;
    const { ev, input } = this;
    const n = ev.n;
    const presentAt = new Uint8Array(n);
    try {
      for (let b = await input.next(); b !== null; b = await input.next()) {
        for (let j = 0; j < b.length; j++) {
          ev.checkAbort();
          const s = b.read(j);
          if (s === undefined) continue;
          let fa = 0, fb = 0, ha = 0, hb = 0;
          for (let i = 0; i < n; i++) {
            const ref = (input.at ?? ev.time(i)) - input.offset;
            const lo = ref - input.range - input.extendLow;
            const hi = ref + input.extendHigh;
            while (fb < s.ft.length && s.ft[fb] <= hi) fb++;
            while (fa < fb && s.ft[fa] <= lo) fa++;
            while (hb < s.ht.length && s.ht[hb] <= hi) hb++;
            while (ha < hb && s.ht[ha] <= lo) ha++;
            if (fb > fa || hb > ha) presentAt[i] = 1;
          }
        }
        ev.releaseSamples(b.samples);
      }
    } finally {
      await input.close();
    }
    const r = newStepSeries(absentLabels(this.call.args[this.idx]), true, n);
    let samples = 0;
    for (let i = 0; i < n; i++) {
      if (presentAt[i]) continue;
      r.k[i] = FLOAT;
      r.f[i] = 1;
      samples++;
    }
    if (samples === 0) return null;
    ev.addSamples(samples);
    return { series: [r], samples };
  }

  close(): Promise<void> {
    this.#done = true;
    return this.input.close();
  }
}

const EMPTY = new Float64Array(0);

function unwrapParens(e: Expr): Expr {
  while (e.kind === "ParenExpr" || e.kind === "StepInvariantExpr") e = e.expr;
  return e;
}

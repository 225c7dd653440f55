/**
 * The evaluator's intermediate values. An instant-vector expression evaluated over all steps of
 * a query is a list of {@linkcode StepSeries}: one per output label set, each holding one typed
 * array slot per step plus a presence flag. Operators map input series to output series once
 * (labels are known up front) and then loop over steps without allocating per sample.
 *
 * @module
 */
import type { FloatHistogram } from "../model/histogram.ts";
import { type Labels, labelsKey } from "../model/labels.ts";
import { QueryError } from "./errors.ts";

/** Presence of a step value: absent. */
export const ABSENT = 0;
/** Presence of a step value: a float in `f`. */
export const FLOAT = 1;
/** Presence of a step value: a histogram in `h`. */
export const HIST = 2;

/** One series of an instant vector evaluated over every step of a (sub)query. */
export interface StepSeries {
  /** The labels, `__name__` still included when `dropName` defers its removal. */
  labels: Labels;
  /** Set when the metric name must be dropped at the end of evaluation (delayed removal). */
  dropName: boolean;
  /** Float value per step (meaningful where `k[i] === FLOAT`). */
  f: Float64Array;
  /** Presence per step: {@linkcode ABSENT}, {@linkcode FLOAT} or {@linkcode HIST}. */
  k: Uint8Array;
  /** Histogram per step (only allocated once some step holds a histogram). */
  h: (FloatHistogram | undefined)[] | null;
}

/** Creates an empty series of `n` steps. */
export function newStepSeries(labels: Labels, dropName: boolean, n: number): StepSeries {
  return { labels, dropName, f: new Float64Array(n), k: new Uint8Array(n), h: null };
}

/** Sets a histogram value at step `i`. */
export function setHist(s: StepSeries, i: number, h: FloatHistogram): void {
  if (s.h === null) s.h = new Array(s.k.length);
  s.h[i] = h;
  s.k[i] = HIST;
}

/** Reports whether the series holds any value. */
export function hasAny(s: StepSeries): boolean {
  const k = s.k;
  for (let i = 0; i < k.length; i++) if (k[i] !== ABSENT) return true;
  return false;
}

/** Counts the values a series holds (histograms count as one each). */
export function countPresent(s: StepSeries): number {
  let n = 0;
  const k = s.k;
  for (let i = 0; i < k.length; i++) if (k[i] !== ABSENT) n++;
  return n;
}

/** The error Prometheus reports when one step of a vector holds a label set twice. */
export function duplicateLabelsetError(): QueryError {
  return new QueryError("execution", "vector cannot contain metrics with the same labelset");
}

/**
 * Collects output series by label set. `index()` returns the slot for a label set (creating it),
 * `put*()` write one step and reject a second write of the same step, which is Prometheus'
 * "vector cannot contain metrics with the same labelset".
 */
export class SeriesBuilder {
  /** The output series in creation order (some may stay empty). */
  readonly series: StepSeries[] = [];
  readonly #byKey = new Map<string, number>();

  /** @param n number of steps */
  constructor(readonly n: number) {}

  /** Returns the index of the output series for `labels`, creating it if needed. */
  index(labels: Labels, dropName: boolean): number {
    const key = labelsKey(labels);
    let i = this.#byKey.get(key);
    if (i === undefined) {
      i = this.series.length;
      this.series.push(newStepSeries(labels, dropName, this.n));
      this.#byKey.set(key, i);
    }
    return i;
  }

  /** Writes a float at step `step` of series `i`. */
  putFloat(i: number, step: number, v: number): void {
    const s = this.series[i];
    if (s.k[step] !== ABSENT) throw duplicateLabelsetError();
    s.k[step] = FLOAT;
    s.f[step] = v;
  }

  /** Writes a histogram at step `step` of series `i`. */
  putHist(i: number, step: number, h: FloatHistogram): void {
    const s = this.series[i];
    if (s.k[step] !== ABSENT) throw duplicateLabelsetError();
    setHist(s, step, h);
  }

  /** The non-empty output series. */
  result(): StepSeries[] {
    return this.series.filter(hasAny);
  }
}

/** The value of an expression evaluated over all steps. */
export type StepValue =
  | { type: "vector"; series: StepSeries[] }
  | { type: "scalar"; v: Float64Array }
  | { type: "string"; v: string }
  | { type: "matrix"; series: RangeSeries[] };

/**
 * A range-vector series: floats and histograms with their timestamps, ascending. Used for
 * the windows of range functions and for matrix results.
 */
export interface RangeSeries {
  /** The labels. */
  labels: Labels;
  /** Set when the metric name must be dropped (series produced by a subquery). */
  dropName: boolean;
  /** Float sample timestamps (ms). */
  ft: Float64Array;
  /** Float sample values. */
  fv: Float64Array;
  /** Histogram sample timestamps (ms). */
  ht: Float64Array;
  /** Histogram samples. */
  hv: FloatHistogram[];
  /**
   * Start timestamps of the float samples (ms, 0: unknown), aligned with `ft`; only loaded for
   * the functions that use them under `use-start-timestamps`.
   */
  fst?: Float64Array;
  /** Start timestamps of the histogram samples, aligned with `ht` (as `fst`). */
  hst?: Float64Array;
}

/** Number of samples a value holds. */
export function countValue(v: StepValue): number {
  switch (v.type) {
    case "vector": {
      let c = 0;
      for (const s of v.series) {
        const k = s.k;
        for (let i = 0; i < k.length; i++) if (k[i] !== ABSENT) c++;
      }
      return c;
    }
    case "matrix": {
      let c = 0;
      for (const s of v.series) c += s.ft.length + s.ht.length;
      return c;
    }
    case "scalar":
      return v.v.length;
    default:
      return 0;
  }
}

/**
 * Merges series that have the same label set (after name removal), as long as no step holds
 * values from two of them; otherwise the vector would contain a label set twice.
 */
export function mergeSameLabels(series: StepSeries[]): StepSeries[] {
  const byKey = new Map<string, StepSeries>();
  const out: StepSeries[] = [];
  for (const s of series) {
    const key = labelsKey(s.labels);
    const prev = byKey.get(key);
    if (prev === undefined) {
      byKey.set(key, s);
      out.push(s);
      continue;
    }
    for (let i = 0; i < s.k.length; i++) {
      if (s.k[i] === ABSENT) continue;
      if (prev.k[i] !== ABSENT) throw duplicateLabelsetError();
      if (s.k[i] === FLOAT) {
        prev.k[i] = FLOAT;
        prev.f[i] = s.f[i];
      } else setHist(prev, i, s.h![i]!);
    }
  }
  return out;
}

/**
 * Conversion of classic histograms (`X_bucket{le=...}`, `X_count`, `X_sum` float series) to
 * native histograms with custom buckets (schema -53), per timestamp, as `load_with_nhcb` does
 * (Prometheus' `util/convertnhcb`).
 *
 * @module
 */
import type { FloatHistogram } from "../../model/histogram.ts";
import { CounterResetHint, CUSTOM_BUCKETS_SCHEMA } from "../../model/histogram.ts";
import type { Labels } from "../../model/labels.ts";
import { getLabel, labelsKey, METRIC_NAME, setLabel } from "../../model/labels.ts";

/** Thrown when classic histogram samples do not form a valid histogram. */
export class NhcbError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "NhcbError";
  }
}

/** One float sample of a classic-histogram series. */
export interface ClassicSample {
  /** Timestamp, ms. */
  t: number;
  /** Value. */
  v: number;
}

/** A series offered to the conversion. */
export interface ClassicSeries {
  /** The series' labels. */
  labels: Labels;
  /** Its float samples (histogram samples are not part of a classic histogram). */
  samples: readonly ClassicSample[];
}

/** A converted native histogram series. */
export interface NhcbSeries {
  /** Labels of the histogram: the base name, without `le`. */
  labels: Labels;
  /** Histogram samples in time order. */
  samples: { t: number; h: FloatHistogram }[];
}

// The classic histogram of one timestamp while it is being collected.
class TempHistogram {
  // Cumulative bucket counts, ascending by bound.
  readonly les: number[] = [];
  readonly counts: number[] = [];
  count = 0;
  hasCount = false;
  sum = 0;
  err: string | undefined;

  setBucket(le: number, count: number): void {
    if (this.err) return;
    if (count < 0) {
      this.err = `bucket count must be non-negative: le=${le}, count=${count}`;
      return;
    }
    // Binary search for the insertion point: samples arrive in series order, not bound order.
    let lo = 0;
    let hi = this.les.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.les[mid] < le) lo = mid + 1;
      else hi = mid;
    }
    // A second sample for the same bound is a duplicate and ignored.
    if (lo < this.les.length && this.les[lo] === le) return;
    if (lo > 0 && count < this.counts[lo - 1]) {
      this.err = `count is not cumulative: ${count} < ${this.counts[lo - 1]}`;
      return;
    }
    if (lo < this.les.length && count > this.counts[lo]) {
      this.err = `count is not cumulative: ${count} > ${this.counts[lo]}`;
      return;
    }
    this.les.splice(lo, 0, le);
    this.counts.splice(lo, 0, count);
  }

  setCount(count: number): void {
    if (this.err) return;
    if (count < 0) {
      this.err = `count must be non-negative: count=${count}`;
      return;
    }
    this.count = count;
    this.hasCount = true;
  }

  convert(): FloatHistogram {
    if (this.err) throw new NhcbError(this.err);
    const les = [...this.les];
    const counts = [...this.counts];
    let count = this.count;
    if (!this.hasCount && les.length > 0) count = counts[counts.length - 1];
    if (les.length === 0 || les[les.length - 1] !== Infinity) {
      les.push(Infinity);
      counts.push(count);
    }
    if (count !== counts[counts.length - 1]) {
      throw new NhcbError(
        `count mismatch: count=${count} != le=${les[les.length - 1]} count=${
          counts[counts.length - 1]
        }`,
      );
    }
    // Store the non-empty buckets only, as the conversion's compaction leaves them.
    const indices: number[] = [];
    const values: number[] = [];
    let prev = 0;
    for (let i = 0; i < counts.length; i++) {
      const c = counts[i] - prev;
      prev = counts[i];
      if (c !== 0) {
        indices.push(i);
        values.push(c);
      }
    }
    const spans: { offset: number; length: number }[] = [];
    let next = 0;
    for (const i of indices) {
      if (spans.length > 0 && i === next) spans[spans.length - 1].length++;
      else spans.push({ offset: i - next, length: 1 });
      next = i + 1;
    }
    return {
      counterResetHint: CounterResetHint.Unknown,
      schema: CUSTOM_BUCKETS_SCHEMA,
      zeroThreshold: 0,
      zeroCount: 0,
      count,
      sum: this.sum,
      positiveSpans: spans,
      negativeSpans: [],
      positiveBuckets: Float64Array.from(values),
      negativeBuckets: new Float64Array(0),
      customValues: Float64Array.from(les.slice(0, -1)),
    };
  }
}

/**
 * Parses an `le` label value as Go's `strconv.ParseFloat`: decimal numbers with an optional
 * sign and exponent, `Inf`/`Infinity`/`NaN` in any case. Returns NaN when it is not a number.
 */
export function parseLe(s: string): number {
  const m = /^([+-]?)(inf|infinity|nan)$/i.exec(s);
  if (m) return m[2].toLowerCase() === "nan" ? NaN : m[1] === "-" ? -Infinity : Infinity;
  if (!/^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(s)) return NaN;
  return Number(s);
}

/**
 * Converts the classic histograms among `series` to native histograms with custom buckets.
 * Series whose names end in `_bucket` (with a numeric `le`), `_count` or `_sum` are grouped by
 * their labels with the base name and without `le`; each timestamp gives one histogram.
 *
 * @throws {NhcbError} for a `_bucket` series without `le`, negative or non-cumulative counts,
 *   or a count that differs from the `+Inf` bucket.
 */
export function convertClassicHistograms(series: readonly ClassicSeries[]): NhcbSeries[] {
  const groups = new Map<string, { labels: Labels; byTime: Map<number, TempHistogram> }>();
  const collect = (
    labels: Labels,
    base: string,
    samples: readonly ClassicSample[],
    update: (h: TempHistogram, v: number) => void,
  ) => {
    const target = setLabel(setLabel(labels, METRIC_NAME, base), "le", "");
    const key = labelsKey(target);
    let g = groups.get(key);
    if (!g) groups.set(key, g = { labels: target, byTime: new Map() });
    for (const s of samples) {
      let h = g.byTime.get(s.t);
      if (!h) g.byTime.set(s.t, h = new TempHistogram());
      update(h, s.v);
    }
  };
  for (const s of series) {
    const name = getLabel(s.labels, METRIC_NAME);
    if (name.endsWith("_bucket")) {
      const leText = getLabel(s.labels, "le");
      if (leText === "") throw new NhcbError(`expected bucket label in metric ${name}`);
      const le = parseLe(leText);
      if (Number.isNaN(le)) continue;
      collect(s.labels, name.slice(0, -7), s.samples, (h, v) => h.setBucket(le, v));
    } else if (name.endsWith("_sum")) {
      collect(s.labels, name.slice(0, -4), s.samples, (h, v) => h.sum = v);
    } else if (name.endsWith("_count")) {
      collect(s.labels, name.slice(0, -6), s.samples, (h, v) => h.setCount(v));
    }
  }
  const out: NhcbSeries[] = [];
  for (const g of groups.values()) {
    const samples = [...g.byTime].sort((a, b) => a[0] - b[0]).map(([t, h]) => ({
      t,
      h: h.convert(),
    }));
    out.push({ labels: g.labels, samples });
  }
  return out;
}

/**
 * Series and allocation-free sample iteration (Prometheus' `chunkenc.Iterator` contract),
 * shared by the TSDB and Parquet readers and the engine.
 *
 * @module
 */
import type { FloatHistogram } from "./histogram.ts";
import type { Labels } from "./labels.ts";

/** What an iterator's current position holds. */
export const ValueType = {
  /** Exhausted (or empty). */
  None: 0,
  /** A float sample: read with `atFloat()`. */
  Float: 1,
  /** An integer native histogram: read with `atFloatHistogram()` (converted). */
  Histogram: 2,
  /** A float native histogram: read with `atFloatHistogram()`. */
  FloatHistogram: 3,
} as const;

/** One of {@linkcode ValueType}'s values. */
export type ValueType = typeof ValueType[keyof typeof ValueType];

/** The bit pattern of Prometheus' stale marker NaN: compare bits, never values. */
export const STALE_NAN_BITS = 0x7ff0000000000002n;

const staleView = new DataView(new ArrayBuffer(8));
staleView.setBigUint64(0, STALE_NAN_BITS);
/** The stale marker as a float64 (a NaN with a payload). */
export const STALE_NAN: number = staleView.getFloat64(0);

const bitsView = new DataView(new ArrayBuffer(8));
/**
 * Reports whether `v` is Prometheus' stale marker (not merely any NaN). V8 sets the quiet bit
 * of signaling NaNs when it stores them in plain arrays (0x7ff0...02 becomes 0x7ff8...02), so
 * the quiet bit is ignored; an ordinary NaN has a zero payload and never matches.
 */
export function isStaleNaN(v: number): boolean {
  if (v === v) return false;
  bitsView.setFloat64(0, v);
  return (bitsView.getUint32(0) & 0xfff7ffff) === 0x7ff00000 && bitsView.getUint32(4) === 2;
}

/**
 * Iterates samples in time order without allocating per sample.
 * Call `next()` (or `seek()`) first; the `at*` accessors then read the current sample.
 */
export interface SampleIterator {
  /** Advances to the next sample and returns its type ({@linkcode ValueType.None} at the end). */
  next(): ValueType;
  /**
   * Advances to the first sample with timestamp >= `t` and returns its type; never moves
   * backwards (if the current sample is already at or after `t`, it stays).
   */
  seek(t: number): ValueType;
  /** Timestamp of the current sample, in milliseconds. */
  atT(): number;
  /** Value of the current float sample. */
  atFloat(): number;
  /** The current histogram sample as a float histogram (a fresh object the caller may keep). */
  atFloatHistogram(): FloatHistogram;
  /**
   * Start timestamp of the current sample in ms (when its counter started counting), or 0 when
   * unknown, Prometheus' convention. Optional: iterators of stores without start timestamps
   * omit it, and every sample then reads as unknown (see {@linkcode startTimestampOf}).
   */
  atST?(): number;
}

/** The start timestamp of an iterator's current sample: 0 (unknown) when it has none. */
export function startTimestampOf(it: SampleIterator): number {
  return it.atST?.() ?? 0;
}

/** A series: its labels and a way to iterate its samples (may be called more than once). */
export interface Series {
  /** The series' labels, sorted. */
  readonly labels: Labels;
  /** Returns a new iterator over the series' samples. */
  iterator(): SampleIterator;
}

/** A sample iterator over in-memory arrays. Timestamps must be ascending. */
export class ArraySampleIterator implements SampleIterator {
  #i = -1;
  /**
   * Iterates the given arrays (not copied).
   *
   * @param ts timestamps in ms
   * @param values float values (ignored where `histograms[i]` is set)
   * @param histograms optional histogram per index
   * @param sts optional start timestamp per index, ms (0: unknown)
   */
  constructor(
    readonly ts: ArrayLike<number>,
    readonly values: ArrayLike<number>,
    readonly histograms?: ReadonlyArray<FloatHistogram | undefined>,
    readonly sts?: ArrayLike<number>,
  ) {}
  #type(): ValueType {
    if (this.#i >= this.ts.length) return ValueType.None;
    return this.histograms?.[this.#i] ? ValueType.FloatHistogram : ValueType.Float;
  }
  /** Advances to the next sample. */
  next(): ValueType {
    if (this.#i < this.ts.length) this.#i++;
    return this.#type();
  }
  /** Advances to the first sample at or after `t`. */
  seek(t: number): ValueType {
    if (this.#i < 0) this.#i = 0;
    while (this.#i < this.ts.length && this.ts[this.#i] < t) this.#i++;
    return this.#type();
  }
  /** Timestamp of the current sample. */
  atT(): number {
    return this.ts[this.#i];
  }
  /** Float value of the current sample. */
  atFloat(): number {
    return this.values[this.#i];
  }
  /** Start timestamp of the current sample, 0 when unknown. */
  atST(): number {
    return this.sts?.[this.#i] ?? 0;
  }
  /** A copy of the current histogram sample. */
  atFloatHistogram(): FloatHistogram {
    const h = this.histograms?.[this.#i];
    if (!h) throw new Error("current sample is not a histogram");
    return structuredClone(h);
  }
}

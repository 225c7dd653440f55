/**
 * An in-memory {@linkcode Queryable}: series held as typed arrays, for the PromQL test runner,
 * unit tests and benchmarks of the engine. It follows the TSDB querier's contract: selections
 * return series sorted by labels, and each series yields only its samples inside the hinted
 * time range (inclusive at both ends). With `tsdbCounterResetHints` it also reports histogram
 * counter reset hints the way the TSDB derives them from its chunks.
 *
 * @module
 */
import type { FloatHistogram } from "../model/histogram.ts";
import { CounterResetHint } from "../model/histogram.ts";
import {
  customBoundsMatch,
  negativeBuckets,
  positiveBuckets,
  usesCustomBuckets,
} from "./histogram_ops.ts";
import type { Labels } from "../model/labels.ts";
import { compareLabels, compareStrings, labelsKey } from "../model/labels.ts";
import type { Matcher } from "../model/matchers.ts";
import { matchesAll } from "../model/matchers.ts";
import type {
  LabelHints,
  Queryable,
  SelectHints,
  SeriesSet,
  StringsResult,
} from "../model/queryable.ts";
import type { Series } from "../model/series.ts";
import { ArraySampleIterator, isStaleNaN } from "../model/series.ts";
import { IterableSeriesSet } from "../model/series_set.ts";

/** Thrown when a sample cannot be stored (bad timestamp or label set). */
export class MemoryQueryableError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "MemoryQueryableError";
  }
}

const INITIAL_CAPACITY = 16;

/**
 * One stored series. Samples are kept sorted by timestamp in growable typed arrays; histograms
 * live in a parallel sparse array that exists only once the series has a histogram sample.
 */
class MemorySeries {
  readonly labels: Labels;
  ts = new Float64Array(INITIAL_CAPACITY);
  values = new Float64Array(INITIAL_CAPACITY);
  histograms: (FloatHistogram | undefined)[] | undefined;
  // Start timestamps (0: unknown); allocated once the series has a sample with one.
  sts: Float64Array | undefined;
  length = 0;
  // The histograms with the counter reset hints a TSDB would report; rebuilt after appends.
  tsdbHistograms: (FloatHistogram | undefined)[] | undefined;

  constructor(labels: Labels) {
    this.labels = labels;
  }

  #grow(): void {
    const cap = this.ts.length * 2;
    const ts = new Float64Array(cap);
    ts.set(this.ts);
    const values = new Float64Array(cap);
    values.set(this.values);
    this.ts = ts;
    this.values = values;
    if (this.sts) {
      const sts = new Float64Array(cap);
      sts.set(this.sts);
      this.sts = sts;
    }
  }

  // Index of the first sample with timestamp >= t.
  lowerBound(t: number): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ts[mid] < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  // Index of the first sample with timestamp > t.
  upperBound(t: number): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ts[mid] <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  add(t: number, v: number | FloatHistogram, st: number): void {
    this.tsdbHistograms = undefined;
    if (st !== 0 && !this.sts) this.sts = new Float64Array(this.ts.length);
    // Appends in time order are the common case and cost O(1).
    let i = this.length;
    if (i > 0 && this.ts[i - 1] >= t) {
      i = this.lowerBound(t);
      if (i < this.length && this.ts[i] === t) {
        this.#set(i, v, st);
        return;
      }
    }
    if (this.length === this.ts.length) this.#grow();
    if (i < this.length) {
      this.ts.copyWithin(i + 1, i, this.length);
      this.values.copyWithin(i + 1, i, this.length);
      this.sts?.copyWithin(i + 1, i, this.length);
      this.histograms?.splice(i, 0, undefined);
    } else if (this.histograms) {
      this.histograms.length = this.length + 1;
    }
    this.ts[i] = t;
    this.length++;
    this.#set(i, v, st);
  }

  #set(i: number, v: number | FloatHistogram, st: number): void {
    if (this.sts) this.sts[i] = st;
    if (typeof v === "number") {
      this.values[i] = v;
      if (this.histograms) this.histograms[i] = undefined;
      return;
    }
    if (!this.histograms) this.histograms = new Array(this.length);
    this.values[i] = 0;
    this.histograms[i] = v;
  }
}

// Whether a counter histogram chunk ending in `last` must be cut before `h` (Prometheus'
// FloatHistogramAppender.appendable): an explicit or detected counter reset, or a layout the
// chunk cannot take (schema, zero threshold, custom bounds).
function cutsCounterChunk(last: FloatHistogram, lastStale: boolean, h: FloatHistogram): boolean {
  if (h.counterResetHint === CounterResetHint.CounterReset) return true;
  if (isStaleNaN(h.sum)) return false;
  if (lastStale) return true;
  if (h.count < last.count) return true;
  if (h.schema !== last.schema || h.zeroThreshold !== last.zeroThreshold) return true;
  if (usesCustomBuckets(h) && !customBoundsMatch(h.customValues, last.customValues)) return true;
  if (h.zeroCount < last.zeroCount) return true;
  return bucketsDecreased(positiveBuckets(last), positiveBuckets(h)) ||
    bucketsDecreased(negativeBuckets(last), negativeBuckets(h));
}

// Whether a populated bucket of `prev` is missing from or smaller in `cur` (both by index).
function bucketsDecreased(
  prev: readonly { index: number; count: number }[],
  cur: readonly { index: number; count: number }[],
): boolean {
  let i = 0;
  for (const p of prev) {
    while (i < cur.length && cur[i].index < p.index) i++;
    if (i < cur.length && cur[i].index === p.index) {
      if (cur[i].count < p.count) return true;
    } else if (p.count !== 0) {
      return true;
    }
  }
  return false;
}

/** The head's chunk range: chunks never span a multiple of it (the default 2h block range). */
const HEAD_CHUNK_RANGE = 2 * 3600_000;

/**
 * The histograms of a series with the counter reset hints Prometheus' TSDB reports when reading
 * them back from chunks: `gauge` in gauge chunks; in counter chunks `unknown` for a chunk's first
 * histogram and `not_reset` for the others. Chunks are cut where the TSDB cuts them: at the first
 * histogram after a float, on a switch between gauge and counter histograms, where a counter
 * histogram cannot be appended (see `cutsCounterChunk`), and at the head's 2h chunk range
 * boundaries. The head's size-based cuts (depending on encoded bytes) are not modelled.
 */
function tsdbHistograms(s: MemorySeries): (FloatHistogram | undefined)[] {
  const out: (FloatHistogram | undefined)[] = new Array(s.length);
  const hs = s.histograms!;
  let chunk: "none" | "counter" | "gauge" = "none";
  // End of the chunk range the current chunk started in (Prometheus' rangeForTimestamp).
  let chunkEnd = 0;
  let inChunk = 0;
  let last: FloatHistogram | undefined;
  let lastStale = false;
  for (let i = 0; i < s.length; i++) {
    const h = hs[i];
    if (!h) {
      // A stale marker after histograms is stored as a stale histogram in the same chunk.
      if (chunk !== "none" && isStaleNaN(s.values[i])) lastStale = true;
      else chunk = "none";
      continue;
    }
    const gauge = h.counterResetHint === CounterResetHint.Gauge;
    const t = s.ts[i];
    let cut = chunk === "none" || gauge !== (chunk === "gauge") || t >= chunkEnd;
    // Every histogram in a gauge chunk reads as a gauge, so only counter chunk cuts matter.
    if (!cut && chunk === "counter") cut = cutsCounterChunk(last!, lastStale, h);
    if (cut) {
      chunk = gauge ? "gauge" : "counter";
      inChunk = 0;
      chunkEnd = Math.trunc(t / HEAD_CHUNK_RANGE) * HEAD_CHUNK_RANGE + HEAD_CHUNK_RANGE;
    }
    inChunk++;
    const hint = chunk === "gauge"
      ? CounterResetHint.Gauge
      : inChunk > 1
      ? CounterResetHint.NotCounterReset
      : CounterResetHint.Unknown;
    out[i] = h.counterResetHint === hint ? h : { ...h, counterResetHint: hint };
    last = h;
    lastStale = isStaleNaN(h.sum);
  }
  return out;
}

/** Options of {@linkcode MemoryQueryable}. */
export interface MemoryQueryableOptions {
  /**
   * Report histogram counter reset hints as Prometheus' TSDB does on read (derived from how it
   * would cut chunks) instead of the hints the samples were stored with. The PromQL test runner
   * needs this: upstream's expectations assume a real TSDB underneath.
   */
  tsdbCounterResetHints?: boolean;
  /**
   * Series per batch of the sets `select` returns (default `DEFAULT_BATCH_SIZE`); small values
   * let tests cross batch boundaries.
   */
  batchSize?: number;
}

/** A view of a stored series restricted to a time range; iterators read the shared arrays. */
class SeriesView implements Series {
  constructor(
    readonly labels: Labels,
    readonly ts: Float64Array,
    readonly values: Float64Array,
    readonly histograms: (FloatHistogram | undefined)[] | undefined,
    readonly sts: Float64Array | undefined,
  ) {}

  iterator(): ArraySampleIterator {
    return new ArraySampleIterator(this.ts, this.values, this.histograms, this.sts);
  }
}

/**
 * An in-memory series store implementing the engine's {@linkcode Queryable} contract.
 *
 * @example
 * ```ts
 * const q = new MemoryQueryable();
 * q.append(labelsFromRecord({ __name__: "up", job: "api" }), 0, 1);
 * const set = q.select([new Matcher(MatchType.Equal, "job", "api")], { start: 0, end: 1000 });
 * const batch = await set.next(); // the first batch of series, or null
 * ```
 */
export class MemoryQueryable implements Queryable {
  #series = new Map<string, MemorySeries>();
  #sorted: MemorySeries[] | undefined;
  readonly #tsdbHints: boolean;
  readonly #batchSize: number | undefined;

  /** Creates an empty store. */
  constructor(options: MemoryQueryableOptions = {}) {
    this.#tsdbHints = options.tsdbCounterResetHints ?? false;
    this.#batchSize = options.batchSize;
  }

  /** Number of series stored. */
  get seriesCount(): number {
    return this.#series.size;
  }

  /** Removes every series. */
  clear(): void {
    this.#series.clear();
    this.#sorted = undefined;
  }

  /**
   * Stores one sample. A sample at a timestamp the series already has replaces it (the test
   * language's later `load` blocks may restate a series).
   *
   * @param labels the series' labels, sorted by name (see `labelsFromRecord`); must not be empty
   * @param t timestamp in ms, a safe integer
   * @param value a float (stale markers included) or a float histogram
   * @param st the sample's start timestamp in ms, 0 (the default) when unknown; iterators
   *   report it through `atST()`
   * @throws {MemoryQueryableError} for an empty label set or a non-integer timestamp or start
   *   timestamp
   */
  append(labels: Labels, t: number, value: number | FloatHistogram, st = 0): void {
    if (!Number.isSafeInteger(t)) {
      throw new MemoryQueryableError(`invalid sample timestamp ${t}: must be an integer in ms`);
    }
    if (!Number.isSafeInteger(st)) {
      throw new MemoryQueryableError(
        `invalid sample start timestamp ${st}: must be an integer in ms`,
      );
    }
    this.#seriesFor(labels).add(t, value, st);
  }

  #seriesFor(labels: Labels): MemorySeries {
    const key = labelsKey(labels);
    let s = this.#series.get(key);
    if (!s) {
      if (labels.length === 0) throw new MemoryQueryableError("series without labels");
      for (let i = 1; i < labels.length; i++) {
        if (compareStrings(labels[i - 1].name, labels[i].name) >= 0) {
          throw new MemoryQueryableError(
            `labels not sorted or not unique: ${labels[i - 1].name}, ${labels[i].name}`,
          );
        }
      }
      s = new MemorySeries(labels);
      this.#series.set(key, s);
      this.#sorted = undefined;
    }
    return s;
  }

  #all(): MemorySeries[] {
    if (!this.#sorted) {
      this.#sorted = [...this.#series.values()].sort((a, b) => compareLabels(a.labels, b.labels));
    }
    return this.#sorted;
  }

  // Yields the index range [lo, hi) of a series' samples within [start, end].
  #range(s: MemorySeries, start: number, end: number): [number, number] {
    return [s.lowerBound(start), s.upperBound(end)];
  }

  /**
   * Returns the series matching all matchers with at least one sample in
   * `[hints.start, hints.end]`, sorted by labels; their iterators cover only that range. The
   * store is matched lazily, a batch at a time.
   */
  select(
    matchers: readonly Matcher[],
    hints: SelectHints,
    signal?: AbortSignal,
  ): SeriesSet {
    return new IterableSeriesSet(this.#select(matchers, hints), {
      batchSize: this.#batchSize,
      signal,
    });
  }

  *#select(matchers: readonly Matcher[], hints: SelectHints): Generator<Series> {
    const limit = hints.limit ?? 0;
    let n = 0;
    for (const s of this.#all()) {
      if (!matchesAll(matchers, s.labels)) continue;
      const [lo, hi] = this.#range(s, hints.start, hints.end);
      if (lo >= hi) continue;
      yield new SeriesView(
        s.labels,
        s.ts.subarray(lo, hi),
        s.values.subarray(lo, hi),
        this.#histograms(s)?.slice(lo, hi),
        s.sts?.subarray(lo, hi),
      );
      if (limit > 0 && ++n >= limit) return;
    }
  }

  #histograms(s: MemorySeries): (FloatHistogram | undefined)[] | undefined {
    if (!this.#tsdbHints || !s.histograms) return s.histograms;
    return s.tsdbHistograms ??= tsdbHistograms(s);
  }

  /** Returns the sorted label names of matching series with samples in the hinted range. */
  labelNames(
    matchers: readonly Matcher[],
    hints: LabelHints,
    signal?: AbortSignal,
  ): Promise<StringsResult> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const names = new Set<string>();
    for (const s of this.#matching(matchers, hints)) for (const l of s.labels) names.add(l.name);
    return Promise.resolve({ values: sortedLimited(names, hints.limit), warnings: [] });
  }

  /** Returns the sorted values of label `name` over matching series with samples in range. */
  labelValues(
    name: string,
    matchers: readonly Matcher[],
    hints: LabelHints,
    signal?: AbortSignal,
  ): Promise<StringsResult> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const values = new Set<string>();
    for (const s of this.#matching(matchers, hints)) {
      for (const l of s.labels) {
        if (l.name === name) {
          values.add(l.value);
          break;
        }
      }
    }
    return Promise.resolve({ values: sortedLimited(values, hints.limit), warnings: [] });
  }

  *#matching(matchers: readonly Matcher[], hints: LabelHints): Iterable<MemorySeries> {
    for (const s of this.#all()) {
      if (!matchesAll(matchers, s.labels)) continue;
      const [lo, hi] = this.#range(s, hints.start, hints.end);
      if (lo < hi) yield s;
    }
  }
}

function sortedLimited(values: Set<string>, limit = 0): string[] {
  const out = [...values].sort(compareStrings);
  return limit > 0 && out.length > limit ? out.slice(0, limit) : out;
}

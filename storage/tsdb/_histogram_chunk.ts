/**
 * What the integer and float histogram chunk codecs share: the iteration skeleton (header,
 * layout, timestamps, seek, errors) and the encoders' layout and appendability checks.
 *
 * @module
 */
import {
  type CounterResetHint,
  CounterResetHint as Hint,
  type FloatHistogram,
  type IntHistogram,
} from "../../engine/histogram.ts";
import { ValueType } from "../../engine/series.ts";
import { BitReader } from "./bstream.ts";
import { ChunkEncodeError, TsdbFormatError } from "./errors.ts";
import {
  COUNTER_RESET_MASK,
  CounterResetHeader,
  countSpans,
  HISTOGRAM_HEADER_SIZE,
  type HistogramLayout,
  isKnownSchema,
  readLayout,
  sameLayout,
} from "./histogram_meta.ts";
import { readVarbitInt } from "./varbit.ts";

/** The layout of a chunk that starts with a stale marker (no buckets). */
export const EMPTY_LAYOUT: HistogramLayout = {
  schema: 0,
  zeroThreshold: 0,
  positiveSpans: [],
  negativeSpans: [],
  customValues: new Float64Array(0),
};

/** A deep copy of a layout (the caller's histogram may change after it is appended). */
export function copyLayout(l: HistogramLayout): HistogramLayout {
  return {
    schema: l.schema,
    zeroThreshold: l.zeroThreshold,
    positiveSpans: l.positiveSpans.map((s) => ({ ...s })),
    negativeSpans: l.negativeSpans.map((s) => ({ ...s })),
    customValues: l.customValues.slice(),
  };
}

/** A stale marker sample: no buckets, `sum` as given (the caller keeps its NaN bits). */
export function staleHistogram(sum: number): IntHistogram & FloatHistogram {
  return {
    counterResetHint: Hint.Unknown,
    schema: 0,
    zeroThreshold: 0,
    zeroCount: 0,
    count: 0,
    sum,
    positiveSpans: [],
    negativeSpans: [],
    positiveBuckets: new Float64Array(0),
    negativeBuckets: new Float64Array(0),
    customValues: new Float64Array(0),
  };
}

/**
 * The header Prometheus' appender gives a chunk from its first sample when there is no previous
 * chunk to compare with: gauge, explicit counter reset, else unknown.
 */
export function defaultHeader(hint: CounterResetHint): CounterResetHeader {
  if (hint === Hint.Gauge) return CounterResetHeader.Gauge;
  if (hint === Hint.CounterReset) return CounterResetHeader.CounterReset;
  return CounterResetHeader.Unknown;
}

/** Throws {@linkcode ChunkEncodeError} unless the bucket arrays match the spans. */
export function checkBucketCounts(h: IntHistogram | FloatHistogram): void {
  if (
    h.positiveBuckets.length !== countSpans(h.positiveSpans) ||
    h.negativeBuckets.length !== countSpans(h.negativeSpans)
  ) {
    throw new ChunkEncodeError("bucket counts do not match the spans");
  }
}

/**
 * The checks both encoders make before appending a non-stale sample to a non-empty chunk:
 * not after a stale marker, same layout, buckets matching spans, no gauge/counter mix, no
 * explicit counter reset. Returns whether the chunk is a gauge chunk (then counts may drop);
 * the caller checks counter resets in its own representation.
 *
 * @param prevSum bits of the previous sample's sum (high, low)
 * @param layout the chunk's layout
 * @param header the chunk's flags byte
 */
export function checkAppendable(
  prevSum: Uint32Array,
  layout: HistogramLayout,
  header: number,
  h: IntHistogram | FloatHistogram,
): boolean {
  if (prevSum[0] === 0x7ff00000 && prevSum[1] === 2) {
    throw new ChunkEncodeError("only stale markers may follow a stale marker in a chunk");
  }
  if (!sameLayout(layout, h)) {
    throw new ChunkEncodeError("histogram layout changed: start a new chunk");
  }
  checkBucketCounts(h);
  const gauge = (header & COUNTER_RESET_MASK) === CounterResetHeader.Gauge;
  if (gauge !== (h.counterResetHint === Hint.Gauge)) {
    throw new ChunkEncodeError("gauge and counter histograms cannot share a chunk");
  }
  if (!gauge && h.counterResetHint === Hint.CounterReset) {
    throw new ChunkEncodeError("explicit counter reset: start a new chunk");
  }
  return gauge;
}

/**
 * Iteration over a histogram chunk: the header, the layout before the first sample, the
 * timestamp of every sample (varbit first, then varbit delta-of-delta), seek and typed errors.
 * A subclass decodes the values of each sample.
 */
export abstract class HistogramChunkIterator {
  /** The bit stream after the header. */
  protected readonly r: BitReader;
  /** The chunk's counter reset header (top two bits of the flags byte). */
  readonly counterResetHeader: number;
  /** Samples read so far (the current one included). */
  protected read = 0;
  /** The chunk's layout, known after the first `next`. */
  protected layout: HistogramLayout = EMPTY_LAYOUT;
  /** Number of positive buckets of the layout. */
  protected numPos = 0;
  #t = 0;
  #tDelta = 0;
  readonly #total: number;
  readonly #source: string;
  readonly #what: string;
  readonly #type: ValueType;
  #done = false;

  /**
   * Checks the header (the layout is read on the first `next`).
   *
   * @param data chunk bytes (count, flags, bit stream)
   * @param source names the chunk in errors
   * @param what the chunk kind, for errors ("histogram", "float histogram")
   * @param type the value type of every sample
   */
  constructor(data: Uint8Array, source: string, what: string, type: ValueType) {
    this.#source = source;
    this.#what = what;
    this.#type = type;
    if (data.length < HISTOGRAM_HEADER_SIZE) {
      throw new TsdbFormatError(source, `${what} chunk header`, "truncated");
    }
    this.#total = (data[0] << 8) | data[1];
    this.counterResetHeader = data[2] & COUNTER_RESET_MASK;
    this.r = new BitReader(data, HISTOGRAM_HEADER_SIZE);
  }

  /** Ends the iteration with a {@linkcode TsdbFormatError} naming the chunk. */
  protected fail(detail: string): never {
    this.#done = true;
    throw new TsdbFormatError(this.#source, `${this.#what} samples`, detail);
  }

  /** Sizes the decoding state for `buckets` buckets (positive then negative). */
  protected abstract allocate(buckets: number): void;
  /** Reads the first sample's values (after its timestamp). */
  protected abstract readFirst(): void;
  /** Reads a later sample's values (after its timestamp). */
  protected abstract readNext(): void;
  /** Whether the current sample's sum is the stale marker. */
  protected abstract stale(): boolean;

  /** Advances to the next sample. */
  next(): ValueType {
    if (this.#done || this.read === this.#total) {
      this.#done = true;
      return ValueType.None;
    }
    const r = this.r;
    if (this.read === 0) {
      const l = readLayout(r);
      if (r.overrun) this.fail("truncated layout");
      if (!isKnownSchema(l.schema)) this.fail(`unknown schema ${l.schema}`);
      this.layout = l;
      this.numPos = countSpans(l.positiveSpans);
      const n = this.numPos + countSpans(l.negativeSpans);
      if (n > r.bitLength) this.fail(`${n} buckets cannot fit the chunk`);
      this.allocate(n);
      this.#t = readVarbitInt(r);
      this.readFirst();
    } else {
      this.#tDelta += readVarbitInt(r);
      this.#t += this.#tDelta;
      this.readNext();
    }
    if (r.overrun) this.fail(`truncated at sample ${this.read + 1} of ${this.#total}`);
    this.read++;
    return this.#type;
  }

  /**
   * Reports whether the current sample is a stale marker. Use this rather than testing the
   * returned histogram's `sum`: NaN payloads do not survive object properties in V8.
   */
  isStale(): boolean {
    return this.read > 0 && this.stale();
  }

  /** Advances to the first sample at or after `t`. */
  seek(t: number): ValueType {
    if (this.#done) return ValueType.None;
    if (this.read > 0 && this.#t >= t) return this.#type;
    while (this.next() !== ValueType.None) {
      if (this.#t >= t) return this.#type;
    }
    return ValueType.None;
  }

  /** Timestamp of the current sample. */
  atT(): number {
    return this.#t;
  }

  /** Always throws: histogram chunks hold histograms. */
  atFloat(): number {
    throw new TypeError(`${this.#what} chunk samples are histograms, not floats`);
  }
}

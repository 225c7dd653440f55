/**
 * The float histogram chunk (`chunkenc.EncFloatHistogram`), bit-exact with Prometheus'
 * `float_histogram.go`: the layout of {@linkcode ./histogram_meta.ts}, then a first sample of
 * varbit timestamp and raw 64-bit count, zero count, sum and absolute bucket counts; later
 * samples store the timestamp delta-of-delta and XOR each float against its previous value,
 * every field with its own leading/trailing-zero window. Stale markers store no buckets.
 *
 * @module
 */
import type { FloatHistogram } from "../../model/histogram.ts";
import { isStaleNaN, type SampleIterator, ValueType } from "../../model/series.ts";
import { BitWriter } from "./bstream.ts";
import { ChunkEncodeError } from "./errors.ts";
import {
  checkAppendable,
  checkBucketCounts,
  copyLayout,
  defaultHeader,
  EMPTY_LAYOUT,
  staleHistogram,
} from "./_histogram_chunk.ts";
import { HistogramChunkIterator } from "./histogram_chunk_iterator.ts";
import {
  type CounterResetHeader,
  hintForSample,
  HISTOGRAM_HEADER_SIZE,
  type HistogramLayout,
  slotFloat,
  sumBits,
  writeFloat64,
  writeLayout,
  xorReadSlot,
  xorWriteFloat,
} from "./histogram_meta.ts";
import { writeVarbitInt } from "./varbit.ts";
import { MAX_CHUNK_SAMPLES, type XorWindow, xorWrite } from "./xor.ts";

// Value slots: count, zero count, sum, then positive and negative buckets.
const CNT = 0;
const ZCNT = 1;
const SUM = 2;
const FIRST_BUCKET = 3;

/** Iterates a float histogram chunk; decoding state lives in typed arrays sized per chunk. */
export class FloatHistogramIterator extends HistogramChunkIterator implements SampleIterator {
  #hi = new Uint32Array(FIRST_BUCKET);
  #lo = new Uint32Array(FIRST_BUCKET);
  #lead = new Uint8Array(FIRST_BUCKET);
  #trail = new Uint8Array(FIRST_BUCKET);

  /**
   * Starts iterating a chunk (the header is checked here, the layout on the first `next`).
   *
   * @param data chunk bytes (count, flags, bit stream)
   * @param source names the chunk in errors
   */
  constructor(data: Uint8Array, source = "float histogram chunk") {
    super(data, source, "float histogram", ValueType.FloatHistogram);
  }

  /** Sizes the decoding state for `buckets` buckets (positive then negative). */
  protected allocate(buckets: number): void {
    const n = FIRST_BUCKET + buckets;
    this.#hi = new Uint32Array(n);
    this.#lo = new Uint32Array(n);
    this.#lead = new Uint8Array(n);
    this.#trail = new Uint8Array(n);
  }

  /** Reads the first sample's values (after its timestamp). */
  protected readFirst(): void {
    const r = this.r;
    for (let i = 0; i < this.#hi.length; i++) {
      this.#hi[i] = r.readBits(32);
      this.#lo[i] = r.readBits(32);
    }
  }

  /** Reads a later sample's values (after its timestamp). */
  protected readNext(): void {
    const r = this.r;
    const hi = this.#hi;
    const lo = this.#lo;
    xorReadSlot(r, hi, lo, this.#lead, this.#trail, CNT);
    xorReadSlot(r, hi, lo, this.#lead, this.#trail, ZCNT);
    xorReadSlot(r, hi, lo, this.#lead, this.#trail, SUM);
    if (!this.stale()) {
      for (let i = FIRST_BUCKET; i < hi.length; i++) {
        xorReadSlot(r, hi, lo, this.#lead, this.#trail, i);
      }
    }
  }

  /** Whether the current sample's sum is the stale marker. */
  protected stale(): boolean {
    return this.#hi[SUM] === 0x7ff00000 && this.#lo[SUM] === 2;
  }

  /** The current sample (a new object). */
  atFloatHistogram(): FloatHistogram {
    const hi = this.#hi;
    const lo = this.#lo;
    if (this.stale()) return staleHistogram();
    const sum = slotFloat(hi, lo, SUM);
    const l = this.layout;
    const np = this.numPos;
    const nn = hi.length - FIRST_BUCKET - np;
    const pos = new Float64Array(np);
    const neg = new Float64Array(nn);
    for (let i = 0; i < np; i++) pos[i] = slotFloat(hi, lo, FIRST_BUCKET + i);
    for (let i = 0; i < nn; i++) neg[i] = slotFloat(hi, lo, FIRST_BUCKET + np + i);
    return {
      counterResetHint: hintForSample(this.counterResetHeader, this.read),
      schema: l.schema,
      zeroThreshold: l.zeroThreshold,
      zeroCount: slotFloat(hi, lo, ZCNT),
      count: slotFloat(hi, lo, CNT),
      sum,
      positiveSpans: l.positiveSpans.map((s) => ({ ...s })),
      negativeSpans: l.negativeSpans.map((s) => ({ ...s })),
      positiveBuckets: pos,
      negativeBuckets: neg,
      customValues: l.customValues.slice(),
    };
  }
}

/** Options of a float histogram chunk encoder. */
export interface FloatHistogramEncoderOptions {
  /** The chunk's counter reset header; by default derived from the first sample's hint. */
  header?: CounterResetHeader;
}

/**
 * Builds a float histogram chunk, producing the bytes Prometheus' appender produces for the
 * same samples in one chunk. Refuses with {@linkcode ChunkEncodeError} where Prometheus would
 * cut a new chunk or recode: layout change, counter reset, mixing gauge and counter samples,
 * a normal sample after a stale marker, a full chunk, a non-increasing timestamp.
 */
export class FloatHistogramChunkEncoder {
  readonly #w = new BitWriter(HISTOGRAM_HEADER_SIZE);
  readonly #opts: FloatHistogramEncoderOptions;
  #num = 0;
  #layout: HistogramLayout = EMPTY_LAYOUT;
  #t = 0;
  #tDelta = 0;
  /** Previous values: count, zero count, (unused sum slot), then buckets. */
  #prev = new Float64Array(FIRST_BUCKET);
  /** Bits of the previous sum (a typed array keeps NaN payloads intact). */
  readonly #sum = new Uint32Array(2);
  readonly #newSum = new Uint32Array(2);
  #wins: XorWindow[] = [];

  /**
   * Starts an empty chunk.
   *
   * @param opts the counter reset header, if known
   */
  constructor(opts: FloatHistogramEncoderOptions = {}) {
    this.#opts = opts;
  }

  /** Number of samples appended. */
  get numSamples(): number {
    return this.#num;
  }

  /**
   * Appends a sample. A sum that still carries the stale marker's bits counts as a stale
   * marker; prefer {@linkcode appendStale}.
   */
  append(t: number, h: FloatHistogram): void {
    this.#append(t, h, isStaleNaN(h.sum));
  }

  /** Appends a stale marker (sum 0x7ff0000000000002, no buckets). */
  appendStale(t: number): void {
    this.#append(t, STALE_FLOAT, true);
  }

  #append(t: number, h: FloatHistogram, stale: boolean): void {
    if (this.#num === MAX_CHUNK_SAMPLES) {
      throw new ChunkEncodeError("float histogram chunk is full");
    }
    if (this.#num > 0 && !(t > this.#t)) {
      throw new ChunkEncodeError(`timestamp ${t} not after ${this.#t}`);
    }
    const w = this.#w;
    const sum = this.#newSum;
    sumBits(h.sum, stale, sum);
    if (this.#num === 0) {
      w.setByte(2, this.#opts.header ?? defaultHeader(h.counterResetHint));
      const l: HistogramLayout = stale ? EMPTY_LAYOUT : h;
      if (!stale) checkBucketCounts(h);
      writeLayout(w, l);
      this.#layout = copyLayout(l);
      const np = stale ? 0 : h.positiveBuckets.length;
      const n = FIRST_BUCKET + np + (stale ? 0 : h.negativeBuckets.length);
      const prev = this.#prev = new Float64Array(n);
      prev[CNT] = stale ? 0 : h.count;
      prev[ZCNT] = stale ? 0 : h.zeroCount;
      if (!stale) {
        prev.set(h.positiveBuckets, FIRST_BUCKET);
        prev.set(h.negativeBuckets, FIRST_BUCKET + np);
      }
      this.#wins = Array.from({ length: n }, () => ({ leading: 0xff, trailing: 0 }));
      writeVarbitInt(w, t);
      writeFloat64(w, prev[CNT]);
      writeFloat64(w, prev[ZCNT]);
      w.writeBits(sum[0], 32);
      w.writeBits(sum[1], 32);
      for (let i = FIRST_BUCKET; i < n; i++) writeFloat64(w, prev[i]);
      this.#tDelta = 0;
    } else {
      if (!stale) this.#checkAppendable(h);
      const tDelta = t - this.#t;
      writeVarbitInt(w, tDelta - this.#tDelta);
      this.#tDelta = tDelta;
      const prev = this.#prev;
      const wins = this.#wins;
      this.#xor(CNT, stale ? 0 : h.count);
      this.#xor(ZCNT, stale ? 0 : h.zeroCount);
      xorWrite(w, (sum[0] ^ this.#sum[0]) >>> 0, (sum[1] ^ this.#sum[1]) >>> 0, wins[SUM]);
      if (!stale) {
        const np = h.positiveBuckets.length;
        for (let i = FIRST_BUCKET; i < prev.length; i++) {
          const j = i - FIRST_BUCKET;
          this.#xor(i, j < np ? h.positiveBuckets[j] : h.negativeBuckets[j - np]);
        }
      }
    }
    this.#t = t;
    this.#sum.set(sum);
    this.#num++;
    w.setByte(0, this.#num >>> 8);
    w.setByte(1, this.#num & 0xff);
  }

  #xor(i: number, v: number): void {
    xorWriteFloat(this.#w, v, this.#prev[i], this.#wins[i]);
    this.#prev[i] = v;
  }

  #checkAppendable(h: FloatHistogram): void {
    // Gauge chunks may go down; counter chunks may not.
    if (checkAppendable(this.#sum, this.#layout, this.#w.getByte(2), h)) return;
    const prev = this.#prev;
    if (h.count < prev[CNT] || h.zeroCount < prev[ZCNT]) {
      throw new ChunkEncodeError("counter reset: start a new chunk");
    }
    const np = h.positiveBuckets.length;
    for (let i = FIRST_BUCKET; i < prev.length; i++) {
      const j = i - FIRST_BUCKET;
      const v = j < np ? h.positiveBuckets[j] : h.negativeBuckets[j - np];
      if (v < prev[i]) throw new ChunkEncodeError("bucket counter reset: start a new chunk");
    }
  }

  /** The chunk bytes so far, as a copy. */
  bytes(): Uint8Array {
    return this.#w.bytes().slice();
  }
}

const STALE_FLOAT: FloatHistogram = staleHistogram();

/**
 * The integer histogram chunk (`chunkenc.EncHistogram`), bit-exact with Prometheus'
 * `histogram.go`: after the layout, the first sample stores timestamp, count, zero count (varbit),
 * the sum (64 raw bits) and the bucket deltas (varbit); later samples store delta-of-deltas of
 * timestamp, counts and every bucket, and the XOR'd sum. A stale marker sample (sum bits
 * 0x7ff0000000000002) stores no buckets.
 *
 * @module
 */
import type { FloatHistogram, IntHistogram } from "../../model/histogram.ts";
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
  writeLayout,
  xorReadSlot,
} from "./histogram_meta.ts";
import { readVarbitInt, readVarbitUint, writeVarbitInt, writeVarbitUint } from "./varbit.ts";
import { MAX_CHUNK_SAMPLES, type XorWindow, xorWrite } from "./xor.ts";

/**
 * Iterates an integer histogram chunk. Decoding state lives in typed arrays sized once per
 * chunk; `atFloatHistogram()`/`atHistogram()` build the (caller-owned) result objects.
 */
export class HistogramIterator extends HistogramChunkIterator implements SampleIterator {
  #cnt = 0;
  #cntDelta = 0;
  #zCnt = 0;
  #zCntDelta = 0;
  // Sum bits and window in slot 0.
  readonly #sumHi = new Uint32Array(1);
  readonly #sumLo = new Uint32Array(1);
  readonly #lead = new Uint8Array(1);
  readonly #trail = new Uint8Array(1);
  /** Bucket deltas (as stored) and their per-sample deltas: positive buckets then negative. */
  #buckets = new Float64Array(0);
  #bucketsDelta = new Float64Array(0);

  /**
   * Starts iterating a chunk (the header is checked here, the layout on the first `next`).
   *
   * @param data chunk bytes (count, flags, bit stream)
   * @param source names the chunk in errors
   */
  constructor(data: Uint8Array, source = "histogram chunk") {
    super(data, source, "histogram", ValueType.Histogram);
  }

  /** Sizes the decoding state for `buckets` buckets (positive then negative). */
  protected allocate(buckets: number): void {
    this.#buckets = new Float64Array(buckets);
    this.#bucketsDelta = new Float64Array(buckets);
  }

  /** Reads the first sample's values (after its timestamp). */
  protected readFirst(): void {
    const r = this.r;
    this.#cnt = readVarbitUint(r);
    this.#zCnt = readVarbitUint(r);
    this.#sumHi[0] = r.readBits(32);
    this.#sumLo[0] = r.readBits(32);
    const b = this.#buckets;
    for (let i = 0; i < b.length; i++) b[i] = readVarbitInt(r);
  }

  /** Reads a later sample's values (after its timestamp). */
  protected readNext(): void {
    const r = this.r;
    this.#cntDelta += readVarbitInt(r);
    this.#cnt += this.#cntDelta;
    this.#zCntDelta += readVarbitInt(r);
    this.#zCnt += this.#zCntDelta;
    xorReadSlot(r, this.#sumHi, this.#sumLo, this.#lead, this.#trail, 0);
    if (!this.stale()) {
      const b = this.#buckets;
      const d = this.#bucketsDelta;
      for (let i = 0; i < b.length; i++) {
        d[i] += readVarbitInt(r);
        b[i] += d[i];
      }
    }
  }

  /** Whether the current sample's sum is the stale marker. */
  protected stale(): boolean {
    return this.#sumHi[0] === 0x7ff00000 && this.#sumLo[0] === 2;
  }

  /** The current sample with delta-encoded integer buckets, as stored. */
  atHistogram(): IntHistogram {
    if (this.stale()) return staleHistogram();
    const sum = slotFloat(this.#sumHi, this.#sumLo, 0);
    const l = this.layout;
    return {
      counterResetHint: hintForSample(this.counterResetHeader, this.read),
      schema: l.schema,
      zeroThreshold: l.zeroThreshold,
      zeroCount: this.#zCnt,
      count: this.#cnt,
      sum,
      positiveSpans: l.positiveSpans.map((s) => ({ ...s })),
      negativeSpans: l.negativeSpans.map((s) => ({ ...s })),
      positiveBuckets: this.#buckets.slice(0, this.numPos),
      negativeBuckets: this.#buckets.slice(this.numPos),
      customValues: l.customValues.slice(),
    };
  }

  /** The current sample as a float histogram with absolute bucket counts. */
  atFloatHistogram(): FloatHistogram {
    if (this.stale()) return staleHistogram();
    const sum = slotFloat(this.#sumHi, this.#sumLo, 0);
    const l = this.layout;
    const b = this.#buckets;
    const np = this.numPos;
    const pos = new Float64Array(np);
    const neg = new Float64Array(b.length - np);
    let acc = 0;
    for (let i = 0; i < np; i++) pos[i] = acc += b[i];
    acc = 0;
    for (let i = np; i < b.length; i++) neg[i - np] = acc += b[i];
    return {
      counterResetHint: hintForSample(this.counterResetHeader, this.read),
      schema: l.schema,
      zeroThreshold: l.zeroThreshold,
      zeroCount: this.#zCnt,
      count: this.#cnt,
      sum,
      positiveSpans: l.positiveSpans.map((s) => ({ ...s })),
      negativeSpans: l.negativeSpans.map((s) => ({ ...s })),
      positiveBuckets: pos,
      negativeBuckets: neg,
      customValues: l.customValues.slice(),
    };
  }
}

const STALE_INT: IntHistogram = staleHistogram();

/** Options of a histogram chunk encoder. */
export interface HistogramEncoderOptions {
  /**
   * The chunk's counter reset header. By default it follows the first sample's hint the way
   * Prometheus' appender does without a previous chunk: gauge, counter reset, else unknown.
   */
  header?: CounterResetHeader;
}

/**
 * Builds an integer histogram chunk, producing the bytes Prometheus' appender produces for the
 * same samples in one chunk. It refuses with {@linkcode ChunkEncodeError} where Prometheus
 * would cut a new chunk or recode this one: a different layout (schema, zero threshold, spans,
 * custom bounds), a counter reset in a counter chunk, a normal sample after a stale marker,
 * a full chunk, or a timestamp that does not increase.
 */
export class HistogramChunkEncoder {
  readonly #w = new BitWriter(HISTOGRAM_HEADER_SIZE);
  readonly #opts: HistogramEncoderOptions;
  #num = 0;
  #layout: HistogramLayout = EMPTY_LAYOUT;
  #t = 0;
  #tDelta = 0;
  #cnt = 0;
  #cntDelta = 0;
  #zCnt = 0;
  #zCntDelta = 0;
  /** Bits of the previous sum (a typed array keeps NaN payloads intact). */
  readonly #sum = new Uint32Array(2);
  readonly #newSum = new Uint32Array(2);
  readonly #win: XorWindow = { leading: 0xff, trailing: 0 };
  #buckets = new Float64Array(0);
  #bucketsDelta = new Float64Array(0);

  /**
   * Starts an empty chunk.
   *
   * @param opts the counter reset header, if known
   */
  constructor(opts: HistogramEncoderOptions = {}) {
    this.#opts = opts;
  }

  /** Number of samples appended. */
  get numSamples(): number {
    return this.#num;
  }

  /**
   * Appends a sample (buckets delta-encoded as in {@linkcode IntHistogram}). A sum that still
   * carries the stale marker's bits counts as a stale marker; prefer {@linkcode appendStale}.
   */
  append(t: number, h: IntHistogram): void {
    this.#append(t, h, isStaleNaN(h.sum));
  }

  /** Appends a stale marker (sum 0x7ff0000000000002, no buckets). */
  appendStale(t: number): void {
    this.#append(t, STALE_INT, true);
  }

  #append(t: number, h: IntHistogram, stale: boolean): void {
    if (this.#num === MAX_CHUNK_SAMPLES) throw new ChunkEncodeError("histogram chunk is full");
    if (this.#num > 0 && !(t > this.#t)) {
      throw new ChunkEncodeError(`timestamp ${t} not after ${this.#t}`);
    }
    const w = this.#w;
    const sum = this.#newSum;
    sumBits(h.sum, stale, sum);
    if (this.#num === 0) {
      const l: HistogramLayout = stale ? EMPTY_LAYOUT : h;
      w.setByte(2, this.#opts.header ?? defaultHeader(h.counterResetHint));
      writeLayout(w, l);
      this.#layout = copyLayout(l);
      const n = stale ? 0 : h.positiveBuckets.length + h.negativeBuckets.length;
      if (!stale) checkBucketCounts(h);
      this.#buckets = new Float64Array(n);
      this.#bucketsDelta = new Float64Array(n);
      writeVarbitInt(w, t);
      writeVarbitUint(w, stale ? 0 : h.count);
      writeVarbitUint(w, stale ? 0 : h.zeroCount);
      w.writeBits(sum[0], 32);
      w.writeBits(sum[1], 32);
      if (!stale) {
        this.#buckets.set(h.positiveBuckets);
        this.#buckets.set(h.negativeBuckets, h.positiveBuckets.length);
        for (const b of this.#buckets) writeVarbitInt(w, b);
      }
      this.#tDelta = 0;
      this.#cntDelta = 0;
      this.#zCntDelta = 0;
      this.#cnt = stale ? 0 : h.count;
      this.#zCnt = stale ? 0 : h.zeroCount;
    } else {
      if (!stale) this.#checkAppendable(h);
      const count = stale ? 0 : h.count;
      const zeroCount = stale ? 0 : h.zeroCount;
      const tDelta = t - this.#t;
      const cntDelta = count - this.#cnt;
      const zCntDelta = zeroCount - this.#zCnt;
      writeVarbitInt(w, tDelta - this.#tDelta);
      // Prometheus writes zero count deltas-of-deltas for stale markers.
      writeVarbitInt(w, stale ? 0 : cntDelta - this.#cntDelta);
      writeVarbitInt(w, stale ? 0 : zCntDelta - this.#zCntDelta);
      xorWrite(w, (sum[0] ^ this.#sum[0]) >>> 0, (sum[1] ^ this.#sum[1]) >>> 0, this.#win);
      if (!stale) {
        const b = this.#buckets;
        const d = this.#bucketsDelta;
        const np = h.positiveBuckets.length;
        for (let i = 0; i < b.length; i++) {
          const v = i < np ? h.positiveBuckets[i] : h.negativeBuckets[i - np];
          const delta = v - b[i];
          writeVarbitInt(w, delta - d[i]);
          d[i] = delta;
          b[i] = v;
        }
      }
      this.#tDelta = tDelta;
      this.#cntDelta = cntDelta;
      this.#zCntDelta = zCntDelta;
      this.#cnt = count;
      this.#zCnt = zeroCount;
    }
    this.#t = t;
    this.#sum.set(sum);
    this.#num++;
    w.setByte(0, this.#num >>> 8);
    w.setByte(1, this.#num & 0xff);
  }

  #checkAppendable(h: IntHistogram): void {
    // Gauge chunks may go down; counter chunks may not.
    if (checkAppendable(this.#sum, this.#layout, this.#w.getByte(2), h)) return;
    if (h.count < this.#cnt || h.zeroCount < this.#zCnt) {
      throw new ChunkEncodeError("counter reset: start a new chunk");
    }
    // Absolute bucket counts must not decrease either.
    const b = this.#buckets;
    const np = h.positiveBuckets.length;
    let prevAbs = 0;
    let abs = 0;
    for (let i = 0; i < b.length; i++) {
      if (i === np) prevAbs = abs = 0;
      prevAbs += b[i];
      abs += i < np ? h.positiveBuckets[i] : h.negativeBuckets[i - np];
      if (abs < prevAbs) throw new ChunkEncodeError("bucket counter reset: start a new chunk");
    }
  }

  /** The chunk bytes so far, as a copy. */
  bytes(): Uint8Array {
    return this.#w.bytes().slice();
  }
}

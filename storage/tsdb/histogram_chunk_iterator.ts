/**
 * The iteration both histogram chunk decoders share: the header, the layout before the first
 * sample, every sample's timestamp, seek and typed errors. Subclasses decode sample values.
 *
 * @module
 */
import { ValueType } from "../../model/series.ts";
import { BitReader } from "./bstream.ts";
import { TsdbFormatError } from "./errors.ts";
import { EMPTY_LAYOUT } from "./_histogram_chunk.ts";
import {
  COUNTER_RESET_MASK,
  countSpans,
  HISTOGRAM_HEADER_SIZE,
  type HistogramLayout,
  isKnownSchema,
  readLayout,
} from "./histogram_meta.ts";
import { readVarbitInt } from "./varbit.ts";

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

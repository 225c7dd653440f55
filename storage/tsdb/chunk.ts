/**
 * Sample iteration over stored chunks: picks the decoder for a chunk's encoding, and chains a
 * series' chunks into one iterator that skips deleted (tombstoned) samples.
 *
 * @module
 */
import type { FloatHistogram } from "../../model/histogram.ts";
import { type SampleIterator, ValueType } from "../../model/series.ts";
import { Encoding, type RawChunk } from "./chunks_reader.ts";
import { TsdbFormatError } from "./errors.ts";
import { FloatHistogramIterator } from "./float_histogram.ts";
import { HistogramIterator } from "./histogram.ts";
import type { Interval } from "./tombstones.ts";
import { XorIterator } from "./xor.ts";

/** An iterator over one chunk's samples. */
export type ChunkIterator = XorIterator | HistogramIterator | FloatHistogramIterator;

/**
 * Returns the decoder for a chunk. Encodings other than XOR, histogram and float histogram
 * (such as the ST variants of newer Prometheus versions) give a {@linkcode TsdbFormatError}.
 */
export function chunkIterator(chunk: RawChunk, source = "chunk"): ChunkIterator {
  switch (chunk.encoding) {
    case Encoding.XOR:
      return new XorIterator(chunk.data, source);
    case Encoding.Histogram:
      return new HistogramIterator(chunk.data, source);
    case Encoding.FloatHistogram:
      return new FloatHistogramIterator(chunk.data, source);
    default:
      throw new TsdbFormatError(source, "encoding", `unsupported chunk encoding ${chunk.encoding}`);
  }
}

/**
 * Opens a series' chunks one after another. XOR chunks share one decoder, which keeps its
 * sample arrays across chunks, so a float series allocates no decoder per chunk.
 */
export class ChunkOpener {
  #xor: XorIterator | undefined;

  /** The iterator over `chunk`; an XOR one is reused by the next XOR chunk opened. */
  open(chunk: RawChunk, source: string): ChunkIterator {
    if (chunk.encoding === Encoding.XOR && this.#xor) return this.#xor.reset(chunk.data, source);
    const it = chunkIterator(chunk, source);
    if (it instanceof XorIterator) this.#xor = it;
    return it;
  }
}

/**
 * Iterates the chunks of a series in order, reading each lazily through `raw`, and skips
 * samples inside the sorted, merged `deleted` intervals.
 */
export class ChunkSeriesIterator implements SampleIterator {
  #i = -1;
  #cur: ChunkIterator | undefined;
  #type: ValueType = ValueType.None;

  /**
   * Creates the iterator; nothing is read until the first `next` or `seek`.
   *
   * @param count number of chunks
   * @param raw returns chunk `i` as stored
   * @param source names chunk `i` in errors
   * @param maxTimes last sample time of each chunk (lets `seek` skip whole chunks)
   * @param deleted deleted intervals, sorted and merged
   */
  constructor(
    readonly count: number,
    readonly raw: (i: number) => RawChunk,
    readonly source: (i: number) => string,
    readonly maxTimes: ArrayLike<number>,
    readonly deleted: readonly Interval[] = [],
  ) {}

  readonly #opener = new ChunkOpener();

  #open(i: number): ChunkIterator {
    return this.#opener.open(this.raw(i), this.source(i));
  }

  #deleted(t: number): boolean {
    for (const iv of this.deleted) {
      if (t < iv.minTime) return false;
      if (t <= iv.maxTime) return true;
    }
    return false;
  }

  #advance(seekT: number | undefined): ValueType {
    for (;;) {
      if (this.#cur === undefined) {
        this.#i++;
        if (seekT !== undefined) {
          while (this.#i < this.count && this.maxTimes[this.#i] < seekT) this.#i++;
        }
        if (this.#i >= this.count) return this.#type = ValueType.None;
        this.#cur = this.#open(this.#i);
      }
      const vt = seekT === undefined ? this.#cur.next() : this.#cur.seek(seekT);
      if (vt === ValueType.None) {
        this.#cur = undefined;
        continue;
      }
      if (this.deleted.length > 0 && this.#deleted(this.#cur.atT())) {
        // Later samples are past any seek target: continue with plain next().
        seekT = undefined;
        continue;
      }
      return this.#type = vt;
    }
  }

  /** Advances to the next sample. */
  next(): ValueType {
    if (this.#i >= this.count) return ValueType.None;
    return this.#advance(undefined);
  }

  /** Advances to the first sample at or after `t` (never backwards). */
  seek(t: number): ValueType {
    if (this.#i >= this.count) return ValueType.None;
    if (this.#type !== ValueType.None && this.#cur && this.#cur.atT() >= t) return this.#type;
    return this.#advance(t);
  }

  /** Timestamp of the current sample. */
  atT(): number {
    return this.#cur!.atT();
  }

  /** Value of the current float sample. */
  atFloat(): number {
    return this.#cur!.atFloat();
  }

  /** The current histogram sample. */
  atFloatHistogram(): FloatHistogram {
    return this.#cur!.atFloatHistogram();
  }

  /** Reports whether the current histogram sample is a stale marker (floats: test the value). */
  isStaleHistogram(): boolean {
    const c = this.#cur;
    return c !== undefined && !(c instanceof XorIterator) && c.isStale();
  }
}

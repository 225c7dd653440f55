/**
 * Series read from Parquet chunk columns: raw Prometheus chunks decoded lazily into a
 * {@linkcode SampleIterator} bounded to the query range, and the merge of series with equal
 * labels from several shards, days or streams (Prometheus' chained merge: one sample per
 * timestamp, the first source wins on ties).
 *
 * @module
 */
import type { FloatHistogram } from "../../model/histogram.ts";
import type { Labels } from "../../model/labels.ts";
import { type SampleIterator, type Series, ValueType } from "../../model/series.ts";
import type { RawChunk } from "../../storage/parquet/chunk_column.ts";
import { ChunkOpener } from "../../storage/tsdb/chunk.ts";

/**
 * Iterates a series' chunks (sorted by min time) in order, keeping samples in `[mint, maxt]`.
 * Where adjacent chunks overlap, samples at or before the last emitted timestamp are skipped.
 */
export class ChunksIterator implements SampleIterator {
  #i = -1;
  #cur: SampleIterator | undefined;
  #type: ValueType = ValueType.None;
  #lastT = -Infinity;
  #done = false;

  /**
   * @param chunks the series' chunks in min-time order
   * @param mint first timestamp to return (inclusive)
   * @param maxt last timestamp to return (inclusive)
   * @param source names the series in decoding errors
   */
  constructor(
    readonly chunks: readonly RawChunk[],
    readonly mint: number,
    readonly maxt: number,
    readonly source = "parquet series",
  ) {}

  readonly #opener = new ChunkOpener();

  /** Advances to the next sample. */
  next(): ValueType {
    if (this.#done) return ValueType.None;
    for (;;) {
      if (!this.#cur) {
        // Skip chunks that end before the range or before what was already emitted.
        do this.#i++; while (
          this.#i < this.chunks.length &&
          (this.chunks[this.#i].maxT < this.mint || this.chunks[this.#i].maxT <= this.#lastT)
        );
        if (this.#i >= this.chunks.length || this.chunks[this.#i].minT > this.maxt) {
          return this.#finish();
        }
        this.#cur = this.#opener.open(this.chunks[this.#i], this.source);
        const from = Math.max(this.mint, this.#lastT + 1);
        const vt = this.#cur.seek(from);
        if (vt === ValueType.None) {
          this.#cur = undefined;
          continue;
        }
        return this.#accept(vt);
      }
      const vt = this.#cur.next();
      if (vt === ValueType.None) {
        this.#cur = undefined;
        continue;
      }
      if (this.#cur.atT() <= this.#lastT) continue;
      return this.#accept(vt);
    }
  }

  #accept(vt: ValueType): ValueType {
    const t = this.#cur!.atT();
    if (t > this.maxt) return this.#finish();
    this.#lastT = t;
    return this.#type = vt;
  }

  #finish(): ValueType {
    this.#done = true;
    this.#cur = undefined;
    return this.#type = ValueType.None;
  }

  /** Advances to the first sample at or after `t`. */
  seek(t: number): ValueType {
    if (this.#type !== ValueType.None && this.#lastT >= t) return this.#type;
    if (this.#done) return ValueType.None;
    // Fast path: jump over whole chunks that end before t.
    if (this.#cur && this.chunks[this.#i].maxT < t) this.#cur = undefined;
    if (!this.#cur) {
      while (this.#i + 1 < this.chunks.length && this.chunks[this.#i + 1].maxT < t) this.#i++;
    }
    for (;;) {
      const vt = this.next();
      if (vt === ValueType.None || this.#lastT >= t) return vt;
    }
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
}

/** A series backed by raw chunks, decoded when iterated. */
export class ChunkSeries implements Series {
  /**
   * @param labels the final labels (external labels applied)
   * @param chunks chunks in min-time order
   * @param mint query range start (inclusive)
   * @param maxt query range end (inclusive)
   */
  constructor(
    readonly labels: Labels,
    readonly chunks: readonly RawChunk[],
    readonly mint: number,
    readonly maxt: number,
  ) {}

  /** A new iterator over the samples in `[mint, maxt]`. */
  iterator(): SampleIterator {
    return new ChunksIterator(this.chunks, this.mint, this.maxt);
  }
}

/**
 * Merges iterators by timestamp; on equal timestamps the earliest iterator in the list wins and
 * the others skip that sample.
 */
export class MergeIterator implements SampleIterator {
  readonly #its: SampleIterator[];
  readonly #types: ValueType[];
  #started = false;
  #cur = -1;

  /** Merges `its` (each in time order). */
  constructor(its: readonly SampleIterator[]) {
    this.#its = [...its];
    this.#types = its.map(() => ValueType.None);
  }

  #pick(): ValueType {
    let best = -1;
    for (let i = 0; i < this.#its.length; i++) {
      if (this.#types[i] === ValueType.None) continue;
      if (best < 0 || this.#its[i].atT() < this.#its[best].atT()) best = i;
    }
    this.#cur = best;
    return best < 0 ? ValueType.None : this.#types[best];
  }

  /** Advances to the next sample. */
  next(): ValueType {
    if (!this.#started) {
      this.#started = true;
      for (let i = 0; i < this.#its.length; i++) this.#types[i] = this.#its[i].next();
      return this.#pick();
    }
    if (this.#cur < 0) return ValueType.None;
    const t = this.#its[this.#cur].atT();
    for (let i = 0; i < this.#its.length; i++) {
      if (this.#types[i] !== ValueType.None && this.#its[i].atT() === t) {
        this.#types[i] = this.#its[i].next();
      }
    }
    return this.#pick();
  }

  /** Advances to the first sample at or after `t`. */
  seek(t: number): ValueType {
    if (this.#started && this.#cur >= 0 && this.#its[this.#cur].atT() >= t) {
      return this.#types[this.#cur];
    }
    if (this.#started && this.#cur < 0) return ValueType.None;
    this.#started = true;
    for (let i = 0; i < this.#its.length; i++) {
      const it = this.#its[i];
      if (this.#types[i] !== ValueType.None && it.atT() >= t) continue;
      this.#types[i] = it.seek(t);
    }
    return this.#pick();
  }

  /** Timestamp of the current sample. */
  atT(): number {
    return this.#its[this.#cur].atT();
  }

  /** Value of the current float sample. */
  atFloat(): number {
    return this.#its[this.#cur].atFloat();
  }

  /** The current histogram sample. */
  atFloatHistogram(): FloatHistogram {
    return this.#its[this.#cur].atFloatHistogram();
  }
}

/** Several sources of the same series (equal labels), merged sample by sample. */
export class MergedSeries implements Series {
  /** Merges `parts`, which all carry `labels`. */
  constructor(readonly labels: Labels, readonly parts: readonly Series[]) {}

  /** A merged iterator over all parts. */
  iterator(): SampleIterator {
    return new MergeIterator(this.parts.map((p) => p.iterator()));
  }
}

/** The time span of a part's chunks, or `undefined` when it has none. */
function chunkSpan(s: ChunkSeries): { minT: number; maxT: number } | undefined {
  if (s.chunks.length === 0) return undefined;
  let maxT = -Infinity;
  for (const c of s.chunks) maxT = Math.max(maxT, c.maxT);
  return { minT: s.chunks[0].minT, maxT };
}

/**
 * The series made of `parts` (equal labels, e.g. one per day). When the parts' chunks lie in
 * disjoint time spans (the usual case: days do not overlap), their samples cannot tie or
 * interleave, so the merge equals reading the chunks one part after the other: one
 * {@linkcode ChunkSeries} over the concatenated chunks, without the per-sample merge. Otherwise
 * a {@linkcode MergedSeries}.
 */
export function mergeChunkSeries(labels: Labels, parts: readonly ChunkSeries[]): Series {
  if (parts.length === 1) return parts[0];
  const { mint, maxt } = parts[0];
  const spans: { part: ChunkSeries; minT: number; maxT: number }[] = [];
  for (const part of parts) {
    if (part.mint !== mint || part.maxt !== maxt) return new MergedSeries(labels, parts);
    const span = chunkSpan(part);
    if (span) spans.push({ part, ...span });
  }
  spans.sort((a, b) => a.minT - b.minT);
  const chunks: RawChunk[] = [];
  for (let i = 0; i < spans.length; i++) {
    if (i > 0 && spans[i].minT <= spans[i - 1].maxT) return new MergedSeries(labels, parts);
    for (const c of spans[i].part.chunks) chunks.push(c);
  }
  return new ChunkSeries(labels, chunks, mint, maxt);
}

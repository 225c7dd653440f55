/**
 * A TSDB block as a conversion source: its series from the index (in row order for one sort
 * label, from the postings), and their chunks from the
 * segment files with tombstones applied (deleted samples removed, re-encoding only the chunks
 * they touch).
 *
 * @module
 */
import type { RawChunk } from "../storage/parquet/chunk_column.ts";
import { getLabel } from "../model/labels.ts";
import type { Block } from "../storage/tsdb/block.ts";
import type { IndexSeries } from "../storage/tsdb/index_reader.ts";
import { isDeleted } from "../storage/tsdb/tombstones.ts";
import { filterChunk } from "./rechunk.ts";
import type { SeriesData, SeriesSource, SourceSeries } from "./source.ts";

/** A series with its time range, or `undefined` when it has no chunks. */
function sourceSeries(s: IndexSeries): SourceSeries | undefined {
  if (s.chunks.length === 0) return undefined;
  let minTime = Infinity, maxTime = -Infinity;
  for (const c of s.chunks) {
    if (c.minTime < minTime) minTime = c.minTime;
    if (c.maxTime > maxTime) maxTime = c.maxTime;
  }
  return { labels: s.labels, ref: s.ref, minTime, maxTime };
}

/** Adapts an open {@linkcode Block}; closing the block stays with the caller. */
export class BlockSource implements SeriesSource {
  /** The block's ULID. */
  readonly id: string;

  /**
   * Adapts `block`; the source's `id` is the block's ULID.
   *
   * @param block an open block
   */
  constructor(readonly block: Block) {
    this.id = block.meta.ulid;
  }

  /** Every series with at least one chunk, in index order. */
  async *series(): AsyncIterable<SourceSeries> {
    for (const s of this.block.index.allSeries()) {
      const e = sourceSeries(s);
      if (e) yield e;
    }
  }

  /**
   * Every series with at least one chunk in row order, read from the index without sorting
   * when there is one sort label: the series lacking it first (a scan of the index, only when
   * the postings counts say there are any), then each of its values' postings in turn (a
   * postings list is in label order, which is row order among series with the same value).
   * `undefined` for several sort labels.
   */
  sortedSeries(sortLabels: readonly string[]): Iterable<SourceSeries> | undefined {
    return sortLabels.length === 1 ? this.#byLabel(sortLabels[0]) : undefined;
  }

  *#byLabel(name: string): Iterable<SourceSeries> {
    const ix = this.block.index;
    const values = ix.labelValues(name);
    let labelled = 0;
    for (const v of values) labelled += ix.postingsCount(name, v);
    if (labelled < ix.postingsCount("", "")) {
      for (const s of ix.allSeries()) {
        if (getLabel(s.labels, name) !== "") continue;
        const e = sourceSeries(s);
        if (e) yield e;
      }
    }
    for (const v of values) {
      for (const ref of ix.postingsStream(name, v)) {
        const e = sourceSeries(ix.series(ref));
        if (e) yield e;
      }
    }
  }

  /** Series `ref`: its labels, and its chunks without the samples its tombstones delete. */
  read(ref: number | bigint): Promise<SeriesData> {
    try {
      return Promise.resolve(this.#read(Number(ref)));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #read(ref: number): SeriesData {
    const s = this.block.index.series(ref);
    const deleted = this.block.tombstones.get(ref) ?? [];
    const out: RawChunk[] = [];
    for (const m of s.chunks) {
      const raw = this.block.chunks.chunk(m.ref);
      const c: RawChunk = {
        encoding: raw.encoding,
        minT: m.minTime,
        maxT: m.maxTime,
        data: raw.data,
      };
      const touched = deleted.some((iv) => iv.minTime <= m.maxTime && m.minTime <= iv.maxTime);
      if (!touched) out.push(c);
      else out.push(...filterChunk(c, (t) => !isDeleted(deleted, t), `${this.id} chunk ${m.ref}`));
    }
    return { labels: s.labels, chunks: out };
  }
}

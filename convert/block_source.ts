/**
 * A TSDB block as a conversion source: its series from the index, and their chunks from the
 * segment files with tombstones applied (deleted samples removed, re-encoding only the chunks
 * they touch).
 *
 * @module
 */
import type { RawChunk } from "../storage/parquet/chunk_column.ts";
import type { Block } from "../storage/tsdb/block.ts";
import { isDeleted } from "../storage/tsdb/tombstones.ts";
import { filterChunk } from "./rechunk.ts";
import type { SeriesData, SeriesSource, SourceSeries } from "./source.ts";

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
    for (const s of this.block.series()) {
      if (s.chunks.length === 0) continue;
      let minTime = Infinity, maxTime = -Infinity;
      for (const c of s.chunks) {
        if (c.minTime < minTime) minTime = c.minTime;
        if (c.maxTime > maxTime) maxTime = c.maxTime;
      }
      yield { labels: s.labels, ref: s.ref, minTime, maxTime };
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

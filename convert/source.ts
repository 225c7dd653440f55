/**
 * What the converter needs from a source of series (a TSDB block, or anything else): its series
 * with their time ranges, best in row order, and a series' labels and raw chunks again on
 * demand. Conversion reads labels first (to merge, sort and shard a day, writing the rows'
 * references to a temporary file) and everything else only while writing, shard by shard.
 *
 * @module
 */
import type { Labels } from "../model/labels.ts";
import type { RawChunk } from "../storage/parquet/chunk_column.ts";

/** One series of a source, without its chunks. */
export interface SourceSeries {
  /** The series labels, sorted by name. */
  readonly labels: Labels;
  /** Source-specific handle for {@linkcode SeriesSource.read}. */
  readonly ref: number | bigint;
  /** Min time over the series' chunks in this source, ms. */
  readonly minTime: number;
  /** Max time over the series' chunks in this source, ms (inclusive). */
  readonly maxTime: number;
}

/** A series' labels and chunks. */
export interface SeriesData {
  /** The series labels, sorted by name (the same as {@linkcode SourceSeries.labels}). */
  readonly labels: Labels;
  /** Its chunks, in any order, with deleted data already removed. */
  readonly chunks: RawChunk[];
}

/** A source of series, e.g. one TSDB block. */
export interface SeriesSource {
  /** The TSDB block's ULID: names the source in errors and is recorded in `meta.pb`. */
  readonly id: string;
  /** The series, each once, in any order (the converter sorts them). */
  series(): AsyncIterable<SourceSeries>;
  /**
   * The series, each once, in row order for `sortLabels` (see `series_order.ts`), when the
   * source can list them so without sorting; otherwise `undefined`, and the converter sorts
   * {@linkcode SeriesSource.series}, spilling to disk beyond its buffer.
   */
  sortedSeries?(sortLabels: readonly string[]): Iterable<SourceSeries> | undefined;
  /** The labels and chunks of the series with handle `ref`. */
  read(ref: number | bigint): Promise<SeriesData>;
}

/** An in-memory source, for tests and small imports. */
export class MemorySource implements SeriesSource {
  readonly #series: { labels: Labels; chunks: RawChunk[] }[];

  /**
   * Serves `series` (kept, not copied) under the name `id`.
   *
   * @param id source name
   * @param series the series, in any order
   */
  constructor(readonly id: string, series: { labels: Labels; chunks: RawChunk[] }[]) {
    this.#series = series;
  }

  /** Yields the series that have chunks, in the order given. */
  async *series(): AsyncIterable<SourceSeries> {
    for (let i = 0; i < this.#series.length; i++) {
      const { labels, chunks } = this.#series[i];
      if (chunks.length === 0) continue;
      yield {
        labels,
        ref: i,
        minTime: Math.min(...chunks.map((c) => c.minT)),
        maxTime: Math.max(...chunks.map((c) => c.maxT)),
      };
    }
  }

  /** Series `ref`. */
  read(ref: number | bigint): Promise<SeriesData> {
    const s = this.#series[Number(ref)];
    if (!s) return Promise.reject(new RangeError(`${this.id}: no series ${ref}`));
    return Promise.resolve(s);
  }
}

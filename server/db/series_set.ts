/**
 * The lazy {@linkcode SeriesSet} of a Parquet selection. The label phase (the queryable's plan)
 * finds the matching rows of every shard, reads their label sets and merges series with equal
 * labels across shards, days and streams into one list in label order; no chunk is read yet.
 * Then each batch reads the chunks of its series' rows together ({@linkcode ChunkReader}:
 * coalesced ranged reads, decoded only when a series is iterated); the first batch is read as
 * soon as the label phase ends, and the next ones while the consumer works on the current one:
 * as many as fit {@linkcode READ_AHEAD_BYTES} at the size of the last batch (at least one, at
 * most {@linkcode MAX_READ_AHEAD}), so that a consumer faster than the bucket (an instant
 * aggregation over many series) waits for one round trip per several batches, not per batch.
 * Memory follows the label sets and a few batches of chunks, not the selection's samples.
 *
 * @module
 */
import type { Labels } from "../../model/labels.ts";
import type { SeriesSet } from "../../model/queryable.ts";
import type { Series } from "../../model/series.ts";
import type { RawChunk } from "../../storage/parquet/chunk_column.ts";
import type { ChunkReader, ChunkSource } from "./chunk_reader.ts";
import { ChunkSeries, mergeChunkSeries } from "./series.ts";

/** A row holding one part of a series (one shard's row of a day). */
export interface SeriesPart {
  /** The row group of the shard's chunks file. */
  readonly source: ChunkSource;
  /** The row, relative to the row group. */
  readonly row: number;
}

/** A series of a selection before its chunks are read. */
export interface PlannedSeries {
  /** The final labels (external labels applied, replica labels dropped). */
  readonly labels: Labels;
  /** Its rows, in day and shard order. */
  readonly parts: readonly SeriesPart[];
}

/** What the label phase of a selection found. */
export interface SelectionPlan {
  /** The series in label order, each label set once. */
  readonly series: readonly PlannedSeries[];
  /** Warnings so far; the set adds the limit's. */
  readonly warnings: Set<string>;
  /** Whether a limit already cut rows. */
  truncated: boolean;
  /** Releases what the selection holds (the days); called once, after the last read. */
  release(): Promise<void>;
}

/** Settings of a {@linkcode ParquetSeriesSet}. */
export interface ParquetSeriesSetOptions {
  /** Runs the label phase (started at once); its reads are aborted with the given signal. */
  plan: (signal: AbortSignal) => Promise<SelectionPlan>;
  /** Reads chunks; absent when only series are wanted (series come without chunks). */
  reader?: ChunkReader;
  /** Start of the time range, ms (the series' iterators are bounded to it). */
  mint: number;
  /** End of the time range, ms. */
  maxt: number;
  /** Most series to return (0 = unlimited). */
  limit: number;
  /** Series per batch (planned series, before dropping those without chunks). */
  batchSize: number;
  /** The request's signal. */
  signal?: AbortSignal;
  /** Warning added when the limit cut the series. */
  truncatedWarning: string;
}

/** Chunk bytes of batches read ahead, at the size of the last batch read. */
export const READ_AHEAD_BYTES = 32 * 1024 * 1024;
/** Most batches read ahead. */
export const MAX_READ_AHEAD = 8;

/** A Parquet selection handed out in batches (see the module doc). */
export class ParquetSeriesSet implements SeriesSet {
  readonly #opts: ParquetSeriesSetOptions;
  readonly #abort = new AbortController();
  readonly #signal: AbortSignal;
  readonly #plan: Promise<SelectionPlan>;
  /** Index of the next planned series to read. */
  #next = 0;
  #emitted = 0;
  /** The batches being read ahead, in order (a batch may hold no series with chunks). */
  readonly #ahead: Promise<Series[]>[] = [];
  /** Chunk bytes of the last batch read. */
  #lastBatchBytes = 0;
  #done = false;
  #released: Promise<void> | undefined;
  #warnings: readonly string[] = [];

  /** Starts the label phase, then the read of the first batch. */
  constructor(opts: ParquetSeriesSetOptions) {
    this.#opts = opts;
    this.#signal = opts.signal
      ? AbortSignal.any([opts.signal, this.#abort.signal])
      : this.#abort.signal;
    this.#plan = opts.plan(this.#signal);
    // The first batch is read as soon as the plan is ready, so that sets opened together (a
    // query's selectors) read concurrently. Failures surface from next(); an unread set must
    // not leave an unhandled rejection.
    this.#plan.then((plan) => this.#readAhead(plan, 1)).catch(() => {});
  }

  /** The next batch of series with chunks (all series when only series are wanted). */
  async next(): Promise<readonly Series[] | null> {
    if (this.#done) return null;
    try {
      const plan = await this.#plan;
      let batch: Series[] | null = null;
      while (batch === null) {
        this.#readAhead(plan, 1);
        const read = this.#ahead.shift();
        if (read === undefined) break; // the plan is exhausted
        const series = await read;
        this.#readAhead(plan, this.#depth());
        if (series.length > 0) batch = series;
      }
      const limit = this.#opts.limit;
      let last = this.#ahead.length === 0 && this.#next >= plan.series.length;
      if (batch !== null && limit > 0) {
        if (this.#emitted >= limit) {
          // A series beyond the limit exists.
          plan.truncated = true;
          batch = null;
        } else if (this.#emitted + batch.length > limit) {
          batch = batch.slice(0, limit - this.#emitted);
          plan.truncated = true;
          last = true;
        }
      }
      if (batch === null) {
        await this.#finish();
        return null;
      }
      this.#emitted += batch.length;
      if (last) await this.#finish();
      return batch;
    } catch (err) {
      await this.#finish();
      throw err;
    }
  }

  /** Warnings of the selection; complete once `next()` gave `null`. */
  warnings(): readonly string[] {
    return this.#warnings;
  }

  /** Abandons the reads under way and releases the days. */
  async close(): Promise<void> {
    if (!this.#done) this.#abort.abort(new DOMException("series set closed", "AbortError"));
    await this.#finish();
  }

  /** Starts reads of the next batches until `depth` are under way or read (none past the plan). */
  #readAhead(plan: SelectionPlan, depth: number): void {
    while (this.#ahead.length < depth && this.#next < plan.series.length && !this.#done) {
      const from = this.#next;
      this.#next = Math.min(from + this.#opts.batchSize, plan.series.length);
      const read = this.#materialize(plan.series.slice(from, this.#next));
      read.catch(() => {});
      this.#ahead.push(read);
    }
  }

  /** Batches to keep read ahead: as many as fit the budget at the last batch's size. */
  #depth(): number {
    const fit = Math.floor(READ_AHEAD_BYTES / Math.max(1, this.#lastBatchBytes));
    return Math.min(MAX_READ_AHEAD, Math.max(1, fit));
  }

  /** The series of `planned` with their chunks (those without chunks are left out). */
  async #materialize(planned: readonly PlannedSeries[]): Promise<Series[]> {
    const { reader, mint, maxt } = this.#opts;
    if (reader === undefined) return planned.map((p) => new ChunkSeries(p.labels, [], mint, maxt));
    // The rows of each source the batch needs, read together.
    const rowsOf = new Map<ChunkSource, number[]>();
    for (const p of planned) {
      for (const { source, row } of p.parts) {
        const rows = rowsOf.get(source);
        if (rows) rows.push(row);
        else rowsOf.set(source, [row]);
      }
    }
    this.#signal.throwIfAborted();
    const chunksOf = new Map<ChunkSource, Map<number, readonly RawChunk[]>>();
    let bytes = 0;
    await Promise.all([...rowsOf].map(async ([source, rows]) => {
      rows.sort((a, b) => a - b);
      const chunks = await reader.read(source, rows, this.#signal);
      for (const row of chunks) for (const c of row) bytes += c.data.length;
      chunksOf.set(source, new Map(rows.map((r, i) => [r, chunks[i]])));
    }));
    this.#lastBatchBytes = bytes;
    const out: Series[] = [];
    for (const p of planned) {
      const parts: ChunkSeries[] = [];
      for (const { source, row } of p.parts) {
        const chunks = chunksOf.get(source)!.get(row)!;
        if (chunks.length > 0) parts.push(new ChunkSeries(p.labels, chunks, mint, maxt));
      }
      if (parts.length > 0) out.push(mergeChunkSeries(p.labels, parts));
    }
    return out;
  }

  /** Ends the set once: waits for reads under way, then releases the days. */
  #finish(): Promise<void> {
    this.#done = true;
    return this.#released ??= (async () => {
      // Batches read ahead past a limit are not needed: their reads stop.
      if (this.#ahead.length > 0) {
        this.#abort.abort(new DOMException("series set done", "AbortError"));
      }
      await Promise.all(this.#ahead.splice(0).map((read) => read.catch(() => {})));
      const plan = await this.#plan.catch(() => undefined);
      if (plan === undefined) return;
      if (plan.truncated) plan.warnings.add(this.#opts.truncatedWarning);
      this.#warnings = [...plan.warnings];
      await plan.release();
    })();
  }
}

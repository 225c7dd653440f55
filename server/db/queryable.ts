/**
 * The Parquet-backed {@linkcode Queryable} of one request (gateway.md 4.4-4.7): selects the loaded
 * days overlapping the range, matches external labels, filters each shard's row groups by the
 * remaining matchers, materialises labels and (unless only series are wanted) the chunks of the
 * 8h columns overlapping the range, then merges equal series across shards, days and streams.
 *
 * Selections are lazy ({@linkcode ParquetSeriesSet}): label sets first, then chunks a batch of
 * series at a time.
 *
 * Differences from upstream, on purpose: the "results truncated due to limit" warning is added
 * only when results were actually cut (upstream adds it whenever a limit is passed), and days
 * are released only once the request has read them (the syncer may unload them meanwhile).
 *
 * @module
 */
import {
  compareLabels,
  dropLabels,
  type Labels,
  labelsKey,
  setLabel,
  sortStrings,
} from "../../model/labels.ts";
import type { Matcher } from "../../model/matchers.ts";
import type {
  LabelHints,
  Queryable,
  SelectHints,
  SeriesSet,
  StringsResult,
} from "../../model/queryable.ts";
import type { PageFile } from "../../storage/parquet/pages.ts";
import { chunkColumnForQueryTime, labelColumn, labelNameOf } from "../../storage/parquet/schema.ts";
import type { LoadedDay, LoadedShard } from "./block.ts";
import { type ChunkPartitionOptions, ChunkReader, type ChunkSource } from "./chunk_reader.ts";
import { filterRowGroup, type FilterStats } from "./filter.ts";
import type { RequestQuotas } from "./limits.ts";
import { distinctValues, readColumnValues, readLabelNamesOfRows, readLabels } from "./read.ts";
import { DEFAULT_MAX_QUERY_READS, ReadLimiter } from "./read_limiter.ts";
import { countRows, limitRows, type RowRanges } from "./row_ranges.ts";
import type { OperationType, SearchMetrics, SearchRecorder } from "./search_metrics.ts";
import {
  ParquetSeriesSet,
  type PlannedSeries,
  type SelectionPlan,
  type SeriesPart,
} from "./series_set.ts";
import { type UnavailableDay, unavailableDayWarning } from "./unavailable.ts";

/** Warning when a limit cut the results. */
export const WARN_TRUNCATED = "results truncated due to limit";
/** Warning when external labels made two series of a shard identical. */
export const WARN_DROPPED_SERIES = "dropped series after external label mangling";
/** Warning when an external label hid values a label column also had. */
export const WARN_DROPPED_VALUES = "dropped label values after external label mangling";

/** Planned series per batch of a selection unless the context says otherwise. */
export const DEFAULT_SELECT_BATCH_SIZE = 1024;

/** What a request needs from the database. */
export interface QueryContext {
  /** Loaded days, sorted by start time. */
  days: () => readonly LoadedDay[];
  /** Query-time block filter (the same as the syncer's). */
  keep: (day: { minT: number; maxT: number }) => boolean;
  /** Days that should be loaded but are not: a query over one warns (default: none). */
  unavailable?: () => readonly UnavailableDay[];
  /** External labels replacing every stream's (`--query.external-label`), if any. */
  externalLabels?: Readonly<Record<string, string>>;
  /** Chunk page coalescing. */
  chunkPartition: ChunkPartitionOptions;
  /**
   * Series whose chunks a selection reads together, per batch (default
   * {@linkcode DEFAULT_SELECT_BATCH_SIZE}).
   */
  selectBatchSize?: number;
  /** Filter counters shared by all requests (for metrics and tests). */
  filterStats?: FilterStats;
  /**
   * Labels removed from results after external labels are applied (Thanos'
   * `without_replica_labels`): series differing only in them merge, label names omit them, and
   * their values are empty.
   */
  replicaLabels?: ReadonlySet<string>;
  /** Per-shard operation metrics, if registered. */
  metrics?: QueryMetrics;
  /** Read-path metrics (`search_*`), if registered. */
  search?: SearchMetrics;
}

/** Metrics of shard-level operations (`db_queryable_operations_*`, `where="shard"`). */
export interface QueryMetrics {
  /** Counts an operation and its duration in seconds. */
  observe(type: OperationType, seconds: number): void;
}

/**
 * Applies external-label matchers: returns the matchers left for the series columns, or
 * `undefined` when an external label contradicts a matcher (the day has nothing to return).
 */
export function consumeExternalMatchers(
  matchers: readonly Matcher[],
  ext: Readonly<Record<string, string>>,
): Matcher[] | undefined {
  const rest: Matcher[] = [];
  for (const m of matchers) {
    if (Object.hasOwn(ext, m.name)) {
      if (!m.matches(ext[m.name])) return undefined;
    } else rest.push(m);
  }
  return rest;
}

function finalLabels(
  labels: Labels,
  ext: Readonly<Record<string, string>>,
  replica: ReadonlySet<string> | undefined,
): Labels {
  let out = labels;
  for (const name in ext) out = setLabel(out, name, ext[name]);
  return replica && replica.size > 0 ? dropLabels(out, replica) : out;
}

interface ShardRows {
  readonly rg: number;
  readonly ranges: RowRanges;
  readonly count: number;
}

/** A request's view of the database; create one per request (quotas are per request). */
export class ParquetQueryable implements Queryable {
  readonly #ctx: QueryContext;
  readonly #quotas: RequestQuotas;
  readonly #reads: ReadLimiter;

  /** Creates the view with the request's quotas. */
  constructor(ctx: QueryContext, quotas: RequestQuotas) {
    this.#ctx = ctx;
    this.#quotas = quotas;
    this.#reads = new ReadLimiter(
      ctx.chunkPartition.maxQueryConcurrency ?? DEFAULT_MAX_QUERY_READS,
    );
  }

  /** Acquires the days overlapping `[mint, maxt]` and charges their shards. */
  #acquire(mint: number, maxt: number): LoadedDay[] {
    const out: LoadedDay[] = [];
    for (const d of this.#ctx.days()) {
      if (d.mint > maxt || d.maxt < mint) continue;
      if (!this.#ctx.keep({ minT: d.mint, maxT: d.maxt })) continue;
      if (d.acquire()) out.push(d);
    }
    try {
      let shards = 0;
      for (const d of out) shards += d.shards.length;
      this.#quotas.shards.reserve(shards);
    } catch (err) {
      for (const d of out) d.release();
      throw err;
    }
    return out;
  }

  /**
   * Runs `fn` over the days overlapping `[mint, maxt]`, adding a warning for each unavailable
   * day there that `matchers` do not exclude by its external labels.
   */
  async #withDays<T extends { warnings: string[] }>(
    mint: number,
    maxt: number,
    matchers: readonly Matcher[],
    fn: (days: LoadedDay[]) => Promise<T>,
  ): Promise<T> {
    const days = this.#acquire(mint, maxt);
    let result: T;
    try {
      result = await fn(days);
    } finally {
      await Promise.all(days.map((d) => d.release()));
    }
    for (const warning of this.#unavailableWarnings(mint, maxt, matchers)) {
      if (!result.warnings.includes(warning)) result.warnings.push(warning);
    }
    return result;
  }

  /**
   * A warning for each unavailable day overlapping `[mint, maxt]` that the block filter keeps
   * and `matchers` do not exclude by its external labels.
   */
  #unavailableWarnings(mint: number, maxt: number, matchers: readonly Matcher[]): string[] {
    const out: string[] = [];
    for (const d of this.#ctx.unavailable?.() ?? []) {
      if (d.minT > maxt || d.maxT < mint) continue;
      if (!this.#ctx.keep({ minT: d.minT, maxT: d.maxT })) continue;
      const ext = this.#ctx.externalLabels ?? d.externalLabels;
      if (consumeExternalMatchers(matchers, ext)) out.push(unavailableDayWarning(d));
    }
    return out;
  }

  #ext(day: LoadedDay): Readonly<Record<string, string>> {
    return this.#ctx.externalLabels ?? day.externalLabels;
  }

  /** Runs a shard-level operation, timing it. */
  async #shardOp(type: OperationType, fn: () => Promise<void>): Promise<void> {
    const start = performance.now();
    try {
      await fn();
    } finally {
      this.#ctx.metrics?.observe(type, (performance.now() - start) / 1000);
    }
  }

  /** Matching rows of every row group of a shard. */
  async #filterShard(
    shard: LoadedShard,
    matchers: readonly Matcher[],
    search: SearchRecorder | undefined,
    signal?: AbortSignal,
  ): Promise<ShardRows[]> {
    const file = shard.labels;
    const stats = this.#ctx.filterStats;
    return await Promise.all(
      file.rowGroupRows.map(async (_, rg) => {
        const ranges = await filterRowGroup(
          file,
          rg,
          matchers,
          stats,
          signal,
          search,
          this.#reads,
        );
        return { rg, ranges, count: countRows(ranges) };
      }),
    );
  }

  /**
   * Returns the series matching all matchers with chunks in `[hints.start, hints.end]`, lazily
   * (see {@linkcode ParquetSeriesSet}): the label phase starts at once, chunks are read a batch
   * at a time as the set is consumed.
   */
  select(
    matchers: readonly Matcher[],
    hints: SelectHints,
    signal?: AbortSignal,
  ): SeriesSet {
    const { start: mint, end: maxt } = hints;
    const onlySeries = hints.func === "series";
    const search = this.#ctx.search?.recorder("select");
    return new ParquetSeriesSet({
      plan: (signal) => this.#planSelect(matchers, hints, search, signal),
      reader: onlySeries ? undefined : new ChunkReader(
        this.#ctx.chunkPartition,
        this.#quotas.chunkBytes,
        mint,
        maxt,
        search,
        this.#reads,
      ),
      mint,
      maxt,
      limit: hints.limit ?? 0,
      batchSize: this.#ctx.selectBatchSize ?? DEFAULT_SELECT_BATCH_SIZE,
      signal,
      truncatedWarning: WARN_TRUNCATED,
    });
  }

  /**
   * The label phase of a selection: matching rows of every shard of the days overlapping the
   * range, their final label sets, merged by labels into one sorted list. The days stay
   * acquired until the plan is released.
   */
  async #planSelect(
    matchers: readonly Matcher[],
    hints: SelectHints,
    search: SearchRecorder | undefined,
    signal: AbortSignal,
  ): Promise<SelectionPlan> {
    const { start: mint, end: maxt } = hints;
    const limit = hints.limit ?? 0;
    const days = this.#acquire(mint, maxt);
    let released: Promise<void> | undefined;
    const release = () => released ??= Promise.all(days.map((d) => d.release())).then(() => {});
    const warnings = new Set<string>(this.#unavailableWarnings(mint, maxt, matchers));
    let truncated = false;
    try {
      // Per day, per shard: the shard's series in row order.
      const perShard = await Promise.all(days.map(async (day) => {
        const ext = this.#ext(day);
        const rest = consumeExternalMatchers(matchers, ext);
        if (!rest) return [];
        const lo = Math.max(mint, day.mint), hi = Math.min(maxt, day.maxt);
        const columns: number[] = [];
        for (
          let c = chunkColumnForQueryTime(day.mint, lo);
          c <= chunkColumnForQueryTime(day.mint, hi);
          c++
        ) columns.push(c);
        return await Promise.all(day.shards.map(async (shard) => {
          const found: { labels: Labels; part: SeriesPart }[] = [];
          await this.#shardOp("select", async () => {
            const rowGroups = await this.#filterShard(shard, rest, search, signal);
            // Row groups are read in parallel; their series are kept in row order.
            const perRowGroup = await Promise.all(rowGroups.map(async ({ rg, ranges, count }) => {
              if (count === 0) return [];
              if (limit > 0 && count > limit) {
                ranges = limitRows(ranges, limit);
                count = limit;
                truncated = true;
              }
              this.#quotas.selectRows.reserve(count);
              const ref = { file: shard.labels, rg, search, reads: this.#reads };
              const labels = await readLabels(ref, day.meta, ranges, count, signal);
              const source: ChunkSource = { file: shard.chunks, rg, columns };
              const rows: number[] = [];
              for (let i = 0; i < ranges.length; i += 2) {
                for (let r = ranges[i]; r < ranges[i + 1]; r++) rows.push(r);
              }
              return labels.map((l, i) => ({
                labels: finalLabels(l, ext, this.#ctx.replicaLabels),
                part: { source, row: rows[i] },
              }));
            }));
            // Within a shard, series are unique; only external labels or dropped replica
            // labels can make two equal.
            const mangled = (this.#ctx.replicaLabels?.size ?? 0) > 0 ||
              Object.keys(ext).some((n) =>
                shard.labels.columnPosition(labelColumn(n)) !== undefined
              );
            const seen = mangled ? new Set<string>() : undefined;
            for (const rgSeries of perRowGroup) {
              for (const s of rgSeries) {
                if (seen) {
                  const key = labelsKey(s.labels);
                  if (seen.has(key)) {
                    warnings.add(WARN_DROPPED_SERIES);
                    continue;
                  }
                  seen.add(key);
                }
                found.push(s);
              }
            }
          });
          return found;
        }));
      }));
      // Days and shards in order, so that parts of a series come in day and shard order.
      const all = perShard.flat(2);
      all.sort((a, b) => compareLabels(a.labels, b.labels));
      const series: PlannedSeries[] = [];
      for (let i = 0; i < all.length;) {
        const parts: SeriesPart[] = [all[i].part];
        let j = i + 1;
        for (; j < all.length && compareLabels(all[i].labels, all[j].labels) === 0; j++) {
          parts.push(all[j].part);
        }
        series.push({ labels: all[i].labels, parts });
        i = j;
      }
      return { series, warnings, truncated, release };
    } catch (err) {
      await release();
      throw err;
    }
  }

  /** Returns the label names of series matching the matchers (all series when none). */
  labelNames(
    matchers: readonly Matcher[],
    hints: LabelHints,
    signal?: AbortSignal,
  ): Promise<StringsResult> {
    const search = this.#ctx.search?.recorder("label_names");
    return this.#withDays(hints.start, hints.end, matchers, async (days) => {
      const names = new Set<string>();
      await Promise.all(days.map(async (day) => {
        const ext = this.#ext(day);
        const rest = consumeExternalMatchers(matchers, ext);
        if (!rest) return;
        let any = rest.length === 0;
        await Promise.all(day.shards.map((shard) =>
          this.#shardOp("label_names", async () => {
            if (rest.length === 0) {
              // The names come from the schema, but the call covers every row of the shard.
              this.#quotas.labelNamesRows.reserve(shardRows(shard));
              for (const c of shard.labels.columnNames) {
                const n = labelNameOf(c);
                if (n !== undefined) names.add(n);
              }
              return;
            }
            const rowGroups = await this.#filterShard(shard, rest, search, signal);
            for (const { rg, ranges, count } of rowGroups) {
              if (count === 0) continue;
              any = true;
              this.#quotas.labelNamesRows.reserve(count);
              const ref = { file: shard.labels, rg, search };
              for (const n of await readLabelNamesOfRows(ref, day.meta, ranges, count, signal)) {
                names.add(n);
              }
            }
          })
        ));
        if (any) { for (const n in ext) names.add(n); }
      }));
      for (const r of this.#ctx.replicaLabels ?? []) names.delete(r);
      return limitStrings(names, hints.limit ?? 0, []);
    });
  }

  /** Returns the values of label `name` over series matching the matchers. */
  labelValues(
    name: string,
    matchers: readonly Matcher[],
    hints: LabelHints,
    signal?: AbortSignal,
  ): Promise<StringsResult> {
    if (this.#ctx.replicaLabels?.has(name)) return Promise.resolve({ values: [], warnings: [] });
    const search = this.#ctx.search?.recorder("label_values");
    return this.#withDays(hints.start, hints.end, matchers, async (days) => {
      const values = new Set<string>();
      const warnings: string[] = [];
      await Promise.all(days.map(async (day) => {
        const ext = this.#ext(day);
        const rest = consumeExternalMatchers(matchers, ext);
        if (!rest) return;
        const dayValues = new Set<string>();
        let matched = rest.length === 0;
        await Promise.all(day.shards.map((shard) =>
          this.#shardOp("label_values", async () => {
            const file = shard.labels;
            const col = file.columnPosition(labelColumn(name));
            if (rest.length === 0) {
              if (col === undefined) return;
              // Mostly read from dictionaries, but the call covers every row of the shard.
              this.#quotas.labelValuesRows.reserve(shardRows(shard));
              const all = await file.columnStrings(
                col,
                () => columnDistinctValues(file, col, search, signal),
              );
              for (const v of all) dayValues.add(v);
              return;
            }
            const rowGroups = await this.#filterShard(shard, rest, search, signal);
            for (const { rg, ranges, count } of rowGroups) {
              if (count === 0) continue;
              matched = true;
              if (col === undefined) continue;
              this.#quotas.labelValuesRows.reserve(count);
              const ref = { file, rg, search };
              const values = await readColumnValues(ref, col, ranges, count, signal);
              for (const v of distinctValues(values)) dayValues.add(v);
            }
          })
        ));
        if (Object.hasOwn(ext, name)) {
          if (matched) values.add(ext[name]);
          if (dayValues.size > 0 && !warnings.includes(WARN_DROPPED_VALUES)) {
            warnings.push(WARN_DROPPED_VALUES);
          }
          return;
        }
        for (const v of dayValues) values.add(v);
      }));
      return limitStrings(values, hints.limit ?? 0, warnings);
    });
  }
}

/** The distinct non-empty values of a label column over all row groups of a labels file. */
async function columnDistinctValues(
  file: PageFile,
  col: number,
  search?: SearchRecorder,
  signal?: AbortSignal,
): Promise<string[]> {
  const values = new Set<string>();
  for (let rg = 0; rg < file.rowGroups; rg++) {
    const dict = await file.dictionary(rg, col, signal);
    const rows = file.rowGroupRows[rg];
    const vals = dict?.strings() ??
      distinctValues(await readColumnValues({ file, rg, search }, col, [0, rows], rows, signal));
    for (const v of vals) if (v) values.add(v);
  }
  return [...values];
}

function shardRows(shard: LoadedShard): number {
  let rows = 0;
  for (const n of shard.labels.rowGroupRows) rows += n;
  return rows;
}

function limitStrings(set: Set<string>, limit: number, warnings: string[]): StringsResult {
  const values = sortStrings([...set]);
  if (limit > 0 && values.length > limit) {
    values.length = limit;
    warnings.push(WARN_TRUNCATED);
  }
  return { values, warnings };
}

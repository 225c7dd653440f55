/**
 * The serve-side database: the days the syncer has loaded, the query options, and a fresh
 * {@linkcode ParquetQueryable} with new quotas for every request, clamped to the time range the
 * gateway serves; and the time ranges it reports to queriers.
 *
 * @module
 */
import { Counter, exponentialBuckets, Histogram, type Registry } from "prom-client";
import { compareLabels, type Labels, labelsFromRecord, labelsKey } from "../../model/labels.ts";
import type { Queryable } from "../../model/queryable.ts";
import type { LoadedDay } from "./block.ts";
import type { FilterStats } from "./filter.ts";
import { type QueryLimits, RequestQuotas, UNLIMITED } from "./limits.ts";
import { ParquetQueryable, type QueryMetrics } from "./queryable.ts";
import type { OperationType } from "./search_metrics.ts";
import { type ChunkPartitionOptions, DEFAULT_CHUNK_PARTITION } from "./chunk_reader.ts";
import { SearchMetrics } from "./search_metrics.ts";
import type { DayRange } from "./syncer.ts";
import { clampRange, limitQueryableTime } from "./time_limit.ts";
import type { UnavailableDay } from "./unavailable.ts";

/** Options of {@linkcode ParquetDB}. */
export interface ParquetDBOptions {
  /** The loaded days, sorted by start time (e.g. `() => syncer.days`). */
  days: () => readonly LoadedDay[];
  /**
   * Days that should be loaded but are not (e.g. `() => syncer.unavailable`): queries over them
   * warn. Default: none.
   */
  unavailable?: () => readonly UnavailableDay[];
  /** `--query.external-label` pairs replacing every stream's external labels, if given. */
  externalLabels?: Readonly<Record<string, string>>;
  /** `--query.limits.*` (default: unlimited). */
  limits?: QueryLimits;
  /** `--query.storage.select.chunk-partition.*` (default `DEFAULT_CHUNK_PARTITION`). */
  chunkPartition?: ChunkPartitionOptions;
  /** Series whose chunks a selection reads together (default `DEFAULT_SELECT_BATCH_SIZE`). */
  selectBatchSize?: number;
  /** Query-time block filter, the syncer's `keep` (default: keep all). */
  keep?: (day: DayRange) => boolean;
  /**
   * The time range served (`--min-time`, `--max-time`), read at each request: requests are
   * clamped to it, and so are the ranges reported (default: unlimited).
   */
  timeLimit?: () => DayRange;
  /**
   * Registry for `db_queryable_operations_total`, `db_queryable_operations_seconds` and the
   * read path's `search_*` counters.
   */
  registry?: Registry;
}

function queryMetrics(registry: Registry): QueryMetrics {
  const labelNames = ["type", "where"] as const;
  const ops = new Counter({
    name: "db_queryable_operations_total",
    help: "Shard-level queryable operations.",
    labelNames,
    registers: [registry],
  });
  const seconds = new Histogram({
    name: "db_queryable_operations_seconds",
    help: "Duration of shard-level queryable operations.",
    labelNames,
    // 20 exponential buckets from 0.1s to 30s, as upstream.
    buckets: exponentialBuckets(0.1, Math.pow(300, 1 / 19), 20),
    registers: [registry],
  });
  return {
    observe(type: OperationType, s: number) {
      ops.inc({ type, where: "shard" });
      seconds.observe({ type, where: "shard" }, s);
    },
  };
}

/** Serves queries over the loaded Parquet days. */
export class ParquetDB {
  readonly #opts: ParquetDBOptions;
  readonly #metrics: QueryMetrics | undefined;
  readonly #search: SearchMetrics | undefined;
  /** Filter work done by all requests so far. */
  readonly filterStats: FilterStats = {
    pagesRead: 0,
    pagesPrunedByBounds: 0,
    pagesMatchedByBounds: 0,
    rowGroupsPrunedByBloom: 0,
  };

  /** Creates the database view. */
  constructor(opts: ParquetDBOptions) {
    const ext = opts.externalLabels;
    this.#opts = {
      ...opts,
      externalLabels: ext && Object.keys(ext).length > 0 ? ext : undefined,
    };
    this.#metrics = opts.registry ? queryMetrics(opts.registry) : undefined;
    this.#search = opts.registry ? new SearchMetrics(opts.registry) : undefined;
  }

  /**
   * A queryable for one request, with fresh quotas. `replicaLabels` (gRPC
   * `without_replica_labels`) are removed from its results.
   */
  queryable(opts: { replicaLabels?: readonly string[] } = {}): Queryable {
    const o = this.#opts;
    const queryable = new ParquetQueryable({
      days: o.days,
      keep: o.keep ?? (() => true),
      unavailable: o.unavailable,
      externalLabels: o.externalLabels,
      chunkPartition: o.chunkPartition ?? DEFAULT_CHUNK_PARTITION,
      selectBatchSize: o.selectBatchSize,
      filterStats: this.filterStats,
      replicaLabels: opts.replicaLabels?.length ? new Set(opts.replicaLabels) : undefined,
      metrics: this.#metrics,
      search: this.#search,
    }, new RequestQuotas(o.limits ?? UNLIMITED));
    return o.timeLimit ? limitQueryableTime(queryable, o.timeLimit) : queryable;
  }

  /**
   * The overall time range of the loaded (and kept) days within the time limit, or `undefined`
   * when there is none.
   */
  timeRange(): DayRange | undefined {
    let minT = Infinity, maxT = -Infinity;
    for (const t of this.tsdbRanges()) {
      minT = Math.min(minT, t.minT);
      maxT = Math.max(maxT, t.maxT);
    }
    return minT <= maxT ? { minT, maxT } : undefined;
  }

  /**
   * The time ranges of the loaded (and kept) days of each external label set (the stream's, or
   * `--query.external-label`'s for all), within the time limit: adjacent or overlapping days
   * form one range, a gap starts another. Sorted by labels, then time.
   */
  tsdbRanges(): TsdbRange[] {
    const keep = this.#opts.keep ?? (() => true);
    const byLabels = new Map<string, { labels: Labels; days: DayRange[] }>();
    for (const d of this.#opts.days()) {
      if (!keep({ minT: d.mint, maxT: d.maxt })) continue;
      const labels = labelsFromRecord({ ...(this.#opts.externalLabels ?? d.externalLabels) });
      const key = labelsKey(labels);
      let entry = byLabels.get(key);
      if (!entry) byLabels.set(key, entry = { labels, days: [] });
      entry.days.push({ minT: d.mint, maxT: d.maxt });
    }
    const limit = this.#opts.timeLimit?.();
    const out: TsdbRange[] = [];
    for (const { labels, days } of byLabels.values()) {
      days.sort((a, b) => a.minT - b.minT);
      const merged: DayRange[] = [];
      for (const d of days) {
        const last = merged[merged.length - 1];
        if (last && d.minT <= last.maxT) {
          merged[merged.length - 1] = { minT: last.minT, maxT: Math.max(last.maxT, d.maxT) };
        } else merged.push(d);
      }
      for (const r of merged) {
        const clamped = limit ? clampRange(r, limit) : r;
        if (clamped) out.push({ labels, ...clamped });
      }
    }
    return out.sort((a, b) => compareLabels(a.labels, b.labels) || a.minT - b.minT);
  }
}

/** The time range of one external label set's data. */
export interface TsdbRange extends DayRange {
  /** The external labels, sorted. */
  readonly labels: Labels;
}

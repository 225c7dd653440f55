/**
 * The serve-side database: the days the syncer has loaded, the query options, and a fresh
 * {@linkcode ParquetQueryable} with new quotas for every request.
 *
 * @module
 */
import { Counter, exponentialBuckets, Histogram, type Registry } from "prom-client";
import type { Queryable } from "../../model/queryable.ts";
import type { LoadedDay } from "./block.ts";
import type { FilterStats } from "./filter.ts";
import { type QueryLimits, RequestQuotas, UNLIMITED } from "./limits.ts";
import { ParquetQueryable, type QueryMetrics } from "./queryable.ts";
import type { OperationType } from "./search_metrics.ts";
import { type ChunkPartitionOptions, DEFAULT_CHUNK_PARTITION } from "./read.ts";
import { SearchMetrics } from "./search_metrics.ts";
import type { DayRange } from "./syncer.ts";
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
  /** `--query.storage.select.chunk-partition.*` (default: 64 MiB, 64 MiB, 2). */
  chunkPartition?: ChunkPartitionOptions;
  /** Query-time block filter, the syncer's `keep` (default: keep all). */
  keep?: (day: DayRange) => boolean;
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
  readonly filterStats: FilterStats = { pagesRead: 0, pagesPrunedByBounds: 0 };

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
    return new ParquetQueryable({
      days: o.days,
      keep: o.keep ?? (() => true),
      unavailable: o.unavailable,
      externalLabels: o.externalLabels,
      chunkPartition: o.chunkPartition ?? DEFAULT_CHUNK_PARTITION,
      filterStats: this.filterStats,
      replicaLabels: opts.replicaLabels?.length ? new Set(opts.replicaLabels) : undefined,
      metrics: this.#metrics,
      search: this.#search,
    }, new RequestQuotas(o.limits ?? UNLIMITED));
  }

  /** The overall time range of the loaded (and kept) days, or `undefined` when there are none. */
  timeRange(): { minT: number; maxT: number } | undefined {
    let minT = Infinity, maxT = -Infinity;
    const keep = this.#opts.keep ?? (() => true);
    for (const d of this.#opts.days()) {
      if (!keep({ minT: d.mint, maxT: d.maxt })) continue;
      minT = Math.min(minT, d.mint);
      maxT = Math.max(maxT, d.maxt);
    }
    return minT <= maxT ? { minT, maxT } : undefined;
  }
}

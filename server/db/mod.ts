/**
 * The serve-side data path: loading Parquet days ({@linkcode Syncer}) and querying them
 * ({@linkcode ParquetDB}, whose `queryable()` implements the engine's `Queryable`).
 *
 * @example Wiring `serve`
 * ```ts ignore
 * const discoverer = new ParquetDiscoverer(bucket, { concurrency: 1, logger });
 * await discoverer.discover();
 * const syncer = new Syncer({
 *   bucket,
 *   streams: () => discoverer.streams,
 *   labelFiles: new LocalLabelFileStore(bucket, "/tmp"),
 *   keep: (day) => filter.keep(day),
 *   logger,
 *   registry,
 * });
 * await syncer.sync(); // then every --block.syncer.interval, after discovery
 * const db = new ParquetDB({ days: () => syncer.days, limits, externalLabels, keep, registry });
 * const queryable = db.queryable(); // one per request: fresh quotas
 * // on shutdown
 * await syncer.close();
 * ```
 *
 * @module
 */
export { LoadedDay, type LoadedShard } from "./block.ts";
export { ParquetDB, type ParquetDBOptions, type TsdbRange } from "./db.ts";
export { countSamples, type SampleCounts, type ShardStats, shardStats } from "./day_stats.ts";
export type { FilterStats } from "./filter.ts";
export { type LabelFileStore, localLabelFileName, LocalLabelFileStore } from "./label_files.ts";
export { type DayFiles, dayFiles, type DayIO, type FileRef, openDay } from "./open_day.ts";
export {
  type QueryLimits,
  Quota,
  QuotaExceededError,
  type QuotaResource,
  RequestQuotas,
  UNLIMITED,
} from "./limits.ts";
export {
  ParquetQueryable,
  WARN_DROPPED_SERIES,
  WARN_DROPPED_VALUES,
  WARN_TRUNCATED,
} from "./queryable.ts";
export { type ChunkPartitionOptions, DEFAULT_CHUNK_PARTITION } from "./chunk_reader.ts";
export {
  CorruptLabelsFileError,
  type DayLoadFailure,
  type DayRange,
  DEFAULT_PAGE_CACHE_BYTES,
  sameMeta,
  Syncer,
  type SyncerOptions,
  SyncError,
} from "./syncer.ts";
export { type UnavailableDay, unavailableDayWarning } from "./unavailable.ts";
export { parquetStoreSource, storedChunks } from "./store_source.ts";
export { clampHints, clampRange, limitQueryableTime } from "./time_limit.ts";

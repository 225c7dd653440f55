/**
 * TSDB blocks to gateway Parquet days: UTC day arithmetic, planning, the day conversion over any
 * {@linkcode SeriesSource} (a TSDB {@linkcode BlockSource}, or in-memory series), TSDB discovery,
 * the block cache, the conversion runner and loop, splitting the plan among converters, progress
 * reporting and retention.
 *
 * @example
 * ```ts ignore
 * import { BlockSource, convertDay, parseDay } from "./mod.ts";
 * import { Block } from "../storage/tsdb/mod.ts";
 * import { FilesystemBucket } from "../storage/objstore/mod.ts";
 * const block = await Block.open("data/tsdb/01M88N5DB4F62E1YJ3Z2G3ZSB2");
 * await convertDay(new FilesystemBucket("data/parquet"), parseDay("2023-11-15"), {}, [
 *   new BlockSource(block),
 * ], { rowGroupSize: 1_000_000, numRowGroups: 6 });
 * ```
 *
 * @module
 */
export { type Day, DAY_MS, dayOf, daysInRange, parseDay } from "../storage/parquet/mod.ts";
export {
  planConversion,
  type PlanOptions,
  type PlanStep,
  type SourceBlock,
  type SourceStream,
} from "./plan.ts";
export { MemorySource, type SeriesData, type SeriesSource, type SourceSeries } from "./source.ts";
export { BlockSource } from "./block_source.ts";
export { compareSeries, type SortEntry } from "./series_order.ts";
export { type MergedSeries, mergeSeries, UnsortedStreamError } from "./merge.ts";
export { DEFAULT_SORT_BUFFER_BYTES, SpillSorter, type SpillSorterOptions } from "./spill_sort.ts";
export { type ChunkColumnsOptions, dayChunkColumns } from "./chunks.ts";
export { filterChunk, mergeChunks, SAMPLES_PER_CHUNK } from "./rechunk.ts";
export {
  convertDay,
  type ConvertOptions,
  type ConvertResult,
  MAX_COLUMNS,
  NoSeriesError,
  SourceChangedError,
  StreamConflictError,
} from "./convert.ts";
export {
  type DiscoveredBlock,
  parseSelectors,
  TsdbDiscoverer,
  type TsdbDiscoveryOptions,
} from "./tsdb_discovery.ts";
export { BlockCache, type BlockCacheOptions } from "./block_cache.ts";
export {
  ConvertRunner,
  type ConvertRunnerOptions,
  type ConvertStep,
  repeat,
  type RunSummary,
  type StepResult,
} from "./loop.ts";
export {
  ConversionProgress,
  DayProgress,
  type ProgressOptions,
  type RunPosition,
} from "./progress.ts";
export {
  type DaySelector,
  DELETE_CONSISTENCY_DELAY_MS,
  deleteMarkedDays,
  markExpiredDays,
} from "./retention.ts";
export { formatPlanShard, ownsDay, parsePlanShard, type PlanShard, shardOfDay } from "./shard.ts";

/**
 * TSDB blocks to gateway Parquet days: UTC day arithmetic, planning, the day conversion over any
 * {@linkcode SeriesSource} (a TSDB {@linkcode BlockSource}, or in-memory series), discovery of
 * both buckets, conversion passes, the periodic loop and retention.
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
export { type Day, DAY_MS, dayOf, daysInRange, parseDay } from "./days.ts";
export {
  planConversion,
  type PlanOptions,
  type PlanStep,
  type SourceBlock,
  type SourceStream,
} from "./plan.ts";
export { MemorySource, type SeriesData, type SeriesSource, type SourceSeries } from "./source.ts";
export { BlockSource } from "./block_source.ts";
export { type ChunkColumnsOptions, dayChunkColumns } from "./chunks.ts";
export { filterChunk, mergeChunks, SAMPLES_PER_CHUNK } from "./rechunk.ts";
export {
  convertDay,
  type ConvertOptions,
  type ConvertResult,
  MAX_COLUMNS,
  NoSeriesError,
  sortKey,
  SourceChangedError,
  StreamConflictError,
} from "./convert.ts";
export {
  convertedDays,
  type TsdbBlock,
  TsdbDiscoverer,
  type TsdbDiscoveryOptions,
} from "./discovery.ts";
export { Converter, type ConverterOptions } from "./runner.ts";
export { convertWithRetries, type LoopOptions, runConversionLoop } from "./loop.ts";
export {
  DELETE_CONSISTENCY_DELAY_MS,
  deleteMarkedDays,
  markExpiredDays,
  type StreamDay,
} from "./retention.ts";

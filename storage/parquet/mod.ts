/**
 * The gateway's Parquet block format: schema and versions, bucket layout, hashes, the small
 * protobuf files, the shard writer and reader, page-level access for the query path, and
 * discovery of committed days.
 *
 * @module
 */
export * from "./schema.ts";
export * from "./layout.ts";
export { type Day, DAY_MS, dayOf, daysInRange, parseDay } from "./days.ts";
export { externalLabelsHash, seriesHash } from "./hash.ts";
export { decodeLabelIndex, encodeLabelIndex, LabelIndexError } from "./label_index.ts";
export * from "./chunk_column.ts";
export * from "./meta.ts";
export {
  type ChunksCodec,
  type ShardRow,
  ShardRowError,
  type ShardSummary,
  ShardWriter,
  type ShardWriterOptions,
} from "./writer.ts";
export {
  openBlock,
  type OpenedBlock,
  ParquetObject,
  ShardFormatError,
  ShardReader,
} from "./reader.ts";
export {
  BucketSource,
  type ByteSource,
  type CachedStrings,
  type DecodedPage,
  type DictionaryCache,
  type FetchStats,
  LocalFileSource,
  LruDictionaryCache,
  PageFile,
  type PageSpan,
  ParquetPageError,
} from "./pages.ts";
export { Dictionary } from "./dictionary.ts";
export {
  type DiscoveredDay,
  type DiscoveredStream,
  ParquetDiscoverer,
  type ParquetDiscoveryOptions,
} from "./discovery.ts";

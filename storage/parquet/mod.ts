/**
 * The gateway's Parquet block format: schema and versions, bucket layout, hashes, the small
 * protobuf files, and the shard writer and reader.
 *
 * @module
 */
export * from "./schema.ts";
export * from "./layout.ts";
export { externalLabelsHash, seriesHash } from "./hash.ts";
export { xxHash64 } from "./xxhash64.ts";
export { decodeLabelIndex, encodeLabelIndex, LabelIndexError } from "./label_index.ts";
export * from "./chunk_column.ts";
export * from "./meta.ts";
export {
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

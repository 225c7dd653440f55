/**
 * Prometheus TSDB blocks: reading `meta.json` (with Thanos' section), the index (v1-v3), chunk
 * segment files and tombstones; XOR, histogram and float histogram chunk codecs; and a block
 * writer for fixtures.
 *
 * @example
 * ```ts ignore
 * import { Block } from "./mod.ts";
 * const block = await Block.open("data/01M88N5D9P8GWXTTFS4XSR85NF");
 * for (const s of block.series()) {
 *   const it = s.iterator();
 *   while (it.next()) console.log(s.labels, it.atT(), it.atFloat());
 * }
 * await block.close();
 * ```
 *
 * @module
 */
export {
  Block,
  type BlockMarkers,
  type BlockOpenOptions,
  type BlockSeries,
  type BucketOpenOptions,
  readBlockMarkers,
} from "./block.ts";
export { type ChunkIterator, chunkIterator, ChunkOpener, ChunkSeriesIterator } from "./chunk.ts";
export {
  ChunksReader,
  Encoding,
  type RawChunk,
  readChunkAt,
  segmentFileName,
} from "./chunks_reader.ts";
export { crc32c } from "./crc32c.ts";
export { BlockMetaError, ChunkEncodeError, TsdbFormatError } from "./errors.ts";
export { FloatHistogramChunkEncoder, FloatHistogramIterator } from "./float_histogram.ts";
export { HistogramChunkEncoder, HistogramIterator } from "./histogram.ts";
export { HistogramChunkIterator } from "./histogram_chunk_iterator.ts";
export { CounterResetHeader, type HistogramLayout } from "./histogram_meta.ts";
export { BitReader, BitWriter } from "./bstream.ts";
export {
  type ChunkMeta,
  chunkRefOffset,
  chunkRefSegment,
  IndexReader,
  type IndexSeries,
  type IndexToc,
  makeChunkRef,
} from "./index_reader.ts";
export * from "./meta.ts";
export { type Interval, parseTombstones, type Tombstones } from "./tombstones.ts";
export { FileSegment, type SegmentSource } from "./segment_file.ts";
export { decodeXorChunk, XorChunkEncoder, XorIterator } from "./xor.ts";
export {
  type BlockWriteOptions,
  type ChunkToWrite,
  newUlid,
  type SeriesToWrite,
  writeBlock,
  xorChunks,
} from "./writer.ts";

/**
 * What the block browser shows of a loaded day beyond its `meta.pb`: per shard the rows (series),
 * row groups, label columns and file sizes, read from what loading the day already holds; and,
 * on request, the chunk and sample counts, which no metadata records: they are counted from the
 * chunk headers (every Prometheus chunk encoding starts with its sample count, a big-endian
 * uint16), reading the whole chunks files once.
 *
 * @module
 */
import type { Bucket } from "../../storage/objstore/bucket.ts";
import { decodeChunkColumn } from "../../storage/parquet/chunk_column.ts";
import { chunksFileKey } from "../../storage/parquet/layout.ts";
import { ParquetObject } from "../../storage/parquet/reader.ts";
import { CHUNK_COLUMNS, LABEL_COLUMN_PREFIX } from "../../storage/parquet/schema.ts";
import type { LoadedDay } from "./block.ts";

/** One shard of a loaded day. */
export interface ShardStats {
  /** Shard number. */
  readonly index: number;
  /** Rows, one per series. */
  readonly series: number;
  /** Row groups (the same in both files). */
  readonly rowGroups: number;
  /** Label columns of the labels file. */
  readonly labelColumns: number;
  /** Size of `<index>.labels.parquet`, bytes. */
  readonly labelsBytes: number;
  /** Size of `<index>.chunks.parquet`, bytes. */
  readonly chunksBytes: number;
}

/** The shards of a loaded day, from the files' footers. */
export function shardStats(day: LoadedDay): ShardStats[] {
  return day.shards.map((s) => ({
    index: s.index,
    series: s.labels.numRows,
    rowGroups: s.labels.rowGroups,
    labelColumns: s.labels.columnNames.filter((c) => c.startsWith(LABEL_COLUMN_PREFIX)).length,
    labelsBytes: s.labels.source.size,
    chunksBytes: s.chunks.source.size,
  }));
}

/** The chunk and sample counts of a day. */
export interface SampleCounts {
  /** Chunks in all chunk columns of all shards. */
  readonly chunks: number;
  /** Samples in those chunks. */
  readonly samples: number;
}

/**
 * Counts the chunks and samples of `day` by reading its chunks files from `bucket`, one row group
 * and one column at a time (bypassing the page cache, whose pages queries need). Costs a read of
 * every chunks file: for the block browser's explicit request only.
 */
export async function countSamples(
  bucket: Bucket,
  day: LoadedDay,
  signal?: AbortSignal,
): Promise<SampleCounts> {
  let chunks = 0, samples = 0;
  for (const shard of day.shards) {
    const key = chunksFileKey(day.hash, day.date, shard.index);
    const file = await ParquetObject.open(bucket, key);
    let rowStart = 0;
    for (const rows of file.rowGroupSizes) {
      for (const column of CHUNK_COLUMNS) {
        signal?.throwIfAborted();
        const [values] = await file.read([column], rowStart, rowStart + rows);
        for (const value of values) {
          if (!(value instanceof Uint8Array)) continue;
          for (const c of decodeChunkColumn(value, key)) {
            chunks++;
            if (c.data.length >= 2) samples += (c.data[0] << 8) | c.data[1];
          }
        }
      }
      rowStart += rows;
    }
  }
  return { chunks, samples };
}

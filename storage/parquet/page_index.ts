/**
 * Completes and writes the Parquet page index (ColumnIndex and OffsetIndex) for every column
 * chunk, as parquet-go does for the Go gateway. hyparquet-writer builds page indexes only for
 * column chunks of more than one page; readers of gateway files rely on the offset index of every
 * chunk to fetch single pages, so the missing ones are derived here from the chunk metadata.
 *
 * @module
 */
import type { ColumnIndex, OffsetIndex, SchemaElement } from "hyparquet";
import type { ParquetWriter } from "hyparquet-writer";
import { serializeTCompactProtocol } from "hyparquet-writer/src/thrift.js";
import { unconvertMinMax } from "hyparquet-writer/src/unconvert.js";

/** Byte-array column-index bounds are truncated to this many bytes (parquet-go's default). */
export const COLUMN_INDEX_TRUNCATE_LENGTH = 16;

const BOUNDARY_ORDERS = ["UNORDERED", "ASCENDING", "DESCENDING"] as const;

/**
 * Writes a ColumnIndex and an OffsetIndex for every pending column chunk of `pw` (all column
 * indexes first, then all offset indexes, as parquet-go lays them out) and detaches them from the
 * writer so that `pw.finish()` only adds bloom filters and the footer.
 *
 * @param leaves the file's leaf schema elements in column order
 * @param skipBounds columns whose column index carries empty min/max (parquet-go
 *   `SkipPageBounds`): opaque blobs and hashes whose bounds no reader uses
 */
export function writePageIndexes(
  pw: ParquetWriter,
  leaves: readonly SchemaElement[],
  skipBounds: ReadonlySet<string>,
): void {
  const entries = pw.pendingIndexes;
  const columnIndexes: ColumnIndex[] = [];
  const offsetIndexes: OffsetIndex[] = [];
  entries.forEach((entry, i) => {
    const element = leaves[i % leaves.length];
    const meta = entry.chunk.meta_data;
    if (!meta) throw new Error(`column chunk ${element.name} has no metadata`);
    const offsetIndex = entry.offsetIndex ?? {
      page_locations: [{
        offset: meta.data_page_offset,
        compressed_page_size: Number(
          entry.chunk.file_offset + meta.total_compressed_size - meta.data_page_offset,
        ),
        first_row_index: 0n,
      }],
    };
    const pages = offsetIndex.page_locations.length;
    let columnIndex: ColumnIndex;
    if (skipBounds.has(element.name)) {
      columnIndex = {
        null_pages: new Array(pages).fill(false),
        min_values: new Array(pages).fill(new Uint8Array(0)),
        max_values: new Array(pages).fill(new Uint8Array(0)),
        boundary_order: "UNORDERED",
      };
    } else if (entry.columnIndex) {
      columnIndex = entry.columnIndex;
    } else {
      // One page: its bounds are the chunk statistics.
      const stats = meta.statistics;
      const nullPage = stats?.null_count === meta.num_values;
      columnIndex = {
        null_pages: [nullPage],
        min_values: [
          unconvertMinMax(stats?.min_value, element, false, COLUMN_INDEX_TRUNCATE_LENGTH) ??
            new Uint8Array(0),
        ],
        max_values: [
          unconvertMinMax(stats?.max_value, element, true, COLUMN_INDEX_TRUNCATE_LENGTH) ??
            new Uint8Array(0),
        ],
        boundary_order: "ASCENDING",
        null_counts: stats?.null_count !== undefined ? [stats.null_count] : undefined,
      };
    }
    columnIndexes.push(columnIndex);
    offsetIndexes.push(offsetIndex);
  });
  const w = pw.writer;
  entries.forEach((entry, i) => {
    const ci = columnIndexes[i];
    const start = w.offset;
    serializeTCompactProtocol(w, {
      field_1: ci.null_pages,
      field_2: ci.min_values,
      field_3: ci.max_values,
      field_4: BOUNDARY_ORDERS.indexOf(ci.boundary_order),
      field_5: ci.null_counts,
    });
    entry.chunk.column_index_offset = BigInt(start);
    entry.chunk.column_index_length = w.offset - start;
    entry.columnIndex = undefined;
  });
  entries.forEach((entry, i) => {
    const start = w.offset;
    serializeTCompactProtocol(w, {
      field_1: offsetIndexes[i].page_locations.map((p) => ({
        field_1: p.offset,
        field_2: p.compressed_page_size,
        field_3: p.first_row_index,
      })),
    });
    entry.chunk.offset_index_offset = BigInt(start);
    entry.chunk.offset_index_length = w.offset - start;
    entry.offsetIndex = undefined;
  });
}

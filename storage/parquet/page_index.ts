/**
 * Completes and writes the Parquet page index (ColumnIndex and OffsetIndex) for every column
 * chunk, as parquet-go does for the Go gateway. hyparquet-writer builds page indexes only for
 * column chunks of more than one page; readers of gateway files rely on the offset index of every
 * chunk to fetch single pages, so the missing ones are derived here from the chunk metadata.
 *
 * hyparquet-writer keeps every page's location as an object until the footer is written; a
 * million-series chunks file has about 1.5M pages, and those objects, long-lived among the
 * writer's garbage, cost the process over 400 bytes of RSS each. {@linkcode PageLocationStore}
 * takes them over as typed arrays after every row group.
 *
 * @module
 */
import type { ColumnIndex, OffsetIndex, SchemaElement } from "hyparquet";
import type { ParquetWriter } from "hyparquet-writer";
import { serializeTCompactProtocol } from "hyparquet-writer/src/thrift.js";
import { unconvertMinMax } from "hyparquet-writer/src/unconvert.js";
import { compactPageLocations, offsetIndexOf, type PageLocations } from "./_offset_index.ts";

/** Byte-array column-index bounds are truncated to this many bytes (parquet-go's default). */
export const COLUMN_INDEX_TRUNCATE_LENGTH = 16;

const BOUNDARY_ORDERS = ["UNORDERED", "ASCENDING", "DESCENDING"] as const;

type PendingIndex = ParquetWriter["pendingIndexes"][number];

/**
 * The offset indexes of a writer's written column chunks, held compactly: call
 * {@linkcode PageLocationStore.take} after each row group, and pass the store to
 * {@linkcode writePageIndexes}.
 */
export class PageLocationStore {
  readonly #locations = new Map<PendingIndex, PageLocations>();

  /** Moves the offset indexes of `pw`'s pending column chunks into typed arrays. */
  take(pw: ParquetWriter): void {
    for (const entry of pw.pendingIndexes) {
      if (!entry.offsetIndex) continue;
      this.#locations.set(entry, compactPageLocations(entry.offsetIndex));
      entry.offsetIndex = undefined;
    }
  }

  /** Holds `locations` as the offset index of `entry`'s column chunk. */
  set(entry: PendingIndex, locations: PageLocations): void {
    this.#locations.set(entry, locations);
  }

  /** The number of pages of `entry`'s column chunk, if its offset index was taken. */
  pageCount(entry: PendingIndex): number | undefined {
    return this.#locations.get(entry)?.offset.length;
  }

  /** The offset index taken from `entry`, as hyparquet's objects again (one chunk at a time). */
  offsetIndex(entry: PendingIndex): OffsetIndex | undefined {
    const locations = this.#locations.get(entry);
    return locations && offsetIndexOf(locations);
  }
}

/**
 * Writes a ColumnIndex and an OffsetIndex for every pending column chunk of `pw` (all column
 * indexes first, then all offset indexes, as parquet-go lays them out) and detaches them from the
 * writer so that `pw.finish()` only adds bloom filters and the footer.
 *
 * @param leaves the file's leaf schema elements in column order
 * @param skipBounds columns whose column index carries empty min/max (parquet-go
 *   `SkipPageBounds`): opaque blobs and hashes whose bounds no reader uses
 * @param taken the store that took offset indexes from `pw`, if any
 */
export function writePageIndexes(
  pw: ParquetWriter,
  leaves: readonly SchemaElement[],
  skipBounds: ReadonlySet<string>,
  taken?: PageLocationStore,
): void {
  const entries = pw.pendingIndexes;
  const w = pw.writer;
  // Each index is built and written alone: a chunk column's empty bounds and its page locations
  // take as many entries as it has pages.
  entries.forEach((entry, i) => {
    const element = leaves[i % leaves.length];
    const meta = entry.chunk.meta_data;
    if (!meta) throw new Error(`column chunk ${element.name} has no metadata`);
    const pages = entry.offsetIndex?.page_locations.length ?? taken?.pageCount(entry) ?? 1;
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
    const start = w.offset;
    serializeTCompactProtocol(w, {
      field_1: columnIndex.null_pages,
      field_2: columnIndex.min_values,
      field_3: columnIndex.max_values,
      field_4: BOUNDARY_ORDERS.indexOf(columnIndex.boundary_order),
      field_5: columnIndex.null_counts,
    });
    entry.chunk.column_index_offset = BigInt(start);
    entry.chunk.column_index_length = w.offset - start;
    entry.columnIndex = undefined;
  });
  for (const entry of entries) {
    const meta = entry.chunk.meta_data!;
    const offsetIndex = entry.offsetIndex ?? taken?.offsetIndex(entry) ?? {
      // One page, spanning the chunk's data pages.
      page_locations: [{
        offset: meta.data_page_offset,
        compressed_page_size: Number(
          entry.chunk.file_offset + meta.total_compressed_size - meta.data_page_offset,
        ),
        first_row_index: 0n,
      }],
    };
    const start = w.offset;
    serializeTCompactProtocol(w, {
      field_1: offsetIndex.page_locations.map((p) => ({
        field_1: p.offset,
        field_2: p.compressed_page_size,
        field_3: p.first_row_index,
      })),
    });
    entry.chunk.offset_index_offset = BigInt(start);
    entry.chunk.offset_index_length = w.offset - start;
    entry.offsetIndex = undefined;
  }
}

/**
 * Writes one shard of a gateway Parquet block: `N.labels.parquet` and `N.chunks.parquet`, rows
 * aligned 1:1 and cut into identical row groups, both streamed into the bucket row group by row
 * group. The chunks file's pages are encoded as rows arrive and spilled to temporary files until
 * their row group is complete (as the Go converter spills its page buffers), so memory holds a
 * row group's labels only; a row group is cut early when those reach a limit.
 *
 * Settings follow the Go gateway (gateway.md 2.2), except that the chunks file is stored
 * uncompressed by default ({@linkcode ShardWriterOptions.chunksCodec}): ZSTD on the labels
 * file's columns; DataPage V2; label columns dictionary-encoded (RLE_DICTIONARY, PLAIN dictionary
 * page) with statistics and a column index; `___cf_meta_index` and the chunk columns
 * DELTA_LENGTH_BYTE_ARRAY, the hash PLAIN, all four with empty column-index bounds; an offset
 * index for every column chunk; sorting-columns metadata for the sort labels; a split-block bloom
 * filter on `___cf_meta_label___name__`; pages of about 256 KiB (labels, as Go) and 16 KiB
 * (chunks; Go writes 2 MiB) before compression.
 *
 * @module
 */
import zlib from "node:zlib";
import type { RowGroup, SchemaElement } from "hyparquet";
import { type ColumnSource, ParquetWriter } from "hyparquet-writer";
import { compareStrings, type Labels, METRIC_NAME } from "../../model/labels.ts";
import type { Bucket } from "../objstore/bucket.ts";
import { SpilledColumn } from "./_column_spill.ts";
import { ByteArrayPageBuilder, Int64PageBuilder } from "./_data_page.ts";
import { seriesHash } from "./hash.ts";
import { encodeLabelIndex } from "./label_index.ts";
import { PageLocationStore, writePageIndexes } from "./page_index.ts";
import {
  CHUNK_COLUMNS,
  CHUNK_COLUMNS_PER_DAY,
  chunksFileSchema,
  LABEL_HASH_COLUMN,
  LABEL_INDEX_COLUMN,
  labelColumn,
  labelsFileSchema,
} from "./schema.ts";
import { StreamingWriter } from "./upload_stream.ts";

/** Options of a {@linkcode ShardWriter}. */
export interface ShardWriterOptions {
  /** Rows per row group (`--convert.rowgroup.size`). */
  readonly rowGroupSize: number;
  /**
   * Buffered bytes ({@linkcode ShardWriterOptions.rowOverheadBytes} per row) after which a row
   * group is cut early (default 64 MiB), so a writer's memory stays bounded whatever the
   * row-group size; both files are cut at the same row. Chunk bytes do not count: they are
   * spilled to {@linkcode ShardWriterOptions.spillDir}.
   */
  readonly maxRowGroupBytes?: number;
  /**
   * Bytes counted per buffered row (default {@linkcode ROW_BUFFER_BYTES}): an estimate of what
   * the row's labels, index and hash hold until the row group is written.
   */
  readonly rowOverheadBytes?: number;
  /**
   * Directory under which the writer creates a directory of its own for the chunk pages of the
   * row group being written (default the OS temporary directory); removed on close and abort.
   */
  readonly spillDir?: string;
  /**
   * Labels the rows are sorted by, recorded as sorting columns (default `["__name__"]`). Rows
   * must be in ascending byte order of these labels with a missing label (a null) first, as an
   * empty value sorts; the Go converter declares nulls last although its rows put them first.
   */
  readonly sortingLabels?: readonly string[];
  /** zstd level (default 6, close to parquet-go's `SpeedBetterCompression`). */
  readonly zstdLevel?: number;
  /**
   * Compression of the chunks file's columns (default `UNCOMPRESSED`; the Go gateway writes
   * `ZSTD`). TSDB chunks are compressed already: zstd saves about 16% of a chunks file on the
   * scale benchmark's data, while decompressing its pages took about half of the CPU time of a
   * query that reads every series' chunks.
   */
  readonly chunksCodec?: ChunksCodec;
  /** Target uncompressed page size of the labels file (default {@linkcode LABELS_PAGE_BYTES}). */
  readonly labelsPageSize?: number;
  /** Target uncompressed page size of the chunks file (default {@linkcode CHUNKS_PAGE_BYTES}). */
  readonly chunksPageSize?: number;
  /** `created_by` of both files. */
  readonly createdBy?: string;
}

/** Compressions a chunks file can be written with. */
export type ChunksCodec = "UNCOMPRESSED" | "ZSTD";

/** One row: a series with its chunk column values (empty arrays for empty 8h windows). */
export interface ShardRow {
  /** The series labels, sorted by name; every name must be one of the shard's label names. */
  readonly labels: Labels;
  /** The three chunk column values (see `chunk_column.ts`). */
  readonly chunks: readonly Uint8Array[];
}

/** A row does not fit the shard (unknown label name, empty value, wrong chunk count). */
export class ShardRowError extends Error {
  /** The error's name, for logs. */
  override readonly name = "ShardRowError";
  /**
   * Creates the error for the shard `shard`.
   *
   * @param shard the labels-file key of the shard
   * @param detail what is wrong
   */
  constructor(readonly shard: string, readonly detail: string) {
    super(`${shard}: ${detail}`);
  }
}

/** The spilled columns of a chunks file's row group in progress, in file column order. */
interface ChunkSpill {
  readonly dir: string;
  readonly chunks: readonly SpilledColumn<Uint8Array>[];
  readonly hash: SpilledColumn<bigint>;
}

/** What a finished shard holds. */
export interface ShardSummary {
  /** Rows written to each file. */
  readonly rows: number;
  /** Row groups in each file. */
  readonly rowGroups: number;
}

/** Compressor for hyparquet-writer: Deno's `node:zlib` zstd (fzstd in hyparquet reads it). */
export function zstdCompressor(level: number): (input: Uint8Array) => Uint8Array {
  const params = { [zlib.constants.ZSTD_c_compressionLevel]: level };
  return (input) => zlib.zstdCompressSync(input, { params });
}

/**
 * Default target page size of the labels file, bytes before compression: the Go gateway's
 * (`LabelPageBufferSize`, 256 KiB). Label columns are dictionary indexes, 4 bytes a row to the
 * writer, so a page holds about 64k rows.
 */
export const LABELS_PAGE_BYTES = 256 * 1024;

/**
 * Default target page size of the chunks file, bytes before compression. The Go gateway writes
 * 2 MiB (`ChunkPageBufferSize`): about a thousand rows of a day's chunks, so a query for a few
 * series scattered over the file fetches megabytes per series. At 16 KiB a page holds a few rows
 * (a row's 8h of chunks is typically 1-5 KiB), so such a query fetches at most about twice its
 * rows' bytes. The price: about 10 bytes of offset index per page and, in a zstd-compressed
 * chunks file ({@linkcode ShardWriterOptions.chunksCodec}), worse compression (each page alone)
 * and a fixed cost per page decoded (about 20 us, mostly creating the zstd context).
 */
export const CHUNKS_PAGE_BYTES = 16 * 1024;

/**
 * Default bytes counted per buffered row: measured on the scale benchmark's series (a dozen
 * labels), a 131k-row group of labels costs a writer about this much per row until written.
 */
export const ROW_BUFFER_BYTES = 512;

/** False-positive rate giving parquet-go's 10 bits per distinct value in a split-block filter. */
const BLOOM_FPP = 0.0085;

/**
 * Streams a shard's two files into a bucket. Append rows in their final order, then
 * {@linkcode ShardWriter.close}; on any failure call {@linkcode ShardWriter.abort} so that no
 * object is left behind.
 */
export class ShardWriter {
  readonly #labelsOut: StreamingWriter;
  readonly #chunksOut: StreamingWriter;
  readonly #labelsPw: ParquetWriter;
  readonly #chunksPw: ParquetWriter;
  readonly #labelsLocations = new PageLocationStore();
  readonly #chunksLocations = new PageLocationStore();
  readonly #labelsLeaves: SchemaElement[];
  readonly #chunksLeaves: SchemaElement[];
  readonly #position = new Map<string, number>();
  readonly #names: readonly string[];
  readonly #sorting: NonNullable<RowGroup["sorting_columns"]>;
  readonly #rowGroupSize: number;
  readonly #maxRowGroupBytes: number;
  readonly #rowOverhead: number;
  #bufferedBytes = 0;
  readonly #labelsPageSize: number;
  readonly #chunksPageSize: number;
  readonly #key: string;
  // Row-group buffers. Label values are kept as (row, value) pairs: a shard may have thousands of
  // label names of which each row uses few.
  #index: Uint8Array[] = [];
  #labelValues = new Map<number, { rows: number[]; values: string[] }>();
  readonly #spillDir: string | undefined;
  readonly #chunksCodec: ChunksCodec;
  readonly #compressZstd: (input: Uint8Array) => Uint8Array;
  #spill: ChunkSpill | undefined;
  #rows = 0;
  #rowGroups = 0;
  #closed = false;

  /**
   * Starts the uploads of `labelsKey` and `chunksKey`.
   *
   * @param labelNames every label name occurring in the shard (any order, duplicates allowed)
   */
  constructor(
    bucket: Bucket,
    labelsKey: string,
    chunksKey: string,
    labelNames: Iterable<string>,
    options: ShardWriterOptions,
  ) {
    if (!Number.isSafeInteger(options.rowGroupSize) || options.rowGroupSize < 1) {
      throw new RangeError(`row group size ${options.rowGroupSize} must be a positive integer`);
    }
    this.#key = labelsKey;
    this.#names = [...new Set(labelNames)].sort(compareStrings);
    this.#names.forEach((n, i) => this.#position.set(n, i + 1));
    this.#rowGroupSize = options.rowGroupSize;
    this.#maxRowGroupBytes = options.maxRowGroupBytes ?? 64 * 1024 * 1024;
    this.#rowOverhead = options.rowOverheadBytes ?? ROW_BUFFER_BYTES;
    this.#spillDir = options.spillDir;
    this.#chunksCodec = options.chunksCodec ?? "UNCOMPRESSED";
    this.#labelsPageSize = options.labelsPageSize ?? LABELS_PAGE_BYTES;
    this.#chunksPageSize = options.chunksPageSize ?? CHUNKS_PAGE_BYTES;
    this.#sorting = [];
    for (const l of options.sortingLabels ?? [METRIC_NAME]) {
      const pos = this.#position.get(l);
      // A sort label missing from the shard is left out (parquet-go writes a bogus column 0).
      if (pos !== undefined) {
        this.#sorting.push({ column_idx: pos, descending: false, nulls_first: true });
      }
    }
    this.#compressZstd = zstdCompressor(options.zstdLevel ?? 6);
    const compressors = { ZSTD: this.#compressZstd };
    const createdBy = options.createdBy ?? "parquet-gateway";
    const labelsSchema = labelsFileSchema(this.#names);
    const chunksSchema = chunksFileSchema();
    this.#labelsLeaves = labelsSchema.slice(1);
    this.#chunksLeaves = chunksSchema.slice(1);
    this.#labelsOut = new StreamingWriter(bucket, labelsKey);
    this.#chunksOut = new StreamingWriter(bucket, chunksKey);
    this.#labelsPw = new ParquetWriter({
      writer: this.#labelsOut,
      schema: labelsSchema,
      codec: "ZSTD",
      compressors,
      createdBy,
    });
    this.#chunksPw = new ParquetWriter({
      writer: this.#chunksOut,
      schema: chunksSchema,
      codec: this.#chunksCodec,
      compressors,
      createdBy,
    });
  }

  /** The shard's label names in column order (label column `i` is file column `i + 1`). */
  get labelNames(): readonly string[] {
    return this.#names;
  }

  /** Rows appended so far. */
  get rows(): number {
    return this.#rows;
  }

  /** Appends a row; writes a row group to both files whenever one is full. */
  async append(row: ShardRow): Promise<void> {
    if (this.#closed) throw new ShardRowError(this.#key, "append after close");
    if (row.chunks.length !== CHUNK_COLUMNS_PER_DAY) {
      throw new ShardRowError(this.#key, `row has ${row.chunks.length} chunk columns, want 3`);
    }
    const n = this.#index.length;
    // Validate the whole row before touching the buffers, so a rejected row leaves them aligned.
    const positions: number[] = [];
    for (const { name, value } of row.labels) {
      const pos = this.#position.get(name);
      if (pos === undefined) {
        throw new ShardRowError(this.#key, `label ${name} is not in the shard schema`);
      }
      if (value === "") throw new ShardRowError(this.#key, `label ${name} has an empty value`);
      if (positions.length > 0 && pos <= positions[positions.length - 1]) {
        throw new ShardRowError(this.#key, `labels are not sorted by name, or repeat ${name}`);
      }
      positions.push(pos);
    }
    row.labels.forEach(({ value }, i) => {
      let col = this.#labelValues.get(positions[i]);
      if (!col) this.#labelValues.set(positions[i], col = { rows: [], values: [] });
      col.rows.push(n);
      col.values.push(value);
    });
    this.#index.push(encodeLabelIndex(positions));
    const spill = this.#spill ??= await this.#openSpill();
    for (let c = 0; c < CHUNK_COLUMNS_PER_DAY; c++) await spill.chunks[c].add(row.chunks[c]);
    await spill.hash.add(seriesHash(row.labels));
    this.#bufferedBytes += this.#rowOverhead;
    this.#rows++;
    if (this.#index.length >= this.#rowGroupSize || this.#bufferedBytes >= this.#maxRowGroupBytes) {
      await this.#flushRowGroup();
    }
  }

  async #openSpill(): Promise<ChunkSpill> {
    const dir = await Deno.makeTempDir({ dir: this.#spillDir, prefix: "shard-" });
    const compress = this.#chunksCodec === "ZSTD" ? this.#compressZstd : undefined;
    const codec = this.#chunksCodec;
    return {
      dir,
      chunks: CHUNK_COLUMNS.map((path, c) =>
        new SpilledColumn(
          `${dir}/${c}`,
          new ByteArrayPageBuilder(this.#chunksPageSize, compress),
          { type: "BYTE_ARRAY", encoding: "DELTA_LENGTH_BYTE_ARRAY", codec, path },
        )
      ),
      hash: new SpilledColumn(
        `${dir}/hash`,
        new Int64PageBuilder(this.#chunksPageSize, compress),
        { type: "INT64", encoding: "PLAIN", codec, path: LABEL_HASH_COLUMN },
      ),
    };
  }

  /** Copies the spilled chunk pages of the row group of `n` rows into the chunks file. */
  async #writeChunksRowGroup(spill: ChunkSpill, n: number): Promise<void> {
    const start = this.#chunksOut.offset;
    const columns = [];
    for (const column of [...spill.chunks, spill.hash]) {
      columns.push(await column.copyTo(this.#chunksOut));
    }
    const pw = this.#chunksPw;
    let uncompressed = 0n;
    for (const { chunk, locations } of columns) {
      uncompressed += chunk.meta_data!.total_uncompressed_size;
      const entry = { chunk };
      pw.pendingIndexes.push(entry);
      this.#chunksLocations.set(entry, locations);
    }
    pw.row_groups.push({
      columns: columns.map((c) => c.chunk),
      total_byte_size: uncompressed,
      num_rows: BigInt(n),
      total_compressed_size: BigInt(this.#chunksOut.offset - start),
    });
    pw.num_rows += BigInt(n);
  }

  async #flushRowGroup(): Promise<void> {
    const n = this.#index.length;
    if (n === 0) return;
    const labelColumns: ColumnSource[] = [{
      name: LABEL_INDEX_COLUMN,
      data: this.#index,
      encoding: "DELTA_LENGTH_BYTE_ARRAY",
      statistics: false,
    }];
    this.#names.forEach((name, i) => {
      const sparse = this.#labelValues.get(i + 1);
      labelColumns.push({
        name: labelColumn(name),
        // Values are buffered sparsely and made dense only when hyparquet-writer reads this
        // column, once, as it encodes it (one column at a time), so a shard with thousands of
        // label names never holds thousands of row-group-long arrays.
        get data() {
          const out = new Array<string | null>(n).fill(null);
          if (sparse) sparse.rows.forEach((r, k) => out[r] = sparse.values[k]);
          return out;
        },
        encoding: "RLE_DICTIONARY",
        columnIndex: true,
        bloomFilter: name === METRIC_NAME ? { fpp: BLOOM_FPP } : undefined,
      });
    });
    this.#index = [];
    this.#labelValues = new Map();
    this.#bufferedBytes = 0;
    const labelsDone = this.#labelsPw.write({
      columnData: labelColumns,
      rowGroupSize: n,
      pageSize: this.#labelsPageSize,
    });
    if (this.#sorting.length > 0) this.#labelsPw.row_groups.at(-1)!.sorting_columns = this.#sorting;
    await Promise.all([labelsDone, this.#writeChunksRowGroup(this.#spill!, n)]);
    this.#labelsLocations.take(this.#labelsPw);
    this.#rowGroups++;
  }

  /** Writes the last row group, page indexes and footers, and completes both uploads. */
  async close(): Promise<ShardSummary> {
    if (this.#closed) throw new ShardRowError(this.#key, "closed twice");
    this.#closed = true;
    await this.#flushRowGroup();
    writePageIndexes(
      this.#labelsPw,
      this.#labelsLeaves,
      new Set([LABEL_INDEX_COLUMN]),
      this.#labelsLocations,
    );
    writePageIndexes(
      this.#chunksPw,
      this.#chunksLeaves,
      new Set([...CHUNK_COLUMNS, LABEL_HASH_COLUMN]),
      this.#chunksLocations,
    );
    await Promise.all([this.#labelsPw.finish(), this.#chunksPw.finish()]);
    await this.#removeSpill();
    return { rows: this.#rows, rowGroups: this.#rowGroups };
  }

  /** Cancels both uploads; neither object is created. Removes the spilled pages. */
  async abort(reason: Error): Promise<void> {
    this.#closed = true;
    await Promise.all([this.#labelsOut.abort(reason), this.#chunksOut.abort(reason)]);
    await this.#removeSpill();
  }

  async #removeSpill(): Promise<void> {
    const spill = this.#spill;
    if (!spill) return;
    this.#spill = undefined;
    for (const column of [...spill.chunks, spill.hash]) await column.close().catch(() => {});
    await Deno.remove(spill.dir, { recursive: true }).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
  }
}

/**
 * Reads gateway Parquet blocks from a bucket with ranged reads: a day's `meta.pb`, then per shard
 * the footers of both files, then label, hash and chunk columns by row ranges. Pages are read
 * and decoded by the query path's {@linkcode PageFile} (the offset index picks the pages a range
 * needs), so what the tests read back is what `serve` reads. Reads formats V0, V1 and V2.
 *
 * @module
 */
import type { AsyncBuffer, ColumnIndex, FileMetaData, OffsetIndex } from "hyparquet";
import { type Label, type Labels, METRIC_NAME } from "../../model/labels.ts";
import type { Bucket } from "../objstore/bucket.ts";
import { decodeChunkColumn, type RawChunk } from "./chunk_column.ts";
import { decodeLabelIndex } from "./label_index.ts";
import { chunksFileKey, labelsFileKey, metaFileKey } from "./layout.ts";
import { type BlockMeta, decodeBlockMeta } from "./meta.ts";
import { type PageValueArray, pageValueAt } from "./page_decode.ts";
import { BucketSource, PageFile, ParquetPageError } from "./pages.ts";
import {
  CHUNK_COLUMNS,
  LABEL_HASH_COLUMN,
  LABEL_INDEX_COLUMN,
  labelColumn,
  labelNameOf,
  V0,
  V2,
} from "./schema.ts";

/** A shard file is not a gateway file of the declared version, or its two files disagree. */
export class ShardFormatError extends Error {
  /** The error's name, for logs. */
  override readonly name = "ShardFormatError";
  /**
   * Creates the error for the shard file `source`.
   *
   * @param source the object key
   * @param detail what is wrong
   */
  constructor(readonly source: string, readonly detail: string, options?: ErrorOptions) {
    super(`${source}: ${detail}`, options);
  }
}

/**
 * A Parquet object opened for ranged reads through the query path's {@linkcode PageFile}: its
 * footer and page index, and whole columns over a row range decoded page by page.
 */
export class ParquetObject {
  private constructor(
    /** Object key. */
    readonly key: string,
    /** The file as the query path opens it. */
    readonly file: PageFile,
    /** Ranged-read view of the object's raw bytes. */
    readonly buffer: AsyncBuffer,
  ) {}

  /** Opens `key`: one attributes call, one ranged read of the footer and its page index. */
  static async open(bucket: Bucket, key: string): Promise<ParquetObject> {
    const { size } = await bucket.attributes(key);
    const source = new BucketSource(bucket, key, size);
    const buffer: AsyncBuffer = {
      byteLength: size,
      async slice(start: number, end = size): Promise<ArrayBuffer> {
        const b = await source.read(start, end - start);
        return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
      },
    };
    let file: PageFile;
    try {
      file = await PageFile.open(key, source, "all");
    } catch (err) {
      const detail = err instanceof ParquetPageError ? err.detail : (err as Error).message;
      throw new ShardFormatError(key, `invalid parquet footer: ${detail}`, { cause: err });
    }
    return new ParquetObject(key, file, buffer);
  }

  /** The parsed footer. */
  get metadata(): FileMetaData {
    return this.file.metadata;
  }

  /** Top-level column names in file order. */
  get columnNames(): string[] {
    return this.file.columnNames;
  }

  /** Position of column `name`, or `undefined`. */
  columnPosition(name: string): number | undefined {
    return this.file.columnPosition(name);
  }

  /** Total rows. */
  get numRows(): number {
    return this.file.numRows;
  }

  /** Row counts of the row groups, in order. */
  get rowGroupSizes(): number[] {
    return [...this.file.rowGroupRows];
  }

  /**
   * Reads `columns` for rows `[rowStart, rowEnd)`; returns one array per column. Plain byte
   * arrays come back as `Uint8Array`, STRING columns as strings (null when absent), INT64 as
   * bigint.
   */
  async read(columns: readonly string[], rowStart: number, rowEnd: number): Promise<unknown[][]> {
    const positions = columns.map((c) => {
      const p = this.file.columnPosition(c);
      if (p === undefined) throw new ShardFormatError(this.key, `no column ${c}`);
      return p;
    });
    const end = Math.min(rowEnd, this.numRows);
    const out = positions.map(() => new Array<unknown>(Math.max(0, end - rowStart)).fill(null));
    try {
      let rgStart = 0;
      for (let rg = 0; rg < this.file.rowGroups; rg++) {
        const from = Math.max(rowStart, rgStart) - rgStart;
        const to = Math.min(end, rgStart + this.file.rowGroupRows[rg]) - rgStart;
        if (from < to) {
          for (let c = 0; c < positions.length; c++) {
            await this.#readRowGroup(positions[c], rg, from, to, out[c], rgStart - rowStart);
          }
        }
        rgStart += this.file.rowGroupRows[rg];
      }
    } catch (err) {
      throw new ShardFormatError(
        this.key,
        `reading ${columns.join(",")}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    return out;
  }

  /** Rows `[from, to)` of row group `rg` of column `col` into `out` at `row + shift`. */
  async #readRowGroup(
    col: number,
    rg: number,
    from: number,
    to: number,
    out: unknown[],
    shift: number,
  ): Promise<void> {
    const element = this.file.metadata.schema[col + 1];
    const isString = element.converted_type === "UTF8" || element.logical_type?.type === "STRING";
    let dict: PageValueArray | undefined;
    for (const span of await this.file.pages(rg, col)) {
      if (span.endRow <= from || span.firstRow >= to) continue;
      const page = await this.file.readPage(col, span);
      if (page.dictionaryEncoded) dict ??= await this.file.dictionaryValues(rg, col);
      let k = 0;
      for (let i = 0; i < page.rows; i++) {
        if (page.defined && !page.defined[i]) continue;
        let v = pageValueAt(page.values, k++);
        const row = span.firstRow + i;
        if (row < from || row >= to) continue;
        if (page.dictionaryEncoded) v = pageValueAt(dict!, v as number);
        out[row + shift] = v instanceof Uint8Array && isString ? textDecoder.decode(v) : v;
      }
    }
  }

  /** The offset index of `column` in row group `rowGroup`. */
  offsetIndex(rowGroup: number, column: string): Promise<OffsetIndex> {
    return this.file.offsetIndex(rowGroup, this.#position(rowGroup, column));
  }

  /**
   * The column index of `column` in row group `rowGroup`, with min/max as the raw plain-encoded
   * bound bytes (gateway readers compare them byte-wise; skipped bounds are empty).
   */
  async columnIndex(rowGroup: number, column: string): Promise<ColumnIndex> {
    const ci = await this.file.columnIndex(rowGroup, this.#position(rowGroup, column));
    if (ci === undefined) {
      throw new ShardFormatError(
        this.key,
        `no column index for ${column} in row group ${rowGroup}`,
      );
    }
    return ci;
  }

  #position(rowGroup: number, column: string): number {
    const pos = this.file.columnPosition(column);
    if (pos === undefined || rowGroup >= this.file.rowGroups) {
      throw new ShardFormatError(this.key, `no column ${column} in row group ${rowGroup}`);
    }
    return pos;
  }
}

const textDecoder = new TextDecoder();

/** One shard of a day: its labels and chunks files, validated to align row for row. */
export class ShardReader {
  private constructor(
    /** The day's metadata. */
    readonly meta: BlockMeta,
    /** The labels file. */
    readonly labels: ParquetObject,
    /** The chunks file. */
    readonly chunks: ParquetObject,
  ) {}

  /** Opens shard `shard` of day `date` of stream `hash`, checking both files' layout. */
  static async open(
    bucket: Bucket,
    hash: bigint,
    date: string,
    shard: number,
    meta: BlockMeta,
  ): Promise<ShardReader> {
    const [labels, chunks] = await Promise.all([
      ParquetObject.open(bucket, labelsFileKey(hash, date, shard)),
      ParquetObject.open(bucket, chunksFileKey(hash, date, shard)),
    ]);
    const a = labels.rowGroupSizes.join(","), b = chunks.rowGroupSizes.join(",");
    if (a !== b) {
      throw new ShardFormatError(labels.key, `row groups [${a}] differ from ${chunks.key} [${b}]`);
    }
    for (const c of CHUNK_COLUMNS) {
      if (chunks.columnPosition(c) === undefined) {
        throw new ShardFormatError(chunks.key, `no column ${c}`);
      }
    }
    if (meta.version >= V2 && chunks.columnPosition(LABEL_HASH_COLUMN) === undefined) {
      throw new ShardFormatError(
        chunks.key,
        `version ${meta.version} file lacks ${LABEL_HASH_COLUMN}`,
      );
    }
    if (meta.version > V0 && labels.columnPosition(LABEL_INDEX_COLUMN) !== 0) {
      throw new ShardFormatError(
        labels.key,
        `version ${meta.version} file lacks ${LABEL_INDEX_COLUMN}`,
      );
    }
    return new ShardReader(meta, labels, chunks);
  }

  /** Rows in the shard. */
  get numRows(): number {
    return this.labels.numRows;
  }

  /** Label names that have a column in this shard, in column order. */
  get labelNames(): string[] {
    return this.labels.columnNames.map(labelNameOf).filter((n): n is string => n !== undefined);
  }

  /** The label sets of rows `[rowStart, rowEnd)`. */
  async readLabels(rowStart: number, rowEnd: number): Promise<Labels[]> {
    const names = this.labels.columnNames;
    const wanted = new Set<number>();
    let perRow: (readonly number[])[];
    if (this.meta.version === V0) {
      perRow = await this.#v0Columns(rowStart, rowEnd, wanted);
    } else {
      const [index] = await this.labels.read([LABEL_INDEX_COLUMN], rowStart, rowEnd);
      const cache = new Map<string, number[]>();
      perRow = index.map((v, i) => {
        const bytes = v as Uint8Array;
        const key = bytes.join(","); // no spread: an index can hold thousands of positions
        let positions = cache.get(key);
        if (!positions) {
          positions = decodeLabelIndex(bytes, `${this.labels.key} row ${rowStart + i}`);
          for (const p of positions) {
            if (p < 1 || p >= names.length) {
              throw new ShardFormatError(this.labels.key, `row ${rowStart + i}: no column ${p}`);
            }
            wanted.add(p);
          }
          cache.set(key, positions);
        }
        return positions;
      });
    }
    const cols = [...wanted].sort((x, y) => x - y);
    const values = await this.labels.read(cols.map((p) => names[p]), rowStart, rowEnd);
    const byPos = new Map(cols.map((p, i) => [p, values[i]] as const));
    return perRow.map((positions, r) => {
      const out: Label[] = [];
      for (const p of positions) {
        const v = byPos.get(p)![r];
        if (typeof v === "string" && v !== "") out.push({ name: labelNameOf(names[p])!, value: v });
      }
      return out;
    });
  }

  // V0: read __name__, then the columns meta.pb lists for each name found.
  async #v0Columns(rowStart: number, rowEnd: number, wanted: Set<number>): Promise<number[][]> {
    const nameCol = this.labels.columnPosition(labelColumn(METRIC_NAME));
    if (nameCol === undefined) {
      throw new ShardFormatError(this.labels.key, `version 0 file lacks the ${METRIC_NAME} column`);
    }
    const [metricNames] = await this.labels.read([labelColumn(METRIC_NAME)], rowStart, rowEnd);
    const cache = new Map<string, number[]>();
    return metricNames.map((n) => {
      const name = typeof n === "string" ? n : "";
      let positions = cache.get(name);
      if (!positions) {
        const cols = this.meta.columnsForName.get(name) ?? [];
        const set = new Set([nameCol]);
        for (const c of cols) {
          const p = this.labels.columnPosition(c);
          if (p !== undefined) set.add(p);
        }
        positions = [...set].sort((x, y) => x - y);
        for (const p of positions) wanted.add(p);
        cache.set(name, positions);
      }
      return positions;
    });
  }

  /** The series hashes (`___cf_meta_hash`, V2) of rows `[rowStart, rowEnd)`. */
  async readHashes(rowStart: number, rowEnd: number): Promise<bigint[]> {
    if (this.meta.version < V2) {
      throw new ShardFormatError(
        this.chunks.key,
        `version ${this.meta.version} has no series hash`,
      );
    }
    const [h] = await this.chunks.read([LABEL_HASH_COLUMN], rowStart, rowEnd);
    return h as bigint[];
  }

  /**
   * The chunks of rows `[rowStart, rowEnd)` from chunk columns `columns` (default all three),
   * per row in column order.
   */
  async readChunks(
    rowStart: number,
    rowEnd: number,
    columns: readonly number[] = [0, 1, 2],
  ): Promise<RawChunk[][]> {
    const names = columns.map((c) => {
      const n = CHUNK_COLUMNS[c];
      if (n === undefined) throw new RangeError(`chunk column ${c} does not exist`);
      return n;
    });
    const values = await this.chunks.read(names, rowStart, rowEnd);
    const out: RawChunk[][] = [];
    for (let r = 0; r < rowEnd - rowStart && r < (values[0]?.length ?? 0); r++) {
      const row: RawChunk[] = [];
      for (let c = 0; c < names.length; c++) {
        const v = values[c][r];
        if (v instanceof Uint8Array && v.length > 0) {
          row.push(...decodeChunkColumn(v, `${this.chunks.key} ${names[c]} row ${rowStart + r}`));
        }
      }
      out.push(row);
    }
    return out;
  }
}

/** An opened day: its metadata and shards. */
export interface OpenedBlock {
  /** The `meta.pb` content. */
  readonly meta: BlockMeta;
  /** The shards, by index. */
  readonly shards: readonly ShardReader[];
}

/** Opens day `date` of stream `hash`: reads `meta.pb`, then opens every shard. */
export async function openBlock(bucket: Bucket, hash: bigint, date: string): Promise<OpenedBlock> {
  const key = metaFileKey(hash, date);
  const meta = decodeBlockMeta(await bucket.get(key), key);
  const shards = await Promise.all(
    Array.from({ length: meta.shards }, (_, i) => ShardReader.open(bucket, hash, date, i, meta)),
  );
  return { meta, shards };
}

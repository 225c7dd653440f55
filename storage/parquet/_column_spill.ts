/**
 * A column chunk of a chunks file whose pages are encoded as its rows arrive and spilled to a
 * temporary file, then copied into the file's upload once its row group is complete. A row group
 * of a million series holds gigabytes of chunks; this way the writer holds one page per column.
 *
 * @module
 */
import type { ColumnChunk, CompressionCodec, Encoding, ParquetType } from "hyparquet";
import { FileSink } from "../../internal/file_sink.ts";
import type { PageLocations } from "./_offset_index.ts";
import type { PageBuilder } from "./_data_page.ts";
import type { StreamingWriter } from "./upload_stream.ts";

/** What the column chunk's metadata says about every row group. */
export interface SpilledColumnMeta {
  readonly type: ParquetType;
  readonly encoding: Encoding;
  readonly codec: CompressionCodec;
  readonly path: string;
}

/** A written column chunk: its metadata and its pages' locations in the file. */
export interface CopiedColumnChunk {
  readonly chunk: ColumnChunk;
  readonly locations: PageLocations;
}

const COPY_PIECE = 1 << 20;

/** One column of a chunks file, spilled page by page to `file` during each row group. */
export class SpilledColumn<T> {
  readonly #file: string;
  readonly #builder: PageBuilder<T>;
  readonly #meta: SpilledColumnMeta;
  #sink: FileSink | undefined;
  #rows = 0;
  #uncompressed = 0;
  #pages = 0;
  #firstRow = new Float64Array(64);
  #offset = new Float64Array(64);
  #length = new Int32Array(64);

  /** Spills to `file` (created, then truncated for each row group). */
  constructor(file: string, builder: PageBuilder<T>, meta: SpilledColumnMeta) {
    this.#file = file;
    this.#builder = builder;
    this.#meta = meta;
  }

  /** Appends the next row's value. */
  async add(value: T): Promise<void> {
    if (this.#builder.wouldOverflow(value)) await this.#spillPage();
    this.#builder.add(value);
    this.#rows++;
  }

  async #spillPage(): Promise<void> {
    const firstRow = this.#rows - this.#builder.count;
    const page = this.#builder.encode();
    const sink = this.#sink ??= await this.#io(() => FileSink.create(this.#file));
    if (this.#pages === this.#offset.length) this.#grow();
    this.#firstRow[this.#pages] = firstRow;
    this.#offset[this.#pages] = sink.offset;
    this.#length[this.#pages] = page.header.length + page.data.length;
    this.#pages++;
    this.#uncompressed += page.uncompressedSize;
    await this.#io(async () => {
      await sink.write(page.header);
      await sink.write(page.data);
    });
  }

  /** Runs a file operation, naming the spill file in its error (a full or failing tempdir). */
  async #io<R>(op: () => Promise<R>): Promise<R> {
    try {
      return await op();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new Error(`spill file ${this.#file}: ${message}`, { cause: err });
    }
  }

  #grow(): void {
    const n = this.#offset.length * 2;
    const firstRow = new Float64Array(n), offset = new Float64Array(n), length = new Int32Array(n);
    firstRow.set(this.#firstRow);
    offset.set(this.#offset);
    length.set(this.#length);
    [this.#firstRow, this.#offset, this.#length] = [firstRow, offset, length];
  }

  /**
   * Writes the row group's pages into `out` as one column chunk, with back-pressure from the
   * upload, and starts the next row group.
   */
  async copyTo(out: StreamingWriter): Promise<CopiedColumnChunk> {
    if (this.#builder.count > 0) await this.#spillPage();
    const sink = this.#sink;
    if (!sink) throw new RangeError(`column ${this.#meta.path}: a row group without rows`);
    this.#sink = undefined;
    await this.#io(() => sink.close());
    const start = out.offset;
    const file = await this.#io(() => Deno.open(this.#file, { read: true }));
    let copied = 0;
    try {
      while (true) {
        const piece = new Uint8Array(COPY_PIECE);
        const n = await this.#io(() => file.read(piece));
        if (n === null) break;
        copied += n;
        await out.appendOwned(piece.subarray(0, n));
      }
    } finally {
      file.close();
    }
    if (copied !== sink.offset) {
      throw new Error(`spill file ${this.#file}: read ${copied} of ${sink.offset} bytes`);
    }
    const pages = this.#pages;
    const offset = this.#offset.slice(0, pages);
    for (let i = 0; i < pages; i++) offset[i] += start;
    const result: CopiedColumnChunk = {
      chunk: {
        file_offset: BigInt(start),
        meta_data: {
          type: this.#meta.type,
          encodings: [this.#meta.encoding],
          path_in_schema: [this.#meta.path],
          codec: this.#meta.codec,
          num_values: BigInt(this.#rows),
          total_uncompressed_size: BigInt(this.#uncompressed),
          total_compressed_size: BigInt(copied),
          data_page_offset: BigInt(start),
        },
      },
      locations: {
        firstRow: this.#firstRow.slice(0, pages),
        offset,
        length: this.#length.slice(0, pages),
      },
    };
    this.#rows = 0;
    this.#uncompressed = 0;
    this.#pages = 0;
    return result;
  }

  /** Closes the spill file, if open (the caller removes its directory). */
  async close(): Promise<void> {
    const sink = this.#sink;
    this.#sink = undefined;
    await sink?.close();
  }
}

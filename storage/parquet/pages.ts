/**
 * Page-level access to a Parquet file for the query path: the footer, the page index (column and
 * offset indexes) read once per file, dictionary pages, and single data pages decoded into
 * dictionary indexes or raw values with their definition levels. Unlike `reader.ts`, which reads
 * row ranges through hyparquet's row reader, callers here choose exactly which pages to fetch (to
 * prune with column-index bounds and to coalesce byte ranges of remote files).
 *
 * The bytes come from a {@linkcode ByteSource}: a ranged-read view of a bucket object or a local
 * file (or, later, a cache tier in front of either).
 *
 * @module
 */
import type { ColumnChunk, ColumnIndex, FileMetaData, OffsetIndex } from "hyparquet";
import { parquetMetadata, readColumnIndex } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { open as openFile } from "node:fs/promises";
import zlib from "node:zlib";
import type { Bucket } from "../objstore/bucket.ts";
import { WeightedLru } from "./_lru.ts";
import { offsetIndexOf, type PageLocations, readPageLocations } from "./_offset_index.ts";
import { BloomFilter, parseBloomHeader } from "./bloom.ts";
import { ByteArrays } from "./byte_arrays.ts";
import { Dictionary } from "./dictionary.ts";
import {
  decodeByteArrayDictionary,
  decodeDataPage,
  decodeDictionaryPage,
  type PageColumn,
  type PageHeader,
  PageType,
  type PageValueArray,
  readPageHeader,
} from "./page_decode.ts";

/** Random access to the bytes of one file. */
export interface ByteSource {
  /** Total size in bytes. */
  readonly size: number;
  /** Reads `length` bytes at `offset` (the range must lie inside the file). */
  read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array>;
  /** Releases the source. */
  close(): Promise<void>;
}

/** Counts of what a source fetched, for metrics and I/O tests. */
export interface FetchStats {
  /** Read calls. */
  requests: number;
  /** Bytes returned. */
  bytes: number;
}

/** A bucket object read with ranged GETs. */
export class BucketSource implements ByteSource {
  /** What this source fetched so far. */
  readonly stats: FetchStats = { requests: 0, bytes: 0 };

  /**
   * Reads `key` from `bucket`; nothing is fetched until the first read.
   *
   * @param bucket the bucket
   * @param key the object key
   * @param size the object's size (from `attributes`)
   * @param onRequest called as each ranged GET is sent (for a process-wide request counter)
   */
  constructor(
    readonly bucket: Bucket,
    readonly key: string,
    readonly size: number,
    readonly onRequest?: () => void,
  ) {}

  /** One ranged GET. */
  async read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    this.onRequest?.();
    const b = await this.bucket.getRange(this.key, offset, length, signal);
    this.stats.requests++;
    this.stats.bytes += b.length;
    if (b.length !== length) {
      throw new ParquetPageError(
        this.key,
        `short read at ${offset}: ${b.length} of ${length} bytes`,
      );
    }
    return b;
  }

  /** Nothing to release. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** A local file read with positional reads (safe to use concurrently). */
export class LocalFileSource implements ByteSource {
  private constructor(
    readonly path: string,
    readonly size: number,
    readonly handle: Awaited<ReturnType<typeof openFile>>,
  ) {}

  /** Opens `path` for reading. */
  static async open(path: string): Promise<LocalFileSource> {
    const handle = await openFile(path, "r");
    try {
      const { size } = await handle.stat();
      return new LocalFileSource(path, size, handle);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** One positional read. */
  async read(offset: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(out, done, length - done, offset + done);
      if (bytesRead === 0) {
        throw new ParquetPageError(
          this.path,
          `short read at ${offset}: ${done} of ${length} bytes`,
        );
      }
      done += bytesRead;
    }
    return out;
  }

  /** Closes the file. */
  close(): Promise<void> {
    return this.handle.close();
  }
}

/** A file is not valid Parquet, or a page does not decode. */
export class ParquetPageError extends Error {
  /** The error's name, for logs. */
  override readonly name = "ParquetPageError";
  /**
   * Creates the error for the file `source`.
   *
   * @param source the file (object key or local path)
   * @param detail what is wrong
   */
  constructor(readonly source: string, readonly detail: string, options?: ErrorOptions) {
    super(`${source}: ${detail}`, options);
  }
}

/** Where one data page lies and which rows (relative to its row group) it holds. */
export interface PageSpan {
  /** Page number within the column chunk. */
  readonly page: number;
  /** First row (row-group relative). */
  readonly firstRow: number;
  /** One past the last row. */
  readonly endRow: number;
  /** File offset of the page header. */
  readonly offset: number;
  /** Bytes of header plus compressed data. */
  readonly length: number;
}

/**
 * A decoded data page. For dictionary-encoded pages `values` holds dictionary indexes, otherwise
 * the raw values (`Uint8Array` for byte arrays, bigint for INT64). `defined[i]` tells whether row
 * `firstRow + i` is non-null (absent when the column is required or the page has no nulls);
 * `values` has one entry per non-null row.
 */
export interface DecodedPage {
  /** First row (row-group relative). */
  readonly firstRow: number;
  /** Rows in the page. */
  readonly rows: number;
  /** Whether `values` are dictionary indexes. */
  readonly dictionaryEncoded: boolean;
  /** Per-row non-null flags, when the page has nulls. */
  readonly defined?: Uint8Array;
  /** One value per non-null row. */
  readonly values: PageValueArray;
}

/**
 * What the dictionary cache holds: a column chunk's dictionary, or strings derived from a whole
 * column (see {@linkcode PageFile.columnStrings}).
 */
export type CachedStrings = Dictionary | readonly string[];

/**
 * A cache of decoded dictionaries shared by files (the filters of every query read them). Keys
 * are unique per opened file, row group and column.
 */
export interface DictionaryCache {
  /** The cached dictionary, if any. */
  get(key: string): CachedStrings | undefined;
  /** Stores a dictionary. */
  set(key: string, dictionary: CachedStrings): void;
}

/**
 * A least-recently-used {@linkcode DictionaryCache} bounded by the total number of dictionary
 * entries it holds (a dictionary larger than the bound is not cached).
 */
export class LruDictionaryCache implements DictionaryCache {
  readonly #lru: WeightedLru<CachedStrings>;

  /** Holds at most `maxEntries` dictionary values in total. */
  constructor(readonly maxEntries: number) {
    this.#lru = new WeightedLru(maxEntries);
  }

  /** Total values held. */
  get entries(): number {
    return this.#lru.weight;
  }

  /** Returns and refreshes a dictionary. */
  get(key: string): CachedStrings | undefined {
    return this.#lru.get(key);
  }

  /** Stores a dictionary, evicting the least recently used ones to make room. */
  set(key: string, dictionary: CachedStrings): void {
    this.#lru.set(
      key,
      dictionary,
      dictionary instanceof Dictionary ? dictionary.size : dictionary.length,
    );
  }
}

/**
 * A cache of decoded data pages shared by files, so that queries touching the same pages neither
 * fetch nor decompress them again. Keys are unique per opened file, column and page.
 */
export interface PageCache {
  /** About how many bytes of pages it holds at most. */
  readonly maxBytes: number;
  /** The cached page, if any. */
  get(key: string): DecodedPage | undefined;
  /** Stores a page that costs about `bytes` of memory. */
  set(key: string, page: DecodedPage, bytes: number): void;
  /** Drops every page whose key starts with `prefix` (the pages of a closed file). */
  deletePrefix(prefix: string): void;
}

/** Counters of a {@linkcode ByteBoundedCache}. */
export interface PageCacheStats {
  /** Lookups that found their entry. */
  hits: number;
  /** Lookups that did not. */
  misses: number;
  /** Entries dropped to make room. */
  evictions: number;
}

/**
 * A least-recently-used cache bounded by the estimated memory of its values (a value larger
 * than the bound is not kept), counting its hits, misses and evictions.
 */
export class ByteBoundedCache<V> {
  readonly #lru: WeightedLru<V>;

  /** Holds at most about `maxBytes`. */
  constructor(readonly maxBytes: number) {
    this.#lru = new WeightedLru(maxBytes);
  }

  /** Hits, misses and evictions so far. */
  get stats(): PageCacheStats {
    const lru = this.#lru;
    return { hits: lru.hits, misses: lru.misses, evictions: lru.evictions };
  }

  /** Estimated bytes held. */
  get bytes(): number {
    return this.#lru.weight;
  }

  /** Entries held. */
  get size(): number {
    return this.#lru.size;
  }

  /** Returns and refreshes an entry. */
  get(key: string): V | undefined {
    return this.#lru.get(key);
  }

  /** Stores an entry costing about `bytes`, evicting the least recently used to make room. */
  set(key: string, value: V, bytes: number): void {
    this.#lru.set(key, value, bytes);
  }

  /** Drops every entry whose key starts with `prefix` (those of a closed file). */
  deletePrefix(prefix: string): void {
    this.#lru.deletePrefix(prefix);
  }
}

/** A least-recently-used {@linkcode PageCache} bounded by the estimated memory of its pages. */
export class LruPageCache extends ByteBoundedCache<DecodedPage> implements PageCache {}

/**
 * Page locations (offset indexes) of column chunks, shared by files and bounded by their bytes:
 * a chunks file of a million-series day has over a million pages, about 25 MiB of locations, so
 * a process serving months of such days cannot keep them all. A file opened with this cache
 * keeps its locations there instead of for its whole life; evicted ones are read again from the
 * file when next needed. Keys are unique per opened file, row group and column.
 */
export class PageLocationCache extends ByteBoundedCache<PageLocations> {}

function locationBytes(l: PageLocations): number {
  return l.firstRow.byteLength + l.offset.byteLength + l.length.byteLength;
}

/**
 * About the memory a decoded page holds: typed-array values (dictionary indexes, numbers) own
 * their bytes and nothing else; byte-array values hold their offsets and keep the decompressed
 * body alive. Both plus, for a page with nulls, a flag and a value index per row (the readers
 * build the index on first use).
 */
function decodedPageBytes(page: DecodedPage, decompressed: number): number {
  const flags = 5 * (page.defined?.length ?? 0);
  // The label filter keeps postings beside a page of dictionary indexes (as many bytes again).
  if (page.values instanceof ByteArrays) return decompressed + 8 * page.values.length + flags;
  return page.values.byteLength * (page.dictionaryEncoded ? 2 : 1) + flags;
}

/**
 * Calls `emit` with each page (ascending, once) holding a row of `rows` (flat `[from, to)` pairs,
 * ascending and disjoint), given where each page starts (`firstRow`, ascending) and the row group's
 * row count.
 */
function pagesHoldingRows(
  firstRow: ArrayLike<number>,
  rowGroupRows: number,
  rows: readonly number[],
  emit: (page: number) => void,
): void {
  const n = firstRow.length;
  let next = 0; // pages before it were emitted or hold no wanted row
  for (let k = 0; k + 1 < rows.length && next < n; k += 2) {
    const from = rows[k], to = rows[k + 1];
    if (from >= to) continue;
    // The last page starting at or before `from` holds it (pages start in row order).
    let lo = next, hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (firstRow[mid] <= from) lo = mid + 1;
      else hi = mid;
    }
    // A page before `next` holding `from` was emitted already.
    let p = Math.max(next, lo - 1);
    // Past the last row, the last page holds nothing of the range.
    if (p < n && (p + 1 < n ? firstRow[p + 1] : rowGroupRows) <= from) p++;
    for (; p < n && firstRow[p] < to; p++) emit(p);
    next = p;
  }
}

let nextFileId = 0;

/** Bytes fetched from the end of a file to find the footer in one read (most footers fit). */
const FOOTER_PROBE = 64 * 1024;
const MAGIC = 0x31524150; // "PAR1" little-endian

/**
 * Page decompressors: hyparquet-compressors' set with ZSTD (what gateway files use) replaced by
 * the runtime's native zstd, several times faster than the pure-JS decoder on the query path.
 */
const decompressors = {
  ...compressors,
  ZSTD: (input: Uint8Array, outputLength: number): Uint8Array => {
    const out = zlib.zstdDecompressSync(input, { maxOutputLength: Math.max(outputLength, 1) });
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  },
};

/** The "decompressor" of uncompressed pages. */
const UNCOMPRESSED = (body: Uint8Array): Uint8Array => body;

/**
 * Rejects footers that parse but cannot describe this file (a damaged footer can decode as
 * thrift without error): a flat schema, row counts that add up, and column chunks inside the file.
 */
function checkMetadata(name: string, md: FileMetaData, size: number): void {
  const fail = (detail: string): never => {
    throw new ParquetPageError(name, `invalid footer: ${detail}`);
  };
  const root = md.schema?.[0];
  const ncols = (md.schema?.length ?? 0) - 1;
  if (!root || ncols < 1 || root.num_children !== ncols) fail("schema is not a flat column list");
  if (!Array.isArray(md.row_groups)) fail("no row groups");
  let rows = 0;
  for (const [i, rg] of md.row_groups.entries()) {
    const n = Number(rg.num_rows);
    if (!Number.isSafeInteger(n) || n < 0) fail(`row group ${i} has ${rg.num_rows} rows`);
    rows += n;
    if (rg.columns?.length !== ncols) fail(`row group ${i} has ${rg.columns?.length} columns`);
    for (const c of rg.columns) {
      const m = c.meta_data;
      if (!m) fail(`row group ${i} has a column without metadata`);
      const start = Number(m!.dictionary_page_offset ?? m!.data_page_offset);
      if (!(start >= 4 && start + Number(m!.total_compressed_size) <= size)) {
        fail(`row group ${i} column ${m!.path_in_schema?.join(".")} lies outside the file`);
      }
    }
  }
  if (rows !== Number(md.num_rows)) {
    fail(`row groups hold ${rows} rows, footer says ${md.num_rows}`);
  }
}

/** A Parquet file opened for page-level reads. */
export class PageFile {
  readonly #columns: Map<string, number>;
  readonly #rowGroupRows: number[];
  readonly #decoders = new Map<number, PageColumn>();
  readonly #locations = new Map<string, PageLocations>();
  readonly #columnIndexes = new Map<string, ColumnIndex>();
  readonly #blooms = new Map<string, Promise<BloomFilter | undefined>>();
  readonly #scannedPages = new Map<string, Promise<PageSpan[]>>();
  readonly #id = nextFileId++;
  #dictionaries: DictionaryCache | undefined;
  #pages: PageCache | undefined;
  #locationCache: PageLocationCache | undefined;
  /** Offset indexes being read, so that concurrent readers share one read. */
  readonly #pendingLocations = new Map<string, Promise<PageLocations>>();
  /** Pages being fetched and decoded, so that concurrent readers share one fetch. */
  readonly #pending = new Map<string, Promise<DecodedPage>>();

  private constructor(
    /** Names the file in errors (object key or path). */
    readonly name: string,
    /** Where the bytes come from. */
    readonly source: ByteSource,
    /** The parsed footer. */
    readonly metadata: FileMetaData,
  ) {
    this.#columns = new Map(metadata.schema.slice(1).map((e, i) => [e.name, i] as const));
    this.#rowGroupRows = metadata.row_groups.map((rg) => Number(rg.num_rows));
  }

  /**
   * Opens a file: one read of its tail (a second one if the footer is larger), checking both
   * magic numbers. With `pageIndexColumns`, also reads the page index of those columns in every
   * row group (one read covering their page-index region): for `"all"` columns their offset and
   * column indexes (page bounds, for filters), for a list of columns only their offset indexes
   * (where their pages are; e.g. chunk columns, whose bounds no filter uses). Decoded
   * dictionaries go to `dictionaryCache`, decoded data pages to `pageCache` and the offset
   * indexes to `locationCache` when given (otherwise the file keeps them).
   */
  static async open(
    name: string,
    source: ByteSource,
    pageIndexColumns?: readonly string[] | "all",
    signal?: AbortSignal,
    dictionaryCache?: DictionaryCache,
    pageCache?: PageCache,
    locationCache?: PageLocationCache,
  ): Promise<PageFile> {
    const size = source.size;
    if (size < 12) throw new ParquetPageError(name, `file of ${size} bytes is too short`);
    const head = await source.read(0, 4, signal);
    if (new DataView(head.buffer, head.byteOffset, 4).getUint32(0, true) !== MAGIC) {
      throw new ParquetPageError(name, "missing PAR1 magic at the start");
    }
    const probe = Math.min(size, FOOTER_PROBE);
    let tail = await source.read(size - probe, probe, signal);
    const tv = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
    if (tv.getUint32(probe - 4, true) !== MAGIC) {
      throw new ParquetPageError(name, "missing PAR1 magic at the end");
    }
    const footerLen = tv.getUint32(probe - 8, true);
    if (footerLen + 12 > size) {
      throw new ParquetPageError(name, `footer length ${footerLen} exceeds the file size ${size}`);
    }
    let tailStart = size - probe;
    if (footerLen + 8 > probe) {
      tail = await source.read(size - footerLen - 8, footerLen + 8, signal);
      tailStart = size - footerLen - 8;
    }
    let metadata: FileMetaData;
    try {
      const buf = tail.slice(tail.length - footerLen - 8);
      metadata = parquetMetadata(buf.buffer);
    } catch (err) {
      throw new ParquetPageError(name, `invalid footer: ${(err as Error).message}`, { cause: err });
    }
    checkMetadata(name, metadata, size);
    const file = new PageFile(name, source, metadata);
    file.#dictionaries = dictionaryCache;
    file.#pages = pageCache;
    file.#locationCache = locationCache;
    if (pageIndexColumns) {
      const all = pageIndexColumns === "all";
      const cols = all ? file.columnNames : pageIndexColumns;
      await file.#loadPageIndexes(cols, all, tail, tailStart, signal);
    }
    return file;
  }

  /** Column names in file order. */
  get columnNames(): string[] {
    return [...this.#columns.keys()];
  }

  /** Position of column `name`, or `undefined` when the file has no such column. */
  columnPosition(name: string): number | undefined {
    return this.#columns.get(name);
  }

  /** Number of row groups. */
  get rowGroups(): number {
    return this.#rowGroupRows.length;
  }

  /** Rows of each row group. */
  get rowGroupRows(): readonly number[] {
    return this.#rowGroupRows;
  }

  /** Total rows. */
  get numRows(): number {
    return Number(this.metadata.num_rows);
  }

  /** The column chunk of `column` in row group `rg`. */
  chunk(rg: number, column: number): ColumnChunk {
    const c = this.metadata.row_groups[rg]?.columns[column];
    if (!c?.meta_data) {
      throw new ParquetPageError(this.name, `no column ${column} in row group ${rg}`);
    }
    return c;
  }

  async #loadPageIndexes(
    columns: readonly string[],
    withColumnIndexes: boolean,
    tail: Uint8Array,
    tailStart: number,
    signal?: AbortSignal,
  ): Promise<void> {
    const wanted = columns.map((c) => this.#columns.get(c)).filter((c) => c !== undefined);
    let lo = Infinity, hi = 0;
    for (let rg = 0; rg < this.rowGroups; rg++) {
      for (const c of wanted) {
        const ch = this.chunk(rg, c);
        for (
          const [off, len] of [
            withColumnIndexes ? [ch.column_index_offset, ch.column_index_length] : [],
            [ch.offset_index_offset, ch.offset_index_length],
          ]
        ) {
          if (off === undefined || len === undefined) continue;
          lo = Math.min(lo, Number(off));
          hi = Math.max(hi, Number(off) + Number(len));
        }
      }
    }
    if (lo >= hi) return;
    const region = lo >= tailStart
      ? tail.subarray(lo - tailStart, hi - tailStart)
      : await this.source
        .read(lo, hi - lo, signal);
    const view = new DataView(region.buffer, region.byteOffset, region.byteLength);
    for (let rg = 0; rg < this.rowGroups; rg++) {
      for (const c of wanted) {
        const ch = this.chunk(rg, c);
        const key = `${rg}/${c}`;
        try {
          if (ch.offset_index_offset !== undefined) {
            this.#keepLocations(
              key,
              readPageLocations(region, Number(ch.offset_index_offset) - lo),
            );
          }
          if (withColumnIndexes && ch.column_index_offset !== undefined) {
            this.#columnIndexes.set(
              key,
              this.#parseColumnIndex(view, Number(ch.column_index_offset) - lo, c),
            );
          }
        } catch (err) {
          throw new ParquetPageError(
            this.name,
            `invalid page index of column ${c} in row group ${rg}: ${(err as Error).message}`,
            { cause: err },
          );
        }
      }
    }
  }

  #parseColumnIndex(view: DataView, offset: number, column: number): ColumnIndex {
    // Declared as an unannotated byte array so that the bounds come back as their raw bytes.
    return readColumnIndex(
      { view, offset },
      { name: this.metadata.schema[column + 1].name, type: "BYTE_ARRAY" },
      { stringFromBytes: (b: Uint8Array) => b } as never,
    );
  }

  /** The offset index of `column` in row group `rg` (read on first use if not preloaded). */
  async offsetIndex(rg: number, column: number, signal?: AbortSignal): Promise<OffsetIndex> {
    return offsetIndexOf(await this.#pageLocations(rg, column, signal));
  }

  #keepLocations(key: string, locations: PageLocations): void {
    const cache = this.#locationCache;
    if (cache) cache.set(`${this.#id}/${key}`, locations, locationBytes(locations));
    else this.#locations.set(key, locations);
  }

  /** The page locations of `column` in row group `rg`, from its offset index. */
  #pageLocations(rg: number, column: number, signal?: AbortSignal): Promise<PageLocations> {
    const key = `${rg}/${column}`;
    const cached = this.#locationCache
      ? this.#locationCache.get(`${this.#id}/${key}`)
      : this.#locations.get(key);
    if (cached) return Promise.resolve(cached);
    const pending = this.#pendingLocations.get(key);
    // A read this call waits for may fail with its caller's cancellation: then read again.
    if (pending) return pending.catch(() => this.#readLocations(rg, column, signal));
    const read = this.#readLocations(rg, column, signal);
    this.#pendingLocations.set(key, read);
    const forget = () => this.#pendingLocations.delete(key);
    read.then(forget, forget);
    return read;
  }

  async #readLocations(rg: number, column: number, signal?: AbortSignal): Promise<PageLocations> {
    const ch = this.chunk(rg, column);
    if (ch.offset_index_offset === undefined || ch.offset_index_length === undefined) {
      throw new ParquetPageError(
        this.name,
        `no offset index for column ${column} in row group ${rg}`,
      );
    }
    const b = await this.source.read(
      Number(ch.offset_index_offset),
      ch.offset_index_length,
      signal,
    );
    let locs: PageLocations;
    try {
      locs = readPageLocations(b);
    } catch (err) {
      throw new ParquetPageError(
        this.name,
        `invalid offset index of column ${column} in row group ${rg}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    this.#keepLocations(`${rg}/${column}`, locs);
    return locs;
  }

  /**
   * The column index of `column` in row group `rg` with raw byte bounds, or `undefined` when
   * the file has none for it.
   */
  async columnIndex(
    rg: number,
    column: number,
    signal?: AbortSignal,
  ): Promise<ColumnIndex | undefined> {
    const key = `${rg}/${column}`;
    const cached = this.#columnIndexes.get(key);
    if (cached) return cached;
    const ch = this.chunk(rg, column);
    if (ch.column_index_offset === undefined || ch.column_index_length === undefined) {
      return undefined;
    }
    const b = await this.source.read(
      Number(ch.column_index_offset),
      ch.column_index_length,
      signal,
    );
    const ci = this.#parseColumnIndex(
      new DataView(b.buffer, b.byteOffset, b.byteLength),
      0,
      column,
    );
    this.#columnIndexes.set(key, ci);
    return ci;
  }

  /**
   * The bloom filter of `column` in row group `rg`, or `undefined` when the file has none
   * there (read once, then kept).
   */
  bloomFilter(rg: number, column: number, signal?: AbortSignal): Promise<BloomFilter | undefined> {
    const key = `${rg}/${column}`;
    let f = this.#blooms.get(key);
    if (f === undefined) {
      f = this.#readBloomFilter(rg, column, signal);
      this.#blooms.set(key, f);
      // A failed read (e.g. an aborted query) is tried again by the next caller.
      f.catch(() => this.#blooms.delete(key));
    }
    return f;
  }

  async #readBloomFilter(
    rg: number,
    column: number,
    signal?: AbortSignal,
  ): Promise<BloomFilter | undefined> {
    const meta = this.chunk(rg, column).meta_data!;
    if (meta.bloom_filter_offset === undefined) return undefined;
    const offset = Number(meta.bloom_filter_offset);
    try {
      let length = meta.bloom_filter_length;
      if (length === undefined) {
        // Without a recorded length, the header (at most a few bytes) tells the bitset's.
        const head = await this.source.read(
          offset,
          Math.min(64, this.source.size - offset),
          signal,
        );
        const { headerLength, numBytes } = parseBloomHeader(head);
        length = headerLength + numBytes;
      }
      if (offset + length > this.source.size) throw new Error("it lies outside the file");
      return BloomFilter.parse(await this.source.read(offset, length, signal));
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new ParquetPageError(
        this.name,
        `bloom filter of column ${column} in row group ${rg}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  /**
   * The data pages of `column` in row group `rg`, from its offset index (or, when the file has
   * none for it, from the page headers). Made for each call: prefer
   * {@linkcode pagesOverlapping} for columns of many pages.
   */
  async pages(rg: number, column: number, signal?: AbortSignal): Promise<readonly PageSpan[]> {
    const ch = this.chunk(rg, column);
    if (ch.offset_index_offset === undefined) return await this.#scanPages(rg, column, signal);
    const locs = await this.#pageLocations(rg, column, signal);
    return Array.from(locs.firstRow, (_, i) => this.#spanOf(rg, locs, i));
  }

  /**
   * The data pages of `column` in row group `rg` holding any of `rows`: flat `[from, to)` pairs,
   * ascending and disjoint. Each range is found by binary search: with small pages a column chunk
   * has thousands, and a batch of a selective query touches few of them however far apart.
   */
  async pagesOverlapping(
    rg: number,
    column: number,
    rows: readonly number[],
    signal?: AbortSignal,
  ): Promise<readonly PageSpan[]> {
    const ch = this.chunk(rg, column);
    if (ch.offset_index_offset === undefined) {
      const spans = await this.#scanPages(rg, column, signal);
      const out: PageSpan[] = [];
      pagesHoldingRows(spans.map((s) => s.firstRow), this.#rowGroupRows[rg], rows, (i) => {
        out.push(spans[i]);
      });
      return out;
    }
    const locs = await this.#pageLocations(rg, column, signal);
    const out: PageSpan[] = [];
    pagesHoldingRows(locs.firstRow, this.#rowGroupRows[rg], rows, (i) => {
      out.push(this.#spanOf(rg, locs, i));
    });
    return out;
  }

  /** Page span `i` of a column chunk. */
  #spanOf(rg: number, locs: PageLocations, i: number): PageSpan {
    const n = locs.firstRow.length;
    return {
      page: i,
      firstRow: locs.firstRow[i],
      endRow: i + 1 < n ? locs.firstRow[i + 1] : this.#rowGroupRows[rg],
      offset: locs.offset[i],
      length: locs.length[i],
    };
  }

  /**
   * The data pages of a column chunk without an offset index (writers may leave it out, e.g.
   * for a chunk of one page): found by reading the chunk and walking its page headers, once.
   */
  #scanPages(rg: number, column: number, signal?: AbortSignal): Promise<PageSpan[]> {
    const key = `${rg}/${column}`;
    let spans = this.#scannedPages.get(key);
    if (spans === undefined) {
      spans = this.#walkPages(rg, column, signal);
      this.#scannedPages.set(key, spans);
      spans.catch(() => this.#scannedPages.delete(key));
    }
    return spans;
  }

  async #walkPages(rg: number, column: number, signal?: AbortSignal): Promise<PageSpan[]> {
    const meta = this.chunk(rg, column).meta_data!;
    const start = Number(meta.dictionary_page_offset ?? meta.data_page_offset);
    const bytes = await this.source.read(start, Number(meta.total_compressed_size), signal);
    const spans: PageSpan[] = [];
    let pos = 0, row = 0;
    try {
      while (pos < bytes.length) {
        const h = readPageHeader(bytes.subarray(pos));
        const length = h.headerLength + h.compressedSize;
        if (h.type === PageType.DATA_PAGE || h.type === PageType.DATA_PAGE_V2) {
          // Flat columns: one value per row.
          const page = { page: spans.length, firstRow: row, endRow: row + h.numValues };
          spans.push({ ...page, offset: start + pos, length });
          row += h.numValues;
        }
        pos += length;
      }
    } catch (err) {
      throw new ParquetPageError(
        this.name,
        `pages of column ${column} in row group ${rg}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    if (row !== this.#rowGroupRows[rg]) {
      throw new ParquetPageError(
        this.name,
        `pages of column ${column} in row group ${rg} hold ${row} rows, not ${
          this.#rowGroupRows[rg]
        }`,
      );
    }
    return spans;
  }

  #decoder(column: number): PageColumn {
    let d = this.#decoders.get(column);
    if (!d) {
      const element = this.metadata.schema[column + 1];
      const codec = this.chunk(0, column).meta_data!.codec;
      const decompress = codec === "UNCOMPRESSED" ? undefined : decompressors[codec];
      if (codec !== "UNCOMPRESSED" && decompress === undefined) {
        throw new ParquetPageError(this.name, `unsupported compression ${codec}`);
      }
      d = {
        type: element.type ?? "",
        optional: element.repetition_type === "OPTIONAL",
        decompress: decompress ?? UNCOMPRESSED,
      };
      this.#decoders.set(column, d);
    }
    return d;
  }

  /**
   * The dictionary of byte-array `column` in row group `rg` (entries decoded as UTF-8 on use),
   * or `undefined` when the column chunk has no dictionary page.
   */
  async dictionary(
    rg: number,
    column: number,
    signal?: AbortSignal,
  ): Promise<Dictionary | undefined> {
    const meta = this.chunk(rg, column).meta_data!;
    if (meta.dictionary_page_offset === undefined) return undefined;
    const key = `${this.#id}/${rg}/${column}`;
    const cached = this.#dictionaries?.get(key);
    if (cached instanceof Dictionary) return cached;
    const dict = await this.#readDictionaryPage(
      rg,
      column,
      signal,
      (header, body) => decodeByteArrayDictionary(header, body, this.#decoder(column)),
    );
    this.#dictionaries?.set(key, dict);
    return dict;
  }

  /**
   * Strings derived from the whole of `column` (such as its distinct values), computed by
   * `compute` once and then kept in the dictionary cache beside the dictionaries: label calls
   * without matchers ask for them again and again, and a file never changes.
   */
  async columnStrings(
    column: number,
    compute: () => Promise<readonly string[]>,
  ): Promise<readonly string[]> {
    const key = `${this.#id}/all/${column}`;
    const cached = this.#dictionaries?.get(key);
    if (cached && !(cached instanceof Dictionary)) return cached;
    const strings = await compute();
    this.#dictionaries?.set(key, strings);
    return strings;
  }

  /**
   * The dictionary of `column` in row group `rg` as stored (byte arrays as `Uint8Array`), or
   * `undefined` when the column chunk has no dictionary page. Not cached.
   */
  async dictionaryValues(
    rg: number,
    column: number,
    signal?: AbortSignal,
  ): Promise<PageValueArray | undefined> {
    if (this.chunk(rg, column).meta_data!.dictionary_page_offset === undefined) return undefined;
    return await this.#readDictionaryPage(
      rg,
      column,
      signal,
      (header, body) => decodeDictionaryPage(header, body, this.#decoder(column)),
    );
  }

  /** Reads the dictionary page of a column chunk that has one and decodes it with `decode`. */
  async #readDictionaryPage<T>(
    rg: number,
    column: number,
    signal: AbortSignal | undefined,
    decode: (header: PageHeader, body: Uint8Array) => T,
  ): Promise<T> {
    const meta = this.chunk(rg, column).meta_data!;
    const start = Number(meta.dictionary_page_offset);
    const end = Number(meta.data_page_offset);
    if (end <= start) {
      throw new ParquetPageError(this.name, `bad dictionary page offsets in row group ${rg}`);
    }
    const bytes = await this.source.read(start, end - start, signal);
    try {
      const header = readPageHeader(bytes);
      const body = bytes.subarray(header.headerLength, header.headerLength + header.compressedSize);
      if (body.length !== header.compressedSize) throw new Error("truncated dictionary page");
      return decode(header, body);
    } catch (err) {
      throw new ParquetPageError(
        this.name,
        `dictionary of column ${column} in row group ${rg}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  /** The decoded data page `span` of `column` if the page cache holds it. */
  cachedPage(column: number, span: PageSpan): DecodedPage | undefined {
    return this.#pages?.get(this.#pageKey(column, span));
  }

  /** Drops this file's pages and page locations from the caches (once it is no longer read). */
  dropCachedPages(): void {
    this.#pages?.deletePrefix(`${this.#id}/`);
    this.#locationCache?.deletePrefix(`${this.#id}/`);
  }

  #pageKey(column: number, span: PageSpan): string {
    return `${this.#id}/${column}/${span.offset}`;
  }

  /**
   * The decoded pages `spans` of `column`, in order: from the page cache, from a load of the
   * same page already under way (with a page cache, concurrent queries share one fetch), and
   * the rest through `load`, which must return the decoded pages of the spans it is given (in
   * their order, e.g. with {@linkcode decodePage}). If a load this call waits for fails (say its
   * query was cancelled), the page is read again for this caller, through `load`.
   */
  async loadPages(
    column: number,
    spans: readonly PageSpan[],
    load: (missing: readonly PageSpan[]) => Promise<DecodedPage[]>,
  ): Promise<DecodedPage[]> {
    const out: DecodedPage[] = new Array(spans.length);
    const waits: Promise<void>[] = [];
    const missing: PageSpan[] = [], missingAt: number[] = [];
    for (let i = 0; i < spans.length; i++) {
      const key = this.#pageKey(column, spans[i]);
      const cached = this.#pages?.get(key);
      if (cached) {
        out[i] = cached;
        continue;
      }
      const pending = this.#pending.get(key);
      if (pending) {
        waits.push(pending.then(
          (p) => void (out[i] = p),
          async () => void (out[i] = (await load([spans[i]]))[0]),
        ));
        continue;
      }
      missing.push(spans[i]);
      missingAt.push(i);
    }
    if (missing.length > 0) {
      const loading = load(missing);
      const keys = this.#pages ? missing.map((s) => this.#pageKey(column, s)) : [];
      keys.forEach((key, j) => {
        const one = loading.then((pages) => pages[j]);
        // Waiters handle a failure themselves; this copy must not count as unhandled.
        one.catch(() => {});
        this.#pending.set(key, one);
      });
      try {
        const pages = await loading;
        for (let j = 0; j < missing.length; j++) out[missingAt[j]] = pages[j];
      } finally {
        for (const key of keys) this.#pending.delete(key);
      }
    }
    await Promise.all(waits);
    return out;
  }

  /** Bytes of pages the file's page cache holds at most (0 without one). */
  get pageCacheBytes(): number {
    return this.#pages?.maxBytes ?? 0;
  }

  /**
   * Decodes the data page `span` of `column` from `bytes` (exactly the span's bytes) and, unless
   * `cache` is false, keeps it in the page cache.
   */
  decodePage(column: number, span: PageSpan, bytes: Uint8Array, cache = true): DecodedPage {
    cache &&= this.#pages !== undefined;
    // The values of an uncompressed page are views of `bytes`: a page to cache gets a copy of
    // its own, so that it does not keep a whole coalesced read alive.
    if (
      cache && this.#decoder(column).decompress === UNCOMPRESSED &&
      bytes.byteLength !== bytes.buffer.byteLength
    ) {
      bytes = bytes.slice();
    }
    const { page, bytes: decoded } = this.#decodePage(column, span, bytes);
    if (cache) {
      this.#pages?.set(
        `${this.#id}/${column}/${span.offset}`,
        page,
        decodedPageBytes(page, decoded),
      );
    }
    return page;
  }

  #decodePage(
    column: number,
    span: PageSpan,
    bytes: Uint8Array,
  ): { page: DecodedPage; bytes: number } {
    try {
      const header = readPageHeader(bytes);
      const body = bytes.subarray(header.headerLength, header.headerLength + header.compressedSize);
      if (body.length !== header.compressedSize) throw new Error("truncated page");
      const page = decodeDataPage(header, body, this.#decoder(column));
      const rows = span.endRow - span.firstRow;
      if (page.rows !== rows) {
        throw new Error(`page holds ${page.rows} values, offset index says ${rows} rows`);
      }
      return {
        page: {
          firstRow: span.firstRow,
          rows,
          dictionaryEncoded: page.dictionaryEncoded,
          defined: page.defined,
          values: page.values,
        },
        bytes: header.uncompressedSize,
      };
    } catch (err) {
      if (err instanceof ParquetPageError) throw err;
      throw new ParquetPageError(
        this.name,
        `page ${span.page} of column ${column}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  /**
   * Reads and decodes one data page (or takes it from the page cache); `onRead` is given the
   * bytes read when the page is read from the source.
   */
  async readPage(
    column: number,
    span: PageSpan,
    signal?: AbortSignal,
    onRead?: (bytes: number) => void,
  ): Promise<DecodedPage> {
    const [page] = await this.loadPages(column, [span], async ([s]) => {
      const bytes = await this.source.read(s.offset, s.length, signal);
      onRead?.(bytes.length);
      return [this.decodePage(column, s, bytes)];
    });
    return page;
  }
}

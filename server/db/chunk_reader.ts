/**
 * Chunk columns of selected rows from the (remote) chunks file, read a batch of rows at a time
 * for a lazy selection (gateway.md 4.5 step 6, chunk-column page reading).
 *
 * Pages overlapping a batch's rows are found with the offset index, charged to the chunk byte
 * quota (each page once per selection), grouped into ranges (see {@linkcode partitionPages}) and
 * fetched with at most `maxConcurrency` requests in flight per column (and the request's
 * {@linkcode ReadLimiter} over all of them). The page holding a
 * batch's last row of each column is kept for the next batch: rows of a shard usually come in
 * row order, so the next batch starts in it and no page is fetched twice. A kept page gets its
 * values copied out of the read it came from (the values of an uncompressed page are views of
 * it): a selection over many row groups keeps a page per row group and column until it ends.
 *
 * Decoded pages are also taken from the file's page cache when the syncer gave it one
 * (`SyncerOptions.pageCacheBytes`), and concurrent queries share the fetch of a page. The quota
 * is charged as if every page were read, so limits do not depend on what happens to be cached.
 *
 * A selection puts the pages it fetches into the cache only until their fetched bytes add up to a
 * quarter of the cache ({@linkcode SCAN_CACHE_SHARE}), as databases keep a sequential scan out of
 * their buffer pool: the pages of a scan larger than the cache would each be evicted before a
 * repeat of the scan reached them again, and on the way they would evict the pages of the
 * selective queries that do repeat (and turn into old-generation garbage V8 collects later).
 *
 * @module
 */
import { decodeChunkColumn, type RawChunk } from "../../storage/parquet/chunk_column.ts";
import { ByteArrays, byteArraysOf } from "../../storage/parquet/byte_arrays.ts";
import type { DecodedPage, PageFile, PageSpan } from "../../storage/parquet/pages.ts";
import { CHUNK_COLUMNS } from "../../storage/parquet/schema.ts";
import type { Quota } from "./limits.ts";
import { forSelectedRows } from "./read.ts";
import { pushRange, type RowRanges } from "./row_ranges.ts";
import { DEFAULT_MAX_QUERY_READS, type ReadLimiter } from "./read_limiter.ts";
import type { SearchRecorder } from "./search_metrics.ts";

/** How chunk pages are coalesced into ranged reads. */
export interface ChunkPartitionOptions {
  /** Largest range fetched with one request, bytes (`...max-range-bytes`, 64 MiB). */
  maxRangeBytes: number;
  /** Largest gap between pages merged into one range, bytes (`...max-gap-bytes`, 64 MiB). */
  maxGapBytes: number;
  /** Requests in flight per column and row group (`...max-concurrency`, 8; 0 = unlimited). */
  maxConcurrency: number;
  /**
   * Reads in flight per request, over all its selects: chunk ranges and label pages
   * (`--query.storage.select.max-concurrency`, default {@linkcode DEFAULT_MAX_QUERY_READS};
   * 0 = unlimited; not in the Go gateway).
   */
  maxQueryConcurrency?: number;
}

/**
 * Upstream's defaults, but for 8 requests in flight per column and row group (Go: 2). Go's 2 suit
 * its 2 MiB chunk pages, which coalesce into a few ranges; with this converter's 16 KiB pages a
 * selective query's rows lie in tens of small ranges per column, and 2 at a time made one host's
 * series take 12 sequential round trips to S3 instead of 3. The request's cap
 * ({@linkcode DEFAULT_MAX_QUERY_READS}) bounds the total.
 */
export const DEFAULT_CHUNK_PARTITION: ChunkPartitionOptions = Object.freeze({
  maxRangeBytes: 64 * 1024 * 1024,
  maxGapBytes: 64 * 1024 * 1024,
  maxConcurrency: 8,
  maxQueryConcurrency: DEFAULT_MAX_QUERY_READS,
});

/**
 * Groups pages (sorted by offset) into ranges to fetch with one request each. A range takes the
 * next page while it stays within `maxRangeBytes`, the gap before the page is at most
 * `maxGapBytes`, and the range's gap bytes stay at most its page bytes. The last condition (not
 * in upstream, whose 64 MiB default gap fetches everything between two distant pages) bounds
 * the bytes fetched to twice the bytes of the wanted pages.
 */
export function partitionPages(
  spans: readonly PageSpan[],
  opts: ChunkPartitionOptions,
): PageSpan[][] {
  const out: PageSpan[][] = [];
  let cur: PageSpan[] = [];
  let start = 0, end = 0, pageBytes = 0, gapBytes = 0;
  for (const s of spans) {
    const sEnd = s.offset + s.length;
    const gap = Math.max(0, s.offset - end);
    if (
      cur.length > 0 && sEnd - start <= opts.maxRangeBytes && gap <= opts.maxGapBytes &&
      gapBytes + gap <= pageBytes + s.length
    ) {
      cur.push(s);
      end = Math.max(end, sEnd);
      pageBytes += s.length;
      gapBytes += gap;
      continue;
    }
    if (cur.length > 0) out.push(cur);
    cur = [s];
    start = s.offset;
    end = sEnd;
    pageBytes = s.length;
    gapBytes = 0;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

async function withConcurrency<T>(
  items: readonly T[],
  limit: number,
  fn: (t: T) => Promise<void>,
): Promise<void> {
  if (limit <= 0 || limit >= items.length) {
    await Promise.all(items.map(fn));
    return;
  }
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

/** The values of a page that holds none. */
const EMPTY = new ByteArrays(new Uint8Array(0), new Int32Array(0), new Int32Array(0));

/** Share of the page cache one selection fills with the chunk pages it fetches. */
const SCAN_CACHE_SHARE = 0.25;

/** A row group of a shard's chunks file that a selection reads chunks from. */
export interface ChunkSource {
  /** The chunks file. */
  readonly file: PageFile;
  /** The row group. */
  readonly rg: number;
  /** The chunk columns overlapping the selection's time range (indexes into CHUNK_COLUMNS). */
  readonly columns: readonly number[];
}

/** What the reader remembers of one column of a source between batches. */
interface ColumnState {
  /** Pages charged to the quota so far (page numbers). */
  readonly charged: Set<number>;
  /** The page kept from the previous batch, if any. */
  kept?: { span: PageSpan; page: DecodedPage };
}

/** Reads the chunks of one selection's rows, batch after batch (see the module doc). */
export class ChunkReader {
  readonly #columns = new Map<ChunkSource, Map<number, ColumnState>>();
  /** Compressed bytes of the pages this selection put into the page cache. */
  #cachedBytes = 0;

  /**
   * Creates the reader of one selection.
   *
   * @param partition how pages are coalesced into ranged reads
   * @param quota the request's chunk byte quota
   * @param mint start of the selection's time range, ms (chunks ending before it are dropped)
   * @param maxt end of the selection's time range, ms (chunks starting after it are dropped)
   * @param search where materialised columns and page reads are reported
   * @param reads the request's cap on reads in flight
   */
  constructor(
    readonly partition: ChunkPartitionOptions,
    readonly quota: Quota,
    readonly mint: number,
    readonly maxt: number,
    readonly search?: SearchRecorder,
    readonly reads?: ReadLimiter,
  ) {}

  /**
   * The chunks of `rows` (ascending, unique) of `source` intersecting `[mint, maxt]`: per row,
   * in column order then stored order.
   */
  async read(
    source: ChunkSource,
    rows: readonly number[],
    signal?: AbortSignal,
  ): Promise<RawChunk[][]> {
    const ranges: RowRanges = [];
    for (const r of rows) pushRange(ranges, r, r + 1);
    let states = this.#columns.get(source);
    const first = states === undefined;
    if (states === undefined) this.#columns.set(source, states = new Map());
    const values = await Promise.all(source.columns.map(async (c) => {
      let state = states.get(c);
      if (state === undefined) states.set(c, state = { charged: new Set() });
      const name = CHUNK_COLUMNS[c];
      if (first) this.search?.columnMaterialized(name, rows.length);
      else this.search?.rowsMaterialized(name, rows.length);
      return await this.#readColumn(source, c, state, ranges, rows.length, signal);
    }));
    const out: RawChunk[][] = Array.from({ length: rows.length }, () => []);
    for (let ci = 0; ci < values.length; ci++) {
      const where = `${source.file.name} ${CHUNK_COLUMNS[source.columns[ci]]}`;
      for (let i = 0; i < rows.length; i++) {
        const v = values[ci][i];
        if (!v || v.length === 0) continue;
        out[i].push(...decodeChunkColumn(v, where, undefined, this.mint, this.maxt));
      }
    }
    return out;
  }

  /** The values of chunk column `c` for the rows of `ranges`, in row order. */
  async #readColumn(
    { file, rg }: ChunkSource,
    c: number,
    state: ColumnState,
    ranges: RowRanges,
    count: number,
    signal?: AbortSignal,
  ): Promise<(Uint8Array | undefined)[]> {
    const name = CHUNK_COLUMNS[c];
    const col = file.columnPosition(name)!;
    const spans = ranges.length === 0 ? [] : await file.pagesOverlapping(rg, col, ranges, signal);
    const kept = state.kept;
    const missing = spans.filter((s) => s.page !== kept?.span.page);
    let bytes = 0;
    for (const s of missing) {
      if (state.charged.has(s.page)) continue;
      state.charged.add(s.page);
      bytes += s.length;
    }
    this.quota.reserve(bytes);
    // Pages in the page cache (or being loaded by another query) are not fetched again.
    const loaded = missing.length === 0 ? [] : await file.loadPages(col, missing, async (want) => {
      const decoded: DecodedPage[] = new Array(want.length);
      const index = new Map(want.map((s, i) => [s, i] as const));
      const groups = partitionPages([...want].sort((a, b) => a.offset - b.offset), this.partition);
      await withConcurrency(groups, this.partition.maxConcurrency, async (group) => {
        const start = group[0].offset;
        const end = Math.max(...group.map((s) => s.offset + s.length));
        const read = () => file.source.read(start, end - start, signal);
        const bytes = await (this.reads ? this.reads.run(read, signal) : read());
        this.search?.pagesRead(name, group.length, bytes.length);
        for (const s of group) {
          const cache = this.#cachedBytes + s.length <= file.pageCacheBytes * SCAN_CACHE_SHARE;
          if (cache) this.#cachedBytes += s.length;
          decoded[index.get(s)!] = file.decodePage(
            col,
            s,
            bytes.subarray(s.offset - start, s.offset - start + s.length),
            cache,
          );
        }
      });
      return decoded;
    });
    const out: (Uint8Array | undefined)[] = new Array(count);
    let slot = 0;
    let next = 0;
    // Pages are in row order and rows ascend, so slots are assigned in order.
    const where = `${file.name} ${name}`;
    let dict: ByteArrays | undefined;
    for (const span of spans) {
      const page = span.page === kept?.span.page ? kept.page : loaded[next++];
      // A foreign writer may dictionary-encode the column (or write a page of nulls so).
      let values: ByteArrays;
      let indexes: Int32Array | undefined;
      if (page.dictionaryEncoded) {
        indexes = page.values as Int32Array;
        values = indexes.length === 0
          ? EMPTY
          : dict ??= byteArraysOf(await file.dictionaryValues(rg, col, signal), where);
      } else values = byteArraysOf(page.values, where);
      forSelectedRows(page, ranges, (_, k) => {
        out[slot++] = k < 0 ? undefined : values.at(indexes ? indexes[k] : k);
      });
    }
    const last = spans.at(-1);
    if (last === undefined) state.kept = undefined;
    else if (last.page !== kept?.span.page) {
      state.kept = { span: last, page: ownedPage(loaded[next - 1]) };
    }
    return out;
  }
}

/**
 * `page`, or when its byte-array values are views of a buffer over twice their size (a
 * coalesced read), a copy whose values have a buffer of their own.
 */
export function ownedPage(page: DecodedPage): DecodedPage {
  // Dictionary indexes (a foreign writer's) hold no view.
  if (!(page.values instanceof ByteArrays)) return page;
  const values = page.values.compact();
  return values === page.values ? page : { ...page, values };
}

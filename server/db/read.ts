/**
 * Materialisation of selected rows (gateway.md 4.5 step 6): label columns from the (local) labels
 * file, and chunk columns from the (remote) chunks file with coalesced ranged reads.
 *
 * Chunk pages overlapping the wanted rows are found with the offset index, charged to the chunk
 * byte quota, grouped into ranges (see {@linkcode partitionPages}) and fetched with at most
 * `maxConcurrency` requests in flight per column and row group.
 *
 * Unlike upstream, which caches nothing, decoded pages (chunk and label columns) are taken from
 * the files' page cache when the syncer gave them one (`SyncerOptions.pageCacheBytes`): only the
 * pages it lacks are fetched, and concurrent queries share the fetch of a page. The quota is
 * charged as if every page were read, so limits do not depend on what happens to be cached.
 *
 * @module
 */
import type { Label, Labels } from "../../model/labels.ts";
import { METRIC_NAME } from "../../model/labels.ts";
import { decodeChunkColumn, type RawChunk } from "../../storage/parquet/chunk_column.ts";
import { decodeLabelIndex } from "../../storage/parquet/label_index.ts";
import type { BlockMeta } from "../../storage/parquet/meta.ts";
import type { DecodedPage, PageFile, PageSpan } from "../../storage/parquet/pages.ts";
import {
  CHUNK_COLUMNS,
  LABEL_INDEX_COLUMN,
  labelColumn,
  labelNameOf,
  V0,
} from "../../storage/parquet/schema.ts";
import type { Quota } from "./limits.ts";
import { overlapsRows, type RowRanges } from "./row_ranges.ts";
import type { SearchRecorder } from "./search_metrics.ts";

/** How chunk pages are coalesced into ranged reads. */
export interface ChunkPartitionOptions {
  /** Largest range fetched with one request, bytes (`...max-range-bytes`, 64 MiB). */
  maxRangeBytes: number;
  /** Largest gap between pages merged into one range, bytes (`...max-gap-bytes`, 64 MiB). */
  maxGapBytes: number;
  /** Requests in flight per column and row group (`...max-concurrency`, 2; 0 = unlimited). */
  maxConcurrency: number;
}

/** Upstream's defaults. */
export const DEFAULT_CHUNK_PARTITION: ChunkPartitionOptions = Object.freeze({
  maxRangeBytes: 64 * 1024 * 1024,
  maxGapBytes: 64 * 1024 * 1024,
  maxConcurrency: 2,
});

/** A row group of one of a shard's files, with what the readers need. */
interface RowGroupRef {
  readonly file: PageFile;
  readonly rg: number;
  /** Where materialised columns and page reads are reported (`search_*` metrics). */
  readonly search?: SearchRecorder;
}

/** The name of column `column` of `file`. */
function columnName(file: PageFile, column: number): string {
  return file.metadata.schema[column + 1].name;
}

/**
 * Reads one page of a column being materialised (from the page cache when there), reporting a
 * read from the file.
 */
function readPage(
  { file, search }: RowGroupRef,
  column: number,
  name: string,
  span: PageSpan,
  signal?: AbortSignal,
): Promise<DecodedPage> {
  return file.readPage(
    column,
    span,
    signal,
    search && ((bytes) => search.pagesRead(name, 1, bytes)),
  );
}

/** Calls `fn` for every selected row of a decoded page with the index of its value (-1 = null). */
function forSelectedRows(
  page: DecodedPage,
  ranges: RowRanges,
  fn: (row: number, valueIndex: number) => void,
): void {
  const { defined, firstRow, rows } = page;
  const end = firstRow + rows;
  // Walk the ranges that overlap the page, counting non-null values to find value indexes.
  let k = 0, r = firstRow;
  for (let i = 0; i < ranges.length; i += 2) {
    const from = Math.max(ranges[i], firstRow), to = Math.min(ranges[i + 1], end);
    if (to <= from) continue;
    if (defined) {
      for (; r < from; r++) k += defined[r - firstRow];
      for (; r < to; r++) fn(r, defined[r - firstRow] ? k++ : -1);
    } else {
      for (r = from; r < to; r++) fn(r, r - firstRow);
    }
  }
}

/** Index in the flattened selection of row `row` (ranges are sorted). */
function makeSlotter(ranges: RowRanges): (row: number) => number {
  const starts: number[] = [];
  let acc = 0;
  for (let i = 0; i < ranges.length; i += 2) {
    starts.push(acc);
    acc += ranges[i + 1] - ranges[i];
  }
  let hint = 0;
  return (row) => {
    // Rows arrive in ascending order, so the range hint only moves forward.
    while (ranges[hint * 2 + 1] <= row) hint++;
    return starts[hint] + row - ranges[hint * 2];
  };
}

/**
 * Reads a STRING column for the selected rows: one entry per selected row (in row order), `null`
 * where the row has no value.
 */
export async function readStringColumn(
  ref: RowGroupRef,
  column: number,
  ranges: RowRanges,
  total: number,
  signal?: AbortSignal,
): Promise<(string | null)[]> {
  const { file, rg } = ref;
  const name = columnName(file, column);
  ref.search?.columnMaterialized(name, total);
  const out = new Array<string | null>(total).fill(null);
  const dict = await file.dictionary(rg, column, signal);
  const slot = makeSlotter(ranges);
  const decoder = new TextDecoder();
  for (const span of await file.pages(rg, column, signal)) {
    if (!overlapsRows(ranges, span.firstRow, span.endRow)) continue;
    const page = await readPage(ref, column, name, span, signal);
    const values = page.values;
    forSelectedRows(page, ranges, (row, k) => {
      if (k < 0) return;
      const v = values[k];
      out[slot(row)] = page.dictionaryEncoded
        ? dict![v as number]
        : decoder.decode(v as Uint8Array);
    });
  }
  return out;
}

/** Reads a required BYTE_ARRAY column (e.g. `___cf_meta_index`) for the selected rows. */
async function readBytesColumn(
  ref: RowGroupRef,
  column: number,
  ranges: RowRanges,
  total: number,
  signal?: AbortSignal,
): Promise<Uint8Array[]> {
  const { file, rg } = ref;
  const name = columnName(file, column);
  ref.search?.columnMaterialized(name, total);
  const out = new Array<Uint8Array>(total);
  const slot = makeSlotter(ranges);
  for (const span of await file.pages(rg, column, signal)) {
    if (!overlapsRows(ranges, span.firstRow, span.endRow)) continue;
    const page = await readPage(ref, column, name, span, signal);
    forSelectedRows(page, ranges, (row, k) => {
      out[slot(row)] = k < 0 ? new Uint8Array(0) : page.values[k] as Uint8Array;
    });
  }
  return out;
}

/**
 * For every selected row, the labels-file column positions it populates: from
 * `___cf_meta_index` (V1+), or for V0 from the metric name and `meta.columnsForName`.
 */
export async function readRowColumns(
  ref: RowGroupRef,
  meta: BlockMeta,
  ranges: RowRanges,
  total: number,
  signal?: AbortSignal,
): Promise<(readonly number[])[]> {
  const { file } = ref;
  const ncols = file.columnNames.length;
  if (meta.version === V0) {
    const nameCol = file.columnPosition(labelColumn(METRIC_NAME));
    if (nameCol === undefined) return new Array(total).fill([]);
    const names = await readStringColumn(ref, nameCol, ranges, total, signal);
    const cache = new Map<string, number[]>();
    return names.map((n) => {
      const name = n ?? "";
      let cols = cache.get(name);
      if (!cols) {
        const set = new Set([nameCol]);
        for (const c of meta.columnsForName.get(name) ?? []) {
          const p = file.columnPosition(c);
          if (p !== undefined) set.add(p);
        }
        cache.set(name, cols = [...set].sort((a, b) => a - b));
      }
      return cols;
    });
  }
  const indexCol = file.columnPosition(LABEL_INDEX_COLUMN)!;
  const raw = await readBytesColumn(ref, indexCol, ranges, total, signal);
  const cache = new Map<string, number[]>();
  const decoder = new TextDecoder("latin1");
  return raw.map((bytes, i) => {
    const key = decoder.decode(bytes);
    let cols = cache.get(key);
    if (!cols) {
      cols = decodeLabelIndex(bytes, `${file.name} row group ${ref.rg} row ${i}`);
      for (const p of cols) {
        if (p < 1 || p >= ncols) {
          throw new Error(`${file.name}: ${LABEL_INDEX_COLUMN} names column ${p} of ${ncols}`);
        }
      }
      cache.set(key, cols);
    }
    return cols;
  });
}

/** The label sets of the selected rows (series labels as stored, without external labels). */
export async function readLabels(
  ref: RowGroupRef,
  meta: BlockMeta,
  ranges: RowRanges,
  total: number,
  signal?: AbortSignal,
): Promise<Labels[]> {
  const perRow = await readRowColumns(ref, meta, ranges, total, signal);
  const wanted = new Set<number>();
  for (const cols of perRow) for (const c of cols) wanted.add(c);
  const names = ref.file.columnNames;
  // Per column, its label name and values, looked up by position (not per row and label).
  const labelNames: string[] = [];
  const values: (string | null)[][] = [];
  await Promise.all(
    [...wanted].map(async (c) => {
      labelNames[c] = labelNameOf(names[c])!;
      values[c] = await readStringColumn(ref, c, ranges, total, signal);
    }),
  );
  return perRow.map((cols, r) => {
    const out: Label[] = [];
    // Column order is label-name order, so the labels come out sorted.
    for (const c of cols) {
      const v = values[c][r];
      if (v !== null && v !== "") out.push({ name: labelNames[c], value: v });
    }
    return out;
  });
}

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

/**
 * The chunks of the selected rows from chunk columns `columns` (indexes into
 * `CHUNK_COLUMNS`), per row in column order, keeping only chunks intersecting `[mint, maxt]`.
 */
export async function readChunks(
  { file, rg, search }: RowGroupRef,
  columns: readonly number[],
  ranges: RowRanges,
  total: number,
  mint: number,
  maxt: number,
  opts: ChunkPartitionOptions,
  quota: Quota,
  signal?: AbortSignal,
): Promise<RawChunk[][]> {
  const perColumn = await Promise.all(columns.map(async (c) => {
    const col = file.columnPosition(CHUNK_COLUMNS[c])!;
    const spans = (await file.pages(rg, col, signal)).filter((s) =>
      overlapsRows(ranges, s.firstRow, s.endRow)
    );
    let bytes = 0;
    for (const s of spans) bytes += s.length;
    quota.reserve(bytes);
    search?.columnMaterialized(CHUNK_COLUMNS[c], total);
    return { col, spans };
  }));
  const out: RawChunk[][] = Array.from({ length: total }, () => []);
  const values: (Uint8Array | undefined)[][] = columns.map(() => new Array(total));
  await Promise.all(perColumn.map(async ({ col, spans }, ci) => {
    const slot = makeSlotter(ranges);
    // Pages in the page cache (or being loaded by another query) are not fetched again.
    const pages = await file.loadPages(col, spans, async (missing) => {
      const decoded: DecodedPage[] = new Array(missing.length);
      const index = new Map(missing.map((s, i) => [s, i] as const));
      const groups = partitionPages([...missing].sort((a, b) => a.offset - b.offset), opts);
      await withConcurrency(groups, opts.maxConcurrency, async (group) => {
        const start = group[0].offset;
        const end = Math.max(...group.map((s) => s.offset + s.length));
        const bytes = await file.source.read(start, end - start, signal);
        search?.pagesRead(CHUNK_COLUMNS[columns[ci]], group.length, bytes.length);
        for (const s of group) {
          decoded[index.get(s)!] = file.decodePage(
            col,
            s,
            bytes.subarray(s.offset - start, s.offset - start + s.length),
          );
        }
      });
      return decoded;
    });
    // Pages are in row order, so slots are assigned in ascending row order.
    for (const page of pages) {
      forSelectedRows(page, ranges, (row, k) => {
        values[ci][slot(row)] = page.values[k] as Uint8Array;
      });
    }
  }));
  for (let r = 0; r < total; r++) {
    for (let ci = 0; ci < columns.length; ci++) {
      const v = values[ci][r];
      if (!v || v.length === 0) continue;
      for (const chunk of decodeChunkColumn(v, `${file.name} ${CHUNK_COLUMNS[columns[ci]]}`)) {
        if (chunk.maxT >= mint && chunk.minT <= maxt) out[r].push(chunk);
      }
    }
  }
  return out;
}

/** The label names populated by any selected row. */
export async function readLabelNamesOfRows(
  ref: RowGroupRef,
  meta: BlockMeta,
  ranges: RowRanges,
  total: number,
  signal?: AbortSignal,
): Promise<Set<string>> {
  const perRow = await readRowColumns(ref, meta, ranges, total, signal);
  const cols = new Set<number>();
  for (const r of perRow) for (const c of r) cols.add(c);
  const names = ref.file.columnNames;
  const out = new Set<string>();
  for (const c of cols) {
    const n = labelNameOf(names[c]);
    if (n !== undefined) out.add(n);
  }
  return out;
}

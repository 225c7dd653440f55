/**
 * Materialisation of the label columns of selected rows (gateway.md 4.5 step 6) from the (local)
 * labels file: which columns each row populates (`___cf_meta_index`, or the V0 metric name and
 * `meta.columnsForName`), then those columns. Dictionary-encoded pages are read as dictionary
 * indexes: a value is a dictionary entry looked up per row (and one shared {@linkcode Label}
 * per entry), never a string decoded per row. Chunk columns are read by `chunk_reader.ts`.
 *
 * Unlike upstream, which caches nothing, decoded pages are taken from the file's page cache when
 * the syncer gave it one (`SyncerOptions.pageCacheBytes`).
 *
 * @module
 */
import type { Label, Labels } from "../../model/labels.ts";
import { METRIC_NAME } from "../../model/labels.ts";
import { type ByteArrays, byteArraysOf } from "../../storage/parquet/byte_arrays.ts";
import { decodeLabelIndex } from "../../storage/parquet/label_index.ts";
import type { BlockMeta } from "../../storage/parquet/meta.ts";
import type { DecodedPage, PageFile, PageSpan } from "../../storage/parquet/pages.ts";
import { LABEL_INDEX_COLUMN, labelColumn, labelNameOf, V0 } from "../../storage/parquet/schema.ts";
import { overlapsRows, type RowRanges } from "./row_ranges.ts";
import type { ReadLimiter } from "./read_limiter.ts";
import type { SearchRecorder } from "./search_metrics.ts";

/** A row group of one of a shard's files, with what the readers need. */
export interface RowGroupRef {
  readonly file: PageFile;
  readonly rg: number;
  /** Where materialised columns and page reads are reported (`search_*` metrics). */
  readonly search?: SearchRecorder;
  /** The request's cap on reads in flight, if any. */
  readonly reads?: ReadLimiter;
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
  { file, search, reads }: RowGroupRef,
  column: number,
  name: string,
  span: PageSpan,
  signal?: AbortSignal,
): Promise<DecodedPage> {
  const read = () =>
    file.readPage(column, span, signal, search && ((bytes) => search.pagesRead(name, 1, bytes)));
  return reads ? reads.run(read, signal) : read();
}

/**
 * Per decoded page with nulls, the index of each row's value (-1 for a null), built on first
 * use and kept while the page lives (the page cache counts it): without it, finding the values
 * of a few rows meant counting the null flags from the page's start, tens of thousands of rows
 * per label column and row group for a selective query.
 */
const valueIndexes = new WeakMap<DecodedPage, Int32Array>();

function valueIndexOf(page: DecodedPage, defined: Uint8Array): Int32Array {
  let index = valueIndexes.get(page);
  if (index) return index;
  index = new Int32Array(defined.length);
  let k = 0;
  for (let i = 0; i < defined.length; i++) index[i] = defined[i] ? k++ : -1;
  valueIndexes.set(page, index);
  return index;
}

/** Calls `fn` for every selected row of a decoded page with the index of its value (-1 = null). */
export function forSelectedRows(
  page: DecodedPage,
  ranges: RowRanges,
  fn: (row: number, valueIndex: number) => void,
): void {
  const { defined, firstRow, rows } = page;
  const end = firstRow + rows;
  const index = defined && valueIndexOf(page, defined);
  for (let i = 0; i < ranges.length; i += 2) {
    const from = Math.max(ranges[i], firstRow), to = Math.min(ranges[i + 1], end);
    if (to <= from) continue;
    if (index) {
      for (let r = from; r < to; r++) fn(r, index[r - firstRow]);
    } else {
      for (let r = from; r < to; r++) fn(r, r - firstRow);
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
 * The values of a STRING column for selected rows: per row, an index of a value. Indexes below
 * the dictionary's size are dictionary entries; values of pages that are not dictionary-encoded
 * are numbered after them.
 */
export interface ColumnValues {
  /** Per selected row (in row order), the index of its value; -1 when null. */
  readonly index: Int32Array;
  /** How many values the indexes refer to: the dictionary's entries, then plain values. */
  readonly size: number;
  /** The value of index `k` (decoded on first use when a dictionary entry). */
  value(k: number): string;
}

/** Reads a STRING column for the selected rows (see {@linkcode ColumnValues}). */
export async function readColumnValues(
  ref: RowGroupRef,
  column: number,
  ranges: RowRanges,
  total: number,
  signal?: AbortSignal,
): Promise<ColumnValues> {
  const { file, rg } = ref;
  const name = columnName(file, column);
  ref.search?.columnMaterialized(name, total);
  const index = new Int32Array(total).fill(-1);
  const dict = await file.dictionary(rg, column, signal);
  const dictSize = dict?.size ?? 0;
  const plain: string[] = [];
  const slot = makeSlotter(ranges);
  const decoder = new TextDecoder();
  for (const span of await file.pages(rg, column, signal)) {
    if (!overlapsRows(ranges, span.firstRow, span.endRow)) continue;
    const page = await readPage(ref, column, name, span, signal);
    const pageValues = page.values;
    if (page.dictionaryEncoded) {
      if (dict === undefined) throw new Error(`${file.name}: ${name} has no dictionary`);
      const indexes = pageValues as Int32Array;
      forSelectedRows(page, ranges, (row, k) => {
        if (k >= 0) index[slot(row)] = indexes[k];
      });
      continue;
    }
    const strings = byteArraysOf(pageValues, `${file.name} ${name}`);
    forSelectedRows(page, ranges, (row, k) => {
      if (k < 0) return;
      index[slot(row)] = dictSize + plain.length;
      plain.push(decoder.decode(strings.at(k)));
    });
  }
  return {
    index,
    size: dictSize + plain.length,
    value: (k) => k < dictSize ? dict!.entry(k) : plain[k - dictSize],
  };
}

/** The distinct non-empty values of `c`'s selected rows. */
export function distinctValues(c: ColumnValues): string[] {
  const seen = new Uint8Array(c.size);
  const out: string[] = [];
  for (const k of c.index) {
    if (k < 0 || seen[k]) continue;
    seen[k] = 1;
    const v = c.value(k);
    if (v !== "") out.push(v);
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
  const where = `${file.name} ${name}`;
  let dict: ByteArrays | undefined;
  for (const span of await file.pages(rg, column, signal)) {
    if (!overlapsRows(ranges, span.firstRow, span.endRow)) continue;
    const page = await readPage(ref, column, name, span, signal);
    // Writers may dictionary-encode a byte-array column too.
    if (page.dictionaryEncoded) {
      dict ??= byteArraysOf(await file.dictionaryValues(rg, column, signal), where);
      const indexes = page.values as Int32Array;
      forSelectedRows(page, ranges, (row, k) => {
        out[slot(row)] = k < 0 ? new Uint8Array(0) : dict!.at(indexes[k]);
      });
      continue;
    }
    const values = byteArraysOf(page.values, where);
    forSelectedRows(page, ranges, (row, k) => {
      out[slot(row)] = k < 0 ? new Uint8Array(0) : values.at(k);
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
    const names = await readColumnValues(ref, nameCol, ranges, total, signal);
    const cache = new Map<string, number[]>();
    return Array.from(names.index, (k) => {
      const name = k < 0 ? "" : names.value(k);
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
    // A few bytes each: String.fromCharCode is 4x faster than a TextDecoder call there.
    const key = bytes.length <= 64
      ? String.fromCharCode.apply(null, bytes as unknown as number[])
      : decoder.decode(bytes);
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

/**
 * The label sets of the selected rows (series labels as stored, without external labels). Rows
 * with the same value in a column share its {@linkcode Label} object.
 */
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
  // Per column (by position): its values, and its labels built on first use per value.
  const columns: ColumnValues[] = [];
  const labels: (Label | undefined)[][] = [];
  await Promise.all(
    [...wanted].map(async (c) => {
      columns[c] = await readColumnValues(ref, c, ranges, total, signal);
      labels[c] = new Array(columns[c].size);
    }),
  );
  return perRow.map((cols, r) => {
    const out: Label[] = [];
    // Column order is label-name order, so the labels come out sorted.
    for (const c of cols) {
      const k = columns[c].index[r];
      if (k < 0) continue;
      let label = labels[c][k];
      if (label === undefined) {
        const value = columns[c].value(k);
        if (value === "") continue;
        label = labels[c][k] = { name: labelNameOf(names[c])!, value };
      }
      out.push(label);
    }
    return out;
  });
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

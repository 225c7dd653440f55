/**
 * Matchers to row ranges within one row group of a labels file (gateway.md 4.5 step 3).
 *
 * Each matcher narrows the current ranges. An equality or literal alternation first asks the
 * column chunk's bloom filter, where the file has one (`__name__`): values it rules out end the
 * search. Per column chunk the matcher is evaluated once per dictionary entry; then, per page overlapping the ranges: all-null pages match iff the matcher
 * accepts `""`; when every dictionary value and `""` match, the page is kept without reading it;
 * for equality and literal alternations (`a|b|c`) that reject `""`, a page is skipped when no
 * wanted value lies within its column-index bounds (sound for any number of alternatives, unlike
 * upstream's first/last check); other pages are decoded and scanned by dictionary index.
 * A column missing from the file is a label no series has: it matches iff the matcher accepts `""`.
 *
 * @module
 */
import { type Matcher, MatchType } from "../../model/matchers.ts";
import type { PageFile } from "../../storage/parquet/pages.ts";
import { labelColumn, labelNameOf } from "../../storage/parquet/schema.ts";
import { allRows, intersectRows, overlapsRows, pushRange, type RowRanges } from "./row_ranges.ts";
import { scanKind, type SearchRecorder } from "./search_metrics.ts";

const encoder = new TextEncoder();

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

const LITERAL = /^[A-Za-z0-9_:\- ]+$/;
const ALTERNATION = /^[A-Za-z0-9_:\- ]+(\|[A-Za-z0-9_:\- ]+)+$/;

/**
 * The exact non-empty values a positive matcher accepts, when it accepts only a finite set of
 * literals (`=` and regexes that are plain alternations of literals); otherwise `undefined`.
 */
export function literalValues(m: Matcher): string[] | undefined {
  if (m.type === MatchType.Equal) return m.value === "" ? undefined : [m.value];
  if (m.type !== MatchType.Regexp) return undefined;
  if (LITERAL.test(m.value)) return [m.value];
  if (ALTERNATION.test(m.value)) return m.value.split("|");
  return undefined;
}

/** Orders matchers so that the ones on sorting columns come first, in sorting order. */
export function orderMatchers(
  matchers: readonly Matcher[],
  sortingLabels: readonly string[],
): Matcher[] {
  const rank = (m: Matcher) => {
    const i = sortingLabels.indexOf(m.name);
    // Then equalities, which prune best, before the rest.
    return i >= 0 ? i : sortingLabels.length + (m.type === MatchType.Equal ? 0 : 1);
  };
  return [...matchers].sort((a, b) => rank(a) - rank(b));
}

/** The label names of the sorting columns of row group `rg`. */
export function sortingLabels(file: PageFile, rg: number): string[] {
  const cols = file.metadata.row_groups[rg]?.sorting_columns ?? [];
  const names = file.columnNames;
  const out: string[] = [];
  for (const c of cols) {
    const name = labelNameOf(names[c.column_idx] ?? "");
    if (name !== undefined) out.push(name);
  }
  return out;
}

/** Counters of the filter's work, for tests and metrics. */
export interface FilterStats {
  /** Data pages decoded. */
  pagesRead: number;
  /** Pages skipped thanks to column-index bounds. */
  pagesPrunedByBounds: number;
  /** Row groups a column chunk's bloom filter ruled out (for an equality or alternation). */
  rowGroupsPrunedByBloom: number;
}

/**
 * The rows of row group `rg` matching every matcher (all rows for none), as row-group-relative
 * ranges. Scanned pages are reported to `search` (`search_pages_scanned_total`).
 */
export async function filterRowGroup(
  file: PageFile,
  rg: number,
  matchers: readonly Matcher[],
  stats?: FilterStats,
  signal?: AbortSignal,
  search?: SearchRecorder,
): Promise<RowRanges> {
  let ranges = allRows(file.rowGroupRows[rg]);
  for (const m of orderMatchers(matchers, sortingLabels(file, rg))) {
    if (ranges.length === 0) break;
    ranges = await applyMatcher(file, rg, m, ranges, stats, signal, search);
  }
  return ranges;
}

async function applyMatcher(
  file: PageFile,
  rg: number,
  m: Matcher,
  ranges: RowRanges,
  stats?: FilterStats,
  signal?: AbortSignal,
  search?: SearchRecorder,
): Promise<RowRanges> {
  const nullMatch = m.matches("");
  const column = labelColumn(m.name);
  const col = file.columnPosition(column);
  if (col === undefined) return nullMatch ? ranges : [];
  const literals = nullMatch ? undefined : literalValues(m)?.map((v) => encoder.encode(v));
  if (literals) {
    // Where the file has a bloom filter (on __name__), it rules out absent values without
    // reading the dictionary.
    const bloom = await file.bloomFilter(rg, col, signal);
    if (bloom && !literals.some((v) => bloom.contains(v))) {
      if (stats) stats.rowGroupsPrunedByBloom++;
      return [];
    }
  }
  const dict = await file.dictionary(rg, col, signal);
  let dictMatch: Uint8Array | undefined;
  let anyMatch = true, allMatch = false;
  if (dict) {
    dictMatch = new Uint8Array(dict.length);
    let n = 0;
    for (let i = 0; i < dict.length; i++) if ((dictMatch[i] = m.matches(dict[i]) ? 1 : 0)) n++;
    anyMatch = n > 0;
    allMatch = n === dict.length;
  }
  if (!anyMatch && !nullMatch) return [];
  const ci = await file.columnIndex(rg, col, signal);
  const out: RowRanges = [];
  const textDecoder = new TextDecoder();
  for (const span of await file.pages(rg, col, signal)) {
    if (!overlapsRows(ranges, span.firstRow, span.endRow)) continue;
    if (ci?.null_pages[span.page]) {
      if (nullMatch) pushRange(out, span.firstRow, span.endRow);
      continue;
    }
    if (allMatch && nullMatch) {
      pushRange(out, span.firstRow, span.endRow);
      continue;
    }
    if (literals && ci) {
      const min = ci.min_values[span.page] as Uint8Array | undefined;
      const max = ci.max_values[span.page] as Uint8Array | undefined;
      if (
        min && max && min.length + max.length > 0 &&
        !literals.some((v) => compareBytes(v, min) >= 0 && compareBytes(v, max) <= 0)
      ) {
        if (stats) stats.pagesPrunedByBounds++;
        continue;
      }
    }
    const page = await file.readPage(col, span, signal);
    if (stats) stats.pagesRead++;
    search?.pageScanned(column, scanKind(m));
    const { defined, values } = page;
    let k = 0;
    let runStart = -1;
    for (let i = 0; i < page.rows; i++) {
      let ok: boolean;
      if (defined && !defined[i]) ok = nullMatch;
      else {
        const v = values[k++];
        if (page.dictionaryEncoded) ok = dictMatch![v as number] === 1;
        else ok = m.matches(textDecoder.decode(v as Uint8Array));
      }
      if (ok && runStart < 0) runStart = i;
      else if (!ok && runStart >= 0) {
        pushRange(out, span.firstRow + runStart, span.firstRow + i);
        runStart = -1;
      }
    }
    if (runStart >= 0) pushRange(out, span.firstRow + runStart, span.endRow);
  }
  return intersectRows(out, ranges);
}

/**
 * Matchers to row ranges within one row group of a labels file (gateway.md 4.5 step 3).
 *
 * Each matcher narrows the current ranges. An equality or literal alternation first asks the
 * column chunk's bloom filter, where the file has one (`__name__`): values it rules out end the
 * search. Per column chunk the matcher gets a verdict per dictionary entry: equalities, literal
 * alternations and inequalities by looking their values up in an index of the dictionary, other
 * matchers by testing every entry. Then the pages overlapping the ranges are visited; for an
 * equality or literal alternation (`a|b|c`) that rejects `""` on a column whose page bounds
 * ascend (the first sorting column), only the pages whose column-index bounds hold a wanted
 * value, found by binary search; on other columns every page, skipped when no wanted value lies
 * within its bounds (sound for any number of alternatives, unlike upstream's first/last check).
 * All-null pages match iff the matcher accepts `""`. A page is taken whole, unread, when every
 * dictionary value and `""` match, when its bounds are both one wanted value, or (in a chunk of
 * several pages) when every dictionary entry within its bounds matches and it has no nulls or
 * `""` matches; it is skipped when none does. Other pages are decoded and scanned by dictionary
 * index. A column missing from the file is a label no series has: it matches iff the matcher
 * accepts `""`.
 *
 * @module
 */
import { type Matcher, MatchType } from "../../model/matchers.ts";
import type { ColumnChunk, ColumnIndex } from "hyparquet";
import { byteArraysOf } from "../../storage/parquet/byte_arrays.ts";
import type { Dictionary } from "../../storage/parquet/dictionary.ts";
import type { PageFile, PageSpan } from "../../storage/parquet/pages.ts";
import { labelColumn, labelNameOf } from "../../storage/parquet/schema.ts";
import { pagePostings, pushPostingRuns } from "./_page_postings.ts";
import { allRows, intersectRows, overlapsRows, pushRange, type RowRanges } from "./row_ranges.ts";
import type { ReadLimiter } from "./read_limiter.ts";
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

/**
 * Non-null pages of a column index, in page order, or `undefined` when some lack bounds (a
 * writer skipped them); cached per column index, as labels files live long.
 */
const nonNullPageCache = new WeakMap<ColumnIndex, Int32Array | undefined>();

function nonNullPages(ci: ColumnIndex): Int32Array | undefined {
  if (nonNullPageCache.has(ci)) return nonNullPageCache.get(ci);
  const out: number[] = [];
  let bounded = true;
  ci.null_pages.forEach((isNull, p) => {
    if (isNull) return;
    out.push(p);
    if ((ci.max_values[p] as Uint8Array | undefined)?.length === 0) bounded = false;
  });
  const pages = bounded ? Int32Array.from(out) : undefined;
  nonNullPageCache.set(ci, pages);
  return pages;
}

/**
 * The pages (ascending page numbers) whose bounds hold any of `values`, for a column index
 * whose bounds ascend across its non-null pages (`boundary_order` ASCENDING): per value, a binary
 * search for the first page whose max is at least the value and one for the first whose min
 * exceeds it. Truncated bounds (a prefix as min, an incremented prefix as max) only widen a
 * page's range, so no page holding a value is missed. All-null pages hold no wanted value.
 * `undefined` when some non-null page has no bounds.
 */
export function pagesWithin(
  ci: ColumnIndex,
  values: readonly Uint8Array[],
): number[] | undefined {
  const pages = nonNullPages(ci);
  if (pages === undefined) return undefined;
  const first = (past: (p: number) => boolean) => {
    let lo = 0, hi = pages.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (past(pages[mid])) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
  const spans: [number, number][] = [];
  for (const v of values) {
    const from = first((p) => compareBytes(ci.max_values[p] as Uint8Array, v) >= 0);
    const to = first((p) => compareBytes(ci.min_values[p] as Uint8Array, v) > 0);
    if (from < to) spans.push([from, to]);
  }
  spans.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  let next = 0;
  for (const [from, to] of spans) {
    for (let k = Math.max(from, next); k < to; k++) out.push(pages[k]);
    next = Math.max(next, to);
  }
  return out;
}

/**
 * Reports whether a page with these bounds holds only values of `values`: its min and max are
 * the same wanted value. A truncated max is an incremented prefix, never equal to a truncated
 * min, except for a prefix of 0xFF bytes, which no UTF-8 label value has.
 */
function holdsOnly(min: Uint8Array, max: Uint8Array, values: readonly Uint8Array[]): boolean {
  if (compareBytes(min, max) !== 0) return false;
  if (max.length > 0 && max.every((b) => b === 0xff)) return false;
  return values.some((v) => compareBytes(v, min) === 0);
}

/**
 * Reports whether every data page of a column chunk is dictionary-encoded, as its encoding
 * stats tell (a writer may fall back to plain pages when a dictionary grows too large). Without
 * encoding stats nothing is known.
 */
function dictionaryPagesOnly(chunk: ColumnChunk): boolean {
  const stats = chunk.meta_data?.encoding_stats;
  if (!stats || stats.length === 0) return false;
  return stats.every((s) =>
    s.page_type === "DICTIONARY_PAGE" || s.encoding === "RLE_DICTIONARY" ||
    s.encoding === "PLAIN_DICTIONARY"
  );
}

/**
 * For a matcher's verdict per dictionary entry, a function counting the entries within byte
 * bounds `[min, max]` that it accepts and that it rejects. `literals`, the accepted entries of
 * an equality or alternation, spare a pass over the whole dictionary per row group and query.
 */
function dictionaryInBounds(
  dict: Dictionary,
  verdicts: Uint8Array,
  literals: readonly number[] | undefined,
): (min: Uint8Array, max: Uint8Array) => { matching: number; other: number } {
  const order = dict.sortedOrder();
  const firstAbove = (bound: Uint8Array, inclusive: boolean) => {
    let lo = 0, hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = dict.compare(order[mid], bound);
      if (c > 0 || (c === 0 && !inclusive)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
  let acceptedIn: (from: number, to: number) => number;
  if (literals !== undefined) {
    const ranks = dict.sortedRanks();
    const positions = literals.map((e) => ranks[e]);
    acceptedIn = (from, to) => {
      let n = 0;
      for (const p of positions) if (p >= from && p < to) n++;
      return n;
    };
  } else {
    // acceptedBefore[k]: accepted entries among the first k in byte order.
    const acceptedBefore = new Int32Array(order.length + 1);
    for (let k = 0; k < order.length; k++) {
      acceptedBefore[k + 1] = acceptedBefore[k] + verdicts[order[k]];
    }
    acceptedIn = (from, to) => acceptedBefore[to] - acceptedBefore[from];
  }
  return (min, max) => {
    const from = firstAbove(min, false), to = firstAbove(max, true);
    if (to <= from) return { matching: 0, other: 0 };
    const matching = acceptedIn(from, to);
    return { matching, other: to - from - matching };
  };
}

/**
 * The matcher's verdict per dictionary entry (1 accepts) and how many it accepts; for
 * equalities and literal alternations also the accepted entries. Equalities, literal
 * alternations and inequalities look their bytes up in the dictionary's hash table, built once
 * with it; a million-series file's `instance` dictionary has 20k entries, and testing each one
 * took a millisecond of every query on it (decoding each to a string, more). Other matchers
 * test every entry. A dictionary that repeats an entry (a foreign writer's) is tested entry by
 * entry too, as its rows may refer to any of the copies.
 */
function dictionaryVerdicts(
  dict: Dictionary,
  m: Matcher,
  plan: MatcherPlan,
): { verdicts: Uint8Array; matching: number; accepted?: number[] } {
  const verdicts = new Uint8Array(dict.size);
  const literals = plan.literals;
  const unique = (literals !== undefined || m.type === MatchType.NotEqual) && dict.unique;
  let matching = 0;
  if (unique && literals !== undefined) {
    const accepted: number[] = [];
    for (const v of literals) {
      const i = dict.indexOf(v);
      if (i >= 0 && verdicts[i] === 0) {
        verdicts[i] = 1;
        accepted.push(i);
      }
    }
    return { verdicts, matching: accepted.length, accepted };
  } else if (unique && m.type === MatchType.NotEqual) {
    verdicts.fill(1);
    matching = dict.size;
    const i = dict.indexOf(plan.valueBytes);
    if (i >= 0) {
      verdicts[i] = 0;
      matching--;
    }
  } else {
    const strings = dict.strings();
    for (let i = 0; i < strings.length; i++) {
      if ((verdicts[i] = m.matches(strings[i]) ? 1 : 0)) matching++;
    }
  }
  return { verdicts, matching };
}

/**
 * Appends to `out` the runs of rows of a page (`rows` from `firstRow`) whose value's verdict
 * (`verdicts[indexes[k]]` for the `k`-th non-null value) is 1, and nulls (rows whose `defined`
 * flag is 0) when `nullMatch`. A selective query scans a page per row group its value is in: a
 * loop on typed arrays alone.
 */
function pushMatchingRuns(
  out: RowRanges,
  firstRow: number,
  rows: number,
  indexes: Int32Array,
  defined: Uint8Array | undefined,
  verdicts: Uint8Array,
  nullMatch: boolean,
): void {
  let k = 0;
  let runStart = -1;
  for (let i = 0; i < rows; i++) {
    const ok = defined !== undefined && defined[i] === 0 ? nullMatch : verdicts[indexes[k++]] === 1;
    if (ok) {
      if (runStart < 0) runStart = i;
    } else if (runStart >= 0) {
      pushRange(out, firstRow + runStart, firstRow + i);
      runStart = -1;
    }
  }
  if (runStart >= 0) pushRange(out, firstRow + runStart, firstRow + rows);
}

/**
 * Most accepted dictionary entries (an alternation's values) whose rows are taken from page
 * postings rather than by scanning the page.
 */
const MAX_POSTINGS_ENTRIES = 64;

/** Pages overlapping `ranges` that are not among `candidates` (sorted page numbers). */
function skippedPages(
  spans: readonly PageSpan[],
  ranges: RowRanges,
  candidates: readonly number[],
): number {
  const taken = new Set(candidates);
  let n = 0;
  for (const s of spans) if (!taken.has(s.page) && overlapsRows(ranges, s.firstRow, s.endRow)) n++;
  return n;
}

/** Counters of the filter's work, for tests and metrics. */
export interface FilterStats {
  /** Data pages decoded. */
  pagesRead: number;
  /** Pages skipped thanks to column-index bounds. */
  pagesPrunedByBounds: number;
  /** Pages taken whole without reading them: their bounds are both one wanted value. */
  pagesMatchedByBounds: number;
  /** Row groups a column chunk's bloom filter ruled out (for an equality or alternation). */
  rowGroupsPrunedByBloom: number;
}

/**
 * The rows of row group `rg` matching every matcher (all rows for none), as row-group-relative
 * ranges. Scanned pages are reported to `search` (`search_pages_scanned_total`); page reads wait
 * for a place under `reads`, the request's cap.
 */
export async function filterRowGroup(
  file: PageFile,
  rg: number,
  matchers: readonly Matcher[],
  stats?: FilterStats,
  signal?: AbortSignal,
  search?: SearchRecorder,
  reads?: ReadLimiter,
): Promise<RowRanges> {
  let ranges = allRows(file.rowGroupRows[rg]);
  for (const m of orderMatchers(matchers, sortingLabels(file, rg))) {
    if (ranges.length === 0) break;
    ranges = await applyMatcher(file, rg, m, ranges, stats, signal, search, reads);
  }
  return ranges;
}

/** What {@linkcode applyMatcher} derives from a matcher alone, whatever the row group. */
interface MatcherPlan {
  /** Whether the matcher accepts `""`, the value of a row without the label. */
  readonly nullMatch: boolean;
  /** The label column's name. */
  readonly column: string;
  /** The exact values it accepts as UTF-8, when finite and `""` is not among them. */
  readonly literals?: readonly Uint8Array[];
  /** The matcher's value as UTF-8. */
  readonly valueBytes: Uint8Array;
}

// Per matcher, as a query applies each of its matchers to every row group of every shard.
const matcherPlans = new WeakMap<Matcher, MatcherPlan>();

function matcherPlan(m: Matcher): MatcherPlan {
  let plan = matcherPlans.get(m);
  if (plan === undefined) {
    const nullMatch = m.matches("");
    plan = {
      nullMatch,
      column: labelColumn(m.name),
      literals: nullMatch ? undefined : literalValues(m)?.map((v) => encoder.encode(v)),
      valueBytes: encoder.encode(m.value),
    };
    matcherPlans.set(m, plan);
  }
  return plan;
}

async function applyMatcher(
  file: PageFile,
  rg: number,
  m: Matcher,
  ranges: RowRanges,
  stats?: FilterStats,
  signal?: AbortSignal,
  search?: SearchRecorder,
  reads?: ReadLimiter,
): Promise<RowRanges> {
  const plan = matcherPlan(m);
  const { nullMatch, column, literals } = plan;
  const col = file.columnPosition(column);
  if (col === undefined) return nullMatch ? ranges : [];
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
  let accepted: number[] | undefined;
  let literalEntries: number[] | undefined;
  let anyMatch = true, allMatch = false;
  if (dict) {
    const { verdicts, matching, accepted: entries } = dictionaryVerdicts(dict, m, plan);
    dictMatch = verdicts;
    literalEntries = entries;
    // Few wanted entries: their rows come from the postings of cached pages.
    if (entries && entries.length <= MAX_POSTINGS_ENTRIES && file.pageCacheBytes > 0) {
      accepted = entries;
    }
    anyMatch = matching > 0;
    allMatch = matching === dict.size;
  }
  if (!anyMatch && !nullMatch) return [];
  const ci = await file.columnIndex(rg, col, signal);
  const spans = await file.pages(rg, col, signal);
  // On a column whose page bounds ascend (the first sorting column), the pages that may hold a
  // wanted value are found by binary search; others are checked against their bounds one by one.
  const candidates = literals !== undefined && ci?.boundary_order === "ASCENDING"
    ? pagesWithin(ci, literals)
    : undefined;
  if (stats && candidates) stats.pagesPrunedByBounds += skippedPages(spans, ranges, candidates);
  // Every value of a page lies within its bounds; when all its values are dictionary entries,
  // the entries within the bounds tell whether the matcher takes none of the page or all of it
  // (e.g. a long metric name, whose truncated bounds differ, alone on its pages). A chunk of one
  // page is read instead: sorting its dictionary costs more than scanning the page.
  const inBounds = dict && dictMatch && spans.length > 1 &&
      dictionaryPagesOnly(file.chunk(rg, col))
    ? dictionaryInBounds(dict, dictMatch, literalEntries)
    : undefined;
  const out: RowRanges = [];
  const textDecoder = new TextDecoder();
  const count = candidates?.length ?? spans.length;
  for (let i = 0; i < count; i++) {
    const span = spans[candidates ? candidates[i] : i];
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
        !candidates && min && max && min.length + max.length > 0 &&
        !literals.some((v) => compareBytes(v, min) >= 0 && compareBytes(v, max) <= 0)
      ) {
        if (stats) stats.pagesPrunedByBounds++;
        continue;
      }
      if (min && max && ci.null_counts?.[span.page] === 0n && holdsOnly(min, max, literals)) {
        // Every value of the page is a wanted one: no need to read it.
        if (stats) stats.pagesMatchedByBounds++;
        pushRange(out, span.firstRow, span.endRow);
        continue;
      }
    }
    if (inBounds && ci) {
      const min = ci.min_values[span.page] as Uint8Array | undefined;
      const max = ci.max_values[span.page] as Uint8Array | undefined;
      const nulls = ci.null_counts?.[span.page];
      const counts = min?.length && max?.length ? inBounds(min, max) : undefined;
      if (counts && counts.matching === 0 && (!nullMatch || nulls === 0n)) {
        if (stats) stats.pagesPrunedByBounds++;
        continue;
      }
      if (counts && counts.other === 0 && (nullMatch || nulls === 0n)) {
        if (stats) stats.pagesMatchedByBounds++;
        pushRange(out, span.firstRow, span.endRow);
        continue;
      }
    }
    const read = () => file.readPage(col, span, signal);
    const page = await (reads ? reads.run(read, signal) : read());
    if (stats) stats.pagesRead++;
    search?.pageScanned(column, scanKind(m));
    const { defined, values } = page;
    let indexes: Int32Array, verdicts: Uint8Array;
    if (page.dictionaryEncoded) {
      indexes = values as Int32Array;
      const postings = accepted && !nullMatch &&
        pagePostings(indexes, defined, page.rows, dict!.size);
      if (postings) {
        pushPostingRuns(out, span.firstRow, postings, accepted!);
        continue;
      }
      verdicts = dictMatch!;
    } else {
      // A plain page's values (a foreign writer's) get a verdict each, read in value order.
      const strings = byteArraysOf(values, `${file.name} ${column}`);
      indexes = new Int32Array(strings.length);
      verdicts = new Uint8Array(strings.length);
      for (let k = 0; k < strings.length; k++) {
        indexes[k] = k;
        verdicts[k] = m.matches(textDecoder.decode(strings.at(k))) ? 1 : 0;
      }
    }
    pushMatchingRuns(out, span.firstRow, page.rows, indexes, defined, verdicts, nullMatch);
  }
  return intersectRows(out, ranges);
}

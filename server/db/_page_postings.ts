/**
 * Postings of a dictionary-encoded label page: its rows grouped by dictionary entry, built once
 * per decoded page and kept while the page lives (in the page cache). An equality on a label
 * that is not the sort key (`{instance="a"}`) finds its rows in every page of the column; with
 * postings that costs the rows it takes instead of a scan of every row, as a TSDB index's
 * postings do.
 *
 * @module
 */
import { pushRange, type RowRanges } from "./row_ranges.ts";

/** A page's rows (page-relative) grouped by dictionary entry, ascending within an entry. */
export interface PagePostings {
  /** `rows[start[e]]` to `rows[start[e + 1]]` are the rows of entry `e`. */
  readonly start: Int32Array;
  readonly rows: Int32Array;
}

const cache = new WeakMap<Int32Array, PagePostings | null>();

/**
 * The postings of a page whose non-null rows (`defined`, or all `rows`) hold dictionary
 * indexes `indexes`, for a dictionary of `entries` values; `undefined` when an index lies
 * outside it (a corrupt page: the caller's scan treats such rows as unmatched).
 */
export function pagePostings(
  indexes: Int32Array,
  defined: Uint8Array | undefined,
  rows: number,
  entries: number,
): PagePostings | undefined {
  const cached = cache.get(indexes);
  if (cached !== undefined) return cached ?? undefined;
  const start = new Int32Array(entries + 1);
  for (let k = 0; k < indexes.length; k++) {
    const e = indexes[k];
    if (e < 0 || e >= entries) {
      cache.set(indexes, null);
      return undefined;
    }
    start[e + 1]++;
  }
  for (let e = 0; e < entries; e++) start[e + 1] += start[e];
  const next = start.slice(0, entries);
  const out = new Int32Array(indexes.length);
  let k = 0;
  for (let i = 0; i < rows; i++) {
    if (defined !== undefined && defined[i] === 0) continue;
    out[next[indexes[k++]]++] = i;
  }
  const postings = { start, rows: out };
  cache.set(indexes, postings);
  return postings;
}

/** Appends to `out` the runs of the page's rows (from `firstRow`) of the entries `accepted`. */
export function pushPostingRuns(
  out: RowRanges,
  firstRow: number,
  postings: PagePostings,
  accepted: readonly number[],
): void {
  const { start, rows } = postings;
  let taken: Int32Array;
  if (accepted.length === 1) {
    taken = rows.subarray(start[accepted[0]], start[accepted[0] + 1]);
  } else {
    let n = 0;
    for (const e of accepted) n += start[e + 1] - start[e];
    taken = new Int32Array(n);
    n = 0;
    for (const e of accepted) {
      taken.set(rows.subarray(start[e], start[e + 1]), n);
      n += start[e + 1] - start[e];
    }
    taken.sort();
  }
  // Rows ascend; pushRange joins neighbours into runs.
  for (const row of taken) pushRange(out, firstRow + row, firstRow + row + 1);
}

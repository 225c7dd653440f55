/**
 * The storage contract: everything the PromQL evaluator and the HTTP/gRPC APIs need from a data
 * source. The server implements it over Parquet blocks; the engine's tests use an in-memory store.
 *
 * @module
 */
import type { Matcher } from "./matchers.ts";
import type { Series } from "./series.ts";

/** Hints a selection passes to storage so it can read less (Prometheus' `storage.SelectHints`). */
export interface SelectHints {
  /** Start of the time range to read, ms (inclusive). */
  start: number;
  /** End of the time range to read, ms (inclusive). */
  end: number;
  /** Query step, ms (0 for instant queries). */
  step?: number;
  /** The function the selector is an argument of (`"rate"`, `"series"` for metadata-only). */
  func?: string;
  /** Grouping labels of the surrounding aggregation. */
  grouping?: readonly string[];
  /** Whether `grouping` is a `by` (true) or a `without` (false) list. */
  by?: boolean;
  /** Range of a range selector, ms. */
  range?: number;
  /** Maximum number of series to return (0 = unlimited). */
  limit?: number;
}

/** Options for label name/value lookups. */
export interface LabelHints {
  /** Start of the time range, ms. */
  start: number;
  /** End of the time range, ms. */
  end: number;
  /** Maximum number of results (0 = unlimited). */
  limit?: number;
}

/** What a selection returns: series sorted by labels, plus warnings for the response. */
export interface SeriesSet {
  /** Series in label order; the same label set appears at most once. */
  series: Series[];
  /** Non-fatal problems to report as query warnings. */
  warnings: string[];
}

/** A string list with warnings. */
export interface StringsResult {
  /** Sorted, unique values. */
  values: string[];
  /** Non-fatal problems to report as query warnings. */
  warnings: string[];
}

/** A source of series for the engine and the metadata APIs. */
export interface Queryable {
  /** Returns the series matching all matchers that may have samples in the hinted range. */
  select(
    matchers: readonly Matcher[],
    hints: SelectHints,
    signal?: AbortSignal,
  ): Promise<SeriesSet>;
  /** Returns the label names of series matching the matchers (all series when empty). */
  labelNames(
    matchers: readonly Matcher[],
    hints: LabelHints,
    signal?: AbortSignal,
  ): Promise<StringsResult>;
  /** Returns the values of label `name` over series matching the matchers. */
  labelValues(
    name: string,
    matchers: readonly Matcher[],
    hints: LabelHints,
    signal?: AbortSignal,
  ): Promise<StringsResult>;
}

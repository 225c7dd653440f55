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

/**
 * What a selection returns: its series in label order, each label set once, handed over in
 * batches (Prometheus' `storage.SeriesSet`, made asynchronous). A batch costs one await, so a
 * store can read the samples of a whole batch together (one round of chunk reads) and decode
 * them only when a series is iterated; a consumer that drops a batch before asking for the next
 * holds one batch, not the selection. Consume a set once; close it when stopping early.
 */
export interface SeriesSet {
  /**
   * The next batch of series (never empty), or `null` after the last one. Series of earlier
   * batches stay valid. A rejection ends the set.
   */
  next(): Promise<readonly Series[] | null>;
  /** Non-fatal problems to report as query warnings; complete once `next()` gave `null`. */
  warnings(): readonly string[];
  /**
   * Stops the selection and releases what it holds (pending reads are abandoned). Needed only
   * when the set is not read to its end or to an error; calling it again does nothing.
   */
  close(): Promise<void>;
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
  /**
   * Returns the series matching all matchers that may have samples in the hinted range. The
   * set is lazy: a store may start reading at once, but failures (including `signal`'s abort)
   * surface from its `next()`.
   */
  select(
    matchers: readonly Matcher[],
    hints: SelectHints,
    signal?: AbortSignal,
  ): SeriesSet;
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

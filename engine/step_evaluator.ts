/**
 * The evaluator as operators see it. Functions, aggregations and binary operators are given a
 * {@linkcode StepEvaluator} to evaluate their arguments (whole, or as a stream of series
 * batches), account samples and report annotations; the evaluator implements it and dispatches
 * to them, so operator modules never import the evaluator (no import cycle).
 *
 * @module
 */
import type { Expr, MatrixSelector, PositionRange, SubqueryExpr, VectorSelector } from "./ast.ts";
import type { Annotations } from "./annotations.ts";
import type { Labels } from "../model/labels.ts";
import type { Queryable, SelectHints, SeriesSet } from "../model/queryable.ts";
import type { SeriesStream } from "./series_stream.ts";
import type { RangeSeries, StepSeries, StepValue } from "./step_vector.ts";

/** Settings shared by every evaluator of one query. */
export interface QueryContext {
  /** The queried data. */
  queryable: Queryable;
  /** Lookback delta, ms. */
  lookbackDelta: number;
  /** Most samples the query may hold at once. */
  maxSamples: number;
  /** Step of subqueries written without one (`[10m:]`), ms. */
  noStepSubqueryInterval: number;
  /** Prometheus' `promql-delayed-name-removal`. */
  delayedNameRemoval: boolean;
  /**
   * Prometheus' `use-start-timestamps`: `rate`, `irate`, `increase` and `resets` read sample
   * start timestamps and `start_timestamp()` returns them. Off when absent.
   */
  useStartTimestamps?: boolean;
  /** Cancels the query. */
  signal?: AbortSignal;
  /** When the query times out, in `Date.now()` ms (a clock check is cheaper than a timer). */
  deadline: number;
  /** Collected warnings and infos. */
  annotations: Annotations;
  /** Samples currently held (Prometheus' accounting of what a query holds at once). */
  currentSamples: number;
  /** The highest `currentSamples` seen. */
  peakSamples: number;
  /** Samples loaded from storage. */
  totalSamples: number;
  /**
   * Selections opened before evaluation, by selector node: lazy sets whose label phase and
   * first batch storage reads meanwhile. A node's evaluation takes its set (once).
   */
  planned?: Map<VectorSelector, PlannedSelection>;
  /** Storage sets the query opened and has not read to their end; closed when it ends. */
  openSets: Set<SeriesSet>;
}

/** A selection opened before evaluation. */
export interface PlannedSelection {
  /** The hints it was opened with (covering every evaluation of its selector). */
  hints: SelectHints;
  /** The lazy set. */
  set: SeriesSet;
}

/**
 * A batch of a range-vector argument. Series are read one at a time with `read`, so that only
 * one series' samples are decoded at once.
 */
export interface RangeBatch {
  /** Number of series in the batch. */
  readonly length: number;
  /**
   * The samples of series `i` within the span the argument covers, or `undefined` when it has
   * none there. Its arrays may be reused by the next `read` (of any range input): use it, or
   * copy what is kept, before reading another series.
   */
  read(i: number): RangeSeries | undefined;
  /** Samples of the batch accounted as held (subquery results); the consumer releases them. */
  readonly samples: number;
}

/** A range-vector argument (matrix selector or subquery): window placement and its series. */
export interface RangeInput {
  /** Window length, ms. */
  range: number;
  /** Offset, ms. */
  offset: number;
  /** Fixed evaluation time of `@`, ms. */
  at?: number;
  /** The selector, when the argument is a matrix selector (not a subquery). */
  selector?: VectorSelector;
  /** Samples loaded before the window start (anchored/smoothed selectors), ms. */
  extendLow: number;
  /** Samples loaded after the window end (smoothed selectors), ms. */
  extendHigh: number;
  /** The next batch of series, or `null` after the last. */
  next(): Promise<RangeBatch | null>;
  /** Stops reading early, releasing the storage it reads. */
  close(): Promise<void>;
}

/** An instant vector selector evaluated at every step, with optional per-step timestamps. */
export interface SelectedVector {
  /** The series with a value at some step. */
  series: StepSeries[];
  /** Per series, the timestamp of each step's sample (when asked for). */
  ts: Float64Array[];
  /** Per series, the start timestamp of each step's sample (when asked for; 0: unknown). */
  st: Float64Array[];
}

/** What operators need from the evaluator of one (sub)query's steps. */
export interface StepEvaluator {
  /** The query's shared settings and accounting. */
  readonly ctx: QueryContext;
  /** Number of steps. */
  readonly n: number;
  /** First step, ms. */
  readonly start: number;
  /** Last possible step, ms. */
  readonly end: number;
  /** Step width, ms (1 for instant queries). */
  readonly interval: number;
  /** Timestamp of step `i`. */
  time(i: number): number;
  /** Throws if the query was canceled or timed out. */
  checkAbort(): void;
  /** Accounts `n` more samples held in memory; throws when over the limit. */
  addSamples(n: number): void;
  /** Accounts `n` samples no longer held. */
  releaseSamples(n: number): void;
  /** Adds a warning. */
  warn(message: string, pos?: PositionRange): void;
  /** Adds an info annotation. */
  info(message: string, pos?: PositionRange): void;
  /** Labels of a result whose name is dropped: now, or at the end with delayed removal. */
  nameDropped(labels: Labels): Labels;
  /** Evaluates `expr`, keeping the sample accounting of its result. */
  eval(expr: Expr): Promise<StepValue>;
  /** Evaluates an instant-vector expression. */
  evalVector(expr: Expr): Promise<StepSeries[]>;
  /**
   * Evaluates an instant-vector expression a batch of series at a time where it can (vector
   * selectors, range-vector functions), else whole as one batch. Close it when stopping early.
   */
  stream(expr: Expr): Promise<SeriesStream>;
  /** Evaluates a scalar expression to one value per step. */
  evalScalar(expr: Expr): Promise<Float64Array>;
  /**
   * Evaluates a vector selector at every step; with `timestamps` and `startTimestamps` also
   * each step's sample timestamp and start timestamp.
   */
  selectVector(
    vs: VectorSelector,
    timestamps?: boolean,
    startTimestamps?: boolean,
  ): Promise<SelectedVector>;
  /**
   * Opens a range-vector argument of function `func` (a matrix selector or a subquery) for
   * reading its series batch by batch. Close it when stopping early.
   */
  rangeInput(e: MatrixSelector | SubqueryExpr, func?: string): Promise<RangeInput>;
}

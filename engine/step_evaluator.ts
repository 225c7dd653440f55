/**
 * The evaluator as operators see it. Functions, aggregations and binary operators are given a
 * {@linkcode StepEvaluator} to evaluate their arguments, account samples and report
 * annotations; the evaluator implements it and dispatches to them, so operator modules never
 * import the evaluator (no import cycle).
 *
 * @module
 */
import type { Expr, MatrixSelector, PositionRange, SubqueryExpr, VectorSelector } from "./ast.ts";
import type { Annotations } from "./annotations.ts";
import type { Labels } from "../model/labels.ts";
import type { Queryable, SelectHints } from "../model/queryable.ts";
import type { Series } from "../model/series.ts";
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
  /** Samples currently held (approximation of Prometheus' accounting). */
  currentSamples: number;
  /** The highest `currentSamples` seen. */
  peakSamples: number;
  /** Samples loaded from storage. */
  totalSamples: number;
  /** Selections sent to storage before evaluation, by selector node. */
  prefetched?: Map<VectorSelector, Prefetched>;
}

/** A selection started before evaluation: its hints and its outcome. */
export interface Prefetched {
  /** The hints it was sent with. */
  hints: SelectHints;
  /** Every series of the selection with its warnings, or the error storage gave. */
  result: Promise<{ series: Series[]; warnings: string[] } | Error>;
}

/** A loaded range-vector argument and its window placement. */
export interface RangeInput {
  /** The loaded series. */
  series: RangeSeries[];
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
  /** Loads the samples a range function of `func` needs from a matrix selector or subquery. */
  loadRange(e: MatrixSelector | SubqueryExpr, func?: string): Promise<RangeInput>;
}

/**
 * The PromQL engine: parses a query, prepares it and evaluates it over a {@linkcode Queryable}
 * as an instant or a range query, with Prometheus 3.x semantics (left-open lookback and range
 * windows, stale markers, `@`/offset, subqueries aligned to their step, delayed `__name__`
 * removal), a sample limit, a timeout and cancellation through an `AbortSignal`.
 *
 * @example
 * ```ts
 * const engine = new Engine();
 * const res = await engine.instantQuery(queryable, "sum by (job) (rate(http_requests_total[5m]))", Date.now());
 * ```
 *
 * @module
 */
import type { Expr } from "./ast.ts";
import { Annotations } from "./annotations.ts";
import { QueryError } from "./errors.ts";
import { compareLabels } from "../model/labels.ts";
import { exprType, Features, parseExpr } from "./parser.ts";
import type { Queryable } from "../model/queryable.ts";
import { Evaluator, storageError } from "./evaluator.ts";
import type { QueryContext } from "./step_evaluator.ts";
import { dropMetricName } from "./metric_name.ts";
import { prepareExpr } from "./prepare.ts";
import { planSelects } from "./select_plan.ts";
import { HistogramError } from "./histogram_ops.ts";
import { ABSENT, FLOAT, mergeSameLabels, type StepSeries, type StepValue } from "./step_vector.ts";
import type { MatrixSeries, QueryResult, Sample, Value } from "./value.ts";

/** Engine settings. */
export interface EngineOptions {
  /** Lookback delta for instant vector selectors, ms (default 5m). */
  lookbackDelta?: number;
  /** Most samples a query may hold in memory (default 50,000,000, Prometheus' default). */
  maxSamples?: number;
  /** Query timeout, ms (default 2m). */
  timeout?: number;
  /** Step of subqueries written without one, ms (default 1m, the evaluation interval). */
  noStepSubqueryInterval?: number;
  /**
   * Enabled PromQL feature flags (see `Features` in parser.ts). Default: all of them, as the
   * Prometheus test suite runs. The engine flag {@linkcode USE_START_TIMESTAMPS} is only on
   * when listed here.
   */
  features?: Iterable<string>;
  /**
   * Prometheus' `promql-delayed-name-removal`. Default: on when `features` is not given or
   * lists `promql-delayed-name-removal`.
   */
  delayedNameRemoval?: boolean;
}

/** Per-query options. */
export interface QueryOptions {
  /** Overrides the engine's lookback delta, ms (0 or absent: engine default). */
  lookbackDelta?: number;
  /** Cancels the query; an abort with a `TimeoutError` reason counts as a timeout. */
  signal?: AbortSignal;
  /**
   * The query text, when `query` is passed already parsed: annotations then carry positions
   * (`(1:5)`) as Prometheus' API shows them.
   */
  queryText?: string;
}

const DEFAULT_LOOKBACK = 5 * 60_000;
/** The feature flag name of delayed `__name__` removal. */
export const DELAYED_NAME_REMOVAL = "promql-delayed-name-removal";
/**
 * The feature flag under which `rate`, `irate`, `increase` and `resets` use sample start
 * timestamps and `start_timestamp()` returns them (Prometheus' `use-start-timestamps`).
 */
export const USE_START_TIMESTAMPS = "use-start-timestamps";

/**
 * What a query front end (the HTTP and gRPC APIs, the PromQL test runner) needs from an
 * engine; {@linkcode Engine} is the implementation.
 */
export interface QueryEngine {
  /** Parses a query with the engine's feature flags (default: the plain parser). */
  parse?(query: string): Expr;
  /** Evaluates an instant query at `time` (ms). */
  instantQuery(
    queryable: Queryable,
    query: string | Expr,
    time: number,
    opts?: QueryOptions,
  ): Promise<QueryResult>;
  /** Evaluates a range query (ms). */
  rangeQuery(
    queryable: Queryable,
    query: string | Expr,
    start: number,
    end: number,
    step: number,
    opts?: QueryOptions,
  ): Promise<QueryResult>;
}

/** Evaluates PromQL queries. */
export class Engine implements QueryEngine {
  readonly #lookbackDelta: number;
  readonly #maxSamples: number;
  readonly #timeout: number;
  readonly #noStepSubqueryInterval: number;
  readonly #features: ReadonlySet<string>;
  readonly #delayedNameRemoval: boolean;

  /** Creates an engine. */
  constructor(opts: EngineOptions = {}) {
    this.#lookbackDelta = opts.lookbackDelta || DEFAULT_LOOKBACK;
    this.#maxSamples = opts.maxSamples ?? 50_000_000;
    this.#timeout = opts.timeout ?? 120_000;
    this.#noStepSubqueryInterval = opts.noStepSubqueryInterval ?? 60_000;
    this.#features = new Set(opts.features ?? Object.values(Features));
    // The engine flag may also come in the feature list, as Prometheus' --enable-feature does.
    this.#delayedNameRemoval = opts.delayedNameRemoval ??
      (opts.features === undefined || this.#features.has(DELAYED_NAME_REMOVAL));
  }

  /** Parses a query with this engine's feature flags. */
  parse(query: string): Expr {
    return parseExpr(query, { features: this.#features });
  }

  /** Evaluates `query` at `time` (ms). */
  async instantQuery(
    queryable: Queryable,
    query: string | Expr,
    time: number,
    opts: QueryOptions = {},
  ): Promise<QueryResult> {
    return await this.#exec(queryable, query, time, time, 0, opts);
  }

  /** Evaluates `query` at `start, start+step, ... <= end` (ms). */
  async rangeQuery(
    queryable: Queryable,
    query: string | Expr,
    start: number,
    end: number,
    step: number,
    opts: QueryOptions = {},
  ): Promise<QueryResult> {
    if (!(step > 0)) {
      throw new QueryError(
        "execution",
        "zero or negative query resolution step widths are not accepted",
      );
    }
    if (end < start) {
      throw new QueryError("execution", "end timestamp must not be before start time");
    }
    return await this.#exec(queryable, query, start, end, step, opts);
  }

  async #exec(
    queryable: Queryable,
    query: string | Expr,
    start: number,
    end: number,
    step: number,
    opts: QueryOptions,
  ): Promise<QueryResult> {
    const expr = typeof query === "string" ? this.parse(query) : query;
    const type = exprType(expr);
    const isRange = step > 0;
    if (isRange && type !== "scalar" && type !== "vector") {
      throw new QueryError(
        "execution",
        `invalid expression type "${
          type === "matrix" ? "range vector" : type
        }" for range query, must be Scalar or instant Vector`,
      );
    }
    const ctx: QueryContext = {
      queryable,
      lookbackDelta: opts.lookbackDelta || this.#lookbackDelta,
      maxSamples: this.#maxSamples,
      noStepSubqueryInterval: this.#noStepSubqueryInterval,
      delayedNameRemoval: this.#delayedNameRemoval,
      useStartTimestamps: this.#features.has(USE_START_TIMESTAMPS),
      signal: opts.signal,
      deadline: Date.now() + this.#timeout,
      annotations: new Annotations(typeof query === "string" ? query : opts.queryText),
      currentSamples: 0,
      peakSamples: 0,
      totalSamples: 0,
      openSets: new Set(),
    };
    const prepared = prepareExpr(expr, {
      start,
      end,
      step,
      query: typeof query === "string" ? query : opts.queryText,
    });
    // Prometheus evaluates instant queries with an interval of 1ms over a single step.
    const ev = new Evaluator(ctx, start, end, isRange ? step : 1);
    // Open every selection at once (lazily: see select_plan.ts); evaluation takes each when it
    // reaches its selector.
    ctx.planned = new Map();
    let v: StepValue;
    try {
      for (
        const { selector, hints } of planSelects(prepared, start, end, step, ctx.lookbackDelta)
      ) {
        let set;
        try {
          set = queryable.select(selector.matchers, hints, opts.signal);
        } catch (err) {
          throw storageError(err);
        }
        ctx.openSets.add(set);
        ctx.planned.set(selector, { hints, set });
      }
      v = await ev.eval(prepared);
    } catch (e) {
      // Histogram arithmetic failures that no operator turned into an annotation.
      if (e instanceof HistogramError) throw new QueryError("execution", e.message, { cause: e });
      throw e;
    } finally {
      // Sets not read to their end: never evaluated, or left by a failure.
      await Promise.all([...ctx.openSets].map((s) => s.close()));
    }
    ev.checkAbort();
    const value = toResult(ev, v, isRange);
    return {
      value,
      warnings: [...ctx.annotations.warnings],
      infos: [...ctx.annotations.infos],
      stats: { totalQueryableSamples: ctx.totalSamples, peakSamples: ctx.peakSamples },
    };
  }
}

/** Drops deferred metric names and merges series that then share a label set. */
function cleanup(ev: Evaluator, series: StepSeries[]): StepSeries[] {
  if (!ev.ctx.delayedNameRemoval) return series;
  let changed = false;
  const out = series.map((s) => {
    if (!s.dropName) return s;
    const labels = dropMetricName(s.labels);
    if (labels === s.labels) return s;
    changed = true;
    return { ...s, labels, dropName: false };
  });
  return changed ? mergeSameLabels(out) : out;
}

function toMatrixSeries(ev: Evaluator, s: StepSeries): MatrixSeries {
  const floatTimes: number[] = [];
  const floatValues: number[] = [];
  const histograms: MatrixSeries["histograms"] = [];
  for (let i = 0; i < ev.n; i++) {
    if (s.k[i] === ABSENT) continue;
    if (s.k[i] === FLOAT) {
      floatTimes.push(ev.time(i));
      floatValues.push(s.f[i]);
    } else histograms.push({ t: ev.time(i), h: s.h![i]! });
  }
  return { labels: s.labels, floatTimes, floatValues, histograms };
}

function toResult(ev: Evaluator, v: StepValue, isRange: boolean): Value {
  const t = ev.start;
  switch (v.type) {
    case "string":
      return { type: "string", t, v: v.v };
    case "scalar":
      if (!isRange) return { type: "scalar", t, v: v.v[0] };
      return {
        type: "matrix",
        series: ev.n === 0 ? [] : [{
          labels: [],
          floatTimes: Array.from({ length: ev.n }, (_, i) => ev.time(i)),
          floatValues: Array.from(v.v),
          histograms: [],
        }],
      };
    case "matrix": {
      let series = v.series;
      if (ev.ctx.delayedNameRemoval) {
        series = series.map((s) => s.dropName ? { ...s, labels: dropMetricName(s.labels) } : s);
      }
      const out: MatrixSeries[] = series.map((s) => ({
        labels: s.labels,
        floatTimes: Array.from(s.ft),
        floatValues: Array.from(s.fv),
        histograms: s.hv.map((h, i) => ({ t: s.ht[i], h })),
      }));
      out.sort((a, b) => compareLabels(a.labels, b.labels));
      return { type: "matrix", series: out };
    }
    case "vector": {
      const series = cleanup(ev, v.series);
      if (isRange) {
        const out = series.map((s) => toMatrixSeries(ev, s)).filter((s) =>
          s.floatTimes.length + s.histograms.length > 0
        );
        out.sort((a, b) => compareLabels(a.labels, b.labels));
        return { type: "matrix", series: out };
      }
      const samples: Sample[] = [];
      for (const s of series) {
        if (s.k[0] === FLOAT) samples.push({ labels: s.labels, t, f: s.f[0] });
        else if (s.k[0] !== ABSENT) samples.push({ labels: s.labels, t, f: 0, h: s.h![0]! });
      }
      return { type: "vector", samples };
    }
  }
}

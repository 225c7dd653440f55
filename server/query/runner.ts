/**
 * What the HTTP and gRPC query APIs need to evaluate PromQL: a {@linkcode QueryRunner} takes the
 * query as text with its times and a deadline, and resolves to the engine's result. The pool of
 * query workers (`pool.ts`) is one; {@linkcode engineRunner} evaluates on the calling thread (the
 * workers use it, and so do tests and embedders without a pool).
 *
 * Either way the deadline holds while the evaluation is CPU-bound (see `abort.ts`): it ends with
 * a `QueryError` of kind `timeout`, and a `signal` that aborts ends it with kind `canceled`.
 *
 * @module
 */
import type { QueryEngine } from "../../engine/engine.ts";
import type { QueryResult } from "../../engine/value.ts";
import type { Queryable } from "../../model/queryable.ts";
import { queryAbort } from "./abort.ts";

/** One PromQL evaluation: plain data, posted as is to a query worker. */
export interface QuerySpec {
  /** The query text. */
  readonly query: string;
  /** Evaluation time of an instant query, or the first step of a range query, ms. */
  readonly start: number;
  /** Last step of a range query, ms (`start` for an instant query). */
  readonly end: number;
  /** Step of a range query, ms; 0 for an instant query. */
  readonly step: number;
  /** Lookback delta, ms; 0 for the engine's. */
  readonly lookbackDelta: number;
}

/** How a {@linkcode QueryRunner} must bound one evaluation. */
export interface RunOptions {
  /** When the evaluation must have stopped, ms since the epoch. */
  readonly deadline: number;
  /** Cancels the evaluation (a client that went away). */
  readonly signal?: AbortSignal;
}

/** Evaluates PromQL queries. */
export interface QueryRunner {
  /**
   * Evaluates `spec`; rejects with a `QueryError` of kind `timeout` at the deadline and of kind
   * `canceled` when the signal aborts, as well as with the engine's errors.
   */
  run(spec: QuerySpec, opts: RunOptions): Promise<QueryResult>;
}

/**
 * The deadline of a query admitted at `now`: the smallest of the given timeouts (ms; `undefined`
 * entries are ignored) wins, as the request's `timeout`, `--query.timeout` and
 * `--query.engine.timeout` all bound a query.
 */
export function queryDeadline(now: number, ...timeouts: (number | undefined)[]): number {
  let shortest = Infinity;
  for (const t of timeouts) if (t !== undefined && t < shortest) shortest = t;
  return now + Math.max(1, shortest);
}

/** Evaluates `spec` with `engine` over `queryable`, stopping when `signal` aborts. */
export async function evaluate(
  engine: QueryEngine,
  queryable: Queryable,
  spec: QuerySpec,
  signal: AbortSignal,
): Promise<QueryResult> {
  const opts = { signal, lookbackDelta: spec.lookbackDelta };
  return spec.step > 0
    ? await engine.rangeQuery(queryable, spec.query, spec.start, spec.end, spec.step, opts)
    : await engine.instantQuery(queryable, spec.query, spec.start, opts);
}

/** A runner evaluating on the calling thread with `engine` over a fresh `queryable()` per query. */
export function engineRunner(engine: QueryEngine, queryable: () => Queryable): QueryRunner {
  return {
    async run(spec, opts) {
      const abort = queryAbort(opts.deadline, opts.signal);
      try {
        return await evaluate(engine, queryable(), spec, abort.signal);
      } finally {
        abort.dispose();
      }
    },
  };
}

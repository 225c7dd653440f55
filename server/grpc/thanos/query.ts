/**
 * The Thanos Query API (`thanos.Query`, used by a querier in distributed mode): evaluates
 * PromQL with the {@linkcode QueryEngine} and streams the result as prompb time series, then
 * the sample statistics. Times in requests are seconds. The JSON query plan is ignored and
 * `query` is parsed instead, as thanos-parquet-gateway does.
 *
 * A query ends at the earliest of the call's deadline (`grpc-timeout`), the request's
 * `timeout_seconds` and the server's timeouts, with DEADLINE_EXCEEDED, and with CANCELLED when
 * the client cancels; evaluation stops then too (see `server/query/runner.ts`).
 *
 * @module
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { FloatHistogram } from "../../../model/histogram.ts";
import type { Labels } from "../../../model/labels.ts";
import { dropLabels } from "../../../model/labels.ts";
import type { Queryable } from "../../../model/queryable.ts";
import type { QueryResult } from "../../../engine/value.ts";
import {
  Query,
  type QueryRangeRequest,
  type QueryRangeResponseSchema,
  type QueryRequest,
  type QueryResponseSchema,
} from "../../../proto/gen/api/query/querypb/query_pb.ts";
import type {
  HistogramSchema,
  TimeSeriesSchema,
} from "../../../proto/gen/store/storepb/prompb/types_pb.ts";
import type { QueryEngine } from "../../../engine/engine.ts";
import { engineRunner, queryDeadline, type QueryRunner } from "../../query/runner.ts";
import type { CallContext, GrpcServer } from "../server.ts";
import { type Admission, admit, UNLIMITED_ADMISSION } from "./admission.ts";
import { fromMs, toGrpcError, toPbLabels } from "./convert.ts";

/** Options of {@linkcode registerQueryService}. */
export interface QueryServiceOptions {
  /** The PromQL engine. */
  engine: QueryEngine;
  /**
   * The data for one request. Its series should carry the endpoint's external labels: a
   * distributed querier groups and deduplicates remote results by them.
   */
  queryable: () => Queryable;
  /** Lookback delta when the request has none, ms. */
  lookbackDelta: number;
  /** Admission of Query and QueryRange calls (default: all at once). */
  admission?: Admission;
  /**
   * Evaluates the queries (e.g. the query worker pool). Default: `engine` over `queryable()`
   * on the calling thread.
   */
  runner?: QueryRunner;
  /** `--query.timeout`: bounds every query, ms (default: none). */
  timeout?: number;
  /** `--query.engine.timeout`: bounds every query, ms (default: none). */
  engineTimeout?: number;
}

type TimeSeriesInit = MessageInitShape<typeof TimeSeriesSchema>;
type HistogramInit = MessageInitShape<typeof HistogramSchema>;
type ResponseInit = MessageInitShape<typeof QueryResponseSchema>;

/** Converts an engine histogram to prompb's float form (absolute counts). */
export function toPbHistogram(h: FloatHistogram, t: number): HistogramInit {
  return {
    count: { case: "countFloat", value: h.count },
    sum: h.sum,
    schema: h.schema,
    zeroThreshold: h.zeroThreshold,
    zeroCount: { case: "zeroCountFloat", value: h.zeroCount },
    negativeSpans: h.negativeSpans.map((s) => ({ offset: s.offset, length: s.length })),
    negativeCounts: [...h.negativeBuckets],
    positiveSpans: h.positiveSpans.map((s) => ({ offset: s.offset, length: s.length })),
    positiveCounts: [...h.positiveBuckets],
    resetHint: h.counterResetHint,
    timestamp: fromMs(t),
    customValues: [...h.customValues],
  };
}

/** The time series of a result, with `drop` labels removed; strings yield nothing. */
export function resultSeries(result: QueryResult, drop: ReadonlySet<string>): TimeSeriesInit[] {
  const labels = (l: Labels) => toPbLabels(drop.size > 0 ? dropLabels(l, drop) : l);
  const v = result.value;
  switch (v.type) {
    case "scalar":
      return [{ labels: [], samples: [{ value: v.v, timestamp: fromMs(v.t) }] }];
    case "string":
      return [];
    case "vector":
      return v.samples.map((s) =>
        s.h
          ? { labels: labels(s.labels), histograms: [toPbHistogram(s.h, s.t)] }
          : { labels: labels(s.labels), samples: [{ value: s.f, timestamp: fromMs(s.t) }] }
      );
    case "matrix":
      return v.series.map((s) => ({
        labels: labels(s.labels),
        samples: s.floatTimes.map((t, i) => ({ value: s.floatValues[i], timestamp: fromMs(t) })),
        histograms: s.histograms.map((p) => toPbHistogram(p.h, p.t)),
      }));
  }
}

function* responses(result: QueryResult, drop: ReadonlySet<string>, batchSize: number) {
  if (result.warnings.length > 0) {
    yield { result: { case: "warnings", value: result.warnings.join(", ") } } as ResponseInit;
  }
  const series = resultSeries(result, drop);
  if (batchSize > 1) {
    for (let i = 0; i < series.length; i += batchSize) {
      yield {
        result: { case: "timeseriesBatch", value: { series: series.slice(i, i + batchSize) } },
      } as ResponseInit;
    }
  } else {
    for (const s of series) yield { result: { case: "timeseries", value: s } } as ResponseInit;
  }
  yield {
    result: {
      case: "stats",
      value: {
        samplesTotal: BigInt(result.stats.totalQueryableSamples),
        peakSamples: BigInt(result.stats.peakSamples),
      },
    },
  } as ResponseInit;
}

/** Registers `thanos.Query` on `server`. */
export function registerQueryService(server: GrpcServer, opts: QueryServiceOptions): void {
  const lookback = (s: bigint) => s > 0n ? Number(s) * 1000 : opts.lookbackDelta;
  const runner = opts.runner ?? engineRunner(opts.engine, opts.queryable);

  const admission = opts.admission ?? UNLIMITED_ADMISSION;

  const run = async (
    text: string,
    start: number,
    end: number,
    step: number,
    req: { timeoutSeconds: bigint; lookbackDeltaSeconds: bigint },
    ctx: CallContext,
  ): Promise<QueryResult> => {
    const now = Date.now();
    const release = await admit(admission, ctx);
    try {
      // Parse errors are the client's (InvalidArgument), before any worker is involved.
      opts.engine.parse?.(text);
      return await runner.run(
        { query: text, start, end, step, lookbackDelta: lookback(req.lookbackDeltaSeconds) },
        {
          signal: ctx.signal,
          deadline: queryDeadline(
            now,
            req.timeoutSeconds > 0n ? Number(req.timeoutSeconds) * 1000 : undefined,
            ctx.deadline === undefined ? undefined : ctx.deadline - now,
            opts.timeout,
            opts.engineTimeout,
          ),
        },
      );
    } catch (e) {
      throw toGrpcError(e, ctx.signal);
    } finally {
      release();
    }
  };

  async function* query(req: QueryRequest, ctx: CallContext) {
    const time = Number(req.timeSeconds) * 1000;
    const result = await run(req.query, time, time, 0, req, ctx);
    yield* responses(result, new Set(req.replicaLabels), Number(req.responseBatchSize));
  }

  async function* queryRange(req: QueryRangeRequest, ctx: CallContext) {
    const result = await run(
      req.query,
      Number(req.startTimeSeconds) * 1000,
      Number(req.endTimeSeconds) * 1000,
      Number(req.intervalSeconds) * 1000,
      req,
      ctx,
    );
    // The range response is the same message under another name; the objects here are plain
    // init objects without a type name, so they build either message.
    for (const r of responses(result, new Set(req.replicaLabels), Number(req.responseBatchSize))) {
      yield r as unknown as MessageInitShape<typeof QueryRangeResponseSchema>;
    }
  }

  server.addService(Query, { query, queryRange });
}

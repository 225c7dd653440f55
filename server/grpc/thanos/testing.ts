/**
 * Test fixtures for the Thanos services: an in-memory {@linkcode Queryable}, a tiny engine that
 * answers bare metric names, a server with Info, Store and Query registered over them, and the
 * grpc-go client that checks sharded Series answers.
 *
 * @module
 */
import { create, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { ParseError, QueryError } from "../../../engine/errors.ts";
import type { FloatHistogram } from "../../../model/histogram.ts";
import {
  compareLabels,
  compareStrings,
  getLabel,
  type Labels,
  labelsFromRecord,
} from "../../../model/labels.ts";
import { Matcher, matchesAll, MatchType } from "../../../model/matchers.ts";
import type { Queryable, SeriesSet } from "../../../model/queryable.ts";
import { ArraySampleIterator, type Series, ValueType } from "../../../model/series.ts";
import { collectSeries, IterableSeriesSet } from "../../../model/series_set.ts";
import type { QueryResult } from "../../../engine/value.ts";
import type { QueryEngine } from "../../../engine/engine.ts";
import { type QueryLimits, RequestQuotas, UNLIMITED } from "../../db/limits.ts";
import { serveHttp2 } from "../http2/server.ts";
import { HealthService } from "../health.ts";
import { GrpcServer } from "../server.ts";
import { SeriesRequestSchema, ShardInfoSchema } from "../../../proto/gen/store/storepb/rpc_pb.ts";
import { TestClient } from "../testing.ts";
import { buildGoProgram } from "../testing_go.ts";
import { registerInfoService } from "./info.ts";
import { registerQueryService } from "./query.ts";
import { queryableSource } from "./source.ts";
import { registerStoreService } from "./store.ts";

/** One in-memory series. */
export interface MemSeries {
  labels: Labels;
  ts: number[];
  values: number[];
  histograms?: (FloatHistogram | undefined)[];
}

/**
 * A small in-memory implementation of the engine's storage contract. Each call counts the series
 * it covers against the row `limits`, with fresh quotas, as ParquetDB counts rows.
 */
export class MemQueryable implements Queryable {
  constructor(
    readonly data: MemSeries[],
    readonly failWith?: Error,
    readonly limits: QueryLimits = UNLIMITED,
  ) {}

  #matching(matchers: readonly Matcher[], start: number, end: number): MemSeries[] {
    if (this.failWith) throw this.failWith;
    return this.data
      .filter((s) => matchesAll(matchers, s.labels) && s.ts.some((t) => t >= start && t <= end))
      .sort((a, b) => compareLabels(a.labels, b.labels));
  }

  select(
    matchers: readonly Matcher[],
    hints: { start: number; end: number; limit?: number },
  ): SeriesSet {
    return new IterableSeriesSet(this.#select(matchers, hints), {
      batchSize: 2,
      warnings: ["mem warning"],
    });
  }

  *#select(
    matchers: readonly Matcher[],
    hints: { start: number; end: number; limit?: number },
  ): Generator<Series> {
    let found = this.#matching(matchers, hints.start, hints.end);
    if (hints.limit) found = found.slice(0, hints.limit);
    new RequestQuotas(this.limits).selectRows.reserve(found.length);
    for (const s of found) {
      yield {
        labels: s.labels,
        iterator: () => new ArraySampleIterator(s.ts, s.values, s.histograms),
      };
    }
  }

  labelNames(matchers: readonly Matcher[], hints: { start: number; end: number }) {
    const names = new Set<string>();
    const found = this.#matching(matchers, hints.start, hints.end);
    new RequestQuotas(this.limits).labelNamesRows.reserve(found.length);
    for (const s of found) {
      for (const l of s.labels) names.add(l.name);
    }
    return Promise.resolve({ values: [...names].sort(compareStrings), warnings: [] });
  }

  labelValues(name: string, matchers: readonly Matcher[], hints: { start: number; end: number }) {
    const values = new Set<string>();
    const found = this.#matching(matchers, hints.start, hints.end);
    new RequestQuotas(this.limits).labelValuesRows.reserve(found.length);
    for (const s of found) {
      const v = getLabel(s.labels, name);
      if (v !== "") values.add(v);
    }
    return Promise.resolve({ values: [...values].sort(compareStrings), warnings: [] });
  }
}

/** The histogram sample of series `h`. */
export const HIST: FloatHistogram = {
  counterResetHint: 2,
  schema: 1,
  zeroThreshold: 0.001,
  zeroCount: 2,
  count: 10,
  sum: 42.5,
  positiveSpans: [{ offset: 0, length: 2 }],
  negativeSpans: [],
  positiveBuckets: Float64Array.from([3, 5]),
  negativeBuckets: new Float64Array(0),
  customValues: new Float64Array(0),
};

/** Numbers from `from` to `to` inclusive by `step`. */
export const range = (from: number, to: number, step: number) => {
  const out: number[] = [];
  for (let t = from; t <= to; t += step) out.push(t);
  return out;
};

/** The fixture series. */
export const DATA: MemSeries[] = [
  // {a=1} sorts before {a=1,b=1}; with the external label c it sorts after.
  { labels: labelsFromRecord({ __name__: "m", a: "1" }), ts: [1000, 2000], values: [1, 2] },
  {
    labels: labelsFromRecord({ __name__: "m", a: "1", b: "1" }),
    ts: [1000, 2000],
    values: [3, 4],
  },
  {
    labels: labelsFromRecord({ __name__: "up", job: "api", instance: "x" }),
    ts: range(0, 299_000, 1000),
    values: range(0, 299, 1),
  },
  {
    labels: labelsFromRecord({ __name__: "up", job: "web", replica: "r0" }),
    ts: [5000],
    values: [7],
  },
  {
    labels: labelsFromRecord({ __name__: "h" }),
    ts: [1000, 2000],
    values: [0, 5],
    histograms: [HIST, undefined],
  },
];

/** The external labels of the fixture server. */
export const EXTERNAL = labelsFromRecord({ c: "x", replica: "A" });

/** A mini engine that answers a bare metric name: latest sample within the lookback. */
export const engine: QueryEngine = {
  async instantQuery(q, query, time, opts) {
    if (typeof query !== "string") throw new Error("string queries only");
    if (query === "syntax(") {
      throw new ParseError([{ query, pos: { start: 7, end: 7 }, message: "unclosed" }]);
    }
    if (query === "too_big") throw new QueryError("too_many_samples", "too many samples");
    const lookback = opts?.lookbackDelta ?? 300_000;
    const set = await collectSeries(q.select(
      [new Matcher(MatchType.Equal, "__name__", query)],
      { start: time - lookback, end: time },
    ));
    const samples = [];
    for (const s of set.series) {
      const it = s.iterator();
      let last: { t: number; f: number; h?: FloatHistogram } | undefined;
      for (let vt = it.seek(time - lookback); vt !== ValueType.None; vt = it.next()) {
        if (it.atT() > time) break;
        last = vt === ValueType.Float
          ? { t: it.atT(), f: it.atFloat() }
          : { t: it.atT(), f: 0, h: it.atFloatHistogram() };
      }
      if (last) samples.push({ labels: s.labels, t: time, f: last.f, h: last.h });
    }
    return {
      value: { type: "vector", samples },
      warnings: ["w1", "w2"],
      infos: [],
      stats: { totalQueryableSamples: samples.length, peakSamples: 1 },
    } satisfies QueryResult;
  },
  rangeQuery(_q, query, start, end, step) {
    if (query !== "scalar_range") throw new Error("unsupported");
    const floatTimes = range(start, end, step);
    return Promise.resolve<QueryResult>({
      value: {
        type: "matrix",
        series: [{
          labels: labelsFromRecord({ job: "j", replica: "r1" }),
          floatTimes,
          floatValues: floatTimes.map((t) => t / 1000),
          histograms: [],
        }],
      },
      warnings: [],
      infos: [],
      stats: { totalQueryableSamples: floatTimes.length, peakSamples: floatTimes.length },
    });
  },
};

/**
 * Starts the fixture server (optionally failing every storage call, or those over row limits)
 * and a grpc-js client.
 */
export async function start(data = DATA, failWith?: Error, limits?: QueryLimits) {
  const grpc = new GrpcServer();
  new HealthService().register(grpc);
  const mem = new MemQueryable(data, failWith, limits);
  registerInfoService(grpc, {
    externalLabels: EXTERNAL,
    supportsWithoutReplicaLabels: true,
    queryApi: true,
    state: () => ({
      minTime: -Infinity,
      maxTime: Infinity,
      tsdbInfos: [{ labels: EXTERNAL, minTime: 0, maxTime: 299_000 }],
    }),
  });
  registerStoreService(grpc, { source: () => queryableSource(mem), externalLabels: EXTERNAL });
  registerQueryService(grpc, { engine, queryable: () => mem, lookbackDelta: 300_000 });
  const server = await serveHttp2({ port: 0, hostname: "127.0.0.1" }, grpc.handle);
  const client = new TestClient(`127.0.0.1:${server.addr.port}`);
  return {
    client,
    port: server.addr.port,
    async stop() {
      client.close();
      await server.shutdown(1000);
    },
  };
}

/** What the grpc-go shard client saw: series as `{name="value",...}` text. */
export interface GoShardAnswers {
  /** The series of the unsharded request. */
  unsharded: string[];
  /** The series of each shard's request, by shard index. */
  shards: string[][];
  /** Sharded series whose hash, computed in Go as Thanos does, puts them in another shard. */
  misplaced: string[];
}

let shardClient: Promise<string | null> | undefined;

/**
 * Builds (once) the grpc-go client `../testdata/grpcgo_shard_client.go`; null when it cannot be
 * built here (no Go toolchain, grpc-go or xxhash library), and tests using it then skip.
 */
export function goShardClient(): Promise<string | null> {
  return shardClient ??= buildGoProgram(
    new URL("../testdata/grpcgo_shard_client.go", import.meta.url).pathname,
    ["google.golang.org/grpc", "github.com/cespare/xxhash"],
  );
}

/**
 * Sends `request` unsharded and once per shard of `total` (sharded by `shardBy`) through the
 * grpc-go client `../testdata/grpcgo_shard_client.go` to `127.0.0.1:port`, which checks every
 * sharded series against Thanos' hash itself. Null when {@linkcode goShardClient} is.
 */
export async function goShardAnswers(
  port: number,
  request: MessageInitShape<typeof SeriesRequestSchema>,
  shardBy: { by: boolean; labels: string[] },
  total: number,
): Promise<GoShardAnswers | null> {
  const exe = await goShardClient();
  if (exe === null) return null;
  const hex = (shardInfo?: MessageInitShape<typeof ShardInfoSchema>) => {
    const req = create(SeriesRequestSchema, request);
    if (shardInfo) req.shardInfo = create(ShardInfoSchema, shardInfo);
    return Array.from(toBinary(SeriesRequestSchema, req), (b) => b.toString(16).padStart(2, "0"))
      .join("");
  };
  const shardRequests = Array.from(
    { length: total },
    (_, i) => hex({ shardIndex: BigInt(i), totalShards: BigInt(total), ...shardBy }),
  );
  const out = await new Deno.Command(exe, {
    args: [String(port), String(shardBy.by), shardBy.labels.join(","), hex(), ...shardRequests],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

import assert from "node:assert/strict";
import {
  QueryRangeRequestSchema,
  QueryRangeResponseSchema,
  QueryRequestSchema,
  QueryResponseSchema,
} from "../../../proto/gen/api/query/querypb/query_pb.ts";
import { InfoRequestSchema, InfoResponseSchema } from "../../../proto/gen/info/infopb/rpc_pb.ts";
import {
  LabelNamesRequestSchema,
  LabelNamesResponseSchema,
  LabelValuesRequestSchema,
  LabelValuesResponseSchema,
  SeriesRequestSchema,
  type SeriesResponse,
  SeriesResponseSchema,
} from "../../../proto/gen/store/storepb/rpc_pb.ts";
import {
  Chunk_Encoding,
  LabelMatcher_Type,
  type Series as PbSeries,
} from "../../../proto/gen/store/storepb/types_pb.ts";
import { ValueType } from "../../../model/series.ts";
import { XorIterator } from "../../../storage/tsdb/xor.ts";
import { QuotaExceededError } from "../../db/limits.ts";
import { Code } from "../status.ts";
import { labelsFromRecord } from "../../../model/labels.ts";
import { serveHttp2 } from "../http2/server.ts";
import { GrpcServer } from "../server.ts";
import { TestClient } from "../testing.ts";
import { queryableSource, type StoreSource } from "./source.ts";
import { shardHash } from "./shard.ts";
import { registerStoreService, TRUNCATED_WARNING } from "./store.ts";
import { DATA, HIST, MemQueryable, range, start } from "./testing.ts";
import { FloatHistogramIterator } from "../../../storage/tsdb/float_histogram.ts";

function labelsOf(s: PbSeries): Record<string, string> {
  return Object.fromEntries(s.labels.map((l) => [l.name, l.value]));
}

function seriesOf(msgs: SeriesResponse[]): PbSeries[] {
  return msgs.flatMap((m) =>
    m.result.case === "series"
      ? [m.result.value]
      : m.result.case === "batch"
      ? m.result.value.series
      : []
  );
}

function warningsOf(msgs: SeriesResponse[]): string[] {
  return msgs.flatMap((m) => m.result.case === "warning" ? [m.result.value] : []);
}

function decodeXor(data: Uint8Array): [number, number][] {
  const it = new XorIterator(data);
  const out: [number, number][] = [];
  while (it.next() !== ValueType.None) out.push([it.atT(), it.atFloat()]);
  return out;
}

async function rejectionCode(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (e) {
    return (e as { code: number }).code;
  }
  assert.fail("expected an error");
}

Deno.test("thanos Info: store component, label sets, int64 range, store and query present", async () => {
  const { client, stop } = await start();
  try {
    const res = await client.unary(
      "/thanos.info.Info/Info",
      InfoRequestSchema,
      InfoResponseSchema,
      {},
    );
    assert.equal(res.ComponentType, "store");
    assert.deepEqual(res.labelSets.map((s) => s.labels.map((l) => [l.name, l.value])), [
      [["c", "x"], ["replica", "A"]],
    ]);
    assert.ok(res.store);
    assert.equal(res.store.minTime, -(2n ** 63n));
    assert.equal(res.store.maxTime, 2n ** 63n - 1n);
    assert.equal(res.store.supportsWithoutReplicaLabels, true);
    assert.equal(res.store.supportsSharding, true);
    assert.equal(res.store.tsdbInfos.length, 1);
    assert.equal(res.store.tsdbInfos[0].maxTime, 299_000n);
    assert.ok(res.query, "query sub-message present");
    assert.equal(res.rules, undefined);
  } finally {
    await stop();
  }
});

Deno.test("thanos Series: sorted with external labels, XOR chunks hold the range's samples", async () => {
  const { client, stop } = await start();
  try {
    const msgs = await client.stream(
      "/thanos.Store/Series",
      SeriesRequestSchema,
      SeriesResponseSchema,
      {
        minTime: 0n,
        maxTime: 10_000n,
        matchers: [{ type: LabelMatcher_Type.RE, name: "__name__", value: "m|up" }],
      },
    );
    const series = seriesOf(msgs);
    assert.ok(msgs.every((m) => m.result.case !== "batch"), "no batches without batch size");
    assert.deepEqual(series.map(labelsOf), [
      { __name__: "m", a: "1", b: "1", c: "x", replica: "A" },
      { __name__: "m", a: "1", c: "x", replica: "A" },
      { __name__: "up", c: "x", instance: "x", job: "api", replica: "A" },
      // The external label wins over the series' own replica label.
      { __name__: "up", c: "x", job: "web", replica: "A" },
    ]);
    const up = series[2];
    assert.equal(up.chunks.length, 1);
    const c = up.chunks[0];
    assert.equal(c.raw?.type, Chunk_Encoding.XOR);
    assert.equal(c.minTime, 0n);
    assert.equal(c.maxTime, 10_000n);
    assert.deepEqual(decodeXor(c.raw!.data), range(0, 10_000, 1000).map((t) => [t, t / 1000]));
    assert.deepEqual(warningsOf(msgs), ["mem warning"]);

    // 300 samples over the whole range: chunks of 120, 120, 60 samples in time order.
    const all = seriesOf(
      await client.stream("/thanos.Store/Series", SeriesRequestSchema, SeriesResponseSchema, {
        minTime: 0n,
        maxTime: 1_000_000n,
        matchers: [{ name: "job", value: "api" }],
      }),
    );
    assert.deepEqual(all[0].chunks.map((c) => decodeXor(c.raw!.data).length), [120, 120, 60]);
    assert.deepEqual(all[0].chunks.map((c) => c.minTime), [0n, 120_000n, 240_000n]);
  } finally {
    await stop();
  }
});

Deno.test("thanos Series: skip_chunks, without_replica_labels, external-label matchers", async () => {
  const { client, stop } = await start();
  try {
    const call = (req: Record<string, unknown>) =>
      client.stream("/thanos.Store/Series", SeriesRequestSchema, SeriesResponseSchema, {
        minTime: 0n,
        maxTime: 10_000n,
        ...req,
      });
    const skipped = seriesOf(
      await call({ skipChunks: true, matchers: [{ name: "__name__", value: "m" }] }),
    );
    assert.equal(skipped.length, 2);
    assert.ok(skipped.every((s) => s.chunks.length === 0));

    // "replica" is external: dropped. "b" is not: kept.
    const dropped = seriesOf(
      await call({
        withoutReplicaLabels: ["replica", "b"],
        matchers: [{ name: "__name__", value: "m" }],
      }),
    );
    assert.deepEqual(dropped.map(labelsOf), [
      { __name__: "m", a: "1", b: "1", c: "x" },
      { __name__: "m", a: "1", c: "x" },
    ]);

    // A matcher on an external label is answered by the external labels.
    assert.equal(
      seriesOf(await call({ matchers: [{ type: LabelMatcher_Type.NEQ, name: "c", value: "x" }] }))
        .length,
      0,
    );
    assert.equal(
      seriesOf(
        await call({
          matchers: [
            { type: LabelMatcher_Type.EQ, name: "c", value: "x" },
            { name: "__name__", value: "m" },
          ],
        }),
      ).length,
      2,
    );
  } finally {
    await stop();
  }
});

Deno.test("thanos Series: batches only when response_batch_size > 1; limit truncates", async () => {
  const { client, stop } = await start();
  try {
    const call = (req: Record<string, unknown>) =>
      client.stream("/thanos.Store/Series", SeriesRequestSchema, SeriesResponseSchema, {
        minTime: 0n,
        maxTime: 10_000n,
        matchers: [{ type: LabelMatcher_Type.RE, name: "__name__", value: ".+" }],
        ...req,
      });
    const batched = await call({ responseBatchSize: 2n });
    const kinds = batched.map((m) => m.result.case);
    assert.deepEqual(kinds, ["batch", "batch", "batch", "warning"]);
    assert.deepEqual(
      batched.map((m) => m.result.case === "batch" ? m.result.value.series.length : 0),
      [2, 2, 1, 0],
    );
    // Series h: a histogram sample at 1000, then a float at 2000: two chunks of two kinds.
    const h = seriesOf(batched).find((s) => labelsOf(s).__name__ === "h")!;
    assert.deepEqual(h.chunks.map((c) => [c.raw?.type, c.minTime, c.maxTime]), [
      [Chunk_Encoding.FLOAT_HISTOGRAM, 1000n, 1000n],
      [Chunk_Encoding.XOR, 2000n, 2000n],
    ]);
    const hit = new FloatHistogramIterator(h.chunks[0].raw!.data);
    assert.equal(hit.next(), ValueType.FloatHistogram);
    // A chunk's first sample keeps only gauge/reset hints (Prometheus' chunk header rule).
    assert.deepEqual(hit.atFloatHistogram(), { ...HIST, counterResetHint: 0 });
    const one = await call({ responseBatchSize: 1n });
    assert.equal(one.filter((m) => m.result.case === "series").length, 5);

    const limited = await call({ limit: 2n });
    assert.equal(seriesOf(limited).length, 2);
    assert.ok(warningsOf(limited).includes(TRUNCATED_WARNING));
  } finally {
    await stop();
  }
});

Deno.test("thanos Series: shard_info splits the series into disjoint shards by the labels sent", async () => {
  const { client, stop } = await start();
  try {
    const call = (req: Record<string, unknown>) =>
      client.stream("/thanos.Store/Series", SeriesRequestSchema, SeriesResponseSchema, {
        minTime: 0n,
        maxTime: 10_000n,
        matchers: [{ type: LabelMatcher_Type.RE, name: "__name__", value: ".+" }],
        ...req,
      });
    const key = (s: PbSeries) => JSON.stringify(labelsOf(s));
    for (const withoutReplicaLabels of [[], ["replica"]]) {
      const all = seriesOf(await call({ withoutReplicaLabels })).map(key);
      assert.equal(all.length, 5);
      for (const shardBy of [{ by: false, labels: [] }, { by: true, labels: ["__name__"] }]) {
        for (const total of [1, 2, 3, 7]) {
          const seen: string[] = [];
          for (let index = 0; index < total; index++) {
            const shardInfo = { shardIndex: BigInt(index), totalShards: BigInt(total), ...shardBy };
            const got = seriesOf(await call({ withoutReplicaLabels, shardInfo }));
            for (const s of got) {
              // The hash covers the labels as sent: external labels in, replica labels out.
              const labels = s.labels.map((l) => ({ name: l.name, value: l.value }));
              const hash = shardHash(labels, new Set(shardBy.labels), shardBy.by);
              assert.equal(hash % BigInt(total), BigInt(index));
            }
            seen.push(...got.map(key));
          }
          assert.deepEqual(seen.sort(), [...all].sort(), `${JSON.stringify(shardBy)} ${total}`);
        }
      }
    }
    // Sharded by __name__, the two series of m stay together; the limit counts the shard's.
    const byName = { by: true, labels: ["__name__"], totalShards: 2n };
    const shardOfM = seriesOf(await call({ shardInfo: { ...byName, shardIndex: 0n } }))
        .some((s) => labelsOf(s).__name__ === "m")
      ? 0n
      : 1n;
    const limited = await call({ limit: 1n, shardInfo: { ...byName, shardIndex: shardOfM } });
    assert.deepEqual(seriesOf(limited).map((s) => labelsOf(s).__name__), ["m"]);
    assert.ok(warningsOf(limited).includes(TRUNCATED_WARNING));
  } finally {
    await stop();
  }
});

Deno.test("thanos Series: bad regex is InvalidArgument, limits ResourceExhausted", async () => {
  const { client, stop } = await start();
  const failing = await start(DATA, new QuotaExceededError("select rows", 1, 2));
  try {
    const bad = client.stream("/thanos.Store/Series", SeriesRequestSchema, SeriesResponseSchema, {
      matchers: [{ type: LabelMatcher_Type.RE, name: "job", value: "(unclosed" }],
    });
    assert.equal(await rejectionCode(bad), Code.InvalidArgument);
    const none = client.stream("/thanos.Store/Series", SeriesRequestSchema, SeriesResponseSchema, {
      matchers: [{ name: "c", value: "x" }],
    });
    assert.equal(await rejectionCode(none), Code.InvalidArgument, "only external-label matchers");
    const limited = failing.client.stream(
      "/thanos.Store/Series",
      SeriesRequestSchema,
      SeriesResponseSchema,
      { matchers: [{ name: "job", value: "api" }] },
    );
    assert.equal(await rejectionCode(limited), Code.ResourceExhausted);
    const names = failing.client.unary(
      "/thanos.Store/LabelNames",
      LabelNamesRequestSchema,
      LabelNamesResponseSchema,
      {},
    );
    assert.equal(await rejectionCode(names), Code.ResourceExhausted);
  } finally {
    await stop();
    await failing.stop();
  }
});

Deno.test("thanos LabelNames/LabelValues: external labels, matchers, replica labels", async () => {
  const { client, stop } = await start();
  try {
    const names = await client.unary(
      "/thanos.Store/LabelNames",
      LabelNamesRequestSchema,
      LabelNamesResponseSchema,
      {
        start: 0n,
        end: 10_000n,
        matchers: [{ name: "__name__", value: "up" }],
        withoutReplicaLabels: ["replica"],
      },
    );
    assert.deepEqual(names.names, ["__name__", "c", "instance", "job"]);
    const values = (label: string, req: Record<string, unknown> = {}) =>
      client.unary(
        "/thanos.Store/LabelValues",
        LabelValuesRequestSchema,
        LabelValuesResponseSchema,
        { label, start: 0n, end: 10_000n, ...req },
      );
    assert.deepEqual((await values("job")).values, ["api", "web"]);
    assert.deepEqual(
      (await values("job", { matchers: [{ name: "instance", value: "x" }] })).values,
      ["api"],
    );
    assert.deepEqual((await values("c")).values, ["x"]);
    assert.deepEqual((await values("replica", { withoutReplicaLabels: ["replica"] })).values, []);
    assert.deepEqual((await values("job", { limit: 1n })).values, ["api"]);
    assert.equal(await rejectionCode(values("")), Code.InvalidArgument);
  } finally {
    await stop();
  }
});

Deno.test("thanos Query/QueryRange: series, histograms, warnings, stats, replica labels, errors", async () => {
  const { client, stop } = await start();
  try {
    const res = await client.stream(
      "/thanos.Query/Query",
      QueryRequestSchema,
      QueryResponseSchema,
      {
        query: "h",
        timeSeconds: 1n,
        lookbackDeltaSeconds: 60n,
      },
    );
    assert.deepEqual(res.map((m) => m.result.case), ["warnings", "timeseries", "stats"]);
    assert.equal(res[0].result.value, "w1, w2");
    const ts = res[1].result.value as { labels: unknown[]; histograms: { sum: number }[] };
    assert.equal(ts.histograms.length, 1);
    const h = (res[1].result.case === "timeseries" ? res[1].result.value : null)!.histograms[0];
    assert.deepEqual(h.count, { case: "countFloat", value: 10 });
    assert.deepEqual(h.positiveCounts, [3, 5]);
    assert.deepEqual(h.positiveSpans.map((s) => [s.offset, s.length]), [[0, 2]]);
    assert.equal(h.schema, 1);
    assert.equal(h.sum, 42.5);
    assert.equal(h.timestamp, 1000n);
    assert.equal(h.resetHint, 2);
    const stats = res[2].result.value as { samplesTotal: bigint };
    assert.equal(stats.samplesTotal, 1n);

    const range = await client.stream(
      "/thanos.Query/QueryRange",
      QueryRangeRequestSchema,
      QueryRangeResponseSchema,
      {
        query: "scalar_range",
        startTimeSeconds: 10n,
        endTimeSeconds: 40n,
        intervalSeconds: 10n,
        replicaLabels: ["replica"],
        responseBatchSize: 64n,
      },
    );
    assert.deepEqual(range.map((m) => m.result.case), ["timeseriesBatch", "stats"]);
    const batch = range[0].result.case === "timeseriesBatch" ? range[0].result.value : null;
    assert.equal(batch!.series.length, 1);
    assert.deepEqual(batch!.series[0].labels.map((l) => [l.name, l.value]), [["job", "j"]]);
    assert.deepEqual(
      batch!.series[0].samples.map((s) => [s.timestamp, s.value]),
      [[10_000n, 10], [20_000n, 20], [30_000n, 30], [40_000n, 40]],
    );

    const q = (query: string) =>
      client.stream("/thanos.Query/Query", QueryRequestSchema, QueryResponseSchema, { query });
    assert.equal(await rejectionCode(q("syntax(")), Code.InvalidArgument);
    assert.equal(await rejectionCode(q("too_big")), Code.ResourceExhausted);
  } finally {
    await stop();
  }
});

Deno.test("thanos Series: sources with external labels stream through without buffering", async () => {
  const gate = Promise.withResolvers<void>();
  const ext = labelsFromRecord({ region: "eu" });
  const source: StoreSource = {
    selectChunks: () =>
      Promise.resolve({
        warnings: [],
        series: (async function* () {
          yield { labels: labelsFromRecord({ __name__: "a", region: "eu" }), chunks: [] };
          // The rest is produced only after the client has seen the first series.
          await gate.promise;
          yield { labels: labelsFromRecord({ __name__: "b", region: "eu" }), chunks: [] };
        })(),
      }),
    labelNames: () => Promise.resolve({ values: [], warnings: [] }),
    labelValues: () => Promise.resolve({ values: [], warnings: [] }),
  };
  const grpc = new GrpcServer();
  registerStoreService(grpc, {
    source: () => source,
    externalLabels: ext,
    externalLabelsInSource: true,
  });
  const server = await serveHttp2({ port: 0, hostname: "127.0.0.1" }, grpc.handle);
  const client = new TestClient(`127.0.0.1:${server.addr.port}`);
  try {
    const call = client.openStream(
      "/thanos.Store/Series",
      SeriesRequestSchema,
      SeriesResponseSchema,
      {
        minTime: 0n,
        maxTime: 1n,
        skipChunks: true,
        matchers: [{ type: LabelMatcher_Type.RE, name: "__name__", value: ".+" }],
      },
    );
    const names: string[] = [];
    // A buffering server would wait for the gate forever: give up after 5 s.
    const timer = setTimeout(() => call.cancel(), 5000);
    await new Promise<void>((resolve, reject) => {
      call.on("data", (m: SeriesResponse) => {
        if (m.result.case === "series") names.push(labelsOf(m.result.value).__name__);
        gate.resolve();
      });
      call.on("error", reject);
      call.on("end", resolve);
    }).finally(() => clearTimeout(timer));
    assert.deepEqual(names, ["a", "b"]);
  } finally {
    client.close();
    await server.shutdown(1000);
  }
});

Deno.test("thanos Series: per-stream external labels from the source, replica labels dropped", async () => {
  // Two replicas of one stream: after dropping "replica" their series merge into one.
  const mem = new MemQueryable([
    {
      labels: labelsFromRecord({ __name__: "up", replica: "r1", zone: "z" }),
      ts: [1000],
      values: [1],
    },
    {
      labels: labelsFromRecord({ __name__: "up", replica: "r2", zone: "z" }),
      ts: [2000],
      values: [2],
    },
    {
      labels: labelsFromRecord({ __name__: "up", a: "x", replica: "r1", zone: "z" }),
      ts: [1000],
      values: [3],
    },
  ]);
  const grpc = new GrpcServer();
  registerStoreService(grpc, {
    source: () => queryableSource(mem),
    externalLabels: [],
    externalLabelsInSource: true,
    externalLabelNames: () => new Set(["replica", "zone"]),
  });
  const server = await serveHttp2({ port: 0, hostname: "127.0.0.1" }, grpc.handle);
  const client = new TestClient(`127.0.0.1:${server.addr.port}`);
  try {
    const msgs = await client.stream(
      "/thanos.Store/Series",
      SeriesRequestSchema,
      SeriesResponseSchema,
      {
        minTime: 0n,
        maxTime: 10_000n,
        matchers: [{ name: "__name__", value: "up" }],
        withoutReplicaLabels: ["replica", "a"],
      },
    );
    const series = seriesOf(msgs);
    // "a" is not an external label: kept. Sorted after the removal.
    assert.deepEqual(series.map(labelsOf), [
      { __name__: "up", a: "x", zone: "z" },
      { __name__: "up", zone: "z" },
    ]);
    assert.deepEqual(series[1].chunks.map((c) => decodeXor(c.raw!.data)), [[[1000, 1]], [[
      2000,
      2,
    ]]]);
  } finally {
    client.close();
    await server.shutdown(1000);
  }
});

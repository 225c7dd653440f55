/**
 * End to end over gRPC: demo blocks of two external-label streams are converted by the real
 * `convert --convert.once`, served by the real `serve`, and a grpc-js client built from the same
 * protos checks that Info announces the streams and time range, that Store.Series returns the
 * series and raw samples (XOR chunks decoded) the HTTP API returns, that LabelNames and
 * LabelValues equal the HTTP API's, that Query and QueryRange equal `/api/v1/query` and
 * `/api/v1/query_range` for the oracle query set, and that server reflection (what
 * `grpcurl list` and `describe` use) lists the services and describes thanos.Store.
 */
import assert from "node:assert/strict";
import { writeDemoBlocks } from "../examples/demo.ts";
import { ValueType } from "../model/series.ts";
import {
  QueryRangeRequestSchema,
  QueryRangeResponseSchema,
  QueryRequestSchema,
  QueryResponseSchema,
} from "../proto/gen/api/query/querypb/query_pb.ts";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import {
  ServerReflectionRequestSchema,
  ServerReflectionResponseSchema,
} from "../proto/gen/grpc/reflection/v1/reflection_pb.ts";
import { InfoRequestSchema, InfoResponseSchema } from "../proto/gen/info/infopb/rpc_pb.ts";
import {
  LabelNamesRequestSchema,
  LabelNamesResponseSchema,
  LabelValuesRequestSchema,
  LabelValuesResponseSchema,
  SeriesRequestSchema,
  SeriesResponseSchema,
} from "../proto/gen/store/storepb/rpc_pb.ts";
import type { TimeSeries } from "../proto/gen/store/storepb/prompb/types_pb.ts";
import { LabelMatcher_Type } from "../proto/gen/store/storepb/types_pb.ts";
import { duplexReader, TestClient } from "../server/grpc/testing.ts";
import { XorIterator } from "../storage/tsdb/xor.ts";
import { convertOnce, type GatewayServer, startServe } from "./oracle/gateway.ts";
import { QUERIES } from "./oracle/queries.ts";

const DAY = 86_400_000;
const HOUR = 3_600_000;

type Points = Map<string, [number, string][]>;

function key(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function fmt(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function fromPb(series: TimeSeries[]): Points {
  const out: Points = new Map();
  for (const s of series) {
    const labels = Object.fromEntries(s.labels.map((l) => [l.name, l.value]));
    out.set(key(labels), s.samples.map((p) => [Number(p.timestamp) / 1000, fmt(p.value)]));
  }
  return out;
}

function fromHttp(data: { resultType: string; result: unknown }): Points {
  const out: Points = new Map();
  if (data.resultType === "scalar") {
    const [t, v] = data.result as [number, string];
    out.set(key({}), [[t, v]]);
    return out;
  }
  for (
    const s of data.result as {
      metric: Record<string, string>;
      value?: [number, string];
      values?: [number, string][];
    }[]
  ) {
    out.set(key(s.metric), s.values ?? [s.value!]);
  }
  return out;
}

function samePoints(got: Points, want: Points): string | undefined {
  if (got.size !== want.size) return `${got.size} series != ${want.size}`;
  for (const [k, w] of want) {
    const g = got.get(k);
    if (!g) return `missing ${k}`;
    if (g.length !== w.length) return `${k}: ${g.length} points != ${w.length}`;
    for (let i = 0; i < w.length; i++) {
      const [gt, gv] = g[i], [wt, wv] = w[i];
      const close = gv === wv ||
        Math.abs(Number(gv) - Number(wv)) <= 1e-9 * Math.max(1, Math.abs(Number(wv)));
      if (gt !== wt || !close) return `${k} @${wt}: ${gt}=${gv} != ${wv}`;
    }
  }
  return undefined;
}

async function http(base: string, path: string, params: Record<string, string>) {
  const body = await (await fetch(`${base}${path}?${new URLSearchParams(params)}`)).json();
  assert.equal(body.status, "success", JSON.stringify(body));
  return body.data;
}

Deno.test({
  name: "gRPC Info, Series, LabelNames/Values, Query/QueryRange agree with the HTTP API",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const root = await Deno.makeTempDir({ prefix: "e2e-grpc-" });
    let gw: GatewayServer | undefined;
    let client: TestClient | undefined;
    try {
      await Deno.mkdir(`${root}/tsdb`);
      const now = Date.now();
      await writeDemoBlocks(`${root}/tsdb`, now);
      await convertOnce(root, ["--convert.max-plan-days=4"]);
      gw = await startServe(root);
      client = new TestClient(`127.0.0.1:${gw.grpcPort}`);
      const c = client;
      const firstDay = Math.floor(now / DAY) * DAY - 3 * DAY;
      // Midday of the first day, and one hour of raw samples before it.
      const t1 = firstDay + 12 * HOUR + 7_000;
      const t0 = t1 - HOUR;

      await t.step("Info announces both streams and the converted days", async () => {
        const info = await c.unary(
          "/thanos.info.Info/Info",
          InfoRequestSchema,
          InfoResponseSchema,
          {},
        );
        assert.deepEqual(
          info.labelSets.map((s) => s.labels.map((l) => `${l.name}=${l.value}`)),
          [["cluster=eu-1"], ["cluster=us-1"]],
        );
        assert.equal(info.store?.minTime, BigInt(firstDay));
        assert.equal(info.store?.maxTime, BigInt(firstDay + 2 * DAY));
        assert.ok(info.query, "the Query API is announced");
      });

      await t.step("reflection lists the services and describes thanos.Store", async () => {
        const call = c.openBidi(
          "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
          ServerReflectionRequestSchema,
          ServerReflectionResponseSchema,
        );
        const r = duplexReader(call);
        call.write({ messageRequest: { case: "listServices", value: "" } });
        const list = await r.next();
        if (list.messageResponse.case !== "listServicesResponse") assert.fail(String(list));
        assert.deepEqual(list.messageResponse.value.service.map((s) => s.name), [
          "grpc.health.v1.Health",
          "grpc.reflection.v1.ServerReflection",
          "grpc.reflection.v1alpha.ServerReflection",
          "thanos.Query",
          "thanos.Store",
          "thanos.info.Info",
        ]);
        call.write({ messageRequest: { case: "fileContainingSymbol", value: "thanos.Store" } });
        const store = await r.next();
        if (store.messageResponse.case !== "fileDescriptorResponse") assert.fail(String(store));
        const file = fromBinary(
          FileDescriptorProtoSchema,
          store.messageResponse.value.fileDescriptorProto[0],
        );
        assert.equal(file.name, "store/storepb/rpc.proto");
        assert.ok(file.service[0].method.some((m) => m.name === "Series"));
        call.write({ messageRequest: { case: "fileContainingSymbol", value: "nope.Nope" } });
        const unknown = await r.next();
        assert.equal(unknown.messageResponse.case, "errorResponse");
        assert.equal(unknown.messageResponse.value.errorCode, 5);
        call.end();
        assert.equal((await r.status).code, 0);
      });

      await t.step("Series returns what /api/v1/series and raw-sample queries return", async () => {
        const msgs = await c.stream(
          "/thanos.Store/Series",
          SeriesRequestSchema,
          SeriesResponseSchema,
          {
            minTime: BigInt(t0),
            maxTime: BigInt(t1),
            matchers: [
              {
                type: LabelMatcher_Type.EQ,
                name: "__name__",
                value: "process_resident_memory_bytes",
              },
              { type: LabelMatcher_Type.RE, name: "instance", value: "host-(1|2)[0-9]?:9100" },
            ],
          },
        );
        const grpcPoints: Points = new Map();
        let storedChunkSeen = false;
        for (const m of msgs) {
          if (m.result.case !== "series") continue;
          const s = m.result.value;
          const labels = Object.fromEntries(s.labels.map((l) => [l.name, l.value]));
          const points: [number, string][] = [];
          for (const chunk of s.chunks) {
            // Chunks are passed on as stored: 120-sample chunks starting before the range.
            if (chunk.minTime < BigInt(t0) && chunk.raw!.data[1] === 120) storedChunkSeen = true;
            const it = new XorIterator(chunk.raw!.data);
            while (it.next() !== ValueType.None) {
              // The range selector below is left-open: (t0, t1].
              if (it.atT() > t0 && it.atT() <= t1) {
                points.push([it.atT() / 1000, fmt(it.atFloat())]);
              }
            }
          }
          grpcPoints.set(key(labels), points);
        }
        const matcher = 'process_resident_memory_bytes{instance=~"host-(1|2)[0-9]?:9100"}';
        const series = await http(gw!.url, "/api/v1/series", {
          "match[]": matcher,
          start: String(t0 / 1000),
          end: String(t1 / 1000),
        }) as Record<string, string>[];
        assert.ok(storedChunkSeen, "chunks are the stored ones, not re-encoded");
        assert.deepEqual([...grpcPoints.keys()].sort(), series.map(key).sort());
        assert.ok(series.length >= 20, `${series.length} series`);
        const raw = await http(gw!.url, "/api/v1/query", {
          query: `${matcher}[1h]`,
          time: String(t1 / 1000),
        });
        assert.equal(samePoints(grpcPoints, fromHttp(raw)), undefined);
      });

      await t.step("LabelNames and LabelValues equal the HTTP API's", async () => {
        const window = { start: String(t0 / 1000), end: String(t1 / 1000) };
        const names = await c.unary(
          "/thanos.Store/LabelNames",
          LabelNamesRequestSchema,
          LabelNamesResponseSchema,
          { start: BigInt(t0), end: BigInt(t1) },
        );
        assert.deepEqual(names.names, await http(gw!.url, "/api/v1/labels", window));
        for (const label of ["__name__", "cluster", "job", "le"]) {
          const values = await c.unary(
            "/thanos.Store/LabelValues",
            LabelValuesRequestSchema,
            LabelValuesResponseSchema,
            {
              label,
              start: BigInt(t0),
              end: BigInt(t1),
              matchers: [{ type: LabelMatcher_Type.EQ, name: "job", value: "api" }],
            },
          );
          const want = await http(gw!.url, `/api/v1/label/${label}/values`, {
            ...window,
            "match[]": '{job="api"}',
          });
          assert.deepEqual(values.values, want, label);
        }
      });

      await t.step("Query and QueryRange equal /api/v1/query and query_range", async () => {
        const failures: string[] = [];
        let compared = 0;
        for (const q of QUERIES) {
          const instant = await fetch(
            `${gw!.url}/api/v1/query?${new URLSearchParams({ query: q, time: String(t1 / 1000) })}`,
          ).then((r) => r.json());
          if (instant.status !== "success" || instant.data.resultType === "string") continue;
          const res = await c.stream(
            "/thanos.Query/Query",
            QueryRequestSchema,
            QueryResponseSchema,
            {
              query: q,
              timeSeconds: BigInt(Math.floor(t1 / 1000)),
            },
          );
          const series = res.flatMap((m) => m.result.case === "timeseries" ? [m.result.value] : []);
          // The gRPC API has second resolution: compare at the whole second.
          const want = await http(gw!.url, "/api/v1/query", {
            query: q,
            time: String(Math.floor(t1 / 1000)),
          });
          if (want.resultType === "matrix") continue; // raw range vectors: covered by Series
          const d1 = samePoints(fromPb(series), fromHttp(want));
          compared++;
          if (d1) failures.push(`Query ${q}: ${d1}`);

          const range = { start: Math.floor(t0 / 1000), end: Math.floor(t1 / 1000), step: 300 };
          const wantRange = await fetch(
            `${gw!.url}/api/v1/query_range?${new URLSearchParams({
              query: q,
              start: String(range.start),
              end: String(range.end),
              step: String(range.step),
            })}`,
          ).then((r) => r.json());
          if (wantRange.status !== "success") continue;
          const rangeRes = await c.stream(
            "/thanos.Query/QueryRange",
            QueryRangeRequestSchema,
            QueryRangeResponseSchema,
            {
              query: q,
              startTimeSeconds: BigInt(range.start),
              endTimeSeconds: BigInt(range.end),
              intervalSeconds: BigInt(range.step),
            },
          );
          const rangeSeries = rangeRes.flatMap((m) =>
            m.result.case === "timeseries" ? [m.result.value] : []
          );
          const d2 = samePoints(fromPb(rangeSeries), fromHttp(wantRange.data));
          compared++;
          if (d2) failures.push(`QueryRange ${q}: ${d2}`);
        }
        assert.deepEqual(failures, [], failures.slice(0, 10).join("\n"));
        // Every query but the few raw range vectors and invalid ones was compared both ways.
        assert.ok(compared >= 200, `only ${compared} comparisons`);
      });
    } finally {
      client?.close();
      await gw?.stop();
      await Deno.remove(root, { recursive: true });
    }
  },
});

/**
 * End to end, limits: a wide stream of generated blocks (1,000 series, five-minute samples over two
 * days) is converted by the real `convert --convert.once` and served by the real `serve` with small
 * limits. Wide requests then fail with the limit's error instead of loading more, on the HTTP API
 * (422 `execution`, the too-many-samples text Prometheus uses) and on gRPC (RESOURCE_EXHAUSTED),
 * in Select, LabelNames and LabelValues, with and without matchers, while narrow ones still answer.
 */
import assert from "node:assert/strict";
import {
  QueryRangeRequestSchema,
  QueryRangeResponseSchema,
} from "../proto/gen/api/query/querypb/query_pb.ts";
import {
  LabelNamesRequestSchema,
  LabelNamesResponseSchema,
  LabelValuesRequestSchema,
  LabelValuesResponseSchema,
  SeriesRequestSchema,
  SeriesResponseSchema,
} from "../proto/gen/store/storepb/rpc_pb.ts";
import { labelsFromRecord } from "../model/labels.ts";
import { Code } from "../server/grpc/status.ts";
import { type CallError, TestClient } from "../server/grpc/testing.ts";
import { type SeriesToWrite, writeBlock, xorChunks } from "../storage/tsdb/writer.ts";
import { convertOnce, type GatewayServer, startServe } from "./oracle/gateway.ts";

const DAY = 86_400_000;
const HOUR = 3_600_000;
const STEP = 300_000;
/** Series per group of `wide`: a is wide, b narrow, c the rest. */
const GROUPS = { a: 400, b: 50, c: 550 };
const SERIES = GROUPS.a + GROUPS.b + GROUPS.c;

/** Two full days from three days ago, and two hours after them so that both count as complete. */
async function writeWideBlocks(dir: string, firstDay: number): Promise<void> {
  const end = firstDay + 2 * DAY + 2 * HOUR;
  for (let from = firstDay; from < end; from += 12 * HOUR) {
    const to = Math.min(end, from + 12 * HOUR);
    const series: SeriesToWrite[] = [];
    let n = 0;
    for (const [group, count] of Object.entries(GROUPS)) {
      for (let i = 0; i < count; i++, n++) {
        const ts: number[] = [], values: number[] = [];
        for (let t = from; t < to; t += STEP) {
          ts.push(t);
          values.push(n + (t - firstDay) / STEP);
        }
        series.push({
          labels: labelsFromRecord({ __name__: "wide", group, i: String(n) }),
          chunks: xorChunks(ts, values),
        });
      }
    }
    await writeBlock(dir, series, {
      range: { minTime: from, maxTime: to },
      thanos: {
        version: 1,
        labels: { cluster: "lim" },
        downsample: { resolution: 0 },
        source: "test",
        segmentFiles: [],
        files: [],
      },
    });
  }
}

async function callError(p: Promise<unknown>): Promise<CallError> {
  try {
    await p;
  } catch (e) {
    return e as CallError;
  }
  assert.fail("expected an error");
}

Deno.test({
  name: "wide requests hit the limits with clear errors on HTTP and gRPC; narrow ones answer",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const root = await Deno.makeTempDir({ prefix: "e2e-limits-" });
    let gw: GatewayServer | undefined;
    let client: TestClient | undefined;
    try {
      await Deno.mkdir(`${root}/tsdb`);
      const day = Math.floor(Date.now() / DAY) * DAY - 3 * DAY;
      await writeWideBlocks(`${root}/tsdb`, day);
      await convertOnce(root, ["--convert.max-plan-days=4"]);
      gw = await startServe(root, [
        "--query.max-samples=5000",
        "--query.limits.select.max-row-count=500",
        "--query.limits.label-names.max-row-count=500",
        "--query.limits.label-values.max-row-count=500",
        "--query.limits.max-shard-count=1",
      ]);
      client = new TestClient(`127.0.0.1:${gw.grpcPort}`);
      const base = gw.url;
      const c = client;
      // The first day in seconds; each day is one shard of one row per series.
      const start = day / 1000, end = (day + DAY - 1) / 1000;
      const get = async (path: string, params: Record<string, string>) => {
        const res = await fetch(`${base}${path}?${new URLSearchParams(params)}`);
        return { status: res.status, body: await res.json() };
      };
      const failure =
        (errorType: string, error: string | RegExp) =>
        (res: { status: number; body: { status: string; errorType: string; error: string } }) => {
          assert.equal(res.status, 422, JSON.stringify(res.body));
          assert.equal(res.body.status, "error");
          assert.equal(res.body.errorType, errorType);
          if (typeof error === "string") assert.equal(res.body.error, error);
          else assert.match(res.body.error, error);
        };
      const tooManySamples = "query processing would load too many samples into memory in query " +
        "execution";
      const rows = (what: string, needed: number) =>
        new RegExp(`^would use too many rows: ${what} rows limit 500 exceeded .*needed ${needed}`);

      await t.step("max samples: a range query over 50 series x 288 steps", async () => {
        const params = {
          query: 'wide{group="b"}',
          start: String(start),
          end: String(end),
          step: "300",
        };
        failure("execution", tooManySamples)(await get("/api/v1/query_range", params));
        const err = await callError(c.stream(
          "/thanos.Query/QueryRange",
          QueryRangeRequestSchema,
          QueryRangeResponseSchema,
          {
            query: params.query,
            startTimeSeconds: BigInt(start),
            endTimeSeconds: BigInt(Math.floor(end)),
            intervalSeconds: 300n,
          },
        ));
        assert.deepEqual([err.code, err.details], [Code.ResourceExhausted, tooManySamples]);
        // The same series at one instant are 50 samples.
        const instant = await get("/api/v1/query", { query: params.query, time: String(end) });
        assert.equal(instant.status, 200);
        assert.equal(instant.body.data.result.length, GROUPS.b);
      });

      await t.step("select rows: series of every group", async () => {
        const params = { "match[]": "wide", start: String(start), end: String(end) };
        failure("execution", rows("select", SERIES))(await get("/api/v1/series", params));
        const err = await callError(c.stream(
          "/thanos.Store/Series",
          SeriesRequestSchema,
          SeriesResponseSchema,
          {
            minTime: BigInt(day),
            maxTime: BigInt(day + DAY - 1),
            matchers: [{ name: "__name__", value: "wide" }],
            skipChunks: true,
          },
        ));
        assert.equal(err.code, Code.ResourceExhausted);
        assert.match(err.details, rows("select", SERIES));
        const narrow = await get("/api/v1/series", { ...params, "match[]": 'wide{group="a"}' });
        assert.equal(narrow.status, 200);
        assert.equal(narrow.body.data.length, GROUPS.a);
      });

      await t.step(
        "label rows: without match[] every row counts, with it the matching",
        async () => {
          const range = { start: String(start), end: String(end) };
          failure("execution", rows("label names", SERIES))(await get("/api/v1/labels", range));
          failure("execution", rows("label values", SERIES))(
            await get("/api/v1/label/i/values", range),
          );
          failure("execution", rows("label values", GROUPS.a + GROUPS.c))(
            await get("/api/v1/label/i/values", { ...range, "match[]": 'wide{group!="b"}' }),
          );
          const values = await get("/api/v1/label/i/values", {
            ...range,
            "match[]": 'wide{group="b"}',
          });
          assert.equal(values.status, 200);
          assert.equal(values.body.data.length, GROUPS.b);
          const names = await get("/api/v1/labels", { ...range, "match[]": 'wide{group="a"}' });
          assert.deepEqual(names.body.data, ["__name__", "cluster", "group", "i"]);

          const grpcRange = { start: BigInt(day), end: BigInt(day + DAY - 1) };
          for (
            const [call, what] of [
              [
                c.unary(
                  "/thanos.Store/LabelNames",
                  LabelNamesRequestSchema,
                  LabelNamesResponseSchema,
                  grpcRange,
                ),
                "label names",
              ],
              [
                c.unary(
                  "/thanos.Store/LabelValues",
                  LabelValuesRequestSchema,
                  LabelValuesResponseSchema,
                  { ...grpcRange, label: "i" },
                ),
                "label values",
              ],
            ] as const
          ) {
            const err = await callError(call);
            assert.equal(err.code, Code.ResourceExhausted);
            assert.match(err.details, rows(what, SERIES));
          }
          const grpcValues = await c.unary(
            "/thanos.Store/LabelValues",
            LabelValuesRequestSchema,
            LabelValuesResponseSchema,
            { ...grpcRange, label: "group", matchers: [{ name: "group", value: "b" }] },
          );
          assert.deepEqual(grpcValues.values, ["b"]);
        },
      );

      await t.step("shards: two days are two shards", async () => {
        failure("execution", /^would use too many shards: shards limit 1 exceeded/)(
          await get("/api/v1/labels", {
            "match[]": 'wide{i="7"}',
            start: String(start),
            end: String(end + 86_400),
          }),
        );
      });

      await t.step("gRPC message sizes: the serve flags bound requests and responses", async () => {
        c.close();
        await gw!.stop();
        gw = await startServe(root, [
          "--grpc-server-max-recv-msg-size=1KiB",
          "--grpc-server-max-send-msg-size=200B",
        ]);
        client = new TestClient(`127.0.0.1:${gw.grpcPort}`);
        const grpcRange = { start: BigInt(day), end: BigInt(day + DAY - 1) };
        const labelValues = (label: string, group: string, pad = "") =>
          client!.unary(
            "/thanos.Store/LabelValues",
            LabelValuesRequestSchema,
            LabelValuesResponseSchema,
            { ...grpcRange, label, matchers: [{ name: "group", value: group + pad }] },
          );
        assert.deepEqual((await labelValues("group", "b")).values, ["b"]);
        // 50 values of 3 or 4 bytes, each with a tag and a length byte: over 200 bytes.
        const tooBig = await callError(labelValues("i", "b"));
        assert.equal(tooBig.code, Code.ResourceExhausted);
        assert.match(
          tooBig.details,
          /^grpc: trying to send message larger than max \(\d+ vs\. 200\)$/,
        );
        const huge = await callError(labelValues("group", "b", "x".repeat(2000)));
        assert.equal(huge.code, Code.ResourceExhausted);
        assert.match(huge.details, /^grpc: received message larger than max \(\d+ vs\. 1024\)$/);
      });
    } finally {
      client?.close();
      await gw?.stop();
      await Deno.remove(root, { recursive: true });
    }
  },
});

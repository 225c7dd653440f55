import assert from "node:assert/strict";
import { Engine } from "../../../engine/engine.ts";
import { labelsFromRecord } from "../../../model/labels.ts";
import { MemoryQueryable } from "../../../engine/memory_queryable.ts";
import {
  QueryRangeRequestSchema,
  QueryRangeResponseSchema,
  QueryRequestSchema,
  QueryResponseSchema,
} from "../../../proto/gen/api/query/querypb/query_pb.ts";
import { serveHttp2 } from "../http2/server.ts";
import { GrpcServer } from "../server.ts";
import { Code } from "../status.ts";
import { TestClient } from "../testing.ts";
import { registerQueryService } from "./query.ts";

Deno.test("thanos Query over the real engine: instant sum, range rate, parse errors", async () => {
  const q = new MemoryQueryable();
  // Two counters growing by 1 and 2 per 15 s over 10 minutes.
  for (const [instance, slope] of [["a", 1], ["b", 2]] as const) {
    const labels = labelsFromRecord({ __name__: "requests_total", instance, replica: "r0" });
    for (let t = 0; t <= 600_000; t += 15_000) q.append(labels, t, (t / 15_000) * slope);
  }
  const grpc = new GrpcServer();
  registerQueryService(grpc, { engine: new Engine(), queryable: () => q, lookbackDelta: 300_000 });
  const server = await serveHttp2({ port: 0, hostname: "127.0.0.1" }, grpc.handle);
  const client = new TestClient(`127.0.0.1:${server.addr.port}`);
  try {
    const inst = await client.stream(
      "/thanos.Query/Query",
      QueryRequestSchema,
      QueryResponseSchema,
      {
        query: "sum(requests_total)",
        timeSeconds: 600n,
      },
    );
    const ts = inst.flatMap((m) => m.result.case === "timeseries" ? [m.result.value] : []);
    assert.equal(ts.length, 1);
    assert.deepEqual(ts[0].labels, []);
    // At 600 s: 40 * 1 + 40 * 2.
    assert.deepEqual(ts[0].samples.map((s) => [s.timestamp, s.value]), [[600_000n, 120]]);
    assert.equal(inst[inst.length - 1].result.case, "stats");

    const range = await client.stream(
      "/thanos.Query/QueryRange",
      QueryRangeRequestSchema,
      QueryRangeResponseSchema,
      {
        query: "rate(requests_total[1m])",
        startTimeSeconds: 300n,
        endTimeSeconds: 360n,
        intervalSeconds: 30n,
        replicaLabels: ["replica"],
      },
    );
    const series = range.flatMap((m) => m.result.case === "timeseries" ? [m.result.value] : []);
    assert.deepEqual(
      series.map((s) => s.labels.map((l) => `${l.name}=${l.value}`).join(",")),
      ["instance=a", "instance=b"],
    );
    for (const [i, slope] of [1, 2].entries()) {
      assert.deepEqual(
        series[i].samples.map((s) => [s.timestamp, Math.round(s.value * 1e9) / 1e9]),
        [300_000n, 330_000n, 360_000n].map((t) => [t, Math.round((slope / 15) * 1e9) / 1e9]),
      );
    }
    const bad = await client.stream(
      "/thanos.Query/Query",
      QueryRequestSchema,
      QueryResponseSchema,
      {
        query: "sum(",
        timeSeconds: 1n,
      },
    ).then(() => -1, (e) => e.code);
    assert.equal(bad, Code.InvalidArgument);
  } finally {
    client.close();
    await server.shutdown(1000);
  }
});

import assert from "node:assert/strict";
import {
  HealthCheckRequestSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
  HealthCheckResponseSchema,
} from "../../../proto/gen/grpc/health/v1/health_pb.ts";
import { InfoRequestSchema, InfoResponseSchema } from "../../../proto/gen/info/infopb/rpc_pb.ts";
import {
  SeriesRequestSchema,
  SeriesResponseSchema,
} from "../../../proto/gen/store/storepb/rpc_pb.ts";
import { labelsFromRecord } from "../../../model/labels.ts";
import { Code } from "../status.ts";
import { TestClient } from "../testing.ts";
import { startThanosGrpcServer } from "./serve.ts";
import { queryableSource } from "./source.ts";
import { DATA, EXTERNAL, MemQueryable } from "./testing.ts";

Deno.test("thanos endpoint: health, Info without Query, Series; NOT_SERVING then gone on shutdown", async () => {
  const mem = new MemQueryable(DATA);
  const srv = await startThanosGrpcServer({
    port: 0,
    hostname: "127.0.0.1",
    externalLabels: EXTERNAL,
    source: () => queryableSource(mem),
    info: () => ({
      minTime: 0,
      maxTime: 299_000,
      tsdbInfos: [],
      labelSets: [labelsFromRecord({ stream: "a" }), [], labelsFromRecord({ stream: "b" })],
    }),
    supportsWithoutReplicaLabels: false,
  });
  const target = `127.0.0.1:${srv.addr.port}`;
  const client = new TestClient(target);
  const check = () =>
    client.unary(
      "/grpc.health.v1.Health/Check",
      HealthCheckRequestSchema,
      HealthCheckResponseSchema,
      {},
      { timeoutMs: 2000 },
    );
  try {
    assert.equal((await check()).status, ServingStatus.SERVING);
    const info = await client.unary(
      "/thanos.info.Info/Info",
      InfoRequestSchema,
      InfoResponseSchema,
      {},
    );
    assert.ok(info.store);
    assert.equal(info.store.supportsWithoutReplicaLabels, false);
    assert.deepEqual(info.labelSets.map((s) => s.labels.map((l) => l.value)), [["a"], ["b"]]);
    assert.equal(info.query, undefined, "no Query API configured");
    const series = await client.stream(
      "/thanos.Store/Series",
      SeriesRequestSchema,
      SeriesResponseSchema,
      { minTime: 0n, maxTime: 10_000n, matchers: [{ name: "__name__", value: "m" }] },
    );
    assert.equal(series.filter((m) => m.result.case === "series").length, 2);
    const query = await client.stream(
      "/thanos.Query/Query",
      SeriesRequestSchema,
      SeriesResponseSchema,
      {},
    ).then(() => -1, (e) => e.code);
    assert.equal(query, Code.Unimplemented);
    srv.health.setStatus("", ServingStatus.NOT_SERVING);
    assert.equal((await check()).status, ServingStatus.NOT_SERVING);
    srv.health.setStatus("", ServingStatus.SERVING);
  } finally {
    await srv.shutdown(1000);
    client.close();
  }
  const after = new TestClient(target);
  try {
    const code = await after.unary(
      "/grpc.health.v1.Health/Check",
      HealthCheckRequestSchema,
      HealthCheckResponseSchema,
      {},
      { timeoutMs: 1000 },
    ).then(() => -1, (e) => e.code);
    assert.ok(code === Code.Unavailable || code === Code.DeadlineExceeded, `code ${code}`);
  } finally {
    after.close();
  }
});

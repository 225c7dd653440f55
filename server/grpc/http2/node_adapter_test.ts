import assert from "node:assert/strict";
import {
  HealthCheckRequestSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
  HealthCheckResponseSchema,
} from "../../../proto/gen/grpc/health/v1/health_pb.ts";
import {
  type SeriesRequest,
  SeriesRequestSchema,
  SeriesResponseSchema,
  Store,
} from "../../../proto/gen/store/storepb/rpc_pb.ts";
import { HealthService } from "../health.ts";
import { GrpcServer } from "../server.ts";
import { Code, GrpcError } from "../status.ts";
import { TestClient } from "../testing.ts";
import { serveNodeHttp2 } from "./node_adapter.ts";

// Few streams only: many streams followed by GOAWAY is exactly what aborts Deno's node:http2.
Deno.test("node:http2 adapter: the same gRPC server runs on it (unary, streaming, errors)", async () => {
  const grpc = new GrpcServer();
  new HealthService().register(grpc);
  grpc.addService(Store, {
    async *series(req: SeriesRequest) {
      if (req.matchers.length > 0) throw new GrpcError(Code.InvalidArgument, "no matchers please");
      for (let i = 0; i < Number(req.maxTime); i++) {
        yield { result: { case: "warning", value: `${i}${"x".repeat(Number(req.minTime))}` } };
      }
    },
  });
  const server = await serveNodeHttp2({ port: 0, hostname: "127.0.0.1" }, grpc.handle);
  const client = new TestClient(`127.0.0.1:${server.addr.port}`);
  try {
    const res = await client.unary(
      "/grpc.health.v1.Health/Check",
      HealthCheckRequestSchema,
      HealthCheckResponseSchema,
      {},
    );
    assert.equal(res.status, ServingStatus.SERVING);
    const msgs = await client.stream(
      "/thanos.Store/Series",
      SeriesRequestSchema,
      SeriesResponseSchema,
      {
        minTime: 100_000n,
        maxTime: 20n,
      },
    );
    assert.deepEqual(
      msgs.map((m) => m.result.value),
      [...Array(20).keys()].map((i) => `${i}${"x".repeat(100_000)}`),
    );
    const code = await client.stream(
      "/thanos.Store/Series",
      SeriesRequestSchema,
      SeriesResponseSchema,
      {
        matchers: [{ name: "a", value: "b" }],
      },
    ).then(() => -1, (e) => e.code);
    assert.equal(code, Code.InvalidArgument);
  } finally {
    client.close();
    await server.shutdown(1000);
  }
});

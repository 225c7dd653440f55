import assert from "node:assert/strict";
import { Registry } from "prom-client";
import {
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
} from "../../proto/gen/grpc/health/v1/health_pb.ts";
import { HealthService } from "./health.ts";
import { serveHttp2 } from "./http2/server.ts";
import { grpcMetricsObserver, HANDLING_BUCKETS } from "./metrics.ts";
import { GrpcServer } from "./server.ts";
import { TestClient } from "./testing.ts";

Deno.test("grpc metrics: go-grpc-middleware families with type, service, method and code", async () => {
  const registry = new Registry();
  const grpc = new GrpcServer({ observer: grpcMetricsObserver(registry) });
  new HealthService().register(grpc);
  const server = await serveHttp2({ port: 0, hostname: "127.0.0.1" }, grpc.handle);
  const client = new TestClient(`127.0.0.1:${server.addr.port}`);
  try {
    const check = "/grpc.health.v1.Health/Check";
    await client.unary(check, HealthCheckRequestSchema, HealthCheckResponseSchema, {});
    await client.unary(check, HealthCheckRequestSchema, HealthCheckResponseSchema, {});
    await client.unary(check, HealthCheckRequestSchema, HealthCheckResponseSchema, {
      service: "missing",
    }).catch(() => {});
    const text = await registry.metrics();
    const l = 'grpc_type="unary",grpc_service="grpc.health.v1.Health",grpc_method="Check"';
    for (
      const line of [
        `grpc_grpc_server_started_total{${l}} 3`,
        `grpc_grpc_server_msg_received_total{${l}} 3`,
        `grpc_grpc_server_msg_sent_total{${l}} 2`,
        `grpc_grpc_server_handled_total{${l},grpc_code="OK"} 2`,
        `grpc_grpc_server_handled_total{${l},grpc_code="NotFound"} 1`,
        `grpc_grpc_server_handling_seconds_count{${l}} 3`,
      ]
    ) assert.ok(text.includes(line), `missing ${line}`);
    assert.equal(HANDLING_BUCKETS.length, 20);
    assert.equal(HANDLING_BUCKETS[0], 0.1);
    assert.ok(Math.abs(HANDLING_BUCKETS[19] - 30) < 1e-9);
  } finally {
    client.close();
    await server.shutdown(1000);
  }
});

import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { Engine } from "../../engine/engine.ts";
import { labelsFromRecord } from "../../model/labels.ts";
import { MemoryQueryable } from "../../engine/memory_queryable.ts";
import { NOP_LOGGER } from "../../internal/log.ts";
import { createPrometheusApi } from "./api.ts";
import { startHttpServer } from "./server.ts";

Deno.test("request metrics: one route label value per route, one for every unknown path", async () => {
  const store = new MemoryQueryable();
  store.append(labelsFromRecord({ __name__: "up", job: "api" }), 0, 1);
  const registry = new Registry();
  const server = startHttpServer({
    port: 0,
    hostname: "127.0.0.1",
    registry,
    logger: NOP_LOGGER,
    name: "test",
    handler: createPrometheusApi({
      engine: new Engine({ features: [] }),
      queryable: () => store,
      defaultTimeout: 30_000,
      maxTimeout: 60_000,
      lookbackDelta: 300_000,
      maxConcurrentQueries: 10,
      version: "test",
      logger: NOP_LOGGER,
    }),
  });
  const base = `http://127.0.0.1:${server.port}`;
  try {
    const paths = [
      "/api/v1/query?query=up&time=0",
      "/api/v1/label/job/values",
      "/api/v1/label/instance/values",
      "/",
      "/metrics",
    ];
    // Paths a client makes up: before, each became a label value of its own.
    for (let i = 0; i < 50; i++) paths.push(`/api/v1/made-up-${i}`, `/api/v1/query/${i}`);
    for (const path of paths) await (await fetch(base + path)).body?.cancel();

    const counter = (await registry.getSingleMetric("http_requests_total")!.get()).values;
    const byRoute = new Map<string, number>();
    for (const v of counter) {
      const route = String(v.labels.path);
      byRoute.set(route, (byRoute.get(route) ?? 0) + v.value);
    }
    assert.deepEqual(
      Object.fromEntries([...byRoute].sort()),
      { "/api/v1/label/:name/values": 2, "/api/v1/query": 1, "other": 102 },
    );
    assert.deepEqual(
      counter.filter((v) => v.labels.path === "other").map((v) => v.labels.code),
      ["404"],
    );
  } finally {
    await server.shutdown(1000);
  }
});

Deno.test("a 100 MB form POST through the listener is answered 400", async () => {
  const server = startHttpServer({
    port: 0,
    hostname: "127.0.0.1",
    registry: new Registry(),
    logger: NOP_LOGGER,
    name: "test",
    handler: createPrometheusApi({
      engine: new Engine({ features: [] }),
      queryable: () => new MemoryQueryable(),
      defaultTimeout: 30_000,
      maxTimeout: 60_000,
      lookbackDelta: 300_000,
      maxConcurrentQueries: 10,
      version: "test",
      logger: NOP_LOGGER,
    }),
  });
  try {
    const body = new Uint8Array(100_000_000).fill(0x61);
    body.set(new TextEncoder().encode("query=1&pad="));
    const res = await fetch(`http://127.0.0.1:${server.port}/api/v1/query`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body,
    });
    assert.equal(res.status, 400);
    assert.equal(
      (await res.json()).error,
      "error parsing form values: http: POST too large (more than 10485760 bytes)",
    );
  } finally {
    await server.shutdown(1000);
  }
});

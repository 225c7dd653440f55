import assert from "node:assert/strict";
import { Counter, Registry } from "prom-client";
import { NOP_LOGGER } from "../internal/log.ts";
import { startInternalServer } from "./internal.ts";

Deno.test("internal server: metrics, health, readiness, 404", async () => {
  const registry = new Registry();
  new Counter({ name: "test_things_total", help: "things", registers: [registry] }).inc(3);
  const server = startInternalServer({
    port: 0,
    hostname: "127.0.0.1",
    registry,
    logger: NOP_LOGGER,
  });
  const base = `http://127.0.0.1:${server.port}`;
  try {
    let res = await fetch(`${base}/-/ready`);
    assert.equal(res.status, 503);
    assert.match(await res.text(), /not ready: starting/);
    server.setReady(true);
    res = await fetch(`${base}/-/ready`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
    res = await fetch(`${base}/-/healthy`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "OK\n");
    res = await fetch(`${base}/metrics`);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    assert.match(await res.text(), /^test_things_total 3$/m);
    res = await fetch(`${base}/nope`);
    assert.equal(res.status, 404);
    await res.body?.cancel();
    server.setReady(false, "shutting down");
    res = await fetch(`${base}/-/ready`);
    assert.equal(res.status, 503);
    assert.match(await res.text(), /shutting down/);
  } finally {
    await server.shutdown(1000);
  }
});

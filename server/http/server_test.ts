import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { labelsFromRecord } from "../../model/labels.ts";
import { MemoryQueryable } from "../../engine/memory_queryable.ts";
import { concatBytes } from "../../internal/bytes.ts";
import { listenForTest, testPrometheusApi } from "./_api_testutil.ts";

Deno.test("request metrics: one route label value per route, one for every unknown path", async () => {
  const store = new MemoryQueryable();
  store.append(labelsFromRecord({ __name__: "up", job: "api" }), 0, 1);
  const registry = new Registry();
  const server = listenForTest(testPrometheusApi(() => store), { registry });
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
  const server = listenForTest(testPrometheusApi(() => new MemoryQueryable()));
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

Deno.test("a request line and headers over maxHeaderBytes are answered 431 as Go does", async () => {
  const handler = Object.assign(() => Promise.resolve(new Response("ok")), { route: () => "/" });
  const server = listenForTest(handler, { maxHeaderBytes: 1024 });
  /** The status line and body of a raw request with an `X-Pad` header of `pad` bytes. */
  async function send(pad: number): Promise<[string, string]> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    try {
      const request =
        `GET /api/v1/query?query=1 HTTP/1.1\r\nHost: x\r\nX-Pad: ${"p".repeat(pad)}\r\n` +
        "Connection: close\r\n\r\n";
      await conn.write(new TextEncoder().encode(request));
      const chunks: Uint8Array[] = [];
      const buf = new Uint8Array(65536);
      try {
        for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
          chunks.push(buf.slice(0, n));
        }
      } catch (e) {
        // A server refusing a request it has not read whole may reset after its answer.
        if (chunks.length === 0) throw e;
      }
      const text = new TextDecoder().decode(concatBytes(chunks));
      return [text.split("\r\n")[0], text.slice(text.indexOf("\r\n\r\n") + 4)];
    } finally {
      conn.close();
    }
  }
  try {
    assert.deepEqual(await send(800), ["HTTP/1.1 200 OK", "ok"]);
    const [status, body] = await send(1100);
    assert.equal(status, "HTTP/1.1 431 Request Header Fields Too Large");
    assert.equal(body, "431 Request Header Fields Too Large");
    // Beyond Deno's own limit the server answers 400 before the gateway sees the request.
    assert.equal((await send(70_000))[0], "HTTP/1.1 400 Bad Request");
  } finally {
    await server.shutdown(1000);
  }
});

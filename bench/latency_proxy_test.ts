import assert from "node:assert/strict";
import { peakConcurrency, sequentialRoundTrips, startLatencyProxy } from "./latency_proxy.ts";

Deno.test("round trips count chains of requests that waited for each other", () => {
  assert.equal(sequentialRoundTrips([]), 0);
  // One request, then two overlapping ones, then one: 3 round trips, at most 2 in flight.
  const spans = [
    { start: 0, end: 50 },
    { start: 60, end: 110 },
    { start: 61, end: 130 },
    { start: 131, end: 180 },
  ];
  assert.equal(sequentialRoundTrips(spans), 3);
  assert.equal(peakConcurrency(spans), 2);
  // A long read in flight does not hide a chain of short ones next to it.
  const beside = [{ start: 0, end: 300 }, { start: 1, end: 51 }, { start: 52, end: 102 }, {
    start: 103,
    end: 153,
  }];
  assert.equal(sequentialRoundTrips(beside), 3);
  assert.equal(peakConcurrency(beside), 2);
  // A request starting exactly when another ended waited for it.
  assert.equal(sequentialRoundTrips([{ start: 0, end: 10 }, { start: 10, end: 20 }]), 2);
  assert.equal(peakConcurrency([{ start: 0, end: 10 }, { start: 10, end: 20 }]), 1);
});

Deno.test("the proxy delays every request and records its span and bytes", async () => {
  const origin = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => new Response(new URL(req.url).pathname.repeat(1000)),
  );
  const proxy = startLatencyProxy(`http://127.0.0.1:${origin.addr.port}`, 40);
  try {
    const t0 = performance.now();
    const get = async (path: string) => await (await fetch(`http://${proxy.host}${path}`)).text();
    const [a, b] = await Promise.all([get("/a"), get("/b")]);
    assert.equal(a.length, 2000);
    assert.equal(b, "/b".repeat(1000));
    await get("/c");
    const elapsed = performance.now() - t0;
    assert.ok(elapsed >= 80, `two waits of 40 ms one after the other took ${elapsed} ms`);
    assert.deepEqual(proxy.requests.map((r) => `${r.method} ${r.path} ${r.bytes}`).sort(), [
      "GET /a 2000",
      "GET /b 2000",
      "GET /c 2000",
    ]);
    for (const r of proxy.requests) assert.ok(r.end - r.start >= 40, `${r.path} too fast`);
    assert.equal(sequentialRoundTrips(proxy.requests), 2);
    assert.equal(peakConcurrency(proxy.requests), 2);
  } finally {
    await proxy.stop();
    await origin.shutdown();
  }
});

import assert from "node:assert/strict";
import { FrameType } from "./frame.ts";
import { serveHttp2 } from "./server.ts";
import { RawClient } from "./testing.ts";

/**
 * Connects `count` times to `port` from another process and resets each connection (RST) at
 * once. This process is blocked meanwhile, so every connection is reset while still waiting in
 * the listen queue, as when clients or load balancer probes go away before being accepted.
 */
function resetBeforeAccept(port: number, count: number): void {
  const client = `
    import * as net from "node:net";
    for (let i = 0; i < ${count}; i++) {
      await new Promise((resolve) => {
        const s = net.connect(${port}, "127.0.0.1", () => { s.resetAndDestroy(); resolve(); });
        s.on("error", resolve);
      });
    }`;
  const out = new Deno.Command(Deno.execPath(), { args: ["eval", client] }).outputSync();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
}

Deno.test("http2: connections reset before accept are neither errors nor accept pauses", async () => {
  const errors: unknown[] = [];
  const server = await serveHttp2(
    { port: 0, hostname: "127.0.0.1", onError: (e) => errors.push(e) },
    async (s) => await s.respond([[":status", "200"]], true),
  );
  try {
    resetBeforeAccept(server.addr.port, 50);
    // Before: each reset connection failed `accept` (NotConnected), was reported, and paused
    // accepting for 100 ms, so this client waited 5 s for its SETTINGS.
    const started = performance.now();
    const c = await RawClient.connect(server.addr.port);
    try {
      const first = await c.next(3000);
      assert.equal(first?.type, FrameType.SETTINGS);
    } finally {
      c.close();
    }
    assert.ok(performance.now() - started < 1000, `${performance.now() - started} ms`);
    assert.deepEqual(errors.map(String), []);
  } finally {
    await server.shutdown(1000);
  }
});

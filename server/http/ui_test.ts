import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { Registry } from "prom-client";
import { MemoryQueryable } from "../../engine/memory_queryable.ts";
import { UI_ASSETS, UI_SOURCE_DIGEST } from "../../ui/dist/assets.ts";
import { decompress, listenForTest, rawRequest, testPrometheusApi } from "./_api_testutil.ts";
import { combineHandlers } from "./routes.ts";
import { createUiHandler, UI_PAGES } from "./ui.ts";

const UI_DIR = fileURLToPath(new URL("../../ui/", import.meta.url));

/** The UI and the Prometheus API on one listener, as `serve` combines them. */
async function withServer(fn: (url: string, registry: Registry) => Promise<void>) {
  const registry = new Registry();
  const server = listenForTest(
    combineHandlers(
      createUiHandler(),
      testPrometheusApi(() => new MemoryQueryable(), { version: "1.2.3" }),
    ),
    { registry },
  );
  try {
    await fn(`http://127.0.0.1:${server.port}`, registry);
  } finally {
    await server.shutdown(1000);
  }
}

Deno.test("UI: / redirects to graph; every view serves the page, gzip or plain", async () => {
  await withServer(async (url) => {
    const root = await rawRequest(`${url}/`);
    assert.equal(root.status, 302);
    assert.equal(root.headers.location, "graph");
    const plain = await rawRequest(`${url}/graph`);
    assert.equal(plain.status, 200);
    assert.equal(plain.headers["content-type"], "text/html; charset=utf-8");
    assert.equal(plain.headers["content-encoding"], undefined);
    const html = new TextDecoder().decode(plain.body);
    assert.match(html, /<script type="module" src="assets\/app\.js"><\/script>/);
    assert.match(html, /<link rel="stylesheet" href="assets\/app\.css">/);
    assert.match(String(plain.headers["content-security-policy"]), /^default-src 'self';/);
    for (const page of UI_PAGES) {
      const gz = await rawRequest(`${url}${page}`, {
        headers: { "accept-encoding": "deflate, gzip;q=0.5" },
      });
      assert.equal(gz.status, 200, page);
      assert.equal(gz.headers["content-encoding"], "gzip");
      assert.equal(gz.headers.vary, "Accept-Encoding");
      assert.equal(await decompress(gz.body, "gzip"), html);
    }
    // gzip refused: sent plain.
    const refused = await rawRequest(`${url}/blocks`, {
      headers: { "accept-encoding": "gzip;q=0, deflate" },
    });
    assert.equal(refused.headers["content-encoding"], undefined);
    assert.equal(new TextDecoder().decode(refused.body), html);
  });
});

Deno.test("UI: assets with content types, ETag revalidation, HEAD; other methods 405", async () => {
  await withServer(async (url) => {
    const js = await rawRequest(`${url}/assets/app.js`);
    assert.equal(js.status, 200);
    assert.equal(js.headers["content-type"], "text/javascript; charset=utf-8");
    assert.equal(js.headers["cache-control"], "no-cache");
    assert.equal(js.body.length, UI_ASSETS["/assets/app.js"].size);
    const etag = String(js.headers.etag);
    assert.match(etag, /^"[0-9a-f]{20}"$/);
    const again = await rawRequest(`${url}/assets/app.js`, {
      headers: { "if-none-match": `"other", W/${etag}` },
    });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    const css = await rawRequest(`${url}/assets/app.css`, { method: "HEAD" });
    assert.equal(css.status, 200);
    assert.equal(css.headers["content-type"], "text/css; charset=utf-8");
    assert.equal(css.body.length, 0);
    const licenses = new TextDecoder().decode(
      (await rawRequest(`${url}/assets/licenses.txt`)).body,
    );
    for (const name of ["@codemirror/view", "@prometheus-io/codemirror-promql", "uplot"]) {
      assert.ok(licenses.includes(`\n${name}@`), name);
    }
    assert.equal((await rawRequest(`${url}/graph`, { method: "POST" })).status, 405);
  });
});

Deno.test("UI and API share the port; unknown paths are the API's 404, counted as other", async () => {
  await withServer(async (url, registry) => {
    const query = await fetch(`${url}/api/v1/query?query=1%2B1&time=0`);
    assert.deepEqual((await query.json()).data, { resultType: "scalar", result: [0, "2"] });
    for (const path of ["/assets/nope.js", "/graphs", "/index.html"]) {
      const res = await rawRequest(`${url}${path}`);
      assert.equal(res.status, 404, path);
      assert.equal(new TextDecoder().decode(res.body), "404 page not found\n");
    }
    await (await fetch(`${url}/status`)).body?.cancel();
    const metrics = await registry.metrics();
    assert.match(metrics, /http_requests_total\{code="200",method="GET",path="\/graph"\} 1\n/);
    assert.match(metrics, /path="\/api\/v1\/query"\} 1\n/);
    assert.match(metrics, /http_requests_total\{code="404",method="GET",path="other"\} 3\n/);
  });
});

Deno.test("UI: the committed assets are built from the current sources and stay small", async () => {
  // The digest ui/build.mjs records: each file's path, a NUL, its bytes and a NUL, in order.
  const sources: string[] = [];
  for await (const e of Deno.readDir(`${UI_DIR}/src`)) sources.push(`src/${e.name}`);
  const parts: Uint8Array[] = [];
  const enc = new TextEncoder();
  for (const f of [...sources.sort(), "build.mjs", "package-lock.json"]) {
    parts.push(enc.encode(`${f}\0`), await Deno.readFile(`${UI_DIR}/${f}`), enc.encode("\0"));
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) all.set(p, (at += p.length) - p.length);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  assert.equal(
    [...digest].map((b) => b.toString(16).padStart(2, "0")).join(""),
    UI_SOURCE_DIGEST,
    "ui/dist/assets.ts is stale: run `cd ui && npm ci && npm run build`",
  );
  const sizes = Object.values(UI_ASSETS);
  const gzipBytes = sizes.reduce((n, a) => n + Math.floor(a.gzipBase64.length * 3 / 4), 0);
  assert.ok(gzipBytes < 250_000, `assets are ${gzipBytes} bytes gzip-compressed`);
  assert.ok(sizes.reduce((n, a) => n + a.size, 0) < 700_000);
});

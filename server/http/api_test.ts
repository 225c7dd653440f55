import assert from "node:assert/strict";
import { Engine } from "../../engine/engine.ts";
import { labelsFromRecord } from "../../model/labels.ts";
import { MemoryQueryable } from "../../engine/memory_queryable.ts";
import { concatBytes } from "../../internal/bytes.ts";
import { NOP_LOGGER } from "../../internal/log.ts";
import { createPrometheusApi, type PrometheusApiOptions } from "./api.ts";

/** The API over `up{job="api"} 1` at t=0, called directly (no listener). */
function api(options: Partial<PrometheusApiOptions> = {}) {
  const store = new MemoryQueryable();
  store.append(labelsFromRecord({ __name__: "up", job: "api" }), 0, 1);
  return createPrometheusApi({
    engine: new Engine({ features: [] }),
    queryable: () => store,
    defaultTimeout: 30_000,
    maxTimeout: 60_000,
    lookbackDelta: 300_000,
    maxConcurrentQueries: 10,
    version: "test",
    logger: NOP_LOGGER,
    ...options,
  });
}

async function get(path: string, params: Record<string, string>) {
  const res = await api()(new Request(`http://x${path}?${new URLSearchParams(params)}`));
  return { status: res.status, body: await res.text() };
}

Deno.test("JSON bodies escape <, >, &, U+2028/9, backspace and form feed as Go does", async () => {
  // Expected bodies as Prometheus 2.42 writes them (jsoniter, compatible with encoding/json).
  const ok = await get("/api/v1/query", {
    // PromQL "\\b\b\f": a backslash, a "b", a backspace and a form feed.
    query: 'label_replace(vector(1), "a", "<&>\u2028\u2029\\\\b\\b\\f", "", "")',
    time: "100",
  });
  assert.equal(ok.status, 200);
  assert.equal(
    ok.body,
    '{"status":"success","data":{"resultType":"vector","result":[{"metric":' +
      '{"a":"\\u003c\\u0026\\u003e\\u2028\\u2029\\\\b\\u0008\\u000c"},"value":[100,"1"]}]}}',
  );
  assert.equal(JSON.parse(ok.body).data.result[0].metric.a, "<&>\u2028\u2029\\b\b\f");

  const bad = await get("/api/v1/query", { query: "sum(up) by (<)" });
  assert.equal(bad.status, 400);
  assert.equal(
    bad.body,
    '{"status":"error","errorType":"bad_data","error":"invalid parameter \\"query\\": 1:13: ' +
      'parse error: unexpected \\u003cop:\\u003c\\u003e in grouping opts, expected label"}',
  );
});

Deno.test("query_range without step is 400 bad_data, as in Prometheus", async () => {
  const want = '{"status":"error","errorType":"bad_data","error":' +
    '"invalid parameter \\"step\\": cannot parse \\"\\" to a valid duration"}';
  for (const params of [{}, { step: "" }] as Record<string, string>[]) {
    const res = await get("/api/v1/query_range", { query: "up", start: "0", end: "60", ...params });
    assert.deepEqual(res, { status: 400, body: want });
  }
  const res = await get("/api/v1/query_range", { query: "up", start: "0", end: "60", step: "30" });
  assert.equal(res.status, 200);
  assert.deepEqual(JSON.parse(res.body).data.result[0].values, [[0, "1"], [30, "1"], [60, "1"]]);
});

Deno.test("deep expressions: 400 bad_data naming the nesting limit, not a 500", async () => {
  const tooDeep = [
    "(".repeat(5000) + "1" + ")".repeat(5000),
    "-".repeat(5000) + "up",
    "abs(".repeat(5000) + "up" + ")".repeat(5000),
  ];
  for (const query of tooDeep) {
    const res = await get("/api/v1/query", { query, time: "100" });
    assert.equal(res.status, 400, res.body.slice(0, 200));
    const body = JSON.parse(res.body);
    assert.equal(body.errorType, "bad_data");
    assert.match(
      body.error,
      /^invalid parameter "query": 1:\d+: parse error: expressions nested deeper than 256 levels are not supported$/,
    );
  }
  // Signs before a number fold into it at any length: Prometheus answers this too.
  const signs = await get("/api/v1/query", { query: "-".repeat(5000) + "1", time: "100" });
  assert.deepEqual(signs, {
    status: 200,
    body: '{"status":"success","data":{"resultType":"scalar","result":[100,"1"]}}',
  });
});

/** A form body of `bytes` bytes (`query=1&pad=aaa...`) made on demand, counting what is read. */
function lazyForm(bytes: number, chunk = 64 << 10) {
  const head = new TextEncoder().encode("query=1&pad=");
  let made = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (made >= bytes) return controller.close();
      const n = Math.min(chunk, bytes - made);
      const part = new Uint8Array(n).fill(0x61);
      if (made === 0) part.set(head);
      made += n;
      controller.enqueue(part);
    },
  }, { highWaterMark: 0 });
  return { stream, read: () => made };
}

function post(
  handler: (req: Request) => Promise<Response>,
  body: ReadableStream<Uint8Array>,
  headers: Record<string, string> = {},
) {
  return handler(
    new Request("http://x/api/v1/query", {
      method: "POST",
      body,
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    }),
  );
}

Deno.test("a form body over the limit is 400 bad_data and is not read past the limit", async () => {
  const limit = 1 << 20;
  const handler = api({ maxRequestBodyBytes: limit });
  const tooLarge = '{"status":"error","errorType":"bad_data","error":"error parsing form values: ' +
    'http: POST too large (more than 1048576 bytes)"}';

  // Chunked, 100 MB: reading stops at the first chunk past the limit.
  const chunked = lazyForm(100_000_000);
  const res = await post(handler, chunked.stream);
  assert.deepEqual({ status: res.status, body: await res.text() }, { status: 400, body: tooLarge });
  assert.ok(chunked.read() <= limit + (64 << 10), `read ${chunked.read()} bytes`);

  // A Content-Length over the limit is answered without reading anything.
  const declared = lazyForm(100_000_000);
  const early = await post(handler, declared.stream, { "content-length": "100000000" });
  assert.deepEqual({ status: early.status, body: await early.text() }, {
    status: 400,
    body: tooLarge,
  });
  assert.equal(declared.read(), 0);

  // Exactly the limit is read and answered.
  const atLimit = await post(handler, lazyForm(limit).stream);
  assert.equal(atLimit.status, 200);
  assert.equal(JSON.parse(await atLimit.text()).data.result[1], "1");
});

Deno.test("a query longer than the limit is 400 bad_data", async () => {
  const handler = api({ maxQueryBytes: 100 });
  const query = "up + " + "0 + ".repeat(30) + "0";
  const res = await handler(
    new Request(`http://x/api/v1/query?${new URLSearchParams({ query, time: "0" })}`),
  );
  assert.deepEqual({ status: res.status, body: await res.text() }, {
    status: 400,
    body: '{"status":"error","errorType":"bad_data","error":"invalid parameter \\"query\\": ' +
      'the query is 126 bytes long, more than the limit of 100 bytes"}',
  });
  // Bytes, not characters: 50 two-byte characters are 100 bytes plus the quotes.
  const wide = await handler(
    new Request(`http://x/api/v1/query?${new URLSearchParams({ query: `"${"é".repeat(50)}"` })}`),
  );
  assert.equal(wide.status, 400);
  const ok = await handler(
    new Request(`http://x/api/v1/query?${new URLSearchParams({ query: `"${"é".repeat(49)}"` })}`),
  );
  assert.equal(ok.status, 200);
});

Deno.test("a large answer streams in pieces, equal to the whole, escaped as Go escapes", async () => {
  const store = new MemoryQueryable();
  for (let i = 0; i < 3000; i++) {
    store.append(labelsFromRecord({ __name__: "m", i: String(i), tag: "<&>" }), 0, i);
  }
  const res = await api({ queryable: () => store })(
    new Request(`http://x/api/v1/query?${new URLSearchParams({ query: "m", time: "100" })}`),
  );
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  const chunks: Uint8Array[] = [];
  for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(r.value);
  // About 200 KB in pieces of about 64 KiB.
  assert.ok(chunks.length >= 4, `${chunks.length} chunks`);
  const text = new TextDecoder().decode(concatBytes(chunks));
  assert.ok(!/[<>&]/.test(text));
  const body = JSON.parse(text);
  assert.equal(body.status, "success");
  assert.equal(body.data.result.length, 3000);
  assert.deepEqual(body.data.result[2999], {
    metric: { __name__: "m", i: "999", tag: "<&>" },
    value: [100, "999"],
  });
});

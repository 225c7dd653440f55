/**
 * The HTTP API's raw response bodies against Prometheus 2.42's for the same requests: JSON
 * string escaping (`\u003c` for `<`, ...), the missing-`step` error and deep expressions. No
 * data is needed, so Prometheus runs over an empty TSDB. Skips with a message when prometheus
 * is not installed (`.ci/install_packages.sh` installs it).
 */
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { Engine } from "../engine/engine.ts";
import { MemoryQueryable } from "../engine/memory_queryable.ts";
import { MAX_EXPRESSION_DEPTH } from "../engine/parser.ts";
import { NOP_LOGGER } from "../internal/log.ts";
import { createPrometheusApi } from "../server/http/api.ts";
import { startHttpServer } from "../server/http/server.ts";
import { prometheusAvailable, startPrometheus } from "./oracle/prometheus.ts";

const available = await prometheusAvailable();
if (!available) console.log("api_oracle_test: prometheus not installed; skipped");

const nest = (open: string, inner: string, close: string, levels: number) =>
  open.repeat(levels) + inner + close.repeat(levels);

async function post(base: string, path: string, params: Record<string, string>) {
  const res = await fetch(base + path, { method: "POST", body: new URLSearchParams(params) });
  return { status: res.status, body: await res.text() };
}

Deno.test({
  name: "raw API bodies equal Prometheus 2.42's: escaping, missing step, deep expressions",
  ignore: !available,
  async fn() {
    const prom = await startPrometheus({ blocks: [] });
    const ours = startHttpServer({
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
    const base = `http://127.0.0.1:${ours.port}`;
    try {
      const same: [string, Record<string, string>][] = [
        ["/api/v1/query", { query: '"<&>"', time: "100" }],
        [
          "/api/v1/query",
          { query: 'label_replace(vector(1), "a", "<&>\u2028\\\\b\\b\\f", "", "")', time: "100" },
        ],
        ["/api/v1/query", { query: "sum(foo) by (<)" }],
        ["/api/v1/query", { query: 'foo{a="<"} > & 1' }],
        ["/api/v1/query_range", { query: "up", start: "0", end: "60" }],
        ["/api/v1/query_range", { query: "up", start: "0", end: "60", step: "" }],
        ["/api/v1/query_range", { query: "up", start: "0", end: "60", step: "<&>" }],
        ["/api/v1/query", { query: "-".repeat(5000) + "1", time: "100" }],
        ["/api/v1/query", { query: nest("(", "1", ")", 200), time: "100" }],
        ["/api/v1/query", { query: nest("abs(", "vector(1)", ")", 200), time: "100" }],
      ];
      for (const [path, params] of same) {
        const [got, want] = [await post(base, path, params), await post(prom.url, path, params)];
        assert.deepEqual(got, want, `${path} ${JSON.stringify(params).slice(0, 80)}`);
      }

      // Deeper than our limit, Prometheus (a yacc parser on Go's growable stacks) still answers;
      // we answer 400 bad_data naming the limit instead of running out of stack.
      const deep = { query: nest("(", "1", ")", 5000), time: "100" };
      assert.deepEqual(await post(prom.url, "/api/v1/query", deep), {
        status: 200,
        body: '{"status":"success","data":{"resultType":"scalar","result":[100,"1"]}}',
      });
      assert.deepEqual(await post(base, "/api/v1/query", deep), {
        status: 400,
        body: '{"status":"error","errorType":"bad_data","error":"invalid parameter \\"query\\": ' +
          `1:${MAX_EXPRESSION_DEPTH + 1}: parse error: expressions nested deeper than ` +
          `${MAX_EXPRESSION_DEPTH} levels are not supported"}`,
      });
    } finally {
      await ours.shutdown(1000);
      await prom.stop();
    }
  },
});

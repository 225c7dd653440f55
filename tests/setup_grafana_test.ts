/**
 * `examples/grafana-datasource.yaml` against a real `serve` on the demo's data. Grafana cannot be
 * installed here, so this replays the HTTP requests its Prometheus data source sends (paths,
 * methods and parameters as in grafana/grafana `pkg/promlib` and `packages/grafana-prometheus`):
 * "Save & test" (an instant `1+1` at t=4 and `/api/v1/status/buildinfo`), the data source's start
 * in the query editor (metric names, label names, metadata, the exemplars probe), the metrics
 * browser and label filters (label values with `match[]`, series), an Explore query (instant and
 * range) and a time series panel (range query, exemplars). Each must answer 200 with the JSON
 * Grafana reads, for the file's HTTP method and for GET.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { SERVE_FLAGS } from "../cli/serve_config.ts";
import { writeDemoBlocks } from "../examples/demo.ts";
import { convertOnce, type GatewayServer, startServe } from "./oracle/gateway.ts";

const EXAMPLE = new URL("../examples/grafana-datasource.yaml", import.meta.url);
const DAY = 86_400_000;

/** Grafana's default series limit for metadata requests (`DEFAULT_SERIES_LIMIT`). */
const SERIES_LIMIT = "40000";

/** The demo's data (examples/demo.ts, tests/oracle/datagen.ts). */
const DEMO_METRICS = [
  "http_request_duration_seconds_bucket",
  "http_request_duration_seconds_count",
  "http_request_duration_seconds_sum",
  "http_requests_total",
  "process_resident_memory_bytes",
  "up",
];
const DEMO_JOBS = ["api", "batch", "web"];
const DEMO_CLUSTERS = ["eu-1", "us-1"];
const DEMO_TARGETS_PER_CLUSTER = 60;

interface DataSource {
  type: string;
  access: string;
  url: string;
  jsonData: Record<string, unknown>;
}

interface Answer {
  status: number;
  body: { status: string; data: unknown; errorType?: string; error?: string };
  /** Whether Grafana's client had to repeat a POST as GET (on 400 or 405, `client.go`). */
  retriedAsGet: boolean;
}

/**
 * Sends a request as Grafana's backend client does: POST with a form body, or GET with a query
 * string; a POST answered 400 or 405 is repeated once as GET.
 */
async function grafanaRequest(
  base: string,
  method: string,
  path: string,
  params: [string, string][],
): Promise<Answer> {
  const query = new URLSearchParams(params).toString();
  const send = (m: string) =>
    m === "POST"
      ? fetch(`${base}${path}`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: query,
      })
      : fetch(query ? `${base}${path}?${query}` : `${base}${path}`);
  let res = await send(method);
  let retriedAsGet = false;
  if (method === "POST" && (res.status === 400 || res.status === 405)) {
    await res.body?.cancel();
    res = await send("GET");
    retriedAsGet = true;
  }
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    assert.fail(`${method} ${path}: ${res.status} ${text}`);
  }
  assert.equal(res.status, 200, `${method} ${path}: ${text}`);
  assert.equal(body.status, "success", `${method} ${path}: ${text}`);
  return { status: res.status, body, retriedAsGet };
}

function assertStrings(data: unknown, what: string): string[] {
  assert.ok(Array.isArray(data), `${what}: data is an array`);
  for (const v of data) assert.equal(typeof v, "string", what);
  return data as string[];
}

function assertSample(point: unknown, what: string) {
  assert.ok(Array.isArray(point) && point.length === 2, `${what}: [time, "value"]`);
  assert.equal(typeof point[0], "number", what);
  assert.equal(typeof point[1], "string", what);
  assert.ok(Number.isFinite(Number(point[1])), `${what}: ${point[1]}`);
}

function readDataSource(text: string): DataSource {
  const file = parse(text) as { apiVersion: number; datasources: DataSource[] };
  assert.equal(file.apiVersion, 1);
  assert.equal(file.datasources.length, 1);
  return file.datasources[0];
}

Deno.test("examples/grafana-datasource.yaml points Grafana's Prometheus data source at serve", async () => {
  const ds = readDataSource(await Deno.readTextFile(EXAMPLE));
  assert.equal(ds.type, "prometheus");
  assert.equal(ds.access, "proxy", "Grafana removed browser access");
  const url = new URL(ds.url);
  assert.equal(url.protocol, "http:");
  const port = SERVE_FLAGS.find((f) => f.name === "http.prometheus.port")?.default;
  assert.equal(url.port, port, "serve's default Prometheus port");
  assert.equal(url.pathname, "/", "Grafana appends /api/v1/...");
  assert.ok(["POST", "GET"].includes(ds.jsonData.httpMethod as string));
  // No rules API: with recording rules on, Grafana would ask /api/v1/rules on every start.
  assert.equal(ds.jsonData.disableRecordingRules, true);
  assert.equal(ds.jsonData.manageAlerts, false);
  // An unset type makes Grafana use the labels API with match[] (hasLabelsMatchAPISupport).
  assert.equal(ds.jsonData.prometheusType, undefined);
});

Deno.test({
  name: "Grafana's Prometheus data source requests answer 200 with the JSON it reads",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const ds = readDataSource(await Deno.readTextFile(EXAMPLE));
    const root = await Deno.makeTempDir({ prefix: "grafana-" });
    let gw: GatewayServer | undefined;
    try {
      await Deno.mkdir(`${root}/tsdb`);
      const now = Date.now();
      await writeDemoBlocks(`${root}/tsdb`, now);
      await convertOnce(root, ["--convert.max-plan-days=4"]);
      gw = await startServe(root);
      // The data source's URL with the test server's address instead of the example's.
      const base = gw.url + new URL(ds.url).pathname.replace(/\/$/, "");
      // A dashboard's last hour, ending at the midnight in the middle of the demo's data.
      const end = (Math.floor(now / DAY) * DAY - 2 * DAY) / 1000;
      const start = end - 3600;
      const range: [string, string][] = [["start", String(start)], ["end", String(end)]];

      for (const method of new Set([ds.jsonData.httpMethod as string, "GET"])) {
        const req = (path: string, params: [string, string][] = []) =>
          grafanaRequest(base, method, path, params);
        // Paths Grafana sends only as GET (endpointsSupportOnlyGet, metadataRequest).
        const get = (path: string, params: [string, string][] = []) =>
          grafanaRequest(base, "GET", path, params);

        await t.step(`${method}: Save & test (CheckHealth)`, async () => {
          const health = await req("/api/v1/query", [["query", "1+1"], ["time", "4"]]);
          assert.deepEqual(health.body.data, { resultType: "scalar", result: [4, "2"] });
          assert.equal(health.retriedAsGet, false);
          // Heuristics: build info without `features` makes Grafana treat it as Prometheus.
          const info = await req("/api/v1/status/buildinfo");
          const data = info.body.data as Record<string, unknown>;
          assert.equal(typeof data.version, "string");
          assert.ok(data.version !== "");
          assert.ok(
            data.features === undefined || Object.keys(data.features as object).length === 0,
          );
        });

        await t.step(`${method}: data source start (editor suggestions)`, async () => {
          const names = await get("/api/v1/label/__name__/values", [
            ["limit", SERIES_LIMIT],
            ...range,
          ]);
          assert.deepEqual(assertStrings(names.body.data, "metric names"), DEMO_METRICS);
          const labels = await req("/api/v1/labels", [["limit", SERIES_LIMIT], ...range]);
          assert.equal(labels.retriedAsGet, false);
          const keys = assertStrings(labels.body.data, "label names");
          for (const k of ["__name__", "cluster", "job", "instance", "le"]) {
            assert.ok(keys.includes(k), k);
          }
          const metadata = await get("/api/v1/metadata");
          assert.equal(typeof metadata.body.data, "object");
          assert.ok(!Array.isArray(metadata.body.data));
          // areExemplarsAvailable(): times in milliseconds, as the frontend sends them.
          const exemplars = await req("/api/v1/query_exemplars", [
            ["query", "test"],
            ["start", String(now - 1_800_000)],
            ["end", String(now)],
          ]);
          assert.deepEqual(exemplars.body.data, []);
        });

        await t.step(`${method}: metrics browser and label filters`, async () => {
          const match = '{__name__="http_requests_total"}';
          const keys = await req("/api/v1/labels", [
            ["limit", SERIES_LIMIT],
            ...range,
            ["match[]", match],
          ]);
          assert.deepEqual(
            assertStrings(keys.body.data, "label names of a metric"),
            ["__name__", "cluster", "code", "instance", "job", "method"],
          );
          const jobs = await get("/api/v1/label/job/values", [
            ["limit", SERIES_LIMIT],
            ...range,
            ["match[]", match],
          ]);
          assert.deepEqual(jobs.body.data, DEMO_JOBS);
          const clusters = await get("/api/v1/label/cluster/values", [
            ["limit", SERIES_LIMIT],
            ...range,
          ]);
          assert.deepEqual(clusters.body.data, DEMO_CLUSTERS);
          const series = await req("/api/v1/series", [
            ...range,
            ["match[]", '{__name__="up"}'],
            ["limit", SERIES_LIMIT],
          ]);
          assert.equal(series.retriedAsGet, false);
          const sets = series.body.data as Record<string, string>[];
          assert.ok(Array.isArray(sets));
          assert.equal(sets.length, DEMO_CLUSTERS.length * DEMO_TARGETS_PER_CLUSTER);
          for (const s of sets) {
            assert.deepEqual(Object.keys(s).sort(), ["__name__", "cluster", "instance", "job"]);
            assert.equal(s.__name__, "up");
          }
        });

        // $__rate_interval with a 60s scrape interval is 4m; Grafana interpolates it.
        const expr = "sum by (job) (rate(http_requests_total[4m]))";
        await t.step(`${method}: time series panel and Explore (query_range, query)`, async () => {
          const matrix = await req("/api/v1/query_range", [
            ["query", expr],
            ...range,
            ["step", "60"],
          ]);
          assert.equal(matrix.retriedAsGet, false);
          const data = matrix.body.data as {
            resultType: string;
            result: { metric: Record<string, string>; values: unknown[] }[];
          };
          assert.equal(data.resultType, "matrix");
          assert.deepEqual(data.result.map((s) => s.metric.job), DEMO_JOBS);
          for (const s of data.result) {
            assert.deepEqual(Object.keys(s.metric), ["job"]);
            assert.equal(s.values.length, 3600 / 60 + 1);
            s.values.forEach((p, i) => {
              assertSample(p, `${s.metric.job}[${i}]`);
              assert.equal((p as [number, string])[0], start + 60 * i);
            });
          }
          // Explore's default runs the same query as an instant query at the range's end.
          const vector = await req("/api/v1/query", [["query", expr], ["time", String(end)]]);
          const v = vector.body.data as {
            resultType: string;
            result: { metric: Record<string, string>; value: unknown }[];
          };
          assert.equal(v.resultType, "vector");
          assert.deepEqual(v.result.map((s) => s.metric.job).sort(), DEMO_JOBS);
          for (const s of v.result) {
            assertSample(s.value, s.metric.job);
            assert.equal((s.value as [number, string])[0], end);
          }
          // With "Exemplars" switched on, the panel also asks for exemplars (seconds here).
          const exemplars = await req("/api/v1/query_exemplars", [["query", expr], ...range]);
          assert.deepEqual(exemplars.body.data, []);
        });
      }
    } finally {
      await gw?.stop();
      await Deno.remove(root, { recursive: true });
    }
  },
});

/**
 * The status endpoints and response compression of the real `serve` process against a real
 * Prometheus 2.42: the same keys with the same JSON types (values differ by nature), and the same
 * `Content-Encoding` for each `Accept-Encoding`. Skips with a message when prometheus is not
 * installed (`.ci/install_packages.sh` installs it).
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { decompress, rawRequest } from "../server/http/_api_testutil.ts";
import { type GatewayServer, startServe } from "./oracle/gateway.ts";
import {
  prometheusAvailable,
  type PrometheusServer,
  startPrometheus,
} from "./oracle/prometheus.ts";

const available = await prometheusAvailable();
if (!available) console.log("e2e_status_test: promtool/prometheus not installed; skipped");

// Keys current Prometheus has in runtimeinfo that 2.42 does not.
const RUNTIMEINFO_KEYS_SINCE_2_42 = ["GOMEMLIMIT", "hostname", "serverTime"];

async function statusData(base: string, endpoint: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}/api/v1/status/${endpoint}`);
  const body = await res.json();
  assert.equal(body.status, "success", `${base} ${endpoint}`);
  return body.data;
}

function types(data: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, typeof v]));
}

Deno.test({
  name: "status endpoints and compression answer like Prometheus 2.42",
  ignore: !available,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const root = await Deno.makeTempDir({ prefix: "e2e-status-" });
    let prom: PrometheusServer | undefined;
    let gw: GatewayServer | undefined;
    try {
      await Deno.mkdir(`${root}/parquet`);
      [prom, gw] = await Promise.all([startPrometheus({ blocks: [] }), startServe(root)]);

      await t.step("buildinfo, runtimeinfo and config have Prometheus' keys", async () => {
        for (const endpoint of ["buildinfo", "config"]) {
          const [ours, theirs] = await Promise.all(
            [gw!.url, prom!.url].map((u) => statusData(u, endpoint)),
          );
          assert.deepEqual(types(ours), types(theirs), endpoint);
        }
        const [ours, theirs] = await Promise.all(
          [gw!.url, prom!.url].map((u) => statusData(u, "runtimeinfo")),
        );
        const oursTypes = types(ours);
        for (const key of RUNTIMEINFO_KEYS_SINCE_2_42) delete oursTypes[key];
        assert.deepEqual(oursTypes, types(theirs));
      });

      await t.step("flags map every flag to a string; the inline config is masked", async () => {
        const [ours, theirs] = await Promise.all(
          [gw!.url, prom!.url].map((u) => statusData(u, "flags")),
        );
        assert.deepEqual(new Set(Object.values(types(theirs))), new Set(["string"]));
        assert.deepEqual(new Set(Object.values(types(ours))), new Set(["string"]));
        assert.equal(ours["objstore.config"], "<secret>");
        assert.equal(ours["block.labelfilepath"], `${root}/labels`);
        assert.equal(ours["log.level"], "warn");
        assert.equal(ours["query.lookback"], theirs["query.lookback-delta"]);
      });

      await t.step("config is the bucket's objstore YAML in effect", async () => {
        const yaml = (await statusData(gw!.url, "config")).yaml as string;
        const shown = parse(yaml);
        assert.deepEqual(shown, {
          type: "FILESYSTEM",
          config: { directory: `${root}/parquet` },
          prefix: "",
        });
      });

      await t.step("the same Content-Encoding for each Accept-Encoding", async () => {
        for (
          const accept of [
            undefined,
            "gzip",
            "deflate",
            "br, deflate",
            "deflate, gzip, br, zstd",
            "gzip;q=1.0",
            "br",
            "*",
          ]
        ) {
          const headers: Record<string, string> = accept ? { "accept-encoding": accept } : {};
          const [ours, theirs] = await Promise.all(
            [gw!.url, prom!.url].map((u) =>
              rawRequest(`${u}/api/v1/status/buildinfo`, { headers })
            ),
          );
          const encoding = theirs.headers["content-encoding"] as "gzip" | "deflate" | undefined;
          assert.equal(ours.headers["content-encoding"], encoding, `Accept-Encoding: ${accept}`);
          const text = encoding
            ? await decompress(ours.body, encoding)
            : new TextDecoder().decode(ours.body);
          assert.equal(JSON.parse(text).status, "success", `Accept-Encoding: ${accept}`);
        }
      });
    } finally {
      await gw?.stop();
      await prom?.stop();
      await Deno.remove(root, { recursive: true });
    }
  },
});

/**
 * End to end against the reference: real TSDB blocks (promtool from generated OpenMetrics) are
 * converted by the real `convert --convert.once` process, served by the real `serve` process,
 * and every query of `oracle/queries.ts` (instant and range, within and across days) plus the
 * series, labels and label values endpoints must answer what Prometheus 2.42 answers over the
 * same blocks. Skips with a message when promtool/prometheus are not installed
 * (`.ci/install_packages.sh` installs them).
 */
import assert from "node:assert/strict";
import { compareQueryData, compareSeriesData, compareStrings } from "./oracle/compare.ts";
import { writeOpenMetrics } from "./oracle/datagen.ts";
import { convertOnce, type GatewayServer, startServe } from "./oracle/gateway.ts";
import {
  createBlocks,
  prometheusAvailable,
  type PrometheusServer,
  startPrometheus,
} from "./oracle/prometheus.ts";
import {
  KNOWN_DIFFERENCES,
  LABEL_VALUE_NAMES,
  QUERIES,
  SERIES_MATCHERS,
} from "./oracle/queries.ts";

const available = await prometheusAvailable();
if (!available) console.log("e2e_oracle_test: promtool/prometheus not installed; skipped");

const DAY = 86_400_000;
const START = Date.UTC(2025, 0, 10);

async function get(base: string, path: string, params: [string, string][]): Promise<unknown> {
  const res = await fetch(`${base}${path}?${new URLSearchParams(params)}`);
  const body = await res.json();
  if (body.status !== "success") return { error: body.errorType, status: res.status };
  return body.data;
}

Deno.test({
  name: "convert then serve answers like Prometheus 2.42 over the same blocks",
  ignore: !available,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const root = await Deno.makeTempDir({ prefix: "e2e-oracle-" });
    let prom: PrometheusServer | undefined;
    let gw: GatewayServer | undefined;
    try {
      // Two and a half days: the first two are complete and old enough to be converted.
      await writeOpenMetrics(`${root}/data.om`, {
        startMs: START,
        durationMs: 2.5 * DAY,
        intervalMs: 60_000,
        instances: 6,
      });
      const ulids = await createBlocks(`${root}/data.om`, `${root}/tsdb`);
      await convertOnce(root, ["--convert.grace-period=1h"]);
      for (const d of ["2025-01-10", "2025-01-11"]) {
        await Deno.stat(`${root}/parquet/${d}/meta.pb`);
      }

      [prom, gw] = await Promise.all([
        startPrometheus({ blocks: ulids.map((u) => `${root}/tsdb/${u}`) }),
        startServe(root),
      ]);
      const failures: string[] = [];
      const instantTimes = [START + 12 * 3600_000 + 7_000, START + DAY + 23 * 3600_000 + 30_000];
      // Evaluation times are 7 s past whole minutes, so subquery steps (absolute multiples of
      // their resolution) never fall on a range boundary, where 2.42 (closed) and 3.x (left-open)
      // legitimately differ.
      const ranges = [
        { start: START + 10 * 3600_000 + 7_000, end: START + 14 * 3600_000, step: 60 },
        // Across midnight: both days' files answer one query.
        { start: START + DAY - 2 * 3600_000 + 7_000, end: START + DAY + 2 * 3600_000, step: 300 },
      ];
      let compared = 0;
      await t.step("queries", async () => {
        for (const q of QUERIES) {
          if (KNOWN_DIFFERENCES.has(q)) continue;
          for (const time of instantTimes) {
            const params: [string, string][] = [["query", q], ["time", String(time / 1000)]];
            const [got, want] = await Promise.all([
              get(gw!.url, "/api/v1/query", params),
              get(prom!.url, "/api/v1/query", params),
            ]);
            const diff = compareQueryData(got, want, /^sort/.test(q));
            compared++;
            if (diff) failures.push(`instant ${q} @${time / 1000}: ${diff}`);
          }
          for (const r of ranges) {
            const params: [string, string][] = [
              ["query", q],
              ["start", String(r.start / 1000)],
              ["end", String(r.end / 1000)],
              ["step", String(r.step)],
            ];
            const [got, want] = await Promise.all([
              get(gw!.url, "/api/v1/query_range", params),
              get(prom!.url, "/api/v1/query_range", params),
            ]);
            const diff = compareQueryData(got, want);
            compared++;
            if (diff) failures.push(`range ${q} ${r.start / 1000}..${r.end / 1000}: ${diff}`);
          }
        }
      });
      await t.step("series, labels and label values", async () => {
        const window: [string, string][] = [
          ["start", String((START + DAY / 2) / 1000)],
          ["end", String((START + DAY + DAY / 2) / 1000)],
        ];
        for (const matchers of SERIES_MATCHERS) {
          const params: [string, string][] = [
            ...matchers.map((m) => ["match[]", m]),
            ...window,
          ] as [
            string,
            string,
          ][];
          const [gs, ws] = await Promise.all([
            get(gw!.url, "/api/v1/series", params),
            get(prom!.url, "/api/v1/series", params),
          ]);
          const d1 = compareSeriesData(gs, ws);
          if (d1) failures.push(`series ${matchers}: ${d1}`);
          const [gl, wl] = await Promise.all([
            get(gw!.url, "/api/v1/labels", params),
            get(prom!.url, "/api/v1/labels", params),
          ]);
          const d2 = compareStrings(gl, wl);
          if (d2) failures.push(`labels ${matchers}: ${d2}`);
          compared += 2;
        }
        for (const name of LABEL_VALUE_NAMES) {
          for (
            const params of [window, [...window, ["match[]", '{job="api"}']] as [string, string][]]
          ) {
            const [gv, wv] = await Promise.all([
              get(gw!.url, `/api/v1/label/${name}/values`, params),
              get(prom!.url, `/api/v1/label/${name}/values`, params),
            ]);
            const d = compareStrings(gv, wv);
            compared++;
            if (d) failures.push(`label values ${name} ${params.length}: ${d}`);
          }
        }
      });
      console.log(`e2e_oracle_test: ${compared - failures.length}/${compared} answers equal`);
      assert.deepEqual(failures, [], failures.slice(0, 20).join("\n"));

      await t.step("a bad query is 400 bad_data, as in Prometheus", async () => {
        // (Regex errors differ on purpose: 3.x anchors with `(?s:` so that `.` matches "\n".)
        for (const q of ["sum(", "rate(up)", "up[5m] + 1", "sum by ("]) {
          const [g, w] = await Promise.all(
            [gw!.url, prom!.url].map((u) =>
              fetch(`${u}/api/v1/query?${new URLSearchParams({ query: q, time: "1736510407" })}`)
            ),
          );
          const [gb, wb] = [await g.json(), await w.json()];
          assert.equal(g.status, 400, q);
          assert.equal(w.status, 400, q);
          assert.equal(gb.errorType, "bad_data");
          assert.equal(wb.errorType, "bad_data");
          assert.equal(gb.error, wb.error, q);
        }
      });

      await t.step("a bad regular expression names RE2's error", async () => {
        const res = await fetch(
          `${gw!.url}/api/v1/query?${new URLSearchParams({ query: 'up{job=~"("}' })}`,
        );
        assert.equal(res.status, 400);
        assert.equal(
          (await res.json()).error,
          'invalid parameter "query": 1:4: parse error: error parsing regexp: missing closing ): `^(?s:()$`',
        );
      });

      await t.step(
        "a corrupted day is skipped, counted and logged; other days answer",
        async () => {
          await gw!.stop();
          gw = undefined;
          await Deno.writeFile(
            `${root}/parquet/0/2025-01-11/0.labels.parquet`,
            new TextEncoder().encode("not a parquet file"),
          );
          await Deno.remove(`${root}/labels`, { recursive: true });
          gw = await startServe(root);
          const metrics = await (await fetch(`${gw.internalUrl}/metrics`)).text();
          assert.match(metrics, /^locate_sync_corrupted_label_parquet_files_total 1$/m);
          const params: [string, string][] = [
            ["query", "sum by (job) (rate(http_requests_total[5m]))"],
            ["time", String(instantTimes[0] / 1000)],
          ];
          const [got, want] = await Promise.all([
            get(gw.url, "/api/v1/query", params),
            get(prom!.url, "/api/v1/query", params),
          ]);
          assert.equal(compareQueryData(got, want), undefined);
          // The corrupted day answers nothing rather than failing the query.
          const late = await get(gw.url, "/api/v1/query", [
            ["query", "count(up)"],
            ["time", String(instantTimes[1] / 1000)],
          ]);
          assert.deepEqual(late, { resultType: "vector", result: [] });
          assert.match(gw.stderr(), /corrupted labels file/);
        },
      );
    } finally {
      await gw?.stop();
      await prom?.stop();
      await Deno.remove(root, { recursive: true });
    }
  },
});

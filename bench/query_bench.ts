/**
 * Query latency of the gateway against Prometheus 2.42 on the same blocks, in one run: generated
 * OpenMetrics -> promtool blocks -> `convert --convert.once` -> `serve`, and a `prometheus`
 * over the same blocks. Every query of `tests/oracle/queries.ts` runs as a range query (4 h, step
 * 60 s) several times against both, alternating; the table shows each side's median HTTP latency,
 * the ratio, and the bytes and requests the gateway fetched from the bucket for one execution
 * (label files are local after sync, so this is chunk data).
 *
 * Run: `deno run -A bench/query_bench.ts [instances] [repetitions]` (default 40 targets = 600
 * series over 2.5 days at 60 s, 5 repetitions). Needs promtool and prometheus on PATH.
 *
 * @module
 */
import { writeOpenMetrics } from "../tests/oracle/datagen.ts";
import { convertOnce, startServe } from "../tests/oracle/gateway.ts";
import { createBlocks, prometheusAvailable, startPrometheus } from "../tests/oracle/prometheus.ts";
import { QUERIES } from "../tests/oracle/queries.ts";

const DAY = 86_400_000;
const START = Date.UTC(2025, 0, 10);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function timed(url: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(url);
  const body = await res.json();
  if (body.status !== "success") throw new Error(`${url}: ${JSON.stringify(body)}`);
  return performance.now() - t0;
}

async function bucketCounters(internalUrl: string): Promise<{ bytes: number; requests: number }> {
  const text = await (await fetch(`${internalUrl}/metrics`)).text();
  let bytes = 0, requests = 0;
  for (const line of text.split("\n")) {
    if (!line.includes('bucket="parquet"')) continue;
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (line.startsWith("objstore_bucket_operation_fetched_bytes_total")) bytes += value;
    if (line.startsWith("objstore_bucket_operations_total")) requests += value;
  }
  return { bytes, requests };
}

if (import.meta.main) {
  if (!(await prometheusAvailable())) {
    console.log("query_bench: promtool/prometheus not installed");
    Deno.exit(0);
  }
  const instances = Number(Deno.args[0] ?? 40);
  const reps = Number(Deno.args[1] ?? 5);
  const root = await Deno.makeTempDir({ prefix: "query-bench-" });
  try {
    await writeOpenMetrics(`${root}/data.om`, {
      startMs: START,
      durationMs: 2.5 * DAY,
      intervalMs: 60_000,
      instances,
    });
    const ulids = await createBlocks(`${root}/data.om`, `${root}/tsdb`);
    await convertOnce(root, ["--convert.grace-period=1h"]);
    const [prom, gw] = await Promise.all([
      startPrometheus({ blocks: ulids.map((u) => `${root}/tsdb/${u}`) }),
      startServe(root),
    ]);
    try {
      const start = (START + 10 * 3600_000 + 7_000) / 1000;
      const end = start + 4 * 3600;
      const rows: string[][] = [];
      const ratios: number[] = [];
      for (const q of QUERIES) {
        // A range-vector expression can only be an instant query.
        const instant = /\]( offset [^ ]+)?$/.test(q);
        const path = instant
          ? `/api/v1/query?${new URLSearchParams({ query: q, time: String(end) })}`
          : `/api/v1/query_range?${new URLSearchParams({
            query: q,
            start: String(start),
            end: String(end),
            step: "60",
          })}`;
        const ours: number[] = [], theirs: number[] = [];
        const before = await bucketCounters(gw.internalUrl);
        ours.push(await timed(`${gw.url}${path}`));
        const after = await bucketCounters(gw.internalUrl);
        theirs.push(await timed(`${prom.url}${path}`));
        for (let i = 1; i < reps; i++) {
          ours.push(await timed(`${gw.url}${path}`));
          theirs.push(await timed(`${prom.url}${path}`));
        }
        const o = median(ours), p = median(theirs);
        ratios.push(o / p);
        rows.push([
          q.length > 60 ? q.slice(0, 57) + "..." : q,
          o.toFixed(1),
          p.toFixed(1),
          (o / p).toFixed(2),
          String(after.bytes - before.bytes),
          String(after.requests - before.requests),
        ]);
      }
      const header = ["query", "ours ms", "prom ms", "ratio", "bytes", "requests"];
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
      const fmt = (r: string[]) =>
        r.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join("  ");
      console.log(fmt(header));
      for (const r of rows) console.log(fmt(r));
      console.log(
        `\n${QUERIES.length} queries (range unless the result is a range vector) over ${
          instances * 15
        } series, ${reps} runs each; ` +
          `median ratio ours/prometheus: ${median(ratios).toFixed(2)}`,
      );
    } finally {
      await gw.stop();
      await prom.stop();
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

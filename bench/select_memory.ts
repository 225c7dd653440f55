/**
 * Peak memory of `serve` for queries that select much and answer little (issue "Bounded memory
 * at scale"). Writes one UTC day of counters sampled every 60 s (1,440 samples a series; 10,000
 * series = 14.4M samples by default) straight into a FILESYSTEM bucket with the project's shard
 * writer, then for each query starts a fresh `serve` of a gateway checkout (this one by default;
 * `--gateway DIR` measures another, e.g. an older commit checked out with `git worktree add`),
 * runs the query once over HTTP and reads the process's peak resident set (`VmHWM` in
 * `/proc/PID/status`) once it is ready and after the query. Prints one row per query: status,
 * wall time, peak RSS after sync and after the query. Not a timed test: numbers depend on the
 * machine; compare runs of two checkouts on the same data (`--dir` keeps and reuses it).
 *
 * Run: `deno run -A bench/select_memory.ts [--series N] [--gateway DIR] [--dir DIR]
 * [--serve-flag FLAG]...`; `--serve-flag` passes a flag to `serve`, e.g.
 * `--serve-flag=--query.storage.page-cache-size=0` to leave out the page cache (256 MiB by
 * default), which keeps decoded pages across queries.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { labelsFromRecord } from "../model/labels.ts";
import { FilesystemBucket } from "../storage/objstore/filesystem.ts";
import { encodeChunkColumn, type RawChunk } from "../storage/parquet/chunk_column.ts";
import { chunksFileKey, labelsFileKey, metaFileKey } from "../storage/parquet/layout.ts";
import { encodeBlockMeta } from "../storage/parquet/meta.ts";
import { chunkColumnForTime } from "../storage/parquet/schema.ts";
import { ShardWriter } from "../storage/parquet/writer.ts";
import { XorChunkEncoder } from "../storage/tsdb/xor.ts";
import { freePort } from "../tests/oracle/prometheus.ts";
import { gatewayV8Flags } from "../tests/gateway_process.ts";

const DATE = "2025-01-10";
const DAY_START = Date.parse(`${DATE}T00:00:00Z`);
const MIN = 60_000;
const METRICS = 10;

const END = String((DAY_START + 1440 * MIN) / 1000);
const ALL = '{__name__=~".+"}';

/** The queries: large selections, small answers. */
const QUERIES: { path: "query" | "query_range"; params: Record<string, string> }[] = [
  { path: "query", params: { query: `count(count_over_time(${ALL}[1d]))`, time: END } },
  { path: "query", params: { query: `count(${ALL})`, time: END } },
  {
    path: "query_range",
    params: {
      query: `sum by (job) (rate(${ALL}[5m]))`,
      start: String((DAY_START + 5 * MIN) / 1000),
      end: END,
      step: "300",
    },
  },
];

/** Writes the day: `METRICS` counters x `series / METRICS` instances in one shard. */
async function writeData(dir: string, series: number): Promise<void> {
  const bucket = new FilesystemBucket(join(dir, "parquet"));
  try {
    const w = new ShardWriter(
      bucket,
      labelsFileKey(0n, DATE, 0),
      chunksFileKey(0n, DATE, 0),
      ["__name__", "instance", "job"],
      { rowGroupSize: 1_000_000 },
    );
    const perMetric = Math.ceil(series / METRICS);
    let written = 0;
    // Rows in label order: metric names, then zero-padded instances.
    for (let m = 0; m < METRICS && written < series; m++) {
      for (let i = 0; i < perMetric && written < series; i++, written++) {
        const labels = labelsFromRecord({
          __name__: `bench_metric_${m}_total`,
          // Unique without the name: range functions drop it.
          instance: `host-${String(written).padStart(7, "0")}`,
          job: `job-${i % 10}`,
        });
        const columns: RawChunk[][] = [[], [], []];
        // Chunks of 120 samples (two hours at 60 s), as Prometheus' head cuts them.
        for (let c = 0; c < 12; c++) {
          const enc = new XorChunkEncoder();
          const minT = DAY_START + c * 120 * MIN;
          for (let k = 0; k < 120; k++) enc.append(minT + k * MIN, written + (c * 120 + k) * 3);
          columns[chunkColumnForTime(minT)].push({
            encoding: 1,
            minT,
            maxT: minT + 119 * MIN,
            data: enc.bytes(),
          });
        }
        await w.append({ labels, chunks: columns.map(encodeChunkColumn) });
      }
    }
    await w.close();
    await bucket.upload(
      metaFileKey(0n, DATE),
      encodeBlockMeta({
        version: 2,
        mint: DAY_START,
        maxt: DAY_START + 1440 * MIN,
        shards: 1,
        columnsForName: new Map(),
        convertedFromBLIDs: [],
      }),
    );
  } finally {
    await bucket.close();
  }
}

/** Peak resident set of process `pid`, bytes. */
async function peakRss(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]);
  return kb * 1024;
}

/** Starts `serve` of `gateway` over `dir`, runs one query, returns what it measured. */
async function measure(
  gateway: string,
  dir: string,
  q: (typeof QUERIES)[number],
  serveFlags: readonly string[],
) {
  const port = freePort();
  const internal = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...gatewayV8Flags(),
      "-A",
      join(gateway, "cli/main.ts"),
      "serve",
      `--objstore.config=type: FILESYSTEM\nconfig: {directory: ${join(dir, "parquet")}}`,
      `--http.prometheus.port=${port}`,
      `--http.thanos.port=${freePort()}`,
      `--http.internal.port=${internal}`,
      `--block.labelfilepath=${join(dir, "labels")}`,
      "--log.level=warn",
      ...serveFlags,
    ],
    cwd: gateway,
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  try {
    for (let i = 0;; i++) {
      try {
        const res = await fetch(`http://127.0.0.1:${internal}/-/ready`);
        await res.body?.cancel();
        if (res.ok) break;
      } catch { /* not yet */ }
      if (i > 600) throw new Error("serve did not get ready");
      await new Promise((r) => setTimeout(r, 100));
    }
    const ready = await peakRss(child.pid);
    const t0 = performance.now();
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/${q.path}`, {
      method: "POST",
      body: new URLSearchParams(q.params),
    });
    const body = await res.json();
    const seconds = (performance.now() - t0) / 1000;
    const after = await peakRss(child.pid);
    const status = body.status === "success" ? "ok" : `${body.errorType}: ${body.error}`;
    return { status, seconds, ready, after };
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      series: { type: "string", default: "10000" },
      gateway: { type: "string", default: fileURLToPath(new URL("..", import.meta.url)) },
      dir: { type: "string" },
      "serve-flag": { type: "string", multiple: true, default: [] },
    },
  });
  const series = Number(values.series);
  const dir = values.dir ?? await Deno.makeTempDir({ prefix: "select-memory-" });
  try {
    const stamp = join(dir, `series-${series}`);
    if (!(await Deno.stat(stamp).catch(() => undefined))) {
      const t0 = performance.now();
      await Deno.remove(join(dir, "parquet"), { recursive: true }).catch(() => {});
      await Deno.remove(join(dir, "labels"), { recursive: true }).catch(() => {});
      await writeData(dir, series);
      await Deno.writeTextFile(stamp, "");
      console.log(
        `wrote ${series} series x 1440 samples in ${
          ((performance.now() - t0) / 1000).toFixed(1)
        } s`,
      );
    }
    const mib = (b: number) => (b / 1024 / 1024).toFixed(0);
    console.log(`gateway ${values.gateway}, ${series} series, ${series * 1440} samples`);
    console.log("query | status | seconds | peak RSS ready MiB | peak RSS after MiB");
    for (const q of QUERIES) {
      const r = await measure(values.gateway, dir, q, values["serve-flag"]);
      const what = q.path === "query" ? q.params.query : `${q.params.query} (range, step 5m)`;
      console.log(
        `${what} | ${r.status} | ${r.seconds.toFixed(2)} | ${mib(r.ready)} | ${mib(r.after)}`,
      );
    }
  } finally {
    if (values.dir === undefined) await Deno.remove(dir, { recursive: true });
  }
}

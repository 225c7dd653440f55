/**
 * Our PromQL engine against Prometheus 2.42's, on the same samples, in one run (issue 7):
 * deterministic OpenMetrics data (`tests/oracle/datagen.ts`, about 10k series) -> TSDB blocks by
 * `promtool` -> a `prometheus` over those blocks, and the same blocks read back with our TSDB
 * reader into a {@linkcode MemoryQueryable}. Every query of {@linkcode BENCH_QUERIES} runs as a
 * range query once against both, compared (which also warms both up), then several times against
 * both, alternating. Prometheus' time is its engine's own `stats=all` figure
 * (`data.stats.timings.execTotalTime`, which includes its storage reads from the mmapped blocks,
 * not the HTTP round trip); ours is the wall time of `Engine.rangeQuery`
 * (samples already decoded in memory). Each result is compared with Prometheus' answer
 * (`tests/oracle/compare.ts`); the table shows both medians, their ratio and whether the
 * results are equal, then the median ratio (target <= 0.8).
 *
 * Run: `deno run -A bench/engine_vs_prometheus.ts`. Environment (defaults in brackets):
 * `BENCH_INSTANCES` [667, x 15 series = 10,005 series], `BENCH_HOURS` of data [6],
 * `BENCH_INTERVAL_S` scrape interval [60], `BENCH_RANGE_HOURS` queried range, the data's last
 * hours [4], `BENCH_STEP_S` [60], `BENCH_RUNS` timed runs per query and side after one warm-up
 * [5], `BENCH_QUERY` a regular expression selecting queries (for profiling one with
 * `deno run -A --cpu-prof`, summarised by `bench/cpuprofile_top.ts`), `BENCH_DIR` a directory
 * to keep the data and blocks in and reuse on the next run (default: a temporary directory,
 * removed at the end). Needs promtool and prometheus on PATH. At the defaults a run takes
 * 3 to 4 minutes on 2 shared cores (data 3-6 s, promtool 8-17 s, our reader 2-3 s, the
 * rest queries, most of it the 6-8 s runs of the unaggregated histogram_quantile).
 *
 * @module
 */
import { Engine } from "../engine/engine.ts";
import { MemoryQueryable } from "../engine/memory_queryable.ts";
import { ValueType } from "../model/series.ts";
import { resultJson } from "../server/http/json.ts";
import { Block } from "../storage/tsdb/mod.ts";
import { compareQueryData } from "../tests/oracle/compare.ts";
import { writeOpenMetrics } from "../tests/oracle/datagen.ts";
import {
  createBlocks,
  prometheusAvailable,
  type PrometheusServer,
  startPrometheus,
} from "../tests/oracle/prometheus.ts";
import { KNOWN_DIFFERENCES, QUERIES } from "../tests/oracle/queries.ts";

/**
 * Queries of `tests/oracle/queries.ts` that read the large metric families (the 2,668
 * `http_requests_total` and 4,669 `http_request_duration_seconds_bucket` series at the default
 * size) or all targets: rate, aggregations, histogram_quantile, topk, joins and subqueries.
 */
const ORACLE_QUERIES: readonly string[] = [
  "rate(http_requests_total[5m])",
  "increase(http_requests_total[10m])",
  "irate(http_requests_total[5m])",
  "resets(http_requests_total[2h])",
  "sum without (instance) (rate(http_requests_total[5m]))",
  "sum by (job, code) (rate(http_requests_total[5m]))",
  "quantile by (job) (0.9, rate(http_requests_total[5m]))",
  "sort_desc(rate(http_requests_total[5m]))",
  "avg by (job) (process_resident_memory_bytes)",
  "topk(3, process_resident_memory_bytes)",
  "topk by (job) (1, process_resident_memory_bytes)",
  "topk(2, deriv(process_resident_memory_bytes[30m]))",
  "quantile_over_time(0.9, process_resident_memory_bytes[20m])",
  "histogram_quantile(0.9, rate(http_request_duration_seconds_bucket[5m]))",
  "histogram_quantile(0.5, sum by (le) (rate(http_request_duration_seconds_bucket[10m])))",
  "histogram_quantile(0.99, sum by (job, le) (rate(http_request_duration_seconds_bucket[10m])))",
  "rate(http_request_duration_seconds_sum[5m]) / rate(http_request_duration_seconds_count[5m])",
  "rate(http_requests_total[5m]) * on (job, instance) group_left up",
  "up * on (job, instance) group_right http_requests_total",
  'sum by (job) (rate(http_requests_total{code="500"}[5m])) / sum by (job) (rate(http_requests_total[5m]))',
  "up * on (job, instance) process_resident_memory_bytes",
  "max_over_time(rate(http_requests_total[5m])[30m:1m])",
  "min_over_time(process_resident_memory_bytes[20m:])",
  "deriv(sum(process_resident_memory_bytes)[30m:1m])",
];

/** The benchmarked queries: {@linkcode ORACLE_QUERIES} and two selections of every series. */
export const BENCH_QUERIES: readonly string[] = [
  ...ORACLE_QUERIES,
  'count by (__name__) ({job=~".+"})',
  'sum by (job) ({__name__=~"http_.+"})',
];

for (const q of ORACLE_QUERIES) {
  if (!QUERIES.includes(q)) {
    throw new Error(`bench query not in tests/oracle/queries.ts: ${q}`);
  }
}

const HOUR = 3_600_000;
const START = Date.UTC(2025, 0, 10);

function envNumber(name: string, fallback: number): number {
  const raw = Deno.env.get(name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!(n > 0)) throw new Error(`${name}=${raw}: expected a positive number`);
  return n;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Generates the data and blocks in `dir` unless a previous run left them there. */
async function prepareBlocks(dir: string, opts: {
  instances: number;
  hours: number;
  intervalMs: number;
}): Promise<string[]> {
  const stamp = `${dir}/options.json`;
  const want = JSON.stringify(opts);
  if (await exists(stamp) && (await Deno.readTextFile(stamp)) === want) {
    const blocks: string[] = [];
    for await (const e of Deno.readDir(`${dir}/tsdb`)) {
      if (e.isDirectory) blocks.push(`${dir}/tsdb/${e.name}`);
    }
    console.error(`reusing ${blocks.length} blocks in ${dir}/tsdb`);
    return blocks.sort();
  }
  await Deno.remove(`${dir}/tsdb`, { recursive: true }).catch(() => {});
  let t0 = performance.now();
  await writeOpenMetrics(`${dir}/data.om`, {
    startMs: START,
    durationMs: opts.hours * HOUR,
    intervalMs: opts.intervalMs,
    instances: opts.instances,
  });
  console.error(`generated OpenMetrics in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  t0 = performance.now();
  const ulids = await createBlocks(`${dir}/data.om`, `${dir}/tsdb`);
  console.error(
    `promtool wrote ${ulids.length} blocks in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  await Deno.remove(`${dir}/data.om`);
  await Deno.writeTextFile(stamp, want);
  return ulids.map((u) => `${dir}/tsdb/${u}`);
}

/** Reads every sample of the blocks with our TSDB reader into a memory store. */
async function loadBlocks(dirs: string[]): Promise<{ store: MemoryQueryable; samples: number }> {
  const store = new MemoryQueryable();
  let samples = 0;
  for (const dir of dirs) {
    const block = await Block.open(dir);
    try {
      for (const s of block.series()) {
        const it = s.iterator();
        for (let vt = it.next(); vt !== ValueType.None; vt = it.next()) {
          if (vt !== ValueType.Float) throw new Error(`${dir}: unexpected histogram sample`);
          store.append(s.labels, it.atT(), it.atFloat());
          samples++;
        }
      }
    } finally {
      await block.close();
    }
  }
  return { store, samples };
}

interface PromRun {
  /** `execTotalTime` of Prometheus' `stats=all`, ms. */
  ms: number;
  /** The response's `data` without `stats`, when asked for. */
  data?: unknown;
}

/**
 * Runs a range query on Prometheus. Only when `parse` is set is the answer parsed into objects:
 * the timed runs read the time off the text, so that collecting millions of parsed points does
 * not fall into our engine's timed runs.
 */
async function prometheusRange(
  prom: PrometheusServer,
  query: string,
  start: number,
  end: number,
  stepMs: number,
  parse: boolean,
): Promise<PromRun> {
  const params = new URLSearchParams({
    query,
    start: String(start / 1000),
    end: String(end / 1000),
    step: String(stepMs / 1000),
    stats: "all",
  });
  const res = await fetch(`${prom.url}/api/v1/query_range?${params}`);
  const text = await res.text();
  if (!text.startsWith('{"status":"success"')) {
    throw new Error(`prometheus ${query}: ${text.slice(0, 500)}`);
  }
  const exec = /"execTotalTime":([-+.0-9eE]+)/.exec(text);
  if (!exec) throw new Error(`prometheus ${query}: no execTotalTime in the stats`);
  const ms = Number(exec[1]) * 1000;
  if (!parse) return { ms };
  const { stats: _, ...data } = JSON.parse(text).data;
  return { ms, data };
}

async function main(): Promise<void> {
  if (!(await prometheusAvailable())) {
    console.error("promtool/prometheus not on PATH (see .ci/install_packages.sh)");
    Deno.exit(2);
  }
  const instances = envNumber("BENCH_INSTANCES", 667);
  const hours = envNumber("BENCH_HOURS", 6);
  const intervalMs = envNumber("BENCH_INTERVAL_S", 60) * 1000;
  const rangeHours = Math.min(envNumber("BENCH_RANGE_HOURS", 4), hours);
  const stepMs = envNumber("BENCH_STEP_S", 60) * 1000;
  const runs = envNumber("BENCH_RUNS", 5);
  const only = Deno.env.get("BENCH_QUERY");
  const queries = BENCH_QUERIES.filter((q) => !only || new RegExp(only).test(q));
  const keep = Deno.env.get("BENCH_DIR");
  const dir = keep ?? await Deno.makeTempDir({ prefix: "engine-vs-prometheus-" });
  await Deno.mkdir(dir, { recursive: true });

  // Evaluation times 7 s past whole minutes and sample times with 371 ms never coincide, nor do
  // range boundaries or subquery steps (whole minutes): Prometheus 2.42's closed windows and
  // our 3.x left-open ones then select the same samples.
  const end = START + hours * HOUR - 10 * 60_000 + 7_000;
  const start = end - rangeHours * HOUR;

  let prom: PrometheusServer | undefined;
  try {
    const blocks = await prepareBlocks(dir, { instances, hours, intervalMs });
    let t0 = performance.now();
    const { store, samples } = await loadBlocks(blocks);
    console.error(
      `loaded ${store.seriesCount} series, ${samples} samples with our reader in ${
        ((performance.now() - t0) / 1000).toFixed(1)
      } s`,
    );
    // One 2h range only: no compaction runs in Prometheus' background while we measure.
    prom = await startPrometheus({
      blocks,
      flags: ["--storage.tsdb.min-block-duration=2h", "--storage.tsdb.max-block-duration=2h"],
    });
    const engine = new Engine({ features: [] });
    console.log(
      `${store.seriesCount} series, ${samples} samples (${instances} instances, ${hours} h at ${
        intervalMs / 1000
      } s); range queries over ${rangeHours} h at step ${stepMs / 1000} s (${
        Math.floor((end - start) / stepMs) + 1
      } steps); median of ${runs} runs after a checked warm-up run of every query`,
    );
    console.log("");
    console.log("| query | ours ms | Prometheus ms | ratio | equal |");
    console.log("|---|---:|---:|---:|---|");
    // First every query once on both sides, compared: this also warms up both engines (JIT,
    // page cache) for all queries before any is timed.
    const equal = new Map<string, string>();
    const problems: string[] = [];
    for (const q of queries) {
      const res = await engine.rangeQuery(store, q, start, end, stepMs);
      const p = await prometheusRange(prom, q, start, end, stepMs, true);
      const diff = compareQueryData(JSON.parse(resultJson(res.value)), p.data, /^sort/.test(q));
      const known = KNOWN_DIFFERENCES.get(q);
      equal.set(q, diff === undefined ? "yes" : known ? "known difference" : "NO");
      if (diff) problems.push(`${q}: ${diff}${known ? ` (known: ${known})` : ""}`);
    }
    const ratios: number[] = [];
    for (const q of queries) {
      const ours: number[] = [], theirs: number[] = [];
      for (let r = 0; r < runs; r++) {
        t0 = performance.now();
        await engine.rangeQuery(store, q, start, end, stepMs);
        ours.push(performance.now() - t0);
        theirs.push((await prometheusRange(prom, q, start, end, stepMs, false)).ms);
      }
      const o = median(ours), t = median(theirs);
      ratios.push(o / t);
      console.log(
        `| \`${q}\` | ${o.toFixed(1)} | ${t.toFixed(1)} | ${(o / t).toFixed(2)} | ${
          equal.get(q)
        } |`,
      );
    }
    console.log("");
    console.log(`median ratio (ours / Prometheus): ${median(ratios).toFixed(2)} (target <= 0.8)`);
    for (const p of problems) console.log(`difference: ${p}`);
  } finally {
    await prom?.stop();
    if (!keep) await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main();

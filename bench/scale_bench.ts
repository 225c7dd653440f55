/**
 * The gateway against Prometheus 2.42 at scale, end to end through public interfaces only (the
 * `convert` and `serve` command lines, the Prometheus HTTP API, `/metrics`, the Parquet files):
 *
 * 1. N series over one UTC day (`scale_data.ts`: node-exporter and HTTP-service shaped hosts,
 *    15-60 s jittered scrapes) are written as twelve 2h TSDB blocks, block by block, into
 *    `<data>/tsdb` (reused on the next run with `--keep-data`).
 * 2. `convert --convert.once` converts them, pinned to core 0 under `/usr/bin/time -v`, which
 *    gives its wall time and peak RSS.
 * 3. `serve` on the Parquet bucket and `prometheus` on hard links of the same blocks (compaction
 *    off, so both read the same twelve blocks; no scraping) run pinned to core 0 both; this
 *    process and its helpers are moved to the other cores when there are any. Queries run one at
 *    a time, alternating between the two.
 * 4. Each query of {@linkcode scaleQueries} runs once on both (the warm-up: answers compared with
 *    `tests/oracle/compare.ts`, bucket bytes and requests read off serve's
 *    `objstore_bucket_*{bucket="parquet"}` counters around it), then `--runs` times on both,
 *    alternating; the table shows the median HTTP latencies (until the whole body arrived) and
 *    their ratio, both processes' peak RSS (VmHWM, cumulative: it cannot be reset; Prometheus'
 *    includes the pages of its memory-mapped blocks) after the query, and for the selective
 *    queries what their rows need at least (`scale_rows.ts`): the compressed size of the Parquet
 *    pages holding their rows in the chunk columns the query's range overlaps, and the size of
 *    the rows' values there, each with the ratio of the bytes serve fetched to it. The bytes are
 *    the warm-up run's: pages that earlier queries left in serve's page cache are not fetched.
 * 5. With `--s3-latency`, the bucket is s3rver behind `latency_proxy.ts`, which delays every
 *    request by that much; convert writes to s3rver directly, serve reads through the proxy,
 *    and the table adds per query (warm-up run) the requests, the sequential round trips (the
 *    longest chain of requests each started after the previous had ended) and the most requests
 *    in flight at once.
 *
 * Run: `deno run -A bench/scale_bench.ts --series=10000 [--s3-latency=50ms] [--keep-data=DIR]
 * [--queries=REGEXP] [--runs=3] [--steady-warmup=0]`. `--series` is rounded up to whole hosts of
 * 100 series; `--queries` selects queries by id; `--steady-warmup=N` adds steady-state columns: N
 * more untimed runs on both, then `--runs` timed ones (a JIT-compiled serve optimises a cheap
 * query's path over tens of runs; Prometheus is compiled ahead of time). Needs `prometheus`
 * (Debian's 2.42), `taskset` and `/usr/bin/time` on PATH. Prints progress on standard error, the
 * tables on standard output.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { compareQueryData, compareSeriesData, compareStrings } from "../tests/oracle/compare.ts";
import { freePort } from "../tests/oracle/prometheus.ts";
import { startS3rver, type TestServer } from "../storage/objstore/testing/servers.ts";
import {
  type LatencyProxy,
  peakConcurrency,
  sequentialRoundTrips,
  startLatencyProxy,
} from "./latency_proxy.ts";
import { appInstance, nodeInstance, SERIES_PER_HOST, writeDay } from "./scale_data.ts";
import {
  directorySource,
  type ObjectSource,
  type RowBytes,
  type RowSelector,
  s3Source,
  selectedRowBytes,
} from "./scale_rows.ts";
import { gatewayV8Flags } from "../tests/gateway_process.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const MAIN = `${ROOT}cli/main.ts`;
const HOUR = 3_600_000;
/** The generated day. */
const DAY = Date.UTC(2025, 0, 10);
/** Bumped when `scale_data.ts` changes what it writes, so cached blocks are regenerated. */
const DATA_VERSION = 1;
/** Longest time spent on the untimed runs before a query's steady-state runs, ms. */
const STEADY_WARMUP_BUDGET_MS = 20_000;
/** The core both servers are pinned to. */
const SERVER_CORE = "0";

/** Command-line options. */
interface Options {
  series: number;
  s3LatencyMs?: number;
  keepData?: string;
  queries?: RegExp;
  runs: number;
  /** Untimed runs before the steady-state runs; 0: no steady-state runs. */
  steadyWarmup: number;
}

function parseOptions(args: string[]): Options {
  const opts: Options = { series: 10_000, runs: 3, steadyWarmup: 0 };
  for (const arg of args) {
    const m = /^--([a-z0-9-]+)=(.*)$/.exec(arg);
    if (!m) throw new Error(`unknown argument ${arg}`);
    const [, name, value] = m;
    if (name === "series") opts.series = Number(value.replaceAll("_", ""));
    else if (name === "runs") opts.runs = Number(value);
    else if (name === "steady-warmup") opts.steadyWarmup = Number(value);
    else if (name === "keep-data") opts.keepData = value;
    else if (name === "queries") opts.queries = new RegExp(value);
    else if (name === "s3-latency") {
      const d = /^(\d+(?:\.\d+)?)(ms|s)$/.exec(value);
      if (!d) throw new Error(`--s3-latency=${value}: expected e.g. 50ms`);
      opts.s3LatencyMs = Number(d[1]) * (d[2] === "s" ? 1000 : 1);
    } else throw new Error(`unknown flag --${name}`);
  }
  if (!(opts.series > 0) || !(opts.runs >= 1)) throw new Error("--series and --runs must be > 0");
  if (!(opts.steadyWarmup >= 0)) throw new Error("--steady-warmup must be >= 0");
  return opts;
}

/** One benchmarked request. */
interface QuerySpec {
  id: string;
  /** What is shown: the expression, or the endpoint and its matcher. */
  text: string;
  /** Path and query string of the Prometheus HTTP API. */
  path: string;
  /** How answers are compared. */
  compare: "query" | "series" | "strings";
  /** For selective queries: the rows and time range they need. */
  rows?: RowSelector;
}

const sec = (ms: number) => String(ms / 1000);

/**
 * The query set: selective ones first (one host's series; run before the wide ones warm serve's
 * page cache), then wide aggregations, metadata endpoints and a subquery. Evaluation times are
 * whole seconds, which no sample has.
 */
export function scaleQueries(hosts: number): QuerySpec[] {
  const host = Math.floor(hosts / 2);
  const node = nodeInstance(host), app = appInstance(host);
  const at = DAY + 20 * HOUR + 7_000;
  const dayEnd = DAY + 24 * HOUR;
  const instant = (id: string, expr: string, time = at, rows?: RowSelector): QuerySpec => ({
    id,
    text: expr,
    path: `/api/v1/query?${new URLSearchParams({ query: expr, time: sec(time) })}`,
    compare: "query",
    rows,
  });
  const range = (
    id: string,
    expr: string,
    start: number,
    end: number,
    stepS: number,
    rows?: RowSelector,
  ): QuerySpec => ({
    id,
    text: `${expr} [${Math.round((end - start) / HOUR)}h/${stepS}s]`,
    path: `/api/v1/query_range?${new URLSearchParams({
      query: expr,
      start: sec(start),
      end: sec(end),
      step: String(stepS),
    })}`,
    compare: "query",
    rows,
  });
  const day = { start: sec(DAY), end: sec(dayEnd) };
  const sixHours = { start: at - 6 * HOUR, end: at };
  return [
    instant(`sel-instant`, `{instance="${node}"}`, at, {
      labels: { instance: node },
      from: at - 5 * 60_000,
      to: at,
    }),
    range(
      "sel-cpu-6h",
      `rate(node_cpu_seconds_total{instance="${node}"}[5m])`,
      sixHours.start,
      sixHours.end,
      60,
      {
        labels: { __name__: "node_cpu_seconds_total", instance: node },
        from: sixHours.start - 5 * 60_000,
        to: sixHours.end,
      },
    ),
    range(
      "sel-http-1d",
      `sum by (code) (rate(http_requests_total{instance="${app}"}[5m]))`,
      DAY + 5 * 60_000 + 7_000,
      dayEnd - 5 * 60_000 + 7_000,
      300,
      { labels: { __name__: "http_requests_total", instance: app }, from: DAY, to: dayEnd },
    ),
    {
      id: "sel-series",
      text: `series {instance="${node}"}`,
      path: `/api/v1/series?${new URLSearchParams({ "match[]": `{instance="${node}"}`, ...day })}`,
      compare: "series",
    },
    range(
      "cpu-by-mode-1d",
      "sum by (mode) (rate(node_cpu_seconds_total[5m]))",
      DAY + 5 * 60_000 + 7_000,
      dayEnd - 5 * 60_000 + 7_000,
      300,
    ),
    instant("count-all", 'count({__name__=~".+"})'),
    // Every sample of the day. Not count_over_time: it drops the metric name, and 2.42 then fails
    // on series of different metrics with equal labels; last_over_time keeps the name.
    instant("last-over-day", 'count(last_over_time({__name__=~".+"}[1d]))', dayEnd),
    range(
      "hq99-1d",
      "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
      DAY + 5 * 60_000 + 7_000,
      dayEnd - 5 * 60_000 + 7_000,
      300,
    ),
    range(
      "topk-net-6h",
      "topk(5, sum by (instance) (rate(node_network_receive_bytes_total[5m])))",
      sixHours.start,
      sixHours.end,
      60,
    ),
    instant("increase-1h", "sum by (handler, code) (increase(http_requests_total[1h]))"),
    instant(
      "subquery-6h",
      "max_over_time(sum by (handler) (rate(http_requests_total[5m]))[6h:1m])",
    ),
    range(
      "mem-ratio-2h",
      "avg(node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)",
      at - 2 * HOUR,
      at,
      60,
    ),
    instant("up-by-job", "sum by (job) (up)"),
    {
      id: "label-names",
      text: "labels",
      path: `/api/v1/labels?${new URLSearchParams(day)}`,
      compare: "strings",
    },
    {
      id: "instance-values",
      text: "label values instance",
      path: `/api/v1/label/instance/values?${new URLSearchParams(day)}`,
      compare: "strings",
    },
    {
      id: "series-wide",
      text: "series node_load1",
      path: `/api/v1/series?${new URLSearchParams({ "match[]": "node_load1", ...day })}`,
      compare: "series",
    },
  ];
}

// --- processes --------------------------------------------------------------------------------

function log(msg: string): void {
  console.error(`[scale_bench] ${msg}`);
}

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed: ${text}`);
  return text;
}

/** A server process pinned to {@linkcode SERVER_CORE} (`taskset` execs it: same PID). */
interface Server {
  name: string;
  pid: number;
  url: string;
  stderr(): string;
  stop(): Promise<void>;
}

function spawnPinned(name: string, cmd: string, args: string[], url: string): Server {
  const child = new Deno.Command("taskset", {
    args: ["-c", SERVER_CORE, cmd, ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const pump = (async () => {
    for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) {
      lines.push(c);
      if (lines.length > 200) lines.splice(0, 100);
    }
  })();
  let stopped = false;
  return {
    name,
    pid: child.pid,
    url,
    stderr: () => lines.join(""),
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        Deno.kill(child.pid, "SIGTERM");
      } catch { /* already gone */ }
      await child.status;
      await pump;
    },
  };
}

async function waitReady(server: Server, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      await res.body?.cancel();
      if (res.status === 200) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${server.name} not ready after ${timeoutMs / 1000} s: ${server.stderr()}`);
}

/** A process' memory, bytes: peak and current RSS, and the current RSS' anonymous and file parts. */
interface Memory {
  hwm: number;
  rss: number;
  anon: number;
  file: number;
}

async function memory(pid: number): Promise<Memory> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB$`, "m").exec(status)![1]);
  return {
    hwm: kb("VmHWM") * 1024,
    rss: kb("VmRSS") * 1024,
    anon: kb("RssAnon") * 1024,
    file: kb("RssFile") * 1024,
  };
}

/** Hard-links a directory tree (Prometheus never rewrites block files), copying across devices. */
async function linkTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await linkTree(`${from}/${e.name}`, `${to}/${e.name}`);
    else {
      try {
        await Deno.link(`${from}/${e.name}`, `${to}/${e.name}`);
      } catch {
        await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
      }
    }
  }
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

// --- steps ------------------------------------------------------------------------------------

/** Writes the day's blocks into `<dir>/tsdb` unless an earlier run left the same ones. */
async function prepareBlocks(dir: string, hosts: number): Promise<void> {
  const stamp = `${dir}/tsdb.json`;
  const want = JSON.stringify({ version: DATA_VERSION, hosts, day: DAY });
  if (await exists(stamp) && (await Deno.readTextFile(stamp)) === want) {
    log(`reusing the blocks in ${dir}/tsdb`);
    return;
  }
  await Deno.remove(stamp).catch(() => {});
  await Deno.remove(`${dir}/tsdb`, { recursive: true }).catch(() => {});
  await Deno.mkdir(`${dir}/tsdb`, { recursive: true });
  const t0 = performance.now();
  const samples = await writeDay({
    hosts,
    dayStart: DAY,
    dir: `${dir}/tsdb`,
    onBlock: (b, series, samples) =>
      log(`block ${b + 1}/12: ${series} series, ${samples} samples (${elapsed(t0)})`),
  });
  await Deno.writeTextFile(stamp, want);
  log(
    `wrote ${samples} samples in ${elapsed(t0)}; ` +
      `this process' peak RSS ${fmtMiB((await memory(Deno.pid)).hwm)} MiB`,
  );
}

function elapsed(t0: number): string {
  return `${((performance.now() - t0) / 1000).toFixed(1)} s`;
}

/** Wall time, CPU time and peak RSS of `/usr/bin/time -v`'s report. */
function timeReport(text: string): { wallS: number; cpuS: number; maxRss: number } {
  const field = (name: string) => {
    const m = new RegExp(`^\\s*${name}: (.+)$`, "m").exec(text);
    if (!m) throw new Error(`no "${name}" in /usr/bin/time's report:\n${text.slice(-2000)}`);
    return m[1];
  };
  const wall = field("Elapsed \\(wall clock\\) time \\(h:mm:ss or m:ss\\)").split(":").map(Number);
  return {
    wallS: wall.reduce((acc, x) => acc * 60 + x, 0),
    cpuS: Number(field("User time \\(seconds\\)")) + Number(field("System time \\(seconds\\)")),
    maxRss: Number(field("Maximum resident set size \\(kbytes\\)")) * 1024,
  };
}

async function convert(tsdbDir: string, parquetConfig: string, tempDir: string) {
  await Deno.mkdir(tempDir, { recursive: true });
  const out = await new Deno.Command("taskset", {
    args: [
      "-c",
      SERVER_CORE,
      "/usr/bin/time",
      "-v",
      Deno.execPath(),
      "run",
      ...gatewayV8Flags(),
      "-A",
      MAIN,
      "convert",
      "--convert.once",
      `--tsdb.objstore.config=type: FILESYSTEM\nconfig: {directory: ${tsdbDir}}`,
      `--parquet.objstore.config=${parquetConfig}`,
      "--http.internal.port=0",
      `--convert.tempdir=${tempDir}`,
      "--log.level=warn",
    ],
    cwd: ROOT,
    stdout: "null",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`convert failed: ${text.slice(-4000)}`);
  return timeReport(text);
}

function s3Config(endpoint: string): string {
  return `type: S3
config:
  bucket: parquet
  endpoint: ${endpoint}
  insecure: true
  access_key: S3RVER
  secret_key: S3RVER`;
}

async function startPrometheus(dir: string, tsdbDir: string): Promise<Server> {
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(`${dir}/data`, { recursive: true });
  for await (const e of Deno.readDir(tsdbDir)) {
    if (e.isDirectory) await linkTree(`${tsdbDir}/${e.name}`, `${dir}/data/${e.name}`);
  }
  await Deno.writeTextFile(`${dir}/prometheus.yml`, "global:\n  scrape_interval: 1m\n");
  const port = freePort();
  const server = spawnPinned("prometheus", "prometheus", [
    `--config.file=${dir}/prometheus.yml`,
    `--storage.tsdb.path=${dir}/data`,
    "--storage.tsdb.retention.time=36500d",
    // No compaction: both servers read the same twelve 2h blocks.
    "--storage.tsdb.min-block-duration=2h",
    "--storage.tsdb.max-block-duration=2h",
    `--web.listen-address=127.0.0.1:${port}`,
    "--log.level=warn",
  ], `http://127.0.0.1:${port}`);
  await waitReady(server, `${server.url}/-/ready`, 30 * 60_000);
  return server;
}

async function startServe(objstoreConfig: string, labelsDir: string) {
  await Deno.remove(labelsDir, { recursive: true }).catch(() => {});
  await Deno.mkdir(labelsDir, { recursive: true });
  const port = freePort(), internal = freePort();
  const server = spawnPinned("serve", Deno.execPath(), [
    "run",
    ...gatewayV8Flags(),
    "-A",
    MAIN,
    "serve",
    `--objstore.config=${objstoreConfig}`,
    `--http.prometheus.port=${port}`,
    `--http.thanos.port=${freePort()}`,
    `--http.internal.port=${internal}`,
    `--block.labelfilepath=${labelsDir}`,
    // Prometheus' default query timeout, and no background discovery while measuring.
    "--query.timeout=2m",
    "--block.discovery.interval=1h",
    "--block.syncer.interval=1h",
    "--log.level=warn",
  ], `http://127.0.0.1:${port}`);
  const internalUrl = `http://127.0.0.1:${internal}`;
  await waitReady(server, `${internalUrl}/-/ready`, 30 * 60_000);
  return { server, internalUrl };
}

/** serve's bucket counters: bytes fetched and operations on the Parquet bucket. */
async function bucketCounters(internalUrl: string): Promise<{ bytes: number; ops: number }> {
  const text = await (await fetch(`${internalUrl}/metrics`)).text();
  let bytes = 0, ops = 0;
  for (const line of text.split("\n")) {
    if (!line.includes('bucket="parquet"')) continue;
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (line.startsWith("objstore_bucket_operation_fetched_bytes_total{")) bytes += value;
    if (line.startsWith("objstore_bucket_operations_total{")) ops += value;
  }
  return { bytes, ops };
}

interface Answer {
  ms: number;
  ok: boolean;
  data?: unknown;
  error?: string;
}

async function ask(base: string, path: string): Promise<Answer> {
  const t0 = performance.now();
  const res = await fetch(base + path);
  const text = await res.text();
  const ms = performance.now() - t0;
  let body: { status?: string; data?: unknown; error?: string };
  try {
    body = JSON.parse(text);
  } catch {
    return { ms, ok: false, error: `HTTP ${res.status}: ${text.slice(0, 200)}` };
  }
  if (body.status !== "success") {
    return { ms, ok: false, error: `HTTP ${res.status}: ${body.error ?? text.slice(0, 200)}` };
  }
  return { ms, ok: true, data: body.data };
}

function compareAnswers(spec: QuerySpec, ours: unknown, theirs: unknown): string | undefined {
  if (spec.compare === "series") return compareSeriesData(ours, theirs);
  if (spec.compare === "strings") return compareStrings(ours, theirs);
  return compareQueryData(ours, theirs, /^(sort|topk|bottomk)/.test(spec.text));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The measurements of one query. */
interface QueryResult {
  spec: QuerySpec;
  oursColdMs: number;
  oursMs?: number;
  promMs?: number;
  /** Median of the steady-state runs (`--steady-warmup`). */
  oursSteadyMs?: number;
  promSteadyMs?: number;
  oursHwm: number;
  promHwm: number;
  bytes: number;
  ops: number;
  requests?: number;
  roundTrips?: number;
  concurrency?: number;
  rowPages?: RowBytes;
  /** "yes", or what differs or failed. */
  outcome: string;
  oursAnswered: boolean;
  promAnswered: boolean;
}

async function measure(
  spec: QuerySpec,
  serve: Server,
  internalUrl: string,
  prom: Server,
  runs: number,
  steadyWarmup: number,
  proxy: LatencyProxy | undefined,
): Promise<QueryResult> {
  const before = await bucketCounters(internalUrl);
  const firstRequest = proxy?.requests.length ?? 0;
  const cold = await ask(serve.url, spec.path);
  const after = await bucketCounters(internalUrl);
  const spans = proxy?.requests.slice(firstRequest) ?? [];
  const promFirst = await ask(prom.url, spec.path);
  let outcome: string;
  if (cold.ok && promFirst.ok) {
    const diff = compareAnswers(spec, cold.data, promFirst.data);
    outcome = diff === undefined ? "yes" : `NO: ${diff.slice(0, 160)}`;
  } else if (!cold.ok && !promFirst.ok) {
    outcome = `both failed: ours ${cold.error}; Prometheus ${promFirst.error}`;
  } else if (!cold.ok) outcome = `ours failed: ${cold.error}`;
  else outcome = `Prometheus failed: ${promFirst.error}`;
  // `runs` runs on each server that answered, alternating: their median latencies.
  const timedRuns = async () => {
    const ours: number[] = [], theirs: number[] = [];
    for (let r = 0; r < runs; r++) {
      if (cold.ok) ours.push((await ask(serve.url, spec.path)).ms);
      if (promFirst.ok) theirs.push((await ask(prom.url, spec.path)).ms);
    }
    return {
      ours: ours.length ? median(ours) : undefined,
      prom: theirs.length ? median(theirs) : undefined,
    };
  };
  const first = await timedRuns();
  // Steady state: a JIT-compiled server reaches it only after many runs of the same code. The
  // untimed runs stop after STEADY_WARMUP_BUDGET_MS too (a slow query is warm after one run).
  let steady: { ours?: number; prom?: number } = {};
  if (steadyWarmup > 0 && cold.ok && promFirst.ok) {
    const start = performance.now();
    for (let r = 0; r < steadyWarmup; r++) {
      if (performance.now() - start > STEADY_WARMUP_BUDGET_MS) break;
      await ask(serve.url, spec.path);
      await ask(prom.url, spec.path);
    }
    steady = await timedRuns();
  }
  return {
    spec,
    oursColdMs: cold.ms,
    oursMs: first.ours,
    promMs: first.prom,
    oursSteadyMs: steady.ours,
    promSteadyMs: steady.prom,
    oursHwm: (await memory(serve.pid)).hwm,
    promHwm: (await memory(prom.pid)).hwm,
    bytes: after.bytes - before.bytes,
    ops: after.ops - before.ops,
    requests: proxy ? spans.length : undefined,
    roundTrips: proxy ? sequentialRoundTrips(spans) : undefined,
    concurrency: proxy ? peakConcurrency(spans) : undefined,
    outcome,
    oursAnswered: cold.ok,
    promAnswered: promFirst.ok,
  };
}

// --- output -----------------------------------------------------------------------------------

const MiB = 2 ** 20;
const fmtMs = (ms?: number) => ms === undefined ? "-" : ms < 10 ? ms.toFixed(2) : ms.toFixed(0);
const fmtMiB = (b: number) => (b / MiB).toFixed(0);
const fmtRatio = (ours?: number, prom?: number) =>
  ours !== undefined && prom !== undefined ? (ours / prom).toFixed(2) : "-";

function fmtBytes(b: number): string {
  if (b < 10_000) return `${b} B`;
  if (b < 10 * MiB) return `${(b / 1024).toFixed(0)} KiB`;
  return `${(b / MiB).toFixed(0)} MiB`;
}

function table(results: QueryResult[], s3: boolean, steady: boolean): string[] {
  const header = [
    "query",
    "ours cold ms",
    "ours ms",
    "Prom ms",
    "ratio",
    ...(steady ? ["ours steady ms", "Prom steady ms", "steady ratio"] : []),
    "ours HWM MiB",
    "Prom HWM MiB",
    "bucket bytes",
    "bucket ops",
    ...(s3 ? ["requests", "round trips", "max in flight"] : []),
    "selected rows (bucket bytes / theirs)",
    "equal",
  ];
  const lines = [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => i ? "---:" : "---").join("|")}|`,
  ];
  for (const r of results) {
    const ratio = fmtRatio(r.oursMs, r.promMs);
    const rows = r.rowPages
      ? `${r.rowPages.rows} rows: pages ${fmtBytes(r.rowPages.pageBytes)} (${
        (r.bytes / r.rowPages.pageBytes).toFixed(2)
      }x), values ${fmtBytes(r.rowPages.valueBytes)} (${
        (r.bytes / r.rowPages.valueBytes).toFixed(1)
      }x)`
      : "";
    lines.push(
      `| ${
        [
          r.spec.id,
          fmtMs(r.oursColdMs),
          fmtMs(r.oursMs),
          fmtMs(r.promMs),
          ratio,
          ...(steady
            ? [
              fmtMs(r.oursSteadyMs),
              fmtMs(r.promSteadyMs),
              fmtRatio(r.oursSteadyMs, r.promSteadyMs),
            ]
            : []),
          fmtMiB(r.oursHwm),
          fmtMiB(r.promHwm),
          fmtBytes(r.bytes),
          String(r.ops),
          ...(s3 ? [String(r.requests), String(r.roundTrips), String(r.concurrency)] : []),
          rows,
          r.outcome.replaceAll("|", "\\|"),
        ].join(" | ")
      } |`,
    );
  }
  return lines;
}

function summary(
  results: QueryResult[],
  s3: boolean,
  end: { serve: Memory; prom: Memory },
): string[] {
  const both = results.filter((r) => r.oursMs !== undefined && r.promMs !== undefined);
  const ratios = both.map((r) => r.oursMs! / r.promMs!);
  const med = ratios.length ? median(ratios) : NaN;
  const worst = ratios.length ? Math.max(...ratios) : NaN;
  const last = results.at(-1);
  const answeredByProm = results.filter((r) => r.promAnswered);
  const answered = answeredByProm.filter((r) => r.oursAnswered).length;
  const equal = results.filter((r) => r.outcome === "yes").length;
  const mark = (ok: boolean) => ok ? "met" : "MISSED";
  const out = [
    `median latency ratio ${med.toFixed(2)} (target <= 0.8: ${mark(med <= 0.8)}); ` +
    `worst ${worst.toFixed(2)} (target <= 1.5: ${mark(worst <= 1.5)})`,
  ];
  const steady = results.filter((r) => r.oursSteadyMs !== undefined && r.promSteadyMs !== undefined)
    .map((r) => ({ id: r.spec.id, ratio: r.oursSteadyMs! / r.promSteadyMs! }));
  if (steady.length > 0) {
    const sMed = median(steady.map((r) => r.ratio));
    const sWorst = steady.reduce((a, b) => b.ratio > a.ratio ? b : a);
    out.push(
      `steady state: median latency ratio ${sMed.toFixed(2)} (target <= 0.8: ${
        mark(sMed <= 0.8)
      }); worst ${sWorst.ratio.toFixed(2)}, ${sWorst.id} (target <= 1.5: ${
        mark(sWorst.ratio <= 1.5)
      })`,
    );
  }
  if (last) {
    out.push(
      `peak RSS serve ${fmtMiB(last.oursHwm)} MiB, Prometheus ${fmtMiB(last.promHwm)} MiB ` +
        `(target serve <= Prometheus: ${mark(last.oursHwm <= last.promHwm)}); RSS at the end: ` +
        `serve ${fmtMiB(end.serve.anon)} MiB anonymous + ${fmtMiB(end.serve.file)} MiB files, ` +
        `Prometheus ${fmtMiB(end.prom.anon)} MiB anonymous + ${fmtMiB(end.prom.file)} MiB ` +
        "files (mapped blocks)",
    );
  }
  out.push(
    `answered ${answered} of the ${answeredByProm.length} queries Prometheus answered ` +
      `(target all: ${mark(answered === answeredByProm.length)}); ${equal} of ` +
      `${results.length} answers equal`,
  );
  for (const r of results.filter((r) => r.rowPages)) {
    const { rows, pageBytes, pages, valueBytes } = r.rowPages!;
    const toPages = r.bytes / pageBytes, toValues = r.bytes / valueBytes;
    out.push(
      `${r.spec.id}: read ${fmtBytes(r.bytes)} for ${rows} rows, held in ${pages} pages of ` +
        `${fmtBytes(pageBytes)}: ${toPages.toFixed(2)}x (target <= 2: ${mark(toPages <= 2)}); ` +
        `their values are ${fmtBytes(valueBytes)}: ${toValues.toFixed(1)}x (${
          mark(toValues <= 2)
        })` +
        (s3
          ? `; ${r.roundTrips} sequential round trips (target <= 4: ${mark(r.roundTrips! <= 4)})`
          : ""),
    );
  }
  return out;
}

// --- main -------------------------------------------------------------------------------------

async function pinSelfAway(): Promise<void> {
  const cores = navigator.hardwareConcurrency;
  if (cores < 2) {
    log("one core only: this process shares it with the servers");
    return;
  }
  // The load generator, the proxy and s3rver (children inherit this) leave core 0 to the servers.
  await run("taskset", ["-a", "-p", "-c", `1-${cores - 1}`, String(Deno.pid)]);
}

async function main(): Promise<void> {
  const opts = parseOptions(Deno.args);
  const hosts = Math.ceil(opts.series / SERIES_PER_HOST);
  const series = hosts * SERIES_PER_HOST;
  await run("prometheus", ["--version"]);
  await pinSelfAway();
  const dataDir = opts.keepData ? `${opts.keepData}/series-${series}` : await Deno.makeTempDir({
    prefix: "scale-bench-",
  });
  const runDir = `${dataDir}/run`;
  await Deno.remove(runDir, { recursive: true }).catch(() => {});
  await Deno.mkdir(runDir, { recursive: true });
  const stops: (() => Promise<void>)[] = [];
  try {
    await prepareBlocks(dataDir, hosts);

    let s3: TestServer | undefined;
    let proxy: LatencyProxy | undefined;
    let source: ObjectSource;
    let convertConfig: string, serveConfig: string;
    if (opts.s3LatencyMs !== undefined) {
      s3 = await startS3rver(["parquet"]);
      stops.push(() => s3!.stop());
      proxy = startLatencyProxy(s3.url, opts.s3LatencyMs);
      stops.push(() => proxy!.stop());
      convertConfig = s3Config(`127.0.0.1:${s3.port}`);
      serveConfig = s3Config(proxy.host);
      source = await s3Source({
        endpoint: s3.url,
        bucket: "parquet",
        accessKey: "S3RVER",
        secretKey: "S3RVER",
      });
    } else {
      await Deno.mkdir(`${runDir}/parquet`);
      convertConfig =
        serveConfig =
          `type: FILESYSTEM\nconfig: {directory: ${runDir}/parquet}`;
      source = directorySource(`${runDir}/parquet`);
    }

    log("converting");
    const conv = await convert(`${dataDir}/tsdb`, convertConfig, `${runDir}/convert-tmp`);
    log(`converted in ${conv.wallS.toFixed(1)} s`);

    log("starting prometheus and serve");
    const prom = await startPrometheus(`${runDir}/prometheus`, `${dataDir}/tsdb`);
    stops.push(() => prom.stop());
    const proxyBefore = proxy?.requests.length ?? 0;
    const t0 = performance.now();
    const { server: serve, internalUrl } = await startServe(serveConfig, `${runDir}/labels`);
    stops.push(() => serve.stop());
    const serveStartMs = performance.now() - t0;
    const startup = await bucketCounters(internalUrl);
    const startupSpans = proxy?.requests.slice(proxyBefore) ?? [];
    const [serveMem, promMem] = [await memory(serve.pid), await memory(prom.pid)];

    const queries = scaleQueries(hosts).filter((q) => !opts.queries || opts.queries.test(q.id));
    const results: QueryResult[] = [];
    for (const spec of queries) {
      log(`query ${spec.id}`);
      const r = await measure(spec, serve, internalUrl, prom, opts.runs, opts.steadyWarmup, proxy);
      if (spec.rows) r.rowPages = await selectedRowBytes(source, spec.rows);
      results.push(r);
    }

    const mode = opts.s3LatencyMs !== undefined
      ? `S3 (s3rver) behind a proxy adding ${opts.s3LatencyMs} ms per request`
      : "FILESYSTEM bucket";
    console.log(
      `\n### ${series.toLocaleString("en")} series (${hosts} hosts), one UTC day, ${mode}\n`,
    );
    console.log(
      `convert --convert.once (core ${SERVER_CORE}): ${conv.wallS.toFixed(1)} s wall, ` +
        `${conv.cpuS.toFixed(1)} s CPU, peak RSS ${fmtMiB(conv.maxRss)} MiB`,
    );
    console.log(
      `serve ready in ${(serveStartMs / 1000).toFixed(1)} s, read ${
        fmtBytes(startup.bytes)
      } in ${startup.ops} bucket operations` +
        (proxy
          ? ` (${startupSpans.length} requests, ${sequentialRoundTrips(startupSpans)} round trips)`
          : "") +
        `; RSS after start: serve ${fmtMiB(serveMem.rss)} MiB, Prometheus ${
          fmtMiB(promMem.rss)
        } MiB`,
    );
    console.log(
      `latency: HTTP, median of ${opts.runs} runs after a compared warm-up run; bucket bytes, ` +
        "ops" + (proxy ? ", requests, round trips" : "") + " of the warm-up run; HWM cumulative" +
        (opts.steadyWarmup > 0
          ? `; steady: median of ${opts.runs} more runs after up to ${opts.steadyWarmup} ` +
            `untimed ones (at most ${STEADY_WARMUP_BUDGET_MS / 1000} s of them)`
          : "") +
        "\n",
    );
    for (const line of table(results, proxy !== undefined, opts.steadyWarmup > 0)) {
      console.log(line);
    }
    console.log("");
    for (const q of results) console.log(`- ${q.spec.id}: \`${q.spec.text}\``);
    console.log("");
    const end = { serve: await memory(serve.pid), prom: await memory(prom.pid) };
    for (const line of summary(results, proxy !== undefined, end)) console.log(`- ${line}`);
  } finally {
    for (const stop of stops.reverse()) await stop().catch((e) => log(`stop: ${e}`));
    await Deno.remove(`${runDir}/prometheus`, { recursive: true }).catch(() => {});
    if (!opts.keepData) await Deno.remove(dataDir, { recursive: true });
  }
}

if (import.meta.main) await main();

/**
 * Soak test of the real `serve`: many clients sending cheap queries while a heavy query arrives
 * every few seconds, against one generated UTC day.
 *
 * The day is written as a TSDB block by our block writer (per instance: a CPU counter, an items
 * counter and an 8-bucket request duration histogram, 10 series, sampled every `--interval`) and
 * converted by the real `convert --convert.once`. Then `serve` runs with `--query.timeout` (5 s by
 * default) and its defaults otherwise, and for `--seconds`:
 *
 * - `--clients` loops each send one cheap query after the other (an instant `rate` sum, an
 *   instant selector, or a 1 h `histogram_quantile` range, each for one instance);
 * - one heavy query (the reliability issue's `sum(quantile_over_time(0.5, {__name__=~...}[24h]))`
 *   over 48 h at step 160 s) starts every `--heavy-every` seconds;
 * - `/-/ready` is polled every 20 ms, from a thread of its own.
 *
 * It prints requests per second and errors of the cheap queries, their p50 and p99 latencies,
 * the worst and p99 `/-/ready` latencies, what became of the heavy queries (with the server's own
 * time for their 503s), and the server's peak resident memory (VmHWM) with its memory limits.
 *
 * Run: `deno run -A bench/soak.ts [--series=100000] [--seconds=60] [--clients=100]
 * [--heavy-every=3] [--interval=120] [--timeout=5s] [-- serve flags...]`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { parseDuration } from "../internal/units.ts";
import { freePort } from "../tests/oracle/prometheus.ts";
import { labelsFromRecord } from "../model/labels.ts";
import { type SeriesToWrite, writeBlock, xorChunks } from "../storage/tsdb/writer.ts";
import { gatewayV8Flags } from "../tests/gateway_process.ts";

const MAIN = fileURLToPath(new URL("../cli/main.ts", import.meta.url));
const DAY_MS = 86_400_000;
const DAY = Date.UTC(2025, 0, 10);
const BUCKETS = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "+Inf"];
const HEAVY_QUERY = "sum(quantile_over_time(0.5,{__name__=~" +
  '"demo_api_request_duration_seconds_bucket|demo_cpu_usage_seconds_total|' +
  'demo_items_shipped_total"}[24h]))';

/** Writes the day as one TSDB block: 10 series per instance. */
async function writeDay(dir: string, series: number, intervalMs: number): Promise<number> {
  const n = DAY_MS / intervalMs;
  const ts = new Float64Array(n);
  for (let i = 0; i < n; i++) ts[i] = DAY + i * intervalMs + 17;
  const values = new Float64Array(n);
  const out: SeriesToWrite[] = [];
  const counter = (step: (i: number) => number) => {
    let v = 0;
    for (let i = 0; i < n; i++) values[i] = v += step(i);
    return xorChunks(ts, values);
  };
  const instances = Math.ceil(series / 10);
  for (let k = 0; k < instances; k++) {
    const base = { instance: `i-${k}`, job: `job-${k % 7}` };
    out.push({
      labels: labelsFromRecord({ __name__: "demo_cpu_usage_seconds_total", ...base }),
      chunks: counter((i) => ((i * 7 + k) % 13) / 10),
    });
    out.push({
      labels: labelsFromRecord({ __name__: "demo_items_shipped_total", ...base }),
      chunks: counter((i) => (i + k) % 5),
    });
    for (const [b, le] of BUCKETS.entries()) {
      out.push({
        labels: labelsFromRecord({
          __name__: "demo_api_request_duration_seconds_bucket",
          ...base,
          le,
        }),
        chunks: counter((i) => ((i + k) % 3) + b),
      });
    }
  }
  await writeBlock(dir, out, { range: { minTime: DAY, maxTime: DAY + DAY_MS } });
  return out.length * n;
}

async function run(cmd: string[], what: string): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: cmd,
    stdout: "null",
    stderr: "piped",
  })
    .output();
  if (!out.success) throw new Error(`${what} failed: ${new TextDecoder().decode(out.stderr)}`);
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function status(pid: number, field: "VmHWM" | "VmRSS"): Promise<number> {
  try {
    const text = await Deno.readTextFile(`/proc/${pid}/status`);
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(text);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * Polls `/-/ready` every 20 ms until a time, then posts the latencies and the failures (not 200,
 * or no answer in 10 s).
 */
const READY_POLLER = `
onmessage = async (e) => {
  const { url, until } = e.data;
  const ms = [];
  let failures = 0;
  while (Date.now() < until) {
    const t0 = performance.now();
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(10000) });
      await res.body?.cancel();
      if (!res.ok) failures++;
    } catch {
      failures++;
    }
    ms.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 20));
  }
  postMessage({ ms, failures });
};
`;

interface HeavyOutcome {
  status: number;
  errorType?: string;
  ms: number;
}

if (import.meta.main) {
  const { values: opts, positionals: serveFlags } = parseArgs({
    args: Deno.args,
    options: {
      series: { type: "string", default: "100000" },
      seconds: { type: "string", default: "60" },
      clients: { type: "string", default: "100" },
      "heavy-every": { type: "string", default: "3" },
      interval: { type: "string", default: "120" },
      timeout: { type: "string", default: "5s" },
    },
    allowPositionals: true,
  });
  const series = Number(opts.series), seconds = Number(opts.seconds);
  const clients = Number(opts.clients), heavyEvery = Number(opts["heavy-every"]) * 1000;
  const interval = Number(opts.interval) * 1000;
  const root = await Deno.makeTempDir({ prefix: "soak-bench-" });
  let child: Deno.ChildProcess | undefined;
  try {
    let t = performance.now();
    const samples = await writeDay(`${root}/tsdb`, series, interval);
    console.log(
      `wrote ${series} series, ${(samples / 1e6).toFixed(1)}M samples in ` +
        `${((performance.now() - t) / 1000).toFixed(0)} s`,
    );
    t = performance.now();
    await run([
      "run",
      ...gatewayV8Flags(),
      "-A",
      MAIN,
      "convert",
      "--convert.once",
      "--convert.grace-period=1h",
      `--tsdb.objstore.config=type: FILESYSTEM\nconfig: {directory: ${root}/tsdb}`,
      `--parquet.objstore.config=type: FILESYSTEM\nconfig: {directory: ${root}/parquet}`,
      `--http.internal.port=${freePort()}`,
      `--convert.tempdir=${root}/tmp`,
      "--log.level=warn",
    ], "convert");
    console.log(`converted in ${((performance.now() - t) / 1000).toFixed(0)} s`);
    await Deno.remove(`${root}/tsdb`, { recursive: true });

    const port = freePort(), internal = freePort();
    const flags = [
      `--objstore.config=type: FILESYSTEM\nconfig: {directory: ${root}/parquet}`,
      `--block.labelfilepath=${root}/labels`,
      `--http.prometheus.port=${port}`,
      `--http.thanos.port=${freePort()}`,
      `--http.internal.port=${internal}`,
      `--query.timeout=${opts.timeout}`,
      "--log.level=warn",
      ...serveFlags,
    ];
    child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...gatewayV8Flags(), "-A", MAIN, "serve", ...flags],
      stdout: "null",
      stderr: "inherit",
    }).spawn();
    const api = `http://127.0.0.1:${port}`;
    const ready = `http://127.0.0.1:${internal}/-/ready`;
    t = performance.now();
    for (let ok = false; !ok;) {
      ok = await fetch(ready).then(async (r) => (await r.body?.cancel(), r.ok), () => false);
      if (!ok) await new Promise((r) => setTimeout(r, 200));
      if (performance.now() - t > 300_000) throw new Error("serve not ready in 5 minutes");
    }
    console.log(`serve ready in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const rssAtReady = await status(child.pid, "VmRSS");

    const at = (DAY + 12 * 3_600_000) / 1000;
    const instances = Math.ceil(series / 10);
    const cheap = (n: number): string => {
      const k = (n * 7919) % instances;
      switch (n % 3) {
        case 0:
          return `/api/v1/query?time=${at}&query=` +
            encodeURIComponent(`sum(rate(demo_items_shipped_total{instance="i-${k}"}[5m]))`);
        case 1:
          return `/api/v1/query?time=${at}&query=` +
            encodeURIComponent(`demo_cpu_usage_seconds_total{instance="i-${k}"}`);
        default:
          return `/api/v1/query_range?start=${at}&end=${at + 3600}&step=60&query=` +
            encodeURIComponent(
              `histogram_quantile(0.9, sum by (le) ` +
                `(rate(demo_api_request_duration_seconds_bucket{instance="i-${k}"}[5m])))`,
            );
      }
    };
    const heavyPath = `/api/v1/query_range?start=${DAY / 1000}&end=${(DAY + 2 * DAY_MS) / 1000}` +
      `&step=160&query=${encodeURIComponent(HEAVY_QUERY)}`;

    // A query still unanswered 10 s after the timeout is given up on (counted as an error).
    const giveUpMs = parseDuration(opts.timeout!) + 10_000;
    const latencies: number[] = [];
    const errors = new Map<string, number>();
    const readyMs: number[] = [];
    let readyFailures = 0;
    const heavy: HeavyOutcome[] = [];
    let peakRss = rssAtReady;
    const start = performance.now();
    const end = start + seconds * 1000;
    let sent = 0;
    const client = async () => {
      while (performance.now() < end) {
        const path = cheap(sent++);
        const t0 = performance.now();
        try {
          const res = await fetch(api + path, { signal: AbortSignal.timeout(giveUpMs) });
          const body = await res.json();
          if (res.status !== 200 || body.status !== "success") {
            const key = `${res.status} ${body.errorType ?? ""}`;
            errors.set(key, (errors.get(key) ?? 0) + 1);
          } else latencies.push(performance.now() - t0);
        } catch (err) {
          const key = (err as Error).name;
          errors.set(key, (errors.get(key) ?? 0) + 1);
        }
      }
    };
    const heavyLoop = async () => {
      const running: Promise<void>[] = [];
      for (let next = start; next < end; next += heavyEvery) {
        await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
        running.push((async () => {
          const t0 = performance.now();
          try {
            const res = await fetch(api + heavyPath, { signal: AbortSignal.timeout(giveUpMs) });
            const body = await res.json();
            heavy.push({
              status: res.status,
              errorType: body.errorType,
              ms: performance.now() - t0,
            });
          } catch {
            heavy.push({ status: 0, errorType: "no answer", ms: performance.now() - t0 });
          }
        })());
      }
      await Promise.all(running);
    };
    // Polled from a thread of its own, so that the clients' work here does not delay it.
    const readyLoop = async () => {
      const worker = new Worker(
        URL.createObjectURL(new Blob([READY_POLLER], { type: "application/javascript" })),
        { type: "module" },
      );
      const done = new Promise<{ ms: number[]; failures: number }>((resolve) =>
        worker.onmessage = (e) => resolve(e.data)
      );
      worker.postMessage({ url: ready, until: Date.now() + (end - performance.now()) });
      const polled = await done;
      worker.terminate();
      readyMs.push(...polled.ms);
      readyFailures = polled.failures;
    };
    const rssLoop = async () => {
      while (performance.now() < end) {
        peakRss = Math.max(peakRss, await status(child!.pid, "VmRSS"));
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    await Promise.all([
      ...Array.from({ length: clients }, client),
      heavyLoop(),
      readyLoop(),
      rssLoop(),
    ]);
    const elapsed = (performance.now() - start) / 1000;
    const hwm = await status(child.pid, "VmHWM");
    const metrics = await fetch(`http://127.0.0.1:${internal}/metrics`, {
      signal: AbortSignal.timeout(10_000),
    }).then((r) => r.text(), () => "");
    // The server's own time for the 503s (the range queries that timed out are the heavy ones):
    // the clients here share the CPU with it, so their times include their own delays.
    const poolLine =
      /^query_pool_(stopped_queries_total|worker_restarts_total|abort_seconds_(sum|count))/;
    const timedOut = (l: string) =>
      /^http_requests_seconds_(sum|count)\{/.test(l) && l.includes('code="503"') &&
      l.includes('path="/api/v1/query_range"');
    const pool = metrics.split("\n").filter((l) => poolLine.test(l) || timedOut(l));

    latencies.sort((a, b) => a - b);
    readyMs.sort((a, b) => a - b);
    const errorCount = [...errors.values()].reduce((a, b) => a + b, 0);
    const byOutcome = new Map<string, number[]>();
    for (const h of heavy) {
      const key = h.status === 200
        ? "200 completed"
        : h.status === 0
        ? `no answer in ${giveUpMs / 1000} s`
        : `${h.status} ${h.errorType}`;
      byOutcome.set(key, [...byOutcome.get(key) ?? [], h.ms]);
    }
    const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
    const rows: [string, string][] = [
      ["series / samples", `${series} / ${(samples / 1e6).toFixed(1)}M`],
      ["clients / seconds", `${clients} / ${elapsed.toFixed(0)}`],
      ["cheap queries/s", (latencies.length / elapsed).toFixed(0)],
      [
        "cheap errors",
        errorCount === 0 ? "0" : `${errorCount} (${[...errors].map(([k, v]) => `${k}: ${v}`)})`,
      ],
      [
        "cheap p50 / p99",
        `${quantile(latencies, 0.5).toFixed(0)} / ${quantile(latencies, 0.99).toFixed(0)} ms`,
      ],
      [
        "/-/ready p99 / worst",
        `${quantile(readyMs, 0.99).toFixed(0)} / ${readyMs.at(-1)?.toFixed(0)} ms` +
        (readyFailures > 0 ? ` (${readyFailures} not 200)` : ""),
      ],
      ...[...byOutcome].map(([k, ms]): [string, string] => [
        `heavy: ${k}`,
        `${ms.length}, answered after ${(Math.min(...ms) / 1000).toFixed(2)}-` +
        `${(Math.max(...ms) / 1000).toFixed(2)} s`,
      ]),
      ["RSS at ready / peak (VmHWM)", `${mib(rssAtReady)} / ${mib(Math.max(hwm, peakRss))}`],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    console.log("");
    for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
    console.log(`\n${pool.join("\n")}`);
  } finally {
    if (child) {
      const kill = (signal: Deno.Signal) => {
        try {
          child!.kill(signal);
        } catch { /* already exited */ }
      };
      kill("SIGTERM");
      const killer = setTimeout(() => kill("SIGKILL"), 10_000);
      await child.status;
      clearTimeout(killer);
    }
    await Deno.remove(root, { recursive: true });
  }
}

/**
 * Conversion throughput and peak memory of the real `convert --convert.once` process on one
 * generated UTC day: N counter series sampled every 15 s for 24 h, written as one TSDB block by
 * our block writer into a FILESYSTEM bucket. Prints samples/s, series/s and the converter's peak
 * resident memory (VmHWM, polled from /proc while it runs), for two series counts so that growth
 * with the number of series is visible.
 *
 * Run: `deno run -A bench/convert_cli_bench.ts [series...]` (default: 5000 20000). Issue 5 names
 * 100k series x 24 h (576M samples); generating that many samples here takes longer than the
 * conversion itself, so the default is scaled down and the series counts are parameters.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { labelsFromRecord } from "../model/labels.ts";
import { type SeriesToWrite, writeBlock, xorChunks } from "../storage/tsdb/writer.ts";
import { gatewayV8Flags } from "../tests/gateway_process.ts";

const MAIN = fileURLToPath(new URL("../cli/main.ts", import.meta.url));
const DAY = 86_400_000;
const SCRAPE = 15_000;

async function peakRss(pid: number): Promise<number> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(status);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

async function run(seriesCount: number): Promise<string[]> {
  const root = await Deno.makeTempDir({ prefix: "convert-bench-" });
  try {
    const day = Date.UTC(2025, 0, 10);
    const samples = DAY / SCRAPE;
    const ts = new Float64Array(samples);
    for (let i = 0; i < samples; i++) ts[i] = day + i * SCRAPE + 371;
    const values = new Float64Array(samples);
    const series: SeriesToWrite[] = [];
    for (let s = 0; s < seriesCount; s++) {
      let v = 0;
      for (let i = 0; i < samples; i++) values[i] = v += (s % 5) + (i % 3);
      series.push({
        labels: labelsFromRecord({
          __name__: `metric_${s % 50}_total`,
          instance: `host-${Math.floor(s / 50)}`,
          job: `job-${s % 7}`,
        }),
        chunks: xorChunks(ts, values),
      });
    }
    await writeBlock(`${root}/tsdb`, series, { range: { minTime: day, maxTime: day + DAY } });
    series.length = 0;

    const started = performance.now();
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...gatewayV8Flags(),
        "-A",
        MAIN,
        "convert",
        "--convert.once",
        "--convert.grace-period=1h",
        `--tsdb.objstore.config=type: FILESYSTEM\nconfig: {directory: ${root}/tsdb}`,
        `--parquet.objstore.config=type: FILESYSTEM\nconfig: {directory: ${root}/parquet}`,
        "--http.internal.port=0",
        `--convert.tempdir=${root}/tmp`,
        "--log.level=warn",
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    let peak = 0;
    const poll = setInterval(async () => {
      peak = Math.max(peak, await peakRss(child.pid));
    }, 50);
    const out = await child.output();
    clearInterval(poll);
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
    const seconds = (performance.now() - started) / 1000;
    const total = seriesCount * samples;
    return [
      String(seriesCount),
      `${(total / 1e6).toFixed(1)}M`,
      seconds.toFixed(1),
      `${(total / seconds / 1e6).toFixed(2)}M`,
      `${Math.round(seriesCount / seconds)}`,
      `${(peak / 2 ** 20).toFixed(0)} MiB`,
    ];
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

if (import.meta.main) {
  const counts = Deno.args.length > 0 ? Deno.args.map(Number) : [5000, 20000];
  const header = ["series", "samples", "seconds", "samples/s", "series/s", "peak RSS"];
  const rows: string[][] = [];
  for (const n of counts) rows.push(await run(n));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const r of [header, ...rows]) console.log(r.map((c, i) => c.padStart(widths[i])).join("  "));
  console.log(
    "\nWall time of the whole process (start-up, discovery, block download from the bucket, " +
      "conversion, upload), one core per process.",
  );
}

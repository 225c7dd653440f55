/**
 * The demo on the embedded default (`deno task demo`): writes realistic TSDB blocks into
 * `./data/tsdb` (two external-label streams, `cluster="eu-1"` and `cluster="us-1"`, each with
 * counters, gauges and classic histograms of 60 targets, about 1,800 series in all), converts
 * them into `./data/parquet` with `convert --convert.once`, and then runs `serve` on both buckets'
 * defaults, printing example queries. Blocks already present are kept; a second run only serves.
 * Arguments go to `serve` (e.g. `--http.prometheus.port=9090`, whose grant moves with it), and
 * `--http.internal.port` to `convert` as well.
 *
 * Data covers the two UTC days before yesterday, which the default grace period (48 h) lets
 * `convert` take, plus two hours of yesterday so that the newer of them counts as complete
 * (yesterday itself waits, as it would in production).
 *
 * @module
 */
import { main } from "../cli/main.ts";
import { labelsFromRecord } from "../model/labels.ts";
import { type SeriesToWrite, writeBlock, xorChunks } from "../storage/tsdb/writer.ts";
import { type GeneratedSeries, generateFamilies } from "../tests/oracle/datagen.ts";

const DAY = 86_400_000;
const HOUR = 3_600_000;
const TSDB_DIR = "./data/tsdb";
const STREAMS = [{ cluster: "eu-1" }, { cluster: "us-1" }];
const BLOCK_MS = 12 * HOUR;

async function hasBlocks(dir: string): Promise<boolean> {
  try {
    for await (const e of Deno.readDir(dir)) if (e.isDirectory) return true;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return false;
}

function slice(s: GeneratedSeries, from: number, to: number): { ts: number[]; values: number[] } {
  const ts: number[] = [], values: number[] = [];
  for (let i = 0; i < s.ts.length; i++) {
    if (s.ts[i] >= from && s.ts[i] < to) {
      ts.push(s.ts[i]);
      values.push(s.values[i]);
    }
  }
  return { ts, values };
}

/** Writes the demo blocks; returns the data's time range. */
export async function writeDemoBlocks(dir: string, now = Date.now()): Promise<[number, number]> {
  const today = Math.floor(now / DAY) * DAY;
  const start = today - 3 * DAY;
  const end = today - DAY + 2 * HOUR;
  for (const [i, ext] of STREAMS.entries()) {
    const all: GeneratedSeries[] = [];
    for (
      const family of generateFamilies({
        startMs: start,
        durationMs: end - start,
        intervalMs: 60_000,
        instances: 60,
        seed: 100 + i,
      })
    ) {
      for (const s of family.series) all.push(s);
    }
    for (let from = start; from < end; from += BLOCK_MS) {
      const to = Math.min(end, from + BLOCK_MS);
      const series: SeriesToWrite[] = [];
      for (const s of all) {
        const part = slice(s, from, to);
        if (part.ts.length === 0) continue;
        series.push({
          labels: labelsFromRecord(s.labels),
          chunks: xorChunks(part.ts, part.values),
        });
      }
      await writeBlock(dir, series, {
        range: { minTime: from, maxTime: to },
        thanos: {
          version: 1,
          labels: ext,
          downsample: { resolution: 0 },
          source: "demo",
          segmentFiles: [],
          files: [],
        },
      });
    }
  }
  return [start, end];
}

if (import.meta.main) {
  if (await hasBlocks(TSDB_DIR)) {
    console.log(`${TSDB_DIR} already holds blocks; converting what is not converted yet`);
  } else {
    console.log(`writing demo TSDB blocks into ${TSDB_DIR} ...`);
    await Deno.mkdir(TSDB_DIR, { recursive: true });
    await writeDemoBlocks(TSDB_DIR);
  }
  const internalPort = Deno.args.filter((a) => a.startsWith("--http.internal.port="));
  const converted = await main([
    "convert",
    "--convert.once",
    "--convert.max-plan-days=4",
    ...internalPort,
  ]);
  if (converted !== 0) Deno.exit(converted);
  const t = Math.floor(Date.now() / DAY) * DAY - 2 * DAY;
  const at = t / 1000;
  console.log(`
Serving ./data/parquet. Try (data covers ${new Date(t - DAY).toISOString().slice(0, 10)} \
and the next day; the queries below look at the midnight between them):
  curl -gs 'localhost:9000/api/v1/query?query=sum+by+(cluster,job)+(rate(http_requests_total[5m]))&time=${at}'
  curl -gs 'localhost:9000/api/v1/query_range?query=histogram_quantile(0.9,sum+by+(le)+(rate(http_request_duration_seconds_bucket[5m])))&start=${at}&end=${
    at + 3600
  }&step=60'
  curl -gs 'localhost:9000/api/v1/label/cluster/values'
  curl -s 'localhost:6060/metrics' | grep objstore_bucket
Stop with Ctrl-C.
`);
  Deno.exit(await main(["serve", ...Deno.args]));
}

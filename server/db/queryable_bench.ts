/**
 * Select latency over one written day of 1000 series (720 samples each): a selective query
 * (one series), a metric-wide query (100 series) and a series-only query, all whole-day.
 * Run: `deno bench -A server/db/queryable_bench.ts`.
 */
import { collectSeries } from "../../model/series_set.ts";
import { Matcher, MatchType } from "../../model/matchers.ts";
import { ValueType } from "../../model/series.ts";
import { FilesystemBucket } from "../../storage/objstore/filesystem.ts";
import { L, syncBucket, type TestSeries, writeDay } from "./_fixture_testutil.ts";
import { ParquetDB } from "./db.ts";

const DAY = Date.UTC(2025, 5, 1);
const dir = await Deno.makeTempDir({ prefix: "serve-db-bench-" });
const bucket = new FilesystemBucket(`${dir}/bucket`);
const series: TestSeries[] = [];
for (let m = 0; m < 10; m++) {
  for (let i = 0; i < 100; i++) {
    const ts: number[] = [], vs: number[] = [];
    for (let t = DAY; t < DAY + 86_400_000; t += 120_000) {
      ts.push(t);
      vs.push((t / 120_000) % 1000 + i);
    }
    series.push({
      labels: L({ __name__: `metric_${m}`, instance: `host-${i}`, job: "bench" }),
      ts,
      vs,
    });
  }
}
await writeDay(bucket, { ext: {}, date: "2025-06-01", shards: [series], rowGroupSize: 500 });
const syncer = await syncBucket(bucket, `${dir}/labels`);
const db = new ParquetDB({ days: () => syncer.days });
const hints = { start: DAY, end: DAY + 86_400_000 - 1 };

async function run(matchers: Matcher[], func?: string): Promise<number> {
  const { series } = await collectSeries(db.queryable().select(matchers, { ...hints, func }));
  let n = 0;
  for (const s of series) {
    const it = s.iterator();
    while (it.next() !== ValueType.None) n++;
  }
  return n;
}

Deno.bench("select one series, whole day, iterate samples", async () => {
  await run([
    new Matcher(MatchType.Equal, "__name__", "metric_3"),
    new Matcher(MatchType.Equal, "instance", "host-42"),
  ]);
});

Deno.bench("select 100 series of one metric, whole day, iterate samples", async () => {
  await run([new Matcher(MatchType.Equal, "__name__", "metric_3")]);
});

Deno.bench("select 1000 series, func=series", async () => {
  await run([new Matcher(MatchType.Equal, "job", "bench")], "series");
});

globalThis.addEventListener("unload", () => {
  Deno.removeSync(dir, { recursive: true });
});

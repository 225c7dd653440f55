/**
 * PromQL engine benchmarks at the size issue 6 names: parsing a 2 KB query, and range queries
 * at a 60 s step over 10k series x 24 h of 15 s samples held in memory:
 * `sum by (job) (rate(x[5m]))`, `histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m])))`,
 * `topk(5, x)` and a one-to-one join `x / on (job, instance) y`.
 *
 * Run: `deno bench -A bench/promql_bench.ts`. `PROMQL_BENCH_SERIES` and `PROMQL_BENCH_HOURS`
 * shrink the data (defaults 10000 and 24); generating the default data takes a while and about
 * 1.5 GB of memory.
 *
 * The data source is a minimal in-memory `Queryable` over shared typed arrays, so that the
 * figures measure the engine and not a storage layer.
 *
 * @module
 */
import { Engine } from "../engine/engine.ts";
import { type Labels, labelsFromRecord } from "../model/labels.ts";
import { type Matcher, matchesAll } from "../model/matchers.ts";
import { parseExpr } from "../engine/parser.ts";
import type { Queryable, SeriesSet, StringsResult } from "../model/queryable.ts";
import { ArraySampleIterator, type Series } from "../model/series.ts";
import { IterableSeriesSet } from "../model/series_set.ts";

const SERIES = Number(Deno.env.get("PROMQL_BENCH_SERIES") ?? 10_000);
const HOURS = Number(Deno.env.get("PROMQL_BENCH_HOURS") ?? 24);
const SCRAPE = 15_000;
const HOUR = 3_600_000;
const END = HOURS * HOUR;
const BUCKETS = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "25", "+Inf"];

/** Series sharing one timestamp array; each has its own values. */
class BenchQueryable implements Queryable {
  readonly ts: Float64Array;
  readonly series: { labels: Labels; values: Float64Array }[] = [];
  constructor(readonly samples: number) {
    this.ts = new Float64Array(samples);
    for (let i = 0; i < samples; i++) this.ts[i] = i * SCRAPE;
  }
  add(labels: Record<string, string>, values: Float64Array): void {
    this.series.push({ labels: labelsFromRecord(labels), values });
  }
  select(matchers: readonly Matcher[]): SeriesSet {
    const ts = this.ts;
    const series: Series[] = this.series.filter((s) => matchesAll(matchers, s.labels)).map((s) => ({
      labels: s.labels,
      iterator: () => new ArraySampleIterator(ts, s.values),
    }));
    return new IterableSeriesSet(series);
  }
  labelNames(): Promise<StringsResult> {
    return Promise.resolve({ values: [], warnings: [] });
  }
  labelValues(): Promise<StringsResult> {
    return Promise.resolve({ values: [], warnings: [] });
  }
}

const samples = END / SCRAPE + 1;
const store = new BenchQueryable(samples);
const jobs = 10;
for (let i = 0; i < SERIES; i++) {
  const job = `job-${i % jobs}`, instance = `host-${Math.floor(i / jobs)}`;
  const x = new Float64Array(samples), y = new Float64Array(samples);
  let v = 0;
  for (let k = 0; k < samples; k++) {
    v += (i % 7) + ((k * 2654435761) % 5);
    x[k] = v;
    y[k] = 1 + (k % 3);
  }
  store.add({ __name__: "x", job, instance }, x);
  store.add({ __name__: "y", job, instance }, y);
}
// Classic histograms: SERIES bucket series in all (10 buckets per histogram).
for (let h = 0; h < SERIES / BUCKETS.length; h++) {
  const job = `job-${h % jobs}`, instance = `host-${Math.floor(h / jobs)}`;
  for (let b = 0; b < BUCKETS.length; b++) {
    const values = new Float64Array(samples);
    let v = 0;
    for (let k = 0; k < samples; k++) {
      v += (b + 1) * (1 + (k % 4));
      values[k] = v;
    }
    store.add({ __name__: "h_bucket", job, instance, le: BUCKETS[b] }, values);
  }
}

const engine = new Engine({ features: [] });

function rangeBench(name: string, query: string): void {
  Deno.bench({
    name: `${name} (${SERIES} series x ${HOURS}h, step 60s)`,
    group: "range",
    n: 3,
    warmup: 1,
    async fn() {
      const res = await engine.rangeQuery(store, query, 0, END, 60_000);
      if (res.value.type !== "matrix" || res.value.series.length === 0) {
        throw new Error(`${query}: no result`);
      }
    },
  });
}

rangeBench("sum by (job) (rate(x[5m]))", "sum by (job) (rate(x[5m]))");
rangeBench(
  "histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m])))",
  "histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m])))",
);
rangeBench("topk(5, x)", "topk(5, x)");
rangeBench("x / on (job, instance) y", "x / on (job, instance) y");

// A 2 KB query as dashboards write them: nested aggregations, joins, functions and matchers.
const part =
  'sum by (job, instance) (rate(http_requests_total{job=~"api|web", code!~"5..", method="GET"}[5m])) ' +
  '/ on (job, instance) group_left (version) max by (job, instance, version) (build_info{env="prod"}) ' +
  "* 100 > bool 0.5 ";
let big = part;
while (big.length < 2048) big = `${big}or ${part}`;
Deno.bench({
  name: `parse a ${big.length}-byte query`,
  group: "parse",
  fn() {
    parseExpr(big);
  },
});

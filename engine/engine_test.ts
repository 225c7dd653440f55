import assert from "node:assert/strict";
import { Engine } from "./engine.ts";
import { MAX_EXPRESSION_DEPTH } from "./parser.ts";
import { ParseError, QueryError } from "./errors.ts";
import { compareLabels, labelsToString } from "../model/labels.ts";
import { type Matcher, matchesAll } from "../model/matchers.ts";
import type { Queryable, SelectHints, SeriesSet, StringsResult } from "../model/queryable.ts";
import { ArraySampleIterator, type Series } from "../model/series.ts";
import { IterableSeriesSet } from "../model/series_set.ts";
import { parseSeriesDescription } from "./series_desc.ts";
import type { QueryResult } from "./value.ts";

const MIN = 60_000;

/** A small in-memory store: `load(interval, lines)` as in Prometheus' test scripts. */
class TestStorage implements Queryable {
  readonly series: Series[] = [];
  constructor(interval: number, lines: string[]) {
    for (const line of lines) {
      const d = parseSeriesDescription(line);
      const n = d.values.filter((v) => typeof v === "number").length;
      // Typed arrays keep the stale marker's NaN payload.
      const ts = new Float64Array(n);
      const vs = new Float64Array(n);
      let j = 0;
      d.values.forEach((v, i) => {
        if (typeof v === "number") {
          ts[j] = i * interval;
          vs[j++] = v;
        }
      });
      const labels = d.labels;
      this.series.push({ labels, iterator: () => new ArraySampleIterator(ts, vs) });
    }
    this.series.sort((a, b) => compareLabels(a.labels, b.labels));
  }
  select(matchers: readonly Matcher[]): SeriesSet {
    // Batches of two series, so that evaluation crosses batch boundaries.
    return new IterableSeriesSet(this.series.filter((s) => matchesAll(matchers, s.labels)), {
      batchSize: 2,
    });
  }
  labelNames(): Promise<StringsResult> {
    return Promise.resolve({ values: [], warnings: [] });
  }
  labelValues(): Promise<StringsResult> {
    return Promise.resolve({ values: [], warnings: [] });
  }
}

const storage = new TestStorage(5 * MIN, [
  'http_requests_total{job="api", instance="0"} 0+10x10',
  'http_requests_total{job="api", instance="1"} 0+20x10',
  'http_requests_total{job="db", instance="0"} 0+30x10',
  'gauge{job="api"} 1 2 stale 4',
  'nan_metric{job="x"} NaN 1',
]);

const engine = new Engine({ maxSamples: 10_000 });

/** Instant result as `labels => value` strings, in result order. */
function vector(res: QueryResult): string[] {
  assert.equal(res.value.type, "vector");
  if (res.value.type !== "vector") return [];
  return res.value.samples.map((s) => `${labelsToString(s.labels)} ${s.f}`);
}

/** Like {@linkcode vector}, sorted (for results whose order is unspecified). */
function sorted(res: QueryResult): string[] {
  return vector(res).sort();
}

function scalar(res: QueryResult): number {
  assert.equal(res.value.type, "scalar");
  return res.value.type === "scalar" ? res.value.v : NaN;
}

/** Asserts equal contents regardless of order. */
function same(actual: string[], expected: string[]): void {
  assert.deepEqual(actual, [...expected].sort());
}

async function instant(q: string, t: number): Promise<string[]> {
  return sorted(await engine.instantQuery(storage, q, t));
}

Deno.test("selector picks the newest sample within the left-open lookback window", async () => {
  same(await instant("http_requests_total", 50 * MIN), [
    'http_requests_total{instance="0", job="api"} 100',
    'http_requests_total{instance="1", job="api"} 200',
    'http_requests_total{instance="0", job="db"} 300',
  ]);
  // The last sample is at 50m; the window (55m-5m, 55m] no longer contains it.
  same(await instant("http_requests_total", 55 * MIN), []);
  assert.equal((await instant("http_requests_total", 55 * MIN - 1)).length, 3);
});

Deno.test("a stale marker ends the series until the next sample", async () => {
  same(await instant("gauge", 10 * MIN - 1), ['gauge{job="api"} 2']);
  same(await instant("gauge", 10 * MIN), []);
  same(await instant("gauge", 15 * MIN), ['gauge{job="api"} 4']);
  // Range windows skip the marker: 1, 2 and 4 remain in (0, 15m].
  same(await instant("count_over_time(gauge[15m])", 15 * MIN), ['{job="api"} 2']);
});

Deno.test("offset and @ shift the evaluation time", async () => {
  same(await instant('http_requests_total{job="db"} offset 10m', 50 * MIN), [
    'http_requests_total{instance="0", job="db"} 240',
  ]);
  same(await instant('http_requests_total{job="db"} @ 300', 50 * MIN), [
    'http_requests_total{instance="0", job="db"} 30',
  ]);
});

Deno.test("rate and increase extrapolate to the window boundaries", async () => {
  // Window (40m, 50m] holds 90@45m and 100@50m: increase 10 over 300s, extrapolated by the
  // 300s gap to the window start (below 1.1 x the sample interval): 20 over 600s.
  const inc = await instant('increase(http_requests_total{job="api",instance="0"}[10m])', 50 * MIN);
  assert.deepEqual(inc, ['{instance="0", job="api"} 20']);
  const rate = await engine.instantQuery(
    storage,
    'rate(http_requests_total{instance="0",job="api"}[10m])',
    50 * MIN,
  );
  assert.equal(rate.value.type, "vector");
  if (rate.value.type === "vector") assert.ok(Math.abs(rate.value.samples[0].f - 1 / 30) < 1e-12);
});

Deno.test("aggregations group by labels", async () => {
  same(await instant("sum by (job) (http_requests_total)", 50 * MIN), [
    '{job="api"} 300',
    '{job="db"} 300',
  ]);
  same(await instant("count without (instance) (http_requests_total)", 50 * MIN), [
    '{job="api"} 2',
    '{job="db"} 1',
  ]);
  assert.deepEqual(
    vector(await engine.instantQuery(storage, "topk(2, http_requests_total)", 50 * MIN)),
    [
      'http_requests_total{instance="0", job="db"} 300',
      'http_requests_total{instance="1", job="api"} 200',
    ],
  );
  same(await instant("quantile(0.5, http_requests_total)", 50 * MIN), ["{} 200"]);
  same(await instant("stddev(http_requests_total)", 50 * MIN), [
    `{} ${Math.sqrt(20000 / 3)}`,
  ]);
});

Deno.test("vector matching: group_left joins the one side, duplicates fail", async () => {
  same(
    await instant(
      "http_requests_total / on(job) group_left sum by (job) (http_requests_total)",
      50 * MIN,
    ),
    [
      '{instance="0", job="api"} 0.3333333333333333',
      '{instance="1", job="api"} 0.6666666666666666',
      '{instance="0", job="db"} 1',
    ],
  );
  await assert.rejects(
    () =>
      engine.instantQuery(storage, "http_requests_total + on(job) http_requests_total", 50 * MIN),
    (e: unknown) =>
      e instanceof QueryError && /found duplicate series for the match group/.test(e.message),
  );
});

Deno.test("comparisons filter, bool returns 0/1 and drops the name", async () => {
  same(await instant("http_requests_total > 150", 50 * MIN), [
    'http_requests_total{instance="1", job="api"} 200',
    'http_requests_total{instance="0", job="db"} 300',
  ]);
  same(await instant('http_requests_total{job="db"} > bool 150', 50 * MIN), [
    '{instance="0", job="db"} 1',
  ]);
  assert.equal(scalar(await engine.instantQuery(storage, "2 ^ 3 % 5 + 1", 0)), 4);
});

Deno.test("range query evaluates every step and returns a matrix sorted by labels", async () => {
  const res = await engine.rangeQuery(storage, "sum(http_requests_total)", 0, 10 * MIN, 5 * MIN);
  assert.equal(res.value.type, "matrix");
  if (res.value.type !== "matrix") return;
  assert.equal(res.value.series.length, 1);
  assert.deepEqual(res.value.series[0].floatTimes, [0, 5 * MIN, 10 * MIN]);
  assert.deepEqual(res.value.series[0].floatValues, [0, 60, 120]);
});

Deno.test("subqueries align their steps to multiples of the step", async () => {
  // Steps of [10m:5m] at 50m: 45m and 50m (40m is excluded by the left-open window).
  assert.deepEqual(
    await instant('count_over_time(http_requests_total{job="db"}[10m:5m])', 50 * MIN),
    [
      '{instance="0", job="db"} 2',
    ],
  );
  assert.deepEqual(
    await instant('max_over_time(http_requests_total{job="db"}[12m:5m])', 47 * MIN),
    [
      '{instance="0", job="db"} 270',
    ],
  );
});

Deno.test("absent and label_replace", async () => {
  same(await instant('absent(nonexistent{job="x", a=~"b"})', 0), ['{job="x"} 1']);
  same(await instant("absent(http_requests_total)", 0), []);
  assert.deepEqual(
    await instant('label_replace(http_requests_total{job="db"}, "dst", "$1-x", "job", "(d)b")', 0),
    ['http_requests_total{dst="d-x", instance="0", job="db"} 0'],
  );
});

Deno.test("the sample limit and cancellation abort the query", async () => {
  const small = new Engine({ maxSamples: 10 });
  await assert.rejects(
    () => small.rangeQuery(storage, "http_requests_total", 0, 50 * MIN, MIN),
    (e: unknown) => e instanceof QueryError && e.kind === "too_many_samples",
  );
  // A subquery with more steps than samples allowed fails before allocating its steps.
  await assert.rejects(
    () => engine.instantQuery(storage, "max_over_time(http_requests_total[1000d:1s])", 0),
    (e: unknown) => e instanceof QueryError && e.kind === "too_many_samples",
  );
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(
    () => engine.instantQuery(storage, "http_requests_total", 0, { signal: ac.signal }),
    (e: unknown) => e instanceof QueryError && e.kind === "canceled",
  );
});

const fns = new TestStorage(MIN, [
  'metric{a="1"} 1 2 3 4 5',
  'metric{a="2"} -1.5 -0.5 0.5 1.5 2.5',
  "resets_metric 5 1 3 2 8",
  "ts_metric 1700000000 951782400",
]);

async function at(q: string, t: number, s: Queryable = fns): Promise<string[]> {
  return sorted(await engine.instantQuery(s, q, t));
}

Deno.test("element-wise functions drop the metric name", async () => {
  same(await at("abs(metric)", 4 * MIN), ['{a="1"} 5', '{a="2"} 2.5']);
  same(await at("round(metric, 2)", MIN), ['{a="1"} 2', '{a="2"} 0']);
  same(await at("round(metric)", 2 * MIN), ['{a="1"} 3', '{a="2"} 1']);
  same(await at("clamp(metric, 0, 3)", 4 * MIN), ['{a="1"} 3', '{a="2"} 2.5']);
  same(await at("clamp(metric, 3, 0)", 4 * MIN), []);
  same(await at("sgn(metric)", 0), ['{a="1"} 1', '{a="2"} -1']);
  assert.equal(scalar(await engine.instantQuery(fns, 'scalar(metric{a="1"})', 2 * MIN)), 3);
  assert.ok(Number.isNaN(scalar(await engine.instantQuery(fns, "scalar(metric)", 2 * MIN))));
});

Deno.test("date functions read UTC calendar fields", async () => {
  // 951782400 is 2000-02-29T00:00:00Z, a leap day; 1700000000 is 2023-11-14T22:13:20Z.
  same(await at("day_of_year(ts_metric)", 0), ["{} 318"]); // 304 days before November, +14
  same(await at("hour(ts_metric)", 0), ["{} 22"]);
  same(await at("days_in_month(ts_metric)", MIN), ["{} 29"]);
  same(await at("day_of_week(ts_metric)", MIN), ["{} 2"]);
  same(await at("month(ts_metric)", MIN), ["{} 2"]);
  // Without an argument: the evaluation time (1970-01-01T00:02:00Z).
  same(await at("minute()", 2 * MIN), ["{} 2"]);
});

Deno.test("range functions over windows", async () => {
  // Samples 5 1 3 2 8 at 0..4m: two decreases, four changes.
  same(await at("resets(resets_metric[5m])", 4 * MIN), ["{} 2"]);
  same(await at("changes(resets_metric[5m])", 4 * MIN), ["{} 4"]);
  // (-1m, 4m] holds all five samples: 1..5, slope 1/60 per second.
  same(await at('deriv(metric{a="1"}[5m])', 4 * MIN), [`{a="1"} ${1 / 60}`]);
  same(await at('predict_linear(metric{a="1"}[5m], 60)', 4 * MIN), ['{a="1"} 6']);
  same(await at('quantile_over_time(0.25, metric{a="1"}[5m])', 4 * MIN), ['{a="1"} 2']);
  same(await at('stdvar_over_time(metric{a="1"}[5m])', 4 * MIN), ['{a="1"} 2']);
  same(await at("last_over_time(metric[2m])", 4 * MIN), ['metric{a="1"} 5', 'metric{a="2"} 2.5']);
  same(await at('irate(metric{a="1"}[5m])', 4 * MIN), [`{a="1"} ${1 / 60}`]);
  same(await at('idelta(metric{a="2"}[5m])', 4 * MIN), ['{a="2"} 1']);
  same(await at("absent_over_time(nothing[5m])", 4 * MIN), ["{} 1"]);
  same(await at("absent_over_time(metric[5m])", 4 * MIN), []);
});

Deno.test("sum uses compensated summation", async () => {
  const s = new TestStorage(MIN, ['x{i="1"} 2', 'x{i="2"} 8', 'x{i="3"} 1e100', 'x{i="4"} -1e100']);
  same(await at("sum(x)", 0, s), ["{} 10"]);
  same(await at("avg(x)", 0, s), ["{} 2.5"]);
});

Deno.test("set operators match on signatures", async () => {
  same(await at('metric and on(a) metric{a="1"}', 0), ['metric{a="1"} 1']);
  same(await at('metric unless metric{a="1"}', 0), ['metric{a="2"} -1.5']);
  same(await at('metric{a="1"} or vector(7)', 0), ['metric{a="1"} 1', "{} 7"]);
});

Deno.test("classic histogram quantiles interpolate within buckets", async () => {
  const h = new TestStorage(MIN, [
    'req_bucket{le="0.1"} 10',
    'req_bucket{le="0.5"} 30',
    'req_bucket{le="+Inf"} 40',
  ]);
  // Rank 20 of 40 falls in (0.1, 0.5] with 10 below and 20 inside: 0.1 + 0.4 * 10/20.
  same(await at("histogram_quantile(0.5, req_bucket)", 0, h), ["{} 0.30000000000000004"]);
  // Ranks above the last finite bucket return its upper bound.
  same(await at("histogram_quantile(0.9, req_bucket)", 0, h), ["{} 0.5"]);
  same(await at("histogram_fraction(0, 0.1, req_bucket)", 0, h), ["{} 0.25"]);
});

Deno.test("step-invariant subtrees and @ in range queries", async () => {
  const res = await engine.rangeQuery(fns, 'metric{a="1"} @ 120 + time() * 0', 0, 4 * MIN, 2 * MIN);
  assert.equal(res.value.type, "matrix");
  if (res.value.type !== "matrix") return;
  assert.deepEqual(res.value.series[0].floatValues, [3, 3, 3]);
  const t = await engine.rangeQuery(fns, 'timestamp(metric{a="1"} @ 60)', 0, 2 * MIN, MIN);
  if (t.value.type === "matrix") assert.deepEqual(t.value.series[0].floatValues, [60, 60, 60]);
});

Deno.test("a timeout signal reports a timeout, annotations carry positions", async () => {
  await assert.rejects(
    () =>
      engine.instantQuery(storage, "http_requests_total", 0, {
        signal: AbortSignal.abort(new DOMException("late", "TimeoutError")),
      }),
    (e: unknown) => e instanceof QueryError && e.kind === "timeout",
  );
  const expr = engine.parse("sum(rate(gauge[20m]))");
  const res = await engine.instantQuery(storage, expr, 15 * MIN, {
    queryText: "sum(rate(gauge[20m]))",
  });
  assert.deepEqual(res.infos, [
    'PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "gauge" (1:10)',
  ]);
});

Deno.test("matching errors: many-to-one must be explicit, grouping must be unique", async () => {
  const s = new TestStorage(MIN, [
    'a{job="x", i="1"} 1',
    'a{job="x", i="2"} 2',
    'b{job="x"} 10',
  ]);
  await assert.rejects(
    () => engine.instantQuery(s, "a + on(job) b", 0),
    (e: unknown) =>
      e instanceof QueryError &&
      e.message ===
        "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
  );
  same(await at("a + on(job) group_left b", 0, s), ['{i="1", job="x"} 11', '{i="2", job="x"} 12']);
  same(await at("b + on(job) group_right a", 0, s), ['{i="1", job="x"} 11', '{i="2", job="x"} 12']);
  await assert.rejects(
    () => engine.instantQuery(s, "a + ignoring(i) group_left a", 0),
    (e: unknown) =>
      e instanceof QueryError && /found duplicate series for the match group/.test(e.message),
  );
});

Deno.test("count_values, limitk and limit_ratio", async () => {
  const s = new TestStorage(MIN, ['v{i="1"} 1.5', 'v{i="2"} 1.5', 'v{i="3"} 1e21']);
  same(await at('count_values("value", v)', 0, s), [
    '{value="1.5"} 2',
    '{value="1000000000000000000000"} 1',
  ]);
  assert.equal((await at("limitk(2, v)", 0, s)).length, 2);
  // A ratio of 1 keeps everything, -1 too (the complement of nothing), 0 nothing.
  assert.equal((await at("limit_ratio(1, v)", 0, s)).length, 3);
  assert.equal((await at("limit_ratio(0, v)", 0, s)).length, 0);
  const half = (await at("limit_ratio(0.5, v)", 0, s)).length;
  const rest = (await at("limit_ratio(-0.5, v)", 0, s)).length;
  assert.equal(half + rest, 3);
});

Deno.test("a range query of a scalar gives one series without labels", async () => {
  const res = await engine.rangeQuery(fns, "time() * 2", 0, 2 * MIN, MIN);
  assert.equal(res.value.type, "matrix");
  if (res.value.type !== "matrix") return;
  assert.deepEqual(res.value.series[0].labels, []);
  assert.deepEqual(res.value.series[0].floatValues, [0, 120, 240]);
  await assert.rejects(
    () => engine.rangeQuery(fns, "metric[5m]", 0, MIN, MIN),
    (e: unknown) =>
      e instanceof QueryError && /invalid expression type "range vector"/.test(e.message),
  );
});

Deno.test("topk and bottomk rank NaN last and order results best first", async () => {
  const s = new TestStorage(MIN, ['n{i="1"} NaN', 'n{i="2"} 5', 'n{i="3"} -1', 'n{i="4"} 7']);
  const q = async (query: string) => vector(await engine.instantQuery(s, query, 0));
  assert.deepEqual(await q("topk(2, n)"), ['n{i="4"} 7', 'n{i="2"} 5']);
  assert.deepEqual(await q("bottomk(2, n)"), ['n{i="3"} -1', 'n{i="2"} 5']);
  assert.deepEqual(await q("topk(4, n)"), [
    'n{i="4"} 7',
    'n{i="2"} 5',
    'n{i="3"} -1',
    'n{i="1"} NaN',
  ]);
  assert.deepEqual(await q("bottomk(4, n)"), [
    'n{i="3"} -1',
    'n{i="2"} 5',
    'n{i="4"} 7',
    'n{i="1"} NaN',
  ]);
});

Deno.test("selectors pass Prometheus' select hints to storage", async () => {
  const seen: SelectHints[] = [];
  const recording: Queryable = {
    select: (m, hints) => {
      seen.push(hints);
      return storage.select(m);
    },
    labelNames: () => storage.labelNames(),
    labelValues: () => storage.labelValues(),
  };
  await engine.instantQuery(recording, "sum by (job) (http_requests_total)", 50 * MIN);
  assert.deepEqual(seen.pop(), {
    func: "sum",
    grouping: ["job"],
    by: true,
    start: 45 * MIN + 1,
    end: 50 * MIN,
    step: 0,
  });
  seen.length = 0;
  await engine.instantQuery(recording, "rate(http_requests_total[5m] offset 1m) + gauge", 50 * MIN);
  // Both selections go out before evaluation; evaluation reuses them (no further selects).
  assert.deepEqual(seen, [
    { func: "rate", start: 44 * MIN + 1, end: 49 * MIN, step: 0, range: 5 * MIN },
    { start: 45 * MIN + 1, end: 50 * MIN, step: 0 },
  ]);
  seen.length = 0;
  // A range query over a subquery: one selection covering every subquery step's window.
  await engine.rangeQuery(
    recording,
    "max_over_time(gauge[10m:1m] offset 1m)",
    20 * MIN,
    30 * MIN,
    5 * MIN,
  );
  assert.deepEqual(seen, [{
    func: "max_over_time",
    start: 4 * MIN + 1,
    end: 29 * MIN,
    step: 5 * MIN,
  }]);
});

Deno.test("a storage failure becomes a storage error naming the cause", async () => {
  const failing: Queryable = {
    select: () => ({
      next: () => Promise.reject(new Error("bucket unreachable")),
      warnings: () => [],
      close: () => Promise.resolve(),
    }),
    labelNames: () => storage.labelNames(),
    labelValues: () => storage.labelValues(),
  };
  await assert.rejects(
    () => engine.instantQuery(failing, "sum(up) + rate(x[5m])", 0),
    (e: unknown) =>
      e instanceof QueryError && e.kind === "storage" &&
      e.message === "expanding series: bucket unreachable",
  );
});

Deno.test("deep expressions: answered up to the nesting limit, a ParseError beyond it", async () => {
  const n = MAX_EXPRESSION_DEPTH;
  // Each exactly n levels deep; `-(` and `max_over_time(...[10m:5m])` are two levels each.
  const x = 'http_requests_total{job="db"}';
  const k = (n - 2) / 2;
  const db = '{instance="0", job="db"}';
  const deepest: [string, string][] = [
    ["(".repeat(n - 1) + x + ")".repeat(n - 1), `http_requests_total${db} 300`],
    ["abs(".repeat(n - 1) + x + ")".repeat(n - 1), `${db} 300`],
    ["-(".repeat(k) + `-${x}` + ")".repeat(k), `${db} ${k % 2 === 0 ? -300 : 300}`],
    [Array(n).fill(x).join(" + on(job, instance) "), `${db} ${300 * n}`],
    ["max_over_time(".repeat(k) + `(${x})` + "[10m:5m])".repeat(k), `${db} 300`],
  ];
  for (const [q, want] of deepest) {
    same(await instant(q, 50 * MIN), [want]);
    const range = await engine.rangeQuery(storage, q, 40 * MIN, 50 * MIN, 5 * MIN);
    assert.equal(range.value.type === "matrix" && range.value.series.length, 1);
  }
  for (
    const q of [
      "(".repeat(5000) + "1" + ")".repeat(5000),
      "-".repeat(5000) + "http_requests_total",
      "abs(".repeat(5000) + "http_requests_total" + ")".repeat(5000),
      Array(5000).fill("http_requests_total").join(" or "),
    ]
  ) {
    await assert.rejects(
      () => engine.instantQuery(storage, q, 50 * MIN),
      (e: unknown) => e instanceof ParseError && /nested deeper than/.test(e.message),
    );
  }
});

/**
 * The runner end to end. The evaluator lives on another branch, so these tests drive the
 * runner with a minimal engine that evaluates literals and plain selectors (with `@`, offset
 * and the 5m lookback) over the same in-memory store; it also emits a warning for any
 * selector of a metric called `warned`, to exercise the annotation checks.
 */
import assert from "node:assert/strict";
import type { Expr } from "../ast.ts";
import { QueryError } from "../errors.ts";
import type { Queryable } from "../../model/queryable.ts";
import { MemoryQueryable } from "../memory_queryable.ts";
import { collectSeries } from "../../model/series_set.ts";
import { getLabel } from "../../model/labels.ts";
import { parseExpr } from "../parser.ts";
import { isStaleNaN, ValueType } from "../../model/series.ts";
import type { MatrixSeries, QueryResult, Sample } from "../value.ts";
import type { QueryEngine } from "../engine.ts";
import { applyLoad, runScript } from "./runner.ts";
import { type LoadCommand, parseScript } from "./script.ts";

const LOOKBACK = 300_000;

async function selectAt(q: Queryable, e: Expr, t: number): Promise<Sample[]> {
  if (e.kind !== "VectorSelector") throw new QueryError("execution", `unsupported: ${e.kind}`);
  const ts = (e.timestamp ?? t) - e.offset;
  const { series } = await collectSeries(
    q.select(e.matchers, { start: ts - LOOKBACK + 1, end: ts }),
  );
  const out: Sample[] = [];
  for (const s of series) {
    const it = s.iterator();
    let last: Sample | undefined;
    for (let vt = it.next(); vt !== ValueType.None; vt = it.next()) {
      // Test for the stale marker on the raw value: V8 may store a NaN held in an object
      // field in canonical form, losing the marker's payload.
      if (vt === ValueType.Float && isStaleNaN(it.atFloat())) last = undefined;
      else if (vt === ValueType.Float) last = { labels: s.labels, t, f: it.atFloat() };
      else last = { labels: s.labels, t, f: 0, h: it.atFloatHistogram() };
    }
    if (last) out.push(last);
  }
  return out;
}

class SelectorEngine implements QueryEngine {
  queries: string[] = [];
  #result(value: QueryResult["value"], query: string): QueryResult {
    const warned = /\bwarned\b/.test(query);
    return {
      value,
      warnings: warned ? ["PromQL warning: test warning (1:1)"] : [],
      infos: [],
      stats: { totalQueryableSamples: 0, peakSamples: 0 },
    };
  }
  async instantQuery(q: Queryable, query: string | Expr, time: number): Promise<QueryResult> {
    const text = String(query);
    this.queries.push(`instant ${text} ${time}`);
    const e = parseExpr(text);
    if (e.kind === "NumberLiteral") {
      return this.#result({ type: "scalar", t: time, v: e.value }, text);
    }
    if (e.kind === "StringLiteral") {
      return this.#result({ type: "string", t: time, v: e.value }, text);
    }
    return this.#result({ type: "vector", samples: await selectAt(q, e, time) }, text);
  }
  async rangeQuery(
    q: Queryable,
    query: string | Expr,
    start: number,
    end: number,
    step: number,
  ): Promise<QueryResult> {
    const text = String(query);
    this.queries.push(`range ${text} ${start} ${end} ${step}`);
    const e = parseExpr(text);
    const byName = new Map<string, MatrixSeries>();
    for (let t = start; t <= end; t += step) {
      const samples = e.kind === "NumberLiteral"
        ? [{ labels: [], t, f: e.value }]
        : await selectAt(q, e, t);
      for (const s of samples) {
        const key = JSON.stringify(s.labels);
        let m = byName.get(key);
        if (!m) {
          byName.set(
            key,
            m = { labels: s.labels, floatTimes: [], floatValues: [], histograms: [] },
          );
        }
        if (s.h) m.histograms.push({ t, h: s.h });
        else {
          m.floatTimes.push(t);
          m.floatValues.push(s.f);
        }
      }
    }
    const series = [...byName.values()].sort((a, b) =>
      getLabel(a.labels, "i").localeCompare(getLabel(b.labels, "i"))
    );
    return this.#result({ type: "matrix", series }, text);
  }
}

const DATA = `
load 1m
  m{i="1"} 0+1x10
  m{i="2"} 5 stale
  warned 1
`;

Deno.test("runScript passes correct expectations and runs upstream's extra checks", async () => {
  const engine = new SelectorEngine();
  const r = await runScript(DATA + '\neval instant at 2m m\n  m{i="1"} 2\n', engine);
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.evals, [{ line: 7, expr: "m", ok: true }]);
  // The query, its five @ variants, and each again in range mode (T-1m..T+1m, step 1m).
  assert.deepEqual(engine.queries, [
    "instant m 120000",
    "range m 60000 180000 60000",
    "instant m @ 120.000 -1200000",
    "range m @ 120.000 -1260000 -1140000 60000",
    "instant m @ 120.000 0",
    "range m @ 120.000 -60000 60000 60000",
    "instant m @ 120.000 24000",
    "range m @ 120.000 -36000 84000 60000",
    "instant m @ 120.000 120000",
    "range m @ 120.000 60000 180000 60000",
    "instant m @ 120.000 1200000",
    "range m @ 120.000 1140000 1260000 60000",
  ]);
});

Deno.test("runScript reports wrong values, keeps going, and honours the options", async () => {
  const engine = new SelectorEngine();
  const r = await runScript(
    DATA + `
eval instant at 0 m
  m{i="1"} 0
  m{i="2"} 6

eval range from 0 to 2m step 1m m
  m{i="1"} 0 1 2
  m{i="2"} 5
`,
    engine,
    { atModifierVariants: false, rangeModeCheck: false },
  );
  assert.equal(r.evals.length, 2);
  assert.equal(r.evals[0].ok, false);
  assert.match(r.evals[0].error!, /^instant query: expected 6 for m\{i="2"\} but got 5$/);
  assert.equal(r.evals[1].ok, true);
  assert.deepEqual(engine.queries, ["instant m 0", "range m 0 120000 60000"]);
});

Deno.test("runScript: the range-mode check catches results that differ in range queries", async () => {
  // Sorting by `i` as a string puts "10" before "9": the range result is then unsorted.
  const r = await runScript(
    'load 1m\n  m{i="9"} 1\n  m{i="10"} 2\n\neval instant at 0 m\n  m{i="9"} 1\n  m{i="10"} 2\n',
    new SelectorEngine(),
    { atModifierVariants: false },
  );
  assert.equal(r.evals[0].ok, true, r.evals[0].error);
  const bad = await runScript(
    'load 1m\n  m{i="b"} 1\n  m{i="a"} 2\n\neval instant at 0 m\n  m{i="b"} 1\n  m{i="a"} 2\n',
    new (class extends SelectorEngine {
      override async rangeQuery(...args: Parameters<SelectorEngine["rangeQuery"]>) {
        const res = await super.rangeQuery(...args);
        if (res.value.type === "matrix") res.value.series.reverse();
        return res;
      }
    })(),
    { atModifierVariants: false },
  );
  assert.match(
    bad.evals[0].error!,
    /instant query in range mode: matrix results should always be sorted/,
  );
});

Deno.test("runScript: expected failures and annotations", async () => {
  const r = await runScript(
    DATA + `
eval instant at 0 rate(m[1m])
  expect fail msg: unsupported: Call

eval instant at 0 rate(m[1m])
  expect fail regex: unsupported

eval instant at 0 rate(m[1m])
  expect fail msg: something else

eval instant at 0 m
  expect fail

eval_fail instant at 0 sum(
  expected_fail_regexp unclosed left paren

eval instant at 0 warned
  expect warn msg: PromQL warning: test warning (1:1)
  warned 1

eval instant at 0 warned
  expect no_warn
  warned 1

eval instant at 0 warned
  expect warn regex: other
  warned 1

eval_warn instant at 0 m
  m{i="1"} 0
  m{i="2"} 5

eval instant at 0 warned
  warned 1
`,
    new SelectorEngine(),
  );
  const outcome = r.evals.map((e) => [e.line, e.ok, e.error ?? ""]);
  assert.deepEqual(outcome.map((o) => o[1]), [
    true,
    true,
    false,
    false,
    true,
    true,
    false,
    false,
    false,
    true,
  ]);
  assert.match(
    String(outcome[2][2]),
    /expected error matching "something else", but got: unsupported: Call/,
  );
  assert.match(String(outcome[3][2]), /expected error evaluating "m" but got none/);
  assert.match(String(outcome[6][2]), /unexpected warning annotations/);
  assert.match(String(outcome[7][2]), /expected warn annotation matching pattern "other"/);
  assert.match(String(outcome[8][2]), /expected warnings but got none/);
});

Deno.test("runScript: clear, stale markers, scalars, strings and script problems", async () => {
  const r = await runScript(
    DATA + `
eval instant at 1m m{i="2"}

eval instant at 0 3
  3

eval instant at 0 "s"
  expect string "s"

clear

eval instant at 0 m

load 1m
  m{i="1"} 1 oops

frobnicate
`,
    new SelectorEngine(),
  );
  assert.deepEqual(r.evals.map((e) => e.ok), [true, true, true, true]);
  assert.deepEqual(r.problems.map((p) => p.line), [19, 22]);
  assert.match(r.problems[1].error, /invalid command "frobnicate"/);
});

Deno.test("applyLoad stores samples at i × interval and NHCB conversions", async () => {
  const [load] = parseScript(`
load_with_nhcb 1m
  h_bucket{le="1"} 1 _ 2
  h_bucket{le="+Inf"} 3 _ 4
  h_count 3 _ 4
  h_sum 5 _ 6
`) as LoadCommand[];
  const store = new MemoryQueryable();
  assert.equal(applyLoad(load, store), undefined);
  assert.equal(store.seriesCount, 5);
  const { series } = await collectSeries(store.select([], { start: 0, end: 1e9 }));
  const hist = series.find((s) => getLabel(s.labels, "__name__") === "h")!;
  const it = hist.iterator();
  assert.equal(it.next(), ValueType.FloatHistogram);
  assert.equal(it.atT(), 0);
  assert.equal(it.atFloatHistogram().count, 3);
  assert.equal(it.next(), ValueType.FloatHistogram);
  assert.equal(it.atT(), 120_000);
  assert.equal(it.atFloatHistogram().sum, 6);
  assert.equal(it.next(), ValueType.None);
  const [bad] = parseScript(
    'load_with_nhcb 1m\n  b_bucket{le="1"} 5\n  b_bucket{le="2"} 1\n',
  ) as LoadCommand[];
  assert.match(applyLoad(bad, new MemoryQueryable())!, /^load failed: count is not cumulative/);
});

Deno.test("applyLoad stores @st offsets as start timestamps t + offset (none: 0)", async () => {
  const [load] = parseScript(`
load 1m
  c@st _ -30s 0 -1m-1mx1
  c    1 2    _ 4 5
  d    1
`) as LoadCommand[];
  const store = new MemoryQueryable();
  assert.equal(applyLoad(load, store), undefined);
  const { series } = await collectSeries(store.select([], { start: 0, end: 1e9 }));
  const sts = series.map((s) => {
    const it = s.iterator();
    const out: [number, number][] = [];
    for (let vt = it.next(); vt !== ValueType.None; vt = it.next()) {
      out.push([it.atT(), it.atST!()]);
    }
    return out;
  });
  // c: 0m no ST, 1m - 30s, (2m omitted), 3m - 1m, 4m - 2m; d has none.
  assert.deepEqual(sts, [
    [[0, 0], [60_000, 30_000], [180_000, 120_000], [240_000, 120_000]],
    [[0, 0]],
  ]);
});

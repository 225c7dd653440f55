import assert from "node:assert/strict";
import { Engine } from "./engine.ts";
import { QueryError } from "./errors.ts";
import { MemoryQueryable } from "./memory_queryable.ts";
import { labelsFromRecord, labelsToString } from "../model/labels.ts";
import type { Queryable, SeriesSet } from "../model/queryable.ts";
import type { QueryResult } from "./value.ts";

const MIN = 60_000;
const DAY = 1440 * MIN;
const SERIES = 40;
const SAMPLES = SERIES * 1440;
const TOO_MANY = "query processing would load too many samples into memory in query execution";

/**
 * 40 counters (`a_total`/`b_total`, jobs j0-j3), one sample a minute over a day: at minute m
 * series i is `i * 1e6 + m`. Storage hands them out `batchSize` at a time.
 */
function store(batchSize: number): MemoryQueryable {
  const q = new MemoryQueryable({ batchSize });
  for (let i = 0; i < SERIES; i++) {
    const labels = labelsFromRecord({
      __name__: i % 2 ? "a_total" : "b_total",
      job: `j${i % 4}`,
      instance: `i${String(i).padStart(2, "0")}`,
    });
    for (let m = 1; m <= 1440; m++) q.append(labels, m * MIN, i * 1e6 + m);
  }
  return q;
}

function vector(res: QueryResult): string[] {
  assert.equal(res.value.type, "vector");
  if (res.value.type !== "vector") return [];
  return res.value.samples.map((s) => `${labelsToString(s.labels)} ${s.f}`).sort();
}

const tooMany = (e: unknown) =>
  e instanceof QueryError && e.kind === "too_many_samples" && e.message === TOO_MANY;

Deno.test("a selection larger than the sample limit answers when the query holds little", async () => {
  // The whole selection is 57,600 samples; the limit 5,000.
  const engine = new Engine({ maxSamples: 5000 });
  for (const batchSize of [1, 8, 256]) {
    const q = store(batchSize);
    const all = '{__name__=~".+"}';
    const count = await engine.instantQuery(q, `count(count_over_time(${all}[1d]))`, DAY);
    assert.deepEqual(vector(count), [`{} ${SERIES}`]);
    assert.equal(count.stats.totalQueryableSamples, SAMPLES);
    // Held at once: one series' window of a day, plus a batch of outputs and the group.
    assert.ok(count.stats.peakSamples >= 1440, `peak ${count.stats.peakSamples}`);
    assert.ok(count.stats.peakSamples < 1440 + batchSize + 10, `peak ${count.stats.peakSamples}`);
    assert.deepEqual(
      vector(await engine.instantQuery(q, `sum by (job) (count_over_time(${all}[1d]))`, DAY)),
      ["j0", "j1", "j2", "j3"].map((j) => `{job="${j}"} ${SAMPLES / 4}`),
    );
    // The largest value: series 39 at its last minute.
    assert.deepEqual(
      vector(await engine.instantQuery(q, `max(max_over_time(${all}[1d]))`, DAY)),
      [`{} ${39e6 + 1440}`],
    );
    // Over a whole day of steps: each counter grows 1 a minute, so the sum of rates is 40/60.
    const rates = await engine.rangeQuery(q, `sum(rate(${all}[5m]))`, 60 * MIN, DAY, 60 * MIN);
    assert.equal(rates.value.type, "matrix");
    if (rates.value.type === "matrix") {
      assert.equal(rates.value.series.length, 1);
      assert.equal(rates.value.series[0].floatValues.length, 24);
      for (const v of rates.value.series[0].floatValues) assert.ok(Math.abs(v - 40 / 60) < 1e-9);
    }
    // Read from the first window's start (55m, exclusive) on.
    assert.equal(rates.stats.totalQueryableSamples, SERIES * (1440 - 55));
  }
});

Deno.test("queries that hold more samples than the limit fail with Prometheus' error", async () => {
  const engine = new Engine({ maxSamples: 5000 });
  const q = store(8);
  // A matrix result holds every sample of its windows.
  await assert.rejects(() => engine.instantQuery(q, '{__name__=~".+"}[1d]', DAY), tooMany);
  // A range query's result holds a point per series and step.
  await assert.rejects(
    () => engine.rangeQuery(q, '{__name__=~".+"}', MIN, DAY, MIN),
    tooMany,
  );
  // One series' window of a day is more than a limit of 1,000: Prometheus holds it too.
  await assert.rejects(
    () =>
      new Engine({ maxSamples: 1000 }).instantQuery(
        q,
        'count(count_over_time({__name__=~".+"}[1d]))',
        DAY,
      ),
    tooMany,
  );
  // quantile needs every series of a step at once, but here that is 40 outputs.
  assert.deepEqual(
    vector(
      await engine.instantQuery(q, 'quantile(0.5, count_over_time({__name__=~".+"}[1d]))', DAY),
    ),
    ["{} 1440"],
  );
});

Deno.test("the storage sets of a query are closed whether it succeeds or fails", async () => {
  const inner = store(4);
  const sets: { closed: boolean; ended: boolean }[] = [];
  const tracking: Queryable = {
    select(m, hints, signal) {
      const set = inner.select(m, hints, signal);
      const state = { closed: false, ended: false };
      sets.push(state);
      return {
        async next() {
          const b = await set.next();
          if (b === null) state.ended = true;
          return b;
        },
        warnings: () => set.warnings(),
        close() {
          state.closed = true;
          return set.close();
        },
      } satisfies SeriesSet;
    },
    labelNames: (m, h) => inner.labelNames(m, h),
    labelValues: (n, m, h) => inner.labelValues(n, m, h),
  };
  const engine = new Engine({ maxSamples: 5000 });
  await engine.instantQuery(tracking, "count(count_over_time(a_total[1d])) + count(b_total)", DAY);
  assert.equal(sets.length, 2);
  assert.ok(sets.every((s) => s.ended || s.closed));
  sets.length = 0;
  // Fails on the left-hand side's points; the right's set, opened up front, is closed unread.
  await assert.rejects(
    () => engine.rangeQuery(tracking, '{__name__=~".+"} or a_total', MIN, DAY, MIN),
    tooMany,
  );
  assert.equal(sets.length, 2);
  assert.ok(sets.every((s) => s.closed), JSON.stringify(sets));
});

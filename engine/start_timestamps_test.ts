import assert from "node:assert/strict";
import { Engine, USE_START_TIMESTAMPS } from "./engine.ts";
import { CounterResetHint, type FloatHistogram } from "../model/histogram.ts";
import { labelsFromRecord, labelsToString } from "../model/labels.ts";
import { MemoryQueryable } from "./memory_queryable.ts";
import { Features } from "./parser.ts";
import {
  isStartTimestampReset,
  startTimeOverlapMessage,
  startTimeOverlaps,
} from "./start_timestamps.ts";
import type { QueryResult } from "./value.ts";

const S = 1000;

Deno.test("isStartTimestampReset: unknown, invalid, cumulative and delta start timestamps", () => {
  // Unknown (0), after the sample (invalid) and equal to it (OTel's unknown start): no reset.
  assert.equal(isStartTimestampReset(0, 60 * S, 0, 120 * S), false);
  assert.equal(isStartTimestampReset(0, 60 * S, 121 * S, 120 * S), false);
  assert.equal(isStartTimestampReset(0, 60 * S, 120 * S, 120 * S), false);
  // Before the previous sample: the same cumulative run.
  assert.equal(isStartTimestampReset(30 * S, 60 * S, 30 * S, 120 * S), false);
  // After the previous sample: the counter restarted in between.
  assert.equal(isStartTimestampReset(30 * S, 60 * S, 61 * S, 120 * S), true);
  // At the previous sample: a delta sample if that one had a known start of its own ...
  assert.equal(isStartTimestampReset(0, 60 * S, 60 * S, 120 * S), false);
  assert.equal(isStartTimestampReset(60 * S, 60 * S, 60 * S, 120 * S), false);
  assert.equal(isStartTimestampReset(120 * S, 60 * S, 60 * S, 120 * S), false);
  assert.equal(isStartTimestampReset(1, 60 * S, 60 * S, 120 * S), true);
});

Deno.test("startTimeOverlaps: only a start before the previous sample that is not its start", () => {
  assert.equal(startTimeOverlaps(30 * S, 60 * S, 30 * S), false); // cumulative
  assert.equal(startTimeOverlaps(0, 60 * S, 60 * S), false); // delta
  assert.equal(startTimeOverlaps(0, 60 * S, 0), false); // unknown
  assert.equal(startTimeOverlaps(30 * S, 60 * S, 40 * S), true);
  assert.equal(startTimeOverlaps(0, 60 * S, 59 * S), true);
  assert.equal(
    startTimeOverlapMessage('a"b'),
    'sample has start time that overlaps with previous sample timestamp for metric "a\\"b"',
  );
});

function hist(count: number): FloatHistogram {
  return {
    counterResetHint: CounterResetHint.Unknown,
    schema: 0,
    zeroThreshold: 0,
    zeroCount: 0,
    count,
    sum: count,
    positiveSpans: [],
    negativeSpans: [],
    positiveBuckets: new Float64Array(0),
    negativeBuckets: new Float64Array(0),
    customValues: new Float64Array(0),
  };
}

/**
 * c_total: 10 @60s, 20 @120s, 25 @180s (start 150s: restarted after 120s).
 * one_total: 6 @120s (start 60s). overlap_total: 1 @60s (start 30s), 2 @120s (start 40s).
 * h: histograms of count 10 @60s and 30 @120s (start 90s); hone: count 60 @120s (start 60s).
 */
function store(): MemoryQueryable {
  const q = new MemoryQueryable();
  const c = labelsFromRecord({ __name__: "c_total" });
  q.append(c, 60 * S, 10);
  q.append(c, 120 * S, 20);
  q.append(c, 180 * S, 25, 150 * S);
  q.append(labelsFromRecord({ __name__: "one_total" }), 120 * S, 6, 60 * S);
  const o = labelsFromRecord({ __name__: "overlap_total" });
  q.append(o, 60 * S, 1, 30 * S);
  q.append(o, 120 * S, 2, 40 * S);
  const h = labelsFromRecord({ __name__: "h" });
  q.append(h, 60 * S, hist(10));
  q.append(h, 120 * S, hist(30), 90 * S);
  q.append(labelsFromRecord({ __name__: "hone" }), 120 * S, hist(60), 60 * S);
  return q;
}

const on = new Engine({ features: [...Object.values(Features), USE_START_TIMESTAMPS] });
const off = new Engine({ features: Object.values(Features) });

function floats(r: QueryResult): string[] {
  assert.equal(r.value.type, "vector");
  if (r.value.type !== "vector") return [];
  return r.value.samples.map((s) =>
    `${labelsToString(s.labels)} ${s.h ? `count=${s.h.count}` : s.f}`
  );
}

async function at(engine: Engine, q: string, t: number): Promise<string[]> {
  return floats(await engine.instantQuery(store(), q, t));
}

Deno.test("increase/rate: a start timestamp after the previous sample is a counter reset", async () => {
  // Values 10, 20, 25 in (0s, 180s]. With the reset: 25 - 10 + 20 = 35 over the sampled 120s;
  // extrapolation to the left stops at the zero point 120·10/35 s before the first sample:
  // 35·(120 + 240/7)/120 = 45. Without: 15, extrapolated by the full 60s: 15·180/120 = 22.5.
  const [withST] = await at(on, "increase(c_total[3m])", 180 * S);
  assert.match(withST, /^\{\} /);
  assert.ok(Math.abs(Number(withST.split(" ")[1]) - 45) < 1e-9, withST);
  assert.deepEqual(await at(off, "increase(c_total[3m])", 180 * S), ["{} 22.5"]);
  assert.deepEqual(await at(off, "resets(c_total[3m])", 180 * S), ["{} 0"]);
  assert.deepEqual(await at(on, "resets(c_total[3m])", 180 * S), ["{} 1"]);
  // irate: after the reset the last value counts from zero: 25/60s, else (25-20)/60s.
  assert.deepEqual(await at(on, "irate(c_total[3m])", 180 * S), [`{} ${25 / 60}`]);
  assert.deepEqual(await at(off, "irate(c_total[3m])", 180 * S), [`{} ${5 / 60}`]);
  // Subqueries carry no start timestamps: 10, 20, 25 at 60s steps in (0s, 180s], as "off".
  assert.deepEqual(await at(on, "increase(c_total[3m:1m])", 180 * S), ["{} 22.5"]);
});

Deno.test("increase/rate: one sample whose start lies in the window counts from zero", async () => {
  // Window (30s, 150s]: the start 60s is inside, so the increase is 6 over [60s, 120s] with no
  // extrapolation at either end (one sample has no average spacing).
  assert.deepEqual(await at(on, "increase(one_total[2m])", 150 * S), ["{} 6"]);
  assert.deepEqual(await at(on, "rate(one_total[2m])", 150 * S), [`{} ${6 / 120}`]);
  // Window (60s, 180s]: a start at the exclusive window start is outside, so nothing.
  assert.deepEqual(await at(on, "increase(one_total[2m])", 180 * S), []);
  assert.deepEqual(await at(off, "increase(one_total[2m])", 150 * S), []);
});

Deno.test("histograms: start timestamp resets and the one-sample case", async () => {
  // irate over 10 @60s, 30 @120s (start 90s, a reset): 30/60s; without the reset 20/60s.
  assert.deepEqual(await at(on, "irate(h[2m])", 120 * S), [`{} count=${30 / 60}`]);
  assert.deepEqual(await at(off, "irate(h[2m])", 120 * S), [`{} count=${20 / 60}`]);
  assert.deepEqual(await at(on, "resets(h[2m])", 120 * S), ["{} 1"]);
  // One histogram with its start (60s) inside (30s, 150s]: increase = the histogram itself.
  assert.deepEqual(await at(on, "increase(hone[2m])", 150 * S), ["{} count=60"]);
  assert.deepEqual(await at(off, "increase(hone[2m])", 150 * S), []);
});

Deno.test("rate warns once per series about overlapping start timestamps, counted", async () => {
  const msg = "PromQL warning: " + startTimeOverlapMessage("overlap_total");
  const r = await on.instantQuery(store(), "rate(overlap_total[2m])", 120 * S);
  assert.deepEqual(r.warnings, [`${msg} (1:6)`]);
  // A range query warns at each of its two steps: merged into one counted warning.
  const rr = await on.rangeQuery(store(), "rate(overlap_total[2m])", 120 * S, 150 * S, 30 * S);
  assert.deepEqual(rr.warnings, [`${msg} (2 occurrences) (1:6)`]);
  const o = await off.instantQuery(store(), "rate(overlap_total[2m])", 120 * S);
  assert.deepEqual(o.warnings, []);
});

Deno.test("start_timestamp() reads a selector's start timestamps, only with the feature", async () => {
  assert.deepEqual(await at(on, "start_timestamp(c_total)", 180 * S), ["{} 150"]);
  // Unknown start timestamps read as 0.
  assert.deepEqual(await at(on, "start_timestamp(c_total)", 120 * S), ["{} 0"]);
  assert.deepEqual(await at(on, "start_timestamp(c_total * 1)", 180 * S), []);
  assert.deepEqual(await at(off, "start_timestamp(c_total)", 180 * S), []);
});

import assert from "node:assert/strict";
import { DAY_MS, dayOf, daysInRange, parseDay } from "../storage/parquet/days.ts";
import { planConversion, type SourceBlock } from "./plan.ts";

const H = 3_600_000;
const D0 = Date.UTC(2026, 0, 10); // 2026-01-10T00:00Z
const NOW = D0 + 10 * DAY_MS;

function block(ulid: string, from: number, to: number): SourceBlock {
  return { ulid, minTime: from, maxTime: to };
}

function plan(
  blocks: SourceBlock[],
  opts: Partial<{ converted: string[]; maxDays: number; now: number }> = {},
) {
  return planConversion(
    [{ key: "1", externalLabels: { a: "b" }, blocks }],
    new Set(opts.converted ?? []),
    { now: opts.now ?? NOW, gracePeriod: 48 * H, maxDays: opts.maxDays ?? 10 },
  ).map((s) => `${s.day.date}:${s.sources.map((b) => b.ulid).join("+")}`);
}

Deno.test("days are half-open UTC intervals", () => {
  assert.deepEqual(dayOf(D0 + DAY_MS - 1).date, "2026-01-10");
  assert.deepEqual(dayOf(D0 + DAY_MS).date, "2026-01-11");
  assert.deepEqual(daysInRange(D0, D0 + DAY_MS).map((d) => d.date), ["2026-01-10"]);
  assert.deepEqual(daysInRange(D0 - 1, D0 + DAY_MS + 1).map((d) => d.date), [
    "2026-01-09",
    "2026-01-10",
    "2026-01-11",
  ]);
  assert.deepEqual(daysInRange(D0, D0), []);
  assert.equal(parseDay("2026-1-10").start, D0);
  assert.throws(() => parseDay("2026-02-30"), RangeError);
  assert.throws(() => parseDay("2026-00-10"), RangeError);
});

Deno.test("plan: most recent first, grace period, converted days skipped", () => {
  const blocks = [
    block("A", D0, D0 + DAY_MS), // day 10
    block("B", D0 + DAY_MS, D0 + 2 * DAY_MS), // day 11
    block("C", D0 + 8 * DAY_MS, D0 + 9 * DAY_MS), // day 18: starts < now-48h? 18th 00:00 vs 18th 00:00
  ];
  // now - 48h = 2026-01-18T00:00 exactly; day 18 does not start before that.
  assert.deepEqual(plan(blocks), ["2026-01-11:B", "2026-01-10:A"]);
  assert.deepEqual(plan(blocks, { converted: ["1/2026-01-11"] }), ["2026-01-10:A"]);
  assert.deepEqual(plan(blocks, { now: NOW + 1 }), [
    "2026-01-18:C",
    "2026-01-11:B",
    "2026-01-10:A",
  ]);
});

Deno.test("plan: the most recent day must be fully covered; older partial days are converted", () => {
  const blocks = [
    block("A", D0 + 2 * H, D0 + 12 * H), // partial day 10
    block("B", D0 + DAY_MS, D0 + DAY_MS + 12 * H), // partial day 11 (most recent)
  ];
  assert.deepEqual(plan(blocks), ["2026-01-10:A"]);
  const full = [...blocks, block("C", D0 + DAY_MS + 12 * H, D0 + 2 * DAY_MS)];
  assert.deepEqual(plan(full), ["2026-01-11:B+C", "2026-01-10:A"]);
});

Deno.test("plan: overlapping blocks are all sources of a day, oldest first", () => {
  const blocks = [
    block("late", D0 + 6 * H, D0 + DAY_MS),
    block("early", D0, D0 + 8 * H),
    block("dup", D0, D0 + 8 * H),
  ];
  assert.deepEqual(plan(blocks), ["2026-01-10:dup+early+late"]);
});

Deno.test("plan: maxDays is soft: extend while no new block is needed", () => {
  // One 3-day block covering days 10-12, then single-day blocks for days 7-9.
  const blocks = [
    block("multi", D0, D0 + 3 * DAY_MS),
    block("d9", D0 - DAY_MS, D0),
    block("d8", D0 - 2 * DAY_MS, D0 - DAY_MS),
  ];
  assert.deepEqual(plan(blocks, { maxDays: 1 }), [
    "2026-01-12:multi",
    "2026-01-11:multi",
    "2026-01-10:multi",
  ]);
  assert.deepEqual(plan(blocks, { maxDays: 4 }), [
    "2026-01-12:multi",
    "2026-01-11:multi",
    "2026-01-10:multi",
    "2026-01-09:d9",
  ]);
});

Deno.test("plan: streams are planned independently and interleaved by day", () => {
  const steps = planConversion(
    [
      { key: "7", externalLabels: { c: "x" }, blocks: [block("X", D0, D0 + DAY_MS)] },
      { key: "3", externalLabels: { c: "y" }, blocks: [block("Y", D0, D0 + 2 * DAY_MS)] },
    ],
    new Set(),
    { now: NOW, gracePeriod: 48 * H, maxDays: 10 },
  );
  assert.deepEqual(steps.map((s) => `${s.streamKey}/${s.day.date}`), [
    "3/2026-01-11",
    "3/2026-01-10",
    "7/2026-01-10",
  ]);
  assert.deepEqual(steps[0].externalLabels, { c: "y" });
});

Deno.test("plan: maxDays counts per stream, so every stream advances in a run", () => {
  // Stream 1 has the three most recent days; stream 2 is two days behind. A global limit of 2
  // would plan only stream 1's days and leave stream 2 waiting for stream 1 to catch up.
  const daily = (prefix: string, days: number[]) =>
    days.map((d) => block(`${prefix}${d}`, D0 + d * DAY_MS, D0 + (d + 1) * DAY_MS));
  const steps = planConversion(
    [
      { key: "1", externalLabels: { s: "1" }, blocks: daily("a", [3, 4, 5]) },
      { key: "2", externalLabels: { s: "2" }, blocks: daily("b", [0, 1, 2]) },
    ],
    new Set(),
    { now: NOW, gracePeriod: 48 * H, maxDays: 2 },
  );
  assert.deepEqual(steps.map((s) => `${s.streamKey}/${s.day.date}:${s.sources[0].ulid}`), [
    "1/2026-01-15:a5",
    "1/2026-01-14:a4",
    "2/2026-01-12:b2",
    "2/2026-01-11:b1",
  ]);
});

Deno.test("plan: shards split the days of the whole plan, each limited by maxDays on its own", () => {
  const daily = (prefix: string, days: number[]) =>
    days.map((d) => block(`${prefix}${d}`, D0 + d * DAY_MS, D0 + (d + 1) * DAY_MS));
  // Day 7 of each stream is only half covered and the most recent: no shard may plan it.
  const streams = ["11", "22", "33"].map((key) => ({
    key,
    externalLabels: { s: key },
    blocks: [
      ...daily(key, [0, 1, 2, 3, 4, 5, 6]),
      block(`${key}p`, D0 + 7 * DAY_MS, D0 + 7.5 * DAY_MS),
    ],
  }));
  const names = (shard?: { index: number; count: number }, maxDays = 100) =>
    planConversion(streams, new Set(), { now: NOW, gracePeriod: 48 * H, maxDays, shard })
      .map((s) => `${s.streamKey}/${s.day.date}`);
  const whole = names();
  assert.equal(whole.length, 21);
  const parts = [0, 1, 2].map((index) => names({ index, count: 3 }));
  assert.deepEqual(parts.flat().sort(), [...whole].sort());
  for (const part of parts) assert.ok(part.length > 0 && part.length < 21, `${part}`);
  assert.deepEqual(names({ index: 0, count: 1 }), whole);
  // maxDays counts the shard's own days of each stream: each shard advances every stream.
  for (const [index, part] of parts.entries()) {
    const limited = names({ index, count: 3 }, 1);
    for (const key of ["11", "22", "33"]) {
      const mine = part.filter((s) => s.startsWith(`${key}/`));
      assert.deepEqual(limited.filter((s) => s.startsWith(`${key}/`)), mine.slice(0, 1));
    }
  }
});

import assert from "node:assert/strict";
import { createLogger } from "../internal/log.ts";
import { ConversionProgress, formatEta } from "./progress.ts";

function setup(tty: boolean) {
  let now = 1_000_000;
  const screen: string[] = [];
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({
    format: "json",
    write: (line) => logs.push(JSON.parse(line)),
  });
  const progress = new ConversionProgress({
    logger,
    tty,
    write: (s) => screen.push(s),
    now: () => now,
  });
  return { progress, screen, logs, tick: (ms: number) => (now += ms) };
}

Deno.test("formatEta uses the largest two units", () => {
  assert.equal(formatEta(42_000), "42s");
  assert.equal(formatEta(185_000), "3m05s");
  assert.equal(formatEta(3_720_000), "1h02m");
  assert.equal(formatEta(NaN), "?");
});

const ERASE = "\x1b[K";

function bar(filled: number): string {
  return `[${"#".repeat(filled)}${"-".repeat(30 - filled)}]`;
}

Deno.test("on a terminal the bar shows the day of the run and redraws with the ETAs", () => {
  const { progress, screen, tick } = setup(true);
  const day = progress.startDay("0/2025-01-10", { index: 1, count: 3 });
  assert.equal(screen.at(-1), `\rday 2/3 0/2025-01-10 reading series...${ERASE}`);
  tick(5_000); // fetching the blocks and reading their labels
  day.begin(1000);
  tick(10_000);
  day.advance(250); // 250 series in 10 s: the 750 left take 30 s.
  // No day of the run has finished: the one after this is expected to take as long as this
  // one's 15 s so far plus 30 s left.
  assert.equal(
    screen.at(-1),
    `\rday 2/3 0/2025-01-10 ${bar(8)}  25% 250/1000 series ETA 30s, all days 1m15s${ERASE}`,
  );
  // Redraws are rate-limited.
  const count = screen.length;
  day.advance(1);
  assert.equal(screen.length, count);
  tick(200);
  day.advance(1);
  assert.equal(screen.length, count + 1);
  day.finish();
  assert.ok(
    screen.at(-1)!.endsWith(`${bar(30)} 100% 1000/1000 series done, all days 15s${ERASE}\n`),
  );
});

Deno.test("the run's ETA counts the days left at the average of the run's finished days", () => {
  const { progress, screen, tick } = setup(true);
  for (const [index, seconds] of [[0, 10], [1, 30]]) {
    const day = progress.startDay(`0/2025-01-1${index}`, { index, count: 4 });
    day.begin(10);
    tick(seconds * 1000);
    day.finish();
  }
  const day = progress.startDay("0/2025-01-12", { index: 2, count: 4 });
  day.begin(100);
  tick(6_000);
  day.advance(50); // 6 s more for this day, then one day at the 20 s average.
  assert.equal(
    screen.at(-1),
    `\rday 3/4 0/2025-01-12 ${bar(15)}  50% 50/100 series ETA 6s, all days 26s${ERASE}`,
  );
  day.finish();
  // A new run (index 0) forgets the last run's days.
  const next = progress.startDay("0/2025-01-13", { index: 0, count: 2 });
  next.begin(10);
  tick(1_000);
  next.advance(5);
  assert.equal(next.runEta(), 1_000 + 2_000);
  // The last day of a run has only its own ETA.
  const last = progress.startDay("0/2025-01-14", { index: 1, count: 2 });
  last.begin(10);
  tick(1_000);
  last.advance(5);
  assert.ok(screen.at(-1)!.endsWith(`5/10 series ETA 1s${ERASE}`), screen.at(-1));
});

Deno.test("without a terminal progress goes to the log, at most once per interval", () => {
  const { progress, screen, logs, tick } = setup(false);
  const day = progress.startDay("123/2025-01-11", { index: 0, count: 2 });
  assert.equal(logs.length, 0, "nothing to say before the series are counted");
  tick(2_000);
  day.begin(400);
  assert.equal(logs.length, 1);
  const { msg, day: name, step, series } = logs[0];
  assert.deepEqual({ msg, name, step, series }, {
    msg: "converting day",
    name: "123/2025-01-11",
    step: "1/2",
    series: 400,
  });
  tick(5_000);
  day.advance(100);
  tick(5_001);
  day.advance(100);
  tick(1_000);
  day.advance(100); // within 10 s of the previous line: not logged
  const lines = logs.filter((l) => l.msg === "conversion progress");
  // The first 5 s after the start line stay quiet; the 10 s mark logs; 1 s later does not.
  assert.equal(lines.length, 1);
  assert.equal(lines[0].step, "1/2");
  assert.equal(lines[0].series_done, 200);
  assert.equal(lines[0].series_total, 400);
  assert.equal(lines[0].eta, "10s");
  // This day's 12 s so far and 10 s left, then one more day as long.
  assert.equal(lines[0].eta_all_days, "32s");
  day.finish({ shards: 1 });
  assert.equal(logs.at(-1)!.msg, "converted day");
  assert.equal(logs.at(-1)!.shards, 1);
  assert.equal(screen.length, 0);
});

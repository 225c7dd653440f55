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

Deno.test("on a terminal the bar redraws in place with the ETA from the average rate", () => {
  const { progress, screen, tick } = setup(true);
  const day = progress.startDay("0/2025-01-10", 1000);
  tick(10_000);
  day.advance(250); // 250 series in 10 s: 750 left take 30 s.
  const line = screen.at(-1)!;
  const erase = "\x1b[K";
  assert.equal(
    line,
    `\r0/2025-01-10 [${"#".repeat(8)}${"-".repeat(22)}]  25% 250/1000 series ETA 30s${erase}`,
  );
  // Redraws are rate-limited.
  const count = screen.length;
  day.advance(1);
  assert.equal(screen.length, count);
  tick(200);
  day.advance(1);
  assert.equal(screen.length, count + 1);
  day.finish();
  assert.ok(screen.at(-1)!.endsWith(`[${"#".repeat(30)}] 100% 1000/1000 series done${erase}\n`));
});

Deno.test("without a terminal progress goes to the log, at most once per interval", () => {
  const { progress, screen, logs, tick } = setup(false);
  const day = progress.startDay("123/2025-01-11", 400);
  assert.equal(logs.length, 1);
  assert.equal(logs[0].msg, "converting day");
  tick(5_000);
  day.advance(100);
  tick(5_001);
  day.advance(100);
  tick(1_000);
  day.advance(100); // within 10 s of the previous line: not logged
  const lines = logs.filter((l) => l.msg === "conversion progress");
  // The first 5 s after the start line stay quiet; the 10 s mark logs; 1 s later does not.
  assert.equal(lines.length, 1);
  assert.equal(lines[0].series_done, 200);
  assert.equal(lines[0].series_total, 400);
  assert.equal(lines[0].eta, "10s");
  day.finish({ shards: 1 });
  assert.equal(logs.at(-1)!.msg, "converted day");
  assert.equal(logs.at(-1)!.shards, 1);
  assert.equal(screen.length, 0);
});

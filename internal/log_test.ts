import assert from "node:assert/strict";
import { createLogger, rateLimitedWarn } from "./log.ts";

const fixedNow = () => new Date("2026-01-02T03:04:05.000Z");

Deno.test("logfmt lines carry level, bound fields and quoted values", () => {
  const lines: string[] = [];
  const log = createLogger({ write: (l) => lines.push(l), now: fixedNow }).with({
    component: "convert",
  });
  log.info("converted day", { day: "2026-01-01", series: 12, note: "two words" });
  assert.deepEqual(lines, [
    'ts=2026-01-02T03:04:05.000Z level=info component=convert msg="converted day" day=2026-01-01 series=12 note="two words"\n',
  ]);
});

Deno.test("json lines parse and keep types; errors become messages", () => {
  const lines: string[] = [];
  const log = createLogger({ format: "json", write: (l) => lines.push(l), now: fixedNow });
  log.error("sync failed", { err: new Error("boom"), n: 3 });
  assert.deepEqual(JSON.parse(lines[0]), {
    ts: "2026-01-02T03:04:05.000Z",
    level: "error",
    msg: "sync failed",
    err: "boom",
    n: 3,
  });
});

Deno.test("lines below the level are dropped", () => {
  const lines: string[] = [];
  const log = createLogger({ level: "warn", write: (l) => lines.push(l), now: fixedNow });
  log.debug("a");
  log.info("b");
  log.warn("c");
  log.error("d");
  assert.equal(lines.length, 2);
  assert.match(lines[0], /level=warn/);
});

Deno.test("rateLimitedWarn logs a flood as one line at once and one with the count later", async () => {
  const lines: string[] = [];
  const log = createLogger({ write: (l) => lines.push(l), now: fixedNow });
  const warn = rateLimitedWarn(log.with({ component: "grpc" }), "connection error", 100);
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  for (let i = 0; i < 50; i++) warn({ conn: i });
  const head = "ts=2026-01-02T03:04:05.000Z level=warn component=grpc";
  assert.deepEqual(lines, [`${head} msg="connection error" conn=0\n`]);
  // When the interval ends: the last call, and how many of the interval were not logged.
  await sleep(300);
  assert.deepEqual(lines.slice(1), [`${head} msg="connection error" conn=49 suppressed=48\n`]);
  // After a quiet interval the next call is logged at once again.
  warn({ conn: 50 });
  assert.deepEqual(lines.slice(2), [`${head} msg="connection error" conn=50\n`]);
  // One more in that interval waits for its end, without any suppressed.
  warn({ conn: 51 });
  assert.equal(lines.length, 3);
  await sleep(300);
  assert.deepEqual(lines.slice(3), [`${head} msg="connection error" conn=51 suppressed=0\n`]);
});

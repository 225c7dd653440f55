import assert from "node:assert/strict";
import { createLogger } from "./log.ts";

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

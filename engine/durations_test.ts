import assert from "node:assert/strict";
import { DurationError, formatDuration, parseDuration } from "./durations.ts";

Deno.test("parseDuration accepts every unit in order", () => {
  assert.equal(parseDuration("0"), 0);
  assert.equal(parseDuration("0s"), 0);
  assert.equal(parseDuration("5m"), 300_000);
  assert.equal(parseDuration("1h30m"), 5_400_000);
  assert.equal(parseDuration("54s321ms"), 54_321);
  assert.equal(parseDuration("1y"), 31_536_000_000);
  assert.equal(parseDuration("2w"), 1_209_600_000);
  assert.equal(parseDuration("1d1h1m1s1ms"), 90_061_001);
  assert.equal(parseDuration("250ms"), 250);
});

Deno.test("parseDuration rejects malformed input with the input named", () => {
  for (const bad of ["", "5", "1.5m", "1m1h", "5x", "-5m", "m", "1s1s", "5M", "5y1hs"]) {
    assert.throws(() => parseDuration(bad), DurationError, bad);
  }
  assert.throws(() => parseDuration("1m1h"), /not a valid duration string: "1m1h"/);
  assert.throws(() => parseDuration(""), /empty duration string/);
  assert.throws(() => parseDuration("5y1hs"), /unknown unit "hs" in duration "5y1hs"/);
  assert.throws(() => parseDuration("1.5m"), /unknown unit "." in duration "1.5m"/);
  assert.throws(() => parseDuration("300y"), /duration out of range/);
});

Deno.test("formatDuration matches Prometheus' model.Duration.String", () => {
  assert.equal(formatDuration(0), "0s");
  assert.equal(formatDuration(300_000), "5m");
  assert.equal(formatDuration(5_400_000), "1h30m");
  assert.equal(formatDuration(90 * 86_400_000), "90d"); // not 12w6d: weeks only when exact
  assert.equal(formatDuration(14 * 86_400_000), "2w");
  assert.equal(formatDuration(365 * 86_400_000), "1y");
  assert.equal(formatDuration(1500), "1s500ms");
  assert.equal(formatDuration(-60_000), "-1m");
});

Deno.test("formatDuration and parseDuration round-trip", () => {
  for (const ms of [1, 999, 1000, 61_001, 3_600_000, 86_400_000 + 1, 31_536_000_000 * 2]) {
    assert.equal(parseDuration(formatDuration(ms)), ms);
  }
});

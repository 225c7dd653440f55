import assert from "node:assert/strict";
import { parseTimeOrDuration, resolveTimeOrDuration } from "./time_or_duration.ts";
import expected from "./testdata/rfc3339.json" with { type: "json" };

// testdata/rfc3339.json comes from testdata/rfc3339.go: Go's time.Parse(time.RFC3339, ...).

Deno.test("parseTimeOrDuration reads RFC3339 times as Go's time.Parse does", () => {
  for (const { input, ms } of expected) {
    if (ms === null) {
      // Refused as a time, and none of these is a duration either.
      assert.throws(() => parseTimeOrDuration(input), RangeError, input);
    } else {
      assert.deepEqual(parseTimeOrDuration(input), { time: ms }, input);
    }
  }
});

Deno.test("parseTimeOrDuration reads Prometheus durations, negative ones too", () => {
  const H = 3_600_000, D = 24 * H;
  const cases: [string, number][] = [
    ["0", 0],
    ["-0", -0],
    ["-2w", -14 * D],
    ["2h45m", 2 * H + 45 * 60_000],
    ["-1y2d3h4m5s6ms", -(365 * D + 2 * D + 3 * H + 4 * 60_000 + 5_000 + 6)],
    ["36h", 36 * H],
    ["-1d", -D],
    ["292y", 292 * 365 * D],
  ];
  for (const [text, offset] of cases) {
    assert.deepEqual(parseTimeOrDuration(text), { offset }, text);
  }
  // Out of order, fractional, unknown units, no unit, too long for int64 nanoseconds.
  for (const bad of ["1m2h", "1.5h", "1H", "5", "2 h", "", "-", "--1d", "300y", "1d1d"]) {
    assert.throws(() => parseTimeOrDuration(bad), RangeError, bad);
  }
});

Deno.test("resolveTimeOrDuration: times are fixed, durations move with now", () => {
  assert.equal(resolveTimeOrDuration({ time: 42 }, 1_000), 42);
  assert.equal(resolveTimeOrDuration(parseTimeOrDuration("-1s"), 10_000), 9_000);
  assert.equal(resolveTimeOrDuration(parseTimeOrDuration("1m"), 10_000), 70_000);
});

import assert from "node:assert/strict";
import {
  formatBytes,
  formatDuration,
  formatSeries,
  formatTime,
  parseDuration,
  parseTime,
} from "./src/format.js";

Deno.test("UI formatting: durations, times, label sets and sizes as the pages show them", () => {
  assert.equal(parseDuration("1h30m"), 5_400_000);
  assert.equal(parseDuration("2d"), 172_800_000);
  assert.equal(parseDuration("15"), 15_000);
  assert.equal(parseDuration("0.5"), 500);
  assert.equal(parseDuration("1x"), undefined);
  assert.equal(parseDuration(""), undefined);
  assert.equal(formatDuration(5_400_000), "1h30m");
  assert.equal(formatDuration(345_000), "5m45s");
  assert.equal(formatDuration(7 * 86_400_000), "1w");
  assert.equal(parseTime("2025-03-02 12:30:00"), Date.UTC(2025, 2, 2, 12, 30));
  assert.equal(parseTime("2025-03-02T12:30"), Date.UTC(2025, 2, 2, 12, 30));
  assert.equal(
    parseTime("2025-03-02T12:30:00+01:00"),
    Date.UTC(2025, 2, 2, 11, 30),
  );
  assert.equal(parseTime("yesterday"), undefined);
  assert.equal(formatTime(Date.UTC(2025, 2, 2, 12, 30)), "2025-03-02 12:30:00");
  assert.equal(
    formatTime(Date.UTC(2025, 2, 2, 12, 30, 0, 5)),
    "2025-03-02 12:30:00.005",
  );
  assert.equal(
    formatSeries({ b: "2", __name__: "up", a: 'x"y' }),
    'up{a="x\\"y", b="2"}',
  );
  assert.equal(formatSeries({ job: "a" }), '{job="a"}');
  assert.equal(formatSeries({ __name__: "up" }), "up");
  assert.equal(formatBytes(512), "512 B");
  assert.equal(formatBytes(1536), "1.50 KiB");
  assert.equal(formatBytes(3 * 1024 * 1024 * 1024), "3.00 GiB");
});

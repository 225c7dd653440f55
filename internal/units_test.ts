import assert from "node:assert/strict";
import { formatBytes, formatDuration, parseBytes, parseDuration } from "./units.ts";

Deno.test("parseDuration accepts Go and Prometheus forms", () => {
  assert.equal(parseDuration("30m"), 1_800_000);
  assert.equal(parseDuration("1h30m"), 5_400_000);
  assert.equal(parseDuration("1.5h"), 5_400_000);
  assert.equal(parseDuration("250ms"), 250);
  assert.equal(parseDuration("2d"), 172_800_000);
  assert.equal(parseDuration("1w"), 604_800_000);
  assert.equal(parseDuration("0"), 0);
  assert.equal(parseDuration("0s"), 0);
  assert.equal(parseDuration("1m30s"), 90_000);
});

Deno.test("parseDuration rejects garbage with the input in the message", () => {
  for (const bad of ["", "10", "1x", "-5m", "m", "5m trailing", "1h 30m"]) {
    assert.throws(() => parseDuration(bad), (e: Error) => {
      assert.ok(e instanceof RangeError);
      assert.match(e.message, /invalid duration/);
      return true;
    }, bad);
  }
});

Deno.test("parseBytes is base 2 and strict", () => {
  assert.equal(parseBytes("64MiB"), 64 * 1024 * 1024);
  assert.equal(parseBytes("2MiB"), 2 * 1024 * 1024);
  assert.equal(parseBytes("0B"), 0);
  assert.equal(parseBytes("512KB"), 512 * 1024);
  assert.equal(parseBytes("1048576"), 1048576);
  assert.equal(parseBytes("1GiB"), 2 ** 30);
  // Sums, as formatBytes and Go's units.Base2Bytes print sizes.
  assert.equal(parseBytes("1GiB1023MiB1023KiB1023B"), 2 ** 31 - 1);
  assert.equal(parseBytes(formatBytes(2 ** 31 - 1)), 2 ** 31 - 1);
  for (const bad of ["", "MiB", "1XB", "-1MiB", "1 Mi B", "1MiB 2KiB", "1MiB2"]) {
    assert.throws(() => parseBytes(bad), /invalid byte size/, bad);
  }
});

Deno.test("formatDuration prints what Prometheus' /api/v1/status/flags shows", () => {
  // Values as Prometheus 2.42 prints its own flags (query.lookback-delta, max-block-duration...).
  assert.equal(formatDuration(300_000), "5m");
  assert.equal(formatDuration(36 * 3_600_000), "1d12h");
  assert.equal(formatDuration(2), "2ms");
  assert.equal(formatDuration(0), "0s");
  assert.equal(formatDuration(5_400_000), "1h30m");
  // Weeks and years only when exact: 90 days is not 12w6d.
  assert.equal(formatDuration(90 * 86_400_000), "90d");
  assert.equal(formatDuration(14 * 86_400_000), "2w");
  assert.equal(formatDuration(365 * 86_400_000), "1y");
  assert.equal(formatDuration(61_500), "1m1s500ms");
  assert.equal(formatDuration(0.5), "0s");
  for (const text of ["30s", "1h30m", "2w", "1d12h", "250ms"]) {
    assert.equal(formatDuration(parseDuration(text)), text);
  }
});

Deno.test("formatBytes prints base-2 digits largest first", () => {
  assert.equal(formatBytes(0), "0B");
  assert.equal(formatBytes(64 * 2 ** 20), "64MiB");
  assert.equal(formatBytes(1536), "1KiB512B");
  assert.equal(formatBytes(2 ** 30 + 1), "1GiB1B");
  assert.equal(formatBytes(1023), "1023B");
  for (const text of ["2MiB", "256MiB", "0B", "1023B"]) {
    assert.equal(formatBytes(parseBytes(text)), text);
  }
});

import assert from "node:assert/strict";
import { parseBytes, parseDuration } from "./units.ts";

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
  for (const bad of ["", "MiB", "1XB", "-1MiB", "1 Mi B"]) {
    assert.throws(() => parseBytes(bad), /invalid byte size/, bad);
  }
});

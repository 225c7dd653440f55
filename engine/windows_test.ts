import assert from "node:assert/strict";
import { extendFloats, interpolateAt, lowerIndex } from "./windows.ts";

const ts = Float64Array.of(10, 20, 30, 40);
const vs = Float64Array.of(1, 2, 3, 4);

Deno.test("lowerIndex bounds left-open windows", () => {
  // (20, 40] holds 30 and 40: indexes [2, 4).
  assert.equal(lowerIndex(ts, 20), 2);
  assert.equal(lowerIndex(ts, 40), 4);
  assert.equal(lowerIndex(ts, 5), 0);
});

Deno.test("interpolateAt is linear; counters restart from zero after a reset", () => {
  assert.equal(interpolateAt(ts, vs, 0, 1, 15, false), 1.5);
  const reset = Float64Array.of(10, 2);
  assert.equal(interpolateAt(Float64Array.of(0, 10), reset, 0, 1, 5, true), 1);
});

Deno.test("extendFloats adds picked or interpolated boundary points", () => {
  // Anchored (25, 35]: the left boundary takes the sample at 20, the right the one at 30.
  const [t, v] = extendFloats(ts, vs, 0, 3, 25, 35, false)!;
  assert.deepEqual([...t], [25, 30, 35]);
  assert.deepEqual([...v], [2, 3, 3]);
  // Smoothed (25, 35]: both boundaries interpolate between their neighbours.
  const [ts2, vs2] = extendFloats(ts, vs, 0, 4, 25, 35, true)!;
  assert.deepEqual([...ts2], [25, 30, 35]);
  assert.deepEqual([...vs2], [2.5, 3, 3.5]);
  // Nothing after the window start: no result.
  assert.equal(extendFloats(ts, vs, 0, 2, 20, 30, false), undefined);
});

import assert from "node:assert/strict";
import { bucketFraction, bucketQuantile, quantileOf } from "./quantile.ts";

Deno.test("quantileOf interpolates between closest ranks", () => {
  // Sorted 1 2 3 4: rank 0.25 * 3 = 0.75 lies between 1 and 2.
  assert.equal(quantileOf(0.25, Float64Array.of(4, 2, 1, 3), 4), 1.75);
  assert.equal(quantileOf(0, Float64Array.of(3, 1), 2), 1);
  assert.equal(quantileOf(1, Float64Array.of(3, 1), 2), 3);
  assert.equal(quantileOf(-0.1, Float64Array.of(1), 1), -Infinity);
  assert.equal(quantileOf(1.1, Float64Array.of(1), 1), Infinity);
  assert.ok(Number.isNaN(quantileOf(0.5, new Float64Array(0), 0)));
  // Only the first n values count.
  assert.equal(quantileOf(1, Float64Array.of(1, 2, 100), 2), 2);
});

Deno.test("bucketQuantile sorts, merges duplicate bounds and needs +Inf", () => {
  const b = () => [
    { upperBound: Infinity, count: 10 },
    { upperBound: 1, count: 5 },
    { upperBound: 2, count: 8 },
  ];
  // Rank 5 of 10 is reached exactly at the end of (0, 1].
  assert.equal(bucketQuantile(0.5, b()).value, 1);
  // Rank 6.5 is half way through (1, 2] (5 below, 3 inside): 1 + 1.5/3.
  assert.equal(bucketQuantile(0.65, b()).value, 1.5);
  // Above the last finite bucket: its upper bound.
  assert.equal(bucketQuantile(0.95, b()).value, 2);
  assert.ok(Number.isNaN(bucketQuantile(0.5, [{ upperBound: 1, count: 1 }]).value));
  const merged = bucketQuantile(0.5, [
    { upperBound: 1, count: 2 },
    { upperBound: 1, count: 3 },
    { upperBound: Infinity, count: 10 },
  ]);
  assert.equal(merged.value, 1);
});

Deno.test("bucketQuantile raises decreasing counts and reports it", () => {
  const r = bucketQuantile(0.5, [
    { upperBound: 1, count: 6 },
    { upperBound: 2, count: 4 },
    { upperBound: Infinity, count: 10 },
  ]);
  assert.equal(r.forcedMonotonic, true);
  // After the fix the counts are 6 6 10: rank 5 lies in (0, 1].
  assert.equal(r.value, 5 / 6);
});

Deno.test("bucketFraction interpolates inside finite buckets only", () => {
  const b = () => [
    { upperBound: 1, count: 4 },
    { upperBound: 2, count: 8 },
    { upperBound: Infinity, count: 10 },
  ];
  assert.equal(bucketFraction(0, 1, b()), 0.4);
  assert.equal(bucketFraction(0, 1.5, b()), 0.6);
  assert.equal(bucketFraction(2, Infinity, b()), 0.2);
  assert.equal(bucketFraction(1, 1, b()), 0);
});

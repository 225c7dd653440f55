import assert from "node:assert/strict";
import { almostEqual } from "./almost.ts";
import { classicBucketFraction, classicBucketQuantile } from "./classic_histogram.ts";

// Cumulative: 2 observations ≤ 1, 4 ≤ 2, 5 in total.
const B = [
  { upperBound: 2, count: 4 },
  { upperBound: Infinity, count: 5 },
  { upperBound: 1, count: 2 },
];

Deno.test("classicBucketQuantile interpolates linearly inside the rank's bucket", () => {
  // Rank 2.5: the (1,2] bucket holds ranks 2..4, so 0.5 of its 2 → 1 + 0.25.
  assert.equal(classicBucketQuantile(0.5, B).value, 1.25);
  // Rank 1 in the first bucket, taken to start at 0.
  assert.equal(classicBucketQuantile(0.2, B).value, 0.5);
  // Rank 4.5 lies in the +Inf bucket: the highest finite bound.
  assert.equal(classicBucketQuantile(0.9, B).value, 2);
  assert.equal(classicBucketQuantile(0, B).value, 0);
  assert.equal(classicBucketQuantile(-1, B).value, -Infinity);
  assert.equal(classicBucketQuantile(2, B).value, Infinity);
  assert.ok(Number.isNaN(classicBucketQuantile(NaN, B).value));
  // A first bucket with a bound ≤ 0 answers with that bound.
  const neg = [{ upperBound: -1, count: 1 }, { upperBound: 1, count: 2 }, {
    upperBound: Infinity,
    count: 2,
  }];
  assert.equal(classicBucketQuantile(0.25, neg).value, -1);
});

Deno.test("classicBucketQuantile: NaN without +Inf bucket, observations or a second bucket", () => {
  assert.ok(Number.isNaN(classicBucketQuantile(0.5, [{ upperBound: 1, count: 3 }]).value));
  assert.ok(Number.isNaN(classicBucketQuantile(0.5, [{ upperBound: Infinity, count: 3 }]).value));
  assert.ok(
    Number.isNaN(
      classicBucketQuantile(0.5, [{ upperBound: 1, count: 0 }, { upperBound: Infinity, count: 0 }])
        .value,
    ),
  );
  assert.ok(Number.isNaN(classicBucketQuantile(0.5, []).value));
  // Buckets with the same bound are merged: 1 + 1 ≤ 1, 4 in total → rank 2 at the bound.
  const dup = [{ upperBound: 1, count: 1 }, { upperBound: 1, count: 1 }, {
    upperBound: Infinity,
    count: 4,
  }];
  assert.equal(classicBucketQuantile(0.5, dup).value, 1);
});

Deno.test("classicBucketQuantile forces monotonic counts and reports it", () => {
  const bad = [{ upperBound: 1, count: 3 }, { upperBound: 2, count: 2 }, {
    upperBound: Infinity,
    count: 5,
  }];
  const r = classicBucketQuantile(0.5, bad);
  // The (1,2] count is raised to 3; rank 2.5 then lies in the first bucket.
  assert.equal(r.value, 2.5 / 3);
  assert.deepEqual([r.forcedMonotonic, r.minBucket, r.maxBucket, r.maxDiff], [true, 2, 2, 1]);
  assert.equal(r.fixedPrecision, false);
  const noisy = [{ upperBound: 1, count: 1 }, { upperBound: 2, count: 1 - 1e-15 }, {
    upperBound: Infinity,
    count: 2,
  }];
  const n = classicBucketQuantile(0.5, noisy);
  assert.deepEqual([n.fixedPrecision, n.forcedMonotonic], [true, false]);
  // Both finite buckets count 1 now: rank 1 is reached at the first bound.
  assert.equal(n.value, 1);
  // The input is not modified.
  assert.equal(bad[1].count, 2);
});

Deno.test("classicBucketFraction interpolates linearly between bucket bounds", () => {
  assert.equal(classicBucketFraction(0, 1, B), 2 / 5);
  // Ranks 1 (0.5 in [0,1]) and 3 (1.5 in (1,2]).
  assert.equal(classicBucketFraction(0.5, 1.5, B), (3 - 1) / 5);
  assert.equal(classicBucketFraction(1.5, Infinity, B), (5 - 3) / 5);
  // Nothing is interpolated inside the +Inf bucket.
  assert.equal(classicBucketFraction(3, 10, B), 0);
  assert.equal(classicBucketFraction(-Infinity, Infinity, B), 1);
  assert.equal(classicBucketFraction(2, 1, B), 0);
  assert.ok(Number.isNaN(classicBucketFraction(NaN, 1, B)));
  assert.ok(Number.isNaN(classicBucketFraction(0, 1, [{ upperBound: 1, count: 1 }])));
  // A first bound ≤ 0 makes the first bucket reach -Inf: it counts as a whole.
  const neg = [{ upperBound: -1, count: 1 }, { upperBound: 1, count: 3 }, {
    upperBound: Infinity,
    count: 4,
  }];
  assert.equal(classicBucketFraction(-2, 0, neg), (2 - 1) / 4);
});

Deno.test("almostEqual takes its epsilon from the caller", () => {
  assert.ok(almostEqual(1, 1 + 1e-13, 1e-12));
  assert.ok(!almostEqual(1, 1 + 1e-11, 1e-12));
  assert.ok(almostEqual(1, 1.1, 0.1));
});

import assert from "node:assert/strict";
import { forEachConcurrently } from "./concurrency.ts";

Deno.test("forEachConcurrently visits every item with at most `limit` calls in flight", async () => {
  let inFlight = 0, most = 0;
  const seen: number[] = [];
  await forEachConcurrently([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
    most = Math.max(most, ++inFlight);
    await new Promise((r) => setTimeout(r, n % 3));
    seen.push(n);
    inFlight--;
  });
  assert.deepEqual(seen.sort(), [1, 2, 3, 4, 5, 6, 7]);
  assert.equal(most, 3);
  await forEachConcurrently([], 4, () => Promise.reject(new Error("not called")));
});

Deno.test("after a failure no item starts and the error comes once all calls have ended", async () => {
  const started: number[] = [];
  let running = 0;
  await assert.rejects(
    forEachConcurrently([1, 2, 3, 4, 5, 6], 2, async (n) => {
      started.push(n);
      running++;
      await new Promise((r) => setTimeout(r, n === 1 ? 1 : 20));
      running--;
      if (n === 1) throw new Error("boom");
    }),
    /boom/,
  );
  // 1 fails while 2 runs; 2 finishes, nothing after it starts.
  assert.deepEqual(started, [1, 2]);
  assert.equal(running, 0);
});

import assert from "node:assert/strict";
import { forEachConcurrently, QueueFullError, Semaphore } from "./concurrency.ts";

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

Deno.test("Semaphore: admits size holders, queues the rest in order", async () => {
  const s = new Semaphore(2);
  const r1 = await s.acquire();
  const r2 = await s.acquire();
  const order: number[] = [];
  const p3 = s.acquire().then((r) => (order.push(3), r));
  const p4 = s.acquire().then((r) => (order.push(4), r));
  assert.deepEqual([s.active, s.waiting], [2, 2]);
  r1();
  r1(); // idempotent: must not free a second slot
  const r3 = await p3;
  assert.deepEqual([s.active, s.waiting, order], [2, 1, [3]]);
  r2();
  const r4 = await p4;
  assert.deepEqual(order, [3, 4]);
  r3();
  r4();
  assert.deepEqual(s.active, 0);
});

Deno.test("Semaphore: an aborted waiter leaves the queue with the abort reason", async () => {
  const s = new Semaphore(1);
  const release = await s.acquire();
  const ac = new AbortController();
  const p = s.acquire(ac.signal);
  ac.abort(new Error("gave up"));
  await assert.rejects(p, /gave up/);
  assert.deepEqual(s.waiting, 0);
  release();
  assert.deepEqual(s.active, 0);
});

Deno.test("Semaphore: size 0 is unlimited", async () => {
  const s = new Semaphore(0);
  for (let i = 0; i < 1000; i++) await s.acquire();
  assert.deepEqual(s.active, 1000);
});

Deno.test("Semaphore: with maxWaiting, a caller finding the queue full is refused at once", async () => {
  const s = new Semaphore(1, 2);
  const release = await s.acquire();
  const waiting = [s.acquire(), s.acquire()];
  await assert.rejects(s.acquire(), (e: unknown) => {
    assert.ok(e instanceof QueueFullError);
    assert.equal(e.message, "too many queries waiting: the queue of 2 is full");
    return true;
  });
  assert.deepEqual([s.active, s.waiting], [1, 2]);
  // A place freed in the queue admits the next caller again.
  release();
  const r1 = await waiting[0];
  const third = s.acquire();
  assert.deepEqual(s.waiting, 2);
  r1();
  (await waiting[1])();
  (await third)();
  assert.deepEqual([s.active, s.waiting], [0, 0]);
  assert.throws(() => new Semaphore(1, -1), RangeError);
});

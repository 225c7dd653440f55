import assert from "node:assert/strict";
import { atDeadline, queryAbort } from "./abort.ts";

/** Spins without yielding until `ms` have passed: no timer or message can run meanwhile. */
function spin(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) { /* busy */ }
}

Deno.test("queryAbort: a synchronous loop sees the deadline pass on its next read of aborted", () => {
  const abort = queryAbort(Date.now() + 30);
  const events: string[] = [];
  abort.signal.addEventListener("abort", () => events.push("abort"));
  try {
    assert.equal(abort.signal.aborted, false);
    spin(40);
    // No timer could fire during the spin: the read itself notices the deadline.
    assert.deepEqual(events, []);
    assert.equal(abort.signal.aborted, true);
    assert.deepEqual(events, ["abort"], "listeners (storage reads) are told at once");
    assert.ok(abort.signal.reason instanceof DOMException);
    assert.equal(abort.signal.reason.name, "TimeoutError");
    assert.throws(() => abort.signal.throwIfAborted(), { name: "TimeoutError" });
  } finally {
    abort.dispose();
  }
});

Deno.test("queryAbort: the shared cancel cell, set by another thread, is read synchronously", () => {
  const cells = new Int32Array(new SharedArrayBuffer(8));
  const abort = queryAbort(Date.now() + 60_000, undefined, { cells, index: 1 });
  try {
    Atomics.store(cells, 0, 1); // another query's cell
    assert.equal(abort.signal.aborted, false);
    Atomics.store(cells, 1, 1);
    assert.equal(abort.signal.aborted, true);
    assert.equal(abort.signal.reason.name, "AbortError");
  } finally {
    abort.dispose();
  }
});

Deno.test("queryAbort: the parent's abort and the timer abort it while the loop is idle", async () => {
  const parent = new AbortController();
  const a = queryAbort(Date.now() + 60_000, parent.signal);
  const reason = new Error("client went away");
  parent.abort(reason);
  assert.equal(a.signal.aborted, true);
  assert.equal(a.signal.reason, reason);
  a.dispose();

  const b = queryAbort(Date.now() + 20);
  const fired = new Promise((resolve) => b.signal.addEventListener("abort", resolve));
  await fired;
  assert.equal(b.signal.reason.name, "TimeoutError");
  b.dispose();

  const c = queryAbort(Date.now() - 1);
  assert.equal(c.signal.aborted, true, "a past deadline aborts at once");
  c.dispose();
});

Deno.test("atDeadline: fires once at the deadline, never for an infinite one, not after cancel", async () => {
  const calls: string[] = [];
  atDeadline(Date.now() + 10, () => calls.push("soon"));
  const cancel = atDeadline(Date.now() + 15, () => calls.push("canceled"));
  cancel();
  const never = atDeadline(Infinity, () => calls.push("never"));
  await new Promise((r) => setTimeout(r, 40));
  never();
  assert.deepEqual(calls, ["soon"]);
});

Deno.test("queryAbort: a guard polled by the reads stops the evaluation with its reason", () => {
  let memory = 10;
  const limit = new Error("over the memory limit");
  const abort = queryAbort(
    Date.now() + 60_000,
    undefined,
    undefined,
    () => memory > 100 ? limit : undefined,
  );
  try {
    assert.equal(abort.signal.aborted, false);
    memory = 200;
    spin(15); // the guard runs at most every 10 ms
    assert.equal(abort.signal.aborted, true);
    assert.equal(abort.signal.reason, limit);
  } finally {
    abort.dispose();
  }
});

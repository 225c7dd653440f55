import assert from "node:assert/strict";
import {
  AttemptTimeoutError,
  backoffDelay,
  isNetworkError,
  isRetryableStatus,
  type RetryPolicy,
  withRetries,
} from "./retry.ts";

const policy: RetryPolicy = { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 4, attemptTimeoutMs: 0 };
const what = { provider: "TEST", operation: "get", key: "k" };

Deno.test("backoff doubles up to the cap, with full jitter", () => {
  const p = { ...policy, baseDelayMs: 100, maxDelayMs: 1000 };
  assert.equal(backoffDelay(p, 1, () => 0.999999), 99);
  assert.equal(backoffDelay(p, 3, () => 0.999999), 399);
  assert.equal(backoffDelay(p, 10, () => 0.999999), 999);
  assert.equal(backoffDelay(p, 10, () => 0), 0);
});

Deno.test("retryable statuses and network errors", () => {
  assert.deepEqual([408, 429, 500, 501, 503, 404, 403, 416].map(isRetryableStatus), [
    true,
    true,
    true,
    false,
    true,
    false,
    false,
    false,
  ]);
  assert.ok(isNetworkError(Object.assign(new Error("x"), { code: "ECONNRESET" })));
  assert.ok(isNetworkError(new Error("outer", { cause: new Deno.errors.ConnectionRefused() })));
  assert.ok(isNetworkError(new AttemptTimeoutError(5)));
  assert.ok(!isNetworkError(new Error("NoSuchKey")));
});

Deno.test("retries retryable errors until success, and stops at the attempt limit", async () => {
  let calls = 0;
  const got = await withRetries({ policy, retryable: () => true, what }, () => {
    calls++;
    return calls < 3 ? Promise.reject(new Error("503")) : Promise.resolve("ok");
  });
  assert.equal(got, "ok");
  assert.equal(calls, 3);
  calls = 0;
  await assert.rejects(
    withRetries({ policy, retryable: () => true, what }, () => {
      calls++;
      return Promise.reject(new Error("503 again"));
    }),
    /503 again/,
  );
  assert.equal(calls, 4);
});

Deno.test("a non-retryable error fails at once", async () => {
  let calls = 0;
  await assert.rejects(
    withRetries({ policy, retryable: () => false, what }, () => {
      calls++;
      return Promise.reject(new Error("404"));
    }),
    /404/,
  );
  assert.equal(calls, 1);
});

Deno.test("a stalled attempt times out and the next one succeeds", async () => {
  let calls = 0;
  const got = await withRetries(
    { policy: { ...policy, attemptTimeoutMs: 50 }, retryable: () => false, what },
    (signal) => {
      calls++;
      if (calls > 1) return Promise.resolve("second");
      return new Promise((_, reject) =>
        signal.addEventListener("abort", () => reject(new Error("aborted")))
      );
    },
  );
  assert.equal(got, "second");
  assert.equal(calls, 2);
});

Deno.test("the caller's abort is final", async () => {
  let calls = 0;
  const controller = new AbortController();
  const p = withRetries({ policy, retryable: () => true, what }, (signal) => {
    calls++;
    return new Promise((_, reject) =>
      signal.addEventListener("abort", () => reject(new Error("aborted")))
    );
  }, controller.signal);
  controller.abort(new Error("caller stop"));
  await assert.rejects(p, /caller stop/);
  assert.equal(calls, 1);
});

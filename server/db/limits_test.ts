import assert from "node:assert/strict";
import { QueryError } from "../../engine/errors.ts";
import { toGrpcError } from "../grpc/thanos/convert.ts";
import { Code } from "../grpc/status.ts";
import { Quota, QuotaExceededError, RequestQuotas } from "./limits.ts";

Deno.test("Quota: reservations accumulate up to the limit, then fail without reserving", () => {
  const q = new Quota("select rows", 10);
  q.reserve(4);
  q.reserve(6);
  assert.deepEqual(q.used, 10);
  let err: unknown;
  try {
    q.reserve(1);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof QuotaExceededError);
  assert.ok(err instanceof QueryError && err.kind === "too_many_samples");
  assert.deepEqual([err.resource, err.limit, err.requested], ["select rows", 10, 11]);
  assert.match(err.message, /^would use too many rows:/);
  assert.deepEqual(q.used, 10);
});

Deno.test("Quota: limit 0 is unlimited; negative limits are rejected", () => {
  const q = new Quota("chunk bytes", 0);
  q.reserve(Number.MAX_SAFE_INTEGER);
  assert.throws(() => new Quota("shards", -1), RangeError);
});

Deno.test("RequestQuotas: one quota per resource from the limits", () => {
  const r = new RequestQuotas({
    maxShards: 1,
    maxSelectRows: 2,
    maxChunkBytes: 3,
    maxLabelNamesRows: 4,
    maxLabelValuesRows: 5,
  });
  assert.deepEqual(
    [r.shards, r.selectRows, r.chunkBytes, r.labelNamesRows, r.labelValuesRows].map((q) => q.limit),
    [1, 2, 3, 4, 5],
  );
  assert.throws(() => r.shards.reserve(2), /too many shards/);
});

Deno.test("QuotaExceededError maps to RESOURCE_EXHAUSTED in the gRPC API", () => {
  const err = toGrpcError(new QuotaExceededError("chunk bytes", 10, 11));
  assert.equal(err.code, Code.ResourceExhausted);
  assert.match(err.message, /too many bytes/);
});

import assert from "node:assert/strict";
import { QueryError } from "../../../engine/errors.ts";
import { labelsFromRecord } from "../../../model/labels.ts";
import { Matcher, MatchType } from "../../../model/matchers.ts";
import { QuotaExceededError } from "../../db/limits.ts";
import { Code, GrpcError } from "../status.ts";
import { fromMs, matchExternalLabels, toGrpcError, toMs, withExternalLabels } from "./convert.ts";

Deno.test("convert: int64 ms clamp at the int64 range; MinInt64/MaxInt64 round-trip", () => {
  assert.equal(fromMs(-Infinity), -(2n ** 63n));
  assert.equal(fromMs(Infinity), 2n ** 63n - 1n);
  assert.equal(fromMs(toMs(2n ** 63n - 1n)), 2n ** 63n - 1n);
  assert.equal(fromMs(toMs(-(2n ** 63n))), -(2n ** 63n));
  assert.equal(fromMs(1234.9), 1234n);
  assert.throws(() => fromMs(NaN), RangeError);
});

Deno.test("convert: external-label matchers are answered locally, the rest passed on", () => {
  const ext = labelsFromRecord({ region: "eu", replica: "a" });
  const job = new Matcher(MatchType.Equal, "job", "api");
  assert.deepEqual(
    matchExternalLabels([job, new Matcher(MatchType.Regexp, "region", "eu|us")], ext),
    [job],
  );
  assert.equal(
    matchExternalLabels([job, new Matcher(MatchType.NotEqual, "region", "eu")], ext),
    null,
  );
  assert.deepEqual(
    withExternalLabels(labelsFromRecord({ a: "1", replica: "x" }), ext, new Set(["replica"])),
    labelsFromRecord({ a: "1", region: "eu" }),
  );
});

Deno.test("convert: errors map to gRPC codes", () => {
  const code = (e: unknown) => toGrpcError(e).code;
  assert.equal(code(new QuotaExceededError("select rows", 1, 2)), Code.ResourceExhausted);
  assert.equal(code(new QueryError("too_many_samples", "x")), Code.ResourceExhausted);
  assert.equal(code(new QueryError("timeout", "x")), Code.DeadlineExceeded);
  assert.equal(code(new QueryError("canceled", "x")), Code.Canceled);
  assert.equal(code(new QueryError("execution", "x")), Code.Internal);
  assert.equal(code(new DOMException("t", "TimeoutError")), Code.DeadlineExceeded);
  assert.equal(code(new DOMException("a", "AbortError")), Code.Canceled);
  assert.equal(code(new Error("boom")), Code.Internal);
  const aborted = AbortSignal.abort(new GrpcError(Code.DeadlineExceeded, "deadline"));
  assert.equal(toGrpcError(new Error("whatever"), aborted).code, Code.DeadlineExceeded);
});

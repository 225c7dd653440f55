import assert from "node:assert/strict";
import { atModifierCases } from "./at_modifier.ts";

Deno.test("atModifierCases pins selectors and subqueries without @ to the eval time", () => {
  const cases = atModifierCases("sum(rate(a[5m])) + b @ 10 + max_over_time(c[5m:1m])", 50_000);
  assert.deepEqual(cases.map((c) => c.evalTime), [-500_000, 0, 10_000, 50_000, 500_000]);
  assert.ok(cases.every((c) => c.expr === cases[0].expr));
  assert.equal(
    cases[0].expr,
    "sum(rate(a[5m] @ 50.000)) + b @ 10.000 + max_over_time(c[5m:1m] @ 50.000)",
  );
});

Deno.test("atModifierCases uses ±1s around time zero and truncates T/5", () => {
  assert.deepEqual(atModifierCases("x", 0).map((c) => [c.expr, c.evalTime]), [
    ["x @ 0.000", -1000],
    ["x @ 0.000", 0],
    ["x @ 0.000", 1000],
  ]);
  assert.deepEqual(atModifierCases("x", 7).map((c) => c.evalTime), [-70, 0, 1, 7, 70]);
});

Deno.test("atModifierCases skips time-dependent functions unless inside a pinned subquery", () => {
  assert.deepEqual(atModifierCases("time() - x", 60_000), []);
  assert.deepEqual(atModifierCases("timestamp(x)", 60_000), []);
  assert.deepEqual(
    atModifierCases("x offset 1m", 60_000).map((c) => c.expr)[0],
    "x @ 60.000 offset 1m",
  );
  const sub = atModifierCases("max_over_time(vector(time())[1m:10s])", 60_000);
  assert.equal(sub[0].expr, "max_over_time(vector(time())[1m:10s] @ 60.000)");
  // Not PromQL: no variants (the main query reports the error).
  assert.deepEqual(atModifierCases("sum(", 60_000), []);
});

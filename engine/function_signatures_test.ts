import assert from "node:assert/strict";
import { FUNCTIONS } from "./function_signatures.ts";

Deno.test("FUNCTIONS holds Prometheus' 90 functions, 17 experimental", () => {
  assert.equal(FUNCTIONS.size, 90);
  const experimental = [...FUNCTIONS.values()].filter((f) => f.experimental).map((f) => f.name);
  assert.deepEqual(experimental.sort(), [
    "double_exponential_smoothing",
    "end",
    "histogram_quantiles",
    "info",
    "mad_over_time",
    "max_of",
    "min_of",
    "range",
    "sort_by_label",
    "sort_by_label_desc",
    "start",
    "start_timestamp",
    "step",
    "ts_of_first_over_time",
    "ts_of_last_over_time",
    "ts_of_max_over_time",
    "ts_of_min_over_time",
  ]);
});

Deno.test("FUNCTIONS signatures match the documented arities", () => {
  assert.deepEqual(FUNCTIONS.get("label_join"), {
    name: "label_join",
    argTypes: ["vector", "string", "string", "string"],
    variadic: -1,
    returnType: "vector",
  });
  assert.deepEqual(FUNCTIONS.get("round")?.argTypes, ["vector", "scalar"]);
  assert.equal(FUNCTIONS.get("round")?.variadic, 1);
  assert.equal(FUNCTIONS.get("histogram_quantiles")?.variadic, 9);
  assert.equal(FUNCTIONS.get("time")?.returnType, "scalar");
  assert.deepEqual(FUNCTIONS.get("quantile_over_time")?.argTypes, ["scalar", "matrix"]);
  assert.equal(FUNCTIONS.get("hour")?.variadic, 1);
  assert.ok(Object.isFrozen(FUNCTIONS.get("rate")));
});

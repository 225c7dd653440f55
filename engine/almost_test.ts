import assert from "node:assert/strict";
import { almostEqual } from "./almost.ts";
import { STALE_NAN } from "../model/series.ts";

Deno.test("almostEqual takes its relative epsilon from the caller", () => {
  // |a-b| / (|a|+|b|): 1e-13 / 2 passes 1e-12, 1e-11 / 2 does not.
  assert.ok(almostEqual(1, 1 + 1e-13, 1e-12));
  assert.ok(!almostEqual(1, 1 + 1e-11, 1e-12));
  assert.ok(almostEqual(1, 1.1, 0.1));
  assert.ok(almostEqual(NaN, NaN, 0));
  assert.ok(!almostEqual(STALE_NAN, NaN, 1));
});

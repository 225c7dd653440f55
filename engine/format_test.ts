import assert from "node:assert/strict";
import { formatGoFloat } from "./format.ts";

Deno.test("formatGoFloat writes shortest digits without an exponent", () => {
  assert.equal(formatGoFloat(1), "1");
  assert.equal(formatGoFloat(0.1), "0.1");
  assert.equal(formatGoFloat(1e21), "1000000000000000000000");
  assert.equal(formatGoFloat(1.5e-7), "0.00000015");
  assert.equal(formatGoFloat(-2.5e22), "-25000000000000000000000");
  assert.equal(formatGoFloat(-0), "-0");
  assert.equal(formatGoFloat(Infinity), "+Inf");
  assert.equal(formatGoFloat(NaN), "NaN");
});

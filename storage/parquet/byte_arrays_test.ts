import assert from "node:assert/strict";
import { ByteArrays, byteArraysOf } from "./byte_arrays.ts";

Deno.test("ByteArrays: values are views of their span; an index beyond them is an error", () => {
  const bytes = new TextEncoder().encode("....alpha....beta....");
  const values = new ByteArrays(bytes, Int32Array.of(4, 13, 17), Int32Array.of(9, 17, 17));
  assert.equal(values.length, 3);
  const decoder = new TextDecoder();
  assert.deepEqual([0, 1, 2].map((k) => decoder.decode(values.at(k))), ["alpha", "beta", ""]);
  assert.equal(values.at(1).buffer, bytes.buffer);
  for (const k of [3, -1, 2 ** 31]) assert.throws(() => values.at(k), RangeError, `${k}`);
  assert.equal(byteArraysOf(values, "x"), values);
  assert.throws(() => byteArraysOf(Int32Array.of(1), "file column"), /file column/);
});

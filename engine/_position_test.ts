import assert from "node:assert/strict";
import { byteRange, lineColumn } from "./_position.ts";

Deno.test("positions count UTF-8 bytes and lines like Prometheus", () => {
  const q = 'sum(x{l="é"})\n  + föo';
  assert.equal(lineColumn(q, 0), "1:1");
  // "é" is one string index but two bytes.
  assert.equal(lineColumn(q, q.indexOf("}")), "1:13");
  assert.equal(lineColumn(q, q.indexOf("+")), "2:3");
  assert.equal(lineColumn(q, q.indexOf("o", q.indexOf("f") + 2)), "2:8");
  assert.equal(byteRange(q, { start: q.indexOf("x"), end: q.indexOf(")") + 1 }), "4:14");
});

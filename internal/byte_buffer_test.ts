import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { ByteBuffer } from "./byte_buffer.ts";

/** Unsigned LEB128 of `v` (a bigint), written independently of the buffer. */
function leb128(v: bigint): number[] {
  const out: number[] = [];
  for (; v >= 0x80n; v >>= 7n) out.push(Number(v & 0x7fn) | 0x80);
  out.push(Number(v));
  return out;
}

Deno.test("ByteBuffer: varints and length-prefixed strings as LEB128 and UTF-8", () => {
  const buf = new ByteBuffer();
  const expected: number[] = [];
  const numbers = [0, 1, 127, 128, 300, 2 ** 31, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER];
  for (const n of numbers) {
    buf.uvarint(n);
    expected.push(...leb128(BigInt(n)));
  }
  buf.uvarint(2n ** 64n - 1n);
  expected.push(...leb128(2n ** 64n - 1n));
  // Strings whose UTF-8 is shorter than three bytes a unit (the reserved room), and long ones
  // whose length prefix takes more than one byte.
  for (const s of ["", "a", "größe", "日本語", "😀x", "x".repeat(300), "é".repeat(5000)]) {
    buf.str(s);
    const bytes = Buffer.from(s, "utf8");
    expected.push(...leb128(BigInt(bytes.length)), ...bytes);
  }
  assert.deepEqual([...buf.view()], expected);
  // reset starts over, keeping what the next value needs.
  buf.reset().str("ok");
  assert.deepEqual([...buf.view()], [2, 0x6f, 0x6b]);
});

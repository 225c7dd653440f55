import assert from "node:assert/strict";
import { crc32c } from "./crc32c.ts";

Deno.test("crc32c matches the CRC-32C check value and RFC 3720 vectors", () => {
  // The catalogue check value of CRC-32/ISCSI.
  assert.equal(crc32c(new TextEncoder().encode("123456789")), 0xe3069283);
  // RFC 3720 B.4: 32 bytes of zeros, of 0xff, and ascending 0..31.
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
});

Deno.test("crc32c continues across calls and honours ranges", () => {
  const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 31) & 0xff);
  const whole = crc32c(data);
  assert.equal(crc32c(data, 333, 1000, crc32c(data, 0, 333)), whole);
  assert.equal(crc32c(data.subarray(10, 20)), crc32c(data, 10, 20));
});

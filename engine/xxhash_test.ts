import assert from "node:assert/strict";
import { labelsHash, xxhash64 } from "./xxhash.ts";
import { labelsFromRecord } from "./labels.ts";

const enc = new TextEncoder();

Deno.test("xxhash64 matches the reference vectors (seed 0)", () => {
  // Published XXH64 values of the reference implementation.
  assert.equal(xxhash64(new Uint8Array(0)), 0xef46db3751d8e999n);
  assert.equal(xxhash64(enc.encode("a")), 0xd24ec4f1a98c6e5bn);
  assert.equal(xxhash64(enc.encode("abc")), 0x44bc2cf5ad770999n);
  assert.equal(
    xxhash64(enc.encode("Nobody inspects the spammish repetition")),
    0xfbcea83c8a378bf1n,
  );
});

Deno.test("labelsHash hashes name 0xff value 0xff pairs into [0, 1]", () => {
  const l = labelsFromRecord({ __name__: "up", job: "a" });
  const bytes = [
    ...enc.encode("__name__"),
    0xff,
    ...enc.encode("up"),
    0xff,
    ...enc.encode("job"),
    0xff,
    ...enc.encode("a"),
    0xff,
  ];
  assert.equal(labelsHash(l), Number(xxhash64(new Uint8Array(bytes))) / 18446744073709551615);
  assert.ok(labelsHash(l) >= 0 && labelsHash(l) <= 1);
});

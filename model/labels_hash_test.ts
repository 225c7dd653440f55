import assert from "node:assert/strict";
import { labelsHash, sampleOffset } from "./labels_hash.ts";
import { xxHash64 as xxhash64 } from "./xxhash64.ts";
import type { Label, Labels } from "./labels.ts";

const enc = new TextEncoder();

/** A name or value in testdata: a string, or `[unit, times]` for `unit` repeated. */
type Text = string | [string, number];

/** The values testdata/stringlabels_hash.go computed with Prometheus' algorithm. */
interface Expectations {
  hashes: { desc: string; labels: [Text, Text][]; hash: string; offset: number }[];
  offsets: { hash: string; offset: number }[];
}

const expected: Expectations = JSON.parse(
  await Deno.readTextFile(new URL("./testdata/stringlabels_hash.json", import.meta.url)),
);

function text(t: Text): string {
  return typeof t === "string" ? t : t[0].repeat(t[1]);
}

/** The label set as testdata lists it (sorted by name bytes, empty values kept). */
function labelsOf(pairs: [Text, Text][]): Labels {
  return pairs.map(([name, value]): Label => ({ name: text(name), value: text(value) }));
}

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

Deno.test("labelsHash equals Prometheus' stringlabels labels.Hash()", () => {
  assert.ok(expected.hashes.length > 50);
  for (const c of expected.hashes) {
    assert.equal(labelsHash(labelsOf(c.labels)), BigInt(`0x${c.hash}`), c.desc);
  }
});

Deno.test("sampleOffset scales a hash to [0, 1] as float64(hash) / float64(MaxUint64)", () => {
  for (const c of expected.offsets) {
    assert.equal(sampleOffset(BigInt(`0x${c.hash}`)), c.offset, c.hash);
  }
  for (const c of expected.hashes) {
    assert.equal(sampleOffset(labelsHash(labelsOf(c.labels))), c.offset, c.desc);
  }
});

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { compareStrings, sortStrings } from "./labels.ts";

/** The order Go and Prometheus sort strings in: UTF-8 bytes, computed by Node's Buffer. */
function byUtf8(values: readonly string[]): string[] {
  return [...values].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

let seed = 7;
const rnd = (n: number) => (seed = (seed * 48271) % 2147483647) % n;
const ALPHABETS = [
  "abz019:_-.",
  "abz\u00e9\u4e2d",
  // Characters above U+FFFF (surrogate pairs) against U+E000..U+FFFF, whose UTF-16 order differs.
  "a\ue000\uffff\u{1f600}\u{10000}",
];

Deno.test("sortStrings sorts by UTF-8 bytes, with and without characters above U+FFFF", () => {
  for (const alphabet of ALPHABETS) {
    const chars = [...alphabet];
    for (let round = 0; round < 20; round++) {
      const values = Array.from(
        { length: 200 },
        () => Array.from({ length: rnd(6) }, () => chars[rnd(chars.length)]).join(""),
      );
      const expected = byUtf8(values);
      assert.deepEqual(sortStrings([...values]), expected, alphabet);
      const sortedByCompare = [...values].sort(compareStrings);
      assert.deepEqual(sortedByCompare, expected, alphabet);
    }
  }
  // One string above U+FFFF among ASCII ones is enough to need the comparator.
  assert.deepEqual(sortStrings(["\uffff", "\u{1f600}", "a"]), ["a", "\uffff", "\u{1f600}"]);
});

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  decodeByteArrayDictionary,
  Encoding,
  type PageColumn,
  PageDecodeError,
  type PageHeader,
  PageType,
} from "./page_decode.ts";

const encoder = new TextEncoder();
const column: PageColumn = { type: "BYTE_ARRAY", optional: false, decompress: (b) => b };

/** A PLAIN dictionary page body: each entry's 4-byte little-endian length, then its bytes. */
function plainBody(entries: readonly string[]): Uint8Array {
  return Buffer.concat(entries.flatMap((e) => {
    const bytes = Buffer.from(e, "utf8");
    const len = Buffer.alloc(4);
    len.writeUInt32LE(bytes.length);
    return [len, bytes];
  }));
}

function header(body: Uint8Array, n: number): PageHeader {
  return {
    type: PageType.DICTIONARY_PAGE,
    uncompressedSize: body.length,
    compressedSize: body.length,
    numValues: n,
    encoding: Encoding.PLAIN,
    definitionLevelsLength: 0,
    repetitionLevelsLength: 0,
    isCompressed: false,
    definitionLevelEncoding: Encoding.RLE,
    headerLength: 0,
  };
}

function dictionaryOf(entries: readonly string[]) {
  const body = plainBody(entries);
  return decodeByteArrayDictionary(header(body, entries.length), body, column);
}

// ASCII, empty, multi-byte UTF-8 (short and beyond the short-entry path), long ASCII, bytes
// that sort differently from UTF-16 code units ("\uffff" < "😀" in UTF-8, not in UTF-16).
const ENTRIES = [
  "host-1:9100",
  "",
  "größe",
  "z".repeat(200),
  "日本語のラベル値".repeat(10),
  "\uffff",
  "😀",
  "a",
  "host-10:9100",
];

Deno.test("Dictionary: entries decode to the strings written, one at a time or all", () => {
  const dict = dictionaryOf(ENTRIES);
  assert.equal(dict.size, ENTRIES.length);
  assert.equal(dict.entry(2), "größe");
  assert.equal(dict.entry(4), ENTRIES[4]);
  assert.deepEqual(dict.strings(), ENTRIES);
  assert.deepEqual(ENTRIES.map((_, i) => dict.entry(i)), ENTRIES);
  assert.throws(() => dict.entry(ENTRIES.length), RangeError);
  assert.throws(() => dict.entry(-1), RangeError);
});

Deno.test("Dictionary: lookups by bytes find each entry and nothing else", () => {
  const dict = dictionaryOf(ENTRIES);
  assert.equal(dict.unique, true);
  ENTRIES.forEach((e, i) => assert.equal(dict.indexOf(encoder.encode(e)), i, e));
  for (const absent of ["host-1:910", "host-1:91000", "b", "größ", "\ufffe"]) {
    assert.equal(dict.indexOf(encoder.encode(absent)), -1, absent);
  }
  // Many entries: the table grows past its first size and still finds every one.
  const many = Array.from({ length: 5000 }, (_, i) => `instance-${i * 7919 % 10007}`);
  const big = dictionaryOf(many);
  many.forEach((e, i) => assert.equal(big.indexOf(encoder.encode(e)), i));
  assert.equal(big.indexOf(encoder.encode("instance-10008")), -1);
});

Deno.test("Dictionary: a repeated entry makes it not unique; lookups find the first copy", () => {
  const dict = dictionaryOf(["a", "b", "a", "c"]);
  assert.equal(dict.unique, false);
  assert.equal(dict.indexOf(encoder.encode("a")), 0);
  assert.equal(dict.indexOf(encoder.encode("c")), 3);
});

Deno.test("Dictionary: byte order and comparisons agree with Buffer.compare", () => {
  const dict = dictionaryOf(ENTRIES);
  const bytes = ENTRIES.map((e) => Buffer.from(e, "utf8"));
  const expected = ENTRIES.map((_, i) => i).sort((a, b) => Buffer.compare(bytes[a], bytes[b]));
  assert.deepEqual(Array.from(dict.sortedOrder()), expected);
  const ranks = dict.sortedRanks();
  expected.forEach((entry, rank) => assert.equal(ranks[entry], rank));
  for (let i = 0; i < ENTRIES.length; i++) {
    for (const other of bytes) {
      assert.equal(Math.sign(dict.compare(i, other)), Buffer.compare(bytes[i], other));
    }
  }
});

Deno.test("Dictionary: truncated and non-string pages are decode errors", () => {
  const body = plainBody(["alpha", "beta"]);
  for (const cut of [body.length - 1, 10, 3]) {
    assert.throws(
      () => decodeByteArrayDictionary(header(body, 2), body.subarray(0, cut), column),
      PageDecodeError,
      `cut at ${cut}`,
    );
  }
  // More entries than 4-byte lengths fit.
  assert.throws(() => decodeByteArrayDictionary(header(body, 5), body, column), PageDecodeError);
  assert.throws(
    () => decodeByteArrayDictionary(header(body, 2), body, { ...column, type: "INT64" }),
    /not one of strings/,
  );
});

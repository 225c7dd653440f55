import assert from "node:assert/strict";
import type { DecodedPage, PageSpan } from "../../storage/parquet/pages.ts";
import { ByteArrays } from "../../storage/parquet/byte_arrays.ts";
import { ownedPage, partitionPages } from "./chunk_reader.ts";

const span = (offset: number, length: number): PageSpan => ({
  page: 0,
  firstRow: 0,
  endRow: 1,
  offset,
  length,
});

const groups = (spans: PageSpan[], maxRangeBytes: number, maxGapBytes: number) =>
  partitionPages(spans, { maxRangeBytes, maxGapBytes, maxConcurrency: 2 }).map((g) =>
    g.map((s) => s.offset)
  );

Deno.test("partitionPages: adjacent pages merge up to the range limit", () => {
  const spans = [span(0, 100), span(100, 100), span(200, 100), span(300, 100)];
  assert.deepEqual(groups(spans, 1000, 0), [[0, 100, 200, 300]]);
  assert.deepEqual(groups(spans, 250, 0), [[0, 100], [200, 300]]);
  assert.deepEqual(groups(spans, 50, 0), [[0], [100], [200], [300]]);
});

Deno.test("partitionPages: gaps merge up to max-gap and never beyond the wanted bytes", () => {
  // Two 100-byte pages 150 bytes apart: merging would fetch 350 bytes for 200 wanted.
  assert.deepEqual(groups([span(0, 100), span(250, 100)], 1 << 20, 1 << 20), [[0, 250]]);
  assert.deepEqual(groups([span(0, 100), span(250, 100)], 1 << 20, 149), [[0], [250]]);
  // A 1000-byte gap between two 100-byte pages would more than double the bytes fetched.
  assert.deepEqual(groups([span(0, 100), span(1100, 100)], 1 << 20, 1 << 20), [[0], [1100]]);
  // Total fetched stays <= 2x the pages for any layout.
  let seed = 7;
  const rnd = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  for (let n = 0; n < 100; n++) {
    const spans: PageSpan[] = [];
    let off = 0;
    for (let i = 0; i < 20; i++) {
      off += Math.floor(rnd() * 5000);
      const len = 1 + Math.floor(rnd() * 3000);
      spans.push(span(off, len));
      off += len;
    }
    const parts = partitionPages(spans, {
      maxRangeBytes: 1 << 20,
      maxGapBytes: 1 << 20,
      maxConcurrency: 0,
    });
    assert.deepEqual(parts.flat(), spans);
    const fetched = parts.reduce(
      (a, g) => a + g.at(-1)!.offset + g.at(-1)!.length - g[0].offset,
      0,
    );
    const wanted = spans.reduce((a, s) => a + s.length, 0);
    assert.ok(fetched <= 2 * wanted, `${fetched} > 2 * ${wanted}`);
  }
});

Deno.test("ownedPage copies values that view a larger read into a buffer of their own", () => {
  const read = new Uint8Array(64 * 1024).map((_, i) => i % 251);
  const spans = [[100, 130], [130, 130], [500, 600]];
  const expected = spans.map(([from, to]) => [...read.subarray(from, to)]);
  const values = new ByteArrays(
    read,
    Int32Array.from(spans, (s) => s[0]),
    Int32Array.from(spans, (s) => s[1]),
  );
  const page: DecodedPage = { firstRow: 7, rows: 3, dictionaryEncoded: false, values };
  const owned = ownedPage(page);
  assert.equal(owned.firstRow, 7);
  assert.equal(owned.rows, 3);
  const copy = owned.values as ByteArrays;
  assert.deepEqual([0, 1, 2].map((k) => [...copy.at(k)]), expected);
  // The copy spans the values, from the first one's start to the last one's end.
  assert.equal(copy.bytes.buffer.byteLength, 500);
  // Values that already (about) fill their buffer, as decompressed or cached pages do, stay.
  assert.equal(ownedPage(owned), owned);
  const decompressed = new Uint8Array(140);
  const own: DecodedPage = {
    ...page,
    rows: 1,
    values: new ByteArrays(decompressed, Int32Array.of(10), Int32Array.of(140)),
  };
  assert.equal(ownedPage(own), own);
  // Dictionary indexes and pages without values are taken as they are.
  const indexes: DecodedPage = { ...page, dictionaryEncoded: true, values: Int32Array.of(0, 0, 1) };
  assert.equal(ownedPage(indexes), indexes);
  const empty = new ByteArrays(read, new Int32Array(0), new Int32Array(0));
  const none: DecodedPage = { ...page, rows: 0, values: empty };
  assert.equal(ownedPage(none), none);
});

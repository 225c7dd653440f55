import assert from "node:assert/strict";
import type { FloatHistogram } from "../../../model/histogram.ts";
import { ArraySampleIterator, ValueType } from "../../../model/series.ts";
import { chunkIterator } from "../../../storage/tsdb/chunk.ts";
import { encodeChunks } from "./source.ts";

function hist(count: number, buckets: number[]): FloatHistogram {
  return {
    counterResetHint: 0,
    schema: 0,
    zeroThreshold: 0.001,
    zeroCount: 0,
    count,
    sum: count * 1.5,
    positiveSpans: [{ offset: 0, length: buckets.length }],
    negativeSpans: [],
    positiveBuckets: Float64Array.from(buckets),
    negativeBuckets: new Float64Array(0),
    customValues: new Float64Array(0),
  };
}

/** Reads every chunk back with the TSDB chunk iterators: [encoding, t, value or count]. */
function decode(chunks: ReturnType<typeof encodeChunks>): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (const c of chunks) {
    const it = chunkIterator({ encoding: c.encoding, data: c.data });
    for (let vt = it.next(); vt !== ValueType.None; vt = it.next()) {
      out.push([
        c.encoding,
        it.atT(),
        vt === ValueType.Float ? it.atFloat() : it.atFloatHistogram().count,
      ]);
    }
  }
  return out;
}

Deno.test("encodeChunks: a new chunk per sample kind, per 120 samples and at histogram resets", () => {
  const ts = [1000, 2000, 3000, 4000, 5000];
  const values = [0, 0, 7, 0, 0];
  const hs = [hist(10, [4, 6]), hist(12, [5, 7]), undefined, hist(20, [9, 11]), hist(3, [1, 2])];
  const chunks = encodeChunks(new ArraySampleIterator(ts, values, hs), 0, 10_000);
  // histogram, histogram | float | histogram | histogram after a counter reset
  assert.deepEqual(chunks.map((c) => [c.encoding, c.minTime, c.maxTime]), [
    [3, 1000, 2000],
    [1, 3000, 3000],
    [3, 4000, 4000],
    [3, 5000, 5000],
  ]);
  assert.deepEqual(decode(chunks), [
    [3, 1000, 10],
    [3, 2000, 12],
    [1, 3000, 7],
    [3, 4000, 20],
    [3, 5000, 3],
  ]);
  const many = Array.from({ length: 250 }, (_, i) => i * 1000);
  const floats = encodeChunks(new ArraySampleIterator(many, many.map((t) => t / 7)), 5000, 200_000);
  assert.deepEqual(floats.map((c) => [c.minTime, c.maxTime]), [
    [5000, 124_000],
    [125_000, 200_000],
  ]);
  assert.deepEqual(
    decode(floats).map(([, t, v]) => [t, v]),
    many.filter((t) => t >= 5000 && t <= 200_000).map((t) => [t, t / 7]),
  );
});

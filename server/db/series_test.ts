import assert from "node:assert/strict";
import { EMPTY_LABELS } from "../../model/labels.ts";
import { ArraySampleIterator, type SampleIterator, ValueType } from "../../model/series.ts";
import type { RawChunk } from "../../storage/parquet/chunk_column.ts";
import { TsdbFormatError } from "../../storage/tsdb/errors.ts";
import { HistogramChunkEncoder } from "../../storage/tsdb/histogram.ts";
import { XorChunkEncoder } from "../../storage/tsdb/xor.ts";
import {
  ChunkSeries,
  ChunksIterator,
  mergeChunkSeries,
  MergedSeries,
  MergeIterator,
} from "./series.ts";

function xor(samples: [number, number][]): RawChunk {
  const e = new XorChunkEncoder();
  for (const [t, v] of samples) e.append(t, v);
  return { encoding: 1, minT: samples[0][0], maxT: samples.at(-1)![0], data: e.bytes() };
}

function drain(it: SampleIterator): [number, number][] {
  const out: [number, number][] = [];
  while (it.next() !== ValueType.None) out.push([it.atT(), it.atFloat()]);
  return out;
}

const A = xor([[10, 1], [20, 2], [30, 3]]);
const B = xor([[25, 9], [30, 9], [40, 4], [50, 5]]); // overlaps A
const C = xor([[100, 10], [110, 11]]);

Deno.test("ChunksIterator: bounds to [mint, maxt] and skips samples already emitted", () => {
  assert.deepEqual(drain(new ChunksIterator([A, B, C], 0, 1000)), [
    [10, 1],
    [20, 2],
    [30, 3],
    [40, 4],
    [50, 5],
    [100, 10],
    [110, 11],
  ]);
  assert.deepEqual(drain(new ChunksIterator([A, B, C], 20, 100)), [
    [20, 2],
    [30, 3],
    [40, 4],
    [50, 5],
    [100, 10],
  ]);
  assert.deepEqual(drain(new ChunksIterator([A, B, C], 60, 99)), []);
  assert.deepEqual(drain(new ChunksIterator([], 0, 10)), []);
});

Deno.test("ChunksIterator: seek never moves backwards and crosses chunks", () => {
  const it = new ChunksIterator([A, B, C], 0, 1000);
  assert.equal(it.seek(35), ValueType.Float);
  assert.equal(it.atT(), 40);
  assert.equal(it.seek(20), ValueType.Float);
  assert.equal(it.atT(), 40);
  assert.equal(it.seek(105), ValueType.Float);
  assert.equal(it.atT(), 110);
  assert.equal(it.next(), ValueType.None);
  assert.equal(it.seek(0), ValueType.None);
});

Deno.test("ChunksIterator: unknown encodings are a typed error", () => {
  const it = new ChunkSeries(EMPTY_LABELS, [{ ...A, encoding: 9 }], 0, 100).iterator();
  assert.throws(() => it.next(), TsdbFormatError);
});

Deno.test("MergeIterator: interleaves by time, one sample per timestamp, first source wins", () => {
  const a = new ArraySampleIterator([1, 3, 5, 7], [1, 3, 5, 7]);
  const b = new ArraySampleIterator([2, 3, 6, 7, 9], [20, 30, 60, 70, 90]);
  assert.deepEqual(drain(new MergeIterator([a, b])), [
    [1, 1],
    [2, 20],
    [3, 3],
    [5, 5],
    [6, 60],
    [7, 7],
    [9, 90],
  ]);
  const m = new MergeIterator([
    new ArraySampleIterator([1, 3, 5], [1, 3, 5]),
    new ArraySampleIterator([2, 4, 6], [2, 4, 6]),
  ]);
  assert.equal(m.seek(4), ValueType.Float);
  assert.equal(m.atT(), 4);
  assert.equal(m.seek(2), ValueType.Float);
  assert.equal(m.atT(), 4);
  assert.deepEqual(drain(m), [[5, 5], [6, 6]]);
});

Deno.test("ChunksIterator: histogram chunks decode to float histograms within bounds", () => {
  const e = new HistogramChunkEncoder();
  for (const t of [1000, 2000, 3000]) {
    const k = t / 1000;
    e.append(t, {
      counterResetHint: 0,
      schema: 0,
      zeroThreshold: 0.001,
      zeroCount: k,
      count: k + 3 * k,
      sum: 10 * k,
      positiveSpans: [{ offset: 0, length: 2 }],
      negativeSpans: [],
      positiveBuckets: Float64Array.of(k, k), // deltas: absolute counts k and 2k
      negativeBuckets: new Float64Array(0),
      customValues: new Float64Array(0),
    });
  }
  const chunk: RawChunk = { encoding: 2, minT: 1000, maxT: 3000, data: e.bytes() };
  const it = new ChunksIterator([chunk], 1500, 3000);
  const got: [number, number, number, number[]][] = [];
  while (it.next() === ValueType.Histogram) {
    const h = it.atFloatHistogram();
    got.push([it.atT(), h.count, h.sum, [...h.positiveBuckets]]);
  }
  assert.deepEqual(got, [[2000, 8, 20, [2, 4]], [3000, 12, 30, [3, 6]]]);
});

Deno.test("mergeChunkSeries: disjoint parts concatenate, overlapping ones merge, same samples", () => {
  const D = xor([[200, 20], [210, 21]]);
  const part = (chunks: RawChunk[], mint = 0, maxt = 1000) =>
    new ChunkSeries(EMPTY_LABELS, chunks, mint, maxt);
  const cases: [ChunkSeries[], boolean][] = [
    [[part([C]), part([A, B]), part([]), part([D])], true], // days in any order
    [[part([A]), part([B])], false], // A and B overlap: samples interleave
    [[part([C]), part([C])], false], // the same chunk twice: ties
    [[part([A]), part([C], 0, 500)], false], // different bounds
    [[part([A, B], 20, 200), part([C, D], 20, 200)], true],
  ];
  for (const [parts, concatenated] of cases) {
    const got = mergeChunkSeries(EMPTY_LABELS, parts);
    assert.equal(got instanceof ChunkSeries, concatenated);
    const want = drain(new MergedSeries(EMPTY_LABELS, parts).iterator());
    assert.deepEqual(drain(got.iterator()), want);
    // Seeking agrees too.
    for (const t of [0, 25, 105, 205, 2000]) {
      const a = got.iterator(), b = new MergedSeries(EMPTY_LABELS, parts).iterator();
      const va = a.seek(t), vb = b.seek(t);
      assert.equal(va, vb);
      if (va !== ValueType.None) assert.deepEqual([a.atT(), a.atFloat()], [b.atT(), b.atFloat()]);
    }
  }
});

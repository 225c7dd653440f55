import assert from "node:assert/strict";
import { CounterResetHint, type FloatHistogram, type IntHistogram } from "../../model/histogram.ts";
import { isStaleNaN, STALE_NAN, ValueType } from "../../model/series.ts";
import type { RawChunk } from "../grpc/thanos/source.ts";
import { chunkIterator } from "../../storage/tsdb/chunk.ts";
import {
  FloatHistogramChunkEncoder,
  FloatHistogramIterator,
} from "../../storage/tsdb/float_histogram.ts";
import { HistogramChunkEncoder, HistogramIterator } from "../../storage/tsdb/histogram.ts";
import { CounterResetHeader } from "../../storage/tsdb/histogram_meta.ts";
import { XorChunkEncoder } from "../../storage/tsdb/xor.ts";
import { chunksInRange, trimChunk } from "./remote_read_chunks.ts";

function xor(samples: [number, number][]): RawChunk {
  const enc = new XorChunkEncoder();
  for (const [t, v] of samples) enc.append(t, v);
  return { encoding: 1, minTime: samples[0][0], maxTime: samples.at(-1)![0], data: enc.bytes() };
}

/** Every sample of `chunks` as [t, value], histograms as their count, stale markers as "stale". */
function samplesOf(chunks: readonly RawChunk[]): [number, number | string][] {
  const out: [number, number | string][] = [];
  for (const c of chunks) {
    const it = chunkIterator(c);
    for (let vt = it.next(); vt !== ValueType.None; vt = it.next()) {
      if (vt === ValueType.Float) {
        const v = it.atFloat();
        out.push([it.atT(), isStaleNaN(v) ? "stale" : v]);
      } else if ((it as HistogramIterator | FloatHistogramIterator).isStale()) {
        out.push([it.atT(), "stale"]);
      } else out.push([it.atT(), it.atFloatHistogram().count]);
    }
  }
  return out;
}

const intHist = (count: number, hint: CounterResetHint = CounterResetHint.Unknown) =>
  ({
    counterResetHint: hint,
    schema: 0,
    zeroThreshold: 0,
    zeroCount: 0,
    count,
    sum: count,
    positiveSpans: [{ offset: 0, length: 1 }],
    negativeSpans: [],
    positiveBuckets: Float64Array.from([count]),
    negativeBuckets: new Float64Array(0),
    customValues: new Float64Array(0),
  }) satisfies IntHistogram & FloatHistogram;

function histChunk(header: CounterResetHeader, float: boolean, stale: number[] = []): RawChunk {
  const enc = float
    ? new FloatHistogramChunkEncoder({ header })
    : new HistogramChunkEncoder({ header });
  const hint = header === CounterResetHeader.Gauge
    ? CounterResetHint.Gauge
    : CounterResetHint.Unknown;
  for (let i = 1; i <= 5; i++) {
    const t = i * 1000;
    if (stale.includes(t)) enc.appendStale(t);
    else enc.append(t, intHist(i, hint));
  }
  return { encoding: float ? 3 : 2, minTime: 1000, maxTime: 5000, data: enc.bytes() };
}

Deno.test("a chunk inside the range goes out as stored", () => {
  const c = xor([[10, 1], [20, 2], [30, 3]]);
  const out = chunksInRange([c], 10, 30);
  assert.equal(out.length, 1);
  assert.equal(out[0], c);
});

Deno.test("XOR chunks crossing an edge keep only their samples inside", () => {
  const a = xor([[10, 1], [20, 2], [30, STALE_NAN]]);
  const b = xor([[40, 4], [50, 5], [60, 6]]);
  const out = chunksInRange([a, b], 20, 50);
  assert.deepEqual(samplesOf(out), [[20, 2], [30, "stale"], [40, 4], [50, 5]]);
  assert.deepEqual(out.map((c) => [c.encoding, c.minTime, c.maxTime]), [[1, 20, 30], [1, 40, 50]]);
  // A chunk overlapping the range only between two of its samples has nothing to send.
  assert.deepEqual(chunksInRange([xor([[10, 1], [90, 2]])], 20, 80), []);
  assert.equal(trimChunk(xor([[10, 1], [90, 2]]), 20, 80), undefined);
});

Deno.test("histogram chunks are cut in their own encoding, the counter reset header kept", () => {
  for (const float of [false, true]) {
    const encoding = float ? 3 : 2;
    // From the first sample: the stored header holds.
    const back = trimChunk(histChunk(CounterResetHeader.CounterReset, float), 0, 3000)!;
    assert.equal(back.encoding, encoding);
    assert.equal(back.data[2], CounterResetHeader.CounterReset);
    assert.deepEqual(samplesOf([back]), [[1000, 1], [2000, 2], [3000, 3]]);
    // From a later sample: no reset precedes it.
    const front = trimChunk(histChunk(CounterResetHeader.CounterReset, float), 2500, 10_000)!;
    assert.equal(front.data[2], CounterResetHeader.NotCounterReset);
    assert.deepEqual([front.minTime, front.maxTime], [3000, 5000]);
    assert.deepEqual(samplesOf([front]), [[3000, 3], [4000, 4], [5000, 5]]);
    // Gauges stay gauges; stale markers stay stale markers.
    const gauge = trimChunk(histChunk(CounterResetHeader.Gauge, float, [5000]), 2000, 9000)!;
    assert.equal(gauge.data[2], CounterResetHeader.Gauge);
    assert.deepEqual(samplesOf([gauge]), [[2000, 2], [3000, 3], [4000, 4], [5000, "stale"]]);
    const it = float ? new FloatHistogramIterator(gauge.data) : new HistogramIterator(gauge.data);
    it.next();
    assert.equal(it.atFloatHistogram().counterResetHint, CounterResetHint.Gauge);
  }
});

Deno.test("chunks overlapping in time are merged sample by sample, the first winning ties", () => {
  const a = xor([[10, 1], [30, 3], [50, 5]]);
  const b = xor([[20, 20], [30, 30], [40, 40]]);
  const c = xor([[100, 100], [110, 110]]);
  const out = chunksInRange([a, b, c], 0, 200);
  assert.deepEqual(samplesOf(out), [
    [10, 1],
    [20, 20],
    [30, 3],
    [40, 40],
    [50, 5],
    [100, 100],
    [110, 110],
  ]);
  // The chunk after the merged run passes as stored.
  assert.equal(out.at(-1), c);
  // The merge is cut to the range as well.
  assert.deepEqual(samplesOf(chunksInRange([a, b], 25, 45)), [[30, 3], [40, 40]]);
});

Deno.test("an encoding that cannot be cut is an error, but passes whole when inside", () => {
  const odd: RawChunk = { encoding: 9, minTime: 10, maxTime: 20, data: Uint8Array.from([0, 1]) };
  assert.deepEqual(chunksInRange([odd], 0, 100), [odd]);
  assert.throws(() => chunksInRange([odd], 15, 100), /cannot cut chunk encoding 9/);
});

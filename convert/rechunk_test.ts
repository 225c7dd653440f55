import assert from "node:assert/strict";
import { CounterResetHint, type FloatHistogram, type IntHistogram } from "../model/histogram.ts";
import { ValueType } from "../model/series.ts";
import type { RawChunk } from "../storage/parquet/chunk_column.ts";
import { decodeChunkColumn } from "../storage/parquet/chunk_column.ts";
import { chunkIterator } from "../storage/tsdb/chunk.ts";
import { FloatHistogramChunkEncoder } from "../storage/tsdb/float_histogram.ts";
import { HistogramChunkEncoder } from "../storage/tsdb/histogram.ts";
import { XorChunkEncoder, XorIterator } from "../storage/tsdb/xor.ts";
import { dayChunkColumns } from "./chunks.ts";
import { parseDay } from "../storage/parquet/days.ts";
import { filterChunk, mergeChunks } from "./rechunk.ts";

const H = 3_600_000;
const DAY = parseDay("2025-03-02");

function intH(i: number): IntHistogram {
  return {
    counterResetHint: CounterResetHint.Unknown,
    schema: 0,
    zeroThreshold: 0,
    zeroCount: i,
    count: 3 * i + 1,
    sum: i * 1.5,
    positiveSpans: [{ offset: 0, length: 2 }],
    negativeSpans: [],
    positiveBuckets: Float64Array.of(i, 1), // delta-encoded: i, i + 1
    negativeBuckets: new Float64Array(0),
    customValues: new Float64Array(0),
  };
}

function floatH(i: number): FloatHistogram {
  return { ...intH(i), positiveBuckets: Float64Array.of(i, i + 1) };
}

/**
 * Samples of chunks as [t, JSON of the value, stale?]. Counter-reset hints are left out: the
 * first sample of any chunk decodes as "unknown", wherever the chunk was cut.
 */
function samples(chunks: readonly RawChunk[]): [number, string, boolean][] {
  const out: [number, string, boolean][] = [];
  for (const c of chunks) {
    const it = chunkIterator(c);
    for (let vt = it.next(); vt !== ValueType.None; vt = it.next()) {
      if (vt === ValueType.Float) out.push([it.atT(), String(it.atFloat()), false]);
      else {
        const stale = !(it instanceof XorIterator) && it.isStale();
        const h = it.atFloatHistogram();
        out.push([
          it.atT(),
          stale ? "stale" : JSON.stringify({
            ...h,
            counterResetHint: undefined,
            positiveBuckets: [...h.positiveBuckets],
          }),
          stale,
        ]);
      }
    }
  }
  return out;
}

/** One chunk from 7h to 9h every 10 minutes, ending with stale markers (as Prometheus allows). */
function histogramChunk(float: boolean): RawChunk {
  const enc = float ? new FloatHistogramChunkEncoder() : new HistogramChunkEncoder();
  let minT = 0, maxT = 0;
  for (let i = 0; i <= 12; i++) {
    const t = DAY.start + 7 * H + i * 600_000;
    if (i === 0) minT = t;
    maxT = t;
    if (i >= 11) enc.appendStale(t);
    else if (enc instanceof HistogramChunkEncoder) enc.append(t, intH(i));
    else enc.append(t, floatH(i));
  }
  return { encoding: float ? 3 : 2, minT, maxT, data: enc.bytes() };
}

for (const float of [false, true]) {
  Deno.test(`${float ? "float " : ""}histogram chunks are re-cut at 8h keeping every sample and stale marker`, () => {
    const c = histogramChunk(float);
    const all = samples([c]);
    assert.equal(all.length, 13);
    const before = filterChunk(c, (t) => t < DAY.start + 8 * H);
    const after = filterChunk(c, (t) => t >= DAY.start + 8 * H);
    assert.deepEqual(before.map((x) => x.encoding), [c.encoding]);
    assert.deepEqual([...samples(before), ...samples(after)], all);
    assert.ok(samples(after).some(([, , stale]) => stale));
    // The cut-off piece continues the same counter: its header says no reset precedes it.
    assert.equal(after[0].data[2] & 0xc0, 0x40);
    // Through the day pipeline: columns 0 and 1 split at 8h.
    const cols = dayChunkColumns([c], DAY, { recompress: true })!;
    const c0 = decodeChunkColumn(cols[0]), c1 = decodeChunkColumn(cols[1]);
    assert.deepEqual([c0.length, c1.length, cols[2].length], [1, 1, 0]);
    assert.equal(c0[0].maxT, DAY.start + 8 * H - 600_000);
    assert.equal(c1[0].minT, DAY.start + 8 * H);
    assert.deepEqual(samples([...c0, ...c1]), all);
    // Without recompress the chunk stays whole, byte for byte, in column 0.
    const whole = dayChunkColumns([c], DAY, { recompress: false })!;
    assert.deepEqual(decodeChunkColumn(whole[0])[0].data, c.data);
  });
}

Deno.test("filtering nothing out of an XOR chunk reproduces Prometheus' bytes", () => {
  const enc = new XorChunkEncoder();
  for (let i = 0; i < 50; i++) enc.append(DAY.start + i * 15_000, Math.sin(i));
  const c: RawChunk = {
    encoding: 1,
    minT: DAY.start,
    maxT: DAY.start + 49 * 15_000,
    data: enc.bytes(),
  };
  assert.deepEqual(filterChunk(c, () => true), [c]);
  assert.deepEqual(filterChunk(c, () => false), []);
  assert.throws(
    () => filterChunk({ ...c, encoding: 9 }, () => true),
    /unsupported chunk encoding 9/,
  );
});

function intChunk(from: number, n: number, step: number, value: (i: number) => number): RawChunk {
  const enc = new HistogramChunkEncoder();
  for (let i = 0; i < n; i++) enc.append(from + i * step, intH(value(i)));
  return { encoding: 2, minT: from, maxT: from + (n - 1) * step, data: enc.bytes() };
}

Deno.test("overlapping chunks of any type merge sample by sample, earliest chunk first", () => {
  const t0 = DAY.start + H;
  const a = intChunk(t0, 7, 600_000, (i) => i); // 1h00 .. 2h00
  const b = intChunk(t0 + 1_800_000, 7, 600_000, (i) => 100 + i); // 1h30 .. 2h30
  const merged = mergeChunks([a, b], () => true);
  const got = samples(merged);
  const want = [...samples([a]), ...samples([b]).slice(4)];
  assert.deepEqual(got, want);
  // A float chunk overlapping a histogram chunk: the value type change cuts a new chunk.
  const x = new XorChunkEncoder();
  x.append(t0 + 25 * 60_000, 5);
  x.append(t0 + 200 * 60_000, 6);
  const f: RawChunk = {
    encoding: 1,
    minT: t0 + 25 * 60_000,
    maxT: t0 + 200 * 60_000,
    data: x.bytes(),
  };
  const mixed = mergeChunks([a, f], () => true);
  assert.deepEqual(mixed.map((c) => c.encoding), [2, 1, 2, 1]);
  assert.deepEqual(
    samples(mixed).map(([t]) => t),
    [...samples([a]), ...samples([f])].map(([t]) => t).sort((p, q) => p - q),
  );
  // More than 120 samples are cut into chunks of 120.
  const long = intChunk(t0, 300, 1000, (i) => i);
  assert.deepEqual(mergeChunks([long, long], () => true).map((c) => (c.data[0] << 8) | c.data[1]), [
    120,
    120,
    60,
  ]);
});

import assert from "node:assert/strict";
import { CounterResetHint, type FloatHistogram, type IntHistogram } from "../../model/histogram.ts";
import { isStaleNaN, STALE_NAN, STALE_NAN_BITS, ValueType } from "../../model/series.ts";
import { BitReader, BitWriter } from "./bstream.ts";
import { HistogramChunkEncoder, HistogramIterator } from "./histogram.ts";
import { FloatHistogramChunkEncoder, FloatHistogramIterator } from "./float_histogram.ts";
import { CounterResetHeader, readLayout, writeLayout } from "./histogram_meta.ts";
import { readVarbitInt, readVarbitUint, writeVarbitInt, writeVarbitUint } from "./varbit.ts";
import { ChunkEncodeError, TsdbFormatError } from "./errors.ts";

/** Bytes from a bit string (spaces ignored), zero padded to a byte boundary. */
function bits(s: string): Uint8Array {
  const b = s.replace(/\s+/g, "");
  const out = new Uint8Array(Math.ceil(b.length / 8));
  for (let i = 0; i < b.length; i++) if (b[i] === "1") out[i >> 3] |= 0x80 >> (i & 7);
  return out;
}
function hex64(h: string): string {
  return BigInt("0x" + h).toString(2).padStart(64, "0");
}
function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, o), o += p.length;
  return out;
}

function intH(count: number, zeroCount: number, sum: number, deltas: number[]): IntHistogram {
  return {
    counterResetHint: CounterResetHint.Unknown,
    schema: 0,
    zeroThreshold: 0,
    zeroCount,
    count,
    sum,
    positiveSpans: [{ offset: 0, length: deltas.length }],
    negativeSpans: [],
    positiveBuckets: Float64Array.from(deltas),
    negativeBuckets: new Float64Array(0),
    customValues: new Float64Array(0),
  };
}
function floatH(count: number, zeroCount: number, sum: number, abs: number[]): FloatHistogram {
  return { ...intH(count, zeroCount, sum, abs), positiveBuckets: Float64Array.from(abs) };
}

// The layout both vectors share, derived from the chunks.md format description: zero threshold
// byte 0, schema 0 (`0`), one positive span (uint 1 = `10 001`) of length 2 (`10 010`) at
// offset 0 (`0`), no negative spans (`0`).
const LAYOUT = "00000000 0 10001 10010 0 0";
// t=1000 as varbit int: 12-bit bucket (`11110`) since 1000 > 256.
const T1000 = "11110 001111101000";
// XOR of 14.0 and 10.0 (and of 7.0 and 5.0) is 0x0008000000000000: 12 leading, 51 trailing
// zeros, 1 significant bit; a new window: `1 1`, leading `01100`, count `000001`, bit `1`.
const XOR_ONE_BIT = "11 01100 000001 1";

Deno.test("integer histogram chunk matches the bit layout of the format description", () => {
  const want = concat(
    Uint8Array.of(0, 2, 0),
    bits(
      LAYOUT + T1000 + "10101" /* count 5 */ + "10001" /* zero count 1 */ +
        hex64("4024000000000000") /* sum 10 */ + "10001 10010" /* bucket deltas 1, 2 */ +
        T1000 /* t dod 1000 */ + "10010" /* count dod 2 */ + "0" /* zero count dod 0 */ +
        XOR_ONE_BIT /* sum 14 */ + "10001" /* bucket 0 dod 1 */ + "0", /* bucket 1 dod 0 */
    ),
  );
  const enc = new HistogramChunkEncoder();
  enc.append(1000, intH(5, 1, 10, [1, 2]));
  enc.append(2000, intH(7, 1, 14, [2, 2]));
  assert.deepEqual(enc.bytes(), want);

  const it = new HistogramIterator(want);
  assert.equal(it.next(), ValueType.Histogram);
  assert.equal(it.atT(), 1000);
  const h0 = it.atFloatHistogram();
  assert.deepEqual([h0.count, h0.zeroCount, h0.sum], [5, 1, 10]);
  assert.deepEqual([...h0.positiveBuckets], [1, 3]);
  assert.equal(h0.counterResetHint, CounterResetHint.Unknown);
  assert.equal(it.next(), ValueType.Histogram);
  assert.equal(it.atT(), 2000);
  const h1 = it.atFloatHistogram();
  assert.deepEqual([h1.count, h1.zeroCount, h1.sum], [7, 1, 14]);
  assert.deepEqual([...h1.positiveBuckets], [2, 4]);
  assert.deepEqual([...it.atHistogram().positiveBuckets], [2, 2]);
  assert.equal(h1.counterResetHint, CounterResetHint.NotCounterReset);
  assert.equal(it.next(), ValueType.None);
});

Deno.test("float histogram chunk matches the bit layout of the format description", () => {
  const want = concat(
    Uint8Array.of(0, 2, 0),
    bits(
      LAYOUT + T1000 + hex64("4014000000000000") /* count 5 */ +
        hex64("3ff0000000000000") /* zero count 1 */ + hex64("4024000000000000") /* sum 10 */ +
        hex64("3ff0000000000000") + hex64("4008000000000000") /* buckets 1, 3 */ +
        T1000 + XOR_ONE_BIT /* count 7 */ + "0" /* zero count unchanged */ +
        XOR_ONE_BIT /* sum 14 */ +
        // 2.0 ^ 1.0 = 0x7ff0000000000000: 1 leading, 52 trailing, 11 significant bits.
        "11 00001 001011 11111111111" +
        // 4.0 ^ 3.0 = 0x0018000000000000: 11 leading, 51 trailing, 2 significant bits.
        "11 01011 000010 11",
    ),
  );
  const enc = new FloatHistogramChunkEncoder();
  enc.append(1000, floatH(5, 1, 10, [1, 3]));
  enc.append(2000, floatH(7, 1, 14, [2, 4]));
  assert.deepEqual(enc.bytes(), want);

  const it = new FloatHistogramIterator(want);
  assert.equal(it.next(), ValueType.FloatHistogram);
  assert.deepEqual([...it.atFloatHistogram().positiveBuckets], [1, 3]);
  assert.equal(it.next(), ValueType.FloatHistogram);
  const h = it.atFloatHistogram();
  assert.deepEqual([it.atT(), h.count, h.zeroCount, h.sum], [2000, 7, 1, 14]);
  assert.deepEqual([...h.positiveBuckets], [2, 4]);
  assert.equal(it.next(), ValueType.None);
});

Deno.test("counter reset header bits: gauge, reset, explicit header", () => {
  const g = new HistogramChunkEncoder();
  g.append(1, { ...intH(1, 0, 1, [1]), counterResetHint: CounterResetHint.Gauge });
  assert.equal(g.bytes()[2], 0b11000000);
  // Gauge samples may go down within the chunk.
  g.append(2, { ...intH(0, 0, 0, [-1]), counterResetHint: CounterResetHint.Gauge });
  const it = new HistogramIterator(g.bytes());
  it.next();
  assert.equal(it.atFloatHistogram().counterResetHint, CounterResetHint.Gauge);
  const r = new FloatHistogramChunkEncoder();
  r.append(1, { ...floatH(1, 0, 1, [1]), counterResetHint: CounterResetHint.CounterReset });
  assert.equal(r.bytes()[2], 0b10000000);
  const n = new HistogramChunkEncoder({ header: CounterResetHeader.NotCounterReset });
  n.append(1, intH(1, 0, 1, [1]));
  assert.equal(n.bytes()[2], 0b01000000);
  assert.equal(new HistogramIterator(n.bytes()).counterResetHeader, 0b01000000);
});

Deno.test("stale markers keep their NaN bits and store no buckets", () => {
  const e = new HistogramChunkEncoder();
  e.append(1000, intH(5, 1, 10, [1, 2]));
  e.appendStale(2000);
  const it = new HistogramIterator(e.bytes());
  it.next();
  assert.ok(!it.isStale());
  it.next();
  assert.ok(it.isStale());
  const h = it.atFloatHistogram();
  assert.ok(Number.isNaN(h.sum));
  assert.equal(h.positiveBuckets.length, 0);
  assert.throws(() => e.append(3000, intH(5, 1, 10, [1, 2])), /stale/);
  e.appendStale(3000);

  // A stale-only float chunk: empty layout, then sample 0 with counts 0 and the stale sum bits,
  // sample 1 with t dod 0 and unchanged count, zero count and sum (`0 0 0 0`).
  const f = new FloatHistogramChunkEncoder();
  f.appendStale(1000);
  f.appendStale(2000);
  const want = concat(
    Uint8Array.of(0, 2, 0),
    bits(
      "00000000 0 0 0" + T1000 + "0".repeat(128) + hex64("7ff0000000000002") +
        "11110 001111101000" +
        "0 0 0",
    ),
  );
  assert.deepEqual(f.bytes(), want);
  const fi = new FloatHistogramIterator(f.bytes());
  assert.equal(fi.next(), ValueType.FloatHistogram);
  assert.ok(fi.isStale());
  assert.equal(fi.next(), ValueType.FloatHistogram);
  assert.ok(fi.isStale());
  assert.equal(fi.next(), ValueType.None);
  // The raw bits of the stale marker reach the iterator's float through a typed array.
  assert.ok(isStaleNaN(STALE_NAN));
});

Deno.test("encoders refuse what Prometheus would put in a new chunk", () => {
  const e = new HistogramChunkEncoder();
  e.append(1000, intH(5, 1, 10, [1, 2]));
  assert.throws(() => e.append(1000, intH(5, 1, 10, [1, 2])), ChunkEncodeError);
  assert.throws(() => e.append(2000, intH(4, 1, 10, [1, 2])), /counter reset/);
  assert.throws(() => e.append(2000, intH(5, 1, 10, [2, -1])), /bucket counter reset/);
  assert.throws(() => e.append(2000, { ...intH(5, 1, 10, [1, 2]), schema: 1 }), /layout/);
  const f = new FloatHistogramChunkEncoder();
  f.append(1000, floatH(5, 1, 10, [1, 3]));
  assert.throws(() => f.append(2000, floatH(5, 1, 10, [1, 2])), /bucket counter reset/);
  assert.throws(
    () => f.append(2000, { ...floatH(5, 1, 10, [1, 3]), counterResetHint: 3 }),
    /gauge/,
  );
});

function randomRoundTrip(seed: number): void {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const spans = [{ offset: -2, length: 3 }, { offset: 0, length: 0 }, { offset: 5, length: 2 }];
  const neg = [{ offset: 1, length: 2 }];
  const ie = new HistogramChunkEncoder();
  const fe = new FloatHistogramChunkEncoder();
  const want: { t: number; h: FloatHistogram }[] = [];
  const abs = new Float64Array(7);
  let t = 1_700_000_000_000;
  let zc = 0;
  for (let i = 0; i < 200; i++) {
    t += 15000 + Math.floor(rnd() * 3000) - 1500;
    for (let j = 0; j < abs.length; j++) abs[j] += Math.floor(rnd() * (j === 3 ? 1e6 : 40));
    zc += Math.floor(rnd() * 3);
    const pos = abs.slice(0, 5);
    const negB = abs.slice(5);
    const count = zc + abs.reduce((a, b) => a + b, 0);
    const h: FloatHistogram = {
      counterResetHint: CounterResetHint.Unknown,
      schema: 3,
      zeroThreshold: 2 ** -128,
      zeroCount: zc,
      count,
      sum: count * 0.37 + i,
      positiveSpans: spans,
      negativeSpans: neg,
      positiveBuckets: pos,
      negativeBuckets: negB,
      customValues: new Float64Array(0),
    };
    const delta = (a: Float64Array) => a.map((v, k) => k === 0 ? v : v - a[k - 1]);
    ie.append(t, { ...h, positiveBuckets: delta(pos), negativeBuckets: delta(negB) });
    fe.append(t, h);
    want.push({ t, h });
  }
  for (const it of [new HistogramIterator(ie.bytes()), new FloatHistogramIterator(fe.bytes())]) {
    for (let i = 0; i < want.length; i++) {
      assert.notEqual(it.next(), ValueType.None);
      assert.equal(it.atT(), want[i].t);
      const got = it.atFloatHistogram();
      const w = want[i].h;
      assert.deepEqual(
        [got.schema, got.zeroThreshold, got.count, got.zeroCount, got.sum],
        [w.schema, w.zeroThreshold, w.count, w.zeroCount, w.sum],
      );
      assert.deepEqual(got.positiveSpans, w.positiveSpans);
      assert.deepEqual(got.negativeSpans, w.negativeSpans);
      assert.deepEqual([...got.positiveBuckets], [...w.positiveBuckets]);
      assert.deepEqual([...got.negativeBuckets], [...w.negativeBuckets]);
    }
    assert.equal(it.next(), ValueType.None);
  }
  // seek lands on the first sample at or after t.
  const it = new FloatHistogramIterator(fe.bytes());
  assert.equal(it.seek(want[100].t - 1), ValueType.FloatHistogram);
  assert.equal(it.atT(), want[100].t);
}

Deno.test("integer and float histogram chunks round-trip 200 samples", () => {
  randomRoundTrip(7);
  randomRoundTrip(1234);
});

Deno.test("custom bucket bounds and zero thresholds encode as described", () => {
  const w = new BitWriter();
  const layout = {
    schema: -53,
    zeroThreshold: 0.001, // not a power of two: 255 then 64 bits
    positiveSpans: [{ offset: 0, length: 3 }],
    negativeSpans: [],
    customValues: Float64Array.of(0.5, 1, 2.5, 1e9, -1),
  };
  writeLayout(w, layout);
  const b = w.bytes();
  assert.equal(b[0], 255);
  const r = new BitReader(b);
  assert.deepEqual(readLayout(r), layout);
  // 2^-7 is a power of two: one byte, 243 + frexp exponent (-6).
  const w2 = new BitWriter();
  writeLayout(w2, { ...layout, schema: 0, zeroThreshold: 2 ** -7 });
  assert.equal(w2.bytes()[0], 237);
  assert.equal(readLayout(new BitReader(w2.bytes())).zeroThreshold, 2 ** -7);
  // A custom bound of 0.5 is stored as varbit uint 0.5 * 1000 + 1 = 501 (`1110` + 9 bits).
  const w3 = new BitWriter();
  writeLayout(w3, { ...layout, zeroThreshold: 0, customValues: Float64Array.of(0.5) });
  // Threshold byte, schema -53 (9-bit bucket `1110` + 512-53), spans 1,(3,0), 0, count 1.
  assert.deepEqual(
    w3.bytes(),
    bits("00000000 1110 111001011 10001 10011 0 0 10001 1110 111110101"),
  );
});

Deno.test("varbit integers round-trip Prometheus' boundary values", () => {
  const ints = [
    -(2 ** 63),
    -(2 ** 55),
    -16777216,
    -16777215,
    -131072,
    -131071,
    -2048,
    -2047,
    -256,
    -255,
    -32,
    -31,
    -4,
    -3,
    -1,
    0,
    1,
    4,
    5,
    32,
    33,
    256,
    257,
    2048,
    2049,
    131072,
    131073,
    16777216,
    16777217,
    2 ** 53 - 1,
    2 ** 55,
  ];
  const w = new BitWriter();
  for (const v of ints) writeVarbitInt(w, v);
  const uints = [0, 7, 8, 63, 64, 511, 512, 4095, 4096, 262143, 262144, 33554431, 33554432];
  for (const v of uints) writeVarbitUint(w, v);
  const r = new BitReader(w.bytes());
  for (const v of ints) assert.equal(readVarbitInt(r), v);
  for (const v of uints) assert.equal(readVarbitUint(r), v);
  assert.ok(!r.overrun);
  // Widths: -3..4 take 5 bits, 5 takes 9.
  const w2 = new BitWriter();
  writeVarbitInt(w2, 4);
  assert.equal(w2.bitLength, 5);
  writeVarbitInt(w2, 5);
  assert.equal(w2.bitLength, 14);
});

Deno.test("truncated histogram chunks fail with a typed error", () => {
  const e = new HistogramChunkEncoder();
  e.append(1000, intH(5, 1, 10, [1, 2]));
  e.append(2000, intH(7, 1, 14, [2, 2]));
  const full = e.bytes();
  for (let n = 0; n < full.length; n++) {
    const it = drainOrError(full.subarray(0, n));
    assert.ok(it instanceof TsdbFormatError, `length ${n}`);
  }
});

function drainOrError(data: Uint8Array): unknown {
  try {
    const it = new HistogramIterator(data);
    while (it.next() !== ValueType.None) { /* drain */ }
    return it;
  } catch (e) {
    return e;
  }
}

/** The 64 bits of a float, as Prometheus' math.Float64bits. */
function float64Bits(v: number): bigint {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  return view.getBigUint64(0);
}

/** The quiet bit of a float64 NaN. */
const QUIET_BIT = 1n << 51n;

Deno.test("a stale histogram's sum keeps the StaleNaN bits through the iterators and re-encodes exactly", () => {
  const e = new HistogramChunkEncoder();
  e.append(1000, intH(5, 1, 10, [1, 2]));
  e.appendStale(2000);
  const f = new FloatHistogramChunkEncoder();
  f.appendStale(1000);
  f.appendStale(2000);
  const sums: number[] = [];
  // Many rounds, so that optimized code is checked too. V8's optimizing tiers set the quiet bit
  // of a signaling NaN passing through a number (any JS engine may), so beyond it the bits must
  // be 0x7ff0000000000002; encoders write that exactly.
  for (let round = 0; round < 2000; round++) {
    const it = new HistogramIterator(e.bytes());
    it.next();
    it.next();
    sums.push(it.atFloatHistogram().sum, it.atHistogram().sum);
    const fi = new FloatHistogramIterator(f.bytes());
    for (let k = 0; k < 2; k++) {
      assert.equal(fi.next(), ValueType.FloatHistogram);
      const h = fi.atFloatHistogram();
      sums.push(h.sum);
      assert.deepEqual([h.count, h.positiveBuckets.length], [0, 0]);
    }
  }
  for (const sum of sums) {
    assert.equal(float64Bits(sum) & ~QUIET_BIT, STALE_NAN_BITS);
    assert.ok(isStaleNaN(sum));
  }
  // Appended back as ordinary samples, the iterators' stale histograms encode as stale markers,
  // byte for byte what appendStale writes.
  const it = new HistogramIterator(e.bytes());
  const again = new HistogramChunkEncoder();
  it.next();
  again.append(1000, it.atHistogram());
  it.next();
  again.append(2000, it.atHistogram());
  assert.deepEqual(again.bytes(), e.bytes());
  const fi = new FloatHistogramIterator(f.bytes());
  const fAgain = new FloatHistogramChunkEncoder();
  for (const t of [1000, 2000]) {
    fi.next();
    fAgain.append(t, fi.atFloatHistogram());
  }
  assert.deepEqual(fAgain.bytes(), f.bytes());
  // The sum stays writable, as other histograms' (a caller may reuse the object).
  const stale = new FloatHistogramIterator(f.bytes());
  stale.next();
  const h = stale.atFloatHistogram();
  h.sum = 1.5;
  assert.equal(h.sum, 1.5);
});

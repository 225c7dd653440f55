import assert from "node:assert/strict";
import { isStaleNaN, STALE_NAN, ValueType } from "../../model/series.ts";
import { decodeXorChunk, XorChunkEncoder, XorIterator } from "./xor.ts";
import { TsdbFormatError } from "./errors.ts";
import { Block } from "./block.ts";
import { Encoding } from "./chunks_reader.ts";

function bits(s: string): number[] {
  const b = s.replace(/\s+/g, "");
  const out = new Array(Math.ceil(b.length / 8)).fill(0);
  for (let i = 0; i < b.length; i++) if (b[i] === "1") out[i >> 3] |= 0x80 >> (i & 7);
  return out;
}

// From chunks.md: count, ts_0 varint (zig-zag 2000 = d0 0f), v_0 raw (1.0), ts_1 delta uvarint
// (1000 = e8 07), v_1 unchanged (`0`), then ts_2 dod 0 (`0`) and v_2 = 2.0: 2.0 ^ 1.0 =
// 0x7ff0000000000000, 1 leading and 52 trailing zeros, 11 significant bits.
const VECTOR = Uint8Array.from([
  0x00,
  0x03,
  0xd0,
  0x0f,
  0x3f,
  0xf0,
  0,
  0,
  0,
  0,
  0,
  0,
  0xe8,
  0x07,
  ...bits("0 0 11 00001 001011 11111111111"),
]);

Deno.test("XOR chunk bytes match the format description", () => {
  const e = new XorChunkEncoder();
  e.append(1000, 1);
  e.append(2000, 1);
  e.append(3000, 2);
  assert.deepEqual(e.bytes(), VECTOR);
  const it = new XorIterator(VECTOR);
  const got: [number, number][] = [];
  while (it.next() === ValueType.Float) got.push([it.atT(), it.atFloat()]);
  assert.deepEqual(got, [[1000, 1], [2000, 1], [3000, 2]]);
});

Deno.test("XOR iterator reset reuses one iterator across chunks", () => {
  const e = new XorChunkEncoder();
  for (let i = 0; i < 200; i++) e.append(i * 15000 + (i % 7), Math.sin(i) * 1e3);
  const a = e.bytes();
  const it = new XorIterator(a);
  let n = 0;
  while (it.next() !== ValueType.None) n++;
  assert.equal(n, 200);
  it.reset(VECTOR);
  assert.equal(it.next(), ValueType.Float);
  assert.equal(it.atT(), 1000);
  it.reset(a);
  assert.equal(it.seek(100 * 15000), ValueType.Float);
  assert.equal(it.atT(), 100 * 15000 + 2);
  assert.equal(it.atFloat(), Math.sin(100) * 1e3);
});

Deno.test("XOR iterators used in turn keep their own samples, however they interleave", () => {
  // Chunks of different lengths, so that a later decode also grows the shared arrays.
  const chunks = [50, 300, 7, 1000].map((n, c) => {
    const e = new XorChunkEncoder();
    for (let i = 0; i < n; i++) e.append(c * 1e6 + i * 1000 + (i % 3), c * 100 + i / 4);
    return { n, c, bytes: e.bytes() };
  });
  const want = (c: number, i: number) => [c * 1e6 + i * 1000 + (i % 3), c * 100 + i / 4];
  const its = chunks.map(({ bytes }) => new XorIterator(bytes));
  const seen = chunks.map(() => 0);
  // Round robin, then in a pseudo-random order.
  let seed = 11;
  for (let step = 0; step < 4000; step++) {
    const k = step < 400 ? step % its.length : (seed = (seed * 48271) % 2147483647) % its.length;
    const { n, c } = chunks[k];
    if (seen[k] >= n) continue;
    // Every fifth step seeks to the next sample's time instead of stepping to it.
    const vt = step % 5 === 4 ? its[k].seek(want(c, seen[k])[0]) : its[k].next();
    assert.equal(vt, ValueType.Float, `chunk ${c} sample ${seen[k]}`);
    assert.deepEqual([its[k].atT(), its[k].atFloat()], want(c, seen[k]), `chunk ${c}`);
    seen[k]++;
  }
  assert.deepEqual(seen, chunks.map((c) => c.n));
  // One iterator after another finished (the query path): the samples are still right.
  const a = new XorIterator(chunks[1].bytes), b = new XorIterator(chunks[3].bytes);
  assert.equal(a.seek(1e6 + 250 * 1000), ValueType.Float);
  assert.equal(b.seek(3e6 + 999 * 1000), ValueType.Float);
  assert.deepEqual([a.atT(), a.atFloat()], want(1, 250));
  assert.deepEqual([b.atT(), b.atFloat()], want(3, 999));
});

Deno.test("XOR stale markers keep their bits; large timestamp jumps use the 64-bit bucket", () => {
  const e = new XorChunkEncoder();
  e.append(0, 1);
  e.append(10, STALE_NAN);
  e.append(20, 1);
  e.append(20 + 2 ** 40, -0);
  const it = new XorIterator(e.bytes());
  it.next();
  it.next();
  assert.ok(isStaleNaN(it.atFloat()));
  it.next();
  assert.equal(it.atFloat(), 1);
  it.next();
  assert.equal(it.atT(), 20 + 2 ** 40);
  assert.ok(Object.is(it.atFloat(), -0));
});

Deno.test("truncated XOR chunks fail with a typed error", () => {
  for (let n = 0; n < VECTOR.length; n++) {
    assert.throws(() => {
      const it = new XorIterator(VECTOR.subarray(0, n));
      while (it.next() !== ValueType.None) { /* drain */ }
    }, TsdbFormatError);
  }
});

Deno.test("re-encoding promtool's and Prometheus' XOR chunks reproduces them byte for byte", async () => {
  const dirs = ["./testdata/blocks/", "./testdata/native_histograms/blocks/"];
  let compared = 0;
  for (const d of dirs) {
    const root = new URL(d, import.meta.url).pathname;
    for (const e of Deno.readDirSync(root)) {
      const b = await Block.open(root + e.name);
      for (const s of b.series()) {
        for (let i = 0; i < s.chunks.length; i++) {
          const raw = s.rawChunk(i);
          if (raw.encoding !== Encoding.XOR) continue;
          const it = new XorIterator(raw.data);
          const enc = new XorChunkEncoder();
          while (it.next() !== ValueType.None) enc.append(it.atT(), it.atFloat());
          assert.deepEqual(enc.bytes(), raw.data);
          compared++;
        }
      }
    }
  }
  assert.ok(compared > 30, `${compared} chunks`);
});

Deno.test("decodeXorChunk matches the iterator, keeps stale bits and fails typed", async () => {
  const ts = new Float64Array(200);
  const vs = new Float64Array(200);
  const root = new URL("./testdata/blocks/", import.meta.url).pathname;
  let chunks = 0;
  let metaChunks = 0;
  for (const e of Deno.readDirSync(root)) {
    const b = await Block.open(root + e.name);
    metaChunks += b.meta.stats.numChunks;
    for (const s of b.series()) {
      for (let i = 0; i < s.chunks.length; i++) {
        const data = s.rawChunk(i).data;
        const n = decodeXorChunk(data, ts, vs);
        const it = new XorIterator(data);
        let k = 0;
        while (it.next() !== ValueType.None) {
          assert.equal(ts[k], it.atT());
          assert.ok(Object.is(vs[k], it.atFloat()));
          k++;
        }
        assert.equal(n, k);
        chunks++;
      }
    }
  }
  assert.equal(chunks, metaChunks);
  const e = new XorChunkEncoder();
  e.append(1, 5);
  e.append(2, STALE_NAN);
  e.append(3 + 2 ** 40, 7);
  assert.equal(decodeXorChunk(e.bytes(), ts, vs), 3);
  assert.ok(isStaleNaN(vs[1]));
  assert.deepEqual([ts[2], vs[2]], [3 + 2 ** 40, 7]);
  assert.equal(decodeXorChunk(VECTOR, ts, vs), 3);
  for (let n = 0; n < VECTOR.length; n++) {
    assert.throws(() => decodeXorChunk(VECTOR.subarray(0, n), ts, vs), TsdbFormatError);
  }
  assert.throws(() => decodeXorChunk(VECTOR, new Float64Array(2), vs), RangeError);
});

Deno.test("every delta-of-delta bucket edge decodes to the appended timestamp", () => {
  // bitRange is asymmetric: +2^(n-1) fits an n-bit bucket, -2^(n-1) takes the next one.
  const edges = [1, 8191, 8192, 8193, 65535, 65536, 65537, 524287, 524288, 524289, 2 ** 40];
  const dods = [0, ...edges.flatMap((d) => [d, -d])];
  const ts = new Float64Array(8);
  const vs = new Float64Array(8);
  for (const dod of dods) {
    const e = new XorChunkEncoder();
    const want = [2 ** 42, 2 ** 42 + 2 ** 41, 2 ** 42 + 2 ** 42 + dod, 2 ** 43 + 2 ** 42 + 2 * dod];
    for (const t of want) e.append(t, 1);
    const it = new XorIterator(e.bytes());
    const got: number[] = [];
    while (it.next() === ValueType.Float) got.push(it.atT());
    assert.deepEqual(got, want, `dod ${dod}`);
    assert.equal(decodeXorChunk(e.bytes(), ts, vs), 4);
    assert.deepEqual([...ts.subarray(0, 4)], want, `dod ${dod}, bulk`);
  }
});

Deno.test("XOR iterator seek goes forward only and keeps the last sample after the end", () => {
  const e = new XorChunkEncoder();
  for (let i = 0; i < 100; i++) e.append(i * 10, i);
  const it = new XorIterator(e.bytes());
  assert.equal(it.seek(455), ValueType.Float);
  assert.deepEqual([it.atT(), it.atFloat()], [460, 46]);
  assert.equal(it.seek(460), ValueType.Float);
  assert.equal(it.seek(0), ValueType.Float);
  assert.equal(it.atT(), 460);
  assert.equal(it.next(), ValueType.Float);
  assert.equal(it.atT(), 470);
  assert.equal(it.seek(990), ValueType.Float);
  assert.equal(it.next(), ValueType.None);
  assert.equal(it.atT(), 990);
  assert.equal(it.seek(0), ValueType.None);
  it.reset(e.bytes());
  assert.equal(it.seek(991), ValueType.None);
  assert.equal(it.next(), ValueType.None);
  it.reset(e.bytes());
  assert.equal(it.seek(-5), ValueType.Float);
  assert.equal(it.atT(), 0);
});

Deno.test("the encoder writes a quieted stale marker as Prometheus' exact stale marker", () => {
  const quiet = new DataView(new ArrayBuffer(8));
  quiet.setUint32(0, 0x7ff80000);
  quiet.setUint32(4, 2);
  const a = new XorChunkEncoder();
  a.append(1000, 1);
  a.append(2000, quiet.getFloat64(0));
  const b = new XorChunkEncoder();
  b.append(1000, 1);
  b.append(2000, STALE_NAN);
  assert.deepEqual(a.bytes(), b.bytes());
});

Deno.test("decodeXorChunk writes into an array that grew with its resizable buffer", () => {
  const chunk = (n: number) => {
    const e = new XorChunkEncoder();
    for (let i = 0; i < n; i++) e.append(i * 1000, i + 0.5);
    return e.bytes();
  };
  const buf = new ArrayBuffer(4 * 8, { maxByteLength: 8 * 8 });
  const vs = new Float64Array(buf);
  const ts = new Float64Array(8);
  assert.equal(decodeXorChunk(chunk(4), ts, vs), 4);
  buf.resize(8 * 8);
  assert.equal(decodeXorChunk(chunk(8), ts, vs), 8);
  assert.deepEqual([...vs], [0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5]);
});

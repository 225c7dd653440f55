import assert from "node:assert/strict";
import { ValueType } from "../../model/series.ts";
import { Block } from "./block.ts";
import { chunkIterator } from "./chunk.ts";
import { ChunksReader, Encoding } from "./chunks_reader.ts";
import { BlockMetaError, TsdbFormatError } from "./errors.ts";
import { FloatHistogramChunkEncoder, FloatHistogramIterator } from "./float_histogram.ts";
import { HistogramChunkEncoder, HistogramIterator } from "./histogram.ts";
import { IndexReader } from "./index_reader.ts";
import { parseTombstones } from "./tombstones.ts";
import { decodeXorChunk, XorIterator } from "./xor.ts";
import { crc32c } from "./crc32c.ts";
import { CounterResetHint } from "../../model/histogram.ts";

const SRC = new URL("./testdata/blocks/01M88N5D9P8GWXTTFS4XSR85NF/", import.meta.url).pathname;
const INDEX = await Deno.readFile(`${SRC}index`);
const SEGMENT = await Deno.readFile(`${SRC}chunks/000001`);
const TOMBSTONES = await Deno.readFile(`${SRC}tombstones`);

/** Reads everything: every series, every chunk, every sample. */
function readAll(index: Uint8Array, segment: Uint8Array, tombstones: Uint8Array): number {
  parseTombstones(tombstones, "b/tombstones");
  const ix = new IndexReader(index, "b/index");
  const cr = new ChunksReader([segment], "b/chunks");
  let n = 0;
  for (const name of ix.labelNames()) for (const v of ix.labelValues(name)) ix.postings(name, v);
  ix.legacyLabelIndex("room");
  for (const s of ix.allSeries()) {
    for (const c of s.chunks) {
      const it = chunkIterator(cr.chunk(c.ref), `chunk ${c.ref}`);
      while (it.next() !== ValueType.None) n++;
    }
  }
  return n;
}

function expectTyped(fn: () => unknown, file: string | RegExp, section: string | RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TsdbFormatError, `not a TsdbFormatError: ${e}`);
    if (typeof file === "string") assert.equal(e.file, file);
    else assert.match(e.file, file);
    if (typeof section === "string") assert.equal(e.section, section);
    else assert.match(e.section, section);
    return true;
  });
}

Deno.test("the fixture reads cleanly", () => {
  assert.equal(readAll(INDEX, SEGMENT, TOMBSTONES), 1190);
});

Deno.test("index corruption: wrong magic, truncation and bit flips name file and section", () => {
  const magic = INDEX.slice();
  magic[0] ^= 0xff;
  expectTyped(() => readAll(magic, SEGMENT, TOMBSTONES), "b/index", "header");
  const version = INDEX.slice();
  version[4] = 9;
  expectTyped(() => readAll(version, SEGMENT, TOMBSTONES), "b/index", "header");
  expectTyped(() => readAll(INDEX.subarray(0, 40), SEGMENT, TOMBSTONES), "b/index", "header");
  expectTyped(
    () => readAll(INDEX.subarray(0, INDEX.length - 1), SEGMENT, TOMBSTONES),
    "b/index",
    "TOC",
  );
  const ix = new IndexReader(INDEX);
  const flipAt = (off: number) => {
    const d = INDEX.slice();
    d[off] ^= 0x10;
    return d;
  };
  expectTyped(() => readAll(flipAt(ix.toc.symbols + 9), SEGMENT, TOMBSTONES), "b/index", "symbols");
  const firstSeries = ix.allPostings()[0];
  expectTyped(
    () => readAll(flipAt(firstSeries * 16 + 2), SEGMENT, TOMBSTONES),
    "b/index",
    `series ${firstSeries}`,
  );
  expectTyped(
    () => readAll(flipAt(ix.toc.postingsTable + 10), SEGMENT, TOMBSTONES),
    "b/index",
    "postings offset table",
  );
  expectTyped(
    () => readAll(flipAt(ix.toc.postings + 9), SEGMENT, TOMBSTONES),
    "b/index",
    /^postings /,
  );
  expectTyped(
    () => readAll(flipAt(INDEX.length - 30), SEGMENT, TOMBSTONES),
    "b/index",
    "TOC",
  );
});

Deno.test("chunk file corruption: wrong magic, truncation and bit flips name file and section", () => {
  const magic = SEGMENT.slice();
  magic[1] ^= 1;
  expectTyped(() => readAll(INDEX, magic, TOMBSTONES), "b/chunks/000001", "header");
  expectTyped(
    () => readAll(INDEX, SEGMENT.subarray(0, 5), TOMBSTONES),
    "b/chunks/000001",
    "header",
  );
  expectTyped(
    () => readAll(INDEX, SEGMENT.subarray(0, SEGMENT.length - 10), TOMBSTONES),
    "b/chunks/000001",
    /^chunk at offset \d+$/,
  );
  const flip = SEGMENT.slice();
  flip[40] ^= 4;
  expectTyped(() => readAll(INDEX, flip, TOMBSTONES), "b/chunks/000001", /^chunk at offset \d+$/);
});

Deno.test("Block.open names the block's files in errors", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${tmp}/b/chunks`, { recursive: true });
    await Deno.copyFile(`${SRC}meta.json`, `${tmp}/b/meta.json`);
    await Deno.writeFile(`${tmp}/b/index`, INDEX.subarray(0, 100));
    await Deno.writeFile(`${tmp}/b/chunks/000001`, SEGMENT);
    await assert.rejects(() => Block.open(`${tmp}/b`), (e: unknown) => {
      assert.ok(e instanceof TsdbFormatError);
      assert.equal(e.file, `${tmp}/b/index`);
      assert.equal(e.section, "TOC");
      return true;
    });
    await Deno.writeFile(`${tmp}/b/index`, INDEX);
    await Deno.writeFile(`${tmp}/b/chunks/000001`, SEGMENT.subarray(0, 3));
    await assert.rejects(() => Block.open(`${tmp}/b`), (e: unknown) => {
      assert.ok(e instanceof TsdbFormatError);
      assert.equal(e.file, `${tmp}/b/chunks/000001`);
      return true;
    });
    await Deno.writeTextFile(`${tmp}/b/meta.json`, "{}");
    await assert.rejects(() => Block.open(`${tmp}/b`), BlockMetaError);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

/** A small deterministic PRNG. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

function mutate(data: Uint8Array, rnd: () => number): Uint8Array {
  const kind = Math.floor(rnd() * 4);
  const at = Math.floor(rnd() * data.length);
  switch (kind) {
    case 0:
      return data.subarray(0, at);
    case 1: {
      const d = data.slice();
      d[at] ^= 1 << Math.floor(rnd() * 8);
      return d;
    }
    case 2: {
      const d = data.slice();
      for (let i = 0; i < 4 && at + i < d.length; i++) d[at + i] = Math.floor(rnd() * 256);
      return d;
    }
    default: {
      const d = data.slice();
      d.fill(0xff, at, Math.min(d.length, at + 1 + Math.floor(rnd() * 16)));
      return d;
    }
  }
}

function onlyTyped(fn: () => unknown, what: string): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof TsdbFormatError)) {
      throw new Error(`${what}: untyped error ${e}`, { cause: e });
    }
  }
}

Deno.test("random file corruptions end only in typed errors", () => {
  const rnd = prng(20231114);
  for (let i = 0; i < 300; i++) {
    const which = i % 3;
    const index = which === 0 ? mutate(INDEX, rnd) : INDEX;
    const segment = which === 1 ? mutate(SEGMENT, rnd) : SEGMENT;
    const tombstones = which === 2 ? mutate(TOMBSTONES, rnd) : TOMBSTONES;
    onlyTyped(() => readAll(index, segment, tombstones), `iteration ${i}`);
  }
});

function drain(it: { next(): number; atFloatHistogram?(): unknown }, hist: boolean): void {
  while (it.next() !== ValueType.None) if (hist) it.atFloatHistogram!();
}

Deno.test("random chunk corruptions behind a valid checksum end only in typed errors", () => {
  // Chunk decoders see garbage that passed the CRC (as a buggy writer could produce).
  const cr = new ChunksReader([SEGMENT]);
  const ix = new IndexReader(INDEX);
  const xor = [...ix.allSeries()].flatMap((s) => s.chunks.map((c) => cr.chunk(c.ref)));
  assert.ok(xor.every((c) => c.encoding === Encoding.XOR));
  const he = new HistogramChunkEncoder();
  const fe = new FloatHistogramChunkEncoder();
  for (let i = 0; i < 50; i++) {
    const h = {
      counterResetHint: CounterResetHint.Unknown,
      schema: 2,
      zeroThreshold: 0.001,
      zeroCount: i,
      count: 10 * i + i,
      sum: i * 1.5,
      positiveSpans: [{ offset: -3, length: 4 }, { offset: 2, length: 1 }],
      negativeSpans: [{ offset: 0, length: 1 }],
      positiveBuckets: Float64Array.of(i, 1, 1, 0, 3),
      negativeBuckets: Float64Array.of(i + 1),
      customValues: new Float64Array(0),
    };
    he.append(1000 * i, h);
    fe.append(1000 * i, { ...h, positiveBuckets: Float64Array.of(i, i + 1, i + 2, i + 2, i + 5) });
  }
  const hist = he.bytes();
  const fhist = fe.bytes();
  const rnd = prng(77);
  for (let i = 0; i < 600; i++) {
    const base = i % 3 === 0 ? xor[i % xor.length].data : i % 3 === 1 ? hist : fhist;
    const d = mutate(base, rnd);
    onlyTyped(() => {
      if (i % 3 === 0) {
        drain(new XorIterator(d), false);
        decodeXorChunk(d, new Float64Array(0xffff), new Float64Array(0xffff));
      } else if (i % 3 === 1) drain(new HistogramIterator(d), true);
      else drain(new FloatHistogramIterator(d), true);
    }, `chunk iteration ${i}`);
  }
});

/** Body ranges [start, end) of the index sections, each followed by its CRC32C. */
function indexSections(): [number, number][] {
  const ix = new IndexReader(INDEX);
  const be32 = (p: number) => new DataView(INDEX.buffer, INDEX.byteOffset).getUint32(p);
  const out: [number, number][] = [];
  const len4 = (off: number) => out.push([off + 4, off + 4 + be32(off)]);
  len4(ix.toc.symbols);
  len4(ix.toc.postingsTable);
  for (const ref of ix.allPostings()) {
    const off = ref * 16;
    let len = 0;
    let p = off;
    for (let mul = 1;; mul *= 128) {
      const b = INDEX[p++];
      len += (b & 0x7f) * mul;
      if (b < 0x80) break;
    }
    out.push([p, p + len]);
  }
  return out;
}

Deno.test("random index corruptions behind valid checksums end only in typed errors", () => {
  const sections = indexSections();
  const rnd = prng(4242);
  for (let i = 0; i < 400; i++) {
    const [start, end] = sections[i % sections.length];
    const d = INDEX.slice();
    const at = start + Math.floor(rnd() * (end - start));
    const r = rnd();
    if (r < 0.5) d[at] ^= 1 << Math.floor(rnd() * 8);
    else if (r < 0.8) d[at] = Math.floor(rnd() * 256);
    else d.fill(0xff, at, Math.min(end, at + 4));
    // Re-seal the section so the decoders, not the checksum, meet the damage.
    new DataView(d.buffer).setUint32(end, crc32c(d, start, end));
    onlyTyped(() => readAll(d, SEGMENT, TOMBSTONES), `index iteration ${i}`);
  }
});

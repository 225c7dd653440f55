import assert from "node:assert/strict";
import { ValueType } from "../../model/series.ts";
import { FilesystemBucket } from "../objstore/filesystem.ts";
import { Block, readBlockMarkers } from "./block.ts";
import { dumpKey, parseDump } from "./_dump_testutil.ts";
import { encodeTombstones } from "./tombstones.ts";
import { BlockMetaError, TsdbFormatError } from "./errors.ts";
import { FileSegment } from "./segment_file.ts";
import { IndexReader } from "./index_reader.ts";
import { CounterResetHint } from "../../model/histogram.ts";
import { labelsFromRecord } from "../../model/labels.ts";
import { ChunksReader, Encoding } from "./chunks_reader.ts";
import { HistogramChunkEncoder } from "./histogram.ts";
import { writeBlock, xorChunks } from "./writer.ts";

const BLOCKS = new URL("./testdata/blocks/", import.meta.url).pathname;
const ULIDS = [
  "01M88N5D9P8GWXTTFS4XSR85NF",
  "01M88N5DB4F62E1YJ3Z2G3ZSB2",
  "01M88N5DCKBZ59HS0B592NC4QA",
  "01M88N5DD8N0QG6XDTXEX68HTY",
];

/** Every sample of the blocks, keyed like promtool's dump, in block then time order. */
function readAll(blocks: Block[]): Map<string, { ts: number[]; values: number[] }> {
  const out = new Map<string, { ts: number[]; values: number[] }>();
  for (const b of blocks) {
    for (const s of b.series()) {
      const key = dumpKey(s.labels);
      let e = out.get(key);
      if (!e) out.set(key, e = { ts: [], values: [] });
      const it = s.iterator();
      while (it.next() === ValueType.Float) {
        e.ts.push(it.atT());
        e.values.push(it.atFloat());
      }
    }
  }
  return out;
}

Deno.test("reading the promtool blocks yields exactly the samples of promtool's dump", async () => {
  const want = parseDump(await Deno.readTextFile(`${BLOCKS}../dump.txt`));
  const blocks = await Promise.all(ULIDS.map((u) => Block.open(`${BLOCKS}${u}`)));
  const got = readAll(blocks);
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
  let n = 0;
  for (const [key, w] of want) {
    const g = got.get(key)!;
    assert.deepEqual(g.ts, w.ts, key);
    assert.deepEqual(g.values, w.values, key); // deepEqual treats NaN as equal to NaN
    n += g.ts.length;
  }
  assert.equal(n, 3400);
  // Per-block sample counts match meta.json.
  for (const b of blocks) {
    let c = 0;
    for (const s of b.series()) {
      const it = s.iterator();
      while (it.next() !== ValueType.None) c++;
    }
    assert.equal(c, b.meta.stats.numSamples, b.meta.ulid);
  }
});

Deno.test("Block exposes raw chunks, per-chunk iterators, postings lookups and seek", async () => {
  const b = await Block.open(`${BLOCKS}${ULIDS[0]}`);
  const [s] = [...b.seriesWith("method", "GET")];
  assert.equal(dumpKey(s.labels), '{__name__="http_requests_total", job="api", method="GET"}');
  assert.ok(s.chunks.length > 1);
  const raw = s.rawChunk(0);
  assert.equal(raw.encoding, 1);
  const it = s.chunkIterator(0);
  assert.equal(it.next(), ValueType.Float);
  assert.equal(it.atT(), s.chunks[0].minTime);
  let n = 1;
  while (it.next() !== ValueType.None) n++;
  // The raw chunk's 2-byte sample count matches what the decoder yields.
  assert.equal((raw.data[0] << 8) | raw.data[1], n);
  const all = s.iterator();
  assert.equal(all.seek(s.chunks[1].minTime), ValueType.Float);
  assert.equal(all.atT(), s.chunks[1].minTime);
  assert.equal(all.seek(0), ValueType.Float); // never backwards
  assert.equal(all.atT(), s.chunks[1].minTime);
  assert.equal(all.seek(Number.MAX_SAFE_INTEGER), ValueType.None);
});

Deno.test("tombstoned samples are not returned", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const src = `${BLOCKS}${ULIDS[0]}`;
    const dst = `${tmp}/${ULIDS[0]}`;
    await Deno.mkdir(`${dst}/chunks`, { recursive: true });
    for (const f of ["meta.json", "index", "chunks/000001"]) {
      await Deno.copyFile(`${src}/${f}`, `${dst}/${f}`);
    }
    const orig = await Block.open(src);
    const [s] = [...orig.seriesWith("method", "GET")];
    const ts: number[] = [];
    const it = s.iterator();
    while (it.next() !== ValueType.None) ts.push(it.atT());
    // Delete samples 10..19 and everything from sample 100 on (open end, MaxInt64).
    const stones = new Map([[s.ref, [
      { minTime: ts[10], maxTime: ts[19] },
      { minTime: ts[100], maxTime: 2 ** 63 },
    ]]]);
    await Deno.writeFile(`${dst}/tombstones`, encodeTombstones(stones));
    const b = await Block.open(dst);
    const [d] = [...b.seriesWith("method", "GET")];
    const got: number[] = [];
    const di = d.iterator();
    while (di.next() !== ValueType.None) got.push(di.atT());
    assert.deepEqual(got, [...ts.slice(0, 10), ...ts.slice(20, 100)]);
    const si = d.iterator();
    assert.equal(si.seek(ts[12]), ValueType.Float);
    assert.equal(si.atT(), ts[20]);
    // Other series are untouched.
    const [p] = [...b.seriesWith("method", "POST")];
    assert.deepEqual(p.deleted, []);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("Block.fromBucket downloads, opens and cleans up; markers are read", async () => {
  const root = await Deno.makeTempDir();
  const tmpParent = await Deno.makeTempDir();
  try {
    const u = ULIDS[1];
    await Deno.mkdir(`${root}/${u}/chunks`, { recursive: true });
    for (const f of ["meta.json", "index", "chunks/000001", "tombstones"]) {
      await Deno.copyFile(`${BLOCKS}${u}/${f}`, `${root}/${u}/${f}`);
    }
    await Deno.writeTextFile(
      `${root}/${u}/deletion-mark.json`,
      `{"id":"${u}","version":1,"deletion_time":1700000000}`,
    );
    const bucket = new FilesystemBucket(root);
    const b = await Block.fromBucket(bucket, u, { tmpDir: tmpParent, concurrency: 2 });
    assert.equal(b.meta.ulid, u);
    assert.equal([...b.series()].length, 4);
    assert.equal((await Array.fromAsync(Deno.readDir(tmpParent))).length, 1);
    await b.close();
    assert.equal((await Array.fromAsync(Deno.readDir(tmpParent))).length, 0);
    const m = await readBlockMarkers(bucket, u);
    assert.equal(m.deletion?.deletionTime, 1700000000);
    assert.equal(m.noCompact, undefined);
    // A missing block fails typed and leaves nothing behind.
    await assert.rejects(
      () => Block.fromBucket(bucket, "01M88N5DD8N0QG6XDTXEX68HTZ", { tmpDir: tmpParent }),
      BlockMetaError,
    );
    assert.equal((await Array.fromAsync(Deno.readDir(tmpParent))).length, 0);
    await bucket.close();
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(tmpParent, { recursive: true });
  }
});

Deno.test("a series switching between float and histogram chunks iterates in order", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const h = new HistogramChunkEncoder();
    for (let i = 0; i < 3; i++) {
      h.append(3000 + i * 1000, {
        counterResetHint: CounterResetHint.Unknown,
        schema: 0,
        zeroThreshold: 0,
        zeroCount: 0,
        count: i,
        sum: i,
        positiveSpans: [{ offset: 0, length: 1 }],
        negativeSpans: [],
        positiveBuckets: Float64Array.of(i),
        negativeBuckets: new Float64Array(0),
        customValues: new Float64Array(0),
      });
    }
    const chunks = [
      ...xorChunks([1000, 2000], [1, 2]),
      { encoding: Encoding.Histogram, data: h.bytes(), minTime: 3000, maxTime: 5000 },
      ...xorChunks([6000, 7000, 8000], [6, 7, 8]),
      ...xorChunks([9000], [9]),
    ];
    const meta = await writeBlock(tmp, [{ labels: labelsFromRecord({ a: "b" }), chunks }]);
    const b = await Block.open(`${tmp}/${meta.ulid}`);
    const [s] = [...b.series()];
    const it = s.iterator();
    const got: string[] = [];
    for (let vt = it.next(); vt !== ValueType.None; vt = it.next()) {
      got.push(
        vt === ValueType.Float
          ? `${it.atT()}=${it.atFloat()}`
          : `${it.atT()}:h${it.atFloatHistogram().count}`,
      );
    }
    assert.deepEqual(got, [
      "1000=1",
      "2000=2",
      "3000:h0",
      "4000:h1",
      "5000:h2",
      "6000=6",
      "7000=7",
      "8000=8",
      "9000=9",
    ]);
    const sk = s.iterator();
    assert.equal(sk.seek(4500), ValueType.Histogram);
    assert.equal(sk.atT(), 5000);
    assert.equal(sk.seek(8500), ValueType.Float);
    assert.equal(sk.atFloat(), 9);
    assert.equal(meta.stats.numSamples, 9);
    assert.equal(meta.stats.numHistogramSamples, 3);
    assert.equal(meta.stats.numFloatSamples, 6);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("an index read on demand through a small window gives the same series and postings", async () => {
  for (const u of ULIDS) {
    const path = `${BLOCKS}${u}/index`;
    const mem = new IndexReader(await Deno.readFile(path), path);
    // A 64-byte window forces refills and reads larger than the window.
    const file = FileSegment.open(path, 64);
    try {
      const lazy = new IndexReader(file, path);
      assert.deepEqual([...lazy.allSeries()], [...mem.allSeries()]);
      assert.deepEqual(lazy.symbols(), mem.symbols());
      for (const name of mem.labelNames()) {
        for (const value of mem.labelValues(name)) {
          const want = [...mem.postings(name, value)];
          assert.deepEqual([...lazy.postings(name, value)], want);
          assert.deepEqual([...lazy.postingsStream(name, value)], want);
          assert.equal(lazy.postingsCount(name, value), want.length);
        }
      }
    } finally {
      file.close();
    }
  }
  const want = parseDump(await Deno.readTextFile(`${BLOCKS}../dump.txt`));
  const blocks = await Promise.all(
    ULIDS.map((u) => Block.open(`${BLOCKS}${u}`, { lazyIndex: true, lazyChunks: true })),
  );
  try {
    const got = readAll(blocks);
    assert.equal(got.size, want.size);
    for (const [key, w] of want) assert.deepEqual(got.get(key)!.ts, w.ts, key);
  } finally {
    for (const b of blocks) await b.close();
  }
});

Deno.test("lazily read segment files give the same samples; errors name the file", async () => {
  const want = parseDump(await Deno.readTextFile(`${BLOCKS}../dump.txt`));
  const blocks = await Promise.all(
    ULIDS.map((u) => Block.open(`${BLOCKS}${u}`, { lazyChunks: true })),
  );
  try {
    const got = readAll(blocks);
    for (const [key, w] of want) {
      assert.deepEqual(got.get(key)!.ts, w.ts, key);
      assert.deepEqual(got.get(key)!.values, w.values, key);
    }
  } finally {
    for (const b of blocks) await b.close();
  }
  // A window smaller than a chunk record forces refills and oversized reads.
  const path = `${BLOCKS}${ULIDS[0]}/chunks/000001`;
  const mem = new ChunksReader([await Deno.readFile(path)]);
  const seg = FileSegment.open(path, 64);
  try {
    const lazy = new ChunksReader([seg]);
    const b = await Block.open(`${BLOCKS}${ULIDS[0]}`);
    for (const s of b.series()) {
      for (const c of s.chunks) assert.deepEqual(lazy.chunk(c.ref), mem.chunk(c.ref));
    }
  } finally {
    seg.close();
  }
  // A truncated segment file fails typed, naming the file.
  const tmp = await Deno.makeTempDir();
  try {
    const dst = `${tmp}/${ULIDS[0]}`;
    await Deno.mkdir(`${dst}/chunks`, { recursive: true });
    for (const f of ["meta.json", "index"]) {
      await Deno.copyFile(`${BLOCKS}${ULIDS[0]}/${f}`, `${dst}/${f}`);
    }
    const data = await Deno.readFile(path);
    await Deno.writeFile(`${dst}/chunks/000001`, data.subarray(0, data.length - 100));
    const b = await Block.open(dst, { lazyChunks: true });
    try {
      assert.throws(() => readAll([b]), (e: unknown) => {
        assert.ok(e instanceof TsdbFormatError);
        assert.equal(e.file, `${dst}/chunks/000001`);
        assert.match(e.section, /^chunk at offset \d+$/);
        return true;
      });
    } finally {
      await b.close();
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

import assert from "node:assert/strict";
import { chunkRefOffset, chunkRefSegment, IndexReader, makeChunkRef } from "./index_reader.ts";
import { ChunksReader, Encoding } from "./chunks_reader.ts";
import { XorIterator } from "./xor.ts";
import { dumpKey, parseDump } from "./_dump_testutil.ts";
import { TsdbFormatError } from "./errors.ts";
import { ValueType } from "../../model/series.ts";

const BLOCKS = new URL("./testdata/blocks/", import.meta.url);
const BLOCK = new URL("01M88N5D9P8GWXTTFS4XSR85NF/", BLOCKS);

Deno.test("IndexReader reads promtool's v2 index: symbols, postings, series in label order", async () => {
  const ix = new IndexReader(await Deno.readFile(new URL("index", BLOCK)));
  assert.equal(ix.version, 2);
  assert.deepEqual(ix.labelNames(), ["__name__", "job", "method", "room"]);
  assert.deepEqual(ix.labelValues("__name__"), ["http_requests_total", "temperature_celsius"]);
  assert.deepEqual(ix.labelValues("room"), ["a", "b"]);
  assert.deepEqual(ix.labelValues("nope"), []);
  const all = [...ix.allSeries()];
  assert.deepEqual(all.map((s) => dumpKey(s.labels)), [
    '{__name__="http_requests_total", job="api", method="GET"}',
    '{__name__="http_requests_total", job="api", method="POST"}',
    '{__name__="temperature_celsius", room="a"}',
    '{__name__="temperature_celsius", room="b"}',
  ]);
  const temp = ix.postings("__name__", "temperature_celsius");
  assert.deepEqual([...temp], [all[2].ref, all[3].ref]);
  assert.deepEqual([...ix.postings("method", "POST")], [all[1].ref]);
  assert.equal(ix.postings("method", "PUT").length, 0);
  // The legacy label index lists the same values.
  assert.deepEqual(ix.legacyLabelIndex("room"), ["a", "b"]);
  // 8 chunks in meta.json's stats; chunk metas are ordered and non-overlapping.
  assert.equal(all.reduce((n, s) => n + s.chunks.length, 0), 8);
  for (const s of all) {
    for (let i = 1; i < s.chunks.length; i++) {
      assert.ok(s.chunks[i].minTime > s.chunks[i - 1].maxTime);
      assert.ok(s.chunks[i].ref > s.chunks[i - 1].ref);
    }
  }
});

Deno.test("index chunk metas and XOR chunks reproduce promtool's dump of the block", async () => {
  const dump = parseDump(await Deno.readTextFile(new URL("../dump.txt", BLOCKS)));
  const ix = new IndexReader(await Deno.readFile(new URL("index", BLOCK)));
  const cr = new ChunksReader([await Deno.readFile(new URL("chunks/000001", BLOCK))]);
  let total = 0;
  for (const s of ix.allSeries()) {
    const want = dump.get(dumpKey(s.labels))!;
    for (const meta of s.chunks) {
      const raw = cr.chunk(meta.ref);
      assert.equal(raw.encoding, Encoding.XOR);
      const it = new XorIterator(raw.data);
      let first = true;
      while (it.next() === ValueType.Float) {
        const i = want.ts.indexOf(it.atT());
        assert.ok(i >= 0, `sample at ${it.atT()} not in dump`);
        assert.ok(
          Object.is(it.atFloat(), want.values[i]),
          `${it.atT()}: ${it.atFloat()} vs ${want.values[i]}`,
        );
        if (first) assert.equal(it.atT(), meta.minTime);
        first = false;
        total++;
      }
      assert.equal(it.atT(), meta.maxTime);
    }
  }
  assert.equal(total, 1190);
});

Deno.test("chunk references split into segment and offset beyond 2^32", () => {
  const ref = makeChunkRef(3, 0xfffffff0);
  assert.equal(ref, 3 * 2 ** 32 + 0xfffffff0);
  assert.equal(chunkRefSegment(ref), 3);
  assert.equal(chunkRefOffset(ref), 0xfffffff0);
  assert.equal(chunkRefSegment(makeChunkRef(0x1fffff, 1)), 0x1fffff);
});

Deno.test("IndexReader rejects a bad magic with a typed error", () => {
  const data = new Uint8Array(100);
  assert.throws(() => new IndexReader(data, "x/index"), (e: unknown) => {
    assert.ok(e instanceof TsdbFormatError);
    assert.equal(e.file, "x/index");
    assert.equal(e.section, "header");
    return true;
  });
});

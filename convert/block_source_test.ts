import assert from "node:assert/strict";
import { ValueType } from "../model/series.ts";
import { FilesystemBucket } from "../storage/objstore/filesystem.ts";
import { openBlock } from "../storage/parquet/reader.ts";
import { Block } from "../storage/tsdb/block.ts";
import { chunkIterator } from "../storage/tsdb/chunk.ts";
import { dumpKey, parseDump } from "../storage/tsdb/_dump_testutil.ts";
import { BlockSource } from "./block_source.ts";
import { convertDay } from "./convert.ts";
import { daysInRange } from "../storage/parquet/days.ts";

const FIXTURE = new URL("../storage/tsdb/testdata/", import.meta.url);

Deno.test("promtool blocks converted day by day hold exactly the samples promtool dumps", async () => {
  const dump = parseDump(await Deno.readTextFile(new URL("dump.txt", FIXTURE)));
  const blocks: Block[] = [];
  for await (const e of Deno.readDir(new URL("blocks", FIXTURE))) {
    if (e.isDirectory) blocks.push(await Block.open(new URL(`blocks/${e.name}`, FIXTURE).pathname));
  }
  assert.equal(blocks.length, 4);
  const dir = await Deno.makeTempDir({ prefix: "pq-block-source-test-" });
  const bucket = new FilesystemBucket(dir);
  try {
    const days = new Map<string, ReturnType<typeof daysInRange>[number]>();
    for (const b of blocks) {
      for (const d of daysInRange(b.meta.minTime, b.meta.maxTime)) days.set(d.date, d);
    }
    assert.deepEqual([...days.keys()].sort(), ["2023-11-14", "2023-11-15"]);

    const got = new Map<string, { ts: number[]; vs: number[] }>();
    for (const day of [...days.values()].sort((a, b) => a.start - b.start)) {
      const sources = blocks
        .filter((b) => b.meta.minTime < day.end && b.meta.maxTime > day.start)
        .map((b) => new BlockSource(b));
      await convertDay(bucket, day, {}, sources, {
        rowGroupSize: 3,
        numRowGroups: 1,
        recompress: true,
      });
      const block = await openBlock(bucket, 0n, day.date);
      for (const shard of block.shards) {
        const labels = await shard.readLabels(0, shard.numRows);
        const chunks = await shard.readChunks(0, shard.numRows);
        labels.forEach((l, r) => {
          const key = dumpKey(l);
          let s = got.get(key);
          if (!s) got.set(key, s = { ts: [], vs: [] });
          for (const c of chunks[r]) {
            const it = chunkIterator(c);
            while (it.next() !== ValueType.None) {
              s.ts.push(it.atT());
              s.vs.push(it.atFloat());
            }
          }
        });
      }
    }
    assert.deepEqual([...got.keys()].sort(), [...dump.keys()].sort());
    for (const [key, want] of dump) {
      const s = got.get(key)!;
      assert.deepEqual(s.ts, want.ts, key);
      assert.ok(s.vs.every((v, i) => Object.is(v, want.values[i])), key);
    }
  } finally {
    await bucket.close();
    await Deno.remove(dir, { recursive: true });
    for (const b of blocks) await b.close();
  }
});

Deno.test("native histogram blocks from a real Prometheus convert chunk for chunk", async () => {
  const dir = new URL("native_histograms/blocks/", FIXTURE).pathname;
  const blocks: Block[] = [];
  for (const name of [...Deno.readDirSync(dir)].map((e) => e.name).sort()) {
    blocks.push(await Block.open(`${dir}${name}`));
  }
  const want = new Map<string, { encoding: number; data: number[] }[]>();
  for (const b of blocks) {
    for (const s of b.series()) {
      const key = dumpKey(s.labels);
      const list = want.get(key) ?? [];
      s.chunks.forEach((_, i) => {
        const raw = s.rawChunk(i);
        list.push({ encoding: raw.encoding, data: [...raw.data] });
      });
      want.set(key, list);
    }
  }
  const tmp = await Deno.makeTempDir({ prefix: "pq-native-histograms-test-" });
  const bucket = new FilesystemBucket(tmp);
  try {
    const day = daysInRange(blocks[0].meta.minTime, blocks[0].meta.maxTime)[0];
    const r = await convertDay(bucket, day, {}, blocks.map((b) => new BlockSource(b)), {
      rowGroupSize: 4,
      numRowGroups: 10,
      recompress: true,
    });
    assert.equal(r.rows, want.size);
    const shard = (await openBlock(bucket, 0n, day.date)).shards[0];
    const labels = await shard.readLabels(0, shard.numRows);
    const chunks = await shard.readChunks(0, shard.numRows);
    const encodings = new Set<number>();
    labels.forEach((l, i) => {
      const got = chunks[i].map((c) => ({ encoding: c.encoding, data: [...c.data] }));
      got.forEach((c) => encodings.add(c.encoding));
      assert.deepEqual(got, want.get(dumpKey(l)), dumpKey(l));
    });
    // Integer and float samples both came through (the fixture has no float histograms).
    assert.deepEqual([...encodings].sort(), [1, 2]);
  } finally {
    await bucket.close();
    await Deno.remove(tmp, { recursive: true });
    for (const b of blocks) await b.close();
  }
});

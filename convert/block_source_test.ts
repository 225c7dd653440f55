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
import { labelsFromRecord } from "../model/labels.ts";
import { type SeriesToWrite, writeBlock, xorChunks } from "../storage/tsdb/writer.ts";
import { compareSeries } from "./series_order.ts";
import type { SeriesSource, SourceSeries } from "./source.ts";

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

/** Series whose label order differs from row order: unnamed series, names before `__name__`. */
function trickySeries(from: number, to: number, step: number): SeriesToWrite[] {
  const sets: Record<string, string>[] = [
    { __name__: "up", job: "api", instance: "a" },
    { __name__: "up", job: "db", instance: "b" },
    { __name__: "up", instance: "c" },
    { job: "api", instance: "no-name" },
    { instance: "no-name-no-job" },
    { Zone: "z1", __name__: "aaa", instance: "d" },
    { Zone: "z2", __name__: "up", job: "api", instance: "e" },
    { "__address__": "x", __name__: "m", instance: "f" },
    { __name__: "http_requests_total", job: "api", code: "200", instance: "g" },
    { __name__: "http_requests_total", job: "api", code: "500", instance: "g" },
  ];
  return sets.map((rec, k) => {
    const ts: number[] = [];
    for (let t = from + k * 1000; t < to; t += step) ts.push(t);
    return { labels: labelsFromRecord(rec), chunks: xorChunks(ts, ts.map((t) => t / 1000 + k)) };
  });
}

Deno.test("sortedSeries lists a block's series in row order from its postings", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pq-block-sorted-test-" });
  try {
    const meta = await writeBlock(
      dir,
      trickySeries(Date.UTC(2025, 0, 1), Date.UTC(2025, 0, 1, 2), 60_000),
    );
    const block = await Block.open(`${dir}/${meta.ulid}`, { lazyIndex: true, lazyChunks: true });
    try {
      const source = new BlockSource(block);
      const all: SourceSeries[] = [];
      for await (const s of source.series()) all.push(s);
      for (const sortLabels of [["__name__"], ["job"], ["Zone"]]) {
        const got = [...source.sortedSeries(sortLabels)!];
        const want = [...all].sort((a, b) => compareSeries(a.labels, b.labels, sortLabels));
        assert.deepEqual(got, want, sortLabels[0]);
      }
      // Index order is not row order here: without the postings the converter must sort.
      assert.notDeepEqual(
        all.map((s) => s.ref),
        [...source.sortedSeries(["__name__"])!].map((s) => s.ref),
      );
      assert.equal(source.sortedSeries(["job", "__name__"]), undefined);
    } finally {
      await block.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function promtoolDump(dir: string): Promise<string | undefined> {
  try {
    // promtool 2.42 wants a WAL directory beside the blocks.
    await Deno.mkdir(`${dir}/wal`, { recursive: true });
    const out = await new Deno.Command("promtool", { args: ["tsdb", "dump", dir] }).output();
    await Deno.remove(`${dir}/wal`, { recursive: true });
    await Deno.remove(`${dir}/chunks_head`, { recursive: true }).catch(() => {});
    return out.success ? new TextDecoder().decode(out.stdout) : undefined;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

async function objects(root: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(`${root}/${d}`)) {
      const p = d ? `${d}/${e.name}` : e.name;
      if (e.isDirectory) await walk(p);
      else out.set(p, await Deno.readFile(`${root}/${p}`));
    }
  };
  await walk("");
  return out;
}

Deno.test("overlapping blocks merge alike from their postings and through a spilling sort, as promtool dumps them", async () => {
  const root = await Deno.makeTempDir({ prefix: "pq-block-merge-test-" });
  const day = daysInRange(Date.UTC(2025, 0, 1), Date.UTC(2025, 0, 2))[0];
  const H = 3_600_000;
  try {
    // Three blocks: two 12h halves of the day with a few hours' overlap (a Thanos compaction
    // next to a late upload), and a 2h block inside the first one repeating its samples.
    const ranges = [[day.start - H, day.start + 14 * H], [day.start + 11 * H, day.end + H], [
      day.start + 2 * H,
      day.start + 4 * H,
    ]];
    const blocks: Block[] = [];
    for (const [from, to] of ranges) {
      const meta = await writeBlock(`${root}/tsdb`, trickySeries(from, to, 30_000), {
        range: { minTime: from, maxTime: to },
      });
      blocks.push(
        await Block.open(`${root}/tsdb/${meta.ulid}`, { lazyIndex: true, lazyChunks: true }),
      );
    }
    try {
      // Shards of 2 row groups of 2 rows: 3 shards for the 10 series.
      const options = { rowGroupSize: 2, numRowGroups: 2, recompress: true };
      const sorted = new FilesystemBucket(`${root}/sorted`);
      await convertDay(sorted, day, {}, blocks.map((b) => new BlockSource(b)), options);
      // The same blocks without their postings order: sorted with a buffer of a few entries.
      const unsorted = blocks.map((b): SeriesSource => {
        const s = new BlockSource(b);
        return { id: s.id, series: () => s.series(), read: (ref) => s.read(ref) };
      });
      const spilled = new FilesystemBucket(`${root}/spilled`);
      await convertDay(spilled, day, {}, unsorted, {
        ...options,
        sortBufferBytes: 1000,
        tempDir: `${root}/tmp`,
      });
      await sorted.close();
      await spilled.close();
      const a = await objects(`${root}/sorted`), b = await objects(`${root}/spilled`);
      assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
      for (const [k, v] of a) {
        // meta.pb lists the same sources; the shard files are byte for byte the same.
        assert.deepEqual(v, b.get(k), k);
      }
      assert.equal(a.size, 3 * 2 + 2); // shard files, meta.pb, stream.pb
      // The temporary files are gone.
      assert.deepEqual([...Deno.readDirSync(`${root}/tmp`)], []);

      // Every sample of the day exactly once, as promtool's dump of the overlapping blocks.
      const text = await promtoolDump(`${root}/tsdb`);
      if (text === undefined) {
        console.log("promtool not installed: dump comparison skipped");
        return;
      }
      const want = new Map<string, number[]>();
      for (const [key, s] of parseDump(text)) {
        const ts = s.ts.filter((t) => t >= day.start && t < day.end);
        if (ts.length > 0) want.set(key, ts);
      }
      const got = new Map<string, number[]>();
      const reader = new FilesystemBucket(`${root}/sorted`);
      try {
        for (const shard of (await openBlock(reader, 0n, day.date)).shards) {
          const labels = await shard.readLabels(0, shard.numRows);
          const chunks = await shard.readChunks(0, shard.numRows);
          labels.forEach((l, r) => {
            const ts: number[] = [];
            for (const c of chunks[r]) {
              const it = chunkIterator(c);
              while (it.next() !== ValueType.None) ts.push(it.atT());
            }
            got.set(dumpKey(l), ts);
          });
        }
      } finally {
        await reader.close();
      }
      assert.deepEqual(got, want);
    } finally {
      for (const b of blocks) await b.close();
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

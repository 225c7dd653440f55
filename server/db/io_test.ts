import { collectSeries } from "../../model/series_set.ts";
import assert from "node:assert/strict";
import { parquetMetadata, readOffsetIndex } from "hyparquet";
import { Matcher, MatchType } from "../../model/matchers.ts";
import { compareLabels, labelsToString } from "../../model/labels.ts";
import { Registry } from "prom-client";
import type { Bucket } from "../../storage/objstore/bucket.ts";
import { FilesystemBucket } from "../../storage/objstore/filesystem.ts";
import { ForwardingBucket } from "../../storage/objstore/testing/forwarding.ts";
import { chunksFileKey } from "../../storage/parquet/layout.ts";
import {
  expectedSelect,
  L,
  samplesOf,
  syncBucket,
  type TestSeries,
  writeDay,
} from "./_fixture_testutil.ts";
import { ParquetDB } from "./db.ts";

const DAY = Date.UTC(2025, 5, 1);
const DATE = "2025-06-01";

/** Counts the bytes of ranged reads passing through to a real bucket. */
class CountingBucket extends ForwardingBucket {
  rangeBytes = 0;
  rangeRequests = 0;
  override async getRange(key: string, offset: number, length: number, signal?: AbortSignal) {
    const out = await this.inner.getRange(key, offset, length, signal);
    this.rangeBytes += out.length;
    this.rangeRequests++;
    return out;
  }
}

function makeSeries(): TestSeries[] {
  const out: TestSeries[] = [];
  for (let m = 0; m < 10; m++) {
    for (let i = 0; i < 100; i++) {
      const ts: number[] = [], vs: number[] = [];
      for (let t = DAY; t < DAY + 86_400_000; t += 120_000) {
        ts.push(t);
        vs.push(Math.sin(t / 1e7 + i) * 100 + m);
      }
      out.push({ labels: L({ __name__: `metric_${m}`, instance: `host-${i}` }), ts, vs });
    }
  }
  return out;
}

/** Sum of the chunk pages holding `rows` in `columns`, from the file's own offset index. */
async function pageBytesOfRows(
  bucket: Bucket,
  key: string,
  rows: number[],
  columns: number[],
): Promise<number> {
  const file = await bucket.get(key);
  const md = parquetMetadata(file.slice().buffer);
  let total = 0;
  let rgStart = 0;
  for (const rg of md.row_groups) {
    const n = Number(rg.num_rows);
    for (const c of columns) {
      const ch = rg.columns[c];
      const oi = readOffsetIndex({
        view: new DataView(file.buffer, file.byteOffset + Number(ch.offset_index_offset)),
        offset: 0,
      });
      const locs = oi.page_locations;
      locs.forEach((p, i) => {
        const from = rgStart + Number(p.first_row_index);
        const to = i + 1 < locs.length
          ? rgStart + Number(locs[i + 1].first_row_index)
          : rgStart + n;
        if (rows.some((r) => r >= from && r < to)) total += p.compressed_page_size;
      });
    }
    rgStart += n;
  }
  return total;
}

Deno.test("selective select fetches about the chunk pages of the matching rows", async () => {
  const dir = await Deno.makeTempDir({ prefix: "serve-db-io-" });
  const fs = new FilesystemBucket(`${dir}/bucket`);
  try {
    const all = makeSeries();
    const hash = await writeDay(fs, {
      ext: { replica: "a" },
      date: DATE,
      shards: [all],
      rowGroupSize: 500,
      chunksPageSize: 64 * 1024,
    });
    const bucket = new CountingBucket(fs);
    const syncer = await syncBucket(bucket, `${dir}/labels`, {
      // Without the page cache, so that every query shows what its partitioning fetches.
      pageCacheBytes: 0,
    });
    const sorted = [...all].sort((a, b) => compareLabels(a.labels, b.labels));
    const key = chunksFileKey(hash, DATE, 0);
    const chunksSize = (await fs.attributes(key)).size;
    const figures: string[] = [];

    const measure = async (
      label: string,
      db: ParquetDB,
      matchers: Matcher[],
      mint: number,
      maxt: number,
      columns: number[],
    ) => {
      bucket.rangeBytes = 0;
      bucket.rangeRequests = 0;
      const got = await collectSeries(db.queryable().select(matchers, { start: mint, end: maxt }));
      const fetched = bucket.rangeBytes;
      const requests = bucket.rangeRequests;
      const ext = all.map((s) => ({
        ...s,
        labels: [...s.labels, { name: "replica", value: "a" }],
      }));
      const want = expectedSelect(ext, matchers, mint, maxt);
      assert.deepEqual(
        got.series.map((s) => [labelsToString(s.labels), samplesOf(s)]),
        want.map((s) => [labelsToString(s.labels), s.samples]),
      );
      const rows = sorted.flatMap((s, i) =>
        matchers.every((m) => m.matchesLabels(s.labels)) ? [i] : []
      );
      const minimal = await pageBytesOfRows(fs, key, rows, columns);
      figures.push(
        `${label}: ${rows.length} rows, fetched ${fetched} B in ${requests} requests, ` +
          `pages of matching rows ${minimal} B (ratio ${(fetched / minimal).toFixed(2)}), ` +
          `chunks file ${chunksSize} B`,
      );
      return { fetched, minimal };
    };

    const db = new ParquetDB({ days: () => syncer.days });
    const one = await measure(
      "one series, whole day",
      db,
      [
        new Matcher(MatchType.Equal, "__name__", "metric_7"),
        new Matcher(MatchType.Equal, "instance", "host-42"),
      ],
      DAY,
      DAY + 86_400_000 - 1,
      [0, 1, 2],
    );
    assert.ok(one.fetched <= 2 * one.minimal, figures.at(-1));
    const scattered = [
      new Matcher(MatchType.Regexp, "__name__", "metric_5|metric_9"),
      new Matcher(MatchType.Equal, "instance", "host-3"),
    ];
    const tight = new ParquetDB({
      days: () => syncer.days,
      chunkPartition: { maxRangeBytes: 64 << 20, maxGapBytes: 4096, maxConcurrency: 2 },
    });
    const s1 = await measure(
      "2 distant rows of one row group, 8h-16h, max-gap 4KiB",
      tight,
      scattered,
      DAY + 9 * 3_600_000,
      DAY + 15 * 3_600_000,
      [1],
    );
    assert.ok(s1.fetched <= 2 * s1.minimal, figures.at(-1));
    const s2 = await measure(
      "2 distant rows of one row group, 8h-16h, default max-gap 64MiB",
      db,
      scattered,
      DAY + 9 * 3_600_000,
      DAY + 15 * 3_600_000,
      [1],
    );
    assert.ok(s2.fetched <= 2 * s2.minimal, figures.at(-1));
    const every7th = await measure(
      "every 7th instance of one metric, whole day, default settings",
      db,
      [
        new Matcher(MatchType.Equal, "__name__", "metric_2"),
        new Matcher(MatchType.Regexp, "instance", "host-[0-9]*[07]"),
      ],
      DAY,
      DAY + 86_400_000 - 1,
      [0, 1, 2],
    );
    assert.ok(every7th.fetched <= 2 * every7th.minimal, figures.at(-1));
    console.log(figures.join("\n"));
    await syncer.close();
  } finally {
    await fs.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a repeated select is served from the page cache, counted in metrics", async () => {
  const dir = await Deno.makeTempDir({ prefix: "serve-db-io-" });
  const fs = new FilesystemBucket(`${dir}/bucket`);
  try {
    const all = makeSeries();
    await writeDay(fs, {
      ext: {},
      date: DATE,
      shards: [all],
      rowGroupSize: 500,
      chunksPageSize: 64 * 1024,
    });
    const bucket = new CountingBucket(fs);
    const registry = new Registry();
    const syncer = await syncBucket(bucket, `${dir}/labels`, { registry });
    const db = new ParquetDB({ days: () => syncer.days });
    const matchers = [new Matcher(MatchType.Regexp, "__name__", "metric_[13]")];
    const hints = { start: DAY + 3_600_000, end: DAY + 20 * 3_600_000 };
    const want = expectedSelect(all, matchers, hints.start, hints.end)
      .map((s) => [labelsToString(s.labels), s.samples]);
    const metric = async (name: string) =>
      (await registry.getSingleMetric(name)!.get()).values[0].value;

    bucket.rangeBytes = 0;
    const first = await collectSeries(db.queryable().select(matchers, hints));
    assert.ok(bucket.rangeBytes > 0);
    const misses = await metric("parquet_page_cache_misses_total");
    assert.ok(misses > 0);
    // Within one query the filter and the label reader share the __name__ page.
    const hits = await metric("parquet_page_cache_hits_total");
    bucket.rangeBytes = 0;
    const second = await collectSeries(db.queryable().select(matchers, hints));
    assert.equal(bucket.rangeBytes, 0);
    assert.equal(await metric("parquet_page_cache_misses_total"), misses);
    assert.ok(await metric("parquet_page_cache_hits_total") >= hits + misses);
    assert.ok(await metric("parquet_page_cache_bytes") > 0);
    for (const got of [first, second]) {
      assert.deepEqual(got.series.map((s) => [labelsToString(s.labels), samplesOf(s)]), want);
    }
    // Unloaded days leave the cache.
    await syncer.close();
    assert.equal(await metric("parquet_page_cache_bytes"), 0);
  } finally {
    await fs.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a select larger than the page cache fills only a quarter of it, so a selective select stays cached", async () => {
  const dir = await Deno.makeTempDir({ prefix: "serve-db-io-" });
  const fs = new FilesystemBucket(`${dir}/bucket`);
  try {
    const all = makeSeries();
    await writeDay(fs, { ext: {}, date: DATE, shards: [all], rowGroupSize: 500 });
    const bucket = new CountingBucket(fs);
    const pageCacheBytes = 1024 * 1024;
    const registry = new Registry();
    const syncer = await syncBucket(bucket, `${dir}/labels`, { registry, pageCacheBytes });
    const db = new ParquetDB({ days: () => syncer.days });
    const metric = async (name: string) =>
      (await registry.getSingleMetric(name)!.get()).values[0].value;
    const day = { start: DAY, end: DAY + 86_400_000 - 1 };
    const hours = { start: DAY + 3_600_000, end: DAY + 3 * 3_600_000 };
    const one = [new Matcher(MatchType.Equal, "instance", "host-7")];
    const everything = [new Matcher(MatchType.Regexp, "__name__", ".+")];

    const first = await collectSeries(db.queryable().select(one, hours));
    const selective = await metric("parquet_page_cache_bytes");
    bucket.rangeBytes = 0;
    const wide = await collectSeries(db.queryable().select(everything, day));
    // The scan fetched several times the cache, yet left at most a quarter of it behind.
    assert.ok(bucket.rangeBytes > 4 * pageCacheBytes, `scan fetched ${bucket.rangeBytes}`);
    assert.equal(wide.series.length, all.length);
    assert.ok(await metric("parquet_page_cache_bytes") - selective <= pageCacheBytes / 3);
    assert.equal(await metric("parquet_page_cache_evictions_total"), 0);
    // So the selective query's pages are still there.
    bucket.rangeBytes = 0;
    const again = await collectSeries(db.queryable().select(one, hours));
    assert.equal(bucket.rangeBytes, 0);
    const view = (r: typeof first) => r.series.map((s) => [labelsToString(s.labels), samplesOf(s)]);
    assert.equal(first.series.length, 10);
    assert.deepEqual(view(again), view(first));
    await syncer.close();
  } finally {
    await fs.close();
    await Deno.remove(dir, { recursive: true });
  }
});

import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { Engine } from "../../engine/engine.ts";
import { QueryError } from "../../engine/errors.ts";
import { labelsToString } from "../../model/labels.ts";
import { Matcher, MatchType } from "../../model/matchers.ts";
import type { Series } from "../../model/series.ts";
import { collectSeries } from "../../model/series_set.ts";
import type { Bucket } from "../../storage/objstore/bucket.ts";
import { FilesystemBucket } from "../../storage/objstore/filesystem.ts";
import { instrumentBucket } from "../../storage/objstore/instrumented.ts";
import { chunksFileKey } from "../../storage/parquet/layout.ts";
import {
  expectedSelect,
  L,
  metric,
  pagesOverlapping,
  samplesOf,
  syncBucket,
  type TestSeries,
  writeDay,
} from "./_fixture_testutil.ts";
import { LoadedDay } from "./block.ts";
import { ParquetDB } from "./db.ts";
import { WARN_TRUNCATED } from "./queryable.ts";

const DAY = Date.UTC(2025, 7, 1);
const DATE = "2025-08-01";
const WHOLE_DAY = { start: DAY, end: DAY + 86_400_000 - 1 };
const CHUNKS = ["___cf_meta_chunk_0", "___cf_meta_chunk_1", "___cf_meta_chunk_2"];
const TWO_METRICS = [new Matcher(MatchType.Regexp, "__name__", "metric_[12]")];

/** 3 metrics x 100 instances, a sample every 5 minutes all day. */
function makeSeries(): TestSeries[] {
  const out: TestSeries[] = [];
  for (let m = 0; m < 3; m++) {
    for (let i = 0; i < 100; i++) {
      const ts: number[] = [], vs: number[] = [];
      for (let t = DAY; t < DAY + 86_400_000; t += 300_000) {
        ts.push(t);
        vs.push(m * 1000 + i + (t - DAY) / 1e6);
      }
      const instance = `host-${String(i).padStart(3, "0")}`;
      out.push({ labels: L({ __name__: `metric_${m}`, instance }), ts, vs });
    }
  }
  return out;
}

interface Env {
  fs: FilesystemBucket;
  /** Registry of the bucket's metrics. */
  registry: Registry;
  /** Days whose release is observed: `closed()` counts the days whose files were closed. */
  days: LoadedDay[];
  closed: () => number;
  all: TestSeries[];
  hash: bigint;
  /** Makes every ranged read of the bucket fail from now on. */
  failReads: () => void;
}

async function withDay(fn: (env: Env) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "serve-db-series-set-" });
  const fs = new FilesystemBucket(`${dir}/bucket`);
  try {
    const all = makeSeries();
    const hash = await writeDay(fs, {
      ext: {},
      date: DATE,
      shards: [all],
      rowGroupSize: 120,
      chunksPageSize: 2048,
    });
    const registry = new Registry();
    let failing = false;
    // Ranged reads are the chunk pages of queries once the day is loaded.
    const faulty = new Proxy(fs, {
      get(target, prop) {
        if (prop === "getRange" && failing) {
          return () => Promise.reject(new Error("bucket unreachable"));
        }
        const v = Reflect.get(target, prop, target);
        return typeof v === "function" ? v.bind(target) : v;
      },
    }) as Bucket;
    const bucket = instrumentBucket(faulty, registry, "parquet");
    const syncer = await syncBucket(bucket, `${dir}/labels`, {
      // Without the page cache, so that every page a query needs is fetched by it.
      pageCacheBytes: 0,
    });
    let closed = 0;
    const days = syncer.days.map((d) =>
      new LoadedDay(d.hash, d.date, d.externalLabels, d.meta, d.shards, () => {
        closed++;
        return Promise.resolve();
      })
    );
    try {
      await fn({
        fs,
        registry,
        days,
        closed: () => closed,
        all,
        hash,
        failReads: () => failing = true,
      });
    } finally {
      await syncer.close();
    }
  } finally {
    await fs.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const fetchedBytes = (registry: Registry) =>
  metric(registry, "objstore_bucket_operation_fetched_bytes_total", { operation: "get_range" });

/** Series as `[labels, samples]` for comparison with {@linkcode expectedSelect}. */
const shown = (series: readonly Series[]) =>
  series.map((s) => [labelsToString(s.labels), samplesOf(s)]);

Deno.test("a selection reads chunks a batch at a time, each chunk page once", async () => {
  await withDay(async ({ fs, registry, days, all, hash }) => {
    const searchRegistry = new Registry();
    const db = new ParquetDB({ days: () => days, selectBatchSize: 8, registry: searchRegistry });
    const want = expectedSelect(all, TWO_METRICS, WHOLE_DAY.start, WHOLE_DAY.end);
    assert.equal(want.length, 200);
    // Rows are written sorted by labels: metric_1 and metric_2 are rows 100-299.
    const rows = Array.from({ length: 200 }, (_, i) => 100 + i);
    const key = chunksFileKey(hash, DATE, 0);
    let pageBytes = 0, pages = 0;
    const perColumn = [];
    for (const column of CHUNKS) {
      const p = await pagesOverlapping(fs, key, column, rows);
      perColumn.push(p);
      pageBytes += p.bytes;
      pages += p.pages;
    }
    assert.ok(pages > 40, `only ${pages} chunk pages`);

    const before = await fetchedBytes(registry);
    const set = db.queryable().select(TWO_METRICS, WHOLE_DAY);
    const first = await set.next();
    assert.ok(first !== null && first.length === 8);
    // The first batch and those read ahead: a small part of the selection's pages.
    const afterFirst = await fetchedBytes(registry) - before;
    assert.ok(afterFirst > 0 && afterFirst < pageBytes / 3, `${afterFirst} of ${pageBytes}`);
    const got: Series[] = [...first];
    for (let b = await set.next(); b !== null; b = await set.next()) {
      assert.ok(b.length <= 8);
      got.push(...b);
    }
    assert.deepEqual(set.warnings(), []);
    assert.deepEqual(shown(got), want.map((s) => [labelsToString(s.labels), s.samples]));
    // Every chunk page of the selected rows was fetched exactly once over all batches.
    const select = { method: "select" };
    for (const [i, column] of CHUNKS.entries()) {
      const labels = { column, ...select };
      assert.equal(
        await metric(searchRegistry, "search_pages_read_total", labels),
        perColumn[i].pages,
      );
      assert.equal(await metric(searchRegistry, "search_rows_materialized_total", labels), 200);
      assert.equal(
        await metric(searchRegistry, "search_column_materialized_total", labels),
        perColumn[i].rowGroups,
      );
    }
    assert.ok(await fetchedBytes(registry) - before <= 2 * pageBytes);
  });
});

Deno.test("a set releases its days when exhausted, closed early or never read", async () => {
  await withDay(async ({ registry, days, closed }) => {
    const db = new ParquetDB({ days: () => days, selectBatchSize: 8 });
    // Read to its end.
    assert.equal(
      (await collectSeries(db.queryable().select(TWO_METRICS, WHOLE_DAY))).series.length,
      200,
    );
    // Closed after one batch: the read ahead is abandoned or awaited, then nothing is read.
    const set = db.queryable().select(TWO_METRICS, WHOLE_DAY);
    assert.equal((await set.next())?.length, 8);
    await set.close();
    const settled = await fetchedBytes(registry);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(await fetchedBytes(registry), settled);
    assert.equal(await set.next(), null);
    await set.close();
    // Closed without being read.
    await db.queryable().select(TWO_METRICS, WHOLE_DAY).close();
    // Only the days' own reference is left: releasing it closes them.
    assert.equal(closed(), 0);
    for (const d of days) await d.release();
    assert.equal(closed(), days.length);
  });
});

Deno.test("a failed chunk read rejects next() and releases the days", async () => {
  await withDay(async ({ days, closed, failReads }) => {
    const db = new ParquetDB({ days: () => days, selectBatchSize: 8 });
    failReads();
    const set = db.queryable().select(TWO_METRICS, WHOLE_DAY);
    await assert.rejects(() => set.next(), /bucket unreachable/);
    assert.equal(await set.next(), null);
    for (const d of days) await d.release();
    assert.equal(closed(), days.length);
  });
});

Deno.test("a limit cuts the batches and warns only when more series existed", async () => {
  await withDay(async ({ days, all }) => {
    const db = new ParquetDB({ days: () => days, selectBatchSize: 3 });
    const want = expectedSelect(all, TWO_METRICS, WHOLE_DAY.start, WHOLE_DAY.end)
      .map((s) => labelsToString(s.labels));
    for (const limit of [1, 5, 9, 200, 201]) {
      const got = await collectSeries(
        db.queryable().select(TWO_METRICS, { ...WHOLE_DAY, limit }),
      );
      assert.deepEqual(got.series.map((s) => labelsToString(s.labels)), want.slice(0, limit));
      assert.deepEqual(got.warnings, limit < 200 ? [WARN_TRUNCATED] : [], `limit ${limit}`);
    }
  });
});

Deno.test("the engine counts a day of every series under a sample limit below the selection", async () => {
  await withDay(async ({ days }) => {
    const db = new ParquetDB({ days: () => days, selectBatchSize: 16 });
    // 300 series x 288 samples = 86,400 samples selected; the limit is 10,000.
    const engine = new Engine({ maxSamples: 10_000 });
    const end = DAY + 86_400_000 - 1;
    const res = await engine.instantQuery(
      db.queryable(),
      'count(count_over_time({__name__=~".+"}[1d]))',
      end,
    );
    assert.equal(res.value.type, "vector");
    if (res.value.type === "vector") assert.deepEqual(res.value.samples.map((s) => s.f), [300]);
    assert.equal(res.stats.totalQueryableSamples, 300 * 288);
    assert.ok(res.stats.peakSamples < 1000, `peak ${res.stats.peakSamples}`);
    // A matrix of one metric holds 28,800 samples: over the limit, as in Prometheus.
    await assert.rejects(
      () => engine.instantQuery(db.queryable(), "metric_1[1d]", end),
      (e: unknown) => e instanceof QueryError && e.kind === "too_many_samples",
    );
  });
});

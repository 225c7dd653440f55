import { collectSeries } from "../../model/series_set.ts";
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { compareLabels, labelsToString } from "../../model/labels.ts";
import { Matcher, MatchType } from "../../model/matchers.ts";
import { FilesystemBucket } from "../../storage/objstore/filesystem.ts";
import { instrumentBucket } from "../../storage/objstore/instrumented.ts";
import { chunksFileKey, labelsFileKey } from "../../storage/parquet/layout.ts";
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
import { ParquetDB } from "./db.ts";
import { scanKind } from "./search_metrics.ts";

const DAY = Date.UTC(2025, 6, 1);
const DATE = "2025-07-01";
const NAME = "___cf_meta_label___name__";
const INSTANCE = "___cf_meta_label_instance";
const INDEX = "___cf_meta_index";
const CHUNKS = ["___cf_meta_chunk_0", "___cf_meta_chunk_1", "___cf_meta_chunk_2"];

/** 3 metrics x 40 instances, a sample every 10 minutes all day (every chunk column is used). */
function makeSeries(): TestSeries[] {
  const out: TestSeries[] = [];
  for (let m = 0; m < 3; m++) {
    for (let i = 0; i < 40; i++) {
      const ts: number[] = [], vs: number[] = [];
      for (let t = DAY; t < DAY + 86_400_000; t += 600_000) {
        ts.push(t);
        vs.push(m * 1000 + i + (t - DAY) / 1e6);
      }
      out.push({ labels: L({ __name__: `metric_${m}`, instance: `host-${i}` }), ts, vs });
    }
  }
  return out;
}

async function withServe(
  pageCacheBytes: number,
  fn: (env: {
    fs: FilesystemBucket;
    registry: Registry;
    db: ParquetDB;
    all: TestSeries[];
    rowsOf: (matchers: Matcher[]) => number[];
    hash: bigint;
  }) => Promise<void>,
) {
  const dir = await Deno.makeTempDir({ prefix: "serve-db-search-metrics-" });
  const fs = new FilesystemBucket(`${dir}/bucket`);
  try {
    const all = makeSeries();
    const hash = await writeDay(fs, {
      ext: {},
      date: DATE,
      shards: [all],
      rowGroupSize: 50,
      labelsPageSize: 64,
      chunksPageSize: 4096,
    });
    const registry = new Registry();
    const bucket = instrumentBucket(fs, registry, "parquet");
    const syncer = await syncBucket(bucket, `${dir}/labels`, {
      registry,
      pageCacheBytes,
    });
    const db = new ParquetDB({ days: () => syncer.days, registry });
    // Rows are written sorted by labels.
    const sorted = [...all].sort((a, b) => compareLabels(a.labels, b.labels));
    const rowsOf = (matchers: Matcher[]) =>
      sorted.flatMap((s, i) => matchers.every((m) => m.matchesLabels(s.labels)) ? [i] : []);
    try {
      await fn({ fs, registry, db, all, rowsOf, hash });
    } finally {
      await syncer.close();
    }
  } finally {
    await fs.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("scanKind: equality, and regexes that are one plain literal, scan as equal", () => {
  const kind = (type: MatchType, value: string) => scanKind(new Matcher(type, "a", value));
  assert.equal(kind(MatchType.Equal, "x.y"), "equal");
  assert.equal(kind(MatchType.NotEqual, ""), "equal");
  assert.equal(kind(MatchType.Regexp, "host-3"), "equal");
  assert.equal(kind(MatchType.NotRegexp, "host-3"), "equal");
  assert.equal(kind(MatchType.Regexp, "a|b"), "regex");
  assert.equal(kind(MatchType.NotRegexp, "host-.*"), "regex");
});

Deno.test("search_* metrics count the pages and rows a select reads, and match the bucket's reads", async () => {
  await withServe(0, async ({ fs, registry, db, all, rowsOf, hash }) => {
    const labelsKey = labelsFileKey(hash, DATE, 0);
    const chunksKey = chunksFileKey(hash, DATE, 0);
    const byName = new Matcher(MatchType.Equal, "__name__", "metric_1");
    const matchers = [byName, new Matcher(MatchType.Regexp, "instance", "host-1.*")];
    const rows = rowsOf(matchers);
    assert.equal(rows.length, 11);
    const fetched = () =>
      metric(registry, "objstore_bucket_operation_fetched_bytes_total", {
        operation: "get_range",
      });
    const gets = () =>
      metric(registry, "objstore_bucket_operations_total", {
        operation: "get_range",
      });
    const bytesBefore = await fetched(), getsBefore = await gets();
    assert.equal(await metric(registry, "locate_bucket_requests_total"), getsBefore);

    const hints = { start: DAY, end: DAY + 86_400_000 - 1 };
    const got = await collectSeries(db.queryable().select(matchers, hints));
    assert.deepEqual(
      got.series.map((s) => [labelsToString(s.labels), samplesOf(s)]),
      expectedSelect(all, matchers, hints.start, hints.end)
        .map((s) => [labelsToString(s.labels), s.samples]),
    );
    const select = { method: "select" };
    // Every read column is materialised once per row group with selected rows, for those rows:
    // as many rows as series returned.
    const rowGroups = (await pagesOverlapping(fs, labelsKey, INDEX, rows)).rowGroups;
    assert.equal(rowGroups, 2);
    for (const column of [INDEX, NAME, INSTANCE, ...CHUNKS]) {
      const labels = { column, ...select };
      assert.equal(
        await metric(registry, "search_rows_materialized_total", labels),
        got.series.length,
        column,
      );
      assert.equal(
        await metric(registry, "search_column_materialized_total", labels),
        rowGroups,
        column,
      );
    }
    // Without the page cache every page overlapping the selected rows is read once.
    for (const [key, column] of [[labelsKey, INDEX], [labelsKey, NAME], [labelsKey, INSTANCE]]) {
      const want = await pagesOverlapping(fs, key, column, rows);
      const labels = { column, ...select };
      assert.equal(await metric(registry, "search_pages_read_total", labels), want.pages, column);
      assert.equal(
        await metric(registry, "search_pages_read_size_bytes_total", labels),
        want.bytes,
        column,
      );
    }
    let chunkBytes = 0;
    for (const column of CHUNKS) {
      const want = await pagesOverlapping(fs, chunksKey, column, rows);
      const labels = { column, ...select };
      assert.equal(await metric(registry, "search_pages_read_total", labels), want.pages, column);
      const bytes = await metric(registry, "search_pages_read_size_bytes_total", labels);
      // Coalesced ranges may include gaps between the wanted pages.
      assert.ok(bytes >= want.bytes, column);
      chunkBytes += bytes;
    }
    // The chunk pages are the only remote reads of a query, and their bytes are the bucket's.
    assert.equal(await fetched() - bytesBefore, chunkBytes);
    assert.ok(await gets() > getsBefore);
    assert.equal(await metric(registry, "locate_bucket_requests_total"), await gets());

    // The __name__ equality scans only the pages holding metric_1 and other names (the others
    // are outside its column-index bounds or their row group's dictionary, or hold metric_1
    // alone and are taken unread); the regex then scans at most every instance page of the rows
    // left.
    const nameRows = rowsOf([byName]);
    const nameScans = await metric(registry, "search_pages_scanned_total", {
      column: NAME,
      scan: "equal",
    });
    assert.equal(nameScans, (await pagesOverlapping(fs, labelsKey, NAME, nameRows)).straddling);
    const instanceScans = await metric(registry, "search_pages_scanned_total", {
      column: INSTANCE,
      scan: "regex",
    });
    assert.ok(instanceScans > 0);
    assert.ok(instanceScans <= (await pagesOverlapping(fs, labelsKey, INSTANCE, nameRows)).pages);
    assert.equal(
      await metric(registry, "search_pages_scanned_total", { method: "select" }),
      nameScans + instanceScans,
    );
  });
});

Deno.test("search_* metrics: label values and label names are counted under their method", async () => {
  await withServe(0, async ({ fs, registry, db, rowsOf, hash }) => {
    const labelsKey = labelsFileKey(hash, DATE, 0);
    const metric2 = [new Matcher(MatchType.Equal, "__name__", "metric_2")];
    const values = await db.queryable().labelValues("instance", metric2, { start: DAY, end: DAY });
    assert.equal(values.values.length, 40);
    const rows = rowsOf(metric2);
    const want = await pagesOverlapping(fs, labelsKey, INSTANCE, rows);
    const lv = { column: INSTANCE, method: "label_values" };
    assert.equal(await metric(registry, "search_rows_materialized_total", lv), rows.length);
    assert.equal(await metric(registry, "search_column_materialized_total", lv), want.rowGroups);
    assert.equal(await metric(registry, "search_pages_read_total", lv), want.pages);
    assert.equal(await metric(registry, "search_pages_read_size_bytes_total", lv), want.bytes);
    assert.equal(
      await metric(registry, "search_pages_scanned_total", {
        column: NAME,
        scan: "equal",
        method: "label_values",
      }),
      (await pagesOverlapping(fs, labelsKey, NAME, rows)).straddling,
    );

    // A regex that is one literal scans as an equality.
    const host3 = [new Matcher(MatchType.Regexp, "instance", "host-3")];
    const names = await db.queryable().labelNames(host3, { start: DAY, end: DAY });
    assert.deepEqual(names.values, ["__name__", "instance"]);
    const ln = { column: INDEX, method: "label_names" };
    assert.equal(await metric(registry, "search_rows_materialized_total", ln), 3);
    assert.equal(
      await metric(registry, "search_pages_scanned_total", { scan: "regex" }),
      0,
    );
    assert.ok(
      await metric(registry, "search_pages_scanned_total", {
        column: INSTANCE,
        scan: "equal",
        method: "label_names",
      }) > 0,
    );
    // Nothing of these went to the chunks files.
    for (const method of ["label_values", "label_names"]) {
      for (const column of CHUNKS) {
        assert.equal(await metric(registry, "search_pages_read_total", { column, method }), 0);
      }
    }
  });
});

Deno.test("search_* metrics: with the page cache a repeated select materialises again but reads no page", async () => {
  await withServe(64 << 20, async ({ registry, db }) => {
    const matchers = [new Matcher(MatchType.Regexp, "__name__", "metric_[02]")];
    const hints = { start: DAY + 3_600_000, end: DAY + 20 * 3_600_000 };
    const first = await collectSeries(db.queryable().select(matchers, hints));
    assert.equal(first.series.length, 80);
    const rows = () => metric(registry, "search_rows_materialized_total", { column: INDEX });
    const pages = () => metric(registry, "search_pages_read_total");
    const bytes = () => metric(registry, "search_pages_read_size_bytes_total");
    assert.equal(await rows(), 80);
    const [pages1, bytes1] = [await pages(), await bytes()];
    assert.ok(pages1 > 0 && bytes1 > 0);
    await collectSeries(db.queryable().select(matchers, hints));
    assert.equal(await rows(), 160);
    assert.equal(await pages(), pages1);
    assert.equal(await bytes(), bytes1);
  });
});

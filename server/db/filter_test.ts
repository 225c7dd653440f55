import assert from "node:assert/strict";
import type { ColumnIndex } from "hyparquet";
import { Matcher, MatchType } from "../../model/matchers.ts";
import { compareLabels } from "../../model/labels.ts";
import { FilesystemBucket } from "../../storage/objstore/filesystem.ts";
import { labelsFileKey } from "../../storage/parquet/layout.ts";
import { BucketSource, PageFile } from "../../storage/parquet/pages.ts";
import { L, type TestSeries, writeDay } from "./_fixture_testutil.ts";
import { filterRowGroup, type FilterStats, literalValues, pagesWithin } from "./filter.ts";
import { countRows, type RowRanges } from "./row_ranges.ts";

const DAY = Date.UTC(2025, 0, 1);

function rowsOf(r: RowRanges): number[] {
  const out: number[] = [];
  for (let i = 0; i < r.length; i += 2) for (let x = r[i]; x < r[i + 1]; x++) out.push(x);
  return out;
}

Deno.test("filterRowGroup: page bounds prune soundly for any number of alternatives", async () => {
  const dir = await Deno.makeTempDir({ prefix: "serve-db-filter-" });
  const bucket = new FilesystemBucket(dir);
  try {
    const series: TestSeries[] = [];
    for (let i = 0; i < 1000; i++) {
      const labels: Record<string, string> = { __name__: "m", v: String(i).padStart(4, "0") };
      if (i % 3 === 0) labels.zz_odd = "yes";
      series.push({ labels: L(labels), ts: [DAY], vs: [i] });
    }
    const hash = await writeDay(bucket, {
      ext: {},
      date: "2025-01-01",
      shards: [series],
      rowGroupSize: 1000,
      labelsPageSize: 256,
    });
    const key = labelsFileKey(hash, "2025-01-01", 0);
    const file = await PageFile.open(
      key,
      new BucketSource(bucket, key, (await bucket.attributes(key)).size),
      "all",
    );
    const sorted = [...series].sort((a, b) => compareLabels(a.labels, b.labels));
    const want = (ms: Matcher[]) =>
      sorted.flatMap((s, i) => ms.every((m) => m.matchesLabels(s.labels)) ? [i] : []);
    const pages = (await file.pages(0, file.columnPosition("___cf_meta_label_v")!)).length;
    assert.ok(pages >= 10, `want many pages of v, got ${pages}`);

    const cases: Matcher[][] = [
      [new Matcher(MatchType.Regexp, "v", "0200|0300|0500")],
      [new Matcher(MatchType.Regexp, "v", "0001|0250|0301|0302|0777|0999")],
      [new Matcher(MatchType.Equal, "v", "0420")],
      [new Matcher(MatchType.Equal, "v", "9999")],
      [new Matcher(MatchType.Regexp, "v", "0200|0200|9999|0300")],
      [new Matcher(MatchType.NotEqual, "v", "9999")],
      [new Matcher(MatchType.NotEqual, "v", "0420"), new Matcher(MatchType.Equal, "zz_odd", "yes")],
      [new Matcher(MatchType.Equal, "zz_odd", "")],
      [new Matcher(MatchType.Regexp, "zz_odd", "yes|")],
      [new Matcher(MatchType.NotRegexp, "v", "0[0-8].*")],
      [
        new Matcher(MatchType.Regexp, "v", "0[0-8]1[05]"),
        new Matcher(MatchType.NotEqual, "zz_odd", "yes"),
      ],
      [new Matcher(MatchType.Equal, "missing", "")],
      [new Matcher(MatchType.NotEqual, "missing", "")],
      [],
    ];
    for (const ms of cases) {
      const stats: FilterStats = {
        pagesRead: 0,
        pagesPrunedByBounds: 0,
        pagesMatchedByBounds: 0,
        rowGroupsPrunedByBloom: 0,
      };
      const got = await filterRowGroup(file, 0, ms, stats);
      assert.deepEqual(rowsOf(got), want(ms), ms.join(","));
      if (ms.length === 1 && literalValues(ms[0]) && ms[0].name === "v") {
        // Bounds leave at most one page per wanted value to decode.
        assert.ok(stats.pagesRead <= literalValues(ms[0])!.length, `${ms} read ${stats.pagesRead}`);
        // A value in no dictionary entry needs no page at all; others prune the rest by bounds.
        if (want(ms).length === 0) assert.equal(stats.pagesRead + stats.pagesPrunedByBounds, 0);
        else assert.ok(stats.pagesPrunedByBounds >= pages - literalValues(ms[0])!.length);
      }
    }
    assert.equal(countRows(await filterRowGroup(file, 0, [])), 1000);
  } finally {
    await bucket.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("filterRowGroup: the __name__ bloom filter rules out absent names", async () => {
  const dir = await Deno.makeTempDir({ prefix: "serve-db-filter-" });
  const bucket = new FilesystemBucket(dir);
  try {
    const series: TestSeries[] = [];
    for (let i = 0; i < 200; i++) {
      series.push({
        labels: L({ __name__: `metric_${i % 20}`, i: String(i) }),
        ts: [DAY],
        vs: [i],
      });
    }
    const hash = await writeDay(bucket, { ext: {}, date: "2025-01-01", shards: [series] });
    const key = labelsFileKey(hash, "2025-01-01", 0);
    const file = await PageFile.open(
      key,
      new BucketSource(bucket, key, (await bucket.attributes(key)).size),
      "all",
    );
    const run = async (m: Matcher) => {
      const stats: FilterStats = {
        pagesRead: 0,
        pagesPrunedByBounds: 0,
        pagesMatchedByBounds: 0,
        rowGroupsPrunedByBloom: 0,
      };
      return { rows: countRows(await filterRowGroup(file, 0, [m], stats)), stats };
    };
    let pruned = 0;
    for (let i = 100; i < 150; i++) {
      const r = await run(new Matcher(MatchType.Equal, "__name__", `absent_${i}`));
      assert.equal(r.rows, 0);
      assert.equal(r.stats.pagesRead, 0);
      pruned += r.stats.rowGroupsPrunedByBloom;
    }
    // 10 bits per value: false positives are rare.
    assert.ok(pruned >= 45, `bloom filter ruled out ${pruned} of 50 absent names`);
    const present = await run(new Matcher(MatchType.Regexp, "__name__", "absent_1|metric_3"));
    assert.equal(present.rows, 10);
    assert.equal(present.stats.rowGroupsPrunedByBloom, 0);
    // Matchers that accept "" or are not literal sets never ask it.
    const other = await run(new Matcher(MatchType.Regexp, "__name__", "absent_.*"));
    assert.equal(other.rows, 0);
    assert.equal(other.stats.rowGroupsPrunedByBloom, 0);
  } finally {
    await bucket.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("literalValues: only finite literal sets that reject the empty string", () => {
  assert.deepEqual(literalValues(new Matcher(MatchType.Equal, "a", "x")), ["x"]);
  assert.equal(literalValues(new Matcher(MatchType.Equal, "a", "")), undefined);
  assert.deepEqual(literalValues(new Matcher(MatchType.Regexp, "a", "x|y|z")), ["x", "y", "z"]);
  assert.equal(literalValues(new Matcher(MatchType.Regexp, "a", "x|y.*")), undefined);
  assert.equal(literalValues(new Matcher(MatchType.NotEqual, "a", "x")), undefined);
});

/** A deterministic pseudo-random generator (mulberry32). */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("filterRowGroup: equality on the sorted column finds its pages by binary search", async () => {
  const dir = await Deno.makeTempDir({ prefix: "serve-db-filter-" });
  const bucket = new FilesystemBucket(dir);
  try {
    // Metrics with runs of 1 to 400 series, some names longer than the 16-byte bound truncation
    // (one in ten sharing its first 16 bytes with the next: pages of those must be read).
    const rand = random(7);
    const series: TestSeries[] = [];
    const names: string[] = [];
    for (let m = 0; m < 60; m++) {
      const name = m % 10 === 0
        ? `shared_16_prefix_${m}`
        : m % 5 === 0
        ? `m_${m}_with_a_long_name_total`
        : `m_${m}`;
      names.push(name);
      const run = 1 + Math.floor(rand() ** 3 * 400);
      for (let i = 0; i < run; i++) {
        series.push({ labels: L({ __name__: name, i: String(i) }), ts: [DAY], vs: [i] });
      }
    }
    const hash = await writeDay(bucket, {
      ext: {},
      date: "2025-01-01",
      shards: [series],
      rowGroupSize: series.length,
      // 4-byte dictionary indexes: 16 rows a page.
      labelsPageSize: 64,
    });
    const key = labelsFileKey(hash, "2025-01-01", 0);
    const file = await PageFile.open(
      key,
      new BucketSource(bucket, key, (await bucket.attributes(key)).size),
      "all",
    );
    const col = file.columnPosition("___cf_meta_label___name__")!;
    assert.equal((await file.columnIndex(0, col))!.boundary_order, "ASCENDING");
    const pages = (await file.pages(0, col)).length;
    assert.ok(pages > 200, `${pages} pages`);
    const sorted = [...series].sort((a, b) => compareLabels(a.labels, b.labels));
    // The reference: a linear scan of the generated rows.
    const want = (m: Matcher) => sorted.flatMap((s, i) => m.matchesLabels(s.labels) ? [i] : []);
    const absent = [
      "a",
      "m_1a",
      "m_59_",
      "zzz",
      "m_15_with_a_long_name_totam",
      "shared_16_prefix_",
    ];
    for (const value of [...names, ...absent]) {
      const m = new Matcher(MatchType.Equal, "__name__", value);
      const stats: FilterStats = {
        pagesRead: 0,
        pagesPrunedByBounds: 0,
        pagesMatchedByBounds: 0,
        rowGroupsPrunedByBloom: 0,
      };
      const rows = want(m);
      assert.deepEqual(rowsOf(await filterRowGroup(file, 0, [m], stats)), rows, value);
      if (value.startsWith("shared")) {
        // Truncated bounds cannot tell these names apart: the pages of all of them are read.
        const shared = series.filter((s) => s.labels[0].value.startsWith("shared")).length;
        assert.ok(stats.pagesRead <= Math.ceil(shared / 16) + 2, value);
      } else {
        // Only the pages where the run starts and ends are read; those between are taken whole.
        assert.ok(stats.pagesRead <= 2, `${value}: read ${stats.pagesRead} pages`);
        assert.ok(
          stats.pagesMatchedByBounds >= Math.floor(rows.length / 16) - 2,
          `${value}: ${rows.length} rows, ${stats.pagesMatchedByBounds} pages taken whole`,
        );
      }
      const touched = stats.pagesRead + stats.pagesMatchedByBounds;
      // A value in no dictionary entry (or ruled out by the bloom filter) looks at no page.
      assert.equal(stats.pagesPrunedByBounds, rows.length ? pages - touched : 0, value);
      if (rows.length === 0) assert.equal(touched, 0, value);
    }
    // Alternations, and equalities combined with a matcher on another column.
    const cases: Matcher[][] = [
      [
        new Matcher(
          MatchType.Regexp,
          "__name__",
          "m_1|m_3|shared_16_prefix_20|m_25_with_a_long_name_total|zz",
        ),
      ],
      [new Matcher(MatchType.Equal, "__name__", "m_7"), new Matcher(MatchType.Equal, "i", "3")],
      [
        new Matcher(MatchType.Equal, "i", "3"),
        new Matcher(MatchType.Regexp, "__name__", "m_2|m_4"),
      ],
    ];
    for (const ms of cases) {
      const rows = sorted.flatMap((s, i) => ms.every((m) => m.matchesLabels(s.labels)) ? [i] : []);
      assert.deepEqual(rowsOf(await filterRowGroup(file, 0, ms)), rows, ms.join(","));
    }
  } finally {
    await bucket.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pagesWithin: the pages whose bounds hold a value, as a linear scan finds them", () => {
  const enc = new TextEncoder();
  const rand = random(11);
  for (let trial = 0; trial < 200; trial++) {
    // Ascending bounds over random pages, some all-null, some sharing values with neighbours.
    const ci: ColumnIndex = {
      null_pages: [],
      min_values: [],
      max_values: [],
      boundary_order: "ASCENDING",
    };
    let v = 0;
    const pages = 1 + Math.floor(rand() * 40);
    for (let p = 0; p < pages; p++) {
      if (rand() < 0.15) {
        ci.null_pages.push(true);
        ci.min_values.push(new Uint8Array(0));
        ci.max_values.push(new Uint8Array(0));
        continue;
      }
      const min = v;
      v += Math.floor(rand() * 3);
      ci.null_pages.push(false);
      ci.min_values.push(enc.encode(String(min).padStart(3, "0")));
      ci.max_values.push(enc.encode(String(v).padStart(3, "0")));
    }
    const values = Array.from(
      { length: 1 + Math.floor(rand() * 3) },
      () => enc.encode(String(Math.floor(rand() * (v + 2))).padStart(3, "0")),
    );
    const linear = ci.null_pages.flatMap((isNull, p) => {
      if (isNull) return [];
      const lo = new TextDecoder().decode(ci.min_values[p] as Uint8Array);
      const hi = new TextDecoder().decode(ci.max_values[p] as Uint8Array);
      const held = values.some((x) => {
        const s = new TextDecoder().decode(x);
        return lo <= s && s <= hi;
      });
      return held ? [p] : [];
    });
    assert.deepEqual(pagesWithin(ci, values), linear, `trial ${trial}`);
  }
  // A page without bounds (a writer skipped them) makes the search unusable.
  assert.equal(
    pagesWithin({
      null_pages: [false],
      min_values: [new Uint8Array(0)],
      max_values: [new Uint8Array(0)],
      boundary_order: "ASCENDING",
    }, [enc.encode("a")]),
    undefined,
  );
});

import assert from "node:assert/strict";
import { Matcher, MatchType } from "../../model/matchers.ts";
import { compareLabels } from "../../model/labels.ts";
import { FilesystemBucket } from "../../storage/objstore/filesystem.ts";
import { labelsFileKey } from "../../storage/parquet/layout.ts";
import { BucketSource, PageFile } from "../../storage/parquet/pages.ts";
import { L, type TestSeries, writeDay } from "./_fixture_testutil.ts";
import { filterRowGroup, type FilterStats, literalValues } from "./filter.ts";
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

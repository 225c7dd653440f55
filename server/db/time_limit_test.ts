import { collectSeries } from "../../model/series_set.ts";
import assert from "node:assert/strict";
import { NOP_LOGGER } from "../../internal/log.ts";
import { labelsToString } from "../../model/labels.ts";
import { Matcher, MatchType } from "../../model/matchers.ts";
import type { Queryable } from "../../model/queryable.ts";
import { FilesystemBucket } from "../../storage/objstore/filesystem.ts";
import { ParquetDiscoverer } from "../../storage/parquet/discovery.ts";
import { L, samplesOf, type TestSeries, writeDay } from "./_fixture_testutil.ts";
import { ParquetDB } from "./db.ts";
import { LocalLabelFileStore } from "./label_files.ts";
import { parquetStoreSource } from "./store_source.ts";
import { Syncer } from "./syncer.ts";
import { clampHints, clampRange } from "./time_limit.ts";

const H = 3_600_000;
const DAY = 24 * H;
const D2 = Date.UTC(2025, 2, 2);

function series(labels: Record<string, string>): TestSeries {
  const ts: number[] = [];
  for (let t = D2; t < D2 + 4 * DAY; t += 10 * 60_000) ts.push(t);
  return { labels: L(labels), ts, vs: ts.map((t) => (t - D2) / 60_000) };
}

const SERIES = [
  series({ __name__: "up", job: "api" }),
  series({ __name__: "up", job: "web" }),
  series({ __name__: "load", instance: "i1" }),
];

/** Stream eu has days 03-02, 03-03 and (after a gap) 03-05; stream us has 03-02. */
async function withDays(
  fn: (days: () => Syncer["days"]) => void | Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "time-limit-test-" });
  const bucket = new FilesystemBucket(`${dir}/bucket`);
  const syncer = new Syncer({
    bucket,
    streams: () => discoverer.streams,
    labelFiles: new LocalLabelFileStore(bucket, `${dir}/labels`),
    logger: NOP_LOGGER,
  });
  const discoverer = new ParquetDiscoverer(bucket, { concurrency: 2, logger: NOP_LOGGER });
  try {
    for (const date of ["2025-03-02", "2025-03-03", "2025-03-05"]) {
      await writeDay(bucket, { ext: { cluster: "eu" }, date, shards: [SERIES] });
    }
    await writeDay(bucket, { ext: { cluster: "us" }, date: "2025-03-02", shards: [SERIES] });
    await discoverer.discover();
    await syncer.sync();
    await fn(() => syncer.days);
  } finally {
    await syncer.close();
    await bucket.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function selected(q: Queryable, start: number, end: number) {
  const set = q.select([new Matcher(MatchType.Regexp, "__name__", ".+")], { start, end });
  return (await collectSeries(set)).series.map((s) =>
    `${labelsToString(s.labels)} ${JSON.stringify(samplesOf(s))}`
  );
}

Deno.test("clampRange and clampHints", () => {
  const limit = { minT: 10, maxT: 20 };
  assert.deepEqual(clampRange({ minT: 0, maxT: 15 }, limit), { minT: 10, maxT: 15 });
  assert.deepEqual(clampRange({ minT: 12, maxT: 30 }, limit), { minT: 12, maxT: 20 });
  assert.deepEqual(clampRange({ minT: 20, maxT: 30 }, limit), { minT: 20, maxT: 20 });
  assert.equal(clampRange({ minT: 21, maxT: 30 }, limit), undefined);
  assert.equal(clampRange({ minT: 0, maxT: 9 }, limit), undefined);
  assert.deepEqual(clampHints({ start: 0, end: 100, step: 5, func: "rate" }, limit), {
    start: 10,
    end: 20,
    step: 5,
    func: "rate",
  });
  assert.equal(clampHints({ start: 30, end: 40 }, limit), undefined);
});

Deno.test("ParquetDB with a time limit answers as if asked for the clamped range", async () => {
  await withDays(async (days) => {
    const limit = { minT: D2 + 12 * H, maxT: D2 + DAY + 12 * H };
    const all = new ParquetDB({ days });
    const sliced = new ParquetDB({ days, timeLimit: () => limit });
    const [from, to] = [D2 - DAY, D2 + 5 * DAY];

    const want = await selected(all.queryable(), limit.minT, limit.maxT);
    assert.equal(want.length, 6, "three series of each stream");
    assert.deepEqual(await selected(sliced.queryable(), from, to), want);
    assert.deepEqual(await selected(sliced.queryable(), D2 + 3 * DAY, to), []);

    const matchers = [new Matcher(MatchType.Equal, "__name__", "load")];
    const names = (q: Queryable, start: number, end: number) =>
      q.labelNames(matchers, { start, end });
    assert.deepEqual(
      await names(sliced.queryable(), from, to),
      await names(all.queryable(), limit.minT, limit.maxT),
    );
    assert.deepEqual((await names(sliced.queryable(), D2 + 3 * DAY, to)).values, []);
    assert.deepEqual(
      (await sliced.queryable().labelValues("job", [], { start: D2 + 3 * DAY, end: to })).values,
      [],
    );

    // The Store API's source over it sends only the chunks that overlap the limit.
    const chunksOf = async (source: ReturnType<typeof parquetStoreSource>) => {
      const set = await source.selectChunks(matchers, { start: from, end: to });
      const ranges: number[][] = [];
      for await (const s of set.series) {
        for (const c of s.chunks) ranges.push([c.minTime, c.maxTime]);
      }
      return ranges;
    };
    const sent = await chunksOf(parquetStoreSource(sliced.queryable()));
    assert.ok(sent.length > 0);
    for (const [minT, maxT] of sent) assert.ok(maxT >= limit.minT && minT <= limit.maxT);
    const unclamped = await chunksOf(parquetStoreSource(all.queryable()));
    assert.ok(unclamped.length > sent.length);
  });
});

Deno.test("ParquetDB.tsdbRanges: per label set, adjacent days merged, clamped to the limit", async () => {
  await withDays((days) => {
    const ranges = (db: ParquetDB) =>
      db.tsdbRanges().map((r) => [labelsToString(r.labels), r.minT - D2, r.maxT - D2]);
    assert.deepEqual(ranges(new ParquetDB({ days })), [
      ['{cluster="eu"}', 0, 2 * DAY],
      ['{cluster="eu"}', 3 * DAY, 4 * DAY],
      ['{cluster="us"}', 0, DAY],
    ]);
    const limit = { minT: D2 + 12 * H, maxT: D2 + DAY + 12 * H };
    const sliced = new ParquetDB({ days, timeLimit: () => limit });
    assert.deepEqual(ranges(sliced), [
      ['{cluster="eu"}', 12 * H, DAY + 12 * H],
      ['{cluster="us"}', 12 * H, DAY],
    ]);
    assert.deepEqual(sliced.timeRange(), limit);
    // --query.external-label makes one label set of all streams.
    const one = new ParquetDB({ days, externalLabels: { site: "x" } });
    assert.deepEqual(ranges(one), [
      ['{site="x"}', 0, 2 * DAY],
      ['{site="x"}', 3 * DAY, 4 * DAY],
    ]);
    assert.deepEqual(one.timeRange(), { minT: D2, maxT: D2 + 4 * DAY });
    const outside = new ParquetDB({ days, timeLimit: () => ({ minT: 0, maxT: D2 - 1 }) });
    assert.deepEqual(outside.tsdbRanges(), []);
    assert.equal(outside.timeRange(), undefined);
  });
});

import assert from "node:assert/strict";
import { collectSeries } from "../../model/series_set.ts";
import { Matcher, MatchType } from "../../model/matchers.ts";
import { labelsToString } from "../../model/labels.ts";
import type { Bucket } from "../../storage/objstore/bucket.ts";
import { FilesystemBucket } from "../../storage/objstore/filesystem.ts";
import { ForwardingBucket } from "../../storage/objstore/testing/forwarding.ts";
import {
  expectedSelect,
  L,
  samplesOf,
  syncBucket,
  type TestSeries,
  writeDay,
} from "./_fixture_testutil.ts";
import { ParquetDB } from "./db.ts";
import { ReadLimiter } from "./read_limiter.ts";

const DAY = Date.UTC(2025, 5, 1);
const DATE = "2025-06-01";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("ReadLimiter: at most limit reads in flight, the rest in arrival order", async () => {
  const limiter = new ReadLimiter(3);
  let inFlight = 0, most = 0;
  const started: number[] = [];
  await Promise.all(Array.from({ length: 12 }, (_, i) =>
    limiter.run(async () => {
      started.push(i);
      most = Math.max(most, ++inFlight);
      await sleep(2 + (i % 3));
      inFlight--;
      return i;
    })));
  assert.equal(most, 3);
  assert.deepEqual(started, [...Array(12).keys()]);
  assert.equal(limiter.active, 0);
  // A failed read frees its place too.
  await assert.rejects(limiter.run(() => Promise.reject(new Error("boom"))), /boom/);
  assert.equal(limiter.active, 0);
});

Deno.test("ReadLimiter: a waiting read is dropped when its signal aborts; 0 is unlimited", async () => {
  const limiter = new ReadLimiter(1);
  let release!: () => void;
  const first = limiter.run(() => new Promise<void>((r) => release = r));
  const abort = new AbortController();
  let ran = false;
  const waiting = limiter.run(() => {
    ran = true;
    return Promise.resolve();
  }, abort.signal);
  abort.abort(new Error("gone"));
  await assert.rejects(waiting, /gone/);
  release();
  await first;
  assert.equal(ran, false);
  assert.equal(limiter.active, 0);
  // Nothing queued behind the aborted read: the next one runs at once.
  await limiter.run(() => Promise.resolve());

  const unlimited = new ReadLimiter(0);
  let inFlight = 0, most = 0;
  await Promise.all(Array.from({ length: 20 }, () =>
    unlimited.run(async () => {
      most = Math.max(most, ++inFlight);
      await sleep(2);
      inFlight--;
    })));
  assert.equal(most, 20);
});

/** A real bucket whose ranged reads take a while, counting how many are in flight at once. */
class SlowBucket extends ForwardingBucket {
  inFlight = 0;
  mostInFlight = 0;
  rangeRequests = 0;
  constructor(inner: Bucket, readonly delayMs: number) {
    super(inner);
  }
  override async getRange(key: string, offset: number, length: number, signal?: AbortSignal) {
    this.rangeRequests++;
    this.mostInFlight = Math.max(this.mostInFlight, ++this.inFlight);
    try {
      await sleep(this.delayMs);
      return await this.inner.getRange(key, offset, length, signal);
    } finally {
      this.inFlight--;
    }
  }
}

Deno.test("a wide select overlaps its chunk reads up to --query.storage.select.max-concurrency, never more", async () => {
  const dir = await Deno.makeTempDir({ prefix: "serve-db-reads-" });
  const fs = new FilesystemBucket(`${dir}/bucket`);
  try {
    // Three shards of four row groups: a select of everything reads 3 x 4 x 3 chunk columns.
    const shards: TestSeries[][] = [];
    for (let s = 0; s < 3; s++) {
      const series: TestSeries[] = [];
      for (let i = 0; i < 40; i++) {
        const ts: number[] = [], vs: number[] = [];
        for (let t = DAY + i * 1000; t < DAY + 86_400_000; t += 600_000) {
          ts.push(t);
          vs.push(s * 1000 + i);
        }
        series.push({ labels: L({ __name__: `m_${s}`, i: String(i) }), ts, vs });
      }
      shards.push(series);
    }
    await writeDay(fs, { ext: {}, date: DATE, shards, rowGroupSize: 10 });
    const bucket = new SlowBucket(fs, 15);
    const syncer = await syncBucket(bucket, `${dir}/labels`, {
      pageCacheBytes: 0,
    });
    const matchers = [new Matcher(MatchType.Regexp, "__name__", "m_.*")];
    const hints = { start: DAY, end: DAY + 86_400_000 - 1 };
    const want = expectedSelect(shards.flat(), matchers, hints.start, hints.end)
      .map((s) => [labelsToString(s.labels), s.samples]);
    const run = async (maxQueryConcurrency: number) => {
      const db = new ParquetDB({
        days: () => syncer.days,
        chunkPartition: {
          maxRangeBytes: 64 << 20,
          maxGapBytes: 64 << 20,
          maxConcurrency: 2,
          maxQueryConcurrency,
        },
      });
      bucket.mostInFlight = 0;
      bucket.rangeRequests = 0;
      const got = await collectSeries(db.queryable().select(matchers, hints));
      assert.deepEqual(got.series.map((s) => [labelsToString(s.labels), samplesOf(s)]), want);
      return { most: bucket.mostInFlight, requests: bucket.rangeRequests };
    };
    const unlimited = await run(0);
    // One range per chunk column of each row group, all sent at once.
    assert.equal(unlimited.requests, 36);
    assert.equal(unlimited.most, 36);
    for (const cap of [1, 4, 16]) {
      const capped = await run(cap);
      assert.equal(capped.requests, 36);
      // The cap holds, and the reads overlap up to it.
      assert.equal(capped.most, cap, `cap ${cap}`);
    }
  } finally {
    await fs.close();
    await Deno.remove(dir, { recursive: true });
  }
});

import assert from "node:assert/strict";
import { FilesystemBucket } from "../../storage/objstore/filesystem.ts";
import { chunksFileKey, labelsFileKey } from "../../storage/parquet/layout.ts";
import { L, syncBucket, type TestSeries, toChunks, writeDay } from "./_fixture_testutil.ts";
import { countSamples, shardStats } from "./day_stats.ts";

const DAY = Date.UTC(2025, 4, 6);

/** `n` series of `samples` samples each, a minute apart from `offset` minutes into the day. */
function seriesOf(name: string, n: number, samples: number, offset: number): TestSeries[] {
  return Array.from({ length: n }, (_, i) => ({
    labels: L({ __name__: name, instance: `i${i}`, ...(i % 2 ? { zone: "b" } : {}) }),
    ts: Array.from({ length: samples }, (_, j) => DAY + (offset + j) * 60_000),
    vs: Array.from({ length: samples }, (_, j) => i * 1000 + j),
  }));
}

Deno.test("shardStats and countSamples describe a loaded day", async () => {
  const dir = await Deno.makeTempDir({ prefix: "day-stats-" });
  const bucket = new FilesystemBucket(`${dir}/bucket`);
  try {
    // Shard 0: 5 series over 10 hours (chunks cut at 120 samples and 2h, across the 8h columns);
    // shard 1: 3 series of 7 samples.
    const shards = [seriesOf("a", 5, 600, 0), seriesOf("b", 3, 7, 30)];
    const hash = await writeDay(bucket, {
      ext: { site: "x" },
      date: "2025-05-06",
      shards,
      rowGroupSize: 2,
    });
    const syncer = await syncBucket(bucket, `${dir}/labels`);
    const [day] = syncer.days;
    const size = async (key: string) => (await Deno.stat(`${dir}/bucket/${key}`)).size;
    assert.deepEqual(shardStats(day), [
      {
        index: 0,
        series: 5,
        rowGroups: 3,
        labelColumns: 3, // __name__, instance, zone
        labelsBytes: await size(labelsFileKey(hash, "2025-05-06", 0)),
        chunksBytes: await size(chunksFileKey(hash, "2025-05-06", 0)),
      },
      {
        index: 1,
        series: 3,
        rowGroups: 2,
        labelColumns: 3,
        labelsBytes: await size(labelsFileKey(hash, "2025-05-06", 1)),
        chunksBytes: await size(chunksFileKey(hash, "2025-05-06", 1)),
      },
    ]);
    const all = shards.flat();
    assert.deepEqual(await countSamples(bucket, day), {
      chunks: all.reduce((n, s) => n + toChunks(s).length, 0),
      samples: 5 * 600 + 3 * 7,
    });
    await assert.rejects(countSamples(bucket, day, AbortSignal.abort()));
    await syncer.close();
  } finally {
    await bucket.close();
    await Deno.remove(dir, { recursive: true });
  }
});

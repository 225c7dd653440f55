import assert from "node:assert/strict";
import { labelsFromRecord } from "../../model/labels.ts";
import { xorChunks } from "../../storage/tsdb/writer.ts";
import { ChunkSeries, MergedSeries } from "./series.ts";
import { storedChunks } from "./store_source.ts";

const labels = labelsFromRecord({ __name__: "up" });

function chunks(ts: number[]) {
  return xorChunks(ts, ts.map((t) => t / 1000), 2).map((c) => ({
    encoding: c.encoding,
    minT: c.minTime,
    maxT: c.maxTime,
    data: c.data,
  }));
}

Deno.test("storedChunks passes stored chunks through, in time order, without duplicates", () => {
  // Two days of one series; the second day's part also holds a copy of a first-day chunk.
  const day1 = chunks([1000, 2000, 3000, 4000]);
  const day2 = chunks([5000, 6000, 7000, 8000]);
  const merged = new MergedSeries(labels, [
    new ChunkSeries(labels, [day2[0], day2[1]], 0, 10_000),
    new ChunkSeries(labels, [day1[0], day1[1], day2[0]], 0, 10_000),
  ]);
  const got = storedChunks(merged, 2500, 6500);
  // [1000,2000] ends before the range; [7000,8000] starts after it.
  assert.deepEqual(got.map((c) => [c.minTime, c.maxTime]), [[3000, 4000], [5000, 6000]]);
  assert.equal(got[0].data, day1[1].data, "the stored bytes themselves");
  assert.deepEqual(storedChunks(merged, 0, 10_000).length, 4);
});

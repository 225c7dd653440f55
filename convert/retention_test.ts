import assert from "node:assert/strict";
import { listAll } from "../storage/objstore/bucket.ts";
import { FilesystemBucket } from "../storage/objstore/filesystem.ts";
import { decodeDeletionMark, RETENTION_REASON } from "../storage/parquet/meta.ts";
import type { RawChunk } from "../storage/parquet/chunk_column.ts";
import { XorChunkEncoder } from "../storage/tsdb/xor.ts";
import { convertDay } from "./convert.ts";
import { DAY_MS, parseDay } from "./days.ts";
import { DELETE_CONSISTENCY_DELAY_MS, deleteMarkedDays, markExpiredDays } from "./retention.ts";
import { MemorySource } from "./source.ts";

const ULID = "01JNKQ9V4W8X2YZ3A5B6C7D8E9";

function chunkAt(t: number): RawChunk {
  const e = new XorChunkEncoder();
  e.append(t, 1);
  return { encoding: 1, minT: t, maxT: t, data: e.bytes() };
}

Deno.test("expired days are marked, hidden, then deleted after the consistency delay", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pq-retention-test-" });
  const bucket = new FilesystemBucket(dir);
  try {
    const days = ["2025-03-01", "2025-03-02", "2025-03-03"].map(parseDay);
    const series = (
      t: number,
    ) => [{ labels: [{ name: "__name__", value: "up" }], chunks: [chunkAt(t)] }];
    for (const day of days) {
      const src = new MemorySource(ULID, series(day.start + 1000));
      await convertDay(bucket, day, {}, [src], { rowGroupSize: 10, numRowGroups: 1 });
      await convertDay(bucket, day, { cluster: "a" }, [src], { rowGroupSize: 1, numRowGroups: 1 });
    }
    const before = await listAll(bucket, "", { recursive: true });
    // Retention 1 day at 2025-03-03T12:00: days starting before 2025-03-02T12:00 expire.
    const now = days[2].start + DAY_MS / 2;
    const marked = await markExpiredDays(bucket, now, 1);
    assert.deepEqual(marked.map((d) => d.date).sort(), [
      "2025-03-01",
      "2025-03-01",
      "2025-03-02",
      "2025-03-02",
    ]);
    const marker = await bucket.get(`0/2025-03-01/deletion-marker.pb`);
    assert.equal(decodeDeletionMark(marker, "m"), RETENTION_REASON);
    assert.deepEqual(await markExpiredDays(bucket, now, 1), []);

    // Markers are fresh: nothing is deleted yet.
    assert.deepEqual(await deleteMarkedDays(bucket, Date.now()), []);
    const later = Date.now() + DELETE_CONSISTENCY_DELAY_MS + 1000;
    const deleted = await deleteMarkedDays(bucket, later);
    assert.equal(deleted.length, 4);
    const after = await listAll(bucket, "", { recursive: true });
    // Only the 2025-03-03 days and the stream descriptors remain; hash 0's D/meta.pb is gone too.
    assert.deepEqual(
      after,
      before.filter((k) => k.includes("2025-03-03") || k.endsWith("stream.pb")),
    );
    assert.ok(!after.includes("2025-03-01/meta.pb"));
  } finally {
    await bucket.close();
    await Deno.remove(dir, { recursive: true });
  }
});

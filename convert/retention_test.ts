import assert from "node:assert/strict";
import { createLogger } from "../internal/log.ts";
import { FilesystemBucket } from "../storage/objstore/filesystem.ts";
import { listAll } from "../storage/objstore/bucket.ts";
import { ParquetDiscoverer } from "../storage/parquet/discovery.ts";
import { externalLabelsHash } from "../storage/parquet/hash.ts";
import { encodeBlockMeta, encodeStreamDescriptor } from "../storage/parquet/meta.ts";
import { deleteMarkedDays, markExpiredDays } from "./retention.ts";
import { ownsDay } from "./shard.ts";

const DAY = 86_400_000;
const H = 3_600_000;
const logger = createLogger({ level: "error" });
const enc = new TextEncoder();

async function writeDay(bucket: FilesystemBucket, hash: bigint, date: string) {
  const mint = Date.parse(`${date}T00:00:00Z`);
  await bucket.upload(`${hash}/${date}/0.labels.parquet`, enc.encode("l"));
  await bucket.upload(`${hash}/${date}/0.chunks.parquet`, enc.encode("c"));
  await bucket.upload(`${hash}/${date}/1.labels.parquet`, enc.encode("l"));
  await bucket.upload(`${hash}/${date}/1.chunks.parquet`, enc.encode("c"));
  const meta = encodeBlockMeta({
    version: 2,
    mint,
    maxt: mint + DAY,
    shards: 2,
    columnsForName: new Map(),
    convertedFromBLIDs: [],
  });
  await bucket.upload(hash === 0n ? `${date}/meta.pb` : `${hash}/${date}/meta.pb`, meta);
}

Deno.test("retention marks old days, hides them, and deletes them after the delay", async () => {
  const dir = await Deno.makeTempDir();
  const bucket = new FilesystemBucket(dir);
  try {
    const ext = { cluster: "a" };
    const h = externalLabelsHash(ext);
    await bucket.upload(`${h}/stream.pb`, encodeStreamDescriptor(ext));
    for (const d of ["2025-01-01", "2025-01-05", "2025-01-09"]) await writeDay(bucket, h, d);
    await writeDay(bucket, 0n, "2025-01-02");
    const now = Date.UTC(2025, 0, 10, 12);
    const discoverer = new ParquetDiscoverer(bucket, { concurrency: 1, logger });
    await discoverer.discover();

    // Retention 5 days: cutoff 2025-01-05T12:00, so 01-01, 01-02 and 01-05 (midnight before it).
    const marked = await markExpiredDays(bucket, discoverer.streams.values(), 5, now, logger);
    assert.deepEqual(marked.sort(), [`${h}/2025-01-01`, `${h}/2025-01-05`, `0/2025-01-02`].sort());
    await discoverer.discover();
    assert.deepEqual([...discoverer.convertedDays()], [`${h}/2025-01-09`]);

    // Markers just written are younger than the delay: nothing is deleted yet.
    assert.deepEqual(await deleteMarkedDays(bucket, Date.now(), logger), []);
    const later = Date.now() + 12 * H + 1000;
    const deleted = await deleteMarkedDays(bucket, later, logger);
    assert.equal(deleted.length, 3);
    const left = await listAll(bucket, "", { recursive: true });
    assert.deepEqual(
      left.sort(),
      [
        `${h}/2025-01-09/0.chunks.parquet`,
        `${h}/2025-01-09/0.labels.parquet`,
        `${h}/2025-01-09/1.chunks.parquet`,
        `${h}/2025-01-09/1.labels.parquet`,
        `${h}/2025-01-09/meta.pb`,
        `${h}/stream.pb`,
      ].sort(),
    );
  } finally {
    await bucket.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("retention with shards: each converter marks and deletes only its own days", async () => {
  const dir = await Deno.makeTempDir();
  const bucket = new FilesystemBucket(dir);
  try {
    const ext = { cluster: "a" };
    const h = externalLabelsHash(ext);
    await bucket.upload(`${h}/stream.pb`, encodeStreamDescriptor(ext));
    const dates = ["2025-01-01", "2025-01-02", "2025-01-03", "2025-01-04", "2025-01-05"];
    for (const d of dates) await writeDay(bucket, h, d);
    const now = Date.UTC(2025, 0, 20);
    const discoverer = new ParquetDiscoverer(bucket, { concurrency: 1, logger });
    await discoverer.discover();
    const shards = [0, 1].map((index) => ({ index, count: 2 }));
    const owns = (s: { index: number; count: number }) => (hash: bigint, date: string) =>
      ownsDay(s, hash.toString(), date);

    const marked = [];
    for (const s of shards) {
      const mine = await markExpiredDays(
        bucket,
        discoverer.streams.values(),
        5,
        now,
        logger,
        undefined,
        owns(s),
      );
      for (const key of mine) assert.ok(ownsDay(s, String(h), key.split("/")[1]), key);
      marked.push(mine);
    }
    assert.ok(marked[0].length > 0 && marked[1].length > 0, "both shards own some of the days");
    assert.deepEqual(marked.flat().sort(), dates.map((d) => `${h}/${d}`));

    const later = Date.now() + 12 * H + 1000;
    const deleted = await deleteMarkedDays(
      bucket,
      later,
      logger,
      undefined,
      undefined,
      owns(shards[0]),
    );
    assert.deepEqual(deleted.sort(), marked[0].sort());
    const left = await listAll(bucket, "", { recursive: true });
    for (const key of marked[1]) assert.ok(left.includes(`${key}/meta.pb`), key);
    for (const key of marked[0]) assert.ok(!left.some((k) => k.startsWith(`${key}/`)), key);
  } finally {
    await bucket.close();
    await Deno.remove(dir, { recursive: true });
  }
});

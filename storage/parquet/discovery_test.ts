import assert from "node:assert/strict";
import { createLogger } from "../../internal/log.ts";
import { FilesystemBucket } from "../objstore/filesystem.ts";
import { ParquetDiscoverer } from "./discovery.ts";
import { externalLabelsHash } from "./hash.ts";
import { encodeBlockMeta, encodeDeletionMark, encodeStreamDescriptor } from "./meta.ts";

const DAY = 86_400_000;
const logs: string[] = [];
const logger = createLogger({ level: "warn", write: (l) => logs.push(l) });
const enc = new TextEncoder();

function meta(date: string, shards = 1): Uint8Array {
  const mint = Date.parse(`${date}T00:00:00Z`);
  return encodeBlockMeta({
    version: 2,
    mint,
    maxt: mint + DAY,
    shards,
    columnsForName: new Map(),
    convertedFromBLIDs: ["01JH0000000000000000000001"],
  });
}

Deno.test("discovery finds committed days of every stream and skips the rest", async () => {
  const dir = await Deno.makeTempDir();
  const bucket = new FilesystemBucket(dir);
  try {
    const a = { cluster: "a" };
    const ha = externalLabelsHash(a);
    const hb = externalLabelsHash({ cluster: "b" });
    // Stream a: two committed days, one without meta.pb (in progress), one marked for deletion.
    await bucket.upload(`${ha}/stream.pb`, encodeStreamDescriptor(a));
    for (const d of ["2025-01-10", "2025-01-11", "2025-01-12", "2025-01-13"]) {
      await bucket.upload(`${ha}/${d}/0.labels.parquet`, enc.encode("x"));
      await bucket.upload(`${ha}/${d}/0.chunks.parquet`, enc.encode("x"));
    }
    await bucket.upload(`${ha}/2025-01-10/meta.pb`, meta("2025-01-10"));
    await bucket.upload(`${ha}/2025-01-11/meta.pb`, meta("2025-01-11"));
    await bucket.upload(`${ha}/2025-01-13/meta.pb`, meta("2025-01-13"));
    await bucket.upload(`${ha}/2025-01-13/deletion-marker.pb`, encodeDeletionMark("expired"));
    // Stream b has no stream.pb: ignored.
    await bucket.upload(`${hb}/2025-01-10/meta.pb`, meta("2025-01-10"));
    // The stream without external labels keeps meta.pb outside the hash directory.
    await bucket.upload(`0/2025-01-09/0.labels.parquet`, enc.encode("x"));
    await bucket.upload(`2025-01-09/meta.pb`, meta("2025-01-09"));
    // A stream.pb whose labels do not hash to its directory, and a corrupt meta.pb.
    await bucket.upload(`12345/stream.pb`, encodeStreamDescriptor(a));
    await bucket.upload(`12345/2025-01-10/meta.pb`, meta("2025-01-10"));
    await bucket.upload(`${ha}/2025-01-14/meta.pb`, enc.encode("\xff\xff\xff"));
    // Unrelated objects.
    await bucket.upload(`README`, enc.encode("x"));

    const discoverer = new ParquetDiscoverer(bucket, { concurrency: 2, logger });
    await discoverer.discover();
    const streams = discoverer.streams;
    assert.deepEqual([...streams.keys()].sort(), [0n, ha].sort());
    assert.deepEqual([...streams.get(ha)!.days.keys()], ["2025-01-10", "2025-01-11"]);
    assert.deepEqual(streams.get(ha)!.externalLabels, a);
    assert.equal(streams.get(ha)!.days.get("2025-01-11")!.meta.mint, Date.UTC(2025, 0, 11));
    assert.deepEqual([...streams.get(0n)!.days.keys()], ["2025-01-09"]);
    assert.deepEqual(
      [...discoverer.convertedDays()].sort(),
      [`0/2025-01-09`, `${ha}/2025-01-10`, `${ha}/2025-01-11`].sort(),
    );
    assert.ok(logs.some((l) => l.includes("12345/stream.pb") && l.includes("hash")));
    assert.ok(logs.some((l) => l.includes(`${ha}/2025-01-14/meta.pb`)));
    assert.deepEqual(
      discoverer.skipped.map((s) => [s.hash, s.date, s.key]),
      [[12345n, undefined, "12345/stream.pb"], [ha, "2025-01-14", `${ha}/2025-01-14/meta.pb`]]
        .sort((a, b) => (String(a[2]) < String(b[2]) ? -1 : 1)),
    );
    assert.match(discoverer.skipped.find((s) => s.date)!.reason, /invalid meta\.pb/);

    // A later pass sees a newly committed day and forgets a deleted one.
    await bucket.upload(`${ha}/2025-01-12/meta.pb`, meta("2025-01-12"));
    await bucket.delete(`2025-01-09/meta.pb`);
    await bucket.delete(`${ha}/2025-01-14/meta.pb`);
    await discoverer.discover();
    assert.deepEqual(discoverer.skipped.map((s) => s.key), ["12345/stream.pb"]);
    assert.deepEqual([...discoverer.streams.keys()], [ha]);
    assert.deepEqual([...discoverer.streams.get(ha)!.days.keys()], [
      "2025-01-10",
      "2025-01-11",
      "2025-01-12",
    ]);
  } finally {
    await bucket.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("discovery of a slice reads only the selected streams and days", async () => {
  const dir = await Deno.makeTempDir();
  const bucket = new FilesystemBucket(dir);
  try {
    const streams = [{ cluster: "a" }, { cluster: "b" }, { cluster: "c" }];
    for (const ext of streams) {
      const h = externalLabelsHash(ext);
      await bucket.upload(`${h}/stream.pb`, encodeStreamDescriptor(ext));
      for (const d of ["2025-01-10", "2025-01-11", "2025-01-12"]) {
        await bucket.upload(`${h}/${d}/meta.pb`, meta(d));
      }
    }
    const [ha, hb] = streams.map(externalLabelsHash);
    // Invalid metadata outside the slice is never read, so never reported.
    await bucket.upload(`${hb}/2025-01-11/meta.pb`, enc.encode("\xff\xff\xff"));
    await bucket.upload(`${ha}/2025-01-09/meta.pb`, enc.encode("\xff\xff\xff"));
    let from = Date.UTC(2025, 0, 11);
    const seen: string[] = [];
    const discoverer = new ParquetDiscoverer(bucket, {
      concurrency: 2,
      logger,
      selectStream: (ext) => {
        seen.push(ext.cluster);
        return ext.cluster !== "b";
      },
      selectDay: (day) => day.end > from,
    });
    await discoverer.discover();
    assert.deepEqual(seen.sort(), ["a", "b", "c"]);
    const days = () =>
      [...discoverer.streams.values()].map((s) => [s.externalLabels.cluster, ...s.days.keys()])
        .sort();
    assert.deepEqual(days(), [
      ["a", "2025-01-11", "2025-01-12"],
      ["c", "2025-01-11", "2025-01-12"],
    ]);
    assert.deepEqual(discoverer.skipped, []);
    // The selectors are asked again at every pass: a moving bound drops the days it leaves.
    from = Date.UTC(2025, 0, 12) + 1;
    await discoverer.discover();
    assert.deepEqual(days(), [["a", "2025-01-12"], ["c", "2025-01-12"]]);
  } finally {
    await bucket.close();
    await Deno.remove(dir, { recursive: true });
  }
});

import { collectSeries } from "../../model/series_set.ts";
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { labelsToString } from "../../model/labels.ts";
import { Matcher, MatchType } from "../../model/matchers.ts";
import { NOP_LOGGER } from "../../internal/log.ts";
import { ObjectNotFoundError } from "../../storage/objstore/bucket.ts";
import { FilesystemBucket } from "../../storage/objstore/filesystem.ts";
import { instrumentBucket } from "../../storage/objstore/instrumented.ts";
import { ParquetDiscoverer } from "../../storage/parquet/discovery.ts";
import { chunksFileKey, labelsFileKey } from "../../storage/parquet/layout.ts";
import { expectedSelect, L, samplesOf, type TestSeries, writeDay } from "./_fixture_testutil.ts";
import { ParquetDB } from "./db.ts";
import { LocalLabelFileStore } from "./label_files.ts";
import { Syncer, SyncError } from "./syncer.ts";

const DAY = Date.UTC(2025, 1, 1);

function series(): TestSeries[] {
  const out: TestSeries[] = [];
  for (const name of ["up", "load"]) {
    for (let i = 0; i < 4; i++) {
      const ts = [DAY + i * 1000, DAY + 10 * 3_600_000 + i, DAY + 20 * 3_600_000];
      const labels: Record<string, string> = { __name__: name, instance: `i${i}` };
      if (name === "up") labels.job = "node";
      else labels.core = String(i);
      out.push({ labels: L(labels), ts, vs: [1, 2, 3 + i] });
    }
  }
  return out;
}

async function withDir(fn: (dir: string, bucket: FilesystemBucket) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "serve-db-syncer-" });
  const bucket = new FilesystemBucket(`${dir}/bucket`);
  try {
    await fn(dir, bucket);
  } finally {
    await bucket.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function load(dir: string, bucket: FilesystemBucket) {
  const discoverer = new ParquetDiscoverer(bucket, { concurrency: 1, logger: NOP_LOGGER });
  await discoverer.discover();
  const store = new LocalLabelFileStore(bucket, `${dir}/labels`);
  const syncer = new Syncer({
    bucket,
    streams: () => discoverer.streams,
    labelFiles: store,
    logger: NOP_LOGGER,
    registry: new Registry(),
  });
  return { discoverer, store, syncer };
}

Deno.test("Syncer + ParquetDB: stream without external labels, declared V0 and V1", async () => {
  for (const version of [0, 1]) {
    await withDir(async (dir, bucket) => {
      const all = series();
      await writeDay(bucket, {
        ext: {},
        date: "2025-02-01",
        shards: [all],
        rowGroupSize: 3,
        version,
        // V0 reads __name__ and then the columns listed for the name found.
        columnsForName: new Map([
          ["up", ["___cf_meta_label_instance", "___cf_meta_label_job"]],
          ["load", ["___cf_meta_label_instance", "___cf_meta_label_core"]],
        ]),
      });
      const { syncer } = await load(dir, bucket);
      await syncer.sync();
      assert.deepEqual(syncer.days.map((d) => [d.hash, d.date, d.meta.version]), [
        [0n, "2025-02-01", version],
      ]);
      const q = new ParquetDB({ days: () => syncer.days }).queryable();
      for (
        const m of [
          [new Matcher(MatchType.Equal, "__name__", "up")],
          [new Matcher(MatchType.Regexp, "core", "[12]")],
          [
            new Matcher(MatchType.Equal, "job", ""),
            new Matcher(MatchType.Regexp, "instance", "i[03]"),
          ],
        ]
      ) {
        const got = await collectSeries(
          q.select(m, { start: DAY + 5 * 3_600_000, end: DAY + 86_400_000 }),
        );
        const want = expectedSelect(all, m, DAY + 5 * 3_600_000, DAY + 86_400_000);
        assert.deepEqual(
          got.series.map((s) => [labelsToString(s.labels), samplesOf(s)]),
          want.map((s) => [labelsToString(s.labels), s.samples]),
          `V${version} ${m.join(",")}`,
        );
      }
      assert.deepEqual(
        (await q.labelNames([new Matcher(MatchType.Equal, "__name__", "load")], {
          start: DAY,
          end: DAY,
        })).values,
        ["__name__", "core", "instance"],
      );
      await syncer.close();
    });
  }
});

Deno.test("Syncer: a day with a missing shard file fails the pass, the others still load", async () => {
  await withDir(async (dir, bucket) => {
    const hash = await writeDay(bucket, {
      ext: { a: "1" },
      date: "2025-02-01",
      shards: [series()],
    });
    await writeDay(bucket, { ext: { a: "1" }, date: "2025-02-02", shards: [series()] });
    await bucket.delete(chunksFileKey(hash, "2025-02-02", 0));
    const { syncer } = await load(dir, bucket);
    await assert.rejects(syncer.sync(), (err: unknown) => {
      assert.ok(err instanceof SyncError);
      assert.deepEqual([...err.failures.keys()], [`${hash}/2025-02-02`]);
      // The days' errors are its aggregate errors, where their causes can be looked for.
      assert.ok(err instanceof AggregateError);
      assert.deepEqual(err.errors, [...err.failures.values()]);
      assert.ok(err.errors[0] instanceof ObjectNotFoundError, String(err.errors[0]));
      return true;
    });
    assert.deepEqual(syncer.days.map((d) => d.date), ["2025-02-01"]);
    // The failure is kept with its reason until a pass loads the day.
    const key = chunksFileKey(hash, "2025-02-02", 0);
    const failure = syncer.failures.get(`${hash}/2025-02-02`);
    assert.ok(failure, "the failed day is listed");
    assert.equal(failure.corruptedLabelsFile, false);
    assert.ok(failure.reason.includes(key), failure.reason);
    assert.deepEqual([...syncer.failures.keys()], [`${hash}/2025-02-02`]);
    assert.ok(syncer.lastSync > 0);
    await writeDay(bucket, { ext: { a: "1" }, date: "2025-02-02", shards: [series()] });
    await syncer.sync();
    assert.deepEqual(syncer.days.map((d) => d.date), ["2025-02-01", "2025-02-02"]);
    assert.equal(syncer.failures.size, 0);
    await syncer.close();
    assert.deepEqual(syncer.days, []);
  });
});

Deno.test("Syncer + ParquetDB: a day that failed to load is named in a warning, never omitted silently", async () => {
  await withDir(async (dir, bucket) => {
    const all = series();
    const next = all.map((s) => ({ ...s, ts: s.ts.map((t) => t + 86_400_000) }));
    const hash = await writeDay(bucket, { ext: { a: "1" }, date: "2025-02-01", shards: [all] });
    await writeDay(bucket, { ext: { a: "1" }, date: "2025-02-02", shards: [next] });
    await writeDay(bucket, { ext: { a: "2" }, date: "2025-02-02", shards: [next] });
    // A labels file that is not Parquet (corrupt) and a chunks file that vanished.
    await bucket.upload(labelsFileKey(hash, "2025-02-01", 0), new Uint8Array(64).fill(7));
    const other = (await load(dir, bucket)).discoverer;
    const a2 = [...other.streams.values()].find((s) => s.externalLabels.a === "2")!;
    await bucket.delete(chunksFileKey(a2.hash, "2025-02-02", 0));
    const { syncer } = await load(dir, bucket);
    await assert.rejects(syncer.sync(), SyncError);
    assert.deepEqual(syncer.days.map((d) => d.key), [`${hash}/2025-02-02`]);
    assert.deepEqual(syncer.unavailable.map((d) => d.key), [
      `${hash}/2025-02-01`,
      `${a2.hash}/2025-02-02`,
    ]);
    const db = new ParquetDB({ days: () => syncer.days, unavailable: () => syncer.unavailable });
    const up = [new Matcher(MatchType.Equal, "__name__", "up")];
    // Day ends are inclusive (meta maxt is the next midnight): start after day one.
    const D2 = DAY + 86_400_000 + 1;
    const dayOne = await collectSeries(
      db.queryable().select(up, { start: DAY, end: DAY + 3_600_000 }),
    );
    assert.deepEqual(dayOne.series, []);
    assert.equal(dayOne.warnings.length, 1);
    assert.match(
      dayOne.warnings[0],
      /^day 2025-02-01 of stream \{a="1"\} is not loaded, its data is missing from this result: .*labels\.parquet: corrupted labels file/,
    );
    // Over the second day: the loaded stream answers, the other one is named.
    const dayTwo = await collectSeries(
      db.queryable().select(up, { start: D2, end: D2 + 21 * 3_600_000 }),
    );
    assert.equal(dayTwo.series.length, 4);
    assert.equal(dayTwo.warnings.length, 1);
    assert.match(
      dayTwo.warnings[0],
      /^day 2025-02-02 of stream \{a="2"\} is not loaded, .*chunks\.parquet/,
    );
    // A matcher on the external labels excludes the failed stream: nothing is missing.
    const onlyA1 = await collectSeries(
      db.queryable().select([...up, new Matcher(MatchType.Equal, "a", "1")], {
        start: D2,
        end: D2 + 3_600_000,
      }),
    );
    assert.deepEqual(onlyA1.warnings, []);
    const names = await db.queryable().labelNames([], { start: DAY, end: D2 + 1 });
    assert.equal(names.warnings.length, 2);

    // Once the files are back, the next pass loads both days and the warnings go.
    await writeDay(bucket, { ext: { a: "1" }, date: "2025-02-01", shards: [all] });
    await writeDay(bucket, { ext: { a: "2" }, date: "2025-02-02", shards: [next] });
    await syncer.sync();
    assert.deepEqual(syncer.unavailable, []);
    const again = await collectSeries(
      db.queryable().select(up, { start: DAY, end: D2 + 3_600_000 }),
    );
    assert.deepEqual(again.warnings, []);
    // `up` of both streams; stream a="1" on both days merges into one series each.
    assert.equal(again.series.length, 8);
    await syncer.close();
  });
});

Deno.test("locate_* metrics: discoverer and syncer ranges, last successes and bucket requests", async () => {
  await withDir(async (dir, fs) => {
    const hash = await writeDay(fs, { ext: { a: "1" }, date: "2025-02-01", shards: [series()] });
    await writeDay(fs, { ext: { a: "1" }, date: "2025-02-02", shards: [series(), series()] });
    const registry = new Registry();
    const bucket = instrumentBucket(fs, registry, "parquet");
    const discoverer = new ParquetDiscoverer(bucket, {
      concurrency: 1,
      logger: NOP_LOGGER,
      registry,
    });
    const syncer = new Syncer({
      bucket,
      streams: () => discoverer.streams,
      labelFiles: new LocalLabelFileStore(bucket, `${dir}/labels`),
      logger: NOP_LOGGER,
      registry,
    });
    const value = async (name: string, labels: Record<string, string> = {}) =>
      (await registry.getSingleMetric(name)!.get()).values
        .find((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))?.value;
    const lastSuccess = (what: string) =>
      value("locate_sync_last_successful_update_time_unix_seconds", { what });
    const getRanges = () =>
      value("objstore_bucket_operations_total", { bucket: "parquet", operation: "get_range" });

    let before = Date.now() / 1000;
    await discoverer.discover();
    let after = Date.now() / 1000;
    assert.equal(await value("locate_sync_min_time_unix_seconds", { what: "discoverer" }), DAY);
    assert.equal(
      await value("locate_sync_max_time_unix_seconds", { what: "discoverer" }),
      DAY + 2 * 86_400_000,
    );
    const discovered = (await lastSuccess("discoverer"))!;
    assert.ok(discovered >= before && discovered <= after);
    assert.equal(await lastSuccess("syncer"), 0);
    assert.equal(await value("locate_bucket_requests_total"), 0);

    before = Date.now() / 1000;
    await syncer.sync();
    after = Date.now() / 1000;
    assert.equal(await value("locate_sync_min_time_unix_seconds", { what: "syncer" }), DAY);
    assert.equal(
      await value("locate_sync_max_time_unix_seconds", { what: "syncer" }),
      DAY + 2 * 86_400_000,
    );
    const synced = (await lastSuccess("syncer"))!;
    assert.ok(synced >= before && synced <= after);
    // Opening the 3 chunks files takes ranged reads (magic, footer); those are all the ranged
    // reads of a sync, since labels files are downloaded whole.
    const opened = (await getRanges())!;
    assert.ok(opened >= 3 * 2, `${opened}`);
    assert.equal(await value("locate_bucket_requests_total"), opened);

    const q = new ParquetDB({ days: () => syncer.days }).queryable();
    const got = await collectSeries(q.select([new Matcher(MatchType.Equal, "__name__", "up")], {
      start: DAY,
      end: DAY + 2 * 86_400_000,
    }));
    assert.equal(got.series.length, 4);
    assert.ok((await getRanges())! > opened);
    assert.equal(await value("locate_bucket_requests_total"), await getRanges());

    // A failed pass leaves the last success (and the loaded range) as they were.
    await syncer.close();
    await fs.delete(chunksFileKey(hash, "2025-02-01", 0));
    await assert.rejects(syncer.sync(), SyncError);
    assert.equal(await lastSuccess("syncer"), synced);
    assert.equal(
      await value("locate_sync_min_time_unix_seconds", { what: "syncer" }),
      DAY + 86_400_000,
    );
  });
});

Deno.test("LocalLabelFileStore: downloads once, atomically; replaces copies of the wrong size", async () => {
  await withDir(async (dir, bucket) => {
    const hash = await writeDay(bucket, { ext: {}, date: "2025-02-01", shards: [series()] });
    const key = labelsFileKey(hash, "2025-02-01", 0);
    const size = (await bucket.attributes(key)).size;
    const store = new LocalLabelFileStore(bucket, `${dir}/labels`);
    assert.equal(store.pathOf(key), `${dir}/labels/0%2F2025-02-01%2F0.labels.parquet`);
    const want = await bucket.get(key);
    for (let i = 0; i < 2; i++) {
      const src = await store.open(key, size);
      assert.deepEqual(await src.read(0, size), want);
      await src.close();
    }
    assert.equal(store.downloads, 1, "the second open reuses the copy");
    await Deno.writeFile(store.pathOf(key), new Uint8Array(10));
    const src = await store.open(key, size);
    assert.deepEqual(await src.read(0, size), want);
    await src.close();
    assert.equal(store.downloads, 2, "a copy of the wrong size is replaced");
    assert.deepEqual([...Deno.readDirSync(`${dir}/labels`)].map((e) => e.name), [
      "0%2F2025-02-01%2F0.labels.parquet",
    ]);
    await store.remove(key);
    await store.remove(key); // missing copies are fine
    assert.deepEqual([...Deno.readDirSync(`${dir}/labels`)], []);
  });
});

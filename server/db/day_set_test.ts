import { collectSeries } from "../../model/series_set.ts";
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { NOP_LOGGER } from "../../internal/log.ts";
import { labelsToString } from "../../model/labels.ts";
import { Matcher, MatchType } from "../../model/matchers.ts";
import { FilesystemBucket } from "../../storage/objstore/filesystem.ts";
import { ParquetDiscoverer } from "../../storage/parquet/discovery.ts";
import { labelsFileKey } from "../../storage/parquet/layout.ts";
import { expectedSelect, L, samplesOf, type TestSeries, writeDay } from "./_fixture_testutil.ts";
import { DaySet } from "./day_set.ts";
import { ParquetDB } from "./db.ts";
import { LocalLabelFileStore } from "./label_files.ts";
import { dayFiles } from "./open_day.ts";
import { Syncer } from "./syncer.ts";

const DAY = Date.UTC(2025, 3, 1);
const H = 3_600_000;

function series(day: number): TestSeries[] {
  return Array.from({ length: 6 }, (_, i) => ({
    labels: L({ __name__: "req", pod: `p${i}` }),
    ts: [day + H, day + 5 * H, day + 9 * H],
    vs: [i, i + 1, i + 2],
  }));
}

async function fixture() {
  const dir = await Deno.makeTempDir({ prefix: "serve-db-day-set-" });
  const bucket = new FilesystemBucket(`${dir}/bucket`);
  const days = [DAY, DAY + 24 * H];
  for (const d of days) {
    await writeDay(bucket, {
      ext: { zone: "a" },
      date: new Date(d).toISOString().slice(0, 10),
      shards: [series(d).slice(0, 3), series(d).slice(3)],
      rowGroupSize: 2,
    });
  }
  const discoverer = new ParquetDiscoverer(bucket, { concurrency: 1, logger: NOP_LOGGER });
  await discoverer.discover();
  const store = new LocalLabelFileStore(bucket, `${dir}/labels`);
  const syncer = new Syncer({
    bucket,
    streams: () => discoverer.streams,
    labelFiles: store,
    logger: NOP_LOGGER,
  });
  await syncer.sync();
  const registry = new Registry();
  const set = new DaySet({
    bucket,
    openLabels: (ref) => store.openCopy(ref.key, ref.size),
    pageCacheBytes: 1 << 20,
    dictionaryCacheEntries: 1000,
    registry,
    logger: NOP_LOGGER,
  });
  return {
    bucket,
    store,
    syncer,
    discoverer,
    set,
    registry,
    all: days.flatMap((d) => series(d)).map((s) => ({
      ...s,
      labels: L({ ...Object.fromEntries(s.labels.map((l) => [l.name, l.value])), zone: "a" }),
    })),
    async cleanup() {
      await set.close();
      await syncer.close();
      await bucket.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const REQ = [new Matcher(MatchType.Equal, "__name__", "req")];

Deno.test("DaySet: opens the syncer's days again from their files, without downloading", async () => {
  const f = await fixture();
  try {
    const downloads = f.store.downloads;
    const update = await f.set.update(f.syncer.days.map(dayFiles), f.syncer.unavailable);
    assert.deepEqual(update, { loaded: 2, failed: [] });
    assert.equal(f.store.downloads, downloads);
    assert.deepEqual(f.set.days.map((d) => d.key), f.syncer.days.map((d) => d.key));
    const db = new ParquetDB({ days: () => f.set.days, unavailable: () => f.set.unavailable });
    const got = await collectSeries(db.queryable().select(REQ, { start: DAY, end: DAY + 48 * H }));
    assert.deepEqual(
      got.series.map((s) => [labelsToString(s.labels), samplesOf(s)]),
      expectedSelect(f.all, REQ, DAY, DAY + 48 * H).map((s) => [
        labelsToString(s.labels),
        s.samples,
      ]),
    );
    assert.deepEqual(got.warnings, []);
    assert.match(await f.registry.metrics(), /^locate_bucket_requests_total [1-9]/m);
  } finally {
    await f.cleanup();
  }
});

Deno.test("DaySet: a day whose files vanished is named in warnings; dropped days close", async () => {
  const f = await fixture();
  try {
    const [one, two] = f.syncer.days;
    // The local copy of one shard of day two is gone before this set opens it.
    await Deno.remove(f.store.pathOf(labelsFileKey(two.hash, two.date, 1)));
    const update = await f.set.update(f.syncer.days.map(dayFiles), []);
    assert.equal(update.loaded, 1);
    assert.deepEqual(update.failed.map((d) => d.key), [two.key]);
    const db = new ParquetDB({ days: () => f.set.days, unavailable: () => f.set.unavailable });
    const got = await collectSeries(
      db.queryable().select(REQ, { start: DAY + 24 * H + 1, end: DAY + 48 * H }),
    );
    assert.deepEqual(got.series, []);
    assert.equal(got.warnings.length, 1);
    assert.match(got.warnings[0], new RegExp(`^day ${two.date} of stream \\{zone="a"\\} is not`));
    assert.deepEqual(
      (await collectSeries(db.queryable().select(REQ, { start: DAY, end: DAY + 10 * H }))).warnings,
      [],
    );

    // An update without day one releases it (its files close with its last reference) and
    // tries day two again.
    await f.syncer.sync(); // downloads the copy again
    const opened = f.set.days[0];
    assert.ok(opened.acquire());
    const next = await f.set.update([dayFiles(two)], []);
    assert.deepEqual(next, { loaded: 1, failed: [] });
    assert.deepEqual(f.set.days.map((d) => d.key), [two.key]);
    assert.deepEqual(f.set.unavailable, []);
    // Still held by the reference taken above: readable until released.
    const held = new ParquetDB({ days: () => [opened] }).queryable();
    assert.equal(
      (await collectSeries(held.select(REQ, { start: DAY, end: DAY + 10 * H }))).series.length,
      6,
    );
    await opened.release();
    assert.equal(opened.acquire(), false, "released day is closed");
    assert.equal(one.key, opened.key);
  } finally {
    await f.cleanup();
  }
});

Deno.test("DaySet: a day whose meta.pb changed is opened again", async () => {
  const f = await fixture();
  try {
    await f.set.update(f.syncer.days.map(dayFiles), []);
    const before = f.set.days[0];
    const [first, second] = f.syncer.days;
    const blids = ["01HZZZZZZZZZZZZZZZZZZZZZZZ"];
    const changed = { ...dayFiles(first), meta: { ...first.meta, convertedFromBLIDs: blids } };
    await f.set.update([changed, dayFiles(second)], []);
    assert.notEqual(f.set.days[0], before);
    assert.deepEqual(f.set.days[0].meta.convertedFromBLIDs, blids);
    assert.equal(before.acquire(), false, "the old day is closed");
  } finally {
    await f.cleanup();
  }
});

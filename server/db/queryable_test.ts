import { collectSeries } from "../../model/series_set.ts";
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { labelsToString } from "../../model/labels.ts";
import { Matcher, MatchType } from "../../model/matchers.ts";
import type { Queryable, SelectHints } from "../../model/queryable.ts";
import { NOP_LOGGER } from "../../internal/log.ts";
import { FilesystemBucket } from "../../storage/objstore/filesystem.ts";
import { ParquetDiscoverer } from "../../storage/parquet/discovery.ts";
import {
  expectedSelect,
  L,
  samplesOf,
  type TestSeries,
  withExt,
  writeDay,
} from "./_fixture_testutil.ts";
import { ParquetDB, type ParquetDBOptions } from "./db.ts";
import { LocalLabelFileStore } from "./label_files.ts";
import { QuotaExceededError } from "./limits.ts";
import { WARN_DROPPED_SERIES, WARN_DROPPED_VALUES, WARN_TRUNCATED } from "./queryable.ts";
import { Syncer } from "./syncer.ts";

const H = 3_600_000;
const D1 = Date.UTC(2025, 2, 2);
const D2 = D1 + 24 * H;
const END = D2 + 24 * H - 1;

const eq = (n: string, v: string) => new Matcher(MatchType.Equal, n, v);
const neq = (n: string, v: string) => new Matcher(MatchType.NotEqual, n, v);
const re = (n: string, v: string) => new Matcher(MatchType.Regexp, n, v);
const nre = (n: string, v: string) => new Matcher(MatchType.NotRegexp, n, v);

/** Values derived from the labels only, so equal series in two streams hold equal samples. */
function series(labels: Record<string, string>, step = 30 * 60_000): TestSeries {
  const l = L(labels);
  const seed = [...labelsToString(l)].reduce((a, c) => (a * 31 + c.charCodeAt(0)) % 10007, 7);
  const ts: number[] = [], vs: number[] = [];
  for (let t = D1; t <= END; t += step) {
    ts.push(t);
    vs.push(seed + (t - D1) / step);
  }
  return { labels: l, ts, vs };
}

function streamA(): TestSeries[] {
  const out: TestSeries[] = [];
  for (const job of ["api", "web", "db"]) {
    for (let i = 0; i < 6; i++) {
      for (const code of ["200", "300", "404", "500", ""]) {
        out.push(series({ __name__: "http_requests_total", job, instance: `i${i}`, code }));
      }
      out.push(series({ __name__: "up", job, instance: `i${i}` }));
    }
  }
  for (let i = 0; i < 6; i++) {
    out.push(
      series({ __name__: "node_load", instance: `i${i}`, ...(i % 2 ? { extra: `x${i}` } : {}) }),
    );
  }
  return out;
}

function streamB(): TestSeries[] {
  return streamA().filter((s) => s.labels[0].value === "up");
}

/** Two series that external labels make identical. */
const DUPS = [
  series({ __name__: "dup_metric", job: "api" }),
  series({ __name__: "dup_metric", job: "api", cluster: "inner" }),
];

interface Fixture {
  bucket: FilesystemBucket;
  dir: string;
  labelDir: string;
  discoverer: ParquetDiscoverer;
  syncer: Syncer;
  store: LocalLabelFileStore;
  registry: Registry;
  db: (opts?: Partial<ParquetDBOptions>) => ParquetDB;
  cleanup: () => Promise<void>;
}

async function fixture(): Promise<Fixture> {
  const dir = await Deno.makeTempDir({ prefix: "serve-db-test-" });
  const bucket = new FilesystemBucket(`${dir}/bucket`);
  const a = streamA();
  const shard0 = a.filter((_, i) => i % 2 === 0).concat(DUPS);
  const shard1 = a.filter((_, i) => i % 2 === 1);
  for (const date of ["2025-03-02", "2025-03-03"]) {
    await writeDay(bucket, {
      ext: { cluster: "eu" },
      date,
      shards: [shard0, shard1],
      rowGroupSize: 16,
      labelsPageSize: 128,
      chunksPageSize: 1024,
    });
  }
  await writeDay(bucket, {
    ext: { cluster: "us" },
    date: "2025-03-02",
    shards: [streamB()],
    rowGroupSize: 5,
  });
  const discoverer = new ParquetDiscoverer(bucket, { concurrency: 2, logger: NOP_LOGGER });
  await discoverer.discover();
  const labelDir = `${dir}/labels`;
  const store = new LocalLabelFileStore(bucket, labelDir);
  const registry = new Registry();
  const syncer = new Syncer({
    bucket,
    streams: () => discoverer.streams,
    labelFiles: store,
    concurrency: 2,
    logger: NOP_LOGGER,
    registry,
  });
  await syncer.sync();
  return {
    bucket,
    dir,
    labelDir,
    discoverer,
    syncer,
    store,
    registry,
    db: (opts) => new ParquetDB({ days: () => syncer.days, ...opts }),
    cleanup: async () => {
      await syncer.close();
      await bucket.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Every series with its final labels (streams A on both days, B on day 1 only). */
function allSeries(ext?: Record<string, string>): TestSeries[] {
  const dayOne = (s: TestSeries) => {
    const keep = s.ts.map((t, i) => [t, s.vs[i]]).filter(([t]) => t < D2);
    return { labels: s.labels, ts: keep.map((x) => x[0]), vs: keep.map((x) => x[1]) };
  };
  return [
    ...withExt(streamA(), ext ?? { cluster: "eu" }),
    ...withExt(streamB().map(dayOne), ext ?? { cluster: "us" }),
  ];
}

async function check(
  q: Queryable,
  matchers: Matcher[],
  mint: number,
  maxt: number,
  all = allSeries(),
) {
  const hints: SelectHints = { start: mint, end: maxt };
  const got = await collectSeries(q.select(matchers, hints));
  const want = expectedSelect(all, matchers, mint, maxt);
  const what = `{${matchers.join(",")}} [${mint - D1}, ${maxt - D1}]`;
  // The contract allows series whose chunks overlap the range without a sample inside it.
  const nonEmpty = got.series
    .map((s) => ({ labels: s.labels, samples: samplesOf(s) }))
    .filter((s) => s.samples.length > 0);
  assert.deepEqual(
    nonEmpty.map((s) => labelsToString(s.labels)),
    want.map((s) => labelsToString(s.labels)),
    what,
  );
  nonEmpty.forEach((s, i) => assert.deepEqual(s.samples, want[i].samples, what));
  assert.deepEqual(got.warnings, [], what);
  return nonEmpty.length;
}

Deno.test("ParquetDB select, labelNames, labelValues over written days", async (t) => {
  const f = await fixture();
  try {
    assert.equal(f.syncer.days.length, 3);
    const db = f.db();
    const matcherSets: Matcher[][] = [
      [eq("__name__", "http_requests_total"), eq("job", "api")],
      [re("__name__", "http_requests_total|up"), re("instance", "i[12]")],
      [eq("__name__", "http_requests_total"), eq("code", "")],
      [eq("__name__", "http_requests_total"), neq("code", "200")],
      [eq("__name__", "http_requests_total"), nre("code", "2..|3..")],
      [re("job", "a.*|db"), re("code", "404|500|200")],
      [re("code", "300|404|500"), eq("instance", "i4")],
      [eq("instance", "i3")],
      [eq("__name__", "node_load"), re("extra", ".+")],
      [eq("__name__", "node_load"), eq("extra", "")],
      [eq("__name__", "nonexistent")],
      [eq("no_such_label", "x")],
      [neq("no_such_label", "x"), eq("__name__", "up")],
    ];
    const ranges: [number, number][] = [
      [D1, END],
      [D1 + 7 * H, D1 + 17 * H], // crosses both 8h column boundaries
      [D1 + 20 * H, D2 + 3 * H], // crosses the day boundary
      [D1 + 8 * H, D1 + 8 * H], // one instant at a column boundary
      [D1 + 8 * H + 1, D1 + 8 * H + 60_000], // between two samples: nothing
    ];
    await t.step("matchers x time ranges equal the expected series and samples", async () => {
      // Batches of three series cross shards, days and streams within a batch and between two.
      for (const q of [() => db.queryable(), () => f.db({ selectBatchSize: 3 }).queryable()]) {
        let nonEmpty = 0;
        for (const m of matcherSets) {
          for (const [mint, maxt] of ranges) nonEmpty += await check(q(), m, mint, maxt);
        }
        assert.ok(nonEmpty > 100, `only ${nonEmpty} series checked`);
      }
    });

    await t.step("external labels: matched, consumed and set on the series", async () => {
      const q = db.queryable();
      assert.ok(await check(q, [eq("cluster", "us")], D1, END) === 18);
      assert.ok(await check(q, [re("cluster", "eu|us"), eq("__name__", "up")], D1, END) === 36);
      assert.ok(await check(q, [neq("cluster", "eu"), eq("__name__", "up")], D1, END) === 18);
      assert.equal(await check(q, [eq("cluster", "asia")], D1, END), 0);
      assert.equal(await check(q, [eq("cluster", "")], D1, END), 0);
    });

    await t.step(
      "external labels make two series of a shard equal: one dropped, warned",
      async () => {
        const got = await collectSeries(
          db.queryable().select([eq("__name__", "dup_metric")], {
            start: D1,
            end: END,
          }),
        );
        assert.deepEqual(got.series.map((s) => labelsToString(s.labels)), [
          'dup_metric{cluster="eu", job="api"}',
        ]);
        assert.deepEqual(got.warnings, [WARN_DROPPED_SERIES]);
      },
    );

    await t.step("--query.external-label overrides stream labels; equal series merge", async () => {
      const over = f.db({ externalLabels: { region: "x" } });
      const all = allSeries({ region: "x" });
      assert.equal(await check(over.queryable(), [eq("__name__", "up")], D1, END, all), 18);
      assert.equal(
        await check(
          over.queryable(),
          [eq("region", "x"), eq("job", "db")],
          D1 + 23 * H,
          D2 + H,
          all,
        ),
        36,
      );
      assert.equal(await check(over.queryable(), [eq("cluster", "eu")], D1, END, all), 0);
    });

    await t.step(
      "replica labels are dropped after external labels; equal series merge",
      async () => {
        const q = db.queryable({ replicaLabels: ["cluster"] });
        const all = allSeries().map((s) => ({
          ...s,
          labels: s.labels.filter((l) => l.name !== "cluster"),
        }));
        assert.equal(await check(q, [eq("__name__", "up")], D1, END, all), 18);
        // Matchers on a replica external label still select the stream.
        const us = await collectSeries(
          q.select([eq("cluster", "us"), eq("job", "api")], { start: D1, end: END }),
        );
        const wantUs = expectedSelect(
          allSeries(),
          [eq("cluster", "us"), eq("job", "api")],
          D1,
          END,
        );
        assert.deepEqual(
          us.series.map((s) => [labelsToString(s.labels), samplesOf(s)]),
          wantUs.map((s) => [
            labelsToString(s.labels.filter((l) => l.name !== "cluster")),
            s.samples,
          ]),
        );
        assert.equal(us.series.length, 6);
        const names = await q.labelNames([eq("__name__", "up")], { start: D1, end: END });
        assert.deepEqual(names.values, ["__name__", "instance", "job"]);
        assert.deepEqual(await q.labelValues("cluster", [], { start: D1, end: END }), {
          values: [],
          warnings: [],
        });
      },
    );

    await t.step("shard operations are counted in db_queryable_operations_total", async () => {
      const registry = new Registry();
      const q = f.db({ registry }).queryable();
      await collectSeries(q.select([eq("__name__", "up")], { start: D1, end: D1 + H }));
      await q.labelNames([], { start: D1, end: D1 + H });
      const text = await registry.metrics();
      // Day 1 of stream A (2 shards) and of stream B (1 shard).
      assert.match(text, /db_queryable_operations_total\{type="select",where="shard"\} 3\n/);
      assert.match(text, /db_queryable_operations_total\{type="label_names",where="shard"\} 3\n/);
      assert.match(
        text,
        /db_queryable_operations_seconds_count\{type="select",where="shard"\} 3\n/,
      );
    });

    await t.step("func=series returns label sets without reading chunks", async () => {
      const m = [eq("__name__", "up"), eq("job", "web")];
      const got = await collectSeries(
        db.queryable().select(m, {
          start: D2 + H,
          end: D2 + 2 * H,
          func: "series",
        }),
      );
      const want = expectedSelect(allSeries(), m, D2, END).map((s) => labelsToString(s.labels));
      assert.deepEqual(got.series.map((s) => labelsToString(s.labels)), want);
      assert.equal(want.length, 6);
    });

    await t.step("limit truncates with a warning only when results were cut", async () => {
      const m = [eq("__name__", "http_requests_total")];
      const want = expectedSelect(allSeries(), m, D1, END).map((s) => labelsToString(s.labels));
      const got = await collectSeries(db.queryable().select(m, { start: D1, end: END, limit: 5 }));
      assert.deepEqual(got.series.map((s) => labelsToString(s.labels)), want.slice(0, 5));
      assert.deepEqual(got.warnings, [WARN_TRUNCATED]);
      const all = await collectSeries(
        db.queryable().select(m, { start: D1, end: END, limit: want.length }),
      );
      assert.equal(all.series.length, want.length);
      assert.deepEqual(all.warnings, []);
    });

    await t.step("labelNames with and without matchers", async () => {
      const q = db.queryable();
      const hints = { start: D1, end: END };
      assert.deepEqual((await q.labelNames([], hints)).values, [
        "__name__",
        "cluster",
        "code",
        "extra",
        "instance",
        "job",
      ]);
      assert.deepEqual((await q.labelNames([eq("__name__", "up")], hints)).values, [
        "__name__",
        "cluster",
        "instance",
        "job",
      ]);
      assert.deepEqual(
        (await q.labelNames([eq("__name__", "node_load"), eq("extra", "")], hints)).values,
        [
          "__name__",
          "cluster",
          "instance",
        ],
      );
      assert.deepEqual((await q.labelNames([eq("cluster", "asia")], hints)).values, []);
      const limited = await q.labelNames([], { ...hints, limit: 2 });
      assert.deepEqual(limited, { values: ["__name__", "cluster"], warnings: [WARN_TRUNCATED] });
    });

    await t.step("labelValues with and without matchers, external label values", async () => {
      const q = db.queryable();
      const hints = { start: D1, end: END };
      assert.deepEqual((await q.labelValues("job", [], hints)).values, ["api", "db", "web"]);
      assert.deepEqual(
        (await q.labelValues("code", [eq("job", "api"), eq("instance", "i0")], hints)).values,
        ["200", "300", "404", "500"],
      );
      assert.deepEqual((await q.labelValues("extra", [], hints)).values, ["x1", "x3", "x5"]);
      assert.deepEqual(
        (await q.labelValues("instance", [eq("__name__", "up"), eq("cluster", "us")], hints))
          .values,
        ["i0", "i1", "i2", "i3", "i4", "i5"],
      );
      // "cluster" is an external label; dup_metric also stores a "cluster" column.
      assert.deepEqual(await q.labelValues("cluster", [], hints), {
        values: ["eu", "us"],
        warnings: [WARN_DROPPED_VALUES],
      });
      assert.deepEqual(await q.labelValues("cluster", [eq("__name__", "node_load")], hints), {
        values: ["eu"],
        warnings: [],
      });
      assert.deepEqual((await q.labelValues("job", [], { start: D2 + H, end: D2 + H })).values, [
        "api",
        "db",
        "web",
      ]);
      assert.deepEqual((await q.labelValues("nope", [], hints)).values, []);
      assert.deepEqual(await q.labelValues("job", [], { ...hints, limit: 1 }), {
        values: ["api"],
        warnings: [WARN_TRUNCATED],
      });
    });

    await t.step("quotas: shards, rows, chunk bytes and label rows per request", async () => {
      const m = [eq("__name__", "up")];
      const hints = { start: D1, end: END };
      const limited = (limits: Partial<ParquetDBOptions["limits"]>) =>
        f.db({
          limits: {
            maxShards: 0,
            maxSelectRows: 0,
            maxChunkBytes: 0,
            maxLabelNamesRows: 0,
            maxLabelValuesRows: 0,
            ...limits,
          },
        }).queryable();
      await assert.rejects(
        collectSeries(limited({ maxShards: 4 }).select(m, hints)),
        QuotaExceededError,
      );
      assert.equal(
        (await collectSeries(limited({ maxShards: 5 }).select(m, hints))).series.length,
        36,
      );
      await assert.rejects(
        collectSeries(limited({ maxSelectRows: 53 }).select(m, hints)),
        QuotaExceededError,
      );
      assert.equal(
        (await collectSeries(limited({ maxSelectRows: 54 }).select(m, hints))).series.length,
        36,
      );
      await assert.rejects(
        collectSeries(limited({ maxChunkBytes: 1000 }).select(m, hints)),
        /too many bytes/,
      );
      const q = limited({ maxLabelValuesRows: 5, maxLabelNamesRows: 5 });
      await assert.rejects(q.labelValues("job", m, hints), QuotaExceededError);
      await assert.rejects(q.labelNames(m, hints), QuotaExceededError);
      // Without matchers, label calls cover every row of the shards: stream A's 116 series on
      // each of two days, stream B's 18 on one.
      const rows = 2 * (streamA().length + DUPS.length) + streamB().length;
      assert.equal(rows, 250);
      await assert.rejects(q.labelValues("job", [], hints), /label values rows limit 5/);
      await assert.rejects(q.labelNames([], hints), /label names rows limit 5/);
      const justEnough = limited({ maxLabelValuesRows: rows, maxLabelNamesRows: rows });
      assert.equal((await justEnough.labelValues("job", [], hints)).values.length, 3);
      assert.ok((await justEnough.labelNames([], hints)).values.includes("job"));
      const oneShort = limited({ maxLabelValuesRows: rows - 1, maxLabelNamesRows: rows - 1 });
      await assert.rejects(oneShort.labelValues("job", [], hints), QuotaExceededError);
      await assert.rejects(oneShort.labelNames([], hints), QuotaExceededError);
      // A matcher on an external label alone leaves no matchers for the columns: all rows of
      // the stream's shards count (stream B: 18).
      const us = [eq("cluster", "us")];
      await assert.rejects(limited({ maxLabelNamesRows: 17 }).labelNames(us, hints), /needed 18/);
      assert.ok((await limited({ maxLabelNamesRows: 18 }).labelNames(us, hints)).values.length);
    });
  } finally {
    await f.cleanup();
  }
});

Deno.test("Syncer: corrupted labels file is deleted, counted and the day skipped", async () => {
  const f = await fixture();
  try {
    // Damage a local copy (same size, so it is trusted) and load the days with a new syncer.
    const us = [...f.discoverer.streams.values()].find((s) => s.externalLabels.cluster === "us")!;
    const corrupted = f.store.pathOf(`${us.hash}/2025-03-02/0.labels.parquet`);
    const size = (await Deno.stat(corrupted)).size;
    await Deno.writeFile(corrupted, new Uint8Array(size).fill(0x41));
    const registry = new Registry();
    const syncer3 = new Syncer({
      bucket: f.bucket,
      streams: () => f.discoverer.streams,
      labelFiles: f.store,
      logger: NOP_LOGGER,
      registry,
    });
    await syncer3.sync();
    assert.equal(syncer3.days.length, 2, "the corrupted day is skipped, the others load");
    assert.equal(syncer3.corruptedLabelFiles, 1);
    const failure = syncer3.failures.get(`${us.hash}/2025-03-02`);
    assert.equal(failure?.corruptedLabelsFile, true);
    assert.match(failure.reason, /corrupted labels file/);
    const text = await registry.metrics();
    assert.match(text, /locate_sync_corrupted_label_parquet_files_total 1\n/);
    assert.match(text, /locate_sync_loaded_days 2\n/);
    assert.match(text, new RegExp(`locate_sync_min_time_unix_seconds\\{what="syncer"\\} ${D1}\n`));
    assert.match(
      text,
      new RegExp(`locate_sync_max_time_unix_seconds\\{what="syncer"\\} ${D2 + 24 * H}\n`),
    );
    await assert.rejects(Deno.stat(corrupted), Deno.errors.NotFound);
    // The next pass downloads a good copy and loads the day.
    await syncer3.sync();
    assert.equal(syncer3.days.length, 3);
    assert.equal(syncer3.failures.size, 0);
    const db3 = new ParquetDB({ days: () => syncer3.days });
    await check(db3.queryable(), [eq("cluster", "us")], D1, END);
    await syncer3.close();
  } finally {
    await f.cleanup();
  }
});

Deno.test("Syncer: days with deletion markers or filtered out are unloaded", async () => {
  const f = await fixture();
  try {
    const eu = [...f.discoverer.streams.values()].find((s) => s.externalLabels.cluster === "eu")!;
    const before = [...Deno.readDirSync(f.labelDir)].length;
    assert.equal(before, 5);
    await f.bucket.upload(`${eu.hash}/2025-03-03/deletion-marker.pb`, new Uint8Array(0));
    await f.discoverer.discover();
    await f.syncer.sync();
    assert.deepEqual(f.syncer.days.map((d) => d.date), ["2025-03-02", "2025-03-02"]);
    assert.equal([...Deno.readDirSync(f.labelDir)].length, 3, "local copies of the day removed");
    const all = allSeries().map((s) => ({
      ...s,
      ts: s.ts.filter((t) => t < D2),
      vs: s.vs.filter((_, i) => s.ts[i] < D2),
    }));
    await check(f.db().queryable(), [eq("__name__", "up")], D1, END, all);

    // A block filter hiding day 1 unloads the rest.
    const filtered = new Syncer({
      bucket: f.bucket,
      streams: () => f.discoverer.streams,
      labelFiles: f.store,
      keep: (d) => d.minT !== D1,
      logger: NOP_LOGGER,
    });
    await filtered.sync();
    assert.equal(filtered.days.length, 0);
  } finally {
    await f.cleanup();
  }
});

import assert from "node:assert/strict";
import { NOP_LOGGER } from "../../internal/log.ts";
import { FilesystemBucket } from "../../storage/objstore/filesystem.ts";
import { ParquetDiscoverer } from "../../storage/parquet/discovery.ts";
import { chunksFileKey, labelsFileKey, metaFileKey } from "../../storage/parquet/layout.ts";
import { encodeStreamDescriptor } from "../../storage/parquet/meta.ts";
import { L, type TestSeries, writeDay } from "../db/_fixture_testutil.ts";
import { LocalLabelFileStore } from "../db/label_files.ts";
import { Syncer } from "../db/syncer.ts";
import { createGatewayApi, type LimitInForce } from "./gateway_api.ts";

const DAY_MS = 86_400_000;

/** Three series sampled every `everyMin` minutes through the day `date`. */
function daySeries(date: string, everyMin: number): TestSeries[] {
  const start = Date.parse(`${date}T00:00:00Z`);
  const ts = Array.from({ length: 1440 / everyMin }, (_, i) => start + i * everyMin * 60_000);
  return ["a", "b", "c"].map((x, i) => ({
    labels: L({ __name__: "m", x }),
    ts,
    vs: ts.map((_, j) => i + j),
  }));
}

const LIMITS: LimitInForce[] = [{ name: "--query.timeout", value: "30s", help: "Default." }];

Deno.test("gateway API: blocks with sync states, sample counts, limits", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gateway-api-" });
  const bucket = new FilesystemBucket(`${dir}/bucket`);
  try {
    // Stream a: a loaded day (2 shards) and a day whose chunks file is missing (fails to load).
    const a = await writeDay(bucket, {
      ext: { dc: "a" },
      date: "2025-02-01",
      shards: [daySeries("2025-02-01", 10), daySeries("2025-02-01", 30).slice(0, 1)],
    });
    await writeDay(bucket, { ext: { dc: "a" }, date: "2025-02-02", shards: [[]] });
    await bucket.delete(chunksFileKey(a, "2025-02-02", 0));
    // Stream b: a day the block filter leaves out; later a day discovered after the sync.
    const b = await writeDay(bucket, {
      ext: { dc: "b" },
      date: "2025-02-03",
      shards: [daySeries("2025-02-03", 60)],
    });
    // Discovery leaves out a day with an invalid meta.pb and a stream with an invalid stream.pb.
    await bucket.upload(metaFileKey(a, "2025-02-05"), new TextEncoder().encode("\xff\xff"));
    await bucket.upload("123/stream.pb", encodeStreamDescriptor({ dc: "a" }));
    await bucket.upload(metaFileKey(123n, "2025-02-01"), new Uint8Array());
    const discoverer = new ParquetDiscoverer(bucket, { concurrency: 1, logger: NOP_LOGGER });
    const filteredOut = Date.parse("2025-02-03T00:00:00Z");
    const keep = (d: { minT: number }) => d.minT !== filteredOut;
    const syncer = new Syncer({
      bucket,
      streams: () => discoverer.streams,
      labelFiles: new LocalLabelFileStore(bucket, `${dir}/labels`),
      keep,
      logger: NOP_LOGGER,
    });
    await discoverer.discover();
    await assert.rejects(syncer.sync());
    await writeDay(bucket, { ext: { dc: "b" }, date: "2025-02-04", shards: [[]] });
    await discoverer.discover();

    const api = createGatewayApi({
      discovery: discoverer,
      sync: syncer,
      keep,
      bucket,
      limits: LIMITS,
    });
    const get = async (path: string) => {
      const res = await api(new Request(`http://gw${path}`));
      return { status: res.status, body: await res.json() };
    };
    const size = async (key: string) => (await Deno.stat(`${dir}/bucket/${key}`)).size;

    const { status, body } = await get("/api/v1/gateway/blocks");
    assert.equal(status, 200);
    assert.equal(body.status, "success");
    assert.equal(body.data.discoveredAt, discoverer.lastSync);
    assert.equal(body.data.syncedAt, syncer.lastSync);
    const [invalidStream, sa, sb] = body.data.streams;
    assert.deepEqual([invalidStream.hash, invalidStream.externalLabels, invalidStream.days], [
      "123",
      {},
      [],
    ]);
    assert.match(invalidStream.error, /^123\/stream\.pb: its labels hash to \d+, not 123$/);
    assert.deepEqual([sa.hash, sa.externalLabels], [String(a), { dc: "a" }]);
    assert.deepEqual([sb.hash, sb.externalLabels], [String(b), { dc: "b" }]);
    assert.equal(sa.error, undefined);
    const loaded = sa.days[0];
    const start = Date.parse("2025-02-01T00:00:00Z");
    const labelsBytes = [
      await size(labelsFileKey(a, "2025-02-01", 0)),
      await size(labelsFileKey(a, "2025-02-01", 1)),
    ];
    const chunksBytes = [
      await size(chunksFileKey(a, "2025-02-01", 0)),
      await size(chunksFileKey(a, "2025-02-01", 1)),
    ];
    assert.deepEqual(loaded, {
      date: "2025-02-01",
      minTime: start,
      maxTime: start + DAY_MS,
      version: 2,
      shards: 2,
      sourceBlocks: [],
      state: "loaded",
      series: 4,
      labelsBytes: labelsBytes[0] + labelsBytes[1],
      chunksBytes: chunksBytes[0] + chunksBytes[1],
      shardStats: [
        {
          index: 0,
          series: 3,
          rowGroups: 1,
          labelColumns: 2,
          labelsBytes: labelsBytes[0],
          chunksBytes: chunksBytes[0],
        },
        {
          index: 1,
          series: 1,
          rowGroups: 1,
          labelColumns: 2,
          labelsBytes: labelsBytes[1],
          chunksBytes: chunksBytes[1],
        },
      ],
    });
    const failed = sa.days[1];
    assert.equal(failed.state, "failed");
    assert.ok(failed.error.includes(chunksFileKey(a, "2025-02-02", 0)), failed.error);
    assert.equal(failed.corruptedLabelsFile, false);
    assert.equal(failed.series, undefined);
    const invalid = sa.days[2];
    assert.deepEqual(
      [invalid.date, invalid.state, invalid.minTime, invalid.version],
      ["2025-02-05", "failed", Date.parse("2025-02-05T00:00:00Z"), undefined],
    );
    assert.match(invalid.error, new RegExp(`^${a}/2025-02-05/meta\\.pb: invalid meta\\.pb`));
    assert.deepEqual(sb.days.map((d: { date: string; state: string }) => [d.date, d.state]), [
      ["2025-02-03", "filtered"],
      ["2025-02-04", "pending"],
    ]);

    // Samples: 144 + 48 per series of shard 0, 48 for shard 1's one series.
    const samples = await get(`/api/v1/gateway/blocks/samples?stream=${a}&date=2025-02-01`);
    assert.equal(samples.status, 200);
    assert.equal(samples.body.data.samples, 3 * 144 + 48);
    // XOR chunks of at most 120 samples cut at 2h boundaries: 12 per series a day.
    assert.equal(samples.body.data.chunks, 4 * 12);
    const unloaded = await get(`/api/v1/gateway/blocks/samples?stream=${b}&date=2025-02-03`);
    assert.deepEqual([unloaded.status, unloaded.body.errorType], [404, "not_found"]);
    const bad = await get(`/api/v1/gateway/blocks/samples?stream=x&date=2025-02-03`);
    assert.deepEqual([bad.status, bad.body.errorType], [400, "bad_data"]);

    assert.deepEqual((await get("/api/v1/gateway/limits")).body, {
      status: "success",
      data: LIMITS,
    });
    const post = await api(new Request("http://gw/api/v1/gateway/blocks", { method: "POST" }));
    assert.equal(post.status, 405);
    await post.body?.cancel();
    assert.equal(api.route("/api/v1/gateway/blocks"), "/api/v1/gateway/blocks");
    assert.equal(api.route("/api/v1/gateway/nope"), "other");
    await syncer.close();
  } finally {
    await bucket.close();
    await Deno.remove(dir, { recursive: true });
  }
});

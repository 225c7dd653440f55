import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { createLogger } from "../internal/log.ts";
import { FilesystemBucket } from "../storage/objstore/filesystem.ts";
import { TsdbDiscoverer } from "./tsdb_discovery.ts";

const logger = createLogger({ level: "error" });
const enc = new TextEncoder();
const H = 3600_000;
const T0 = Date.UTC(2025, 0, 10);

function metaJson(
  ulid: string,
  minTime: number,
  maxTime: number,
  extra: { labels?: Record<string, string>; resolution?: number; chunks?: number } = {},
): Uint8Array {
  const meta: Record<string, unknown> = {
    ulid,
    minTime,
    maxTime,
    stats: { numSamples: 10, numSeries: 1, numChunks: extra.chunks ?? 1 },
    compaction: { level: 1, sources: [ulid] },
    version: 1,
  };
  if (extra.labels || extra.resolution !== undefined) {
    meta.thanos = {
      labels: extra.labels ?? {},
      downsample: { resolution: extra.resolution ?? 0 },
      source: "sidecar",
    };
  }
  return enc.encode(JSON.stringify(meta));
}

const A = "01JH0000000000000000000001";
const B = "01JH0000000000000000000002";
const C = "01JH0000000000000000000003";
const D = "01JH0000000000000000000004";
const E = "01JH0000000000000000000005";
const F = "01JH0000000000000000000006";

async function withBucket(fn: (bucket: FilesystemBucket) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  const bucket = new FilesystemBucket(dir);
  try {
    await fn(bucket);
  } finally {
    await bucket.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("discovery finds blocks, skips marked, downsampled, empty and unselected ones", async () => {
  await withBucket(async (bucket) => {
    await bucket.upload(
      `${A}/meta.json`,
      metaJson(A, T0, T0 + 2 * H, { labels: { cluster: "a" } }),
    );
    await bucket.upload(`${A}/chunks/000001`, enc.encode("x"));
    await bucket.upload(
      `${B}/meta.json`,
      metaJson(B, T0, T0 + 2 * H, { labels: { cluster: "b" } }),
    );
    await bucket.upload(
      `${C}/meta.json`,
      metaJson(C, T0, T0 + 2 * H, { labels: { cluster: "a" } }),
    );
    await bucket.upload(`${C}/deletion-mark.json`, enc.encode("{}"));
    await bucket.upload(
      `${D}/meta.json`,
      metaJson(D, T0, T0 + 2 * H, { labels: { cluster: "a" }, resolution: 300000 }),
    );
    await bucket.upload(`${E}/meta.json`, metaJson(E, T0, T0 + 2 * H, { chunks: 0 }));
    // Not a block directory: a nested meta.json is ignored.
    await bucket.upload(`debug/x/meta.json`, metaJson(A, T0, T0 + H));

    const discoverer = new TsdbDiscoverer(bucket, {
      concurrency: 2,
      minBlockAgeMs: 0,
      selectors: ['{cluster=~"a|"}'],
      streamKey: (l) => JSON.stringify(l),
      logger,
      now: () => T0 + 100 * H,
    });
    await discoverer.discover();
    assert.deepEqual(discoverer.blocks().map((b) => b.ulid), [A]);
    const streams = discoverer.streams();
    assert.equal(streams.length, 1);
    assert.deepEqual(streams[0].externalLabels, { cluster: "a" });
    assert.equal(streams[0].key, '{"cluster":"a"}');

    // Without selectors, a block without external labels matches; streams are split by labels.
    const all = new TsdbDiscoverer(bucket, {
      concurrency: 1,
      minBlockAgeMs: 0,
      selectors: [],
      streamKey: (l) => JSON.stringify(l),
      logger,
      now: () => T0 + 100 * H,
    });
    await all.discover();
    assert.deepEqual(all.blocks().map((b) => b.ulid), [A, B]);
    assert.deepEqual(all.streams().map((s) => s.externalLabels), [{ cluster: "a" }, {
      cluster: "b",
    }]);
  });
});

Deno.test("discovery forgets deleted and newly marked blocks and waits for young ones", async () => {
  await withBucket(async (bucket) => {
    let now = T0 + 3 * H;
    await bucket.upload(`${A}/meta.json`, metaJson(A, T0, T0 + 2 * H));
    await bucket.upload(`${B}/meta.json`, metaJson(B, T0 + 2 * H, T0 + 4 * H));
    const discoverer = new TsdbDiscoverer(bucket, {
      concurrency: 1,
      minBlockAgeMs: 30 * 60_000,
      selectors: [],
      streamKey: () => "0",
      logger,
      now: () => now,
    });
    await discoverer.discover();
    // B ends after now - 30m.
    assert.deepEqual(discoverer.blocks().map((b) => b.ulid), [A]);
    now = T0 + 5 * H;
    await discoverer.discover();
    assert.deepEqual(discoverer.blocks().map((b) => b.ulid), [A, B]);
    await bucket.upload(`${A}/deletion-mark.json`, enc.encode("{}"));
    await bucket.delete(`${B}/meta.json`);
    await discoverer.discover();
    assert.deepEqual(discoverer.blocks(), []);
  });
});

Deno.test("discovery reports its blocks' range and last success as tsdb_discoverer", async () => {
  await withBucket(async (bucket) => {
    await bucket.upload(`${A}/meta.json`, metaJson(A, T0, T0 + 2 * H));
    await bucket.upload(`${B}/meta.json`, metaJson(B, T0 + 2 * H, T0 + 4 * H));
    await bucket.upload(`${C}/meta.json`, metaJson(C, T0 - 2 * H, T0 + 6 * H));
    await bucket.upload(`${C}/deletion-mark.json`, enc.encode("{}"));
    const registry = new Registry();
    const discoverer = new TsdbDiscoverer(bucket, {
      concurrency: 1,
      minBlockAgeMs: 0,
      selectors: [],
      streamKey: () => "0",
      logger,
      now: () => T0 + 10 * H,
      registry,
    });
    const gauge = async (name: string, what: string) =>
      (await registry.getSingleMetric(name)!.get()).values.find((v) => v.labels.what === what)
        ?.value;
    // Upstream's series exist from the start, at 0.
    for (const what of ["syncer", "discoverer", "tsdb_discoverer"]) {
      assert.equal(await gauge("locate_sync_last_successful_update_time_unix_seconds", what), 0);
      assert.equal(await gauge("locate_sync_min_time_unix_seconds", what), 0);
    }
    const before = Date.now() / 1000;
    await discoverer.discover();
    const after = Date.now() / 1000;
    assert.equal(await gauge("locate_sync_min_time_unix_seconds", "tsdb_discoverer"), T0);
    assert.equal(await gauge("locate_sync_max_time_unix_seconds", "tsdb_discoverer"), T0 + 4 * H);
    const last = await gauge(
      "locate_sync_last_successful_update_time_unix_seconds",
      "tsdb_discoverer",
    );
    assert.ok(last! >= before && last! <= after, `${before} <= ${last} <= ${after}`);
    assert.equal(await gauge("locate_sync_min_time_unix_seconds", "discoverer"), 0);
  });
});

Deno.test("a bad selector is an error naming the flag", () => {
  assert.throws(
    () =>
      new TsdbDiscoverer(new FilesystemBucket("."), {
        concurrency: 1,
        minBlockAgeMs: 0,
        selectors: ['{cluster="a"'],
        streamKey: () => "0",
        logger,
      }),
    /--tsdb.discovery.select-external-labels "\{cluster=\\"a\\"": /,
  );
});

Deno.test("an unreadable meta.json fails the pass and keeps the previous state", async () => {
  await withBucket(async (bucket) => {
    await bucket.upload(`${A}/meta.json`, metaJson(A, T0, T0 + 2 * H));
    const discoverer = new TsdbDiscoverer(bucket, {
      concurrency: 2,
      minBlockAgeMs: 0,
      selectors: [],
      streamKey: () => "0",
      logger,
      now: () => T0 + 100 * H,
    });
    await discoverer.discover();
    assert.deepEqual(discoverer.blocks().map((b) => b.ulid), [A]);
    // F's stream and days are unknown: converting any day without it could lose its samples.
    await bucket.upload(`${B}/meta.json`, metaJson(B, T0 + 2 * H, T0 + 4 * H));
    await bucket.upload(`${F}/meta.json`, enc.encode("{not json"));
    await assert.rejects(
      () => discoverer.discover(),
      new RegExp(`^Error: ${F}/meta.json: invalid JSON: .*; the days its block covers are unknown`),
    );
    assert.deepEqual(discoverer.blocks().map((b) => b.ulid), [A]);
    // Once fixed (or deleted, or marked for deletion), the next pass sees everything.
    await bucket.upload(`${F}/meta.json`, metaJson(F, T0 + 4 * H, T0 + 6 * H));
    await discoverer.discover();
    assert.deepEqual(discoverer.blocks().map((b) => b.ulid), [A, B, F]);
  });
});

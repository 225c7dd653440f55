import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { createLogger, NOP_LOGGER } from "../internal/log.ts";
import { notCapable } from "../internal/permission.ts";
import { FilesystemBucket } from "../storage/objstore/filesystem.ts";
import { externalLabelsHash } from "../storage/parquet/hash.ts";
import { ParquetDiscoverer } from "../storage/parquet/discovery.ts";
import { openBlock } from "../storage/parquet/reader.ts";
import { BlockCache } from "./block_cache.ts";
import { BlockSource } from "./block_source.ts";
import { convertDay } from "./convert.ts";
import { ConvertRunner, type ConvertStep, repeat } from "./loop.ts";
import { ownsDay, type PlanShard } from "./shard.ts";
import { TsdbDiscoverer } from "./tsdb_discovery.ts";

const FIXTURE = new URL("../storage/tsdb/testdata/blocks/", import.meta.url).pathname;
const NOW = Date.UTC(2024, 0, 1);
const EXT = { cluster: "eu1" };

/** Copies the promtool fixture blocks into a bucket directory, editing each meta.json. */
async function tsdbBucket(
  dir: string,
  edit: (ulid: string, meta: Record<string, unknown>) => void,
) {
  for await (const b of Deno.readDir(FIXTURE)) {
    await Deno.mkdir(`${dir}/${b.name}/chunks`, { recursive: true });
    for (const f of ["index", "tombstones", "chunks/000001"]) {
      await Deno.copyFile(`${FIXTURE}/${b.name}/${f}`, `${dir}/${b.name}/${f}`);
    }
    const meta = JSON.parse(await Deno.readTextFile(`${FIXTURE}/${b.name}/meta.json`));
    meta.thanos = { version: 1, labels: EXT, downsample: { resolution: 0 }, source: "sidecar" };
    edit(b.name, meta);
    await Deno.writeTextFile(`${dir}/${b.name}/meta.json`, JSON.stringify(meta));
  }
}

function runner(root: string, retentionDays = 0, step?: ConvertStep, shard?: PlanShard) {
  const tsdb = new FilesystemBucket(`${root}/tsdb`), parquet = new FilesystemBucket(`${root}/pq`);
  const blocks = new BlockCache(tsdb, {
    // A temp dir that does not exist yet is created.
    tmpDir: `${root}/tmp/not/yet`,
    fileConcurrency: 2,
    blockConcurrency: 1,
  });
  const r = new ConvertRunner({
    parquet,
    tsdbDiscoverer: new TsdbDiscoverer(tsdb, {
      concurrency: 2,
      minBlockAgeMs: 0,
      selectors: [],
      streamKey: (l) => externalLabelsHash(l).toString(),
      logger: NOP_LOGGER,
      now: () => NOW,
    }),
    parquetDiscoverer: new ParquetDiscoverer(parquet, { concurrency: 2, logger: NOP_LOGGER }),
    convertStep: step ?? (async (step, signal) => {
      const open = await blocks.acquire(step.sources.map((b) => b.ulid), signal);
      const res = await convertDay(
        parquet,
        step.day,
        step.externalLabels,
        open.map((b) => new BlockSource(b)),
        {
          rowGroupSize: 1000,
          numRowGroups: 1,
          recompress: true,
          signal,
        },
      );
      return { series: res.rows, shards: res.shards };
    }),
    gracePeriodMs: 0,
    maxPlanDays: 10,
    retentionDays,
    shard,
    registry: new Registry(),
    logger: NOP_LOGGER,
    now: () => NOW,
  });
  const close = async () => {
    await blocks.close();
    await tsdb.close();
    await parquet.close();
  };
  return { r, parquet, close };
}

Deno.test("a run converts the planned days, skips empty ones and leaves nothing to do", async () => {
  const root = await Deno.makeTempDir({ prefix: "pq-loop-test-" });
  await tsdbBucket(`${root}/tsdb`, (ulid, meta) => {
    // Block 1 claims the day before its data too: that day has no sample.
    if (ulid === "01M88N5D9P8GWXTTFS4XSR85NF") meta.minTime = Date.UTC(2023, 10, 13);
    // The planner waits for the most recent day until blocks cover it to its end.
    if (ulid === "01M88N5DB4F62E1YJ3Z2G3ZSB2") {
      meta.minTime = Date.UTC(2023, 10, 15);
      meta.maxTime = Date.UTC(2023, 10, 16);
    }
    // A downsampled block is not converted.
    if (ulid === "01M88N5DD8N0QG6XDTXEX68HTY") {
      (meta.thanos as { downsample: { resolution: number } }).downsample.resolution = 300_000;
    }
  });
  // Nor is a block marked for deletion.
  await Deno.writeTextFile(
    `${root}/tsdb/01M88N5DCKBZ59HS0B592NC4QA/deletion-mark.json`,
    JSON.stringify({ id: "01M88N5DCKBZ59HS0B592NC4QA", deletion_time: 1700000000, version: 1 }),
  );
  const { r, parquet, close } = runner(root);
  try {
    const hash = externalLabelsHash(EXT);
    const plan = await r.plan();
    assert.deepEqual(plan.map((s) => [s.streamKey, s.day.date, s.sources.map((b) => b.ulid)]), [
      [hash.toString(), "2023-11-15", ["01M88N5DB4F62E1YJ3Z2G3ZSB2"]],
      [hash.toString(), "2023-11-14", ["01M88N5D9P8GWXTTFS4XSR85NF"]],
      [hash.toString(), "2023-11-13", ["01M88N5D9P8GWXTTFS4XSR85NF"]],
    ]);
    const summary = await r.runOnce(new AbortController().signal);
    assert.deepEqual(summary, {
      planned: 3,
      converted: [`${hash}/2023-11-15`, `${hash}/2023-11-14`],
      failed: [],
      skipped: [`${hash}/2023-11-13`],
    });
    const day = await openBlock(parquet, hash, "2023-11-15");
    assert.deepEqual(day.meta.convertedFromBLIDs, ["01M88N5DB4F62E1YJ3Z2G3ZSB2"]);
    assert.equal(day.shards[0].numRows, 4);
    // Only the empty day is planned again.
    assert.deepEqual((await r.plan()).map((s) => s.day.date), ["2023-11-13"]);
  } finally {
    await close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("days past retention are not planned", async () => {
  const root = await Deno.makeTempDir({ prefix: "pq-loop-test-" });
  await tsdbBucket(`${root}/tsdb`, (ulid, meta) => {
    if (ulid === "01M88N5DB4F62E1YJ3Z2G3ZSB2") {
      meta.minTime = Date.UTC(2023, 10, 15);
      meta.maxTime = Date.UTC(2023, 10, 16);
    }
  });
  // 47 days before 2024-01-01 is 2023-11-15: the 14th is past retention, the 15th is not.
  const { r, close } = runner(root, 47);
  try {
    assert.deepEqual((await r.plan()).map((s) => s.day.date), ["2023-11-15"]);
  } finally {
    await close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a converter with a part of the plan marks only its own days for deletion", async () => {
  const root = await Deno.makeTempDir({ prefix: "pq-loop-test-" });
  await tsdbBucket(`${root}/tsdb`, (ulid, meta) => {
    if (ulid === "01M88N5DB4F62E1YJ3Z2G3ZSB2") {
      meta.minTime = Date.UTC(2023, 10, 15);
      meta.maxTime = Date.UTC(2023, 10, 16);
    }
  });
  const hash = externalLabelsHash(EXT);
  const whole = runner(root);
  try {
    const summary = await whole.r.runOnce(new AbortController().signal);
    assert.deepEqual(summary.converted, [`${hash}/2023-11-15`, `${hash}/2023-11-14`]);
  } finally {
    await whole.close();
  }
  const marked = async () => {
    const out = [];
    for (const d of ["2023-11-14", "2023-11-15"]) {
      if (await exists(`${root}/pq/${hash}/${d}/deletion-marker.pb`)) out.push(d);
    }
    return out;
  };
  try {
    // Of three parts, the 14th falls in part 0, the 15th in part 1, neither in part 2.
    const part = (index: number) => ({ index, count: 3 });
    assert.ok(ownsDay(part(0), hash.toString(), "2023-11-14"));
    assert.ok(ownsDay(part(1), hash.toString(), "2023-11-15"));
    const expected = [[], ["2023-11-14"], ["2023-11-14", "2023-11-15"]];
    for (const [i, index] of [2, 0, 1].entries()) {
      // A retention of one day: both days are expired.
      const { r, close } = runner(root, 1, undefined, part(index));
      try {
        await r.applyRetention();
      } finally {
        await close();
      }
      assert.deepEqual(await marked(), expected[i], `after part ${index}`);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

Deno.test("repeat: failures are logged and retried, a refused permission ends the loop", async () => {
  const lines: string[] = [];
  const logger = createLogger({ write: (l) => lines.push(l) });
  const refusal = notCapable("write", "/var/cache/labels");
  let calls = 0;
  const loop = repeat(1, new AbortController().signal, logger, "sync", () => {
    calls++;
    // Wrapped, as the syncer and the buckets report it.
    throw calls < 3 ? new Error("bucket unavailable") : new Error("sync", { cause: refusal });
  });
  await assert.rejects(loop, (err: Error) => err.cause === refusal);
  assert.equal(calls, 3);
  assert.equal(lines.length, 2);
  assert.match(lines[0], /msg="sync failed" err="bucket unavailable"/);
});

Deno.test("a refused permission ends a conversion pass instead of failing each day", async () => {
  const root = await Deno.makeTempDir({ prefix: "convert-loop-" });
  try {
    // Two days due: 2023-11-14, and the 13th that the block claims too.
    await tsdbBucket(`${root}/tsdb`, (ulid, meta) => {
      if (ulid === "01M88N5D9P8GWXTTFS4XSR85NF") meta.minTime = Date.UTC(2023, 10, 13);
    });
    const refusal = notCapable("write", `${root}/tmp`);
    let steps = 0;
    const { r, close } = runner(root, 0, () => {
      steps++;
      throw new Error("download failed", { cause: refusal });
    });
    try {
      assert.equal((await r.plan()).length, 2);
      await assert.rejects(
        r.runOnce(new AbortController().signal),
        (e: Error) => e.cause === refusal,
      );
      assert.equal(steps, 1, "the other planned days are not tried");
      const signal = new AbortController().signal;
      await assert.rejects(r.runWithRetries(signal, 60_000, 1), (e: Error) => e.cause === refusal);
      assert.equal(steps, 2, "no retry");
    } finally {
      await close();
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

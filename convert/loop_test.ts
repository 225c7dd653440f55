import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { NOP_LOGGER } from "../internal/log.ts";
import { FilesystemBucket } from "../storage/objstore/filesystem.ts";
import { convertWithRetries, runConversionLoop } from "./loop.ts";
import { Converter } from "./runner.ts";

const BLOCKS = new URL("../storage/tsdb/testdata/blocks/", import.meta.url).pathname;

async function setup() {
  const root = await Deno.makeTempDir({ prefix: "pq-loop-test-" });
  await Deno.mkdir(`${root}/tsdb`);
  const cp = await new Deno.Command("cp", { args: ["-r", `${BLOCKS}/.`, `${root}/tsdb`] }).output();
  assert.equal(cp.code, 0);
  const tsdb = new FilesystemBucket(`${root}/tsdb`), parquet = new FilesystemBucket(`${root}/pq`);
  const conv = new Converter(tsdb, parquet, {
    convert: { rowGroupSize: 100, numRowGroups: 1 },
    discovery: { concurrency: 1, minBlockAge: 0, selectors: [] },
    gracePeriod: 0,
    maxPlanDays: 5,
    downloadConcurrency: 1,
  });
  const cleanup = async () => {
    await tsdb.close();
    await parquet.close();
    await Deno.remove(root, { recursive: true });
  };
  return { conv, parquet, cleanup };
}

Deno.test("the loop converts, publishes its gauges and stops on abort", async () => {
  const { conv, parquet, cleanup } = await setup();
  try {
    const registry = new Registry();
    const stop = new AbortController();
    const loop = runConversionLoop(
      conv,
      {
        runInterval: 50,
        runTimeout: 60_000,
        retryInterval: 10,
        progressInterval: 20,
        retentionDays: 0,
        retentionInterval: 1000,
      },
      registry,
      NOP_LOGGER,
      stop.signal,
    );
    const deadline = Date.now() + 30_000;
    let last = 0;
    while (Date.now() < deadline) {
      const m = await registry.getSingleMetric("convert_last_successful_convert_time_unix_seconds")!
        .get();
      last = m.values[0]?.value ?? 0;
      if (last > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(last > 0, "a pass succeeded");
    assert.ok(await parquet.exists("2023-11-14/meta.pb"));
    // Everything due is converted: the progress gauge drops to 0.
    let todo = -1;
    while (Date.now() < deadline) {
      todo = (await registry.getSingleMetric("todo_convert_steps")!.get()).values[0]?.value ?? -1;
      if (todo === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(todo, 0);
    stop.abort();
    await loop;
  } finally {
    await cleanup();
  }
});

Deno.test("a pass that keeps failing gives up at the run timeout", async () => {
  const { conv, cleanup } = await setup();
  let calls = 0;
  const failing = {
    runOnce: () => {
      calls++;
      return Promise.reject(new Error("bucket down"));
    },
  } as unknown as Converter;
  try {
    const ok = await convertWithRetries(
      failing,
      { runTimeout: 200, retryInterval: 30 },
      NOP_LOGGER,
      new AbortController().signal,
    );
    assert.equal(ok, false);
    assert.ok(calls >= 2, `retried (${calls} calls)`);
    assert.equal(
      await convertWithRetries(
        conv,
        { runTimeout: 60_000, retryInterval: 10 },
        NOP_LOGGER,
        new AbortController().signal,
      ),
      true,
    );
  } finally {
    await cleanup();
  }
});

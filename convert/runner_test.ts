import assert from "node:assert/strict";
import { FilesystemBucket } from "../storage/objstore/filesystem.ts";
import { externalLabelsHash } from "../storage/parquet/hash.ts";
import { openBlock } from "../storage/parquet/reader.ts";
import { convertedDays } from "./discovery.ts";
import { Converter, type ConverterOptions } from "./runner.ts";

const FIXTURE = new URL("../storage/tsdb/testdata/blocks/", import.meta.url).pathname;
const NOW = Date.UTC(2024, 0, 1);

/** Copies the promtool fixture blocks into a bucket directory, editing meta.json per block. */
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
    edit(b.name, meta);
    await Deno.writeTextFile(`${dir}/${b.name}/meta.json`, JSON.stringify(meta));
  }
}

const OPTIONS: ConverterOptions = {
  convert: { rowGroupSize: 1000, numRowGroups: 1, recompress: true },
  discovery: { concurrency: 2, minBlockAge: 0, selectors: [] },
  gracePeriod: 0,
  maxPlanDays: 10,
  downloadConcurrency: 2,
};

Deno.test("a conversion pass converts every day of every stream once", async () => {
  const root = await Deno.makeTempDir({ prefix: "pq-runner-test-" });
  const tsdb = new FilesystemBucket(`${root}/tsdb`), parquet = new FilesystemBucket(`${root}/pq`);
  try {
    const ext = { cluster: "eu1" };
    await tsdbBucket(`${root}/tsdb`, (ulid, meta) => {
      meta.thanos = { version: 1, labels: ext, downsample: { resolution: 0 }, source: "sidecar" };
      // A deleted block and a downsampled one are not converted.
      // The planner waits for the most recent day until blocks cover it to its end.
      if (ulid === "01M88N5DB4F62E1YJ3Z2G3ZSB2") {
        meta.minTime = Date.UTC(2023, 10, 15);
        meta.maxTime = Date.UTC(2023, 10, 16);
      }
      if (ulid === "01M88N5DD8N0QG6XDTXEX68HTY") {
        (meta.thanos as { downsample: { resolution: number } }).downsample.resolution = 300_000;
      }
    });
    await Deno.writeTextFile(
      `${root}/tsdb/01M88N5DCKBZ59HS0B592NC4QA/deletion-mark.json`,
      JSON.stringify({ id: "01M88N5DCKBZ59HS0B592NC4QA", deletion_time: 1700000000, version: 1 }),
    );
    const converted: string[] = [];
    await Deno.mkdir(`${root}/tmp`);
    const conv = new Converter(tsdb, parquet, {
      ...OPTIONS,
      tempDir: `${root}/tmp`,
      onConverted: (step, r) => converted.push(`${step.day.date}:${r.rows}`),
    });
    const hash = externalLabelsHash(ext);
    const plan = await conv.plan(NOW);
    assert.deepEqual(plan.map((s) => [s.streamKey, s.day.date, s.sources.map((b) => b.ulid)]), [
      [hash.toString(), "2023-11-15", ["01M88N5DB4F62E1YJ3Z2G3ZSB2"]],
      [hash.toString(), "2023-11-14", ["01M88N5D9P8GWXTTFS4XSR85NF"]],
    ]);
    // With 47 days of retention at 2024-01-01, 2023-11-14 is past it and not planned.
    const kept = new Converter(tsdb, parquet, { ...OPTIONS, retentionDays: 47 });
    assert.deepEqual((await kept.plan(NOW)).map((s) => s.day.date), ["2023-11-15"]);
    const results = await conv.runOnce(NOW);
    assert.equal(results.length, 2);
    assert.deepEqual(converted, ["2023-11-15:4", "2023-11-14:4"]);
    assert.deepEqual([...await convertedDays(parquet)].sort(), [
      `${hash}/2023-11-14`,
      `${hash}/2023-11-15`,
    ]);
    const day = await openBlock(parquet, hash, "2023-11-15");
    assert.deepEqual(day.meta.convertedFromBLIDs, ["01M88N5DB4F62E1YJ3Z2G3ZSB2"]);
    // Nothing is left to do; the download directories are gone.
    assert.deepEqual(await conv.runOnce(NOW), []);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(`${root}/tmp`)), []);
  } finally {
    await tsdb.close();
    await parquet.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("converted days need meta.pb, no deletion marker and a stream.pb for non-zero hashes", async () => {
  const root = await Deno.makeTempDir({ prefix: "pq-runner-test-" });
  const b = new FilesystemBucket(root);
  try {
    const put = (k: string) => b.upload(k, new Uint8Array(1));
    await put("2025-01-01/meta.pb"); // hash 0: no stream.pb needed
    await put("0/2025-01-01/0.labels.parquet");
    await put("7/2025-01-02/meta.pb"); // no 7/stream.pb: not converted
    await put("8/stream.pb");
    await put("8/2025-01-03/meta.pb");
    await put("8/2025-01-04/meta.pb");
    await put("8/2025-01-04/deletion-marker.pb");
    await put("8/2025-01-05/0.labels.parquet"); // no meta.pb: unfinished
    assert.deepEqual([...await convertedDays(b)].sort(), ["0/2025-01-01", "8/2025-01-03"]);
  } finally {
    await b.close();
    await Deno.remove(root, { recursive: true });
  }
});

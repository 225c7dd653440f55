/**
 * Conversion throughput: one day of 5,000 series with twelve 2h XOR chunks of 120 samples each
 * (60,000 chunks), from an in-memory source into a FILESYSTEM bucket.
 *
 * Run: `deno bench -A convert/convert_bench.ts`
 */
import { labelsFromRecord } from "../model/labels.ts";
import { FilesystemBucket } from "../storage/objstore/filesystem.ts";
import type { RawChunk } from "../storage/parquet/chunk_column.ts";
import { XorChunkEncoder } from "../storage/tsdb/xor.ts";
import { convertDay } from "./convert.ts";
import { parseDay } from "../storage/parquet/days.ts";
import { MemorySource } from "./source.ts";

const DAY = parseDay("2025-03-02");
const SERIES = 5_000;
const step = 60_000;

const series = [];
for (let i = 0; i < SERIES; i++) {
  const chunks: RawChunk[] = [];
  for (let c = 0; c < 12; c++) {
    const enc = new XorChunkEncoder();
    const start = DAY.start + c * 7_200_000;
    for (let k = 0; k < 120; k++) enc.append(start + k * step, Math.round(Math.sin(i + k) * 100));
    chunks.push({ encoding: 1, minT: start, maxT: start + 119 * step, data: enc.bytes() });
  }
  series.push({
    labels: labelsFromRecord({
      __name__: `metric_${i % 50}`,
      instance: `host-${i % 97}:9100`,
      job: i % 3 ? "node" : "app",
      pod: `pod-${i}`,
    }),
    chunks,
  });
}
const source = new MemorySource("01JNKQ9V4W8X2YZ3A5B6C7D8E9", series);
const dir = await Deno.makeTempDir({ prefix: "pq-convert-bench-" });
const bucket = new FilesystemBucket(dir);

Deno.bench("convert a day: 5k series x 12 chunks", { n: 3, warmup: 1 }, async () => {
  await convertDay(bucket, DAY, {}, [source], { rowGroupSize: 2_000, numRowGroups: 2 });
});
Deno.bench("convert a day with 8h re-cuts", { n: 3, warmup: 1 }, async () => {
  await convertDay(bucket, DAY, { r: "1" }, [source], {
    rowGroupSize: 2_000,
    numRowGroups: 2,
    recompress: true,
  });
});
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

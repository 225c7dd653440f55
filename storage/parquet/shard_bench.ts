/**
 * Throughput of the format's hot paths: hashing, writing a shard (20k series, 3 KiB of chunk
 * bytes each, 8 labels), and reading it back (labels, then one chunk column).
 *
 * Run: `deno bench -A storage/parquet/shard_bench.ts`
 */
import type { Labels } from "../../model/labels.ts";
import { FilesystemBucket } from "../objstore/filesystem.ts";
import { seriesHash } from "./hash.ts";
import { openBlock } from "./reader.ts";
import { encodeBlockMeta } from "./meta.ts";
import { chunksFileKey, labelsFileKey, metaFileKey } from "./layout.ts";
import { ShardWriter } from "./writer.ts";
import { xxHash64 } from "../../model/xxhash64.ts";

const ROWS = 20_000;
const names = ["__name__", "container", "instance", "job", "le", "namespace", "pod", "zone"];
const series: Labels[] = [];
for (let i = 0; i < ROWS; i++) {
  series.push(names.map((name, k) => ({
    name,
    value: k === 0 ? `metric_${Math.floor(i / 200)}` : `${name}-${(i * (k + 7)) % (50 * (k + 1))}`,
  })));
}
// Incompressible-ish chunk bytes, as XOR chunks are.
let seed = 1;
const chunk = (n: number) =>
  Uint8Array.from({ length: n }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
const chunks = Array.from({ length: 64 }, () => [chunk(1024), chunk(1024), chunk(1024)]);

const dir = await Deno.makeTempDir({ prefix: "pq-bench-" });
const bucket = new FilesystemBucket(dir);

async function writeShard(date: string): Promise<void> {
  const w = new ShardWriter(bucket, labelsFileKey(1n, date, 0), chunksFileKey(1n, date, 0), names, {
    rowGroupSize: 10_000,
  });
  for (let i = 0; i < ROWS; i++) await w.append({ labels: series[i], chunks: chunks[i % 64] });
  await w.close();
}

const buf = new TextEncoder().encode("x".repeat(100));
Deno.bench("xxHash64, 100 bytes", () => {
  xxHash64(buf);
});
Deno.bench("seriesHash, 8 labels", () => {
  seriesHash(series[123]);
});
Deno.bench("write shard, 20k series x 3 KiB", { n: 3, warmup: 1 }, async () => {
  await writeShard("2025-01-01");
});

await writeShard("2025-01-02");
await bucket.upload(
  metaFileKey(1n, "2025-01-02"),
  encodeBlockMeta({
    version: 2,
    mint: 0,
    maxt: 0,
    shards: 1,
    columnsForName: new Map(),
    convertedFromBLIDs: [],
  }),
);
const block = await openBlock(bucket, 1n, "2025-01-02");
Deno.bench("read labels, 20k series", { n: 3, warmup: 1 }, async () => {
  await block.shards[0].readLabels(0, ROWS);
});
Deno.bench("read one chunk column, 20k series", { n: 3, warmup: 1 }, async () => {
  await block.shards[0].readChunks(0, ROWS, [0]);
});
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

/**
 * Three `convert --convert.once --convert.shard=i/3` processes at once on one destination bucket
 * (FILESYSTEM, and S3 on `s3rver`): every planned day is converted by exactly one of them, none is
 * left out, and the bucket ends up byte for byte as one unsharded converter leaves it. A converter
 * killed in the middle of a day leaves that day invisible to discovery, and the next run of its
 * shard converts it.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { createLogger } from "../internal/log.ts";
import { labelsFromRecord } from "../model/labels.ts";
import { listAll } from "../storage/objstore/bucket.ts";
import { parseBucketConfig } from "../storage/objstore/config.ts";
import { FilesystemBucket } from "../storage/objstore/filesystem.ts";
import { createBucket } from "../storage/objstore/mod.ts";
import { startS3rver } from "../storage/objstore/testing/servers.ts";
import { shardOfDay } from "../convert/shard.ts";
import { ParquetDiscoverer } from "../storage/parquet/discovery.ts";
import { externalLabelsHash } from "../storage/parquet/hash.ts";
import { type SeriesToWrite, writeBlock, xorChunks } from "../storage/tsdb/writer.ts";

const MAIN = fileURLToPath(new URL("../cli/main.ts", import.meta.url));
const DAY = 86_400_000;
const FIRST_DAY = Date.UTC(2025, 2, 1);
const DAYS = 4;
/** Four streams, one of them without external labels (its `meta.pb` has no hash directory). */
const STREAMS: Record<string, string>[] = [{}, { cluster: "a" }, { cluster: "b" }, {
  cluster: "c",
}];
const SERIES = 200;
/** Small shards (20 rows) give every day ten of them, so a day takes a while to write. */
const SETTINGS = [
  "--convert.once",
  "--convert.max-plan-days=10",
  "--convert.rowgroup.size=20",
  "--convert.rowgroup.count=1",
  "--convert.write.concurrency=1",
];

/** One 24 h block per stream and day, `SERIES` series sampled every 5 minutes. */
async function writeBlocks(dir: string): Promise<string[]> {
  const days: string[] = [];
  for (const [s, ext] of STREAMS.entries()) {
    const hash = externalLabelsHash(ext).toString();
    for (let d = 0; d < DAYS; d++) {
      const start = FIRST_DAY + d * DAY;
      const ts = Array.from({ length: 288 }, (_, i) => start + i * 300_000);
      const series: SeriesToWrite[] = [];
      for (let i = 0; i < SERIES; i++) {
        series.push({
          labels: labelsFromRecord({ __name__: "demo_value", instance: `host-${i}` }),
          chunks: xorChunks(ts, ts.map((_, j) => s * 1000 + i + j / 7)),
        });
      }
      await writeBlock(dir, series, {
        range: { minTime: start, maxTime: start + DAY },
        thanos: {
          version: 1,
          labels: ext,
          downsample: { resolution: 0 },
          source: "test",
          segmentFiles: [],
          files: [],
        },
      });
      days.push(`${hash}/${new Date(start).toISOString().slice(0, 10)}`);
    }
  }
  return days.sort();
}

function fsYaml(dir: string): string {
  return `type: FILESYSTEM\nconfig:\n  directory: ${dir}`;
}

function s3Yaml(port: number, bucket: string): string {
  return `type: S3
config:
  bucket: ${bucket}
  endpoint: 127.0.0.1:${port}
  insecure: true
  access_key: S3RVER
  secret_key: S3RVER
  list_objects_version: v1
`;
}

function converter(tsdb: string, parquet: string, tmp: string, extra: string[]): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MAIN,
      "convert",
      `--tsdb.objstore.config=${tsdb}`,
      `--parquet.objstore.config=${parquet}`,
      `--convert.tempdir=${tmp}`,
      "--http.internal.port=0",
      ...SETTINGS,
      ...extra,
    ],
    stdout: "piped",
    stderr: "piped",
  });
}

interface Outcome {
  code: number;
  stderr: string;
  /** The days its log says it converted, in order. */
  converted: string[];
}

async function outcome(out: Promise<Deno.CommandOutput>): Promise<Outcome> {
  const { code, stderr } = await out;
  const text = new TextDecoder().decode(stderr);
  const converted = [...text.matchAll(/msg="converted day" day=(\S+)/g)].map((m) => m[1]);
  return { code, stderr: text, converted };
}

/** The three shards at once; asserts each succeeded and returns what each converted. */
async function runShards(tsdb: string, parquet: string, tmp: string): Promise<string[][]> {
  const runs = await Promise.all(
    [0, 1, 2].map((i) =>
      outcome(converter(tsdb, parquet, tmp, [`--convert.shard=${i}/3`]).output())
    ),
  );
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  return runs.map((r) => r.converted);
}

/** Files of a FILESYSTEM bucket by key, without the temp files a killed upload leaves. */
async function files(dir: string, base = dir): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const e of Deno.readDir(dir)) {
    if (e.name.startsWith(".upload-tmp-")) continue;
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) { for (const [k, v] of await files(path, base)) out.set(k, v); }
    else out.set(path.slice(base.length + 1), await Deno.readFile(path));
  }
  return out;
}

/** Asserts that each of `parts` is non-empty, none repeats a day, and together they are `all`. */
function assertPartition(parts: string[][], all: string[]) {
  for (const [i, part] of parts.entries()) assert.ok(part.length > 0, `shard ${i} had no day`);
  const flat = parts.flat();
  assert.equal(new Set(flat).size, flat.length, `a day was converted twice: ${parts.join(" | ")}`);
  assert.deepEqual(flat.sort(), all);
}

/** The unsharded conversion of the same blocks, the reference. */
async function reference(root: string): Promise<Map<string, Uint8Array>> {
  const single = await outcome(
    converter(fsYaml(`${root}/tsdb`), fsYaml(`${root}/single`), root, []).output(),
  );
  assert.equal(single.code, 0, single.stderr);
  return await files(`${root}/single`);
}

Deno.test({
  name: "convert: three sharded converters on one FILESYSTEM bucket convert each day once",
  sanitizeResources: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "convert-shard-" });
    try {
      await Deno.mkdir(`${root}/tsdb`);
      const days = await writeBlocks(`${root}/tsdb`);
      assert.equal(days.length, 16);
      const want = await reference(root);
      assert.equal([...want.keys()].filter((k) => k.endsWith("meta.pb")).length, 16);

      const parts = await runShards(fsYaml(`${root}/tsdb`), fsYaml(`${root}/pq`), root);
      assertPartition(parts, days);
      const got = await files(`${root}/pq`);
      assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
      for (const [k, v] of want) assert.deepEqual(got.get(k), v, k);

      // Nothing is left for any of them, nor for an unsharded converter.
      const again = await runShards(fsYaml(`${root}/tsdb`), fsYaml(`${root}/pq`), root);
      assert.deepEqual(again, [[], [], []]);
      const dry = await converter(fsYaml(`${root}/tsdb`), fsYaml(`${root}/pq`), root, [
        "--convert.dry-run",
      ]).output();
      assert.equal(new TextDecoder().decode(dry.stdout), "nothing to convert\n");
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

/** Keys of a FILESYSTEM bucket (none when it does not exist yet). */
async function keys(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) out.push(...await keys(path, base));
      else if (!e.name.startsWith(".upload-tmp-")) out.push(path.slice(base.length + 1));
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out;
}

/** The `meta.pb` key of day `H/D`. */
function metaKey(day: string): string {
  const [hash, date] = day.split("/");
  return hash === "0" ? `${date}/meta.pb` : `${day}/meta.pb`;
}

Deno.test({
  name:
    "convert: a sharded converter killed mid-day leaves it unseen; its shard's next run does it",
  sanitizeResources: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "convert-shard-" });
    try {
      await Deno.mkdir(`${root}/tsdb`);
      const days = await writeBlocks(`${root}/tsdb`);
      const want = await reference(root);
      const tsdb = fsYaml(`${root}/tsdb`), pq = fsYaml(`${root}/pq`);

      const children = [0, 1, 2].map((i) =>
        converter(tsdb, pq, root, [`--convert.shard=${i}/3`]).spawn()
      );
      const outcomes = children.map((c) => outcome(c.output()));
      // Kill shard 1 as soon as one of its days has shard files but no meta.pb yet. A day's
      // owner is the process that writes it: shards 0 and 2 never write shard 1's days.
      const shard1 = new Set(
        days.filter((d) => shardOfDay(d.split("/")[0], d.split("/")[1], 3) === 1),
      );
      let killedDay: string | undefined;
      for (let i = 0; i < 4000 && !killedDay; i++) {
        await new Promise((r) => setTimeout(r, 5));
        const now = new Set(await keys(`${root}/pq`));
        for (const day of shard1) {
          const written = [...now].filter((k) => k.startsWith(`${day}/`)).length;
          if (written >= 2 && !now.has(metaKey(day))) {
            Deno.kill(children[1].pid, "SIGKILL");
            killedDay = day;
            break;
          }
        }
      }
      assert.ok(killedDay, "shard 1 finished before it could be killed mid-day");
      const [first, killed, third] = await Promise.all(outcomes);
      assert.notEqual(killed.code, 0);
      assert.ok(!killed.converted.includes(killedDay));
      assert.equal(first.code, 0, first.stderr);
      assert.equal(third.code, 0, third.stderr);

      // The half-written day is there in part, and discovery (serve's too) does not see it.
      const partial = await keys(`${root}/pq`);
      assert.ok(partial.some((k) => k.startsWith(`${killedDay}/`)));
      assert.ok(!partial.includes(metaKey(killedDay)));
      const bucket = new FilesystemBucket(`${root}/pq`);
      const discoverer = new ParquetDiscoverer(bucket, {
        concurrency: 1,
        logger: createLogger({ level: "error" }),
      });
      await discoverer.discover();
      const seen = discoverer.convertedDays();
      await bucket.close();
      assert.ok(!seen.has(killedDay));
      assert.deepEqual(
        [...seen].sort(),
        days.filter((d) => partial.includes(metaKey(d))),
      );

      // The successor of shard 1 converts what it left, and only days of its own.
      const successor = await outcome(
        converter(tsdb, pq, root, ["--convert.shard=1/3"]).output(),
      );
      assert.equal(successor.code, 0, successor.stderr);
      assert.ok(successor.converted.includes(killedDay), successor.stderr);
      for (const d of successor.converted) assert.ok(shard1.has(d), d);
      assertPartition(
        [first.converted, [...killed.converted, ...successor.converted], third.converted],
        days,
      );
      const got = await files(`${root}/pq`);
      assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
      for (const [k, v] of want) assert.deepEqual(got.get(k), v, k);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "convert: three sharded converters on one S3 bucket (s3rver) convert each day once",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "convert-shard-" });
    const s3 = await startS3rver(["parquet"]);
    try {
      await Deno.mkdir(`${root}/tsdb`);
      const days = await writeBlocks(`${root}/tsdb`);
      const want = await reference(root);

      const parts = await runShards(fsYaml(`${root}/tsdb`), s3Yaml(s3.port, "parquet"), root);
      assertPartition(parts, days);
      const dest = await createBucket(parseBucketConfig(s3Yaml(s3.port, "parquet"), "dest"));
      try {
        const got = (await listAll(dest, "", { recursive: true })).sort();
        assert.deepEqual(got, [...want.keys()].sort());
        for (const [k, v] of want) assert.deepEqual(await dest.get(k), v, k);
      } finally {
        await dest.close();
      }
    } finally {
      await s3.stop();
      await Deno.remove(root, { recursive: true });
    }
  },
});

/**
 * The conversion round trip against promtool: real blocks written by `promtool tsdb
 * create-blocks-from openmetrics` for two external-label streams over two and a half days, one
 * stream with overlapping blocks (a second import repeats its first six hours, so the same samples
 * sit in two blocks), are converted by the real `convert --convert.once`; reading the Parquet days
 * back (reader over hyparquet, chunks decoded by the TSDB codecs) must give exactly the series and
 * samples `promtool tsdb dump` prints for each stream's blocks within the converted days.
 * Skips with a message when promtool is not installed.
 */
import assert from "node:assert/strict";
import { ValueType } from "../model/series.ts";
import { FilesystemBucket } from "../storage/objstore/filesystem.ts";
import { externalLabelsHash } from "../storage/parquet/hash.ts";
import { openBlock } from "../storage/parquet/reader.ts";
import { dumpKey, parseDump } from "../storage/tsdb/_dump_testutil.ts";
import { XorIterator } from "../storage/tsdb/xor.ts";
import { openMetricsChunks } from "./oracle/datagen.ts";
import { convertOnce } from "./oracle/gateway.ts";
import { createBlocks, prometheusAvailable, setExternalLabels } from "./oracle/prometheus.ts";

const DAY = 86_400_000;
const START = Date.UTC(2025, 0, 10);
const DAYS = ["2025-01-10", "2025-01-11"];
const available = await prometheusAvailable();
if (!available) console.log("convert_roundtrip_test: promtool not installed; skipped");

/** `promtool tsdb dump` of the blocks in `dir` (promtool 2.42 wants a WAL directory there). */
async function dump(dir: string): Promise<string> {
  await Deno.mkdir(`${dir}/wal`, { recursive: true });
  const out = await new Deno.Command("promtool", { args: ["tsdb", "dump", dir] }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  await Deno.remove(`${dir}/wal`, { recursive: true });
  await Deno.remove(`${dir}/chunks_head`, { recursive: true }).catch(() => {});
  return new TextDecoder().decode(out.stdout);
}

Deno.test({
  name:
    "promtool blocks of two streams, overlapping, converted and read back equal promtool's dump",
  ignore: !available,
  sanitizeResources: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "convert-roundtrip-" });
    try {
      const opts = { startMs: START, durationMs: 2.5 * DAY, intervalMs: 60_000, instances: 3 };
      const a = [...openMetricsChunks(opts)].join("");
      // Stream b: other series (other instance names) over the same time.
      const b = [...openMetricsChunks({ ...opts, seed: 7 })].join("").replaceAll("host-", "node-");
      // Stream a again for its first six hours: blocks overlapping the first import.
      const cutoff = (START + 6 * 3_600_000) / 1000;
      const overlap = a.split("\n").filter((l) =>
        l.startsWith("#") || l === "" || Number(l.slice(l.lastIndexOf(" ") + 1)) < cutoff
      ).join("\n");
      await Deno.writeTextFile(`${root}/a.om`, a);
      await Deno.writeTextFile(`${root}/b.om`, b);
      await Deno.writeTextFile(`${root}/a2.om`, overlap);
      const streams = [
        { labels: { cluster: "a" }, files: ["a.om", "a2.om"] },
        { labels: { cluster: "b" }, files: ["b.om"] },
      ];
      const want = new Map<bigint, ReturnType<typeof parseDump>>();
      for (const s of streams) {
        const dir = `${root}/stream-${s.labels.cluster}`;
        for (const f of s.files) {
          for (const ulid of await createBlocks(`${root}/${f}`, dir)) {
            await setExternalLabels(`${dir}/${ulid}`, s.labels);
            await Deno.mkdir(`${root}/tsdb`, { recursive: true });
            await new Deno.Command("cp", { args: ["-r", `${dir}/${ulid}`, `${root}/tsdb/`] })
              .output();
          }
        }
        want.set(externalLabelsHash(s.labels), parseDump(await dump(dir)));
      }

      await convertOnce(root, ["--convert.grace-period=1h", "--convert.max-plan-days=10"]);

      const bucket = new FilesystemBucket(`${root}/parquet`);
      try {
        for (const [hash, dumped] of want) {
          const got = new Map<string, { ts: number[]; values: number[] }>();
          for (const date of DAYS) {
            const block = await openBlock(bucket, hash, date);
            for (const shard of block.shards) {
              const labels = await shard.readLabels(0, shard.numRows);
              const chunks = await shard.readChunks(0, shard.numRows);
              for (let r = 0; r < labels.length; r++) {
                const key = dumpKey(labels[r]);
                let s = got.get(key);
                if (!s) got.set(key, s = { ts: [], values: [] });
                for (const c of chunks[r]) {
                  const it = new XorIterator(c.data);
                  while (it.next() !== ValueType.None) {
                    s.ts.push(it.atT());
                    s.values.push(it.atFloat());
                  }
                }
              }
            }
          }
          const end = START + DAYS.length * DAY;
          let samples = 0;
          for (const [key, series] of dumped) {
            const ts: number[] = [], values: number[] = [];
            for (let i = 0; i < series.ts.length; i++) {
              if (series.ts[i] >= START && series.ts[i] < end) {
                ts.push(series.ts[i]);
                values.push(series.values[i]);
              }
            }
            const g = got.get(key);
            assert.ok(g, `series ${key} missing from stream ${hash}`);
            assert.deepEqual(g.ts, ts, key);
            assert.deepEqual(g.values, values, key);
            samples += ts.length;
          }
          assert.equal(got.size, dumped.size, `stream ${hash}: series count`);
          assert.ok(samples > 100_000, `${samples} samples compared`);
          // Labels in the files never carry the external labels (stream.pb does).
          assert.ok(![...got.keys()].some((k) => k.includes("cluster=")));
        }
      } finally {
        await bucket.close();
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

import assert from "node:assert/strict";
import type { SchemaElement } from "hyparquet";
import { parquetWriteBuffer } from "hyparquet-writer";
import { labelsToString } from "../../model/labels.ts";
import { Matcher, MatchType } from "../../model/matchers.ts";
import { collectSeries } from "../../model/series_set.ts";
import { FilesystemBucket } from "../../storage/objstore/filesystem.ts";
import { encodeChunkColumn } from "../../storage/parquet/chunk_column.ts";
import { encodeLabelIndex } from "../../storage/parquet/label_index.ts";
import { chunksFileKey, labelsFileKey, metaFileKey } from "../../storage/parquet/layout.ts";
import { encodeBlockMeta } from "../../storage/parquet/meta.ts";
import { XorChunkEncoder } from "../../storage/tsdb/xor.ts";
import { samplesOf, syncBucket } from "./_fixture_testutil.ts";
import { ParquetDB } from "./db.ts";

const DATE = "2025-03-02";
const DAY = Date.parse(`${DATE}T00:00:00Z`);

const str = (name: string): SchemaElement => ({
  name,
  type: "BYTE_ARRAY",
  repetition_type: "OPTIONAL",
  converted_type: "UTF8",
});
const bin = (name: string): SchemaElement => ({
  name,
  type: "BYTE_ARRAY",
  repetition_type: "REQUIRED",
});

function file(schema: SchemaElement[], columnData: { name: string; data: unknown[] }[]) {
  return new Uint8Array(parquetWriteBuffer({
    schema: [{ name: "compressed", num_children: schema.length }, ...schema],
    columnData: columnData as never,
  }));
}

Deno.test("serve reads V1 files another writer made: one page per chunk, dictionary index column", async () => {
  const dir = await Deno.makeTempDir({ prefix: "serve-db-foreign-" });
  const bucket = new FilesystemBucket(`${dir}/bucket`);
  try {
    // 200 series with one of two index values: the writer dictionary-encodes that column.
    const names = Array.from({ length: 200 }, (_, i) => `m${String(i).padStart(3, "0")}`);
    const hasJob = (i: number) => i % 3 !== 1;
    const chunk = (v: number) => {
      const e = new XorChunkEncoder();
      e.append(DAY + 60_000, v);
      e.append(DAY + 120_000, v + 1);
      return encodeChunkColumn([{
        encoding: 1,
        minT: DAY + 60_000,
        maxT: DAY + 120_000,
        data: e.bytes(),
      }]);
    };
    const empty = names.map(() => new Uint8Array(0));
    await bucket.upload(
      labelsFileKey(0n, DATE, 0),
      file([
        bin("___cf_meta_index"),
        str("___cf_meta_label___name__"),
        str("___cf_meta_label_job"),
        str("___cf_meta_label_zone"),
      ], [
        {
          name: "___cf_meta_index",
          data: names.map((_, i) => encodeLabelIndex(hasJob(i) ? [1, 2] : [1, 3])),
        },
        { name: "___cf_meta_label___name__", data: names },
        { name: "___cf_meta_label_job", data: names.map((_, i) => hasJob(i) ? "x" : null) },
        { name: "___cf_meta_label_zone", data: names.map((_, i) => hasJob(i) ? null : "z") },
      ]),
    );
    await bucket.upload(
      chunksFileKey(0n, DATE, 0),
      file(["___cf_meta_chunk_0", "___cf_meta_chunk_1", "___cf_meta_chunk_2"].map(bin), [
        { name: "___cf_meta_chunk_0", data: names.map((_, i) => chunk(i * 10)) },
        { name: "___cf_meta_chunk_1", data: empty },
        { name: "___cf_meta_chunk_2", data: empty },
      ]),
    );
    await bucket.upload(
      metaFileKey(0n, DATE),
      encodeBlockMeta({
        version: 1,
        mint: DAY,
        maxt: DAY + 86_400_000,
        shards: 1,
        columnsForName: new Map(),
        convertedFromBLIDs: [],
      }),
    );
    const syncer = await syncBucket(bucket, `${dir}/labels`);
    try {
      const db = new ParquetDB({ days: () => syncer.days });
      const got = await collectSeries(
        db.queryable().select([new Matcher(MatchType.Regexp, "__name__", "m.*")], {
          start: DAY,
          end: DAY + 86_400_000,
        }),
      );
      assert.deepEqual(
        got.series.map((s) => [labelsToString(s.labels), samplesOf(s)]),
        names.map((n, i) => [
          `${n}{${hasJob(i) ? 'job="x"' : 'zone="z"'}}`,
          [[DAY + 60_000, i * 10], [DAY + 120_000, i * 10 + 1]],
        ]),
      );
    } finally {
      await syncer.close();
    }
  } finally {
    await bucket.close();
    await Deno.remove(dir, { recursive: true });
  }
});

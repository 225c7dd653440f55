/**
 * Reading V0 and V1 blocks, written here with hyparquet-writer directly in the older layouts
 * (V0: no index column, `columnsForName` in meta.pb; V1: no hash column).
 */
import assert from "node:assert/strict";
import type { SchemaElement } from "hyparquet";
import { type ColumnSource, parquetWriteBuffer } from "hyparquet-writer";
import type { Bucket } from "../objstore/bucket.ts";
import { FilesystemBucket } from "../objstore/filesystem.ts";
import { encodeChunkColumn } from "./chunk_column.ts";
import { encodeLabelIndex } from "./label_index.ts";
import { chunksFileKey, labelsFileKey, metaFileKey } from "./layout.ts";
import { encodeBlockMeta } from "./meta.ts";
import { openBlock, ShardFormatError } from "./reader.ts";

const DATE = "2025-03-02";
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

async function put(
  bucket: Bucket,
  key: string,
  schema: SchemaElement[],
  columnData: ColumnSource[],
) {
  const bytes = parquetWriteBuffer({
    schema: [{ name: "compressed", num_children: schema.length }, ...schema],
    columnData,
  });
  await bucket.upload(key, new Uint8Array(bytes));
}

async function withBucket(fn: (b: Bucket) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "pq-versions-test-" });
  const b = new FilesystemBucket(dir);
  try {
    await fn(b);
  } finally {
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const chunk = encodeChunkColumn([{ encoding: 1, minT: 1, maxT: 2, data: Uint8Array.of(0, 1, 9) }]);
const empty = new Uint8Array(0);
const chunkColumns: ColumnSource[] = [
  { name: "___cf_meta_chunk_0", data: [chunk, empty, chunk] },
  { name: "___cf_meta_chunk_1", data: [empty, empty, empty] },
  { name: "___cf_meta_chunk_2", data: [empty, chunk, empty] },
];
const chunkSchema = ["___cf_meta_chunk_0", "___cf_meta_chunk_1", "___cf_meta_chunk_2"].map(bin);
const rows = [
  [{ name: "__name__", value: "a" }, { name: "job", value: "x" }],
  [{ name: "__name__", value: "b" }, { name: "zone", value: "z" }],
  [{ name: "__name__", value: "b" }, { name: "job", value: "y" }, { name: "zone", value: "w" }],
];

Deno.test("V0 blocks: labels come from __name__ and meta.pb columnsForName", async () => {
  await withBucket(async (bucket) => {
    await put(
      bucket,
      labelsFileKey(5n, DATE, 0),
      ["___cf_meta_label___name__", "___cf_meta_label_job", "___cf_meta_label_zone"].map(str),
      [
        { name: "___cf_meta_label___name__", data: ["a", "b", "b"] },
        { name: "___cf_meta_label_job", data: ["x", null, "y"] },
        { name: "___cf_meta_label_zone", data: [null, "z", "w"] },
      ],
    );
    await put(bucket, chunksFileKey(5n, DATE, 0), chunkSchema, chunkColumns);
    await bucket.upload(
      metaFileKey(5n, DATE),
      encodeBlockMeta({
        version: 0,
        mint: 0,
        maxt: 1,
        shards: 1,
        columnsForName: new Map([
          ["a", ["___cf_meta_label_job"]],
          ["b", ["___cf_meta_label_job", "___cf_meta_label_zone"]],
        ]),
        convertedFromBLIDs: [],
      }),
    );
    const block = await openBlock(bucket, 5n, DATE);
    const shard = block.shards[0];
    assert.equal(block.meta.version, 0);
    assert.deepEqual(await shard.readLabels(0, 3), rows);
    const chunks = await shard.readChunks(0, 3);
    assert.deepEqual(chunks.map((r) => r.map((c) => c.minT)), [[1], [1], [1]]);
    await assert.rejects(shard.readHashes(0, 3), ShardFormatError);
  });
});

Deno.test("V1 blocks: labels from the index column, no hash column", async () => {
  await withBucket(async (bucket) => {
    await put(bucket, labelsFileKey(5n, DATE, 0), [
      bin("___cf_meta_index"),
      ...["___cf_meta_label___name__", "___cf_meta_label_job", "___cf_meta_label_zone"].map(str),
    ], [
      {
        name: "___cf_meta_index",
        data: [encodeLabelIndex([1, 2]), encodeLabelIndex([1, 3]), encodeLabelIndex([1, 2, 3])],
      },
      { name: "___cf_meta_label___name__", data: ["a", "b", "b"] },
      { name: "___cf_meta_label_job", data: ["x", null, "y"] },
      { name: "___cf_meta_label_zone", data: [null, "z", "w"] },
    ]);
    await put(bucket, chunksFileKey(5n, DATE, 0), chunkSchema, chunkColumns);
    const meta = {
      version: 1,
      mint: 0,
      maxt: 1,
      shards: 1,
      columnsForName: new Map(),
      convertedFromBLIDs: [],
    };
    await bucket.upload(metaFileKey(5n, DATE), encodeBlockMeta(meta));
    const shard = (await openBlock(bucket, 5n, DATE)).shards[0];
    assert.deepEqual(await shard.readLabels(0, 3), rows);
    assert.deepEqual(await shard.readLabels(1, 2), [rows[1]]);
    // The same files claiming V2 lack the hash column.
    await bucket.upload(metaFileKey(5n, DATE), encodeBlockMeta({ ...meta, version: 2 }));
    await assert.rejects(openBlock(bucket, 5n, DATE), /lacks ___cf_meta_hash/);
  });
});

import assert from "node:assert/strict";
import { readOffsetIndex } from "hyparquet";
import { ByteWriter } from "hyparquet-writer";
import { serializeTCompactProtocol } from "hyparquet-writer/src/thrift.js";
import { FilesystemBucket } from "../objstore/filesystem.ts";
import { readPageLocations } from "./_offset_index.ts";
import { encodeChunkColumn } from "./chunk_column.ts";
import { chunksFileKey, labelsFileKey } from "./layout.ts";
import { BucketSource, PageFile } from "./pages.ts";
import { ShardWriter } from "./writer.ts";

function thrift(value: Record<string, unknown>): Uint8Array {
  const w = new ByteWriter();
  serializeTCompactProtocol(w, value);
  return new Uint8Array(w.getBuffer());
}

Deno.test("readPageLocations reads every offset index of a written shard as hyparquet does", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pq-offset-index-test-" });
  const bucket = new FilesystemBucket(dir);
  try {
    const labelsKey = labelsFileKey(1n, "2025-01-01", 0);
    const key = chunksFileKey(1n, "2025-01-01", 0);
    const w = new ShardWriter(bucket, labelsKey, key, ["__name__"], { rowGroupSize: 150 });
    for (let i = 0; i < 400; i++) {
      const data = new Uint8Array(500 + (i * 7919) % 9000).fill(i % 251);
      await w.append({
        labels: [{ name: "__name__", value: `m${String(i).padStart(3, "0")}` }],
        chunks: [encodeChunkColumn([{ encoding: 1, minT: i, maxT: i + 1, data }]), data, data],
      });
    }
    await w.close();
    const size = (await bucket.attributes(key)).size;
    const file = await PageFile.open(key, new BucketSource(bucket, key, size));
    const all = await file.source.read(0, size);
    const view = new DataView(all.buffer, all.byteOffset, all.byteLength);
    let pages = 0;
    for (const rg of file.metadata.row_groups) {
      for (const c of rg.columns) {
        const offset = Number(c.offset_index_offset);
        const want = readOffsetIndex({ view, offset }).page_locations;
        const got = readPageLocations(all, offset);
        assert.deepEqual(Array.from(got.offset), want.map((l) => Number(l.offset)));
        assert.deepEqual(Array.from(got.length), want.map((l) => l.compressed_page_size));
        assert.deepEqual(Array.from(got.firstRow), want.map((l) => Number(l.first_row_index)));
        pages += want.length;
      }
    }
    assert.ok(pages > 300, `${pages} pages`);
  } finally {
    await bucket.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readPageLocations: offsets past 4 GiB, fields it does not know, bad input", () => {
  const bytes = thrift({
    field_1: [
      { field_1: 5_000_000_000n, field_2: 70_000, field_3: 0n },
      // A field it does not know (a newer writer's), a string followed by a struct.
      {
        field_1: 2n ** 52n,
        field_2: 1,
        field_3: 1_000_000n,
        field_4: "x",
        field_5: { field_1: 3 },
      },
    ],
    // unencoded_byte_array_data_bytes (parquet-format 2.10), skipped.
    field_2: [5n, 7n],
  });
  // Prefix junk, so that the offset argument is exercised.
  const framed = new Uint8Array(3 + bytes.length);
  framed.set(bytes, 3);
  const got = readPageLocations(framed, 3);
  assert.deepEqual(Array.from(got.offset), [5_000_000_000, 2 ** 52]);
  assert.deepEqual(Array.from(got.length), [70_000, 1]);
  assert.deepEqual(Array.from(got.firstRow), [0, 1_000_000]);

  assert.throws(() => readPageLocations(bytes.subarray(0, bytes.length - 4)), RangeError);
  assert.throws(() => readPageLocations(thrift({ field_2: [1n] })), /no page locations/);
  assert.throws(
    () => readPageLocations(thrift({ field_1: [{ field_1: 1n, field_3: 0n }] })),
    /lacks a required field/,
  );
  // A list claiming far more elements than bytes follow fails before allocating for them.
  assert.throws(
    () => readPageLocations(Uint8Array.of(0x19, 0xfc, 0xff, 0xff, 0xff, 0x0f)),
    /truncated/,
  );
});

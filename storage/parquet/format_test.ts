import assert from "node:assert/strict";
import {
  CHUNK_HEADER_BYTES,
  ChunkColumnError,
  decodeChunkColumn,
  encodeChunkColumn,
} from "./chunk_column.ts";
import { externalLabelsHash, seriesHash } from "./hash.ts";
import { decodeLabelIndex, encodeLabelIndex, LabelIndexError } from "./label_index.ts";
import {
  chunksFileKey,
  deletionMarkerKey,
  labelsFileKey,
  metaFileKey,
  parseBlockKey,
  parseStreamKey,
  streamFileKey,
} from "./layout.ts";
import {
  checkVersion,
  chunkColumnForQueryTime,
  chunkColumnForTime,
  chunksFileSchema,
  labelColumn,
  labelNameOf,
  labelsFileSchema,
  UnsupportedVersionError,
} from "./schema.ts";
import { xxHash64 } from "../../model/xxhash64.ts";

const H = 3_600_000;
const enc = new TextEncoder();

Deno.test("chunk column of a chunk is its UTC hour of day / 8", () => {
  const day = Date.UTC(2025, 2, 2);
  const cases: [number, number][] = [[0, 0], [1, 0], [8, 1], [11, 1], [15.99, 1], [16, 2], [
    23.99,
    2,
  ]];
  for (const [hour, col] of cases) {
    assert.equal(chunkColumnForTime(day + hour * H), col, `${hour}h`);
  }
  // Next midnight starts the next day's first window; pre-1970 times use the same hour rule.
  assert.equal(chunkColumnForTime(day + 24 * H), 0);
  assert.equal(chunkColumnForTime(-1), 2);
});

Deno.test("query-side chunk column counts 8h boundaries and clamps (Go ChunkColumnIndex cases)", () => {
  const day = Date.UTC(2025, 2, 2);
  const cases: [number, number][] = [[1, 0], [8, 1], [11, 1], [18, 2], [24, 2], [40, 2]];
  for (const [hour, col] of cases) assert.equal(chunkColumnForQueryTime(day, day + hour * H), col);
  assert.equal(chunkColumnForQueryTime(day, day - 1), 0);
});

Deno.test("label columns and versions", () => {
  assert.equal(labelColumn("__name__"), "___cf_meta_label___name__");
  assert.equal(labelNameOf("___cf_meta_label_job"), "job");
  assert.equal(labelNameOf("___cf_meta_index"), undefined);
  for (const v of [0, 1, 2]) assert.equal(checkVersion("m", v), v);
  assert.throws(() => checkVersion("x/meta.pb", 3), UnsupportedVersionError);
});

Deno.test("file schemas list the upstream columns, types and repetitions", () => {
  const labels = labelsFileSchema(["__name__", "job"]);
  assert.deepEqual(labels.map((e) => [e.name, e.type, e.repetition_type, e.converted_type]), [
    ["compressed", undefined, undefined, undefined],
    ["___cf_meta_index", "BYTE_ARRAY", "REQUIRED", undefined],
    ["___cf_meta_label___name__", "BYTE_ARRAY", "OPTIONAL", "UTF8"],
    ["___cf_meta_label_job", "BYTE_ARRAY", "OPTIONAL", "UTF8"],
  ]);
  assert.equal(labels[0].num_children, 3);
  assert.deepEqual(chunksFileSchema().map((e) => [e.name, e.type, e.repetition_type]), [
    ["compressed", undefined, undefined],
    ["___cf_meta_chunk_0", "BYTE_ARRAY", "REQUIRED"],
    ["___cf_meta_chunk_1", "BYTE_ARRAY", "REQUIRED"],
    ["___cf_meta_chunk_2", "BYTE_ARRAY", "REQUIRED"],
    ["___cf_meta_hash", "INT64", "REQUIRED"],
  ]);
});

Deno.test("bucket keys follow the upstream layout, hash 0 meta.pb without directory", () => {
  const h = 18446744073709551615n;
  assert.equal(streamFileKey(h), "18446744073709551615/stream.pb");
  assert.equal(metaFileKey(h, "2025-03-02"), "18446744073709551615/2025-03-02/meta.pb");
  assert.equal(metaFileKey(0n, "2025-03-02"), "2025-03-02/meta.pb");
  assert.equal(labelsFileKey(0n, "2025-03-02", 3), "0/2025-03-02/3.labels.parquet");
  assert.equal(chunksFileKey(7n, "2025-03-02", 0), "7/2025-03-02/0.chunks.parquet");
  assert.equal(deletionMarkerKey(0n, "2025-03-02"), "0/2025-03-02/deletion-marker.pb");
  assert.throws(() => streamFileKey(h + 1n), RangeError);

  assert.equal(parseStreamKey("123/stream.pb"), 123n);
  assert.equal(parseStreamKey("123/x/stream.pb"), undefined);
  assert.equal(parseStreamKey("99999999999999999999/stream.pb"), undefined);
  const k = parseBlockKey("42/2025-3-2/0.labels.parquet");
  assert.equal(k?.hash, 42n);
  assert.equal(k?.day.date, "2025-03-02");
  assert.equal(k?.file, "0.labels.parquet");
  assert.equal(parseBlockKey("2025-03-02/meta.pb")?.hash, 0n);
  assert.equal(parseBlockKey("1/2025-00-02/meta.pb"), undefined);
  assert.equal(parseBlockKey("1/2025-02-30/meta.pb"), undefined);
  assert.equal(parseBlockKey("1/2025-02-03/a/meta.pb"), undefined);
});

Deno.test("label index encoding is zig-zag varints (spec example 06 02 04 0A)", () => {
  assert.deepEqual([...encodeLabelIndex([1, 2, 5])], [0x06, 0x02, 0x04, 0x0a]);
  assert.deepEqual([...encodeLabelIndex([])], [0x00]);
  // 100 zig-zags to 200 = 0xC8 0x01 in LEB128.
  assert.deepEqual([...encodeLabelIndex([100])], [0x02, 0xc8, 0x01]);
  assert.deepEqual(decodeLabelIndex(Uint8Array.of(0x06, 0x02, 0x04, 0x0a)), [1, 2, 5]);
  assert.deepEqual(decodeLabelIndex(encodeLabelIndex([1, 64, 32000])), [1, 64, 32000]);
  assert.throws(() => decodeLabelIndex(Uint8Array.of(0x06, 0x02)), LabelIndexError);
  assert.throws(() => decodeLabelIndex(Uint8Array.of()), LabelIndexError);
  assert.throws(() => decodeLabelIndex(Uint8Array.of(0x01)), LabelIndexError);
});

Deno.test("chunk column values carry 24-byte big-endian headers with zig-zag times", () => {
  const v = encodeChunkColumn([
    { encoding: 1, minT: 1000, maxT: -1, data: Uint8Array.of(0xaa, 0xbb) },
    { encoding: 2, minT: 2 ** 40, maxT: 2 ** 40 + 5, data: Uint8Array.of() },
  ]);
  assert.equal(v.length, 2 * CHUNK_HEADER_BYTES + 2);
  assert.deepEqual([...v.subarray(0, 26)], [
    0,
    0,
    0,
    1, // encoding
    0,
    0,
    0,
    0,
    0,
    0,
    0x07,
    0xd0, // zigzag(1000) = 2000
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0x01, // zigzag(-1) = 1
    0,
    0,
    0,
    2, // length
    0xaa,
    0xbb,
  ]);
  const back = decodeChunkColumn(v);
  assert.equal(back.length, 2);
  assert.deepEqual([back[0].encoding, back[0].minT, back[0].maxT, [...back[0].data]], [
    1,
    1000,
    -1,
    [
      0xaa,
      0xbb,
    ],
  ]);
  assert.deepEqual([back[1].encoding, back[1].minT, back[1].maxT], [2, 2 ** 40, 2 ** 40 + 5]);
  assert.deepEqual(decodeChunkColumn(new Uint8Array(0)), []);
  // Only chunks intersecting [mint, maxt] (bounds inclusive) are returned.
  const minTs = (mint: number, maxt: number) =>
    decodeChunkColumn(v, "x", undefined, mint, maxt).map((c) => c.minT);
  assert.deepEqual(minTs(2 ** 40 + 5, Infinity), [2 ** 40]);
  assert.deepEqual(minTs(-1, 2 ** 40), [1000, 2 ** 40]);
  assert.deepEqual(minTs(0, 2 ** 40), [2 ** 40]);
  assert.deepEqual(minTs(-Infinity, 2 ** 40 - 1), [1000]);
  assert.deepEqual(minTs(2 ** 40 + 6, Infinity), []);
  let truncatedAt = -1;
  assert.equal(decodeChunkColumn(v.subarray(0, 30), "x", (p) => truncatedAt = p).length, 1);
  assert.equal(truncatedAt, 26);
  const bad = v.slice();
  bad[4] = 0xff;
  assert.throws(() => decodeChunkColumn(bad), ChunkColumnError);
});

Deno.test("external-labels hash: 0 when empty, else names and values concatenated in name order", () => {
  assert.equal(externalLabelsHash({}), 0n);
  const want = xxHash64(enc.encode("clustereu1replica0"));
  assert.equal(externalLabelsHash({ replica: "0", cluster: "eu1" }), want);
  // No separators: a known collision of the upstream format.
  assert.equal(externalLabelsHash({ ab: "c" }), externalLabelsHash({ a: "bc" }));
  assert.equal(externalLabelsHash({ a: "b" }).toString(), xxHash64(enc.encode("ab")).toString());
});

Deno.test("series hash is xxHash64 of the stringlabels encoding, as a signed int64", () => {
  const labels = [{ name: "__name__", value: "up" }, { name: "job", value: "prometheus" }];
  const bytes = Uint8Array.of(
    8,
    ...enc.encode("__name__"),
    2,
    ...enc.encode("up"),
    3,
    ...enc.encode("job"),
    10,
    ...enc.encode("prometheus"),
  );
  assert.equal(seriesHash(labels), BigInt.asIntN(64, xxHash64(bytes)));
  // Strings of 255 bytes and more use 0xFF plus a 3-byte little-endian length.
  const long = "é".repeat(200); // 400 UTF-8 bytes
  const longBytes = Uint8Array.of(
    1,
    ...enc.encode("a"),
    0xff,
    0x90,
    0x01,
    0x00,
    ...enc.encode(long),
  );
  assert.equal(seriesHash([{ name: "a", value: long }]), BigInt.asIntN(64, xxHash64(longBytes)));
  assert.equal(seriesHash([]), BigInt.asIntN(64, 0xEF46DB3751D8E999n));
});

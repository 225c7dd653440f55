import assert from "node:assert/strict";
import {
  BlockMetaFileError,
  decodeBlockMeta,
  decodeDeletionMark,
  decodeStreamDescriptor,
  encodeBlockMeta,
  encodeDeletionMark,
  encodeStreamDescriptor,
  RETENTION_REASON,
} from "./meta.ts";
import { UnsupportedVersionError } from "./schema.ts";

const enc = new TextEncoder();
const ULID = "01JNKQ9V4W8X2YZ3A5B6C7D8E9";

/** Hand-built wire bytes: tag = field << 3 | wire type. */
function varint(v: number): number[] {
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}
function bytesField(field: number, b: number[]): number[] {
  return [(field << 3) | 2, ...varint(b.length), ...b];
}

Deno.test("meta.pb uses the upstream field numbers", () => {
  const mint = Date.UTC(2025, 2, 2), maxt = mint + 86_400_000;
  const wire = Uint8Array.of(
    0x08,
    ...varint(mint),
    0x10,
    ...varint(maxt),
    0x18,
    2,
    ...bytesField(4, [
      ...bytesField(1, [...enc.encode("up")]),
      ...bytesField(2, bytesField(1, [...enc.encode("___cf_meta_label_job")])),
    ]),
    0x28,
    2,
    ...bytesField(6, [...enc.encode(ULID)]),
  );
  const m = decodeBlockMeta(wire, "k");
  assert.deepEqual(
    [m.version, m.mint, m.maxt, m.shards, m.convertedFromBLIDs, [...m.columnsForName]],
    [2, mint, maxt, 2, [ULID], [["up", ["___cf_meta_label_job"]]]],
  );
  const ours = encodeBlockMeta(m);
  assert.deepEqual(decodeBlockMeta(ours, "k"), m);
  // Without the map our encoding equals the Go encoding field by field (proto3 order).
  const plain = { ...m, columnsForName: new Map() };
  assert.deepEqual(
    [...encodeBlockMeta(plain)],
    [
      0x08,
      ...varint(mint),
      0x10,
      ...varint(maxt),
      0x18,
      2,
      0x28,
      2,
      ...bytesField(6, [...enc.encode(ULID)]),
    ],
  );
});

Deno.test("meta.pb validation gives typed errors", () => {
  assert.throws(
    () => decodeBlockMeta(Uint8Array.of(0x28, 3), "x/meta.pb"),
    UnsupportedVersionError,
  );
  assert.throws(
    () => decodeBlockMeta(Uint8Array.of(0x0a, 0x05, 1), "x/meta.pb"),
    BlockMetaFileError,
  );
  assert.throws(
    () => decodeBlockMeta(Uint8Array.of(0x08, 5, 0x10, 1), "x/meta.pb"),
    /maxt 1 before mint 5/,
  );
  assert.throws(
    () => decodeBlockMeta(Uint8Array.of(...bytesField(6, [0x41])), "x"),
    /invalid block ULID/,
  );
  // A V0 meta without version field decodes as version 0.
  assert.equal(decodeBlockMeta(Uint8Array.of(), "x").version, 0);
});

Deno.test("stream.pb and deletion marker round-trip with upstream field numbers", () => {
  const wire = encodeStreamDescriptor({ cluster: "eu1" });
  assert.deepEqual(
    [...wire],
    bytesField(1, [
      ...bytesField(1, [...enc.encode("cluster")]),
      ...bytesField(2, [...enc.encode("eu1")]),
    ]),
  );
  assert.deepEqual(decodeStreamDescriptor(wire, "s"), { cluster: "eu1" });
  assert.throws(() => decodeStreamDescriptor(Uint8Array.of(0x0a, 9), "s"), BlockMetaFileError);
  const mark = encodeDeletionMark(RETENTION_REASON);
  assert.deepEqual([...mark], bytesField(1, [...enc.encode(RETENTION_REASON)]));
  assert.equal(decodeDeletionMark(mark, "d"), RETENTION_REASON);
});

import assert from "node:assert/strict";
import { crc32c } from "./crc32c.ts";
import { encodeTombstones, isDeleted, parseTombstones } from "./tombstones.ts";
import { TsdbFormatError } from "./errors.ts";

// From tombstones.md: magic, format 1, records (ref uvarint, mint varint, maxt varint), CRC32C of
// the records. Series 5 deletes [100, 200] (zig-zag 200 = c8 01, 400 = 90 03), series 300
// deletes [-1, 0] (300 = ac 02; zig-zag -1 = 01, 0 = 00).
const RECORDS = [0x05, 0xc8, 0x01, 0x90, 0x03, 0xac, 0x02, 0x01, 0x00];

function file(records: number[]): Uint8Array {
  const body = Uint8Array.from(records);
  const crc = crc32c(body);
  return Uint8Array.from([
    0x01,
    0x30,
    0xba,
    0x30,
    0x01,
    ...records,
    crc >>> 24,
    (crc >>> 16) & 0xff,
    (crc >>> 8) & 0xff,
    crc & 0xff,
  ]);
}

Deno.test("parseTombstones decodes the documented layout", () => {
  const t = parseTombstones(file(RECORDS));
  assert.deepEqual([...t], [
    [5, [{ minTime: 100, maxTime: 200 }]],
    [300, [{ minTime: -1, maxTime: 0 }]],
  ]);
  assert.deepEqual(encodeTombstones(t), file(RECORDS));
  // promtool's empty tombstones file: header and the CRC of nothing.
  assert.deepEqual([...parseTombstones(Uint8Array.of(1, 0x30, 0xba, 0x30, 1, 0, 0, 0, 0))], []);
});

Deno.test("tombstone intervals merge and answer membership", () => {
  const t = parseTombstones(file([5, 0x14, 0x28, 5, 0x1e, 0x3c, 5, 0x64, 0x6e]));
  // [10,20] and [15,30] merge; [50,55] stays apart.
  assert.deepEqual(t.get(5), [{ minTime: 10, maxTime: 30 }, { minTime: 50, maxTime: 55 }]);
  const iv = t.get(5)!;
  assert.deepEqual([9, 10, 30, 31, 50, 56].map((x) => isDeleted(iv, x)), [
    false,
    true,
    true,
    false,
    true,
    false,
  ]);
});

Deno.test("corrupt tombstones give typed errors naming the section", () => {
  const good = file(RECORDS);
  const flip = good.slice();
  flip[7] ^= 1;
  const cases: [Uint8Array, string][] = [
    [good.subarray(0, 6), "header"],
    [Uint8Array.of(0, 0, 0, 0, 1, 0, 0, 0, 0), "header"],
    [flip, "stones"],
    [file([0x05, 0xc8]), "stones"], // truncated record with a valid CRC
  ];
  for (const [data, section] of cases) {
    assert.throws(() => parseTombstones(data, "b/tombstones"), (e: unknown) => {
      assert.ok(e instanceof TsdbFormatError);
      assert.equal(e.file, "b/tombstones");
      assert.equal(e.section, section);
      return true;
    });
  }
});

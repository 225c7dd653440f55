import assert from "node:assert/strict";
import { parquetWriteBuffer } from "hyparquet-writer";
import { BloomFilter, BloomFilterError } from "./bloom.ts";
import { type ByteSource, PageFile } from "./pages.ts";

/** A file in memory. */
class BufferSource implements ByteSource {
  constructor(readonly bytes: Uint8Array) {}
  get size(): number {
    return this.bytes.length;
  }
  read(offset: number, length: number): Promise<Uint8Array> {
    return Promise.resolve(this.bytes.slice(offset, offset + length));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const enc = new TextEncoder();

Deno.test("bloom filters another writer made hold every value and reject most others", async () => {
  const values = Array.from({ length: 2000 }, (_, i) => `value-${i * 7}`);
  const bytes = new Uint8Array(parquetWriteBuffer({
    rowGroupSize: values.length,
    columnData: [
      { name: "with", data: values, type: "STRING", bloomFilter: true },
      { name: "without", data: values, type: "STRING" },
    ],
  }));
  const file = await PageFile.open("bloom.parquet", new BufferSource(bytes));
  assert.equal(await file.bloomFilter(0, file.columnPosition("without")!), undefined);
  const bloom = await file.bloomFilter(0, file.columnPosition("with")!);
  assert.ok(bloom);
  // No false negatives: a wrong block or bit choice would miss members.
  for (const v of values) assert.ok(bloom.contains(enc.encode(v)), v);
  let rejected = 0;
  for (let i = 0; i < 2000; i++) if (!bloom.contains(enc.encode(`other-${i}`))) rejected++;
  assert.ok(rejected >= 1900, `rejected only ${rejected} of 2000 absent values`);
  // Read once per column chunk.
  assert.equal(await file.bloomFilter(0, file.columnPosition("with")!), bloom);
});

Deno.test("BloomFilter.parse rejects headers the spec does not define", () => {
  // numBytes 32 (zigzag 64), BLOCK, XXHASH, UNCOMPRESSED, then a 32-byte bitset.
  const header = [
    0x15,
    0x40,
    0x1c,
    0x1c,
    0x00,
    0x00,
    0x1c,
    0x1c,
    0x00,
    0x00,
    0x1c,
    0x1c,
    0x00,
    0x00,
    0x00,
  ];
  const ok = Uint8Array.from([...header, ...new Array(32).fill(0xff)]);
  assert.ok(BloomFilter.parse(ok).contains(enc.encode("anything")));
  assert.throws(() => BloomFilter.parse(ok.subarray(0, 30)), BloomFilterError);
  const otherHash = Uint8Array.from(ok);
  otherHash[7] = 0x2c;
  assert.throws(() => BloomFilter.parse(otherHash), /unsupported hash/);
  assert.throws(() => new BloomFilter(new Uint8Array(33)), /not whole blocks/);
});

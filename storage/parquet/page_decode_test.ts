import assert from "node:assert/strict";
import type { SchemaElement } from "hyparquet";
import { type ColumnSource, parquetWriteBuffer } from "hyparquet-writer";
import {
  decodeDataPage,
  Encoding,
  PageDecodeError,
  PageType,
  pageValueAt,
  readPageHeader,
} from "./page_decode.ts";
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

/** Every value of column `name`, page by page through {@linkcode PageFile} (null = null). */
async function readColumn(bytes: Uint8Array, name: string): Promise<unknown[]> {
  const file = await PageFile.open("test.parquet", new BufferSource(bytes), "all");
  const col = file.columnPosition(name)!;
  const out: unknown[] = [];
  const decoder = new TextDecoder();
  for (let rg = 0; rg < file.rowGroups; rg++) {
    const dict = await file.dictionary(rg, col);
    for (const span of await file.pages(rg, col)) {
      const page = await file.readPage(col, span);
      let k = 0;
      for (let i = 0; i < page.rows; i++) {
        if (page.defined && !page.defined[i]) {
          out.push(null);
          continue;
        }
        const v = pageValueAt(page.values, k++);
        if (page.dictionaryEncoded) out.push(dict!.entry(v as number));
        else if (v instanceof Uint8Array) out.push(decoder.decode(v));
        else out.push(v);
      }
    }
  }
  return out;
}

// Deterministic data: runs (RLE), scattered values (bit-packed), shared prefixes, nulls.
const N = 3000;
let seed = 11;
const rnd = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
const strings = Array.from(
  { length: N },
  (_, i) => i % 97 < 40 ? "repeated" : `host-${String(Math.floor(rnd() * 500)).padStart(4, "0")}`,
);
const nullable = strings.map((s, i) => (i % 5 === 0 ? null : s));
const int64s = Array.from({ length: N }, () => BigInt(Math.floor((rnd() - 0.5) * 2 ** 52)));
const int32s = Int32Array.from({ length: N }, (_, i) => i * 3 - Math.floor(rnd() * 1000));

function write(codec: "UNCOMPRESSED" | "SNAPPY", columns: ColumnSource[]): Uint8Array {
  const schema: SchemaElement[] = [{ name: "root", num_children: columns.length }];
  for (const c of columns) {
    schema.push({
      name: c.name,
      type: c.type === "STRING" ? "BYTE_ARRAY" : c.type as SchemaElement["type"],
      repetition_type: c.nullable ? "OPTIONAL" : "REQUIRED",
      ...(c.type === "STRING" ? { converted_type: "UTF8" as const } : {}),
    });
  }
  const columnData = columns.map((c) => ({ ...c, type: undefined }));
  return new Uint8Array(
    parquetWriteBuffer({ schema, columnData, codec, pageSize: 2048, rowGroupSize: 1000 }),
  );
}

Deno.test("pages of every supported encoding decode to the values written", async () => {
  for (const codec of ["UNCOMPRESSED", "SNAPPY"] as const) {
    const bytes = write(codec, [
      { name: "dict", data: strings, type: "STRING" },
      { name: "dict_nulls", data: nullable, type: "STRING", nullable: true },
      { name: "plain", data: strings, type: "STRING", encoding: "PLAIN" },
      {
        name: "dlba",
        data: nullable,
        type: "STRING",
        nullable: true,
        encoding: "DELTA_LENGTH_BYTE_ARRAY",
      },
      { name: "dba", data: strings, type: "STRING", encoding: "DELTA_BYTE_ARRAY" },
      { name: "i64", data: int64s, type: "INT64", encoding: "PLAIN" },
      { name: "i32_delta", data: int32s, type: "INT32", encoding: "DELTA_BINARY_PACKED" },
    ]);
    assert.deepEqual(await readColumn(bytes, "dict"), strings, codec);
    assert.deepEqual(await readColumn(bytes, "dict_nulls"), nullable, codec);
    assert.deepEqual(await readColumn(bytes, "plain"), strings, codec);
    assert.deepEqual(await readColumn(bytes, "dlba"), nullable, codec);
    assert.deepEqual(await readColumn(bytes, "dba"), strings, codec);
    assert.deepEqual(await readColumn(bytes, "i64"), int64s, codec);
    assert.deepEqual(await readColumn(bytes, "i32_delta"), Array.from(int32s), codec);
  }
});

Deno.test("a column chunk without an offset index is read by walking its page headers", async () => {
  // One page per column chunk: the writer leaves the offset index out.
  const small = strings.slice(0, 50);
  const bytes = new Uint8Array(parquetWriteBuffer({
    columnData: [
      { name: "s", data: small, type: "STRING" },
      { name: "n", data: int64s.slice(0, 50), type: "INT64" },
    ],
  }));
  const file = await PageFile.open("one-page.parquet", new BufferSource(bytes));
  assert.equal(file.chunk(0, 0).offset_index_offset, undefined);
  assert.deepEqual(await file.pages(0, 0), [{
    page: 0,
    firstRow: 0,
    endRow: 50,
    offset: Number(file.chunk(0, 0).meta_data!.data_page_offset),
    length: (await file.pages(0, 0))[0].length,
  }]);
  assert.deepEqual(await readColumn(bytes, "s"), small);
  assert.deepEqual(await readColumn(bytes, "n"), int64s.slice(0, 50));
});

/** A DATA_PAGE (V1) with a crc and statistics the reader skips, built by hand. */
// deno-fmt-ignore
const V1_PAGE = Uint8Array.of(
  // PageHeader: type=DATA_PAGE, sizes 18 and 18 (zigzag 36), crc=123.
  0x15, 0x00, 0x15, 36, 0x15, 36, 0x15, 0xf6, 0x01,
  // field 5, DataPageHeader: 5 values, PLAIN, definition and repetition levels RLE.
  0x1c, 0x15, 0x0a, 0x15, 0x00, 0x15, 0x06, 0x15, 0x06,
  // its field 5, Statistics: max = "ab", then the ends of both structs.
  0x1c, 0x18, 0x02, 0x61, 0x62, 0x00, 0x00, 0x00,
  // Body: definition levels (4-byte length, one bit-packed group: 1 0 1 1 0), then 3 INT32.
  0x02, 0x00, 0x00, 0x00, 0x03, 0x0d,
  0x07, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00,
);

Deno.test("a V1 data page with definition levels and unknown header fields decodes", () => {
  const h = readPageHeader(V1_PAGE);
  assert.equal(h.type, PageType.DATA_PAGE);
  assert.equal(h.numValues, 5);
  assert.equal(h.encoding, Encoding.PLAIN);
  assert.equal(h.compressedSize, 18);
  assert.equal(h.headerLength, V1_PAGE.length - 18);
  const body = V1_PAGE.subarray(h.headerLength);
  const page = decodeDataPage(h, body, {
    type: "INT32",
    optional: true,
    decompress: (b) => b,
  });
  assert.equal(page.rows, 5);
  assert.deepEqual(Array.from(page.defined!), [1, 0, 1, 1, 0]);
  assert.deepEqual(Array.from(page.values as Int32Array), [7, 8, 9]);
  // Truncated values and unsupported encodings are errors, not garbage.
  assert.throws(
    () =>
      decodeDataPage(h, body.subarray(0, body.length - 2), {
        type: "INT32",
        optional: true,
        decompress: (b) => b,
      }),
    PageDecodeError,
  );
  assert.throws(
    () =>
      decodeDataPage({ ...h, encoding: Encoding.BYTE_STREAM_SPLIT }, body, {
        type: "INT32",
        optional: true,
        decompress: (b) => b,
      }),
    /encoding 9 of INT32 is not supported/,
  );
});

/** Unsigned LEB128, as the hybrid encoding's run headers are written. */
function uvarint(v: number): number[] {
  const out: number[] = [];
  for (; v >= 0x80; v = Math.floor(v / 128)) out.push((v % 128) | 0x80);
  out.push(v);
  return out;
}

/**
 * The RLE/bit-packed hybrid encoding of `values` per the Parquet spec, written independently of
 * the decoder (BigInt bit accumulator): a repeated run of 8 or more values as an RLE run, the
 * rest as bit-packed groups of 8 (the last group padded with zeros).
 */
function hybrid(values: number[], bitWidth: number): Uint8Array {
  const out: number[] = [];
  const valueBytes = Math.ceil(bitWidth / 8);
  let i = 0;
  while (i < values.length) {
    let run = 1;
    while (i + run < values.length && values[i + run] === values[i]) run++;
    if (run >= 8) {
      out.push(...uvarint(run * 2));
      for (let b = 0; b < valueBytes; b++) out.push(Math.floor(values[i] / 2 ** (8 * b)) % 256);
      i += run;
      continue;
    }
    const group = values.slice(i, i + 8);
    while (group.length < 8) group.push(0);
    out.push(...uvarint(1 * 2 + 1));
    let acc = 0n;
    group.forEach((v, k) => acc |= BigInt(v) << BigInt(k * bitWidth));
    for (let b = 0; b < bitWidth; b++) out.push(Number((acc >> BigInt(8 * b)) & 0xffn));
    i += 8;
  }
  return Uint8Array.from(out);
}

Deno.test("dictionary indexes of every bit width decode, as RLE runs and bit-packed groups", () => {
  for (let bitWidth = 1; bitWidth <= 32; bitWidth++) {
    const values: number[] = [];
    for (let k = 0; values.length < 500; k++) {
      const v = Math.floor(rnd() * 2 ** bitWidth);
      // Runs of one value (RLE) between scattered values (bit-packed), the largest value too.
      const repeat = k % 7 === 0 ? 9 + (k % 13) : 1;
      for (let r = 0; r < repeat; r++) values.push(k % 11 === 0 ? 2 ** bitWidth - 1 : v);
    }
    const body = Uint8Array.of(bitWidth, ...hybrid(values, bitWidth));
    const page = decodeDataPage(
      {
        type: PageType.DATA_PAGE_V2,
        uncompressedSize: body.length,
        compressedSize: body.length,
        numValues: values.length,
        encoding: Encoding.RLE_DICTIONARY,
        definitionLevelsLength: 0,
        repetitionLevelsLength: 0,
        isCompressed: false,
        definitionLevelEncoding: Encoding.RLE,
        headerLength: 0,
      },
      body,
      { type: "INT32", optional: false, decompress: (b) => b },
    );
    assert.equal(page.dictionaryEncoded, true);
    // Indexes are held as int32: 32-bit ones above 2^31 wrap as the writer's int32 did.
    assert.deepEqual(
      Array.from(page.values as Int32Array),
      values.map((v) => v | 0),
      `width ${bitWidth}`,
    );
  }
});

Deno.test("byte-array pages cut short are decode errors, whatever their encoding", async () => {
  const encodings = ["PLAIN", "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY"] as const;
  const bytes = write(
    "UNCOMPRESSED",
    encodings.map((encoding) => ({ name: encoding, data: strings, type: "STRING", encoding })),
  );
  const file = await PageFile.open("cut.parquet", new BufferSource(bytes), "all");
  for (const encoding of encodings) {
    const col = file.columnPosition(encoding)!;
    const [span] = await file.pages(0, col);
    const raw = bytes.subarray(span.offset, span.offset + span.length);
    const h = readPageHeader(raw);
    const body = raw.subarray(h.headerLength);
    const column = { type: "BYTE_ARRAY", optional: false, decompress: (b: Uint8Array) => b };
    assert.equal(decodeDataPage(h, body, column).values.length, h.numValues, encoding);
    for (const cut of [1, 7, Math.floor(body.length / 2)]) {
      assert.throws(
        () => decodeDataPage(h, body.subarray(0, body.length - cut), column),
        PageDecodeError,
        `${encoding} cut by ${cut}`,
      );
    }
  }
});
